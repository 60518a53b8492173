"""What a bench run scored, written beside its results (``OUT/run.json``) so that tables and the
report can be rebuilt later from the stored scores alone, without loading a model or a data set.

It names each data set (with its images' folder, preprocessing, MOS direction and every item's
name and MOS) and each metric (with its direction, its K for llmiqa, and the key of its results
on each data set: the key depends on the device the run used, so it is stored, not recomputed).
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from pyiqa_llmiqa.bench.datasets import BenchDataset, Item
from pyiqa_llmiqa.bench.store import ResultStore
from pyiqa_llmiqa.errors import LLMIQAError

MANIFEST = 'run.json'


class ManifestError(LLMIQAError, ValueError):
    """A folder that holds no readable bench run."""


@dataclass
class RunMetric:
    """A metric as one run scored it."""

    name: str
    lower_better: bool
    is_llmiqa: bool
    levels: Optional[int]  # llmiqa's K; None for other metrics
    keys: Dict[str, str]  # data set name -> key of its results

    def store(self, out: Path, dataset: BenchDataset) -> ResultStore:
        """Where this metric's results on ``dataset`` live (as ``runner.result_store`` puts them)."""
        return ResultStore(Path(out) / 'predictions' / dataset.name, f'{self.name}-{self.keys[dataset.name]}')


def write_manifest(specs, datasets: List[BenchDataset], out: Path) -> Path:
    """Describe the run of ``specs`` (``MetricSpec``) on ``datasets`` in ``out/run.json``."""
    metrics = [
        RunMetric(
            s.name,
            s.lower_better,
            s.is_llmiqa,
            s.options.get('levels') if s.is_llmiqa else None,
            {d.name: s.key(d.augment) for d in datasets},
        )
        for s in specs
    ]
    described = {
        'datasets': [
            {
                'name': d.name,
                'root': os.path.abspath(d.root) if d.root else '',
                'augment': d.augment,
                'mos_lower_better': d.mos_lower_better,
                'items': [[i.name, i.mos] for i in d.items],
            }
            for d in datasets
        ],
        'metrics': [asdict(m) for m in metrics],
    }
    Path(out).mkdir(parents=True, exist_ok=True)
    path = Path(out) / MANIFEST
    temporary = path.with_suffix('.json.tmp')
    temporary.write_text(json.dumps(described, default=str) + '\n', encoding='utf-8')
    os.replace(temporary, path)
    return path


def read_manifest(out: Path) -> Tuple[List[RunMetric], List[BenchDataset]]:
    """The metrics and data sets of the run stored in ``out``."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise ManifestError(f'{out}: no {MANIFEST} here; it is written by `pyiqa-llmiqa bench --out {out}`')
    try:
        described = json.loads(path.read_text(encoding='utf-8'))
        datasets = [
            BenchDataset(
                d['name'],
                [Item(name, Path(d['root']) / name, float(mos)) for name, mos in d['items']],
                dict(d['augment']),
                bool(d['mos_lower_better']),
                d['root'],
            )
            for d in described['datasets']
        ]
        metrics = [RunMetric(**m) for m in described['metrics']]
    except (ValueError, KeyError, TypeError) as error:
        raise ManifestError(f'{path}: not a bench run description ({type(error).__name__}: {error})') from None
    return metrics, datasets
