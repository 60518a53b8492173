"""The `pyiqa-llmiqa` command: score, explain, bench, ceiling and helpers, one module each.

Building the parser imports no torch, transformers or pyiqa: each command imports what it runs.
"""

import argparse
import importlib
import sys

from pyiqa_llmiqa.errors import LLMIQAError

COMMANDS = ('score', 'explain', 'bench', 'report', 'ceiling', 'convert_agiqa', 'options')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='pyiqa-llmiqa',
        description='Standard-guided, mix-grained image quality assessment with multimodal LLMs.',
    )
    subparsers = parser.add_subparsers(dest='command', required=True)
    for name in COMMANDS:
        importlib.import_module(f'pyiqa_llmiqa.cli.commands.{name}').add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except (LLMIQAError, OSError) as error:  # what the user can fix: one line; anything else is a bug
        print(f'error: {error}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
