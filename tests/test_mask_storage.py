"""Masks at rest and at scale: the cache key's recipe, new cache folders, COCO RLE forms and the
antialiased downscale SAM2 sees, each expected value worked out by hand."""

import hashlib

import numpy as np
from pycocotools import mask as mask_utils

from pyiqa_llmiqa.segment.mask_cache import MaskCache, cache_key
from pyiqa_llmiqa.segment.rle import decode_masks, encode_masks
from pyiqa_llmiqa.segment.scale import downscale, upscale_mask

# Column-major (COCO) runs of this mask: columns 000 110 011 000 -> 3 zeros, 2 ones, 2 zeros, 2 ones, 3 zeros
MASK = np.array([[0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0]], bool)
RUNS = [3, 2, 2, 2, 3]


def test_the_cache_key_is_its_documented_recipe():
    # sha256 of a JSON header (format version, shape, dtype), the pixel bytes and the canonical
    # settings: the same image and settings find the same entry in every release of format 1.
    image = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    settings = {'b': 1, 'a': [0.5, None]}
    header = b'{"v": 1, "shape": [2, 4, 3], "dtype": "|u1"}'
    expected = hashlib.sha256(header + bytes(range(24)) + b'{"a":[0.5,null],"b":1}').hexdigest()
    assert cache_key(image, settings) == expected


def test_a_cache_folder_that_does_not_exist_yet_is_made(tmp_path):
    cache = MaskCache(tmp_path / 'not' / 'yet' / 'there')
    image = np.zeros((3, 4, 3), np.uint8)
    path = cache.put(image, {'k': 1}, [MASK])
    assert path.is_file() and path.parent.parent == tmp_path / 'not' / 'yet' / 'there'
    (got,) = cache.get(image, {'k': 1})
    assert np.array_equal(got, MASK)


def test_rle_counts_are_read_as_bytes_text_or_sam2_runs():
    compressed = mask_utils.encode(np.asfortranarray(MASK, dtype=np.uint8))['counts']  # pycocotools' bytes
    assert isinstance(compressed, bytes)
    forms = [compressed, compressed.decode('ascii'), RUNS]
    for got in decode_masks([{'size': [3, 4], 'counts': counts} for counts in forms]):
        assert got.dtype == bool and np.array_equal(got, MASK)


def test_encoded_masks_are_text_of_the_columnwise_runs():
    (rle,) = encode_masks([MASK.astype(np.uint8) * 7])  # any nonzero value is foreground
    assert rle['size'] == [3, 4] and isinstance(rle['counts'], str)
    runs = mask_utils.frPyObjects({'size': [3, 4], 'counts': RUNS}, 3, 4)['counts']
    assert rle['counts'] == runs.decode('ascii')


def test_downscale_is_bilinear_antialiased():
    # Halving a step 0000 1111: the bilinear (triangle) filter spans 4 source pixels, weights
    # 1/8, 3/8, 3/8, 1/8 (renormalised at the border): 0, 255/8 = 31.9 -> 32, 255*7/8 = 223.1 -> 223, 255.
    row = np.array([0, 0, 0, 0, 255, 255, 255, 255], np.uint8)
    image = np.repeat(np.repeat(row[None, :, None], 8, axis=0), 3, axis=2)
    small = downscale(image, max_side=4)
    assert small.shape == (4, 4, 3)
    assert small[..., 0].tolist() == [[0, 32, 223, 255]] * 4


def test_upscaled_masks_keep_their_last_row_and_column():
    # The last target pixel centre, (n - 0.5) * s / n, lies in the last source pixel for every size.
    for source in range(2, 9):
        corner = np.zeros((source, source), bool)
        corner[-1, -1] = True
        for target in range(source, 3 * source + 2):
            big = upscale_mask(corner, (target, target + 1))
            assert big[-1, -1] and not big[0, 0]
            assert big.sum() >= 1 and big.shape == (target, target + 1)
