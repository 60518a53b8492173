"""Warnings a user acts on, shown once per process and without a line of this package's source.

Python prints a warning with the source line of the call it names; for a warning about the user's
setup (a 7B model on a CPU, a broken presets file) that line is this package's code, not theirs,
and registering the presets from several hooks would repeat it. Filters still apply: ``-W error``
or ``warnings.simplefilter('ignore')`` act on these as on any warning.
"""

import warnings

WHERE = 'pyiqa-llmiqa'  # the "file" a notice names: no such source file, so no source line is printed
_shown = set()


def warn_once(message: str, category=UserWarning) -> None:
    """Warn with ``message`` unless it was shown already in this process."""
    if (message, category) in _shown:
        return
    _shown.add((message, category))
    # registry=None: a fresh registry each call, so only ``_shown`` decides what is repeated
    warnings.warn_explicit(message, category, WHERE, 0, module='pyiqa_llmiqa')


def plural(count: int, noun: str) -> str:
    """``1 mask``, ``2 masks``: a count with its noun."""
    return f'{count} {noun}' + ('' if count == 1 else 's')
