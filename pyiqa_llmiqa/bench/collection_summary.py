"""The few lines printed at the end of ``score --out``: counts, mean, quartiles and a histogram."""

from typing import Iterable, List

import numpy as np

BAR_WIDTH = 40


def summary(records: Iterable[dict], bins: int = 10) -> str:
    """Counts, then (when any image has a score) the mean, quartiles and a text histogram."""
    records = list(records)
    scores = np.array([r['score'] for r in records if 'score' in r], dtype=float)
    lines = [f'{len(records)} images: {len(scores)} scored, {len(records) - len(scores)} failed']
    if len(scores):
        q1, median, q3 = np.percentile(scores, [25, 50, 75])
        lines.append(
            f'mean {scores.mean():.3f}  min {scores.min():.3f}  quartiles {q1:.3f} {median:.3f} {q3:.3f}  '
            f'max {scores.max():.3f}'
        )
        lines += histogram(scores, bins)
    return '\n'.join(lines)


def histogram(scores: np.ndarray, bins: int) -> List[str]:
    """One line per bin: its range, a bar as long as its count (the fullest bin is ``BAR_WIDTH``), the count."""
    low, high = float(scores.min()), float(scores.max())
    counts, edges = np.histogram(scores, bins=bins if high > low else 1, range=(low, high) if high > low else None)
    fullest = counts.max()
    return [
        f'{edges[i]:7.3f} - {edges[i + 1]:7.3f} | {"#" * round(BAR_WIDTH * count / fullest):<{BAR_WIDTH}} {count}'
        for i, count in enumerate(counts)
    ]
