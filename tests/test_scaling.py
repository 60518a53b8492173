"""Sizes the pipeline bounds: segmentation of a downscaled copy, model inputs, and sliver regions."""

import numpy as np
import pytest
from PIL import Image

from pyiqa_llmiqa.inputs.images import fit_pixels
from pyiqa_llmiqa.segment.regions import MAX_ASPECT_RATIO, select_regions
from pyiqa_llmiqa.segment.scale import SEGMENT_MAX_SIDE, downscale, segmentation_size, upscale_mask


@pytest.mark.parametrize(
    'shape, expected',
    [
        ((768, 1024), (768, 1024)),  # SAM2's own size: untouched
        ((9000, 12000), (768, 1024)),
        ((12000, 9000), (1024, 768)),
        ((20000, 10), (1024, 1)),  # never a side of 0
    ],
)
def test_segmentation_size_bounds_the_longer_side(shape, expected):
    assert segmentation_size(*shape) == expected and max(expected) <= SEGMENT_MAX_SIDE


def test_small_images_are_segmented_as_they_are():
    image = np.zeros((600, 800, 3), np.uint8)
    assert downscale(image) is image
    assert downscale(np.zeros((3000, 2000, 3), np.uint8)).shape == (1024, 683, 3)


def test_masks_scale_back_by_nearest_pixel_centres():
    small = np.zeros((4, 6), bool)
    small[1:3, 2:5] = True
    big = upscale_mask(small, (12, 18))
    assert big.shape == (12, 18) and big.sum() == small.sum() * 9
    assert np.array_equal(big, np.kron(small, np.ones((3, 3), bool)))
    odd = upscale_mask(small, (9, 13))  # non-integer factors: every pixel takes its nearest source
    rows, cols = np.nonzero(odd)
    assert rows.min() >= 2 and rows.max() <= 6 and cols.min() >= 4 and cols.max() <= 10


def test_model_inputs_are_downscaled_beyond_the_pixel_bound():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), np.uint8))
    small = fit_pixels(image, (0, 0, 400, 300), max_pixels=3000)
    assert small.width * small.height <= 3000 and abs(small.width / small.height - 4 / 3) < 0.05
    assert fit_pixels(image, max_pixels=10**6) is image
    assert np.array_equal(np.asarray(fit_pixels(image, (10, 20, 50, 40))), np.asarray(image)[20:40, 10:50])


def test_sliver_regions_are_not_kept():
    line = np.zeros((100, 2 * MAX_ASPECT_RATIO + 10), bool)
    line[50, :] = True  # 1 x 410 pixels
    block = np.zeros_like(line)
    block[10:40, 10:60] = True
    regions = select_regions([block, line], min_region_area=0.0, complement=False)
    assert [r.bbox for r in regions] == [(10, 10, 50, 30)]


def test_scaling_edges_by_hand():
    from pyiqa_llmiqa.segment.scale import downscale, segmentation_size, upscale_mask

    assert segmentation_size(1024, 700) == (1024, 700)  # exactly SAM2's size: kept
    assert segmentation_size(1, 4096) == (1, 1024)  # 0.25 rounds to 0: at least one pixel
    assert segmentation_size(300, 600, max_side=200) == (100, 200)
    assert downscale(np.zeros((300, 600, 3), np.uint8), max_side=200).shape == (100, 200, 3)
    tall = np.array([[1, 0], [0, 0], [0, 0], [0, 1]], dtype=bool)  # 4 x 2
    # nearest neighbour by pixel centres: each source pixel becomes a 2 x 2 block
    assert np.array_equal(upscale_mask(tall, (8, 4)), np.kron(tall, np.ones((2, 2), dtype=bool)))
