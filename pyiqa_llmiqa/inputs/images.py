"""What llmiqa scores, and how every input becomes it: an upright 8-bit RGB PIL image, or a clear error.

Inputs are image files (``load_image``), PIL images (``to_rgb``) and float tensors (N, 3 or 1, H, W)
in [0, 1] (``check_tensor``, ``tensor_to_images``). ``pyiqa.create_metric('llmiqa...')(x)`` takes
all three through pyiqa's ``InferenceModel``, which turns a path into a tensor with
``imread2tensor`` (no EXIF orientation; Pillow's own traceback on bad files): for llmiqa metrics
only, ``pyiqa_plugin`` sends paths through ``load_image``, PIL images through ``to_rgb``, and
checks tensors before pyiqa's assertions. Every other metric keeps pyiqa's behaviour.

Pixel values. 16-bit grey is scaled by 65535, 32-bit integer grey by 255 (by 65535 if a value
exceeds 255), both to 8 bits; 32-bit float grey (mode ``F``, e.g. a float TIFF) is read as a float
tensor is: values in [0, 1], scaled by 255; one with NaN or a value outside [0, 1] is refused
(``InputError``) rather than clipped, which would score it as black. An empty (0x0) image is refused.

Files. Only a regular, non-empty file is opened (``check_file``): a FIFO, device or socket, a
symbolic link loop and a missing file each get their own reason. Errors name the file as
``printable_path`` writes it (undecodable bytes and control characters escaped).

Pixel limits. Reading: Pillow's own. Images of up to ``2 * PIL.Image.MAX_IMAGE_PIXELS`` pixels
(about 179 million by default, e.g. 16000x11000; 0.5 GB as RGB) are read without Pillow's
decompression-bomb warning; larger ones are refused before decoding (raise
``PIL.Image.MAX_IMAGE_PIXELS`` to allow them). Scoring: an image or region of more than
``MODEL_MAX_PIXELS`` (4096x4096) is downscaled to that many (``fit_pixels``) before the model's
processor sees it, which bounds time and memory; processors resize to fewer anyway (Qwen2.5-VL:
12.8 million at most). Downscaling never makes the aspect ratio more extreme (``fitted_size``), so an
image or region that passes the ratio check (``segment.regions.too_thin``) still passes it after.
"""

import math
import os
import stat
import warnings
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from pyiqa_llmiqa.common.printable import printable_path
from pyiqa_llmiqa.errors import ImageLoadError, InputError

MODEL_MAX_PIXELS = 4096 * 4096
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif')


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB: 16-bit and 32-bit grey are scaled, not clipped; 32-bit float grey (mode ``F``) is
    taken as [0, 1] like a float tensor and scaled by 255, anything else in it is refused; alpha is
    dropped. Raises ``InputError`` for an empty image or a mode Pillow cannot turn into RGB."""
    if image.width == 0 or image.height == 0:
        raise InputError(f'the image is empty ({image.width}x{image.height} pixels)')
    if image.mode == 'F':
        image = Image.fromarray(_unit_floats_to_bytes(np.asarray(image, dtype=np.float32)))
    if image.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith('I;16') or values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / top * 255 + 0.5, 0, 255).astype(np.uint8))
    try:
        return image.convert('RGB')
    except ValueError:  # e.g. mode La (premultiplied alpha)
        raise InputError(f'an image of mode {image.mode} cannot be converted to RGB') from None


def _unit_floats_to_bytes(values: np.ndarray) -> np.ndarray:
    """float32 grey in [0, 1] to uint8, rounded as ``tensor_to_images`` rounds; ``InputError`` otherwise."""
    low, high = values.min(), values.max()  # NaN when any value is
    if np.isnan(low) or np.isnan(high):
        raise InputError('the float image (mode F) holds NaN values')
    if low < 0 or high > 1:
        raise InputError(
            f'a float image (mode F) must lie in [0, 1], as float tensors do; got min {low:.4g}, max {high:.4g}'
        )
    return np.round(values * np.float32(255)).astype(np.uint8)


def check_file(path) -> None:
    """Raise ``ImageLoadError`` unless ``path`` is a regular file (symbolic links followed) that is
    not empty: this costs one ``stat``, so a command can refuse such paths before any model loads,
    and a FIFO is never opened (which would wait for a writer)."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        link = ' (a symbolic link to a missing file)' if os.path.islink(path) else ''
        raise ImageLoadError(f'{printable_path(path)}: no such file{link}') from None
    except OSError as error:  # a symbolic link loop, a folder without permission, a name too long
        raise ImageLoadError(f'{printable_path(path)}: cannot be read ({error.strerror})') from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageLoadError(f'{printable_path(path)}: is a folder, not an image file')
    if not stat.S_ISREG(info.st_mode):
        raise ImageLoadError(f'{printable_path(path)}: not a regular file but {_file_kind(info.st_mode)}')
    if info.st_size == 0:
        raise ImageLoadError(f'{printable_path(path)}: the file is empty')


def _file_kind(mode: int) -> str:
    kinds = [(stat.S_ISFIFO, 'a FIFO (named pipe)'), (stat.S_ISSOCK, 'a socket')]
    kinds += [(stat.S_ISCHR, 'a character device'), (stat.S_ISBLK, 'a block device')]
    return next((kind for test, kind in kinds if test(mode)), 'a special file')


def load_image(path) -> Image.Image:
    """Open ``path`` as an upright (EXIF orientation applied) RGB image; the first frame of an
    animation. Raises ``ImageLoadError`` naming the file (``printable_path``) and the reason; a
    truncated file is an error even where Pillow's ``LOAD_TRUNCATED_IMAGES`` is on."""
    path = os.fspath(path)
    check_file(path)
    name = printable_path(path)
    try:
        handle = open(path, 'rb')
    except OSError as error:  # no permission, or the file went away since check_file
        raise ImageLoadError(f'{name}: cannot be opened ({error.strerror})') from None
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # pyiqa's AVA dataset module turns it on for everyone
    try:
        with handle, warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(handle) as image:
                image.seek(0)
                image.load()
                image = ImageOps.exif_transpose(image)
                return to_rgb(image)
    except UnidentifiedImageError:
        raise ImageLoadError(f'{name}: not an image file that Pillow can read') from None
    except Image.DecompressionBombError as error:
        raise ImageLoadError(
            f'{name}: too many pixels to decode safely ({error}); raise PIL.Image.MAX_IMAGE_PIXELS to allow it'
        ) from None
    except InputError as error:  # decoded, but pixels that llmiqa does not score
        raise ImageLoadError(f'{name}: {error}') from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(f'{name}: truncated or corrupt image data ({error})') from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def fit_pixels(image: Image.Image, box=None, max_pixels: int = MODEL_MAX_PIXELS) -> Image.Image:
    """``image``, or its ``box`` (x0, y0, x1, y1), downscaled (antialiased) to ``fitted_size``; cut
    out unchanged when it has no more than ``max_pixels`` pixels."""
    x0, y0, x1, y1 = box or (0, 0, image.width, image.height)
    width, height = x1 - x0, y1 - y0
    if width * height <= max_pixels:
        return image if (width, height) == image.size else image.crop((x0, y0, x1, y1))
    return image.resize(fitted_size(width, height, max_pixels), Image.BICUBIC, box=(x0, y0, x1, y1))


def fitted_size(width: int, height: int, max_pixels: int = MODEL_MAX_PIXELS) -> Tuple[int, int]:
    """The size a ``width`` x ``height`` picture is downscaled to: at most ``max_pixels`` pixels (but
    a side of at least 1), and the long side never more times the short one than before, so an
    aspect-ratio limit that the original meets still holds (rounding both sides down could break it:
    60000x300 would become 57926x289, a ratio of 200.4)."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    long, short = max(width, height), min(width, height)
    short_fitted = max(1, int(short * scale))
    long_fitted = min(max(1, int(long * scale)), short_fitted * long // short)
    return (long_fitted, short_fitted) if width >= height else (short_fitted, long_fitted)


def find_images(paths: Iterable, skipped: Optional[List[Path]] = None) -> List[Path]:
    """Files named in ``paths``, with folders expanded (recursively, sorted) to their image files.

    Files named directly are kept whatever their extension or kind (``load_image`` says what is
    wrong with them); in folders, only regular files with an image extension count, and the other
    entries with one (FIFOs, devices, broken or looping symbolic links) are added to ``skipped``.
    """
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            named = sorted(p for p in path.rglob('*') if p.suffix.lower() in IMAGE_EXTENSIONS and not p.is_dir())
            found.extend(p for p in named if p.is_file())
            if skipped is not None:
                skipped.extend(p for p in named if not p.is_file())
        else:
            found.append(path)
    return found


def check_tensor(x) -> None:
    """Raise ``InputError`` unless ``x`` is a float tensor (N, 1 or 3, H, W) in [0, 1], free of NaN."""
    import torch

    if not torch.is_tensor(x) or x.dim() != 4 or x.shape[1] not in (1, 3):
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise InputError(f'expected a float tensor of shape (N, 3, H, W) or (N, 1, H, W); got {shape}')
    if x.layout != torch.strided:
        raise InputError(f'expected a dense tensor; got layout {x.layout} (call .to_dense() first)')
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
