"""pyiqa-llmiqa report DIR: rebuild the tables and report.html of a bench run from its stored results.

Reads DIR/run.json (written by bench) and the JSON lines under DIR/predictions; scores nothing.
Writes benchmark_results.csv, correlations.csv, table.md, table.tex (booktabs: metrics as rows, data
sets as column groups, best in bold, the K-level ceiling last), the scatter and ceiling plots, and
report.html (one self-contained page: tables, plots, the images llmiqa ranks worst, failures, options).
"""

import argparse
import sys
from pathlib import Path

from pyiqa_llmiqa.cli.report_args import add_table_arguments, build_from_args


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


def run(args) -> int:
    from pyiqa_llmiqa.bench.report import markdown

    rows = build_from_args(args, Path(args.dir))
    print(markdown(rows))
    print(f'tables and report in {args.dir}: table.md, table.tex, report.html', file=sys.stderr)
    return 0
