"""ceiling: the best (SRCC + PLCC) / 2 any K-level integer scorer can reach.

Reads one or more pyiqa meta-info CSVs and prints the paper's Table 1 for
them: one row per file (data set name from the file name), one column per K.
"""

from __future__ import annotations

import argparse
import json
import sys

from pyiqa_llmiqa.bench.ceiling import DEFAULT_LEVELS, RULES, ceiling_table, plot_ceiling
from pyiqa_llmiqa.bench.meta_info import MetaInfoError, dataset_name, read_meta_info

NAME = 'ceiling'
HELP = 'ceiling of K-level integer scoring (paper Table 1) from MOS files'


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``ceiling`` subcommand on an argparse ``_SubParsersAction``."""
    parser = subparsers.add_parser(
        NAME, help=HELP, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sources = parser.add_mutually_exclusive_group(required=True)
    sources.add_argument(
        '--meta-info',
        metavar='CSV',
        nargs='+',
        action='extend',
        dest='meta_info',
        help='pyiqa meta-info CSVs (name, MOS), one per data set',
    )
    sources.add_argument(
        '--dataset',
        metavar='NAME_OR_YAML',
        nargs='+',
        help="data sets as bench takes them (pyiqa names or options YAMLs): their test split's MOS",
    )
    parser.add_argument('--data-root', metavar='DIR', help='with --dataset: the folder that stands for ./datasets')
    parser.add_argument(
        '--levels',
        metavar='K',
        type=int,
        nargs='+',
        default=list(DEFAULT_LEVELS),
        help='numbers of integer levels (default: %(default)s)',
    )
    parser.add_argument(
        '--rule',
        choices=RULES,
        default='equal_width',
        help='MOS -> level rule: equal_width bins, level = ceil(K (m - min) / '
        '(max - min)); or minmax_round, round(1 + (K - 1) (m - min) / '
        '(max - min)) (default: %(default)s)',
    )
    parser.add_argument(
        '--json', action='store_true', help='print JSON (srcc, plcc, value per data set and K) instead of a table'
    )
    parser.add_argument('--plot', metavar='PNG', default=None, help='also save a plot of the ceiling against K')
    parser.set_defaults(run=run)
    return parser


def _unique_names(paths):
    names, seen = [], {}
    for p in paths:
        base = dataset_name(p)
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f'{base} ({seen[base]})')
    return names


def format_table(table, levels) -> str:
    """A markdown table: rows = data sets, columns = K, 4 decimals."""
    lines = ['| data set | n | ' + ' | '.join(f'K={k}' for k in levels) + ' |', '|---|---|' + '---|' * len(levels)]
    for name, entry in table.items():
        cells = [f'{entry["by_k"][k]["value"]:.4f}' for k in levels]
        lines.append(f'| {name} | {entry["n"]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _mos_sources(args):
    """(name, source, MOS list) for each meta-info file or data set named in ``args``."""
    if args.dataset:
        from pyiqa_llmiqa.bench.datasets import load_datasets

        return [
            (d.name, spec, [item.mos for item in d.items])
            for spec in args.dataset
            for d in load_datasets([spec], args.data_root)
        ]
    return [
        (name, str(path), [m for _, m in read_meta_info(path)])
        for name, path in zip(_unique_names(args.meta_info), args.meta_info)
    ]


def run(args) -> int:
    """Print the table; 0 on success, 2 on a bad file or argument."""
    levels = list(dict.fromkeys(args.levels))
    table = {}
    try:
        for name, source, mos in _mos_sources(args):
            table[name] = {'file': source, 'n': len(mos), 'by_k': ceiling_table(mos, levels, rule=args.rule)}
    except (MetaInfoError, ValueError) as exc:
        print(f'pyiqa-llmiqa ceiling: error: {exc}', file=sys.stderr)
        return 2
    if args.json:
        out = {
            'rule': args.rule,
            'levels': levels,
            'datasets': {
                name: {'file': e['file'], 'n': e['n'], 'ceiling': {str(k): v for k, v in e['by_k'].items()}}
                for name, e in table.items()
            },
        }
        print(json.dumps(out, indent=2))
    else:
        print(f'(SRCC + PLCC) / 2 of MOS turned into K integers, rule {args.rule}')
        print(format_table(table, levels))
    if getattr(args, 'plot', None):
        try:
            out_png = plot_ceiling(
                {n: e['by_k'] for n, e in table.items()}, args.plot, title=f'K-level ceiling ({args.rule})'
            )
        except OSError as exc:
            print(f'pyiqa-llmiqa ceiling: error: cannot write {args.plot}: {exc}', file=sys.stderr)
            return 2
        print(f'plot saved to {out_png}', file=sys.stderr)
    return 0
