"""SAM2Segmenter and the RLE helpers: the real sam2 generator, run offline on random weights."""

import os

os.environ['HF_HUB_OFFLINE'] = '1'

import hashlib
import json
import warnings

import numpy as np
import pytest
import torch
from conftest import TABLE_2, shapes_image

from pyiqa_llmiqa.config.options import PAPER_MASK_GENERATOR
from pyiqa_llmiqa.config.sam2_names import resolve_sam2_config
from pyiqa_llmiqa.segment.rle import decode_masks, encode_masks
from pyiqa_llmiqa.segment.segmenter import SAM2Segmenter

H, W = 192, 256
# Random weights rarely pass the paper's quality filters, so the test switches them off (0 = off),
# keeps every candidate (NMS at IoU 1.0) and uses a 2x2 point grid to keep the decoder cheap.
TEST_OVERRIDES = {'pred_iou_thresh': 0.0, 'stability_score_thresh': 0.0, 'box_nms_thresh': 1.0, 'points_per_side': 2}


@pytest.fixture(scope='module')
def checkpoint(sam2_checkpoint):
    return sam2_checkpoint


@pytest.fixture(scope='module')
def segmenter(checkpoint):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return SAM2Segmenter({'config': 'sam2.1_hiera_t', 'checkpoint': checkpoint}, TEST_OVERRIDES)


@pytest.fixture(scope='module')
def masks(segmenter):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # sam2 warns that its _C extension is missing
        return segmenter(shapes_image(H, W))


def test_paper_settings_are_table_2():
    assert PAPER_MASK_GENERATOR == TABLE_2


def test_masks_are_bool_hw_sorted_by_area_descending(masks):
    assert len(masks) >= 2
    for mask in masks:
        assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == (H, W)
    areas = [int(m.sum()) for m in masks]
    assert areas == sorted(areas, reverse=True)
    assert areas[0] > 0


def test_overrides_are_merged_over_the_paper_settings(segmenter):
    gen = segmenter.generator
    assert gen.pred_iou_thresh == 0.0 and gen.stability_score_thresh == 0.0
    assert gen.box_nms_thresh == 1.0 and len(gen.point_grids[0]) == 2 * 2
    # untouched Table 2 values reach the generator and its predictor
    assert gen.points_per_batch == 128 and gen.stability_score_offset == 0.7
    assert gen.crop_n_layers == 0 and gen.use_m2m is False and gen.output_mode == 'coco_rle'
    assert gen.min_mask_region_area == 1000 and gen.predictor._transforms.max_hole_area == 1000
    assert segmenter.generator_kwargs == {**PAPER_MASK_GENERATOR, **TEST_OVERRIDES}


def test_model_is_a_submodule_and_the_generator_uses_it(segmenter):
    assert dict(segmenter.named_children())['model'] is segmenter.model
    assert segmenter.generator.predictor.model is segmenter.model
    assert segmenter.generator.predictor.device == segmenter.device == next(segmenter.parameters()).device
    assert not segmenter.model.training


def test_settings_identify_config_checkpoint_and_generator(segmenter, checkpoint):
    settings = segmenter.settings
    json.dumps(settings)
    assert settings['config'] == 'configs/sam2.1/sam2.1_hiera_t.yaml'
    assert settings['checkpoint']['size'] == checkpoint.stat().st_size
    # the weights by content: the sha256 of the checkpoint's bytes, not of its path
    assert settings['checkpoint']['sha256'] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert settings['checkpoint']['name'] == checkpoint.name
    assert settings['mask_generator'] == segmenter.generator_kwargs
    assert settings['max_side'] == 1024
    assert set(settings) == {'config', 'checkpoint', 'mask_generator', 'max_side'}


def test_rejects_non_rgb_uint8_input(segmenter):
    with pytest.raises(ValueError, match='uint8'):
        segmenter(np.zeros((H, W, 3), np.float32))
    with pytest.raises(ValueError, match='HxWx3'):
        segmenter(np.zeros((H, W), np.uint8))


def test_unknown_generator_option_is_rejected_with_the_valid_ones(checkpoint):
    with pytest.raises(ValueError, match=r'points_per_sid.*valid.*points_per_side'):
        SAM2Segmenter({'config': 'sam2.1_hiera_t', 'checkpoint': checkpoint}, {'points_per_sid': 4})


def test_mapping_without_checkpoint_is_an_error():
    with pytest.raises(ValueError, match='checkpoint'):
        SAM2Segmenter({'config': 'sam2.1_hiera_t'})


def test_missing_checkpoint_file_is_named(tmp_path):
    missing = tmp_path / 'no_such_sam2.pt'
    with pytest.raises(FileNotFoundError, match='no_such_sam2.pt'):
        SAM2Segmenter({'config': 'sam2.1_hiera_t', 'checkpoint': missing})


def test_checkpoint_that_does_not_match_the_config_is_named(tmp_path):
    wrong = tmp_path / 'wrong_keys.pt'
    torch.save({'model': {'not_a_sam2_weight': torch.zeros(1)}}, wrong)
    with pytest.raises(RuntimeError, match='wrong_keys.pt.*does not match'):
        SAM2Segmenter({'config': 'sam2.1_hiera_t', 'checkpoint': wrong})


def test_hub_id_offline_without_cache_says_how_to_fix(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(tmp_path))
    with pytest.raises(OSError, match=r"(?s)facebook/sam2.1-hiera-tiny.*download.*'checkpoint'"):
        SAM2Segmenter('facebook/sam2.1-hiera-tiny')


def test_config_short_forms_resolve_to_the_shipped_names():
    full = 'configs/sam2.1/sam2.1_hiera_t.yaml'
    for name in (full, 'sam2.1_hiera_t', 'sam2.1_hiera_t.yaml', 'sam2.1/sam2.1_hiera_t'):
        assert resolve_sam2_config(name) == full
    assert resolve_sam2_config('sam2_hiera_l') == 'configs/sam2/sam2_hiera_l.yaml'
    with pytest.raises(ValueError, match='sam2.1_hiera_t.yaml'):
        resolve_sam2_config('hiera_tiniest')


def test_rle_round_trip_is_exact_and_json_serialisable():
    rng = np.random.default_rng(0)
    masks = [rng.random((h, w)) < p for h, w, p in [(37, 53, 0.5), (1, 9, 0.3), (64, 48, 0.02)]]
    masks += [np.zeros((5, 7), bool), np.ones((6, 4), bool)]
    rles = encode_masks(masks)
    rles = json.loads(json.dumps(rles))
    for rle, mask in zip(rles, masks):
        assert isinstance(rle['counts'], str) and rle['size'] == list(mask.shape)
    decoded = decode_masks(rles)
    for got, want in zip(decoded, masks):
        assert got.dtype == bool and np.array_equal(got, want)


def test_rle_decodes_sam2_uncompressed_form():
    from sam2.utils.amg import mask_to_rle_pytorch

    mask = np.random.default_rng(1).random((2, 20, 30)) < 0.4
    rles = mask_to_rle_pytorch(torch.from_numpy(mask))
    assert all(np.array_equal(got, want) for got, want in zip(decode_masks(rles), mask))
