"""Reading image files as llmiqa scores them (README, "Bad input and faults"), each expected pixel
worked out from the file's own values, not by calling the loader on another route."""

import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pyiqa_llmiqa.common.printable import printable_path
from pyiqa_llmiqa.inputs.images import (
    IMAGE_EXTENSIONS,
    MODEL_MAX_PIXELS,
    ImageLoadError,
    find_images,
    fit_pixels,
    fitted_size,
    load_image,
    to_rgb,
)


def _pixels(path):
    image = load_image(path)
    assert image.mode == 'RGB'
    return np.asarray(image)


def test_grayscale_is_repeated_in_the_three_channels(tmp_path):
    grey = np.array([[0, 17, 255]], dtype=np.uint8)
    Image.fromarray(grey, 'L').save(tmp_path / 'g.png')
    assert _pixels(tmp_path / 'g.png').tolist() == [[[0, 0, 0], [17, 17, 17], [255, 255, 255]]]


def test_palette_colours_are_looked_up(tmp_path):
    image = Image.new('P', (2, 1))
    image.putpalette([0, 0, 0, 250, 10, 20, 5, 6, 7] + [0] * (256 * 3 - 9))
    image.putpixel((0, 0), 1)
    image.putpixel((1, 0), 2)
    image.save(tmp_path / 'p.png')
    assert _pixels(tmp_path / 'p.png').tolist() == [[[250, 10, 20], [5, 6, 7]]]


def test_cmyk_by_the_plain_formula_without_a_colour_profile(tmp_path):
    # The reference is the naive conversion Pillow documents for CMYK without an ICC profile:
    # R = (255 - C)(255 - K) / 255, and likewise G from M and B from Y, rounded.
    cmyk = [(10, 200, 30, 40), (255, 0, 128, 255), (0, 0, 0, 0), (64, 128, 192, 100)]
    image = Image.new('CMYK', (len(cmyk), 1))
    for x, value in enumerate(cmyk):
        image.putpixel((x, 0), value)
    image.save(tmp_path / 'c.tif')
    expected = [[round((255 - ch) * (255 - k) / 255) for ch in (c, m, y)] for c, m, y, k in cmyk]
    got = _pixels(tmp_path / 'c.tif')[0].astype(int)
    assert np.abs(got - np.array(expected)).max() <= 1  # Pillow rounds in integer arithmetic
    assert got[0].tolist() == [207, 46, 190]  # 245*215/255 = 206.6, 55*215/255 = 46.4, 225*215/255 = 189.7


@pytest.mark.parametrize('mode, value', [('RGBA', (10, 20, 30, 0)), ('RGBA', (10, 20, 30, 128))])
def test_rgba_alpha_is_dropped_not_composited(tmp_path, mode, value):
    Image.new(mode, (1, 1), value).save(tmp_path / 'a.png')
    assert _pixels(tmp_path / 'a.png').tolist() == [[list(value[:3])]]


@pytest.mark.parametrize('alpha', [0, 77, 255])
def test_la_alpha_is_dropped(tmp_path, alpha):
    Image.new('LA', (1, 1), (100, alpha)).save(tmp_path / 'la.png')
    assert _pixels(tmp_path / 'la.png').tolist() == [[[100, 100, 100]]]


SIXTEEN_BIT = [0, 1, 128, 129, 257, 32767, 32768, 65535]


@pytest.mark.parametrize('suffix', ['.png', '.tif'])
def test_16_bit_grey_is_scaled_not_clipped(tmp_path, suffix):
    values = np.array([SIXTEEN_BIT], dtype='<u2')
    Image.fromarray(values).save(tmp_path / f'g16{suffix}')
    # value / 65535 * 255, rounded half up: 128 -> 0.498 -> 0; 129 -> 0.502 -> 1; 32768 -> 127.502 -> 128
    expected = [0, 0, 0, 1, 1, 127, 128, 255]
    assert [math.floor(v / 65535 * 255 + 0.5) for v in SIXTEEN_BIT] == expected
    assert _pixels(tmp_path / f'g16{suffix}')[0, :, 0].tolist() == expected


def test_16_bit_grey_with_small_values_is_still_16_bit(tmp_path):
    Image.fromarray(np.array([[0, 200, 255]], dtype='<u2')).save(tmp_path / 'dark.png')
    assert _pixels(tmp_path / 'dark.png')[0, :, 0].tolist() == [0, 1, 1]  # 200/257 = 0.78, 255/257 = 0.99


def test_32_bit_grey_is_8_bit_range_unless_values_exceed_it():
    low = Image.fromarray(np.array([[0, 100, 255]], dtype=np.int32), 'I')
    assert np.asarray(to_rgb(low))[0, :, 0].tolist() == [0, 100, 255]
    high = Image.fromarray(np.array([[0, 256, 65535, 70000]], dtype=np.int32), 'I')
    # 256/257 = 0.996 -> 1; 70000 is beyond 16 bits: clipped at 255
    assert np.asarray(to_rgb(high))[0, :, 0].tolist() == [0, 1, 255, 255]


def _frames(path, fmt, **extra):
    red = Image.new('RGB', (4, 4), (250, 0, 0))
    blue = Image.new('RGB', (4, 4), (0, 0, 250))
    red.save(path, fmt, save_all=True, append_images=[blue], **extra)
    with Image.open(path) as image:
        assert getattr(image, 'n_frames', 1) == 2


@pytest.mark.parametrize(
    'name, fmt, extra',
    [
        ('a.gif', 'GIF', {}),
        ('a.webp', 'WEBP', {'lossless': True}),
        ('a.tif', 'TIFF', {}),
    ],
)
def test_the_first_frame_of_animations_and_multi_page_files(tmp_path, name, fmt, extra):
    _frames(tmp_path / name, fmt, **extra)
    pixels = _pixels(tmp_path / name)
    assert pixels.shape == (4, 4, 3)
    assert pixels[..., 0].min() >= 240 and pixels[..., 2].max() <= 10  # red, the first frame


def test_a_still_webp_is_read(tmp_path):
    Image.new('RGB', (3, 2), (12, 34, 56)).save(tmp_path / 's.webp', lossless=True)
    assert _pixels(tmp_path / 's.webp').tolist() == [[[12, 34, 56]] * 3] * 2


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new('RGB', (4, 2), (0, 0, 0))
    image.putpixel((0, 0), (255, 255, 255))  # top-left white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    image.save(tmp_path / 'r.jpg', exif=exif, quality=100)
    pixels = _pixels(tmp_path / 'r.jpg')
    assert pixels.shape == (4, 2, 3)  # upright: 2 wide, 4 high
    assert pixels[0, 1].min() > 200  # the white corner is now top-right


@pytest.mark.parametrize(
    'make, reason',
    [
        (lambda p: None, 'no such file'),
        (lambda p: p.mkdir(), 'is a folder, not an image file'),
        (lambda p: p.write_bytes(b''), 'the file is empty'),
        (lambda p: p.write_text('hello'), 'not an image file that Pillow can read'),
    ],
)
def test_unreadable_paths_name_the_file_and_the_reason(tmp_path, make, reason):
    path = tmp_path / 'x.jpg'
    make(path)
    with pytest.raises(ImageLoadError) as error:
        load_image(path)
    assert str(error.value) == f'{path}: {reason}'


def _link_loop(path):
    os.symlink(path.name, path)


@pytest.mark.parametrize(
    'make, reason',
    [
        (os.mkfifo, 'not a regular file but a FIFO (named pipe)'),
        (_link_loop, 'cannot be read (Too many levels of symbolic links)'),
        (lambda p: os.symlink('gone.jpg', p), 'no such file (a symbolic link to a missing file)'),
    ],
    ids=['fifo', 'symlink_loop', 'broken_symlink'],
)
def test_paths_that_are_not_regular_files_get_their_own_reason(tmp_path, make, reason):
    path = tmp_path / 'x.jpg'
    make(path)
    with pytest.raises(ImageLoadError) as error:
        load_image(path)  # a FIFO without a writer: opening it would block, so a hang also fails
    assert str(error.value) == f'{path}: {reason}'


def test_character_devices_are_not_read():
    with pytest.raises(ImageLoadError, match='^/dev/zero: not a regular file but a character device$'):
        load_image('/dev/zero')


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads a file whatever its permissions')
def test_a_file_without_read_permission_is_not_called_corrupt(tmp_path):
    Image.new('RGB', (2, 2)).save(tmp_path / 'locked.png')
    (tmp_path / 'locked.png').chmod(0)
    with pytest.raises(ImageLoadError, match=r'locked.png: cannot be opened \(Permission denied\)$'):
        load_image(tmp_path / 'locked.png')


def test_a_float_file_out_of_range_is_refused_with_that_reason(tmp_path):
    Image.fromarray(np.array([[0.0, 2.5]], np.float32)).save(tmp_path / 'f.tif')
    with pytest.raises(ImageLoadError) as error:
        load_image(tmp_path / 'f.tif')
    assert str(error.value) == (
        f'{tmp_path}/f.tif: a float image (mode F) must lie in [0, 1], as float tensors do; got min 0, max 2.5'
    )


def test_float_grey_in_0_1_is_scaled_by_255_rounding_half_to_even():
    values = np.array([[0.0, 0.5, 1.0, 0.2, 1.5 / 255, 2.5 / 255]], np.float32)
    # 0.5 * 255 = 127.5 -> 128 and 2.5 -> 2 (half to even, as torch.round in the tensor route); 0.2 * 255 = 51
    assert np.asarray(to_rgb(Image.fromarray(values, 'F')))[0, :, 0].tolist() == [0, 128, 255, 51, 2, 2]


def test_printable_path_escapes_undecodable_bytes_and_control_characters():
    assert printable_path(b'a/bad\xff\xfe.png') == r'a/bad\xff\xfe.png'
    assert printable_path(os.fsdecode(b'bad\xff.png')) == r'bad\xff.png'  # the str Python makes of it
    assert printable_path('new\nline\ttab\r\x1b[31m\x7f.png') == r'new\nline\ttab\r\x1b[31m\x7f.png'
    assert printable_path('a\u2028b\x85c') == r'a\u2028b\x85c'  # line breaks of str.splitlines()
    for name in ('caf\u00e9 \u6f22\u5b57.png', r'C:\Users\x.png', 'plain/file name.jpg'):
        assert printable_path(name) == name
    assert printable_path(Path('d') / 'x\ny.png') == r'd/x\ny.png'


def test_load_image_names_an_odd_file_as_printable_path_writes_it(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), b'bad\xff\n.jpg')
    with open(path, 'wb') as handle:
        handle.write(b'text')
    with pytest.raises(ImageLoadError) as error:
        load_image(os.fsdecode(path))
    assert str(error.value) == rf'{tmp_path}/bad\xff\n.jpg: not an image file that Pillow can read'


def test_between_the_pixel_limit_and_twice_it_no_warning(tmp_path, monkeypatch):
    Image.new('RGB', (12, 12)).save(tmp_path / 'big.png')  # 144 pixels
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 100)  # Pillow warns above 100, refuses above 200
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert load_image(tmp_path / 'big.png').size == (12, 12)
    Image.new('RGB', (15, 14)).save(tmp_path / 'bomb.png')  # 210 pixels
    with pytest.raises(ImageLoadError, match='bomb.png: too many pixels to decode safely'):
        load_image(tmp_path / 'bomb.png')


def test_model_max_pixels_is_4096_squared():
    assert MODEL_MAX_PIXELS == 4096 * 4096


def test_fit_pixels_keeps_small_images_and_cuts_boxes_unchanged():
    image = Image.fromarray(np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3))
    assert fit_pixels(image, max_pixels=30) is image  # exactly at the limit: untouched
    box = fit_pixels(image, (1, 2, 4, 5), max_pixels=9)
    assert np.array_equal(np.asarray(box), np.asarray(image)[2:5, 1:4])


def test_fit_pixels_downscales_to_at_most_max_pixels_keeping_the_aspect():
    image = Image.new('RGB', (20, 10), (9, 9, 9))
    # scale sqrt(100 / 200) = 0.7071: 20 -> 14.1 -> 14, 10 -> 7.07 -> 7
    small = fit_pixels(image, max_pixels=100)
    assert small.size == (14, 7)
    box = fit_pixels(image, (0, 0, 10, 10), max_pixels=25)  # 100 pixels -> scale 0.5
    assert box.size == (5, 5)
    sliver = fit_pixels(Image.new('RGB', (400, 1)), max_pixels=100)  # 0.5 * 1 -> at least 1
    assert sliver.size == (200, 1)


def test_fitted_size_of_a_200_to_1_picture_stays_200_to_1():
    # 60000x300 to 4096**2 pixels: scale sqrt(16777216 / 18000000) = 0.96544, the short side
    # 300 * 0.96544 = 289.6 -> 289, the long side 289 * 200 = 57800 (not 57926.6 -> 57926, 200.4:1)
    assert fitted_size(60000, 300) == (57800, 289) and fitted_size(300, 60000) == (289, 57800)
    assert 57800 * 289 <= MODEL_MAX_PIXELS
    wide = fit_pixels(Image.new('RGB', (60000, 300)))
    assert wide.size == (57800, 289)


def test_fitted_size_never_makes_the_ratio_more_extreme_nor_exceeds_the_pixels():
    rng = np.random.default_rng(0)
    for _ in range(20000):
        short = int(rng.integers(1, 60))
        long = int(rng.integers(short + 1, short * 300 + 1))
        max_pixels = int(rng.integers(1, long * short))  # always a downscale
        for width, height in ((long, short), (short, long)):
            w, h = fitted_size(width, height, max_pixels)
            new_long, new_short = max(w, h), min(w, h)
            assert (w - h) * (width - height) >= 0 and new_short >= 1  # the long side stays the long one
            assert new_long * short <= long * new_short, (width, height, max_pixels, w, h)  # ratio not larger
            assert w * h <= max_pixels or new_short == 1  # a side of one pixel may be kept over the limit


def test_find_images_expands_folders_recursively_sorted_by_extension(tmp_path):
    (tmp_path / 'd' / 'sub').mkdir(parents=True)
    for name in ['d/b.PNG', 'd/a.jpg', 'd/sub/c.webp', 'd/notes.txt', 'd/sub/x.tiff']:
        (tmp_path / name).write_bytes(b'x')
    loose = tmp_path / 'scan.raw'
    loose.write_bytes(b'x')
    found = find_images([tmp_path / 'd', loose])
    assert found == [
        tmp_path / 'd/a.jpg',
        tmp_path / 'd/b.PNG',
        tmp_path / 'd/sub/c.webp',
        tmp_path / 'd/sub/x.tiff',
        loose,
    ]
    assert set(IMAGE_EXTENSIONS) == {'.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif'}


@pytest.mark.parametrize(
    'make',
    [
        lambda v: Image.fromarray(np.array([v], dtype='<u2')),  # I;16
        lambda v: Image.fromarray(np.array([v], dtype='>u2')),  # I;16B
        lambda v: Image.frombytes('I;16L', (len(v), 1), np.array(v, dtype='<u2').tobytes()),
    ],
)
def test_every_16_bit_layout_is_scaled_by_65535(make):
    # 51272 / 257 = 199.502: rounds to 200 by 65535 (by 65536 it would be 199.4965 -> 199)
    values = [0, 129, 51272, 65535]
    image = make(values)
    assert image.mode.startswith('I;16')
    assert np.asarray(to_rgb(image))[0, :, 0].tolist() == [math.floor(v / 65535 * 255 + 0.5) for v in values]
    assert [math.floor(v / 65535 * 255 + 0.5) for v in values] == [0, 1, 200, 255]


def test_32_bit_grey_just_over_8_bits_and_negative():
    edge = Image.fromarray(np.array([[0, 128, 256]], dtype=np.int32), 'I')  # 256 > 255: 16-bit range
    assert np.asarray(to_rgb(edge))[0, :, 0].tolist() == [0, 0, 1]
    negative = Image.fromarray(np.array([[-5, 3]], dtype=np.int32), 'I')
    assert np.asarray(to_rgb(negative))[0, :, 0].tolist() == [0, 3]


def test_truncated_file_refused_even_when_pillow_accepts_them_and_the_flag_is_kept(tmp_path, monkeypatch):
    from PIL import ImageFile

    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / 'full.jpg', quality=95)  # half the file is well into the scan
    data = (tmp_path / 'full.jpg').read_bytes()
    (tmp_path / 'cut.jpg').write_bytes(data[: len(data) // 2])
    for flag in (True, False):
        monkeypatch.setattr(ImageFile, 'LOAD_TRUNCATED_IMAGES', flag)
        with pytest.raises(ImageLoadError, match='cut.jpg: truncated or corrupt image data'):
            load_image(tmp_path / 'cut.jpg')
        assert ImageFile.LOAD_TRUNCATED_IMAGES is flag
        assert load_image(tmp_path / 'full.jpg').size == (256, 256)
        assert ImageFile.LOAD_TRUNCATED_IMAGES is flag


def test_fit_pixels_keeps_a_side_of_at_least_one_pixel_and_cuts_the_box():
    assert fit_pixels(Image.new('RGB', (1, 400)), max_pixels=100).size == (1, 200)
    halves = np.zeros((10, 20, 3), np.uint8)
    halves[:, 10:] = 255
    right = fit_pixels(Image.fromarray(halves), (10, 0, 20, 10), max_pixels=25)
    assert right.size == (5, 5) and np.asarray(right).min() > 200  # the box's white pixels (edges see a little black)


def test_find_images_lists_the_entries_of_folders_it_skips(tmp_path):
    Image.new('RGB', (2, 2)).save(tmp_path / 'good.png')
    os.mkfifo(tmp_path / 'fifo.png')
    os.symlink('loop.jpg', tmp_path / 'loop.jpg')
    os.symlink('gone.png', tmp_path / 'broken.png')
    os.mkfifo(tmp_path / 'pipe.txt')  # not an image extension: not an image, not skipped either
    (tmp_path / 'folder.png').mkdir()
    skipped = []
    assert find_images([tmp_path], skipped) == [tmp_path / 'good.png']
    assert skipped == [tmp_path / 'broken.png', tmp_path / 'fifo.png', tmp_path / 'loop.jpg']
    assert find_images([tmp_path / 'fifo.png']) == [tmp_path / 'fifo.png']  # named: kept, load_image says why
