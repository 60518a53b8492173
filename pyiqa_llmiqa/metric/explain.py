"""A picture of what llmiqa judged: the regions with their scores and areas, and the fused scores.

Left: the image with each region's bounding box, score and share of the image. Right: the kept
masks in distinct colours, with the mask count. Title: final, global and local scores. Text is set
in points on a figure of fixed width, so it reads the same for a 512x384 image and a 4000x3000 one.
"""

from pathlib import Path
from typing import Union

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from pyiqa_llmiqa.common.notices import plural
from pyiqa_llmiqa.metric.assessment import Assessment
from pyiqa_llmiqa.segment.rle import decode_masks

FIGURE_WIDTH_INCHES = 14.0
DPI = 110
HEADER_INCHES = 0.6  # room for the scores above the panels


def region_colours(n: int) -> np.ndarray:
    """n distinct RGB colours in [0, 1]."""
    from matplotlib import colormaps

    cmap = colormaps['tab20']
    return np.array([cmap(i % 20)[:3] for i in range(n)])


def _overlay(image: np.ndarray, assessment: Assessment, colours) -> np.ndarray:
    """The image dimmed, with each kept mask painted in its colour."""
    painted = image.astype(np.float32) / 255 * 0.35
    for region, colour in zip(assessment.regions, colours):
        if region.kind == 'mask' and region.mask is not None:
            mask = decode_masks([region.mask])[0]
            painted[mask] = 0.35 * painted[mask] + 0.65 * colour
    return np.clip(painted, 0, 1)


def draw_region_boxes(
    axes, assessment: Assessment, image_area: float, colours, fontsize: float = 8, line_width: float = 2.0
) -> None:
    """Each region's bounding box on ``axes`` (showing the image), labelled with its score and its
    share of the image; the complement (the background) dashed, labelled at its bottom left."""
    for region, colour in zip(assessment.regions, colours):
        share = 100 * region.area / image_area
        x, y, w, h = region.bbox
        style = '--' if region.kind == 'complement' else '-'
        axes.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=colour, linewidth=line_width, linestyle=style))
        label = f'{region.score:.2f}' if not float(region.score).is_integer() else f'{region.score:.0f}'
        # mask labels at the box's top left; the complement's (often the whole image) at bottom left
        background = region.kind == 'complement'
        axes.text(
            x + 4,
            y + h - 4 if background else y + 4,
            f'{"background " if background else ""}{label} | {share:.1f}%',
            color='white',
            fontsize=fontsize,
            va='bottom' if background else 'top',
            bbox={'facecolor': colour, 'alpha': 0.85, 'pad': 1.5, 'edgecolor': 'none'},
        )


def draw_assessment(image: Image.Image, assessment: Assessment, out_png: Union[str, Path]) -> Path:
    """Draw ``assessment`` of ``image`` into ``out_png``."""
    pixels = np.asarray(image.convert('RGB'))
    height, width = pixels.shape[:2]
    total = float(height * width)
    colours = region_colours(len(assessment.regions))

    panel_height = FIGURE_WIDTH_INCHES / 2 * height / width
    total_height = panel_height + HEADER_INCHES
    figure = Figure(figsize=(FIGURE_WIDTH_INCHES, total_height), dpi=DPI)
    FigureCanvasAgg(figure)
    left = figure.add_axes([0.0, 0.0, 0.497, panel_height / total_height])
    right = figure.add_axes([0.503, 0.0, 0.497, panel_height / total_height])
    left.imshow(pixels)
    right.imshow(_overlay(pixels, assessment, colours))
    for axes in (left, right):
        axes.set_axis_off()

    draw_region_boxes(left, assessment, total, colours)
    right.text(
        0.01,
        0.99,
        f'{plural(assessment.n_masks, "mask")}, {assessment.n_kept} kept',
        transform=right.transAxes,
        color='white',
        fontsize=11,
        va='top',
        bbox={'facecolor': 'black', 'alpha': 0.7, 'pad': 3},
    )
    local = 'n/a' if assessment.local_score is None else f'{assessment.local_score:.3f}'
    title = f'score {assessment.score:.3f}    global {assessment.global_score:.3f}    local {local}'
    if assessment.note:
        title += f'\n{assessment.note}'
    figure.suptitle(title, fontsize=14, y=1 - 0.08 / total_height, va='top')
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out_png, dpi=DPI)
    return out_png
