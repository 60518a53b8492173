"""The benchmark table: correlations per metric and data set, as CSV (pyiqa's layout and a long one),
a markdown table, and scatter plots of score against MOS.

pyiqa's benchmark CSV (``tests/NR_benchmark_results.csv`` in its repository) has one row per metric,
``Metric name`` first, then one ``DATASET(PLCC/SRCC/KRCC)`` cell per data set, each figure rounded to
4 decimals. ``correlations.csv`` holds the same figures unrounded, with the logistic-fitted PLCC and
the counts of scored and failed images.
"""
import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from ..ceiling import ceiling_table, plot_ceiling
from ..correlation import correlations
from .datasets import BenchDataset
from .metrics import MetricSpec
from .runner import result_store

FIGURES = ('srcc', 'plcc', 'krcc', 'plcc_fitted')


@dataclass
class Row:
    """One metric on one data set: the pairs it scored and their correlations."""

    metric: str
    dataset: str
    key: str
    mos: List[float]
    scores: List[float]
    failed: int
    missing: int  # images of the data set with no record yet
    sign_turned: bool  # the score was negated before correlating (a lower-better metric)
    figures: Dict[str, float]


def evaluate(spec: MetricSpec, dataset: BenchDataset, out: Path) -> Row:
    """The correlations of ``spec``'s stored scores with the data set's MOS (sign turned if lower is better)."""
    records = result_store(out, spec, dataset).records()
    pairs = [(item.mos, records[item.name]['score']) for item in dataset.items
             if 'score' in records.get(item.name, {})]
    failed = sum('error' in records.get(item.name, {}) for item in dataset.items)
    mos, scores = [m for m, _ in pairs], [s for _, s in pairs]
    sign_turned = spec.lower_better != dataset.mos_lower_better
    figures = dict.fromkeys(FIGURES, math.nan)
    if len(pairs) >= 3:
        figures = correlations(scores, mos, lower_better=sign_turned)
    return Row(spec.name, dataset.name, spec.key(dataset.augment), mos, scores, failed,
               len(dataset.items) - len(pairs) - failed, sign_turned, figures)


def write_pyiqa_csv(rows: List[Row], path: Path) -> None:
    """pyiqa's benchmark layout: ``Metric name, DATASET(PLCC/SRCC/KRCC), ...``."""
    datasets = list(dict.fromkeys(r.dataset for r in rows))
    cells = {(r.metric, r.dataset): '/'.join(str(round(r.figures[f], 4)) for f in ('plcc', 'srcc', 'krcc'))
             for r in rows}
    with open(path, 'w', newline='', encoding='utf-8') as handle:
        writer = csv.writer(handle)
        writer.writerow(['Metric name'] + [f'{d}(PLCC/SRCC/KRCC)' for d in datasets])
        for metric in dict.fromkeys(r.metric for r in rows):
            writer.writerow([metric] + [cells.get((metric, d), '') for d in datasets])


def write_long_csv(rows: List[Row], path: Path) -> None:
    """One line per metric and data set, every figure unrounded."""
    with open(path, 'w', newline='', encoding='utf-8') as handle:
        writer = csv.writer(handle)
        writer.writerow(['metric', 'dataset', 'key', 'n', 'failed', 'missing', *FIGURES])
        for r in rows:
            writer.writerow([r.metric, r.dataset, r.key, len(r.scores), r.failed, r.missing,
                             *(repr(r.figures[f]) for f in FIGURES)])


def markdown(rows: List[Row]) -> str:
    """The table for the terminal."""
    lines = ['| metric | data set | n | failed | SRCC | PLCC | KRCC | PLCC fitted |', '|---' * 8 + '|']
    for r in rows:
        figures = ' | '.join(f'{r.figures[f]:.4f}' for f in FIGURES)
        lines.append(f'| {r.metric} | {r.dataset} | {len(r.scores)} | {r.failed} | {figures} |')
    return '\n'.join(lines)


def scatter(row: Row, path: Path) -> None:
    """Score against MOS, with the correlations in the title."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 4), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(row.mos, row.scores, s=6, alpha=0.5)
    ax.set_xlabel('MOS')
    ax.set_ylabel(f'{row.metric} score')
    f = row.figures
    turned = ' of the negated score' if row.sign_turned else ''
    ax.set_title(f'{row.metric} on {row.dataset} (n={len(row.scores)})\nSRCC {f["srcc"]:.3f}  PLCC {f["plcc"]:.3f}  '
                 f'KRCC {f["krcc"]:.3f}{turned}', fontsize=9)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(str(path))


def write_report(specs: List[MetricSpec], datasets: List[BenchDataset], out: Path) -> List[Row]:
    """All tables and plots of a run into ``out``; returns the rows."""
    out = Path(out)
    rows = [evaluate(spec, dataset, out) for spec in specs for dataset in datasets]
    write_pyiqa_csv(rows, out / 'benchmark_results.csv')
    write_long_csv(rows, out / 'correlations.csv')
    for row in rows:
        if row.scores:
            scatter(row, out / f'scatter_{row.metric}_{row.dataset}.png')
    ceilings = {}
    for dataset in datasets:
        try:
            ceilings[dataset.name] = ceiling_table([item.mos for item in dataset.items])
        except ValueError:  # too few or all-equal MOS: no ceiling to draw
            continue
    if ceilings:
        plot_ceiling(ceilings, out / 'ceiling.png')
    return rows
