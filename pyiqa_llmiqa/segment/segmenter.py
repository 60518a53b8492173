"""SAM2 automatic mask generation with the paper's settings (LLM-IQA appendix, Table 2, in ``options``).

``SAM2Segmenter`` wraps sam2's ``SAM2AutomaticMaskGenerator`` (as ``LeanMaskGenerator``, which gives
the same masks faster): an ``nn.Module`` that owns the SAM2 model (so ``.to(device)`` moves it)
and maps an RGB uint8 image to a list of bool masks.

Notes on sam2 1.1.0 that shape this module:
- the generator's predictor reads its device from the model's parameters, so moving the model
  moves the whole pipeline; the positional-encoding cache also follows the input's device.
- ``min_mask_region_area`` is only passed on to the predictor as ``max_hole_area`` /
  ``max_sprinkle_area`` (filling holes and removing specks in the 256x256 low-res masks). That
  needs sam2's compiled CUDA extension ``_C``; without it (always on CPU) sam2 warns once and
  skips the step. The generator never calls its own ``postprocess_small_regions``.
"""

import hashlib
import os
from functools import cached_property
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np
import torch

from pyiqa_llmiqa.config.options import DEFAULT_SEGMENTER, check_segmenter, mask_generator_settings
from pyiqa_llmiqa.config.sam2_names import resolve_sam2_config, sam2_hub_models
from pyiqa_llmiqa.errors import CheckpointNotFoundError, SegmenterLoadError
from pyiqa_llmiqa.segment.rle import decode_masks
from pyiqa_llmiqa.segment.scale import SEGMENT_MAX_SIDE, downscale, upscale_mask


def _hub_checkpoint(model_id: str) -> tuple:
    """Return (config, local checkpoint path) for a sam2 hub id, from the HF cache or the hub."""
    config, filename = sam2_hub_models()[model_id]  # a known id: checked with the options
    from huggingface_hub import hf_hub_download

    try:
        return config, hf_hub_download(repo_id=model_id, filename=filename)
    except Exception as e:  # offline, no cache, network or auth errors
        raise CheckpointNotFoundError(
            f'could not load SAM2 checkpoint {model_id!r} ({filename}) from the Hugging Face hub '
            f'or its local cache: {type(e).__name__}: {e}\n'
            f'Fix: download it while online (`hf download {model_id} {filename}`), or pass '
            f"segmenter={{'config': '{config}', 'checkpoint': '/path/to/{filename}'}}."
        ) from e


def read_sam2_checkpoint(checkpoint: Union[str, os.PathLike]) -> Mapping[str, torch.Tensor]:
    """Read the state dict of a sam2 checkpoint (``{'model': state_dict}``) with ``weights_only=True``."""
    path = Path(checkpoint)
    if not path.is_file():
        raise CheckpointNotFoundError(f'SAM2 checkpoint file not found: {path}')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:
        raise SegmenterLoadError(f'could not read SAM2 checkpoint {path}: {e}') from e
    if not isinstance(ckpt, Mapping) or not isinstance(ckpt.get('model'), Mapping):
        raise SegmenterLoadError(f"SAM2 checkpoint {path} is not a dict with a 'model' state dict")
    return ckpt['model']


def load_sam2_state(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str):
    """Load ``state`` into ``model`` strictly; errors name ``source`` (the checkpoint and config)."""
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise SegmenterLoadError(
            f'SAM2 checkpoint {source} does not match the model: {len(missing)} missing '
            f'key(s) {missing[:5]}, {len(unexpected)} unexpected key(s) {unexpected[:5]}'
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:  # e.g. shape mismatch
        raise SegmenterLoadError(f'SAM2 checkpoint {source} does not match the model: {e}') from e


class SAM2Segmenter(torch.nn.Module):
    """SAM2 automatic mask generator as a module: RGB uint8 image -> bool masks, largest first.

    Args:
        segmenter: a sam2 hub id (``facebook/sam2.1-hiera-{tiny,small,base-plus,large}``, taken from
            the Hugging Face cache or hub) or a mapping ``{'config': <sam2 config name, short forms
            accepted>, 'checkpoint': <local .pt path>}``. Random weights are never used.
        mask_generator: ``SAM2AutomaticMaskGenerator`` keyword overrides, merged over
            ``options.PAPER_MASK_GENERATOR``, and ``autocast_dtype`` (see ``LeanMaskGenerator``).
    """

    def __init__(
        self,
        segmenter: Union[str, Mapping[str, Any]] = DEFAULT_SEGMENTER,
        mask_generator: Optional[Mapping[str, Any]] = None,
        cache_dir: Optional[Union[str, os.PathLike]] = None,
    ):
        super().__init__()
        from pyiqa_llmiqa.segment.mask_cache import MaskCache

        self.cache = MaskCache(cache_dir) if cache_dir else None
        from sam2.build_sam import build_sam2

        from pyiqa_llmiqa.segment.lean_mask_generator import LeanMaskGenerator

        check_segmenter(segmenter)
        self.generator_kwargs = mask_generator_settings(mask_generator)
        if isinstance(segmenter, str):
            config, checkpoint = _hub_checkpoint(segmenter)
        else:
            config, checkpoint = segmenter['config'], segmenter['checkpoint']

        self.config = resolve_sam2_config(config)
        self.checkpoint = Path(checkpoint).absolute()
        state = read_sam2_checkpoint(self.checkpoint)
        model = build_sam2(self.config, ckpt_path=None, device='cpu', mode='eval')
        load_sam2_state(model, state, f'{self.checkpoint} (config {self.config})')
        self.model = model  # a registered submodule: .to(device) moves it
        # The generator's predictor reads the device from self.model's parameters on every call.
        # LeanMaskGenerator: the stock generator's masks with less work per point prompt.
        self.generator = LeanMaskGenerator(self.model, **self.generator_kwargs)

    @property
    def device(self) -> torch.device:
        return self.model.device

    @cached_property
    def settings(self) -> Dict[str, Any]:
        """Everything that determines the masks, JSON-serialisable; the weights by content, not by path."""
        stat = self.checkpoint.stat()
        digest = hashlib.sha256()
        with open(self.checkpoint, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                digest.update(block)
        return {
            'config': self.config,
            'checkpoint': {'name': self.checkpoint.name, 'size': stat.st_size, 'sha256': digest.hexdigest()},
            'mask_generator': dict(self.generator_kwargs),
            'max_side': SEGMENT_MAX_SIDE,
        }

    def forward(self, image: np.ndarray) -> List[np.ndarray]:
        """Segment an HxWx3 uint8 RGB image.

        Returns SAM2's masks as bool HxW arrays, sorted by area (pixel count) descending; masks of
        equal area keep SAM2's order. Images with a side over ``SEGMENT_MAX_SIDE`` are segmented
        at that size; their masks are scaled back to HxW.
        """
        if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8):
            raise ValueError(
                'expected an HxWx3 uint8 RGB numpy array, got '
                f'{type(image).__name__} {getattr(image, "shape", "")} {getattr(image, "dtype", "")}'
            )
        if self.cache is not None:
            cached = self.cache.get(image, self.settings)
            if cached is not None:
                return cached
        masks = self._generate(image)
        if self.cache is not None:
            self.cache.put(image, self.settings, masks)
        return masks

    def _generate(self, image: np.ndarray) -> List[np.ndarray]:
        """SAM2's masks for ``image``, largest first; a large image is segmented downscaled
        (``segment_scale``) and its masks scaled back to the original size."""
        small = downscale(image)
        with torch.inference_mode():
            records = self.generator.generate(small)
        masks = [
            seg.astype(bool) if isinstance(seg, np.ndarray) else decode_masks([seg])[0]
            for seg in (r['segmentation'] for r in records)
        ]
        if small is not image:
            masks = [upscale_mask(mask, image.shape[:2]) for mask in masks]
        areas = np.array([int(m.sum()) for m in masks], dtype=np.int64)
        return [masks[i] for i in np.argsort(-areas, kind='stable')]
