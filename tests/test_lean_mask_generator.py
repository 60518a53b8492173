"""LeanMaskGenerator gives the stock SAM2 generator's masks, bit for bit, with every filter active."""

import os

os.environ['HF_HUB_OFFLINE'] = '1'

import warnings

import numpy as np
import pytest
import torch
from conftest import SAM2_TEST_GENERATOR, shapes_image

from pyiqa_llmiqa.config.options import mask_generator_settings
from pyiqa_llmiqa.segment.lean_mask_generator import LeanMaskGenerator
from pyiqa_llmiqa.segment.segmenter import SAM2Segmenter

# With random weights the predicted IoUs lie around 0.47-0.55 and the mask logits near 0: these
# settings let some candidates (and some whole prompts) fail the IoU filter and some fail the
# stability filter (small offset), while several masks survive. Random masks all span the whole
# image, so NMS keeps every box (threshold 1.0) and only orders them by predicted IoU.
FILTERING = {
    'points_per_side': 4,
    'pred_iou_thresh': 0.5,
    'stability_score_offset': 0.05,
    'stability_score_thresh': 0.5,
    'box_nms_thresh': 1.0,
}


@pytest.fixture(scope='module')
def records(sam2_checkpoint):
    """(stock records, lean records) for the same image, model and settings."""
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # sam2 warns that its _C extension is missing
        segmenter = SAM2Segmenter({'config': 'sam2.1_hiera_t', 'checkpoint': sam2_checkpoint}, FILTERING)
        settings = mask_generator_settings(FILTERING)
        image = shapes_image()
        with torch.inference_mode():
            stock = SAM2AutomaticMaskGenerator(segmenter.model, **{**settings, 'output_mode': 'binary_mask'})
            return stock.generate(image), LeanMaskGenerator(segmenter.model, **settings).generate(image)


def test_segmenter_uses_the_lean_generator(sam2_checkpoint):
    segmenter = SAM2Segmenter({'config': 'sam2.1_hiera_t', 'checkpoint': sam2_checkpoint})
    assert isinstance(segmenter.generator, LeanMaskGenerator)


def test_same_masks_in_the_same_order(records):
    stock, lean = records
    assert len(stock) >= 3
    assert len(lean) == len(stock)
    for want, got in zip(stock, lean):
        assert got['segmentation'].dtype == bool
        assert np.array_equal(got['segmentation'], want['segmentation'])


def test_same_scores_boxes_and_points(records):
    stock, lean = records
    for want, got in zip(stock, lean):
        assert got['predicted_iou'] == want['predicted_iou']
        assert got['stability_score'] == want['stability_score']
        assert got['area'] == want['area']
        for key in ('bbox', 'point_coords', 'crop_box'):
            assert got[key] == want[key], key


def test_filters_were_active(records):
    stock, _ = records
    assert min(r['predicted_iou'] for r in stock) > FILTERING['pred_iou_thresh']
    assert min(r['stability_score'] for r in stock) >= FILTERING['stability_score_thresh']
    # fewer masks than candidates (4 x 4 points x 3 masks): the filters removed some
    assert len(stock) < 48


def test_autocast_dtype_is_a_mask_generator_option(sam2_checkpoint):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        segmenter = SAM2Segmenter(
            {'config': 'sam2.1_hiera_t', 'checkpoint': sam2_checkpoint},
            {**SAM2_TEST_GENERATOR, 'points_per_side': 1, 'autocast_dtype': 'bfloat16'},
        )
        masks = segmenter(shapes_image())
    assert segmenter.generator.autocast_dtype == 'bfloat16'
    assert segmenter.settings['mask_generator']['autocast_dtype'] == 'bfloat16'  # part of the cache key
    assert masks and all(m.dtype == bool and m.shape == (192, 256) for m in masks)
    with pytest.raises(ValueError, match='autocast_dtype'):
        SAM2Segmenter({'config': 'sam2.1_hiera_t', 'checkpoint': sam2_checkpoint}, {'autocast_dtype': 'int8'})


def test_the_options_know_the_lean_generators_own_arguments():
    """config.options checks mask_generator keys without importing the segment layer: the lean generator's
    arguments beyond sam2's are declared there, and must be exactly the lean generator's."""
    import inspect

    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    from pyiqa_llmiqa.config.options import LEAN_GENERATOR_ARG_TYPES
    from pyiqa_llmiqa.segment.lean_mask_generator import LeanMaskGenerator

    sam2_args = set(inspect.signature(SAM2AutomaticMaskGenerator.__init__).parameters)
    own = set(inspect.signature(LeanMaskGenerator.__init__).parameters) - sam2_args - {'kwargs'}
    assert own == set(LEAN_GENERATOR_ARG_TYPES) == {'autocast_dtype'}
