"""Which masks become regions: thresholds at their exact boundaries, the complement, slivers, boxes."""

import numpy as np
import pytest
from PIL import Image

from pyiqa_llmiqa.errors import OptionError
from pyiqa_llmiqa.segment.regions import (
    COMPLEMENT,
    MASK,
    MAX_ASPECT_RATIO,
    Region,
    check_masks,
    crop,
    mask_bbox,
    select_regions,
    too_thin,
)


def _mask(shape, rows, cols):
    mask = np.zeros(shape, dtype=bool)
    mask[rows, cols] = True
    return mask


def test_mask_bbox_is_x_y_width_height():
    mask = _mask((10, 20), slice(2, 5), slice(7, 11))  # rows 2..4, cols 7..10
    assert mask_bbox(mask) == (7, 2, 4, 3)
    assert all(type(v) is int for v in mask_bbox(mask))


def test_too_thin_at_the_ratio_boundary():
    assert MAX_ASPECT_RATIO == 200
    assert not too_thin(200, 1) and not too_thin(1, 200)
    assert too_thin(201, 1) and too_thin(1, 201)
    assert not too_thin(400, 2) and too_thin(401, 2)


def test_a_mask_exactly_at_min_region_area_is_kept_one_pixel_less_is_not():
    shape = (10, 10)  # 100 pixels; min_region_area 0.1 -> 10 pixels
    exactly = _mask(shape, slice(0, 2), slice(0, 5))  # 10 pixels
    smaller = _mask(shape, slice(5, 6), slice(0, 9))  # 9 pixels
    regions = select_regions([exactly, smaller], 0.1, complement=False)
    assert regions == [Region(MASK, (0, 0, 5, 2), 10, 0)]


def test_min_region_area_zero_keeps_any_non_empty_mask_and_never_an_empty_one():
    shape = (4, 4)
    one = _mask(shape, slice(1, 2), slice(1, 2))
    empty = np.zeros(shape, dtype=bool)
    assert select_regions([empty, one], 0.0, complement=False) == [Region(MASK, (1, 1, 1, 1), 1, 1)]


def test_the_complement_covers_what_no_kept_mask_covers():
    shape = (10, 10)
    left = _mask(shape, slice(0, 10), slice(0, 4))  # 40 pixels, kept
    speck = _mask(shape, slice(0, 1), slice(9, 10))  # 1 pixel, below 5 pixels: not kept, so not covered
    regions = select_regions([left, speck], 0.05, complement=True)
    assert regions == [Region(MASK, (0, 0, 4, 10), 40, 0), Region(COMPLEMENT, (4, 0, 6, 10), 60, None)]


def test_overlapping_masks_leave_a_complement_of_the_union():
    shape = (6, 6)
    a = _mask(shape, slice(0, 3), slice(0, 6))  # rows 0-2
    b = _mask(shape, slice(2, 5), slice(0, 6))  # rows 2-4, overlapping row 2
    regions = select_regions([a, b], 0.0, complement=True)
    assert regions[-1] == Region(COMPLEMENT, (0, 5, 6, 1), 6, None)


def test_no_complement_when_no_mask_is_kept():
    shape = (10, 10)
    small = _mask(shape, slice(0, 1), slice(0, 1))
    assert select_regions([small], 0.5, complement=True) == []


def test_no_complement_when_it_is_off_empty_or_too_small():
    shape = (10, 10)
    whole = np.ones(shape, dtype=bool)
    assert select_regions([whole], 0.0, complement=True) == [Region(MASK, (0, 0, 10, 10), 100, 0)]
    most = _mask(shape, slice(0, 10), slice(0, 9))  # 90 pixels; complement 10 pixels
    assert select_regions([most], 0.11, complement=True) == [Region(MASK, (0, 0, 9, 10), 90, 0)]
    # complement exactly at min_region_area (10 of 100 pixels) is kept
    assert select_regions([most], 0.1, complement=True)[-1] == Region(COMPLEMENT, (9, 0, 1, 10), 10, None)
    assert select_regions([most], 0.1, complement=False) == [Region(MASK, (0, 0, 9, 10), 90, 0)]


def test_sliver_masks_and_sliver_complements_are_not_kept():
    shape = (2, 402)
    wide = _mask(shape, slice(0, 1), slice(0, 402))  # 402 x 1 box: too thin
    fine = _mask(shape, slice(0, 2), slice(0, 400))  # 400 x 2: ratio exactly 200, kept
    regions = select_regions([wide, fine], 0.0, complement=True)
    # the complement is the 2 x 2 corner at x 400..401, fine
    assert regions == [Region(MASK, (0, 0, 400, 2), 800, 1), Region(COMPLEMENT, (400, 0, 2, 2), 4, None)]
    shape = (1, 402)
    left = _mask(shape, slice(0, 1), slice(0, 201))  # 201 x 1: too thin
    assert select_regions([left], 0.0, complement=True) == []
    square = np.zeros((300, 300), dtype=bool)
    square[:, :299] = True  # complement: a 1 x 300 column, too thin
    assert select_regions([square], 0.0, complement=True) == [Region(MASK, (0, 0, 299, 300), 299 * 300, 0)]


def test_no_masks_no_regions():
    assert select_regions([], 0.0, complement=True) == []


def test_crop_is_the_bounding_box_of_the_original_image():
    pixels = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    image = Image.fromarray(pixels)
    region = Region(MASK, (2, 1, 3, 4), 5, 0)
    assert np.array_equal(np.asarray(crop(image, region)), pixels[1:5, 2:5])


def test_a_complement_of_one_pixel_is_kept_when_nothing_is_too_small():
    most = np.ones((3, 3), dtype=bool)
    most[2, 2] = False
    assert select_regions([most], 0.0, complement=True)[-1] == Region(COMPLEMENT, (2, 2, 1, 1), 1, None)


def test_each_region_holds_its_pixels():
    # a kept mask holds the segmenter's mask itself; the complement holds the pixels no kept mask covers
    shape = (4, 5)
    top = _mask(shape, slice(0, 2), slice(0, 5))
    corner = _mask(shape, slice(2, 4), slice(0, 2))
    speck = _mask(shape, slice(3, 4), slice(4, 5))  # 1 pixel, below 2 pixels: dropped, so not covered
    mask_top, mask_corner, rest = select_regions([top, corner, speck], 0.1, complement=True)
    assert mask_top.mask is top and mask_corner.mask is corner
    expected_rest = np.array(
        [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1]],
        dtype=bool,
    )
    assert rest.kind == COMPLEMENT and np.array_equal(rest.mask, expected_rest)


def test_a_region_of_exactly_200_to_1_stays_so_when_its_crop_is_downscaled():
    """A kept box of 60000x300 has more than 4096x4096 pixels: its crop must not become 200.4:1."""
    image = Image.new('RGB', (60010, 310), (30, 60, 90))
    region = Region(MASK, (5, 5, 60000, 300), 60000 * 300, 0)
    assert not too_thin(60000, 300)
    assert crop(image, region).size == (57800, 289)  # worked out in test_images: 200:1 exactly


@pytest.mark.parametrize(
    'mask, got',
    [
        (np.zeros((4, 6), np.uint8), 'uint8 (4, 6)'),  # 0/255 masks would weigh areas 255 times
        (np.zeros((6, 4), bool), 'bool (6, 4)'),  # transposed: boxes outside the image
        (np.zeros((4, 6, 1), bool), 'bool (4, 6, 1)'),
        ([[True] * 6] * 4, 'list'),
    ],
    ids=['uint8', 'transposed', '3d', 'list'],
)
def test_masks_that_are_not_boolean_arrays_of_the_image_size_are_refused(mask, got):
    good = np.zeros((4, 6), bool)
    assert check_masks(iter([good]), (4, 6)) == [good]
    with pytest.raises(OptionError) as error:
        check_masks([good, mask], (4, 6))
    assert str(error.value) == (
        f'the segmenter returned mask 1 as {got} for an image of 6x4 pixels; '
        'masks must be boolean numpy arrays of shape (4, 6) (height, width)'
    )
