r"""LLM-IQA: standard-guided, zero-shot, mix-grained image quality assessment with a multimodal LLM.

The whole image and the regions that SAM2 finds are each scored by an MLLM against a written
quality standard ("7: Perfect, 6: Excellent, ..., 1: Very Bad"); region scores are averaged by
area and fused with the whole-image score.

Reference:
    LLM-IQA: Standard-guided MLLM for Mix-grained Image Quality Assessment (under review), a
    resubmission of Dog-IQA: Kai Liu et al., "Dog-IQA: Standard-guided Zero-shot MLLM for
    Mix-grained Image Quality Assessment", arXiv:2410.02505, 2024.
"""
from typing import Callable, List, Sequence, Union

import numpy as np
import torch
from PIL import Image
from torch import nn

from .assessment import Assessment, RegionScore
from .backbone import MLLMBackbone
from .batching import batch_size_for, run_in_batches
from .fusion import fuse
from .images import fit_pixels, to_rgb
from .options import resolve_options
from .owl3 import Owl3Backbone, is_owl3
from .regions import MAX_ASPECT_RATIO, crop, select_regions, too_thin
from .score_reading import level_token_ids, read_levels
from .standards import build_standard


class InputError(ValueError):
    """An input image or tensor cannot be scored; the message says which and why."""


def check_tensor(x) -> None:
    """Raise ``InputError`` unless ``x`` is a float tensor (N, 1 or 3, H, W) in [0, 1], free of NaN."""
    if not torch.is_tensor(x) or x.dim() != 4 or x.shape[1] not in (1, 3):
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise InputError(f'expected a float tensor of shape (N, 3, H, W) or (N, 1, H, W); got {shape}')
    if not torch.is_floating_point(x):
        raise InputError(f'expected a float tensor in [0, 1]; got dtype {x.dtype}')
    if x.numel() == 0:
        raise InputError(f'the input tensor is empty; got shape {tuple(x.shape)}')
    low, high = torch.aminmax(x.detach())  # both NaN when any value is
    if torch.isnan(low):
        raise InputError('the input tensor holds NaN values')
    if low < 0 or high > 1:
        raise InputError(f'the input tensor must lie in [0, 1]; got min {low:.4f}, max {high:.4f}')


def tensor_to_images(x: torch.Tensor) -> List[Image.Image]:
    """(N, C, H, W) floats in [0, 1], C = 1 or 3, to RGB PIL images (exact for 8-bit sources)."""
    check_tensor(x)
    pixels = (x.detach().float() * 255).round_().to(torch.uint8).expand(-1, 3, -1, -1)
    return [Image.fromarray(p.permute(1, 2, 0).cpu().numpy()) for p in pixels]


class LLMIQA(nn.Module):
    """Score images with a multimodal LLM guided by a quality standard, whole and by region.

    Options are those of :class:`pyiqa_llmiqa.options.LLMIQAOptions`. ``segmenter`` may also be a
    callable that maps an (H, W, 3) uint8 array to a list of boolean (H, W) masks.
    """

    def __init__(self, **options):
        super().__init__()
        given_segmenter = options.get('segmenter')
        if callable(given_segmenter):
            options = {key: value for key, value in options.items() if key != 'segmenter'}
        self.options = resolve_options(**options)
        opts = self.options
        self.standard = build_standard(opts.standard, opts.levels, opts.level_descriptions)
        backbone_class = Owl3Backbone if is_owl3(opts.backbone) else MLLMBackbone
        self.backbone = backbone_class(
            opts.backbone, opts.dtype, opts.trust_remote_code, opts.model_kwargs, opts.processor_kwargs,
            opts.share_prefix, opts.quantization,
        )
        self.prompt = self.backbone.render_prompt(self.standard.system_prompt, self.standard.question)
        self.level_ids = level_token_ids(self.backbone.tokenizer, opts.levels)
        self.segmenter = None
        if opts.mix_grained:
            self.segmenter = given_segmenter if callable(given_segmenter) else self._build_segmenter()
        self.fallback_count = 0  # greedy answers that were not a level, over this metric's life
        self.last_assessments: List[Assessment] = []

    def _build_segmenter(self) -> Callable:
        from .segmenter import SAM2Segmenter

        return SAM2Segmenter(self.options.segmenter, self.options.mask_generator, self.options.mask_cache_dir)

    def score_crops(self, crops: Sequence[Image.Image]):
        """Levels of many images or crops: one forward pass per batch. Returns (scores, fallback).

        A batch that runs out of memory is split and retried (``batching.run_in_batches``).
        """
        # Similar sizes share a batch so padding stays small; results do not depend on the order.
        order = sorted(range(len(crops)), key=lambda i: crops[i].width * crops[i].height)
        logits = run_in_batches(
            lambda batch: self.backbone.next_token_logits(batch, self.prompt),
            [crops[i] for i in order],
            batch_size_for(self.backbone.device, self.options.batch_size),
        )
        reading = read_levels(logits, self.level_ids, self.options.score_mode)
        scores = torch.empty_like(reading.scores)
        fallback = torch.empty_like(reading.fallback)
        scores[order] = reading.scores
        fallback[order] = reading.fallback
        return scores.tolist(), fallback.tolist()

    def assess(self, images: Sequence[Image.Image]) -> List[Assessment]:
        """Score RGB ``images`` and return, per image, the scores and the regions behind them."""
        opts = self.options
        plans = []
        crops: List[Image.Image] = []
        for image in images:
            if too_thin(*image.size):
                raise InputError(f'the image is {image.width}x{image.height} pixels: one side is more than '
                                 f'{MAX_ASPECT_RATIO} times the other, which Qwen-VL processors refuse')
            masks = list(self.segmenter(np.asarray(image))) if self.segmenter is not None else []
            regions = select_regions(masks, opts.min_region_area, opts.complement)
            plans.append((len(crops), masks, regions))
            crops.append(fit_pixels(image))
            crops.extend(crop(image, region) for region in regions)
        scores, fallback = self.score_crops(crops)
        self.fallback_count += sum(fallback)

        assessments = []
        for start, masks, regions in plans:
            region_scores = scores[start + 1 : start + 1 + len(regions)]
            final, local = fuse(
                scores[start],
                region_scores,
                [region.area for region in regions],
                opts.global_weight,
                n_masks=len(masks),
                levels=opts.levels,
                mask_count_max=opts.mask_count_max,
                mask_count_weight=opts.mask_count_weight,
            )
            details = [
                RegionScore(r.kind, r.bbox, r.area, s, self._mask_record(masks, regions, r))
                for r, s in zip(regions, region_scores)
            ]
            note = 'no region was large enough: scored on the whole image alone' if opts.mix_grained and not regions else ''
            assessments.append(
                Assessment(
                    score=final,
                    global_score=scores[start],
                    local_score=local,
                    n_masks=len(masks),
                    n_kept=sum(r.kind == 'mask' for r in regions),
                    regions=details,
                    fallbacks=int(sum(fallback[start : start + 1 + len(regions)])),
                    note=note,
                )
            )
        self.last_assessments = assessments
        return assessments

    def _mask_record(self, masks, regions, region):
        """The region's mask as COCO RLE when ``return_masks`` is on; the complement is computed."""
        if not self.options.return_masks:
            return None
        from .rle import encode_masks

        if region.mask_index is not None:
            return encode_masks([masks[region.mask_index]])[0]
        covered = np.zeros(masks[0].shape, dtype=bool)
        for kept in regions:
            if kept.mask_index is not None:
                covered |= masks[kept.mask_index]
        return encode_masks([~covered])[0]

    def forward(self, x: Union[torch.Tensor, Sequence[Image.Image]]) -> torch.Tensor:
        """N scores in [1, K] for a float tensor (N, 3, H, W) in [0, 1] (or a list of PIL images)."""
        images = tensor_to_images(x) if torch.is_tensor(x) else [to_rgb(image) for image in x]
        scores = [a.score for a in self.assess(images)]
        device = x.device if torch.is_tensor(x) else 'cpu'
        return torch.tensor(scores, dtype=torch.float32, device=device)
