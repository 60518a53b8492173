"""Reading image files the way llmiqa scores them: upright, 8-bit RGB, or a clear error."""
import os
from pathlib import Path
from typing import Iterable, List

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif')


class ImageLoadError(ValueError):
    """An image file cannot be scored; the message names the file and the reason."""


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB: 16-bit and 32-bit grey are scaled, not clipped; alpha is dropped."""
    if image.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith('I;16') or values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / top * 255 + 0.5, 0, 255).astype(np.uint8))
    return image.convert('RGB')


def load_image(path) -> Image.Image:
    """Open ``path`` as an upright (EXIF orientation applied) RGB image; the first frame of an
    animation. Raises ``ImageLoadError`` naming the file and the reason."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ImageLoadError(f'{path}: no such file')
    if os.path.isdir(path):
        raise ImageLoadError(f'{path}: is a folder, not an image file')
    if os.path.getsize(path) == 0:
        raise ImageLoadError(f'{path}: the file is empty')
    try:
        with Image.open(path) as image:
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except UnidentifiedImageError:
        raise ImageLoadError(f'{path}: not an image file that Pillow can read') from None
    except Image.DecompressionBombError as error:
        raise ImageLoadError(f'{path}: too many pixels to decode safely ({error})') from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(f'{path}: truncated or corrupt image data ({error})') from None


def find_images(paths: Iterable) -> List[Path]:
    """Files named in ``paths``, with folders expanded (recursively, sorted) to their image files.

    Files named directly are kept whatever their extension; in folders, only image extensions count.
    """
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob('*') if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS))
        else:
            found.append(path)
    return found
