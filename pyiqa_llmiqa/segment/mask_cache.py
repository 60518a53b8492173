"""On-disk cache of segmentation masks, so SAM2 runs once per image and setting.

An entry is keyed by the sha256 of the image (shape, dtype and pixel bytes) together with a
canonical JSON of the settings that produced the masks -- for SAM2 use ``SAM2Segmenter.settings``
(config, checkpoint size and sha256, generator options). Entries are JSON files of COCO RLEs,
written with ``atomic_write`` (temporary file, fsync, ``os.replace``), so a crash never leaves a
half-written entry.
"""

import hashlib
import json
import os
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Union

import numpy as np

from pyiqa_llmiqa.common.atomic_write import atomic_write
from pyiqa_llmiqa.segment.rle import decode_masks, encode_masks

FORMAT_VERSION = 1


def canonical_json(settings: Mapping) -> str:
    """Key-sorted, whitespace-free JSON; raises TypeError for values JSON cannot hold."""
    return json.dumps(settings, sort_keys=True, separators=(',', ':'), allow_nan=False)


def cache_key(image: np.ndarray, settings: Mapping) -> str:
    """sha256 hex digest of the image (shape, dtype, bytes) and the canonical settings."""
    image = np.ascontiguousarray(image)
    digest = hashlib.sha256()
    digest.update(json.dumps({'v': FORMAT_VERSION, 'shape': list(image.shape), 'dtype': image.dtype.str}).encode())
    digest.update(image.tobytes())
    digest.update(canonical_json(settings).encode())
    return digest.hexdigest()


class MaskCache:
    """Masks stored under ``directory/<key[:2]>/<key>.json``."""

    def __init__(self, directory: Union[str, os.PathLike]):
        self.directory = Path(directory)

    def path(self, image: np.ndarray, settings: Mapping) -> Path:
        key = cache_key(image, settings)
        return self.directory / key[:2] / f'{key}.json'

    def get(self, image: np.ndarray, settings: Mapping) -> Optional[List[np.ndarray]]:
        """The cached masks (bool HxW, in the order they were put), or None on a miss.

        An unreadable or inconsistent entry counts as a miss; the next ``put`` replaces it.
        """
        path = self.path(image, settings)  # settings that are not JSON raise TypeError here
        try:
            entry = json.loads(path.read_text(encoding='utf-8'))
            masks = decode_masks(entry['masks'])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if entry.get('version') != FORMAT_VERSION or any(m.shape != image.shape[:2] for m in masks):
            return None
        return masks

    def put(self, image: np.ndarray, settings: Mapping, masks: Sequence[np.ndarray]) -> Path:
        """Store ``masks`` (HxW, matching the image) for ``image`` and ``settings``; returns the entry's path."""
        for mask in masks:
            if np.shape(mask) != image.shape[:2]:
                raise ValueError(f'mask shape {np.shape(mask)} does not match image shape {image.shape[:2]}')
        entry = {
            'version': FORMAT_VERSION,
            'settings': json.loads(canonical_json(settings)),
            'masks': encode_masks(masks),
        }
        target = self.path(image, settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(target) as handle:
            json.dump(entry, handle)
        return target
