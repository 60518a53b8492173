"""Reading image files the way llmiqa scores them: upright, 8-bit RGB, or a clear error.

Pixel limits. Reading: Pillow's own. Images of up to ``2 * PIL.Image.MAX_IMAGE_PIXELS`` pixels
(about 179 million by default, e.g. 16000x11000; 0.5 GB as RGB) are read without Pillow's
decompression-bomb warning; larger ones are refused before decoding (raise
``PIL.Image.MAX_IMAGE_PIXELS`` to allow them). Scoring: an image or region of more than
``MODEL_MAX_PIXELS`` (4096x4096) is downscaled to that many (``fit_pixels``) before the model's
processor sees it, which bounds time and memory; processors resize to fewer anyway (Qwen2.5-VL:
12.8 million at most).
"""
import math
import os
import warnings
from pathlib import Path
from typing import Iterable, List

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

MODEL_MAX_PIXELS = 4096 * 4096
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif')


class ImageLoadError(ValueError):
    """An image file cannot be scored; the message names the file and the reason."""


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB: 16-bit and 32-bit grey are scaled, not clipped; alpha is dropped."""
    if image.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith('I;16') or values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / top * 255 + 0.5, 0, 255).astype(np.uint8))
    return image.convert('RGB')


def load_image(path) -> Image.Image:
    """Open ``path`` as an upright (EXIF orientation applied) RGB image; the first frame of an
    animation. Raises ``ImageLoadError`` naming the file and the reason; a truncated file is an
    error even where Pillow's ``LOAD_TRUNCATED_IMAGES`` is on."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ImageLoadError(f'{path}: no such file')
    if os.path.isdir(path):
        raise ImageLoadError(f'{path}: is a folder, not an image file')
    if os.path.getsize(path) == 0:
        raise ImageLoadError(f'{path}: the file is empty')
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # pyiqa's AVA dataset module turns it on for everyone
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.seek(0)
                image.load()
                image = ImageOps.exif_transpose(image)
                return to_rgb(image)
    except UnidentifiedImageError:
        raise ImageLoadError(f'{path}: not an image file that Pillow can read') from None
    except Image.DecompressionBombError as error:
        raise ImageLoadError(f'{path}: too many pixels to decode safely ({error}); raise '
                             'PIL.Image.MAX_IMAGE_PIXELS to allow it') from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(f'{path}: truncated or corrupt image data ({error})') from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def fit_pixels(image: Image.Image, box=None, max_pixels: int = MODEL_MAX_PIXELS) -> Image.Image:
    """``image``, or its ``box`` (x0, y0, x1, y1), downscaled (antialiased, same aspect ratio) to at
    most ``max_pixels`` pixels; cut out unchanged when it has no more."""
    x0, y0, x1, y1 = box or (0, 0, image.width, image.height)
    width, height = x1 - x0, y1 - y0
    if width * height <= max_pixels:
        return image if (width, height) == image.size else image.crop((x0, y0, x1, y1))
    scale = math.sqrt(max_pixels / (width * height))
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return image.resize(size, Image.BICUBIC, box=(x0, y0, x1, y1))


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
