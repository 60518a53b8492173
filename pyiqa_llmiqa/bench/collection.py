"""Scoring a collection without human scores into one results file: resumable, sharded, locked.

``score PATHS --out FILE.jsonl`` keeps its records in bench's :class:`ResultStore` (FILE's folder and
stem): each process appends to ``STEM.rankN.jsonl`` and flushes every record, and the main process
merges the parts into FILE at the start and at the end, so a killed run loses only the images in
flight. ``STEM.options.json`` beside FILE holds the metric's key (``MetricSpec.key``): a run with
other settings is refused, never mixed in. ``FILE.lock`` (an fcntl lock held by the main process)
refuses a second run on the same FILE while one is writing it.
"""

import fcntl
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, List

from pyiqa_llmiqa.bench.processes import Processes
from pyiqa_llmiqa.bench.progress import progress
from pyiqa_llmiqa.bench.store import ResultStore
from pyiqa_llmiqa.common.printable import printable_path
from pyiqa_llmiqa.errors import ImageLoadError, LLMIQAError, ServerError
from pyiqa_llmiqa.inputs.images import check_file, load_image


class CollectionError(LLMIQAError, ValueError):
    """The results file cannot take this run: another run writes it, or it holds other settings."""


def collection_store(out: Path) -> ResultStore:
    """The store behind ``--out FILE``; FILE must be JSON lines (``.jsonl``)."""
    out = Path(out)
    if out.suffix != '.jsonl':
        raise CollectionError(f'{printable_path(out)}: --out writes JSON lines; give it a name ending in .jsonl')
    return ResultStore(out.parent, out.stem)


@contextmanager
def locked(store: ResultStore) -> Iterator[None]:
    """Hold ``FILE.lock`` while this run writes FILE; refuse if another run holds it. The lock file
    stays: removing it could let a third run lock a file that a second run has already opened."""
    store.folder.mkdir(parents=True, exist_ok=True)
    lock = store.path.with_name(store.path.name + '.lock')
    with open(lock, 'a') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CollectionError(
                f'{printable_path(store.path)}: another run is writing it (it holds {printable_path(lock)}); '
                'wait for it to end or choose another --out'
            ) from None
        yield


def check_settings(store: ResultStore, description: dict) -> None:
    """Refuse to add scores to a file whose scores came from other settings (or from elsewhere)."""
    described = store.folder / f'{store.stem}.options.json'
    if described.exists():
        before = json.loads(described.read_text(encoding='utf-8'))
        if before.get('key') != description['key']:
            raise CollectionError(
                f'{printable_path(store.path)} holds scores of other settings (metric {before.get("metric")}, '
                f'key {before.get("key")}; this run: metric {description["metric"]}, key {description["key"]}, '
                f'options in {printable_path(described)}); choose another --out to keep both'
            )
    elif store.records():
        raise CollectionError(
            f'{printable_path(store.path)} holds records but no {printable_path(described)} saying what scored '
            'them; choose another --out'
        )


def _error_text(error: Exception) -> str:
    if isinstance(error, ImageLoadError):
        return str(error)  # names the file and the reason
    return f'{type(error).__name__}: {error}'


def score_collection(
    paths: List[Path],
    store: ResultStore,
    description: dict,
    processes: Processes,
    build: Callable[[], Callable],
    retry_failed: bool = False,
) -> Dict[str, dict]:
    """Score the ``paths`` that ``store`` lacks, those a server failed (and, with ``retry_failed``, those
    that failed), this process its shard; returns the merged records (main process) in ``paths`` order.
    ``build`` makes the function from an RGB image to its record fields; it is called when a readable
    file comes up, so a run whose files are all unreadable loads no model."""
    order = [printable_path(path) for path in paths]
    if processes.is_main:
        check_settings(store, description)
        store.merge(order)
        store.write_options(description)
    processes.barrier()
    # every process shards the same list: what the main process merged, not the parts being written
    merged = store.records(with_parts=False)
    finished = {name for name, r in merged.items() if 'score' in r or not (retry_failed or r.get('retry'))}
    todo = [(name, path) for name, path in zip(order, paths) if name not in finished]
    if processes.is_main:
        print(
            f'{len(paths) - len(todo)} of {len(paths)} images already in {printable_path(store.path)}',
            file=sys.stderr,
        )
    mine = processes.shard(todo)
    score = None
    with store.appender(processes.rank) as append, progress(mine, 'scoring', processes.is_main) as bar:
        failed = 0
        for name, path in bar:
            entry = {'image': name}
            try:
                check_file(path)  # costs a stat: an unreadable file needs no model
            except ImageLoadError as error:
                entry['error'] = str(error)
            if 'error' not in entry:
                score = score or build()
                try:
                    entry.update(score(load_image(path)))
                except ServerError as error:  # the server failed, not the image: a rerun tries it again
                    entry.update(error=str(error), retry=True)
                except Exception as error:  # one image's failure is recorded; the run goes on
                    entry['error'] = _error_text(error)
            append(entry)
            failed += 'error' in entry
            if failed:
                bar.set_postfix(failed=failed)
    processes.barrier()
    if not processes.is_main:
        return {}
    store.merge(order)
    records = store.records()
    return {name: records[name] for name in order if name in records}
