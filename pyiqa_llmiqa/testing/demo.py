"""What ``pyiqa-llmiqa demo`` runs on: tiny random-weight models, built once and kept, and a small
labelled set of blurred pictures.

The models (a Qwen2.5-VL of 1.4 MB whose answers spread over the levels, see ``level_answers``, and
a random SAM2.1 hiera-tiny checkpoint) are built into a temporary folder beside the cache and moved
into place when complete, so an interrupted build is never taken for a finished one.
"""

import csv
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import yaml
from PIL import Image, ImageFilter

DEMO_VERSION = 'v1'  # a new recipe gets a new folder
BLUR_RADII = (0, 1, 2, 4, 8)  # pixels of Gaussian blur; the label is 5 for the sharpest, 1 for the most blurred
BLUR_SIDE = 320  # the labelled set's pictures are this wide at most: the demo stays fast
LEVELS = 7


@dataclass(frozen=True)
class DemoModels:
    backbone: Path  # a folder saved with save_pretrained
    sam2_checkpoint: Path  # sam2.1_hiera_t weights

    @property
    def segmenter(self) -> dict:
        return {'config': 'sam2.1_hiera_t', 'checkpoint': str(self.sam2_checkpoint)}


def cache_dir() -> Path:
    """Where the demo keeps its models: ``$XDG_CACHE_HOME/pyiqa-llmiqa`` (``~/.cache`` by default)."""
    root = os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache'
    return Path(root) / 'pyiqa-llmiqa' / f'demo-{DEMO_VERSION}'


def demo_models(folder: Path, calibration: Sequence[Image.Image]) -> DemoModels:
    """The demo's models in ``folder``, built there first if they are not ;
    the backbone's levels are spread over the ``calibration`` pictures."""
    models = DemoModels(folder / 'qwen2_5_vl-levels', folder / 'sam2.1_hiera_t_random.pt')
    if models.backbone.is_dir() and models.sam2_checkpoint.is_file():
        return models
    from pyiqa_llmiqa.testing.level_answers import spread_level_rows
    from pyiqa_llmiqa.testing.sam2_checkpoints import save_random_sam2_checkpoint
    from pyiqa_llmiqa.testing.tiny_models import build_tiny_model

    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f'.{folder.name}-', dir=folder.parent))
    try:
        random_model = build_tiny_model('qwen2_5_vl', building / 'qwen2_5_vl')
        spread_level_rows(random_model, building / models.backbone.name, calibration, LEVELS)
        shutil.rmtree(random_model)
        save_random_sam2_checkpoint(building / models.sam2_checkpoint.name)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(building, folder)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return models


def blur_set(pictures: Sequence[Path], folder: Path) -> Path:
    """Each picture at each of ``BLUR_RADII``, labelled by its blur (5: sharp ... 1: most blurred), as
    a pyiqa data set: images, a meta-info CSV and the dataset options YAML, whose path is returned."""
    images = folder / 'images'
    images.mkdir(parents=True, exist_ok=True)
    rows: List[tuple] = []
    for picture in pictures:
        image = Image.open(picture).convert('RGB')
        image.thumbnail((BLUR_SIDE, BLUR_SIDE))
        for step, radius in enumerate(BLUR_RADII):
            name = f'{picture.stem}_blur{radius}.png'
            image.filter(ImageFilter.GaussianBlur(radius)).save(images / name)
            rows.append((name, len(BLUR_RADII) - step))
    with open(folder / 'meta_info.csv', 'w', newline='', encoding='utf-8') as handle:
        csv.writer(handle).writerows([('img_name', 'mos'), *rows])
    options = {
        'blur_demo': {
            'name': 'blur_demo',
            'type': 'GeneralNRDataset',
            'dataroot_target': str(images),
            'meta_info_file': str(folder / 'meta_info.csv'),
        }
    }
    path = folder / 'blur_demo.yml'
    path.write_text(yaml.safe_dump(options), encoding='utf-8')
    return path


def calibration_pictures(pictures: Sequence[Path], crops_per_picture: int = 3, seed: int = 0) -> List[Image.Image]:
    """The pictures and random crops of them (seeded): what the demo backbone's levels spread over,
    whole images and regions alike."""
    import random

    from pyiqa_llmiqa.inputs.images import fit_pixels, load_image

    rng = random.Random(seed)
    found = []
    for picture in pictures:
        image = load_image(picture)
        found.append(fit_pixels(image))
        for _ in range(crops_per_picture):
            width, height = rng.randint(32, image.width), rng.randint(32, image.height)
            left, top = rng.randint(0, image.width - width), rng.randint(0, image.height - height)
            found.append(image.crop((left, top, left + width, top + height)))
    return found
