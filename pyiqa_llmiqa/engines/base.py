"""What every engine gives LLMIQA: per crop, the log-probability of each quality level and the level
greedy decoding answers.

That is all the reading rules need (``scoring.reading``): ``greedy`` takes the greedy answer (and
the likeliest level where the answer is not a level), ``expectation`` the levels' probabilities
renormalised over the K levels. An engine that runs the model in this process computes both from
the full next-token logits (``in_process``); a server returns the generated token and the top
log-probabilities, which give the same two things.
"""

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import torch
from PIL import Image

NOT_A_LEVEL = 0  # in LevelAnswers.greedy: greedy decoding wrote something other than a level


@dataclass
class LevelAnswers:
    """An engine's answers for N crops."""

    log_probs: torch.Tensor  # (N, K) float: log-probability of levels 1..K (all spellings of a level together)
    greedy: torch.Tensor  # (N,) long: the level greedy decoding answers, NOT_A_LEVEL where it answers another token

    def __post_init__(self):
        if self.log_probs.dim() != 2 or self.greedy.shape != self.log_probs.shape[:1]:
            raise ValueError(
                f'log_probs must be (N, K) and greedy (N,); got {tuple(self.log_probs.shape)} and '
                f'{tuple(self.greedy.shape)}'
            )


@runtime_checkable
class Engine(Protocol):
    """A multimodal LLM asked, for each crop, for a quality level under one standard."""

    @property
    def device(self) -> torch.device:
        """Where the model runs (the default batch size depends on it)."""

    def answer(self, crops: Sequence[Image.Image]) -> LevelAnswers:
        """The answers for ``crops``, in their order."""
