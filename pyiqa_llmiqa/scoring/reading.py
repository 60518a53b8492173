"""From next-token logits at the answer position to a quality level.

The answer to "score in [1,...,K]" is one token. ``greedy`` reads it as greedy decoding would (the
argmax over the whole vocabulary); ``expectation`` takes the softmax over the K level tokens and
returns the expected level (Q-Align's rule).
"""

from dataclasses import dataclass
from typing import List

import torch

from pyiqa_llmiqa.errors import LLMIQAError


class LevelTokenError(LLMIQAError, ValueError):
    """A tokenizer cannot write a quality level as a single token."""


def _spelling(tokenizer, text: str) -> List[int]:
    """Token ids of ``text``, without the whitespace-only tokens some tokenizers put in front."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    while len(ids) > 1 and not tokenizer.decode(ids[:1]).strip():
        ids = ids[1:]
    return ids


def level_token_ids(tokenizer, levels: int) -> List[List[int]]:
    """For each level 1..K, the ids of the single tokens that spell it.

    The digit must be one token (after any whitespace-only prefix token, as SentencePiece adds). A
    space-prefixed spelling (" 7") that is a distinct single token counts as the same level.
    """
    ids = []
    for level in range(1, levels + 1):
        digit = str(level)
        bare = _spelling(tokenizer, digit)
        if len(bare) != 1:
            raise LevelTokenError(
                f'the tokenizer {type(tokenizer).__name__} splits the level {digit!r} into '
                f'{len(bare)} tokens {bare}; llmiqa reads the answer from one token, so each of '
                f'1..{levels} must be a single token'
            )
        spaced = tokenizer.encode(' ' + digit, add_special_tokens=False)
        variants = bare + [t for t in spaced if len(spaced) == 1 and t not in bare]
        ids.append(variants)
    all_ids = [t for variants in ids for t in variants]
    if len(set(all_ids)) != len(all_ids):
        raise LevelTokenError(f'the tokenizer maps two levels to one token: {ids}')
    return ids


@dataclass
class LevelReading:
    """Scores read from a batch of logits."""

    scores: torch.Tensor  # (N,) float, in [1, K]
    probabilities: torch.Tensor  # (N, K) softmax over the level tokens
    fallback: torch.Tensor  # (N,) bool: greedy's top token was not a level


def read_levels(logits: torch.Tensor, level_ids: List[List[int]], mode: str) -> LevelReading:
    """Read quality levels from next-token ``logits`` (N, vocab)."""
    logits = logits.float()
    # A level spelled by several tokens has the probability of all of them together.
    level_logits = torch.stack([torch.logsumexp(logits[:, variants], dim=-1) for variants in level_ids], dim=-1)
    probabilities = level_logits.softmax(dim=-1)
    levels = torch.arange(1, len(level_ids) + 1, dtype=torch.float32, device=logits.device)
    if mode == 'expectation':
        scores = probabilities @ levels
        fallback = torch.zeros(len(logits), dtype=torch.bool, device=logits.device)
    elif mode == 'greedy':
        top = logits.argmax(dim=-1)
        token_level = torch.zeros_like(top)
        for level, variants in enumerate(level_ids, start=1):
            for token in variants:
                token_level[top == token] = level
        fallback = token_level == 0
        most_likely_level = level_logits.argmax(dim=-1) + 1
        scores = torch.where(fallback, most_likely_level, token_level).float()
    else:
        raise ValueError(f"score mode must be 'greedy' or 'expectation'; got {mode!r}")
    return LevelReading(scores, probabilities, fallback)
