"""Per-image results on disk, safe against crashes: JSON lines, one file per metric, options and data set.

``OUT/predictions/DATASET/METRIC-KEY.jsonl`` holds one record per image (``image``, ``mos``, and
``score`` or ``error``); ``METRIC-KEY.options.json`` beside it says what KEY stands for. While a run
scores, each process appends to its own ``METRIC-KEY.rankN.jsonl`` and flushes every line; merging
folds those into the main file (a scored record wins over a failed one), so a killed run loses
only the images in flight. Lines cut by a crash are skipped when read.
"""

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterable, Iterator, List

from pyiqa_llmiqa.common.atomic_write import atomic_write


def read_records(path: Path) -> List[dict]:
    """The records of a JSON-lines file; unreadable lines (cut by a crash) are left out."""
    records = []
    with open(path, 'rb') as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get('image'), str):
                records.append(entry)
    return records


class ResultStore:
    """The results of one metric (with its options) on one data set."""

    def __init__(self, folder: Path, stem: str):
        self.folder = Path(folder)
        self.stem = stem
        self.path = self.folder / f'{stem}.jsonl'

    def _parts(self) -> List[Path]:
        return sorted(self.folder.glob(f'{self.stem}.rank*.jsonl'))

    def records(self, with_parts: bool = True) -> Dict[str, dict]:
        """``{image: record}`` over the main file and (``with_parts``) any unmerged parts; a score beats
        an error."""
        merged: Dict[str, dict] = {}
        paths = ([self.path] if self.path.exists() else []) + (self._parts() if with_parts else [])
        for path in paths:
            for entry in read_records(path):
                if 'error' in entry and 'score' in merged.get(entry['image'], {}):
                    continue
                merged[entry['image']] = entry
        return merged

    def merge(self, order: Iterable[str]) -> None:
        """Fold the parts into the main file (records in ``order``, then any others) and drop them."""
        parts = self._parts()
        if not parts:
            return
        records = self.records()
        rank = {name: i for i, name in enumerate(order)}
        ordered = sorted(records.values(), key=lambda r: (rank.get(r['image'], len(rank)), r['image']))
        with atomic_write(self.path) as handle:
            handle.writelines(json.dumps(r) + '\n' for r in ordered)
        for part in parts:
            part.unlink()

    def write_options(self, description: dict) -> None:
        """Say what the key stands for, beside the results."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.folder / f'{self.stem}.options.json') as handle:
            handle.write(json.dumps(description, indent=2, default=str) + '\n')

    @contextmanager
    def appender(self, rank: int) -> Iterator:
        """A function that appends one record to this process's part file and flushes it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f'{self.stem}.rank{rank}.jsonl', 'a', encoding='utf-8') as handle:

            def append(entry: dict) -> None:
                handle.write(json.dumps(entry) + '\n')
                handle.flush()

            yield append
