"""mask_cache_dir end to end: a metric with another standard, score mode or backbone runs no SAM2."""

import warnings

import numpy as np
import pyiqa
import pytest
from conftest import SAM2_TEST_GENERATOR
from PIL import Image

import pyiqa_llmiqa  # noqa: F401
from pyiqa_llmiqa.segment.segmenter import SAM2Segmenter


@pytest.fixture
def sam2_calls(monkeypatch):
    """Counts the SAM2 runs (``SAM2Segmenter._generate``) of every segmenter."""
    calls = []
    generate = SAM2Segmenter._generate

    def counting(self, image):
        calls.append(image.shape)
        return generate(self, image)

    monkeypatch.setattr(SAM2Segmenter, '_generate', counting)
    return calls


def _metric(backbone, checkpoint, cache_dir, **options):
    return pyiqa.create_metric(
        'llmiqa',
        backbone=backbone,
        device='cpu',
        mask_cache_dir=str(cache_dir),
        segmenter={'config': 'sam2.1_hiera_t', 'checkpoint': str(checkpoint)},
        mask_generator=SAM2_TEST_GENERATOR,
        **options,
    )


def test_second_metric_reads_the_masks_from_the_cache(
    digit_backbone, tiny_backbone, sam2_checkpoint, tmp_path, sam2_calls
):
    image = Image.fromarray(np.random.default_rng(5).integers(0, 256, (72, 96, 3), dtype=np.uint8))
    cache_dir = tmp_path / 'masks'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # sam2 warns that its _C extension is missing
        first = _metric(digit_backbone, sam2_checkpoint, cache_dir).net.assess([image])[0]
    assert len(sam2_calls) == 1 and first.n_masks >= 1
    assert len(list(cache_dir.rglob('*.json'))) == 1

    others = [
        _metric(digit_backbone, sam2_checkpoint, cache_dir, standard='sentence'),
        _metric(digit_backbone, sam2_checkpoint, cache_dir, score_mode='expectation'),
        _metric(tiny_backbone, sam2_checkpoint, cache_dir, standard='number', levels=5),
    ]
    for metric in others:
        again = metric.net.assess([image])[0]
        assert again.n_masks == first.n_masks
        assert [r.bbox for r in again.regions] == [r.bbox for r in first.regions]
    assert len(sam2_calls) == 1  # SAM2 ran for the first metric only
    assert len(list(cache_dir.rglob('*.json'))) == 1
