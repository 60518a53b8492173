"""The command-line options of the tables and the report, shared by ``bench`` and ``report``."""

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


def build_from_args(args, out: Path):
    from pyiqa_llmiqa.bench.outputs import write_outputs

    return write_outputs(out, args.krcc, args.fitted_plcc, args.digits, args.worst)
