"""``transformers serve`` on this machine, for tests and benchmarks of the openai engine.

It serves a local model folder offline on 127.0.0.1 only, on a free port, and is stopped by whoever
started it (``with local_server(folder) as url``).
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Optional, Sequence

START_TIMEOUT_S = 180.0  # a tiny model loads in about 20 s on 2 busy cores


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f'{url}/health', timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def local_server(model: str, extra_args: Sequence[str] = (), log: Optional[Path] = None) -> Iterator[str]:
    """Run ``transformers serve MODEL`` on 127.0.0.1 (offline) until the block ends; yields the base
    URL of its OpenAI-compatible API (``http://127.0.0.1:PORT/v1``)."""
    port = free_port()
    root = f'http://127.0.0.1:{port}'
    command = [sys.executable, '-m', 'transformers.cli.transformers', 'serve', '--host', '127.0.0.1']
    command += ['--port', str(port), *extra_args, model]
    env = {**os.environ, 'HF_HUB_OFFLINE': '1'}
    with open(log or os.devnull, 'w', encoding='utf-8') as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _healthy(root):
                if process.poll() is not None:
                    raise RuntimeError(f'transformers serve exited with {process.returncode}: {" ".join(command)}')
                if time.monotonic() > deadline:
                    raise RuntimeError(f'transformers serve did not answer within {START_TIMEOUT_S} s')
                time.sleep(0.5)
            yield f'{root}/v1'
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
