"""The `pyiqa-llmiqa` command: score, explain, bench, ceiling and helpers, one module each.

Building the parser imports no torch, transformers or pyiqa: each command imports what it runs.
What the user can fix is printed as ``error: ...`` (exit status 2), a warning as ``warning: ...``
without the source line Python would add; anything else is a bug and keeps its traceback.
"""

import argparse
import importlib
import os
import sys
import warnings

import pyiqa_llmiqa
from pyiqa_llmiqa.errors import LLMIQAError

COMMANDS = ('score', 'explain', 'bench', 'report', 'ceiling', 'convert_agiqa', 'options', 'demo')
DEPENDENCIES = ('pyiqa', 'torch', 'transformers', 'sam2')  # their versions, for --version


def version_text() -> str:
    """This package's version and those of the packages it runs on (read without importing them)."""
    from importlib import metadata

    def installed(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return 'not installed'

    return f'pyiqa-llmiqa {pyiqa_llmiqa.__version__} (' + ', '.join(f'{n} {installed(n)}' for n in DEPENDENCIES) + ')'


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='pyiqa-llmiqa',
        description='Standard-guided, mix-grained image quality assessment with multimodal LLMs.',
    )
    parser.add_argument('--version', action='version', version=version_text())
    subparsers = parser.add_subparsers(dest='command', required=True)
    for name in COMMANDS:
        importlib.import_module(f'pyiqa_llmiqa.cli.commands.{name}').add_parser(subparsers)
    return parser


def show_warnings_once():
    """A ``warnings.showwarning`` that prints ``warning: MESSAGE``, without the file, line and source
    Python adds, and each message once (libraries reset Python's own record of what was shown)."""
    shown = set()

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if (category, str(message)) not in shown:
            shown.add((category, str(message)))
            print(f'warning: {message}', file=file or sys.stderr)

    return showwarning


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    showwarning, warnings.showwarning = warnings.showwarning, show_warnings_once()
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped (`options | head`): nothing to say, as for any filter
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit fails too
        return 141  # what a shell reports for a program ended by SIGPIPE
    except (LLMIQAError, OSError) as error:  # what the user can fix: one line; anything else is a bug
        print(f'error: {error}', file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = showwarning


if __name__ == '__main__':
    sys.exit(main())
