"""The part every in-process engine shares: a model in this process that gives next-token logits.

A subclass loads its model and says how it writes a prompt (``render_prompt``) and how it runs a
batch (``next_token_logits``); this class writes the standard's prompt once, finds the level tokens
in the tokenizer, and answers crops in batches of similar size (little padding), splitting a batch
that runs out of memory.
"""

from typing import Any, Sequence

import torch
from PIL import Image
from torch import nn

from pyiqa_llmiqa.config.standards import Standard
from pyiqa_llmiqa.engines.base import LevelAnswers
from pyiqa_llmiqa.engines.batching import batch_size_for, run_in_batches
from pyiqa_llmiqa.engines.level_tokens import answers_from_logits, level_token_ids


class InProcessEngine(nn.Module):
    """An ``Engine`` whose model runs here (an ``nn.Module``, so ``.to(device)`` moves it)."""

    tokenizer: Any  # spells the quality levels

    def prepare(self, standard: Standard, levels: int, batch_size) -> None:
        """Write the prompt of ``standard`` and find the level tokens; called once the model is loaded."""
        self.prompt = self.render_prompt(standard.system_prompt, standard.question)
        self.level_ids = level_token_ids(self.tokenizer, levels)
        self.batch_size = batch_size

    def render_prompt(self, system: str, question: str) -> Any:
        """The prompt of one query, in whatever form ``next_token_logits`` takes."""
        raise NotImplementedError

    def next_token_logits(self, images: Sequence[Image.Image], prompt: Any) -> torch.Tensor:
        """Logits (N, vocab) of the token that would follow ``prompt`` for each image: one forward."""
        raise NotImplementedError

    def answer(self, crops: Sequence[Image.Image]) -> LevelAnswers:
        """The answers for ``crops``, in their order, from one forward pass per batch."""
        # Similar sizes share a batch so padding stays small; results do not depend on the order.
        order = sorted(range(len(crops)), key=lambda i: crops[i].width * crops[i].height)
        logits = run_in_batches(
            lambda batch: self.next_token_logits(batch, self.prompt),
            [crops[i] for i in order],
            batch_size_for(self.device, self.batch_size),
        )
        sorted_answers = answers_from_logits(logits, self.level_ids)
        log_probs = torch.empty_like(sorted_answers.log_probs)
        greedy = torch.empty_like(sorted_answers.greedy)
        log_probs[order] = sorted_answers.log_probs
        greedy[order] = sorted_answers.greedy
        return LevelAnswers(log_probs, greedy)
