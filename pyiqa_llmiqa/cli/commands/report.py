"""pyiqa-llmiqa report DIR: rebuild the tables and report.html of a bench run from its stored results.

Reads DIR/run.json (written by bench) and the JSON lines under DIR/predictions; scores nothing.
Writes benchmark_results.csv, correlations.csv, table.md, table.tex (booktabs: metrics as rows, data
sets as column groups, best in bold, the K-level ceiling last), the scatter and ceiling plots, and
report.html (one self-contained page: tables, plots, the images llmiqa ranks worst, failures, options).
"""

import argparse
import sys
from pathlib import Path


def add_table_arguments(parser) -> None:
    """The options of the tables and the report (shared with ``bench``)."""
    parser.add_argument('--krcc', action='store_true', help='add KRCC to SRCC and PLCC in table.md / table.tex')
    parser.add_argument(
        '--fitted-plcc',
        action='store_true',
        help="the tables' PLCC after pyiqa's 4-parameter logistic fit (default: no fitting, "
        'as the paper and pyiqa report it)',
    )
    parser.add_argument('--digits', type=int, default=3, metavar='N', help='decimals in the tables (default: 3)')
    parser.add_argument(
        '--worst',
        type=int,
        default=4,
        metavar='N',
        help='llmiqa images with the largest rank error shown per data set (default: 4)',
    )


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'report',
        help='rebuild the tables and report.html of a bench run',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('dir', metavar='DIR', help='the --out folder of a bench run')
    add_table_arguments(parser)
    parser.set_defaults(run=run)


def build(out: Path, krcc: bool = False, fitted_plcc: bool = False, digits: int = 3, worst: int = 4):
    """Every table, plot and the report of the run stored in ``out``; returns the rows."""
    from pyiqa_llmiqa.bench.html_report import write_html
    from pyiqa_llmiqa.bench.manifest import read_manifest
    from pyiqa_llmiqa.bench.report import write_report
    from pyiqa_llmiqa.bench.tables import paper_table, to_latex, to_markdown
    from pyiqa_llmiqa.config.options import LLMIQAOptions

    if digits < 1:
        raise ValueError(f'--digits must be at least 1, got {digits}')
    out = Path(out)
    metrics, datasets = read_manifest(out)
    rows = write_report(metrics, datasets, out)
    levels = sorted({m.levels for m in metrics if m.levels}) or [LLMIQAOptions.levels]
    table = paper_table(rows, datasets, levels, krcc, fitted_plcc, digits)
    (out / 'table.md').write_text(to_markdown(table), encoding='utf-8')
    (out / 'table.tex').write_text(to_latex(table), encoding='utf-8')
    write_html(metrics, datasets, rows, table, out, worst)
    return rows


def build_from_args(args, out: Path):
    return build(out, args.krcc, args.fitted_plcc, args.digits, args.worst)


def run(args) -> int:
    from pyiqa_llmiqa.bench.report import markdown

    rows = build_from_args(args, Path(args.dir))
    print(markdown(rows))
    print(f'tables and report in {args.dir}: table.md, table.tex, report.html', file=sys.stderr)
    return 0
