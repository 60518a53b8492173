"""Everything a bench run writes from its stored results: the CSVs, table.md and table.tex (the
paper's layout), the plots and report.html. ``bench`` writes them at its end, ``report DIR`` again."""

from pathlib import Path

from pyiqa_llmiqa.bench.html_report import write_html
from pyiqa_llmiqa.bench.manifest import read_manifest
from pyiqa_llmiqa.bench.report import write_report
from pyiqa_llmiqa.bench.tables import paper_table, to_latex, to_markdown
from pyiqa_llmiqa.config.options import LLMIQAOptions, OptionError


def write_outputs(out: Path, krcc: bool = False, fitted_plcc: bool = False, digits: int = 3, worst: int = 4):
    """Every table, plot and the report of the run stored in ``out``; returns the rows."""
    if digits < 1:
        raise OptionError(f'--digits must be at least 1, got {digits}')
    out = Path(out)
    metrics, datasets = read_manifest(out)
    rows = write_report(metrics, datasets, out)
    levels = sorted({m.levels for m in metrics if m.levels}) or [LLMIQAOptions.levels]
    table = paper_table(rows, datasets, levels, krcc, fitted_plcc, digits)
    (out / 'table.md').write_text(to_markdown(table), encoding='utf-8')
    (out / 'table.tex').write_text(to_latex(table), encoding='utf-8')
    write_html(metrics, datasets, rows, table, out, worst)
    return rows
