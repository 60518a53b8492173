"""Adds the llmiqa metrics to pyiqa as soon as pyiqa is imported, in any program.

pyiqa's ``create_metric``, ``list_models`` and its ``pyiqa`` command read only ``DEFAULT_CONFIGS``,
so a plugin must add its entries before they are read. pip installs ``pyiqa_llmiqa_autoload.pth``
beside this module; Python runs it at start-up, and it only puts a finder on ``sys.meta_path``: no
torch, no pyiqa, nothing else is imported until a program imports ``pyiqa``. Then pyiqa imports as
usual and ``pyiqa_llmiqa.pyiqa_plugin.register`` runs right after it.

Set ``PYIQA_LLMIQA_NO_AUTOLOAD=1`` to turn it off (``import pyiqa_llmiqa`` still registers).
Start-up never fails because of this module: its errors are swallowed, and a registration that
fails is one warning when pyiqa is imported.
"""

import os
import sys

OPT_OUT = 'PYIQA_LLMIQA_NO_AUTOLOAD'


def _register() -> None:
    try:
        from pyiqa_llmiqa.pyiqa_plugin import register

        register()
    except Exception as error:  # pyiqa itself must stay usable
        import warnings

        warnings.warn(
            f'pyiqa-llmiqa: the llmiqa metrics were not added to pyiqa ({type(error).__name__}: '
            f'{error}); {OPT_OUT}=1 turns this off',
            RuntimeWarning,
            stacklevel=2,
        )


class _RegisterAfter:
    """pyiqa's own loader, with the registration run once pyiqa's module has executed."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _register()

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _WaitForPyiqa:
    """A ``sys.meta_path`` finder that answers only for ``pyiqa``, once, by asking the others."""

    def find_spec(self, name, path=None, target=None):
        if name != 'pyiqa':
            return None
        _remove()
        for finder in sys.meta_path:
            find = getattr(finder, 'find_spec', None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, 'exec_module'):
                    spec.loader = _RegisterAfter(spec.loader)
                return spec
        return None


def _remove() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _WaitForPyiqa)]


def register_when_pyiqa_imported() -> None:
    """Register right after ``import pyiqa`` (nothing if pyiqa is imported already); calling again is
    harmless."""
    if 'pyiqa' not in sys.modules and not any(isinstance(f, _WaitForPyiqa) for f in sys.meta_path):
        sys.meta_path.insert(0, _WaitForPyiqa())


def autoload() -> None:
    """What the ``.pth`` file runs at start-up: the hook, unless opted out; never an exception."""
    try:
        if not os.environ.get(OPT_OUT):
            register_when_pyiqa_imported()
    except Exception:
        pass
