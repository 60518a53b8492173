"""Reading a level from next-token logits: greedy as decoding would, or the expectation."""
import pytest
import torch

from pyiqa_llmiqa.score_reading import LevelTokenError, level_token_ids, read_levels

LEVEL_IDS = [[10], [11], [12, 20]]  # level 3 is spelled by two tokens


def _logits(**values):
    logits = torch.full((1, 32), -10.0)
    for token, value in values.items():
        logits[0, int(token[1:])] = value
    return logits


def test_greedy_reads_the_top_token():
    reading = read_levels(_logits(t11=5.0, t12=4.0), LEVEL_IDS, 'greedy')
    assert reading.scores.tolist() == [2.0] and reading.fallback.tolist() == [False]


def test_greedy_reads_a_second_spelling_of_a_level():
    reading = read_levels(_logits(t20=5.0, t10=4.0), LEVEL_IDS, 'greedy')
    assert reading.scores.tolist() == [3.0]


def test_greedy_falls_back_to_the_likeliest_level_and_says_so():
    reading = read_levels(_logits(t3=9.0, t10=1.0, t11=2.0), LEVEL_IDS, 'greedy')
    assert reading.scores.tolist() == [2.0] and reading.fallback.tolist() == [True]


def test_expectation_is_the_softmax_weighted_level():
    logits = _logits(t10=1.0, t11=2.0, t12=0.5, t20=0.5)
    level_logits = torch.tensor([1.0, 2.0, torch.logsumexp(torch.tensor([0.5, 0.5]), 0).item()])
    expected = (level_logits.softmax(0) * torch.tensor([1.0, 2.0, 3.0])).sum()
    reading = read_levels(logits, LEVEL_IDS, 'expectation')
    assert reading.scores.item() == pytest.approx(expected.item(), abs=1e-6)
    assert reading.fallback.tolist() == [False]


class _SplittingTokenizer:
    """Spells '7' with two tokens."""

    def encode(self, text, add_special_tokens=False):
        return [ord(c) for c in text.replace('7', '7#')]

    def decode(self, ids):
        return ''.join(chr(i) for i in ids)


def test_a_level_of_two_tokens_is_a_clear_error():
    with pytest.raises(LevelTokenError, match="splits the level '7' into 2 tokens"):
        level_token_ids(_SplittingTokenizer(), 7)
    assert len(level_token_ids(_SplittingTokenizer(), 6)) == 6


class _PrefixTokenizer:
    """SentencePiece style: a whitespace-only token in front of every word."""

    def encode(self, text, add_special_tokens=False):
        return [0] + [ord(c) for c in text.strip()]

    def decode(self, ids):
        return ''.join(' ' if i == 0 else chr(i) for i in ids)


def test_a_whitespace_prefix_token_is_ignored():
    assert level_token_ids(_PrefixTokenizer(), 3) == [[ord('1')], [ord('2')], [ord('3')]]
