"""Segmenting large images at a bounded size, with masks brought back to the original pixels.

SAM2's automatic mask generator upsamples candidate masks to the full image as float32 (sam2's
stock generator all points x 3 of them, before filtering: about 11 GB for 4000x3000 on the paper's
settings, about 80 GB for 12000x9000; ``LeanMaskGenerator`` those that pass ``pred_iou_thresh``,
0.4 GB each at 12000x9000). Yet the model sees every image at 1024x1024 and predicts 256x256 mask
logits. So images whose longer side exceeds ``SEGMENT_MAX_SIDE`` (1024, SAM2's input size) are
segmented as a copy of that size, and the masks are scaled back by nearest neighbour: regions are
still bounding boxes of the original image, measured in its pixels.
"""

from typing import Tuple

import numpy as np
from PIL import Image

SEGMENT_MAX_SIDE = 1024


def segmentation_size(height: int, width: int, max_side: int = SEGMENT_MAX_SIDE) -> Tuple[int, int]:
    """(height, width) to segment at: the original, or scaled so the longer side is ``max_side``."""
    scale = max_side / max(height, width)
    if scale >= 1:
        return height, width
    return max(1, round(height * scale)), max(1, round(width * scale))


def downscale(image: np.ndarray, max_side: int = SEGMENT_MAX_SIDE) -> np.ndarray:
    """An HxWx3 uint8 image, resized (antialiased) to ``segmentation_size``; the same array if small."""
    height, width = segmentation_size(*image.shape[:2], max_side)
    if (height, width) == image.shape[:2]:
        return image
    return np.array(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def upscale_mask(mask: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """A bool mask resized to ``shape`` (height, width) by nearest neighbour (pixel centres).

    The source index of target pixel i is floor((i + 0.5) * s / n), below s for every i < n: the
    product is exact and the quotient stays s / (2n) under s, far more than a rounding error."""
    height, width = shape
    rows = ((np.arange(height) + 0.5) * mask.shape[0] / height).astype(np.intp)
    cols = ((np.arange(width) + 0.5) * mask.shape[1] / width).astype(np.intp)
    return np.take(np.take(mask, rows, axis=0), cols, axis=1)
