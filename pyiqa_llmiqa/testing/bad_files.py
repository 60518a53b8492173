"""A corpus of awkward and broken image files, made on the fly, for tests of every entry point.

Each :class:`Case` is a file name in the corpus folder with what scoring it must do: give a score
(``error`` None), the same score as another file whose pixels load identically (``same_as``), or
fail with an error whose message holds ``error`` (and the file name). ``fifo.png`` and
``loop.png`` (a symbolic link to itself) are not regular files: a folder scan skips them, so a test
names them to see their error.
"""

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np
from PIL import Image

NON_IMAGES = ('notes.txt', 'labels.csv')  # in the folder too; never taken for images
EXIF_ORIENTATION = 0x0112
ROTATE_90_CLOCKWISE = 6  # EXIF: the picture must be turned 90 degrees clockwise to stand upright


@dataclass(frozen=True)
class Case:
    name: str
    error: Optional[str] = None  # part of the expected error message; None: the file is scored
    same_as: Optional[str] = None  # a file that must get exactly the same score


CASES = (
    Case('missing.jpg', error='no such file'),
    Case('empty.jpg', error='the file is empty'),
    Case('truncated.jpg', error='truncated or corrupt image data'),
    Case('text.jpg', error='not an image file that Pillow can read'),
    Case('sliver.png', error='more than 200 times the other'),
    Case('wide.png'),  # 60000x300: exactly 200:1, and still so once downscaled to 4096x4096 pixels
    Case('fifo.png', error='not a regular file but a FIFO'),
    Case('loop.png', error='cannot be read (Too many levels of symbolic links)'),
    Case('float.tif', same_as='gray.png'),  # 32-bit float grey in [0, 1]: scaled by 255
    Case('float_nan.tif', error='holds NaN values'),
    Case('float_255.tif', error='must lie in [0, 1]'),  # float grey in [0, 255]: refused, not clipped
    Case('one_pixel.png'),
    Case('below_patch.png'),  # 3x5, smaller than a 14x14 patch
    Case('rgb.png'),
    Case('rgba.png', same_as='rgb.png'),  # alpha is dropped, not composited
    Case('gray.png'),
    Case('gray16.png', same_as='gray.png'),  # 16-bit values scaled to 8 bits
    Case('palette_rgb.png'),
    Case('palette.png', same_as='palette_rgb.png'),
    Case('cmyk.jpg'),
    Case('upright.png'),
    Case('exif_rotated.jpg', same_as='upright.png'),
    Case('first_frame.png'),
    Case('animated.gif', same_as='first_frame.png'),
)


def picture(height: int = 64, width: int = 48, seed: int = 0) -> np.ndarray:
    """An RGB uint8 picture that differs from its rotations: ramps across, down, and noise."""
    rng = np.random.default_rng(seed)
    across = np.linspace(0, 255, width)[None, :].repeat(height, 0)
    down = np.linspace(255, 0, height)[:, None].repeat(width, 1)
    noise = rng.integers(0, 256, (height, width))
    return np.stack([across, down, noise], -1).astype(np.uint8)


def _jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, 'JPEG', quality=90, **kwargs)
    return buffer.getvalue()


def _blocks(colours) -> Image.Image:
    """A 32x32 picture of four flat blocks: few colours, so a GIF palette holds it exactly."""
    pixels = np.zeros((32, 32, 3), np.uint8)
    for (row, col), colour in zip([(0, 0), (0, 1), (1, 0), (1, 1)], colours):
        pixels[row * 16 : row * 16 + 16, col * 16 : col * 16 + 16] = colour
    return Image.fromarray(pixels)


def make_corpus(folder) -> List[Case]:
    """Write every file of ``CASES`` (all but the missing one) and ``NON_IMAGES`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(picture())
    gray = np.asarray(rgb.convert('L'))
    jpeg = _jpeg_bytes(rgb)

    (folder / 'empty.jpg').write_bytes(b'')
    (folder / 'truncated.jpg').write_bytes(jpeg[: len(jpeg) // 2])
    (folder / 'text.jpg').write_text('this is a text file, not a JPEG\n')
    Image.new('RGB', (300, 1), (90, 120, 150)).save(folder / 'sliver.png')
    Image.new('RGB', (60000, 300), (90, 120, 150)).save(folder / 'wide.png')
    for special in ('fifo.png', 'loop.png'):  # written over, like the other files
        if os.path.lexists(folder / special):
            os.remove(folder / special)
    os.mkfifo(folder / 'fifo.png')
    os.symlink('loop.png', folder / 'loop.png')
    Image.new('RGB', (1, 1), (200, 30, 30)).save(folder / 'one_pixel.png')
    Image.fromarray(picture(5, 3)).save(folder / 'below_patch.png')
    rgb.save(folder / 'rgb.png')
    Image.fromarray(np.dstack([picture(), np.linspace(0, 255, 48 * 64).reshape(64, 48).astype(np.uint8)]), 'RGBA').save(
        folder / 'rgba.png'
    )
    Image.fromarray(gray).save(folder / 'gray.png')
    Image.fromarray(gray.astype(np.uint16) * 257).save(folder / 'gray16.png')  # 16-bit PNG
    Image.fromarray(gray / np.float32(255)).save(folder / 'float.tif')  # mode F
    Image.fromarray(np.full(gray.shape, np.nan, np.float32)).save(folder / 'float_nan.tif')
    Image.fromarray(gray.astype(np.float32)).save(folder / 'float_255.tif')
    palette = rgb.quantize(16)
    palette.save(folder / 'palette.png')
    palette.convert('RGB').save(folder / 'palette_rgb.png')
    rgb.convert('CMYK').save(folder / 'cmyk.jpg', quality=90)

    # Stored sideways with the EXIF tag that turns it upright; the reference is turned by numpy.
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATE_90_CLOCKWISE
    (folder / 'exif_rotated.jpg').write_bytes(_jpeg_bytes(rgb, exif=exif.tobytes()))
    with Image.open(folder / 'exif_rotated.jpg') as stored:
        sideways = np.asarray(stored.convert('RGB'))
    Image.fromarray(np.rot90(sideways, k=-1).copy()).save(folder / 'upright.png')

    first = _blocks([(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0)])
    second = _blocks([(0, 0, 0), (255, 255, 255), (128, 128, 128), (0, 128, 255)])
    first.save(folder / 'animated.gif', save_all=True, append_images=[second], duration=100, loop=0)
    first.save(folder / 'first_frame.png')

    (folder / 'notes.txt').write_text('not an image\n')
    (folder / 'labels.csv').write_text('name,mos\nrgb.png,3.0\n')
    return list(CASES)


def make_huge_png(path, size=(12000, 9000)) -> Path:
    """A flat RGB PNG of ``size`` (width, height): 324 MB of pixels in a file of about 0.3 MB."""
    path = Path(path)
    Image.new('RGB', size, (120, 130, 140)).save(path, compress_level=1)
    return path
