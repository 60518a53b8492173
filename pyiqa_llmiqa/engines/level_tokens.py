"""The tokens that spell the quality levels 1..K, and the answers read from next-token logits."""

from typing import List

import torch

from pyiqa_llmiqa.engines.base import NOT_A_LEVEL, LevelAnswers
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


def answers_from_logits(logits: torch.Tensor, level_ids: List[List[int]]) -> LevelAnswers:
    """The answers in next-token ``logits`` (N, vocab): each level's log-probability over the whole
    vocabulary (its spellings together), and the level of the argmax token (greedy decoding's)."""
    log_probs = logits.float().log_softmax(dim=-1)
    level_log_probs = torch.stack([torch.logsumexp(log_probs[:, ids], dim=-1) for ids in level_ids], dim=-1)
    top = logits.argmax(dim=-1)
    greedy = torch.full_like(top, NOT_A_LEVEL)
    for level, ids in enumerate(level_ids, start=1):
        for token in ids:
            greedy[top == token] = level
    return LevelAnswers(level_log_probs, greedy)
