"""From an engine's answers to a quality level per crop.

The answer to "score in [1,...,K]" is one token. ``greedy`` reads it as greedy decoding writes it,
and where that token is not a level (a fallback), the likeliest level; ``expectation`` takes the
levels' probabilities renormalised over the K levels and returns the expected level (Q-Align's rule).
Either way, the spread of those probabilities (their standard deviation over the levels) says how sure
the model was: 0 when one level has all the probability, up to (K - 1) / 2 when the two ends share it.
"""

from dataclasses import dataclass

import torch

from pyiqa_llmiqa.engines.base import NOT_A_LEVEL, LevelAnswers


@dataclass
class LevelReading:
    """Scores read from a batch of answers."""

    scores: torch.Tensor  # (N,) float, in [1, K]
    probabilities: torch.Tensor  # (N, K) the levels' probabilities, renormalised over the K levels
    fallback: torch.Tensor  # (N,) bool: greedy's answer was not a level
    spread: torch.Tensor  # (N,) float: the standard deviation of the level under ``probabilities``


def read_levels(answers: LevelAnswers, mode: str) -> LevelReading:
    """Read quality levels from ``answers`` by the rule ``mode`` (``greedy`` or ``expectation``)."""
    log_probs = answers.log_probs.float()
    probabilities = log_probs.softmax(dim=-1)
    levels = torch.arange(1, log_probs.shape[1] + 1, dtype=torch.float32, device=log_probs.device)
    mean = probabilities @ levels
    spread = (probabilities * (levels - mean[:, None]) ** 2).sum(dim=-1).sqrt()
    if mode == 'expectation':
        scores = mean
        fallback = torch.zeros(len(log_probs), dtype=torch.bool, device=log_probs.device)
    elif mode == 'greedy':
        fallback = answers.greedy == NOT_A_LEVEL
        most_likely_level = log_probs.argmax(dim=-1) + 1
        scores = torch.where(fallback, most_likely_level, answers.greedy).float()
    else:
        raise ValueError(f"score mode must be 'greedy' or 'expectation'; got {mode!r}")
    return LevelReading(scores, probabilities, fallback, spread)
