"""Fusing the whole-image score with the region scores.

s_local = sum(area_i * s_i) / sum(area_i);  s = w * s_global + (1 - w) * s_local.
With Dog-IQA's count term on (``mask_count_max`` = c_max set), s_seg = min(c, c_max) * K / c_max
for c masks, and s = (1 - v) * s + v * s_seg with ``mask_count_weight`` v (1/3: the plain mean of
the three terms at w = 0.5).
"""

from typing import Optional, Sequence, Tuple


def local_score(scores: Sequence[float], areas: Sequence[float]) -> Optional[float]:
    """Area-weighted mean of the region scores; None when there are no regions."""
    total = float(sum(areas))
    if not scores or total <= 0:
        return None
    return sum(a * s for a, s in zip(areas, scores)) / total


def count_score(n_masks: int, mask_count_max: int, levels: int) -> float:
    """Dog-IQA's s_seg = c * K / c_max, with c clipped to c_max."""
    return min(n_masks, mask_count_max) * levels / mask_count_max


def fuse(
    global_score: float,
    region_scores: Sequence[float],
    region_areas: Sequence[float],
    global_weight: float = 0.5,
    n_masks: int = 0,
    levels: int = 7,
    mask_count_max: Optional[int] = None,
    mask_count_weight: float = 1 / 3,
) -> Tuple[float, Optional[float]]:
    """Return (final score, local score). Without regions the final score is the global one."""
    local = local_score(region_scores, region_areas)
    final = global_score if local is None else global_weight * global_score + (1 - global_weight) * local
    if mask_count_max is not None:
        seg = count_score(n_masks, mask_count_max, levels)
        final = (1 - mask_count_weight) * final + mask_count_weight * seg
    return final, local
