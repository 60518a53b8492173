"""What llmiqa saw and said about one image: the record behind its score."""

from dataclasses import asdict, dataclass, field, fields
from typing import List, Optional, Tuple


@dataclass
class RegionScore:
    """One scored region: kind (mask or complement), bounding box [x, y, w, h], area in pixels."""

    kind: str
    bbox: Tuple[int, int, int, int]
    area: int
    score: float
    mask: Optional[dict] = None  # COCO RLE, when masks are requested
    spread: Optional[float] = None  # standard deviation of the crop's level distribution (None: older record)


@dataclass
class Assessment:
    """The final, global and local scores of one image, with the regions behind them."""

    score: float
    global_score: float
    local_score: Optional[float] = None
    n_masks: int = 0  # masks the segmenter returned
    n_kept: int = 0  # masks large enough to become regions
    regions: List[RegionScore] = field(default_factory=list)
    fallbacks: int = 0  # greedy answers that were not a level (global image and regions)
    note: str = ''
    spread: Optional[float] = None  # the same for the whole image's answer: how unsure the model was of it

    def to_dict(self) -> dict:
        record = asdict(self)
        for region in record['regions']:
            region['bbox'] = list(region['bbox'])
            for optional in ('mask', 'spread'):  # absent rather than null, as before they were recorded
                if region[optional] is None:
                    del region[optional]
        return record

    @classmethod
    def from_dict(cls, record: dict) -> 'Assessment':
        """The assessment behind a stored record (``to_dict``'s, with any other keys ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        values['regions'] = [RegionScore(**{**r, 'bbox': tuple(r['bbox'])}) for r in record.get('regions', [])]
        return cls(**values)
