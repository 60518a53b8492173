"""A stand-in OpenAI-compatible server on 127.0.0.1, for what a real local one cannot show in tests:
log-probabilities in vLLM's format, errors, delays and malformed answers.

``reply`` decides each chat completion's answer from the request; every request is kept in
``requests`` (path, headers with lower-case names, JSON body) for the test to read.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional, Sequence, Tuple

Reply = Tuple[int, Dict[str, str], object]  # status, headers, JSON body (or a str sent as it is)


def vllm_completion(model: str, steps: Sequence[Tuple[str, float, Dict[str, float]]]) -> dict:
    """A chat completion as vLLM writes it, one entry per generated token: (token, its log-probability,
    the top log-probabilities {token: log-probability}). The layout follows vLLM's
    ``ChatCompletionResponse`` (vllm/entrypoints/openai/protocol.py: ``ChatCompletionLogProbs.content``
    is a list of ``ChatCompletionLogProbsContent``, each ``token``, ``logprob``, ``bytes`` and a
    ``top_logprobs`` list of ``{token, logprob, bytes}``; log-probabilities are clamped at -9999.0,
    vllm/entrypoints/openai/chat_completion/serving.py ``_get_top_logprobs``)."""

    def entry(token, logprob):
        return {'token': token, 'logprob': max(logprob, -9999.0), 'bytes': list(token.encode())}

    content = [{**entry(token, lp), 'top_logprobs': [entry(t, v) for t, v in top.items()]} for token, lp, top in steps]
    return {
        'id': 'chatcmpl-stub',
        'object': 'chat.completion',
        'created': 0,
        'model': model,
        'choices': [
            {
                'index': 0,
                'message': {'role': 'assistant', 'content': ''.join(s[0] for s in steps), 'tool_calls': []},
                'logprobs': {'content': content},
                'finish_reason': 'length',
                'stop_reason': None,
            }
        ],
        'usage': {'prompt_tokens': 60, 'total_tokens': 60 + len(steps), 'completion_tokens': len(steps)},
    }


class OpenAIStub:
    """``with OpenAIStub(reply) as stub``: a server at ``stub.url`` (``http://127.0.0.1:PORT/v1``)
    that lists ``model`` and answers chat completions with ``reply(body)``."""

    def __init__(self, reply: Callable[[dict], Reply], model: str = 'stub-model', root: Optional[str] = None):
        self.reply = reply
        self.model = model
        self.root = root
        self.requests: List[Tuple[str, Dict[str, str], Optional[dict]]] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, headers: Dict[str, str], body) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                stub._keep(self.path, {k.lower(): v for k, v in self.headers.items()}, None)
                if self.path.rstrip('/') == '/v1/models':
                    entry = {'id': stub.model, 'object': 'model', 'owned_by': 'stub'}
                    if stub.root:
                        entry['root'] = stub.root
                    self._send(200, {}, {'object': 'list', 'data': [entry]})
                else:
                    self._send(404, {}, {'error': {'message': 'not found'}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))))
                stub._keep(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if self.path.rstrip('/') != '/v1/chat/completions':
                    self._send(404, {}, {'error': {'message': 'not found'}})
                    return
                try:
                    self._send(*stub.reply(body))
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                    pass

        self._server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self._server.server_address[1]}/v1'
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _keep(self, path, headers, body) -> None:
        with self._lock:
            self.requests.append((path, headers, body))

    def completions(self) -> List[dict]:
        """The bodies of the chat completion requests received so far."""
        with self._lock:
            return [body for path, _, body in self.requests if body is not None]

    def __enter__(self) -> 'OpenAIStub':
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
