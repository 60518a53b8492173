"""The benchmark table in the layout of the paper's main table, ready to paste: ``table.md`` and
``table.tex`` (booktabs).

Metrics are rows; each data set is a column group of SRCC and PLCC (and KRCC on request); the best
value of each column is bold (every metric that ties it once rounded); the last row is the ceiling
of K-level integer scoring (equal-width bins, as ``bench``'s ceiling plot) for the K of the llmiqa
metrics in the run; the caption gives the number of images of each data set. A cell without a
number says why: ``const.`` (constant predictions), ``n<3`` (too few scored images), ``no fit``
(the logistic fit of the fitted PLCC failed: no convergence, a flat curve or too few images; named once in the caption,
the ceiling row's too).
"""

import math
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

from pyiqa_llmiqa.bench.ceiling import ceiling, quantize
from pyiqa_llmiqa.bench.correlation import FitFailedWarning, krcc, plcc_fitted
from pyiqa_llmiqa.bench.datasets import BenchDataset
from pyiqa_llmiqa.bench.report import CEILING_RULE, CONSTANT, TOO_FEW, Row, figure_text, fit_note

NO_FIT = 'no fit'
LABELS = {'srcc': 'SRCC', 'plcc': 'PLCC', 'krcc': 'KRCC', 'plcc_fitted': 'PLCC (fit)'}


@dataclass
class Cell:
    """One figure as shown (``text``), its value (NaN when there is none), and whether it is its column's best."""

    text: str
    value: float
    best: bool = False


@dataclass
class PaperTable:
    """The table, independent of how it is written out."""

    datasets: List[BenchDataset]
    figures: List[str]  # per data set, in order: 'srcc', 'plcc' or 'plcc_fitted', and 'krcc' on request
    rows: Dict[str, List[Cell]]  # metric -> cells, data set by data set
    ceilings: Dict[int, List[Cell]]  # K -> cells
    caption: str
    notes: List[str] = field(default_factory=list)


def table_figures(krcc_too: bool = False, fitted_plcc: bool = False) -> List[str]:
    return ['srcc', 'plcc_fitted' if fitted_plcc else 'plcc'] + (['krcc'] if krcc_too else [])


def _ceiling_cells(mos: Sequence[float], levels: int, figures: List[str], digits: int) -> List[Cell]:
    """The figures of the MOS turned into ``levels`` integers, against the MOS."""
    try:
        values = dict(ceiling(mos, levels, CEILING_RULE))
        quantized = quantize(mos, levels, CEILING_RULE)
        values['krcc'] = krcc(quantized, mos)
        if 'plcc_fitted' in figures:
            with warnings.catch_warnings():  # a failed fit is told once, by the caption
                warnings.simplefilter('ignore', FitFailedWarning)
                values['plcc_fitted'] = plcc_fitted(quantized, mos)
    except ValueError:  # fewer than 3 or all-equal MOS: there is no ceiling
        return [Cell('--', math.nan) for _ in figures]
    # Levels and MOS both vary here, so only a failed logistic fit leaves a figure NaN.
    return [Cell(f'{values[f]:.{digits}f}' if math.isfinite(values[f]) else NO_FIT, values[f]) for f in figures]


def _mark_best(rows: Dict[str, List[Cell]], digits: int) -> None:
    """Bold the highest value of each column, and every value equal to it once rounded."""
    if not rows:
        return
    for column in range(len(next(iter(rows.values())))):
        cells = [cells[column] for cells in rows.values() if math.isfinite(cells[column].value)]
        if cells:
            best = max(round(c.value, digits) for c in cells)
            for c in cells:
                c.best = round(c.value, digits) == best


def paper_table(
    rows: List[Row],
    datasets: List[BenchDataset],
    levels: Sequence[int],
    krcc_too: bool = False,
    fitted_plcc: bool = False,
    digits: int = 3,
) -> PaperTable:
    """The table of ``rows`` (from ``report.evaluate``), with one ceiling row per K in ``levels``."""
    figures = table_figures(krcc_too, fitted_plcc)
    by_key = {(r.metric, r.dataset): r for r in rows}
    metrics = list(dict.fromkeys(r.metric for r in rows))
    cells = {}
    for metric in metrics:
        cells[metric] = []
        for dataset in datasets:
            row = by_key[(metric, dataset.name)]
            for f in figures:
                shown = figure_text(row, f, digits)
                numeric = not row.missing_why and not (f == 'plcc_fitted' and row.fit_failed)
                cells[metric].append(Cell(shown, row.figures[f] if numeric else math.nan))
    _mark_best(cells, digits)
    ceilings = {k: [] for k in levels}
    unfit = []  # the ceilings whose fitted PLCC is 'no fit'
    for k in levels:
        for d in datasets:
            ceiling_cells = _ceiling_cells([i.mos for i in d.items], k, figures, digits)
            ceilings[k] += ceiling_cells
            if any(c.text == NO_FIT for c in ceiling_cells):
                unfit.append(f'K = {k} on {d.name}')
    names = ' and '.join(LABELS[f] for f in figures)
    counts = ', '.join(f'{d.name} {len(d.items):,}' for d in datasets)
    caption = (
        f'{names} against MOS, best of each column in bold. Last row: the best any K-level integer '
        f'scorer can reach (MOS in K equal-width bins). Images: {counts}.'
    )
    failed = [f'{r.metric} {r.failed} on {r.dataset}' for r in rows if r.failed]
    notes = []
    if failed:
        notes.append(f'Failed images, left out of the figures: {", ".join(failed)}.')
    missing = {r.missing_why for r in rows}
    for short, long in (CONSTANT, TOO_FEW):
        if short in missing:
            notes.append(f'{short}: {long}.')
    if fitted_plcc and fit_note(rows):
        notes.append(fit_note(rows)[0].upper() + fit_note(rows)[1:] + '.')
    if unfit:
        notes.append(f'No fit in the ceiling row: its logistic fit failed for {", ".join(unfit)}.')
    return PaperTable(datasets, figures, cells, ceilings, caption, notes)


def _ceiling_label(k: int) -> str:
    return f'Ceiling, K = {k}'


def to_markdown(table: PaperTable) -> str:
    """A GitHub markdown table: a header cell per data set and figure, bold best values, the caption below."""
    header = ['Metric'] + [f'{d.name} {LABELS[f]}' for d in table.datasets for f in table.figures]
    lines = ['| ' + ' | '.join(header) + ' |', '|---' + '|---:' * (len(header) - 1) + '|']
    for metric, cells in table.rows.items():
        lines.append('| ' + ' | '.join([metric] + [f'**{c.text}**' if c.best else c.text for c in cells]) + ' |')
    for k, cells in table.ceilings.items():
        lines.append('| ' + ' | '.join([f'*{_ceiling_label(k)}*'] + [f'*{c.text}*' for c in cells]) + ' |')
    return '\n'.join(lines + ['', ' '.join([table.caption] + table.notes), ''])


LATEX_SPECIALS = {
    '\\': r'\textbackslash{}',
    '&': r'\&',
    '%': r'\%',
    '$': r'\$',
    '#': r'\#',
    '_': r'\_',
    '{': r'\{',
    '}': r'\}',
    '~': r'\textasciitilde{}',
    '^': r'\textasciicircum{}',
    '<': r'\textless{}',
    '>': r'\textgreater{}',
}


def latex_escape(text: str) -> str:
    return ''.join(LATEX_SPECIALS.get(ch, ch) for ch in text)


def _latex_cell(cell: Cell) -> str:
    if not math.isfinite(cell.value):
        return latex_escape(cell.text)
    text = cell.text.replace('-', '$-$')  # a number's minus sign, set in math mode
    return rf'\textbf{{{text}}}' if cell.best else text


def to_latex(table: PaperTable, label: str = 'tab:bench') -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    per = len(table.figures)
    spec = 'l' + ''.join(' ' + 'c' * per for _ in table.datasets)
    groups = ' & '.join(rf'\multicolumn{{{per}}}{{c}}{{{latex_escape(d.name)}}}' for d in table.datasets)
    rules = ' '.join(rf'\cmidrule(lr){{{2 + i * per}-{1 + (i + 1) * per}}}' for i in range(len(table.datasets)))
    names = ' & '.join(LABELS[f] for _ in table.datasets for f in table.figures)
    lines = [
        r'\begin{table}[t]',
        r'\centering',
        rf'\caption{{{latex_escape(" ".join([table.caption] + table.notes))}}}',
        rf'\label{{{label}}}',
        rf'\begin{{tabular}}{{{spec}}}',
        r'\toprule',
        rf' & {groups} \\',
        rules,
        rf'Metric & {names} \\',
        r'\midrule',
    ]
    for metric, cells in table.rows.items():
        lines.append(' & '.join([latex_escape(metric)] + [_latex_cell(c) for c in cells]) + r' \\')
    if table.ceilings:
        lines.append(r'\midrule')
    for k, cells in table.ceilings.items():
        lines.append(' & '.join([rf'\textit{{Ceiling}} ($K = {k}$)'] + [_latex_cell(c) for c in cells]) + r' \\')
    lines += [r'\bottomrule', r'\end{tabular}', r'\end{table}', '']
    return '\n'.join(lines)
