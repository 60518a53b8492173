"""Make docs/explain_example.png: the `explain` picture of an example image.

No model weights can be downloaded where this project is built, so the figure is drawn with a
tiny random-weight backbone (its scores mean nothing) and with scikit-image's Felzenszwalb
segmentation standing in for SAM2. It shows the layout of the picture, not the metric's judgement.

    HF_HUB_OFFLINE=1 python docs/make_explain_figure.py
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import pyiqa
from skimage.segmentation import felzenszwalb

import pyiqa_llmiqa  # noqa: F401
from pyiqa_llmiqa.inputs.images import load_image
from pyiqa_llmiqa.metric.explain import draw_assessment
from pyiqa_llmiqa.testing.tiny_models import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]


def felzenszwalb_masks(image: np.ndarray):
    """Boolean masks of Felzenszwalb segments, largest first."""
    labels = felzenszwalb(image, scale=400, sigma=0.8, min_size=800)
    masks = [labels == label for label in np.unique(labels)]
    return sorted(masks, key=lambda mask: -int(mask.sum()))


def main(image_path=ROOT / 'examples' / 'coffee.jpg', out=ROOT / 'docs' / 'explain_example.png'):
    with tempfile.TemporaryDirectory() as folder:
        backbone = build_tiny_model('qwen2_5_vl', folder)
        metric = pyiqa.create_metric(
            'llmiqa',
            backbone=str(backbone),
            device='cpu',
            score_mode='expectation',
            segmenter=felzenszwalb_masks,
            min_region_area=0.01,
            return_masks=True,
        )
        image = load_image(image_path)
        draw_assessment(image, metric.net.assess([image])[0], out)
    print(out)


if __name__ == '__main__':
    main(*sys.argv[1:])
