"""MaskCache: masks stored on disk per (image, settings), written atomically."""

import os

os.environ['HF_HUB_OFFLINE'] = '1'

import json

import numpy as np
import pytest

from pyiqa_llmiqa.segment import mask_cache as mask_cache_module
from pyiqa_llmiqa.segment.mask_cache import MaskCache, cache_key

SETTINGS = {
    'config': 'configs/sam2.1/sam2.1_hiera_t.yaml',
    'checkpoint': {'name': 'x.pt', 'size': 123, 'sha256': 'ab' * 32},
    'mask_generator': {'points_per_side': 8, 'pred_iou_thresh': 0.9},
}


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)


@pytest.fixture
def masks():
    rng = np.random.default_rng(1)
    return [rng.random((24, 32)) < p for p in (0.7, 0.3, 0.05)]


def leftovers(directory):
    return [p for p in directory.rglob('*') if p.is_file() and p.suffix != '.json']


def test_miss_then_hit_returns_the_same_masks_in_order(tmp_path, image, masks):
    cache = MaskCache(tmp_path)
    assert cache.get(image, SETTINGS) is None
    cache.put(image, SETTINGS, masks)
    got = cache.get(image.copy(), SETTINGS)
    assert len(got) == len(masks)
    for g, m in zip(got, masks):
        assert g.dtype == bool and np.array_equal(g, m)


def test_no_masks_is_a_hit_not_a_miss(tmp_path, image):
    cache = MaskCache(tmp_path)
    cache.put(image, SETTINGS, [])
    assert cache.get(image, SETTINGS) == []


def test_key_depends_on_pixels_shape_and_settings_but_not_key_order(image):
    key = cache_key(image, SETTINGS)
    changed = image.copy()
    changed[0, 0, 0] ^= 1
    assert cache_key(changed, SETTINGS) != key
    assert cache_key(image.reshape(32, 24, 3), SETTINGS) != key
    other = json.loads(json.dumps(SETTINGS))
    other['mask_generator']['pred_iou_thresh'] = 0.8
    assert cache_key(image, other) != key
    other['checkpoint'] = {**SETTINGS['checkpoint'], 'sha256': 'cd' * 32}
    assert cache_key(image, {**SETTINGS, 'checkpoint': other['checkpoint']}) != key
    reordered = dict(reversed(list(SETTINGS.items())))
    assert cache_key(image, reordered) == key
    assert cache_key(np.asfortranarray(image), SETTINGS) == key


def test_entry_is_json_with_rles_and_no_temp_files_remain(tmp_path, image, masks):
    path = MaskCache(tmp_path).put(image, SETTINGS, masks)
    entry = json.loads(path.read_text())
    assert entry['settings'] == SETTINGS and len(entry['masks']) == 3
    assert all(isinstance(r['counts'], str) and r['size'] == [24, 32] for r in entry['masks'])
    assert leftovers(tmp_path) == []


def test_failed_write_leaves_the_old_entry_and_no_temp_file(tmp_path, image, masks, monkeypatch):
    cache = MaskCache(tmp_path)
    cache.put(image, SETTINGS, masks)

    def broken_dump(*args, **kwargs):
        raise OSError('disk full')

    monkeypatch.setattr(mask_cache_module.json, 'dump', broken_dump)
    with pytest.raises(OSError, match='disk full'):
        cache.put(image, SETTINGS, masks[:1])
    monkeypatch.undo()
    assert len(cache.get(image, SETTINGS)) == 3
    assert leftovers(tmp_path) == []


def test_corrupt_entry_is_a_miss_and_put_repairs_it(tmp_path, image, masks):
    cache = MaskCache(tmp_path)
    path = cache.put(image, SETTINGS, masks)
    path.write_text('{"version": 1, "masks": [')
    assert cache.get(image, SETTINGS) is None
    cache.put(image, SETTINGS, masks)
    assert len(cache.get(image, SETTINGS)) == 3


def test_masks_must_match_the_image(tmp_path, image):
    with pytest.raises(ValueError, match='shape'):
        MaskCache(tmp_path).put(image, SETTINGS, [np.zeros((5, 5), bool)])


def test_settings_must_be_json(tmp_path, image):
    with pytest.raises(TypeError):
        MaskCache(tmp_path).get(image, {'checkpoint': object()})


def test_canonical_json_is_compact_sorted_and_refuses_nan():
    from pyiqa_llmiqa.segment.mask_cache import canonical_json

    assert canonical_json({'b': [1, 2], 'a': {'y': 1.5, 'x': None}}) == '{"a":{"x":null,"y":1.5},"b":[1,2]}'
    with pytest.raises(ValueError):
        canonical_json({'thresh': float('nan')})


def test_entries_live_under_two_hex_digits_and_are_readable_by_all(tmp_path, image):

    cache = MaskCache(tmp_path)
    key = cache_key(image, SETTINGS)
    assert cache.path(image, SETTINGS) == tmp_path / key[:2] / f'{key}.json'
    other = image.copy()
    other[0, 0, 0] ^= 1
    assert cache.path(other, SETTINGS) != cache.path(image, SETTINGS)
    written = cache.put(image, SETTINGS, [np.ones(image.shape[:2], bool)])
    assert written == cache.path(image, SETTINGS)
    assert written.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in written.parent.iterdir()] == [written.name]  # no temporary file left


def test_an_entry_with_masks_of_another_size_is_a_miss(tmp_path, image):
    from pyiqa_llmiqa.segment.rle import encode_masks

    cache = MaskCache(tmp_path)
    path = cache.put(image, SETTINGS, [np.ones(image.shape[:2], bool)])
    entry = json.loads(path.read_text())
    entry['masks'] = encode_masks([np.ones((3, 3), bool)])
    path.write_text(json.dumps(entry))
    assert cache.get(image, SETTINGS) is None
