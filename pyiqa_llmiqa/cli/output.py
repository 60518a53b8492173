"""What ``score`` and ``explain`` print per image: its record, or why it has none. File names are
written by ``printable_path``, the same way everywhere, and no name can end a run."""

import io

from pyiqa_llmiqa.common.printable import printable_path
from pyiqa_llmiqa.errors import ImageLoadError, InputError


def record(image_path, assessment) -> dict:
    """The JSON object of one scored image: its path, then the assessment's fields."""
    return {'image': printable_path(image_path), **assessment.to_dict()}


def failure(path, error: Exception) -> str:
    """Why one image has no score, naming the file."""
    if isinstance(error, ImageLoadError):
        return str(error)  # names the file already
    from pyiqa_llmiqa.engines.batching import BatchOutOfMemoryError  # loaded with the metric already

    if isinstance(error, (InputError, BatchOutOfMemoryError)):
        return f'{printable_path(path)}: {error}'
    return f'{printable_path(path)}: {type(error).__name__}: {error}'


def write_leniently(stream) -> None:
    """Have ``stream`` write what its encoding lacks as backslash escapes, rather than raise."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors='backslashreplace')
