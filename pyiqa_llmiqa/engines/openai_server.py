"""The engine for OpenAI-compatible servers: vLLM, SGLang, ``transformers serve``, hosted APIs.

The same question as in process, over the wire: per crop one chat completion with the standard as
the system message and the image (a lossless PNG data URI of the crop the in-process engine would
give its processor) and the question as the user message, ``max_tokens`` 1, ``temperature`` 0, and
the top 20 log-probabilities. The server's own chat template writes the prompt. Where a template
makes the model write a space before the digit (SmolVLM after ``Assistant:``), the first answer is a
blank token: that crop is asked again with ``max_tokens`` 2 and so is every later one, and the
answer is read at the first token that is not blank, where the in-process engine puts the space into
the prompt instead (``transformers_engine.answer_position``).

Requests go only to ``server_url``, ``requests_in_flight`` at a time; the openai client retries
timeouts, 429 and 5xx with backoff (honouring Retry-After). The API key is read from the environment
variable that ``api_key_env`` names, when the engine is built; it is kept by the client alone and
taken out of every error message.
"""

import base64
import io
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional, Sequence

import torch
from PIL import Image

from pyiqa_llmiqa.common.names import did_you_mean
from pyiqa_llmiqa.config.options import LLMIQAOptions
from pyiqa_llmiqa.config.standards import Standard
from pyiqa_llmiqa.engines.base import LevelAnswers
from pyiqa_llmiqa.engines.server_answers import MalformedAnswer, level_answer, level_spellings, parse_completion
from pyiqa_llmiqa.errors import BackboneLoadError, OptionError, ServerAnswerError, ServerError

TOP_LOGPROBS = 20  # OpenAI's maximum; vLLM's default --max-logprobs
PROBE_TIMEOUT_S = 4.0  # the first request, which says whether a server answers at all


def png_data_uri(image: Image.Image) -> str:
    """``image`` as a PNG data URI: lossless, so the server judges the pixels the metric was given."""
    buffer = io.BytesIO()
    image.save(buffer, format='PNG')
    return 'data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode('ascii')


def read_api_key(variable: Optional[str]) -> Optional[str]:
    """The key in environment variable ``variable`` (None: no key); its value never enters a message."""
    if variable is None:
        return None
    key = os.environ.get(variable, '')
    if not key.strip():
        raise OptionError(f"option 'api_key_env': the environment variable {variable} is not set or empty")
    return key


class OpenAIEngine:
    """An ``Engine`` whose model answers on an OpenAI-compatible server at ``options.server_url``."""

    def __init__(self, options: LLMIQAOptions):
        try:
            import openai
        except ImportError:
            raise BackboneLoadError(
                "engine 'openai' needs the openai package: pip install 'pyiqa-llmiqa[server]'"
            ) from None
        self._openai = openai
        self.url = options.server_url.rstrip('/')
        self.model = options.backbone
        self.levels = options.levels
        self.score_mode = options.score_mode
        self.requests_in_flight = options.requests_in_flight
        self.retries = options.request_retries
        self.timeout = options.request_timeout
        self.spellings = level_spellings(options.levels)
        self.answer_tokens = 1  # 2 once the model is seen to write a blank token first
        self._key = read_api_key(options.api_key_env)
        self._client = openai.OpenAI(
            base_url=self.url,
            api_key=self._key or 'none',  # the client needs some key; servers without one ignore it
            timeout=options.request_timeout,
            max_retries=options.request_retries,
        )
        self.served = self._served_model()

    def prepare(self, standard: Standard) -> None:
        """Ask ``standard``'s question from now on."""
        self.system = standard.system_prompt
        self.question = standard.question

    def __repr__(self) -> str:
        return f'OpenAIEngine(server_url={self.url!r}, model={self.model!r})'

    @property
    def device(self) -> torch.device:
        return torch.device('cpu')  # where the answers arrive

    def _scrub(self, text: str) -> str:
        """``text`` with the key taken out, should a server or library have echoed it."""
        return text.replace(self._key, '[key]') if self._key else text

    def _server_error(self, error: Exception, what: str) -> ServerError:
        """The error for a request that failed (after the client's retries), naming the URL."""
        openai = self._openai
        if isinstance(error, openai.APIStatusError):
            reason = f'it answered HTTP {error.status_code}: {self._scrub(str(error.message))}'
            if error.status_code in (401, 403):
                reason += ' (check the key in the environment variable that option api_key_env names)'
        elif isinstance(error, openai.APITimeoutError):
            reason = 'it did not answer in time'
        else:
            reason = f'no connection ({self._scrub(str(getattr(error, "__cause__", None) or error))})'
        return ServerError(f'the server at {self.url} failed {what}: {reason}')

    def _served_model(self) -> Dict[str, Any]:
        """The server's entry for ``self.model`` in GET /models (vLLM adds ``root``, the weights' path).

        The first request: without retries and within ``PROBE_TIMEOUT_S``, so a server that is down or a
        wrong URL is one clear error in seconds."""
        probe = self._client.with_options(timeout=PROBE_TIMEOUT_S, max_retries=0)
        try:
            models = [entry.to_dict() for entry in probe.models.list().data]
        except self._openai.OpenAIError as error:
            what = 'to list its models (GET /models: is it the base URL of an OpenAI-compatible API, such as http://HOST:PORT/v1?)'
            raise self._server_error(error, what) from None
        ids = [str(entry.get('id')) for entry in models]
        for entry in models:
            if entry.get('id') == self.model:
                return {key: entry[key] for key in ('id', 'root') if key in entry}
        raise OptionError(
            f"option 'backbone': the server at {self.url} serves {ids}, not {self.model!r}"
            f'{did_you_mean(self.model, ids)}; with engine openai, backbone is the model name the server serves'
        )

    def _complete(self, image_uri: str, index: int, max_tokens: int) -> dict:
        """One chat completion for the crop at ``index``, as a dict."""
        messages = [
            {'role': 'system', 'content': self.system},
            {
                'role': 'user',
                'content': [
                    {'type': 'image_url', 'image_url': {'url': image_uri}},
                    {'type': 'text', 'text': self.question},
                ],
            },
        ]
        try:
            raw = self._client.chat.completions.with_raw_response.create(
                model=self.model,
                messages=messages,
                max_tokens=max_tokens,
                temperature=0,
                logprobs=True,
                top_logprobs=TOP_LOGPROBS,
            )
        except self._openai.OpenAIError as error:
            raise self._server_error(error, f'on crop {index} after {self.retries} retries') from None
        try:
            return raw.http_response.json()  # as the server wrote it, for parse_completion to check
        except ValueError:
            raise ServerAnswerError(
                f'the server at {self.url} answered crop {index} with a body that is not JSON'
            ) from None

    def _parse(self, completion: dict, index: int):
        try:
            return parse_completion(completion)
        except MalformedAnswer as error:
            raise ServerAnswerError(f'the server at {self.url} answered crop {index} malformed: {error}') from None

    def _answer_one(self, index: int, crop: Image.Image):
        """(level log-probabilities (K,), greedy level) of one crop."""
        uri = png_data_uri(crop)
        answer = self._parse(self._complete(uri, index, self.answer_tokens), index)
        if answer.blank and self.answer_tokens == 1:
            self.answer_tokens = 2  # the template makes the model write a space first: read one token later
            answer = self._parse(self._complete(uri, index, 2), index)
        if answer.blank:
            raise ServerAnswerError(f'the server at {self.url} answered crop {index} with blank tokens only')
        if answer.top is None and self.score_mode == 'expectation':
            raise ServerAnswerError(
                f'the server at {self.url} returned no log-probabilities (it ignores logprobs, as '
                "transformers serve does); score_mode 'expectation' needs them: use score_mode 'greedy', or a "
                'server that returns them (vLLM, SGLang)'
            )
        log_probs, greedy = level_answer(answer, self.spellings, self.levels)
        if answer.top is None and not greedy:
            raise ServerAnswerError(
                f'the server at {self.url} answered crop {index} with {answer.token!r}, not a level 1..{self.levels}, '
                'and returned no log-probabilities to fall back on the likeliest level'
            )
        if torch.isneginf(log_probs).all() and (self.score_mode == 'expectation' or not greedy):
            # a softmax over no level would be NaN: say so instead
            needed = 'expectation' if self.score_mode == 'expectation' else f'fallback for the answer {answer.token!r}'
            raise ServerAnswerError(
                f'the server at {self.url} answered crop {index} with no quality level among its top '
                f'{TOP_LOGPROBS} log-probabilities, so the {needed} cannot be read'
            )
        return log_probs, greedy

    def answer(self, crops: Sequence[Image.Image]) -> LevelAnswers:
        """The answers for ``crops``, in their order, ``requests_in_flight`` requests at a time."""
        if not crops:
            return LevelAnswers(torch.empty(0, self.levels), torch.empty(0, dtype=torch.long))
        pool = ThreadPoolExecutor(max_workers=min(self.requests_in_flight, len(crops)))
        try:
            futures = [pool.submit(self._answer_one, i, crop) for i, crop in enumerate(crops)]
            rows = [future.result() for future in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # after a failure, the queued requests are not sent
        return LevelAnswers(torch.stack([r[0] for r in rows]), torch.tensor([r[1] for r in rows], dtype=torch.long))
