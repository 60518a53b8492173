"""What ``assess`` does between the segmenter and the model, with a stand-in for the model's answer:
per-image fallbacks, the whole image bounded before the processor, fusion of the crops' levels."""

import numpy as np
import pyiqa
import pytest
import torch
from PIL import Image

import pyiqa_llmiqa  # noqa: F401  (registers the presets)
from pyiqa_llmiqa.inputs.images import MODEL_MAX_PIXELS


def _halves(array):
    """The segmenter: the left half of a 40x40 image; nothing for other images."""
    if array.shape[:2] != (40, 40):
        return []
    mask = np.zeros((40, 40), dtype=bool)
    mask[:, :20] = True
    return [mask]


@pytest.fixture(scope='module')
def metric(digit_backbone):
    return pyiqa.create_metric('llmiqa', backbone=digit_backbone, device='cpu', segmenter=_halves)


@pytest.fixture()
def answers(metric, monkeypatch):
    """The model answers by the crop's mean red: over 200 -> a token that is no level, with level 5
    the likeliest; under 50 -> "2"; else "4". Records the size of every crop it is shown."""
    seen = []
    net = metric.net

    def next_token_logits(batch, prompt):
        logits = torch.full((len(batch), len(net.engine.tokenizer)), -5.0)
        for row, image in enumerate(batch):
            seen.append(image.size)
            red = np.asarray(image)[..., 0].mean()
            if red > 200:
                logits[row, 0] = 10.0  # token 0 is no level
                logits[row, net.engine.level_ids[4][0]] = 5.0
            else:
                logits[row, net.engine.level_ids[1 if red < 50 else 3][0]] = 5.0
        return logits

    monkeypatch.setattr(net.engine, 'next_token_logits', next_token_logits)
    monkeypatch.setattr(net, 'fallback_count', 0)
    return seen


def _half_red():
    pixels = np.zeros((40, 40, 3), np.uint8)
    pixels[:, :20, 0] = 255
    return Image.fromarray(pixels)


def test_fallbacks_are_counted_per_image_and_in_total(metric, answers):
    red = Image.new('RGB', (20, 20), (255, 0, 0))
    first, second = metric.net.assess([_half_red(), red])
    # first: whole image (mean red 127.5) -> 4; left half (red) -> fallback, 5; complement (black) -> 2
    assert first.global_score == 4.0
    assert [(r.kind, r.bbox, r.area, r.score) for r in first.regions] == [
        ('mask', (0, 0, 20, 40), 800, 5.0),
        ('complement', (20, 0, 20, 40), 800, 2.0),
    ]
    assert first.local_score == pytest.approx((800 * 5 + 800 * 2) / 1600)
    assert first.score == pytest.approx(0.5 * 4 + 0.5 * 3.5)
    assert (first.n_masks, first.n_kept, first.fallbacks, first.note) == (1, 1, 1, '')
    # second: no mask; the whole image is red -> fallback to 5, and the note says why
    assert (second.score, second.local_score, second.fallbacks) == (5.0, None, 1)
    assert second.note == 'no region was large enough: scored on the whole image alone'
    assert metric.net.fallback_count == 2


def test_the_whole_image_is_bounded_before_the_processor(metric, answers):
    side = 4097  # 4097^2 is just over 4096^2
    metric.net.assess([Image.new('RGB', (side, side), (0, 0, 0))])
    assert len(answers) == 1
    width, height = answers[0]
    assert width * height <= MODEL_MAX_PIXELS and width == height and width >= 4095


def test_return_masks_adds_each_regions_mask_as_coco_rle(metric, answers, monkeypatch):
    from pycocotools import mask as coco

    monkeypatch.setattr(metric.net.options, 'return_masks', True)
    assessment = metric.net.assess([_half_red()])[0]
    left, rest = assessment.regions
    decoded = [
        coco.decode({'size': r.mask['size'], 'counts': r.mask['counts'].encode()}).astype(bool) for r in (left, rest)
    ]
    expected = np.zeros((40, 40), dtype=bool)
    expected[:, :20] = True
    assert np.array_equal(decoded[0], expected) and np.array_equal(decoded[1], ~expected)
    record = assessment.to_dict()
    assert record['regions'][0]['mask'] == left.mask and record['regions'][0]['bbox'] == [0, 0, 20, 40]
    monkeypatch.setattr(metric.net.options, 'return_masks', False)
    assert 'mask' not in metric.net.assess([_half_red()])[0].to_dict()['regions'][0]


def test_each_crop_and_the_whole_image_record_the_spread_of_their_levels(metric, monkeypatch):
    """The stand-in splits the probability: whole image (mean red 127.5) between levels 1 and K, the red
    half all on level 2, the black complement evenly between levels 2 and 3."""
    net = metric.net
    levels = net.options.levels

    def next_token_logits(batch, prompt):
        logits = torch.full((len(batch), len(net.engine.tokenizer)), -1e4)
        for row, image in enumerate(batch):
            red = np.asarray(image)[..., 0].mean()
            chosen = [1, levels] if 50 < red < 200 else [2] if red >= 200 else [2, 3]
            for level in chosen:
                logits[row, net.engine.level_ids[level - 1][0]] = 5.0
        return logits

    monkeypatch.setattr(net.engine, 'next_token_logits', next_token_logits)
    for mode in ('greedy', 'expectation'):
        monkeypatch.setattr(net.options, 'score_mode', mode)
        (assessment,) = net.assess([_half_red()])
        assert assessment.spread == pytest.approx((levels - 1) / 2)
        assert [r.spread for r in assessment.regions] == pytest.approx([0.0, 0.5], abs=1e-6)
        assert assessment.to_dict()['spread'] == assessment.spread
        assert [r['spread'] for r in assessment.to_dict()['regions']] == [r.spread for r in assessment.regions]


def test_a_record_written_before_spreads_were_recorded_still_loads():
    from pyiqa_llmiqa.metric.assessment import Assessment

    old = {
        'score': 3.0,
        'global_score': 3.0,
        'regions': [{'kind': 'mask', 'bbox': [0, 0, 2, 2], 'area': 4, 'score': 3.0}],
    }
    assessment = Assessment.from_dict(old)
    assert assessment.spread is None and assessment.regions[0].spread is None
