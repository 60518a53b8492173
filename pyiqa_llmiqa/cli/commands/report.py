"""pyiqa-llmiqa report DIR: rebuild the tables and report.html of a bench run from its stored results.

Reads DIR/run.json (written by bench) and the JSON lines under DIR/predictions; scores nothing.
Writes benchmark_results.csv, correlations.csv, table.md, table.tex (booktabs: metrics as rows, data
sets as column groups, best in bold, the K-level ceiling last), the scatter and ceiling plots, and
report.html (one self-contained page: tables, plots, the images llmiqa ranks worst, failures, options).

pyiqa-llmiqa report FILE.jsonl: the page of a collection scored by score --out FILE.jsonl, written to
FILE.html: the score histogram, the --worst N lowest and highest scored images and the N the model was
least sure of (with their regions drawn), and the failed files with their reasons.
"""

import argparse
import sys
from pathlib import Path

from pyiqa_llmiqa.cli.report_args import add_table_arguments, build_from_args


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'report',
        help='rebuild the tables and report.html of a bench run, or the page of a score --out file',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('dir', metavar='DIR', help='the --out folder of a bench run, or the --out FILE.jsonl of score')
    add_table_arguments(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    if args.dir.endswith('.jsonl'):
        from pyiqa_llmiqa.bench.collection_report import write_collection_html

        print(f'page in {write_collection_html(Path(args.dir), args.worst)}', file=sys.stderr)
        return 0
    from pyiqa_llmiqa.bench.report import markdown

    rows = build_from_args(args, Path(args.dir))
    print(markdown(rows))
    print(f'tables and report in {args.dir}: table.md, table.tex, report.html', file=sys.stderr)
    return 0
