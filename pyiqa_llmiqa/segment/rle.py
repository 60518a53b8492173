"""COCO run-length encoding of binary masks (via pycocotools), in a JSON-serialisable form.

An RLE here is ``{'size': [h, w], 'counts': str}``: the compressed COCO format with ``counts``
decoded to text, which is also what SAM2's generator returns for ``output_mode='coco_rle'``.
"""

from typing import Iterable, List, Mapping

import numpy as np
from pycocotools import mask as mask_utils


def encode_masks(masks: Iterable[np.ndarray]) -> List[dict]:
    """Encode HxW masks (any dtype; nonzero is foreground) as JSON-serialisable COCO RLEs."""
    rles = []
    for mask in masks:
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise ValueError(f'a mask must be 2-D (H, W), got shape {mask.shape}')
        rle = mask_utils.encode(np.asfortranarray(mask != 0, dtype=np.uint8))
        counts = rle['counts']
        rles.append(
            {
                'size': [int(s) for s in rle['size']],
                'counts': counts.decode('ascii') if isinstance(counts, bytes) else counts,
            }
        )
    return rles


def decode_masks(rles: Iterable[Mapping]) -> List[np.ndarray]:
    """Decode COCO RLEs (``counts`` as str or bytes, or SAM2's uncompressed list form) to bool HxW masks."""
    masks = []
    for rle in rles:
        h, w = (int(s) for s in rle['size'])
        counts = rle['counts']
        if isinstance(counts, list):  # uncompressed RLE
            coco = mask_utils.frPyObjects({'size': [h, w], 'counts': counts}, h, w)
        else:
            coco = {'size': [h, w], 'counts': counts.encode('ascii') if isinstance(counts, str) else counts}
        masks.append(mask_utils.decode(coco).astype(bool))
    return masks
