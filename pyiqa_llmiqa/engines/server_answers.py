"""What a chat completion from an OpenAI-compatible server says about the quality level.

A server gives, for each generated token, its text and (when asked, and when it supports it) the
top log-probabilities at that position: vLLM's format is ``choices[0].logprobs.content``, a list of
``{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}, ...]}``
(vllm/entrypoints/openai/protocol.py, ``ChatCompletionLogProbsContent``), log-probabilities below
-9999 written as -9999. From that this module reads the answer position (the first generated token
that is not whitespace only), the token greedy decoding wrote there, and each level's log-probability
among the top ones: a level outside them is -inf (probability 0).
"""

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import torch

from pyiqa_llmiqa.engines.base import NOT_A_LEVEL
from pyiqa_llmiqa.errors import ServerAnswerError


class MalformedAnswer(ServerAnswerError):
    """A completion without what a chat completion holds; the message says what is missing."""


@dataclass
class ServerAnswer:
    """One crop's answer as the server wrote it."""

    token: str  # the answer token, or the whole generated text where no log-probabilities came back
    top: Optional[Dict[str, float]]  # token text -> log-probability at the answer position; None: not returned
    blank: bool  # every generated token was whitespace: the answer comes one token later


def level_spellings(levels: int) -> Dict[str, int]:
    """The texts of the tokens that spell each level, as ``level_tokens.level_token_ids`` counts them:
    the digit, and the digit after a space."""
    return {spelling: k for k in range(1, levels + 1) for spelling in (str(k), f' {k}')}


def _field(mapping: Any, key: str, what: str):
    if not isinstance(mapping, dict) or key not in mapping:
        raise MalformedAnswer(f'it has no {what}')
    return mapping[key]


def _log_prob(entry: Any) -> float:
    value = _field(entry, 'logprob', "'logprob' in a log-probability entry")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value > 0:
        raise MalformedAnswer(f'a log-probability is {value!r}, not a number <= 0')
    return float(value)


def _token(entry: Any) -> str:
    token = _field(entry, 'token', "'token' in a log-probability entry")
    if not isinstance(token, str):
        raise MalformedAnswer(f'a token is {token!r}, not text')
    return token


def parse_completion(completion: Any) -> ServerAnswer:
    """The answer in ``completion`` (a chat completion as a dict); ``MalformedAnswer`` says what is missing."""
    choices = _field(completion, 'choices', "'choices'")
    if not isinstance(choices, list) or not choices:
        raise MalformedAnswer(f"'choices' is {choices!r}, not a list of one choice")
    choice = choices[0]
    message = _field(choice, 'message', "'message' in its choice")
    text = _field(message, 'content', "'content' in its message")
    logprobs = choice.get('logprobs')
    steps = logprobs.get('content') if isinstance(logprobs, dict) else None
    if not steps:  # the server ignored logprobs (transformers serve does), or returned none
        if not isinstance(text, str) or not text:
            raise MalformedAnswer(f'its message content is {text!r}: no answer and no log-probabilities')
        return ServerAnswer(text.strip(), None, not text.strip())
    if not isinstance(steps, list):
        raise MalformedAnswer(f"'logprobs.content' is {steps!r}, not a list")
    for step in steps:
        token = _token(step)
        if token.strip():
            top = {_token(entry): _log_prob(entry) for entry in _field(step, 'top_logprobs', "'top_logprobs'")}
            top.setdefault(token, _log_prob(step))
            return ServerAnswer(token, top, False)
    return ServerAnswer(''.join(_token(step) for step in steps), None, True)


def level_answer(answer: ServerAnswer, spellings: Dict[str, int], levels: int):
    """(log-probabilities of levels 1..K, -inf where absent, as a (K,) tensor; the greedy level or
    ``NOT_A_LEVEL``). Spellings of one level add up, as in ``level_tokens.answers_from_logits``."""
    by_level: List[List[float]] = [[] for _ in range(levels)]
    for token, log_prob in (answer.top or {}).items():
        if token in spellings:
            by_level[spellings[token] - 1].append(log_prob)
    log_probs = torch.tensor([torch.logsumexp(torch.tensor(lps), 0).item() if lps else -math.inf for lps in by_level])
    return log_probs, spellings.get(answer.token, NOT_A_LEVEL)
