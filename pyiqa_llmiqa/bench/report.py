"""The benchmark table: correlations per metric and data set, as CSV (pyiqa's layout and a long one),
a markdown table, and scatter plots of score against MOS.

pyiqa's benchmark CSV (``tests/NR_benchmark_results.csv`` in its repository) has one row per metric,
``Metric name`` first, then one ``DATASET(PLCC/SRCC/KRCC)`` cell per data set, each figure rounded to
4 decimals. ``correlations.csv`` holds the same figures unrounded, with the logistic-fitted PLCC,
the counts of scored and failed images, and a note where a figure is missing and why.
"""

import csv
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from pyiqa_llmiqa.bench.ceiling import ceiling_table, plot_ceiling
from pyiqa_llmiqa.bench.correlation import MIN_PAIRS, FitFailedWarning, correlations
from pyiqa_llmiqa.bench.datasets import BenchDataset
from pyiqa_llmiqa.bench.manifest import RunMetric

FIGURES = ('srcc', 'plcc', 'krcc', 'plcc_fitted')
CEILING_RULE = 'equal_width'
CEILING_TITLE = 'Best K-level integer scorer\nrule: equal-width bins, level = ceil(K (m - min) / (max - min))'
# Why a row has no figures, as a table cell says it and as correlations.csv's note explains it.
CONSTANT = ('const.', 'constant predictions: no correlation is defined')
TOO_FEW = (f'n<{MIN_PAIRS}', f'fewer than {MIN_PAIRS} scored images')
FIT_FAILED = 'the logistic fit failed (did not converge, ended flat, or had fewer than 4 images): no fitted PLCC'


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
    missing_why: str = ''  # the cell text when there are no figures: CONSTANT[0] or TOO_FEW[0]
    fit_failed: bool = False  # the logistic fit failed (FitFailedWarning): plcc_fitted is NaN

    @property
    def note(self) -> str:
        """Why figures are missing, in words (empty when none is)."""
        reasons = {CONSTANT[0]: CONSTANT[1], TOO_FEW[0]: TOO_FEW[1]}
        return reasons.get(self.missing_why) or (FIT_FAILED if self.fit_failed else '')


def _correlate(scores: List[float], mos: List[float], sign_turned: bool):
    """The figures, and whether the logistic fit failed (told once by the table, not warned per row)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        figures = correlations(scores, mos, lower_better=sign_turned)
    fit_failed = False
    for warning in caught:
        if issubclass(warning.category, FitFailedWarning):
            fit_failed = True
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return figures, fit_failed


def evaluate(metric: RunMetric, dataset: BenchDataset, out: Path) -> Row:
    """The correlations of ``metric``'s stored scores with the data set's MOS (sign turned if lower is better)."""
    records = metric.store(out, dataset).records()
    pairs = [(item.mos, records[item.name]['score']) for item in dataset.items if 'score' in records.get(item.name, {})]
    failed = sum('error' in records.get(item.name, {}) for item in dataset.items)
    mos, scores = [m for m, _ in pairs], [s for _, s in pairs]
    sign_turned = metric.lower_better != dataset.mos_lower_better
    figures, missing_why, fit_failed = dict.fromkeys(FIGURES, math.nan), '', False
    if len(pairs) < MIN_PAIRS:
        missing_why = TOO_FEW[0]
    elif len(set(scores)) == 1:
        missing_why = CONSTANT[0]
    else:
        figures, fit_failed = _correlate(scores, mos, sign_turned)
    return Row(
        metric.name,
        dataset.name,
        metric.keys[dataset.name],
        mos,
        scores,
        failed,
        len(dataset.items) - len(pairs) - failed,
        sign_turned,
        figures,
        missing_why,
        fit_failed,
    )


def write_pyiqa_csv(rows: List[Row], path: Path) -> None:
    """pyiqa's benchmark layout: ``Metric name, DATASET(PLCC/SRCC/KRCC), ...`` (``nan`` where undefined)."""
    datasets = list(dict.fromkeys(r.dataset for r in rows))
    cells = {
        (r.metric, r.dataset): '/'.join(str(round(r.figures[f], 4)) for f in ('plcc', 'srcc', 'krcc')) for r in rows
    }
    with open(path, 'w', newline='', encoding='utf-8') as handle:
        writer = csv.writer(handle)
        writer.writerow(['Metric name'] + [f'{d}(PLCC/SRCC/KRCC)' for d in datasets])
        for metric in dict.fromkeys(r.metric for r in rows):
            writer.writerow([metric] + [cells.get((metric, d), '') for d in datasets])


def write_long_csv(rows: List[Row], path: Path) -> None:
    """One line per metric and data set, every figure unrounded, and why any is missing."""
    with open(path, 'w', newline='', encoding='utf-8') as handle:
        writer = csv.writer(handle)
        writer.writerow(['metric', 'dataset', 'key', 'n', 'failed', 'missing', *FIGURES, 'note'])
        for r in rows:
            writer.writerow(
                [
                    r.metric,
                    r.dataset,
                    r.key,
                    len(r.scores),
                    r.failed,
                    r.missing,
                    *(repr(r.figures[f]) for f in FIGURES),
                    r.note,
                ]
            )


def figure_text(row: Row, figure: str, digits: int = 4) -> str:
    """One figure as a table shows it: the number, or why there is none (``const.``, ``n<3``, ``no fit``)."""
    if row.missing_why:
        return row.missing_why
    if figure == 'plcc_fitted' and row.fit_failed:
        return 'no fit'
    return f'{row.figures[figure]:.{digits}f}'


def fit_note(rows: List[Row]) -> str:
    """One sentence naming every metric and data set whose logistic fit failed ('' if none)."""
    failed = [f'{r.metric} on {r.dataset}' for r in rows if r.fit_failed and not r.missing_why]
    if not failed:
        return ''
    return (
        'no fit: the 4-parameter logistic fit of pyiqa failed (did not converge, ended flat, or had fewer than 4 '
        f'images) for {", ".join(failed)}; fitted PLCC left out'
    )


def markdown(rows: List[Row]) -> str:
    """The table for the terminal."""
    lines = ['| metric | data set | n | failed | SRCC | PLCC | KRCC | PLCC fitted |', '|---' * 8 + '|']
    for r in rows:
        figures = ' | '.join(figure_text(r, f) for f in FIGURES)
        lines.append(f'| {r.metric} | {r.dataset} | {len(r.scores)} | {r.failed} | {figures} |')
    note = fit_note(rows)
    return '\n'.join(lines + ([f'\n{note}'] if note else []))


def scatter(row: Row, path: Path) -> None:
    """Score against MOS, with the correlations in the title."""
    from matplotlib.figure import Figure  # not pyplot: no display, no global state; PNG is drawn by Agg

    fig = Figure(figsize=(5, 4), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(row.mos, row.scores, s=6, alpha=0.5)
    ax.set_xlabel('MOS')
    ax.set_ylabel(f'{row.metric} score')
    turned = ' of the negated score' if row.sign_turned else ''
    figures = '  '.join(
        f'{name} {figure_text(row, f, 3)}' for name, f in (('SRCC', 'srcc'), ('PLCC', 'plcc'), ('KRCC', 'krcc'))
    )
    ax.set_title(f'{row.metric} on {row.dataset} (n={len(row.scores)})\n{figures}{turned}', fontsize=9)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(str(path))


def write_report(metrics: List[RunMetric], datasets: List[BenchDataset], out: Path) -> List[Row]:
    """The CSVs, scatter plots and ceiling plot of a run into ``out``; returns the rows."""
    out = Path(out)
    rows = [evaluate(metric, dataset, out) for metric in metrics for dataset in datasets]
    write_pyiqa_csv(rows, out / 'benchmark_results.csv')
    write_long_csv(rows, out / 'correlations.csv')
    for row in rows:
        if row.scores:
            scatter(row, out / f'scatter_{row.metric}_{row.dataset}.png')
    ceilings = {}
    for dataset in datasets:
        try:
            ceilings[dataset.name] = ceiling_table([item.mos for item in dataset.items], rule=CEILING_RULE)
        except ValueError:  # too few or all-equal MOS: no ceiling to draw
            continue
    if ceilings:
        plot_ceiling(ceilings, out / 'ceiling.png', title=CEILING_TITLE)
    return rows
