"""SAM2Segmenter's own work around SAM2, checked with a stand-in mask generator (no SAM2 run): the
mask cache, masks of large images scaled back, the order of the masks, SAM2's RLE records; then the
checkpoint reading (from a hub id in the Hugging Face cache, GPU-saved, unsafe, misshapen) by hand."""

import os

os.environ['HF_HUB_OFFLINE'] = '1'

import warnings
import zipfile

import numpy as np
import pytest
import torch

from pyiqa_llmiqa.errors import SegmenterLoadError
from pyiqa_llmiqa.segment.mask_cache import MaskCache
from pyiqa_llmiqa.segment.segmenter import SAM2Segmenter, _hub_checkpoint, load_sam2_state, read_sam2_checkpoint

SETTINGS = {'config': 'c.yaml', 'checkpoint': {'name': 'x.pt', 'size': 1, 'sha256': '00' * 32}}
# sam2's hub table: the id, its config and the checkpoint file in that hub repository
TINY_ID = 'facebook/sam2.1-hiera-tiny'
TINY_CONFIG, TINY_FILE = 'configs/sam2.1/sam2.1_hiera_t.yaml', 'sam2.1_hiera_tiny.pt'


class StandInGenerator:
    """Gives back the segmentations it holds, as sam2's generator gives records; notes each image it sees."""

    def __init__(self, segmentations):
        self.segmentations = segmentations
        self.seen = []

    def generate(self, image):
        self.seen.append(image.shape)
        return [{'segmentation': s, 'area': -1} for s in self.segmentations]


def stand_in_segmenter(segmentations, cache_dir=None, settings=SETTINGS):
    """A SAM2Segmenter whose SAM2 is a stand-in: everything around the generator is the real code."""
    segmenter = SAM2Segmenter.__new__(SAM2Segmenter)
    torch.nn.Module.__init__(segmenter)
    segmenter.generator = StandInGenerator(segmentations)
    segmenter.cache = MaskCache(cache_dir) if cache_dir else None
    segmenter.__dict__['settings'] = settings  # what the cached property would hold
    return segmenter


def _pixel(y, x, shape=(8, 8)):
    mask = np.zeros(shape, bool)
    mask[y, x] = True
    return mask


def test_masks_come_largest_first_and_equal_areas_keep_sam2s_order():
    singles = [_pixel(i // 8, i % 8) for i in range(40)]  # 40 masks of 1 pixel
    four, nine = np.zeros((8, 8), bool), np.zeros((8, 8), bool)
    four[6:8, 6:8] = True
    nine[5:8, 0:3] = True
    segmenter = stand_in_segmenter(singles[:20] + [four] + singles[20:] + [nine])
    masks = segmenter(np.zeros((8, 8, 3), np.uint8))
    expected = [nine, four] + singles
    assert len(masks) == len(expected)
    assert all(np.array_equal(got, want) for got, want in zip(masks, expected))


def test_sam2_rle_records_and_0_1_arrays_become_bool_masks():
    mask = np.array([[0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0]], bool)
    runs = [3, 2, 2, 2, 3]  # the mask's column-major runs, as sam2's stock generator gives them
    from pycocotools import mask as mask_utils

    text = mask_utils.frPyObjects({'size': [3, 4], 'counts': runs}, 3, 4)['counts'].decode('ascii')
    segmenter = stand_in_segmenter([{'size': [3, 4], 'counts': text}, mask.astype(np.uint8)])
    masks = segmenter(np.zeros((3, 4, 3), np.uint8))
    assert len(masks) == 2
    for got in masks:
        assert got.dtype == bool and np.array_equal(got, mask)


def test_a_large_image_is_segmented_at_1024_and_its_masks_scaled_back():
    small = np.zeros((1024, 512), bool)
    small[100:300, 50:60] = True  # 200 x 10 at SAM2's size
    segmenter = stand_in_segmenter([small])
    (mask,) = segmenter(np.zeros((2048, 1024, 3), np.uint8))
    assert segmenter.generator.seen == [(1024, 512, 3)]
    expected = np.zeros((2048, 1024), bool)
    expected[200:600, 100:120] = True  # every pixel doubled in both directions
    assert mask.shape == (2048, 1024) and np.array_equal(mask, expected)


def test_sam2_runs_once_per_image_and_settings_with_a_cache(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    four = np.zeros((8, 8), bool)
    four[:2, :2] = True
    first = stand_in_segmenter([_pixel(3, 3), four], tmp_path)
    masks = first(image)
    assert first.generator.seen == [(8, 8, 3)] and [int(m.sum()) for m in masks] == [4, 1]
    stored = MaskCache(tmp_path).get(image, SETTINGS)  # the entry, as a later run will find it
    assert [np.array_equal(a, b) for a, b in zip(stored, [four, _pixel(3, 3)])] == [True, True]
    again = first(image.copy())
    assert first.generator.seen == [(8, 8, 3)]  # no second SAM2 run
    assert all(np.array_equal(a, b) for a, b in zip(again, masks)) and len(again) == 2
    other = stand_in_segmenter([four], tmp_path, settings={**SETTINGS, 'max_side': 512})
    assert len(other(image)) == 1 and other.generator.seen == [(8, 8, 3)]  # other settings: SAM2 runs


def test_masks_already_in_the_cache_are_used_without_running_sam2(tmp_path):
    image = np.zeros((8, 8, 3), np.uint8)
    MaskCache(tmp_path).put(image, SETTINGS, [_pixel(1, 2)])
    segmenter = stand_in_segmenter([np.ones((8, 8), bool)], tmp_path)
    (mask,) = segmenter(image)
    assert np.array_equal(mask, _pixel(1, 2)) and segmenter.generator.seen == []


def _hub_cache(root, checkpoint=None):
    """A Hugging Face cache holding the hiera-tiny checkpoint file, as ``hf download`` leaves it."""
    repo = root / 'models--facebook--sam2.1-hiera-tiny'
    commit = 'a' * 40
    (repo / 'refs').mkdir(parents=True)
    (repo / 'refs' / 'main').write_text(commit)
    snapshot = repo / 'snapshots' / commit
    snapshot.mkdir(parents=True)
    target = snapshot / TINY_FILE
    if checkpoint is None:
        target.write_bytes(b'weights')
    else:
        target.symlink_to(checkpoint)
    return target


@pytest.fixture
def offline_hub_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(tmp_path / 'hub'))
    return tmp_path / 'hub'


def test_a_hub_id_is_found_in_the_hugging_face_cache_offline(offline_hub_cache):
    target = _hub_cache(offline_hub_cache)
    assert _hub_checkpoint(TINY_ID) == (TINY_CONFIG, str(target))


def test_a_segmenter_from_a_cached_hub_id_keeps_its_mask_cache_and_is_in_eval_mode(
    offline_hub_cache, sam2_checkpoint, tmp_path
):
    target = _hub_cache(offline_hub_cache, sam2_checkpoint)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        segmenter = SAM2Segmenter(TINY_ID, {'points_per_side': 2}, cache_dir=tmp_path / 'masks')
    assert segmenter.config == TINY_CONFIG and segmenter.checkpoint == target
    assert segmenter.cache.directory == tmp_path / 'masks'
    assert not segmenter.model.training and segmenter.device == torch.device('cpu')
    assert segmenter.settings['checkpoint']['name'] == TINY_FILE


def _saved_on_a_gpu(source, target):
    """``source`` as torch.save writes it from CUDA tensors: its storages tagged 'cuda:0', not 'cpu'."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, 'w', zipfile.ZIP_STORED) as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename.endswith('/data.pkl'):
                assert data.count(b'X\x03\x00\x00\x00cpu') == 1  # pickle protocol 2: BINUNICODE, 3 bytes
                data = data.replace(b'X\x03\x00\x00\x00cpu', b'X\x06\x00\x00\x00cuda:0')
            new.writestr(info.filename, data)


def test_a_checkpoint_saved_on_a_gpu_is_read_on_the_cpu(tmp_path):
    torch.save({'model': {'w': torch.tensor([1.5, -2.0, 3.25])}}, tmp_path / 'cpu.pt')
    _saved_on_a_gpu(tmp_path / 'cpu.pt', tmp_path / 'gpu.pt')
    state = read_sam2_checkpoint(tmp_path / 'gpu.pt')
    assert state['w'].device == torch.device('cpu') and state['w'].tolist() == [1.5, -2.0, 3.25]


class _RunsCode:
    """Unpickling this makes a folder: what a malicious checkpoint could do instead."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (self.marker,)


def test_a_checkpoint_that_would_run_code_is_refused_unrun(tmp_path):
    marker = tmp_path / 'ran'
    torch.save({'model': {'w': torch.zeros(1)}, 'extra': _RunsCode(str(marker))}, tmp_path / 'evil.pt')
    with pytest.raises(SegmenterLoadError, match='could not read SAM2 checkpoint .*evil.pt'):
        read_sam2_checkpoint(tmp_path / 'evil.pt')
    assert not marker.exists()


@pytest.mark.parametrize('content', [{'w': torch.zeros(1)}, [torch.zeros(1)], torch.zeros(2)])
def test_a_checkpoint_without_a_model_state_dict_is_named(tmp_path, content):
    torch.save(content, tmp_path / 'bare.pt')
    with pytest.raises(SegmenterLoadError) as error:
        read_sam2_checkpoint(tmp_path / 'bare.pt')
    assert str(error.value) == f"SAM2 checkpoint {tmp_path / 'bare.pt'} is not a dict with a 'model' state dict"


def test_state_loading_names_missing_unexpected_and_misshapen_weights():
    model = torch.nn.Linear(2, 1)
    weight, bias = torch.tensor([[0.5, -1.0]]), torch.tensor([2.0])
    cases = [
        ({'weight': weight}, "1 missing key(s) ['bias'], 0 unexpected key(s) []"),
        ({'weight': weight, 'bias': bias, 'scale': bias}, "0 missing key(s) [], 1 unexpected key(s) ['scale']"),
    ]
    for state, counts in cases:
        with pytest.raises(SegmenterLoadError) as error:
            load_sam2_state(model, state, 'ck.pt (config c)')
        assert str(error.value) == f'SAM2 checkpoint ck.pt (config c) does not match the model: {counts}'
    with pytest.raises(SegmenterLoadError, match=r'(?s)ck.pt \(config c\) does not match the model: .*size mismatch'):
        load_sam2_state(model, {'weight': torch.zeros(3, 2), 'bias': bias}, 'ck.pt (config c)')
    load_sam2_state(model, {'weight': weight, 'bias': bias}, 'ck.pt (config c)')
    assert model.weight.tolist() == [[0.5, -1.0]] and model.bias.tolist() == [2.0]
