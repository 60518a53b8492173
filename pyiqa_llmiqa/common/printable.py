"""How a file name is written in output: one escaping, so every name fits on one line of any text.

A name is bytes to the file system. Bytes that are not valid in its encoding (UTF-8 almost everywhere)
reach Python as lone surrogates, which a strict UTF-8 stream refuses to write; a newline or tab splits
a line or a tab-separated column. ``printable_path`` writes the first as ``\\xNN`` (Python's
``backslashreplace`` of the name's bytes) and control characters as Python escapes (``\\n``, ``\\t``,
``\\x1b``). Other names, Windows paths with their backslashes among them, are written as they are.
"""

import os
import re
import sys

# C0 and C1 controls, DEL, and the two Unicode line breaks that str.splitlines() also splits at
_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029]')


def printable_path(path) -> str:
    """``path`` (str, bytes or os.PathLike) as text that any stream can write on one line."""
    text = os.fsencode(path).decode(sys.getfilesystemencoding(), 'backslashreplace')
    return _CONTROL.sub(lambda match: match.group().encode('unicode_escape').decode('ascii'), text)
