"""``transformers serve`` on this machine, for tests and benchmarks of the openai engine.

It serves a model offline on 127.0.0.1 only, on a free port, and is stopped by whoever started it
(``with local_server(model) as url``): a local folder, or a hub id found in a hub cache. The tests
serve a hub id from a cache made by ``as_hub_cache``, as a user serves a downloaded model: every
``transformers serve`` of the admitted releases loads it and lists it under that id in
``/v1/models`` (5.13 lists the cache's models, 5.25 the one model it was started with).
"""

import contextlib
import hashlib
import os
import shutil
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


def as_hub_cache(folder, repo_id: str, cache) -> Path:
    """Lay the files of ``folder`` out in the hub cache ``cache`` as huggingface_hub lays out a
    downloaded repository ``repo_id`` (blobs named by content, a snapshot of links, ``refs/main``)."""
    repo = Path(cache) / ('models--' + repo_id.replace('/', '--'))
    revision = hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo / 'snapshots' / revision
    (repo / 'blobs').mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / 'refs').mkdir(exist_ok=True)
    (repo / 'refs' / 'main').write_text(revision)
    for file in sorted(Path(folder).iterdir()):
        blob = repo / 'blobs' / hashlib.sha256(file.read_bytes()).hexdigest()
        shutil.copyfile(file, blob)
        link = snapshot / file.name
        if not link.exists():
            link.symlink_to(os.path.relpath(blob, snapshot))
    return Path(cache)


@contextlib.contextmanager
def local_server(
    model: str, extra_args: Sequence[str] = (), log: Optional[Path] = None, hub_cache: Optional[Path] = None
) -> Iterator[str]:
    """Run ``transformers serve MODEL`` on 127.0.0.1 (offline, reading ``hub_cache`` if given) until the
    block ends; yields the base URL of its OpenAI-compatible API (``http://127.0.0.1:PORT/v1``)."""
    port = free_port()
    root = f'http://127.0.0.1:{port}'
    command = [sys.executable, '-m', 'transformers.cli.transformers', 'serve', '--host', '127.0.0.1']
    command += ['--port', str(port), *extra_args, model]
    env = {**os.environ, 'HF_HUB_OFFLINE': '1'}
    if hub_cache is not None:
        env['HF_HUB_CACHE'] = str(hub_cache)
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
