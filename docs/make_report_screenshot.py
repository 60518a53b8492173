"""Make docs/report_example.png and docs/report_llmiqa.png: screenshots of the report of a small bench run.

No model weights can be downloaded where this project is built, so the run uses stand-ins, as
docs/make_explain_figure.py does: a tiny random-weight backbone (its scores mean nothing) and
scikit-image's Felzenszwalb segmentation in place of SAM2 (a Python callable, which bench's
command line cannot take, so the run goes through bench's own functions); the data set is synthetic: the two
example photographs, each blurred four ways, with MOS falling with the blur. It shows the layout of
the report, not the metric's judgement. The screenshots are taken by the browser helper the tests
use (headless Chromium).

    HF_HUB_OFFLINE=1 python docs/make_report_screenshot.py [OUT_DIR]
"""

import csv
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageFilter
from skimage.segmentation import felzenszwalb

from pyiqa_llmiqa.bench.datasets import load_datasets
from pyiqa_llmiqa.bench.manifest import write_manifest
from pyiqa_llmiqa.bench.metrics import MetricSpec, metric_specs
from pyiqa_llmiqa.bench.outputs import write_outputs as build
from pyiqa_llmiqa.bench.processes import Processes
from pyiqa_llmiqa.bench.runner import run
from pyiqa_llmiqa.pyiqa_plugin import resolved_options
from pyiqa_llmiqa.testing.browser import visit_page
from pyiqa_llmiqa.testing.tiny_models import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
BLURS = (0, 1, 2, 4)
PHOTOS = ('coffee.jpg', 'chelsea.jpg')


def felzenszwalb_masks(image: np.ndarray):
    """Boolean masks of Felzenszwalb segments, largest first."""
    labels = felzenszwalb(image, scale=300, sigma=0.8, min_size=300)
    masks = [labels == label for label in np.unique(labels)]
    return sorted(masks, key=lambda mask: -int(mask.sum()))


def synthetic_dataset(folder: Path) -> Path:
    """Blurred copies of the example photographs (320 pixels wide), MOS = 5 - radius (+0.3 for chelsea)."""
    images = folder / 'images'
    images.mkdir(parents=True)
    rows = []
    for offset, photo in enumerate(PHOTOS):
        picture = Image.open(ROOT / 'examples' / photo).convert('RGB')
        picture = picture.resize((320, round(320 * picture.height / picture.width)))
        for radius in BLURS:
            name = f'{Path(photo).stem}_blur{radius}.png'
            picture.filter(ImageFilter.GaussianBlur(radius)).save(images / name)
            rows.append((name, 5 - radius + 0.3 * offset))
    with open(folder / 'meta_info.csv', 'w', newline='') as handle:
        csv.writer(handle).writerows([('img_name', 'mos'), *rows])
    options = folder / 'examples.yml'
    options.write_text(
        yaml.safe_dump(
            {
                'examples': {
                    'type': 'GeneralNRDataset',
                    'dataroot_target': str(images),
                    'meta_info_file': str(folder / 'meta_info.csv'),
                }
            }
        )
    )
    return options


def quantized_png(content: bytes, out: Path) -> Path:
    """Save a screenshot with a 160-colour palette (text stays sharp; the file stays small)."""
    Image.open(io.BytesIO(content)).convert('RGB').quantize(160).save(out, optimize=True)
    return out


def main(out_dir=ROOT / 'docs'):
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        backbone = build_tiny_model('qwen2_5_vl', folder / 'tiny-qwen')
        datasets = load_datasets([str(synthetic_dataset(folder / 'data'))])
        chosen = {'backbone': str(backbone), 'score_mode': 'expectation', 'min_region_area': 0.01}
        options = {**resolved_options('llmiqa', **chosen), 'segmenter': 'felzenszwalb_masks (a stand-in for SAM2)'}
        llmiqa = MetricSpec('llmiqa', options, False, {**chosen, 'segmenter': felzenszwalb_masks})
        specs = [llmiqa, *metric_specs(['piqe'], {})]
        out = folder / 'run'
        write_manifest(specs, datasets, out)
        run(specs, datasets, out, Processes(), 'cpu')
        build(out, worst=3)
        for fragment, name in (('', 'report_example.png'), ('llmiqa', 'report_llmiqa.png')):
            visit = visit_page(out / 'report.html', size=(1366, 860), fragment=fragment)
            if visit.console_errors or visit.failed_requests:
                sys.exit(f'the page had errors: {visit.console_errors + visit.failed_requests}')
            path = quantized_png(visit.screenshot, out_dir / name)
            print(f'{path} ({path.stat().st_size // 1024} KB)')


if __name__ == '__main__':
    main(*sys.argv[1:])
