"""Regions, crops and fusion, with a segmenter that returns given masks."""

import numpy as np
import pyiqa
import pytest
import torch
from PIL import Image

import pyiqa_llmiqa  # noqa: F401
from pyiqa_llmiqa.scoring.fusion import count_score, fuse, local_score
from pyiqa_llmiqa.segment.regions import crop, mask_bbox, select_regions
from pyiqa_llmiqa.segment.rle import decode_masks

H, W = 60, 80


def _box_mask(x, y, w, h):
    mask = np.zeros((H, W), dtype=bool)
    mask[y : y + h, x : x + w] = True
    return mask


def _given_masks():
    big = _box_mask(0, 0, 40, 30)  # 1200 px
    ring = _box_mask(45, 10, 30, 40) & ~_box_mask(50, 15, 10, 10)  # 1100 px, bbox 30x40
    tiny = _box_mask(70, 55, 3, 3)  # 9 px: below 0.5% of 4800
    return [big, ring, tiny]


class GivenMasks:
    """A segmenter that returns the same masks for any image."""

    def __init__(self, masks):
        self.masks = masks
        self.calls = 0

    def __call__(self, image):
        self.calls += 1
        assert image.shape == (H, W, 3) and image.dtype == np.uint8
        return self.masks


@pytest.fixture(scope='module')
def image():
    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))


@pytest.fixture(scope='module')
def metric(digit_backbone):
    return pyiqa.create_metric(
        'llmiqa',
        backbone=digit_backbone,
        device='cpu',
        score_mode='expectation',
        segmenter=GivenMasks(_given_masks()),
        min_region_area=0.005,
        batch_size=2,
    )


@pytest.fixture(scope='module')
def global_metric(digit_backbone):
    return pyiqa.create_metric('llmiqa_global', backbone=digit_backbone, device='cpu', score_mode='expectation')


def test_regions_are_kept_masks_then_the_complement():
    regions = select_regions(_given_masks(), min_region_area=0.005, complement=True)
    assert [(r.kind, r.bbox, r.area, r.mask_index) for r in regions] == [
        ('mask', (0, 0, 40, 30), 1200, 0),
        ('mask', (45, 10, 30, 40), 1100, 1),
        # everything outside the two kept masks, the tiny mask's pixels included
        ('complement', (0, 0, 80, 60), H * W - 1200 - 1100, None),
    ]
    assert len(select_regions(_given_masks(), 0.005, complement=False)) == 2
    assert select_regions([], 0.005, complement=True) == []


def test_crop_is_the_bounding_box_of_the_original_pixels(image):
    ring = _given_masks()[1]
    region = select_regions([ring], 0.0, complement=False)[0]
    assert mask_bbox(ring) == (45, 10, 30, 40)
    # the background inside the box is kept, hole included
    assert np.array_equal(np.asarray(crop(image, region)), np.asarray(image)[10:50, 45:75])


def test_fusion_matches_hand_computation(metric, global_metric, image):
    assessment = metric.net.assess([image])[0]
    pixels = np.array(image)
    crops = [pixels[0:30, 0:40], pixels[10:50, 45:75], pixels]
    by_hand = [global_metric.net([Image.fromarray(c)]).item() for c in crops]
    global_score = global_metric.net([image]).item()
    areas = [1200, 1100, H * W - 2300]

    assert assessment.global_score == pytest.approx(global_score, abs=1e-4)
    assert [r.score for r in assessment.regions] == pytest.approx(by_hand, abs=1e-4)
    local = sum(a * s for a, s in zip(areas, by_hand)) / sum(areas)
    assert assessment.local_score == pytest.approx(local, abs=1e-4)
    assert assessment.score == pytest.approx(0.5 * global_score + 0.5 * local, abs=1e-4)
    assert (assessment.n_masks, assessment.n_kept) == (3, 2)
    assert [r.kind for r in assessment.regions] == ['mask', 'mask', 'complement']
    assert metric(torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255).item() == pytest.approx(
        assessment.score, abs=1e-4
    )


def test_global_weight_moves_the_final_score(digit_backbone, image):
    metric = pyiqa.create_metric(
        'llmiqa',
        backbone=digit_backbone,
        device='cpu',
        score_mode='expectation',
        segmenter=GivenMasks(_given_masks()),
        global_weight=1.0,
    )
    assessment = metric.net.assess([image])[0]
    assert assessment.score == assessment.global_score


def test_no_masks_scores_the_whole_image_and_says_so(digit_backbone, global_metric, image):
    metric = pyiqa.create_metric(
        'llmiqa',
        backbone=digit_backbone,
        device='cpu',
        score_mode='expectation',
        segmenter=GivenMasks([]),
    )
    assessment = metric.net.assess([image])[0]
    assert assessment.regions == [] and assessment.local_score is None
    assert assessment.score == assessment.global_score == pytest.approx(global_metric.net([image]).item(), abs=1e-4)
    assert 'whole image alone' in assessment.note


def test_masks_on_request_round_trip(digit_backbone, image):
    masks = _given_masks()
    metric = pyiqa.create_metric(
        'llmiqa',
        backbone=digit_backbone,
        device='cpu',
        segmenter=GivenMasks(masks),
        min_region_area=0.005,
        return_masks=True,
    )
    regions = metric.net.assess([image])[0].regions
    decoded = decode_masks([r.mask for r in regions])
    assert np.array_equal(decoded[0], masks[0]) and np.array_equal(decoded[1], masks[1])
    assert np.array_equal(decoded[2], ~(masks[0] | masks[1]))


def test_count_term():
    assert count_score(71, 71, 7) == 7 and count_score(10, 20, 7) == 3.5 and count_score(90, 71, 7) == 7
    final, local = fuse(6.0, [4.0, 2.0], [3, 1], 0.5, n_masks=10, levels=7, mask_count_max=20, mask_count_weight=1 / 3)
    assert local == 3.5
    assert final == pytest.approx((6.0 + 3.5 + 3.5) / 3)
    assert local_score([], []) is None
