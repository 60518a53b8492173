"""Did-you-mean hints for names a user typed."""

import difflib
from typing import Iterable, List


def close_matches(name: str, choices: Iterable[str], n: int = 1) -> List[str]:
    """Up to ``n`` of ``choices`` closest to ``name``, closest first."""
    return difflib.get_close_matches(name, list(choices), n=n)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``''``."""
    close = close_matches(name, choices)
    return f' (did you mean {close[0]!r}?)' if close else ''
