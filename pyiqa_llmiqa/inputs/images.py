"""What llmiqa scores, and how every input becomes it: an upright 8-bit RGB PIL image, or a clear error.

Inputs are image files (``load_image``), PIL images (``to_rgb``) and float tensors (N, 3 or 1, H, W)
in [0, 1] (``check_tensor``, ``tensor_to_images``). ``pyiqa.create_metric('llmiqa...')(x)`` takes
all three through pyiqa's ``InferenceModel``, which turns a path into a tensor with
``imread2tensor`` (no EXIF orientation; Pillow's own traceback on bad files): for llmiqa metrics
only, ``pyiqa_plugin`` sends paths through ``load_image``, PIL images through ``to_rgb``, and
checks tensors before pyiqa's assertions. Every other metric keeps pyiqa's behaviour.

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

from pyiqa_llmiqa.errors import ImageLoadError, InputError

MODEL_MAX_PIXELS = 4096 * 4096
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif')


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
        raise ImageLoadError(
            f'{path}: too many pixels to decode safely ({error}); raise PIL.Image.MAX_IMAGE_PIXELS to allow it'
        ) from None
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


def check_tensor(x) -> None:
    """Raise ``InputError`` unless ``x`` is a float tensor (N, 1 or 3, H, W) in [0, 1], free of NaN."""
    import torch

    if not torch.is_tensor(x) or x.dim() != 4 or x.shape[1] not in (1, 3):
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise InputError(f'expected a float tensor of shape (N, 3, H, W) or (N, 1, H, W); got {shape}')
    if not torch.is_floating_point(x):
        raise InputError(f'expected a float tensor in [0, 1]; got dtype {x.dtype}')
    if x.numel() == 0:
        raise InputError(f'the input tensor is empty; got shape {tuple(x.shape)}')
    low, high = torch.aminmax(x.detach())  # both NaN when any value is
    if torch.isnan(low):
        raise InputError('the input tensor holds NaN values')
    if low < 0 or high > 1:
        raise InputError(f'the input tensor must lie in [0, 1]; got min {low:.4f}, max {high:.4f}')


def tensor_to_images(x) -> List[Image.Image]:
    """(N, C, H, W) floats in [0, 1], C = 1 or 3, to RGB PIL images (exact for 8-bit sources)."""
    import torch

    check_tensor(x)
    pixels = (x.detach().float() * 255).round_().to(torch.uint8).expand(-1, 3, -1, -1)
    return [Image.fromarray(p.permute(1, 2, 0).cpu().numpy()) for p in pixels]


def to_batched_tensor(image: Image.Image):
    """(1, 3, H, W) float tensor in [0, 1] of an image; llmiqa reads back the same 8-bit pixels."""
    import torch

    pixels = torch.from_numpy(np.array(to_rgb(image)))
    return pixels.permute(2, 0, 1).unsqueeze(0).float().div_(255)
