"""Reading a level from next-token logits: greedy as decoding would, or the expectation."""

import math

import pytest
import torch

from pyiqa_llmiqa.engines.level_tokens import LevelTokenError, answers_from_logits, level_token_ids
from pyiqa_llmiqa.scoring.reading import read_levels
from pyiqa_llmiqa.testing.tiny_models import qwen_vl_tokenizer

LEVEL_IDS = [[10], [11], [12, 20]]  # level 3 is spelled by two tokens


def _logits(**values):
    logits = torch.full((1, 32), -10.0)
    for token, value in values.items():
        logits[0, int(token[1:])] = value
    return logits


def test_greedy_reads_the_top_token():
    reading = read_levels(answers_from_logits(_logits(t11=5.0, t12=4.0), LEVEL_IDS), 'greedy')
    assert reading.scores.tolist() == [2.0] and reading.fallback.tolist() == [False]


def test_greedy_reads_a_second_spelling_of_a_level():
    reading = read_levels(answers_from_logits(_logits(t20=5.0, t10=4.0), LEVEL_IDS), 'greedy')
    assert reading.scores.tolist() == [3.0]


def test_greedy_falls_back_to_the_likeliest_level_and_says_so():
    reading = read_levels(answers_from_logits(_logits(t3=9.0, t10=1.0, t11=2.0), LEVEL_IDS), 'greedy')
    assert reading.scores.tolist() == [2.0] and reading.fallback.tolist() == [True]


def test_expectation_is_the_softmax_weighted_level():
    logits = _logits(t10=1.0, t11=2.0, t12=0.5, t20=0.5)
    level_logits = torch.tensor([1.0, 2.0, torch.logsumexp(torch.tensor([0.5, 0.5]), 0).item()])
    expected = (level_logits.softmax(0) * torch.tensor([1.0, 2.0, 3.0])).sum()
    reading = read_levels(answers_from_logits(logits, LEVEL_IDS), 'expectation')
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


def test_greedy_and_likeliest_level_differ_when_a_level_has_two_spellings():
    # Level 1 has the single top token (logit 5.0); level 3's two spellings have 4.7 each, so level 3
    # has probability mass e^4.7 * 2 = e^(4.7 + ln 2) = e^5.39 > e^5.0. Greedy decoding writes "1";
    # the likeliest level is 3. The rules disagree although no logit leads by ln 2.
    logits = _logits(t10=5.0, t12=4.7, t20=4.7)
    greedy = read_levels(answers_from_logits(logits, LEVEL_IDS), 'greedy')
    assert greedy.scores.tolist() == [1.0] and greedy.fallback.tolist() == [False]
    # probabilities over the levels by hand: level logits 5.0, -10, 4.7 + ln 2
    masses = [math.exp(5.0), math.exp(-10.0), 2 * math.exp(4.7)]
    assert greedy.probabilities[0].tolist() == pytest.approx([m / sum(masses) for m in masses], rel=1e-5)
    assert greedy.probabilities[0].argmax().item() + 1 == 3


def test_greedy_fallback_takes_the_likeliest_level_summed_over_spellings():
    # The top token (t3) is no level; level 1 has 5.0, level 3 has 4.7 twice: the likeliest is 3.
    reading = read_levels(answers_from_logits(_logits(t3=9.0, t10=5.0, t12=4.7, t20=4.7), LEVEL_IDS), 'greedy')
    assert reading.scores.tolist() == [3.0] and reading.fallback.tolist() == [True]


def test_each_row_is_read_on_its_own():
    logits = torch.cat([_logits(t11=5.0), _logits(t3=9.0, t12=1.0), _logits(t10=3.0)])
    reading = read_levels(answers_from_logits(logits, LEVEL_IDS), 'greedy')
    assert reading.scores.tolist() == [2.0, 3.0, 1.0]
    assert reading.fallback.tolist() == [False, True, False]
    assert reading.scores.dtype == torch.float32


def test_expectation_by_hand_and_never_a_fallback():
    # level logits 0, 0, ln 2: probabilities 1/4, 1/4, 1/2; expectation 1/4 + 2/4 + 3/2 = 2.25
    logits = _logits(t10=0.0, t11=0.0, t12=0.0, t20=0.0, t5=50.0)
    reading = read_levels(answers_from_logits(logits, LEVEL_IDS), 'expectation')
    assert reading.scores.item() == pytest.approx(2.25, abs=1e-6)
    assert reading.probabilities[0].tolist() == pytest.approx([0.25, 0.25, 0.5], abs=1e-6)
    assert reading.fallback.tolist() == [False] and reading.fallback.dtype == torch.bool


def test_half_precision_logits_are_read_in_float():
    reading = read_levels(answers_from_logits(_logits(t10=1.0, t11=1.0).half(), LEVEL_IDS[:2]), 'expectation')
    assert reading.scores.dtype == torch.float32 and reading.scores.item() == pytest.approx(1.5)


def test_an_unknown_mode_is_named():
    with pytest.raises(ValueError, match="^score mode must be 'greedy' or 'expectation'; got 'mean'$"):
        read_levels(answers_from_logits(_logits(t10=1.0), LEVEL_IDS), 'mean')


def test_the_splitting_tokenizer_is_named_in_the_error():
    with pytest.raises(LevelTokenError, match="^the tokenizer _SplittingTokenizer splits the level '7' into 2 tokens"):
        level_token_ids(_SplittingTokenizer(), 7)


class _BosTokenizer:
    """Puts a <bos> (id 1) in front unless asked not to, as Gemma's and Llama's tokenizers do; " d"
    is one token of its own (id 1000 + d)."""

    def encode(self, text, add_special_tokens=True):
        ids = (
            [1000 + int(text[1])] if len(text) == 2 and text[0] == ' ' and text[1].isdigit() else [ord(c) for c in text]
        )
        return ([1] if add_special_tokens else []) + ids

    def decode(self, ids):
        return ''.join('<bos>' if i == 1 else chr(i) for i in ids)


def test_level_tokens_are_read_without_special_tokens():
    # with the <bos> each digit would be two tokens, and refused; " d" would be no single token
    assert level_token_ids(_BosTokenizer(), 3) == [[ord('1'), 1001], [ord('2'), 1002], [ord('3'), 1003]]


class _SameTokenTokenizer:
    """Writes every digit as the same token."""

    def encode(self, text, add_special_tokens=False):
        return [7 if c.isdigit() else ord(c) for c in text]

    def decode(self, ids):
        return ''.join('#' if i == 7 else chr(i) for i in ids)


def test_two_levels_on_one_token_is_a_clear_error():
    with pytest.raises(LevelTokenError, match=r'^the tokenizer maps two levels to one token: \[\[7\], \[7\]\]$'):
        level_token_ids(_SameTokenTokenizer(), 2)


def test_a_distinct_spaced_digit_token_counts_as_the_same_level():
    tokenizer = qwen_vl_tokenizer(spaced_digits=True)
    vocab = tokenizer.get_vocab()
    added = tokenizer.get_added_vocab()
    # the byte-level symbol of a digit is the digit itself; " d" is an added token of its own
    expected = [[vocab[str(d)], added[f' {d}']] for d in range(1, 10)]
    assert level_token_ids(tokenizer, 9) == expected
    assert len(set(sum(expected, []))) == 18


def test_a_space_and_a_digit_in_two_tokens_is_no_second_spelling():
    tokenizer = qwen_vl_tokenizer()
    assert len(tokenizer.encode(' 7', add_special_tokens=False)) == 2
    vocab = tokenizer.get_vocab()
    assert level_token_ids(tokenizer, 7) == [[vocab[str(d)]] for d in range(1, 8)]


def test_the_reading_stays_on_the_device_of_the_logits():
    # GPU logits must be read on the GPU: the level values and the fallback flags are built there
    # too (the meta device stands in for a GPU: mixing it with CPU tensors raises as CUDA would)
    logits = torch.zeros(2, 32, device='meta')
    for mode in ('expectation', 'greedy'):
        reading = read_levels(answers_from_logits(logits, LEVEL_IDS), mode)
        assert reading.scores.device.type == 'meta' and reading.fallback.device.type == 'meta'
        assert reading.scores.shape == (2,) and reading.probabilities.shape == (2, 3)


class _BlankDecodeTokenizer:
    """Writes each digit as one token that decodes to nothing when alone (as a decoder that drops a
    word-start marker may), after a whitespace-only token (0) in front."""

    def encode(self, text, add_special_tokens=False):
        return [0] + [100 + int(c) if c.isdigit() else ord(c) for c in text.strip()]

    def decode(self, ids):
        return ''.join(' ' if i == 0 else '' if i >= 100 else chr(i) for i in ids)


def test_only_tokens_in_front_of_the_digit_are_dropped():
    # the prefix token goes; the digit's own token stays, whatever its decode alone looks like
    assert level_token_ids(_BlankDecodeTokenizer(), 3) == [[101], [102], [103]]


@pytest.mark.parametrize('mode', ['greedy', 'expectation'])
def test_the_spread_is_the_standard_deviation_of_the_level_in_either_mode(mode):
    from pyiqa_llmiqa.engines.base import LevelAnswers

    probabilities = torch.tensor(
        [
            [0.5, 0.0, 0.0, 0.0, 0.5],  # the two ends: mean 3, every level 2 away
            [0.0, 0.0, 1.0, 0.0, 0.0],  # sure of one level
            [0.2, 0.2, 0.2, 0.2, 0.2],  # uniform around 3: variance (4 + 1 + 0 + 1 + 4) / 5 = 2
            [0.0, 0.25, 0.75, 0.0, 0.0],  # mean 2.75: 0.25 * 0.75**2 + 0.75 * 0.25**2 = 0.1875
        ]
    )
    answers = LevelAnswers(probabilities.clamp_min(1e-30).log(), torch.tensor([1, 3, 2, 3]))
    spread = read_levels(answers, mode).spread
    assert spread.tolist() == pytest.approx([2.0, 0.0, math.sqrt(2.0), math.sqrt(0.1875)], abs=1e-5)
