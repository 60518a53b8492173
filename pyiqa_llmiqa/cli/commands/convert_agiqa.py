"""convert-agiqa: AGIQA-3K's published data.csv -> pyiqa NR meta-info CSV.

Keeps the columns name and mos_quality and writes them as name,mos,
the layout pyiqa's GeneralNRDataset reads.
"""

from __future__ import annotations

import argparse
import sys

from pyiqa_llmiqa.bench.meta_info import MetaInfoError, convert_agiqa

NAME = 'convert-agiqa'
HELP = "convert AGIQA-3K's data.csv into a pyiqa meta-info CSV (name,mos)"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``convert-agiqa`` subcommand on an argparse ``_SubParsersAction``."""
    parser = subparsers.add_parser(
        NAME, help=HELP, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('data_csv', metavar='DATA_CSV', help="AGIQA-3K's published data.csv")
    parser.add_argument('out_csv', metavar='OUT_CSV', help='meta-info CSV to write (name,mos)')
    parser.set_defaults(run=run)
    return parser


def run(args) -> int:
    """Convert; 0 on success, 2 on a bad input file or unwritable output."""
    try:
        n = convert_agiqa(args.data_csv, args.out_csv)
    except MetaInfoError as exc:
        print(f'pyiqa-llmiqa convert-agiqa: error: {exc}', file=sys.stderr)
        return 2
    except OSError as exc:
        print(f'pyiqa-llmiqa convert-agiqa: error: cannot write {args.out_csv}: {exc.strerror or exc}', file=sys.stderr)
        return 2
    print(f'wrote {n} rows to {args.out_csv}')
    return 0
