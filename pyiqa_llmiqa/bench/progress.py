"""The progress bar of a scoring run: images per second and time left, on the main process only."""

from typing import Iterable

from tqdm import tqdm


def progress(items: Iterable, desc: str, shown: bool) -> tqdm:
    """A bar over ``items`` that follows the terminal's width; ``shown`` False draws nothing."""
    return tqdm(items, desc=desc, unit='img', dynamic_ncols=True, disable=not shown)
