"""What ``score`` and ``explain`` print per image: its record, or why it has none."""

from pyiqa_llmiqa.errors import ImageLoadError, InputError


def record(image_path, assessment) -> dict:
    """The JSON object of one scored image: its path, then the assessment's fields."""
    return {'image': str(image_path), **assessment.to_dict()}


def failure(path, error: Exception) -> str:
    """Why one image has no score, naming the file."""
    if isinstance(error, ImageLoadError):
        return str(error)  # names the file already
    from pyiqa_llmiqa.engines.batching import BatchOutOfMemoryError  # loaded with the metric already

    if isinstance(error, (InputError, BatchOutOfMemoryError)):
        return f'{path}: {error}'
    return f'{path}: {type(error).__name__}: {error}'
