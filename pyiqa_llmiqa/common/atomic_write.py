"""Replacing a file so that a reader, or a crash, sees the old content or the new one, never a part.

The text goes to a temporary file in the same folder (so the rename stays on one file system), is
flushed and fsynced, and only then renamed over the target with ``os.replace``. On any error the
temporary file is removed and the target is left as it was.
"""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO, Union


@contextmanager
def atomic_write(path: Union[str, os.PathLike]) -> Iterator[TextIO]:
    """A text handle (UTF-8) whose content replaces ``path`` when the block ends without an error."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name[:32]}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            os.chmod(temporary, 0o644)  # mkstemp makes it owner-only; the target is an ordinary file
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
