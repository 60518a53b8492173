r"""LLM-IQA: standard-guided, zero-shot, mix-grained image quality assessment with a multimodal LLM.

The whole image and the regions that SAM2 finds are each scored by an MLLM against a written
quality standard ("7: Perfect, 6: Excellent, ..., 1: Very Bad"); region scores are averaged by
area and fused with the whole-image score.

Reference:
    LLM-IQA: Standard-guided MLLM for Mix-grained Image Quality Assessment (under review), a
    resubmission of Dog-IQA: Kai Liu et al., "Dog-IQA: Standard-guided Zero-shot MLLM for
    Mix-grained Image Quality Assessment", arXiv:2410.02505, 2024.
"""

from dataclasses import dataclass
from typing import Callable, List, Sequence, Union

import numpy as np
import torch
from PIL import Image
from torch import nn

from pyiqa_llmiqa.config.options import resolve_options
from pyiqa_llmiqa.config.standards import build_standard
from pyiqa_llmiqa.engines.registry import load_engine
from pyiqa_llmiqa.errors import InputError
from pyiqa_llmiqa.inputs.images import fit_pixels, tensor_to_images, to_rgb
from pyiqa_llmiqa.metric.assessment import Assessment, RegionScore
from pyiqa_llmiqa.metric.preflight import check_downloads
from pyiqa_llmiqa.scoring.fusion import fuse
from pyiqa_llmiqa.scoring.reading import read_levels
from pyiqa_llmiqa.segment.regions import MAX_ASPECT_RATIO, Region, check_masks, crop, select_regions, too_thin


@dataclass
class ImagePlan:
    """What is scored for one image: its masks, the regions kept from them, and where the image's
    crops (the whole image, then one per region) sit in the list sent to the backbone."""

    image: Image.Image
    n_masks: int
    regions: List[Region]
    crops: slice

    @property
    def global_index(self) -> int:
        return self.crops.start

    @property
    def region_indices(self) -> slice:
        return slice(self.crops.start + 1, self.crops.stop)


class LLMIQA(nn.Module):
    """Score images with a multimodal LLM guided by a quality standard, whole and by region.

    Options are those of :class:`pyiqa_llmiqa.config.options.LLMIQAOptions`. ``segmenter`` may also be a
    callable that maps an (H, W, 3) uint8 array to a list of boolean (H, W) masks.
    """

    def __init__(self, **options):
        super().__init__()
        given_segmenter = options.get('segmenter')
        if callable(given_segmenter):
            options = {key: value for key, value in options.items() if key != 'segmenter'}
        self.options = resolve_options(**options)
        opts = self.options
        # a missing file fails here, in seconds (a given segmenter has nothing to download)
        check_downloads({**opts.to_dict(), 'segmenter': given_segmenter or opts.segmenter})
        self.standard = build_standard(opts.standard, opts.levels, opts.level_descriptions)
        self.engine = load_engine(opts, self.standard)
        self.segmenter = None
        if opts.mix_grained:
            self.segmenter = given_segmenter if callable(given_segmenter) else self._build_segmenter()
        self.fallback_count = 0  # greedy answers that were not a level, over this metric's life

    def _build_segmenter(self) -> Callable:
        from pyiqa_llmiqa.segment.segmenter import SAM2Segmenter

        return SAM2Segmenter(self.options.segmenter, self.options.mask_generator, self.options.mask_cache_dir)

    def score_crops(self, crops: Sequence[Image.Image]):
        """Levels of many images or crops, by the engine and the score mode. Returns (scores, fallback,
        spread)."""
        reading = read_levels(self.engine.answer(crops), self.options.score_mode)
        return reading.scores.tolist(), reading.fallback.tolist(), reading.spread.tolist()

    def plan(self, images: Sequence[Image.Image]) -> List[ImagePlan]:
        """Segment each image and choose its regions; the crops follow one another in image order."""
        plans, start = [], 0
        for image in images:
            if too_thin(*image.size):
                raise InputError(
                    f'the image is {image.width}x{image.height} pixels: one side is more than '
                    f'{MAX_ASPECT_RATIO} times the other, which Qwen-VL processors refuse'
                )
            # np.array, not asarray: a writable copy (torch warns about a read-only array)
            pixels = np.array(image)
            masks = check_masks(self.segmenter(pixels), pixels.shape[:2]) if self.segmenter is not None else []
            regions = select_regions(masks, self.options.min_region_area, self.options.complement)
            plans.append(ImagePlan(image, len(masks), regions, slice(start, start + 1 + len(regions))))
            start += 1 + len(regions)
        return plans

    def assess(self, images: Sequence[Image.Image]) -> List[Assessment]:
        """Score RGB ``images`` and return, per image, the scores and the regions behind them."""
        plans = self.plan(images)
        crops: List[Image.Image] = []
        for plan in plans:
            crops += [fit_pixels(plan.image), *(crop(plan.image, region) for region in plan.regions)]
        scores, fallback, spread = self.score_crops(crops)
        self.fallback_count += sum(fallback)
        return [self._assessment(p, scores, fallback, spread) for p in plans]

    def _assessment(
        self, plan: ImagePlan, scores: List[float], fallback: List[bool], spread: List[float]
    ) -> Assessment:
        """The fused scores of one planned image, from the scores of all crops."""
        opts = self.options
        global_score, region_scores = scores[plan.global_index], scores[plan.region_indices]
        final, local = fuse(
            global_score,
            region_scores,
            [region.area for region in plan.regions],
            opts.global_weight,
            n_masks=plan.n_masks,
            levels=opts.levels,
            mask_count_max=opts.mask_count_max,
            mask_count_weight=opts.mask_count_weight,
        )
        details = [
            RegionScore(r.kind, r.bbox, r.area, s, self._mask_record(r), d)
            for r, s, d in zip(plan.regions, region_scores, spread[plan.region_indices])
        ]
        note = (
            'no region was large enough: scored on the whole image alone'
            if opts.mix_grained and not plan.regions
            else ''
        )
        return Assessment(
            score=final,
            global_score=global_score,
            local_score=local,
            n_masks=plan.n_masks,
            n_kept=sum(r.kind == 'mask' for r in plan.regions),
            regions=details,
            fallbacks=int(sum(fallback[plan.crops])),
            note=note,
            spread=spread[plan.global_index],
        )

    def _mask_record(self, region: Region):
        """The region's mask as COCO RLE when ``return_masks`` is on."""
        if not self.options.return_masks:
            return None
        from pyiqa_llmiqa.segment.rle import encode_masks

        return encode_masks([region.mask])[0]

    def forward(self, x: Union[torch.Tensor, Sequence[Image.Image]], return_assessments: bool = False):
        """N scores in [1, K] for a float tensor (N, 3, H, W) in [0, 1] (or a list of PIL images).

        With ``return_assessments=True`` (pyiqa passes keyword arguments through:
        ``metric(x, return_assessments=True)``), also the ``Assessment`` of each image: the global and
        local scores and the regions behind the score.
        """
        images = tensor_to_images(x) if torch.is_tensor(x) else [to_rgb(image) for image in x]
        assessments = self.assess(images)
        device = x.device if torch.is_tensor(x) else 'cpu'
        scores = torch.tensor([a.score for a in assessments], dtype=torch.float32, device=device)
        return (scores, assessments) if return_assessments else scores
