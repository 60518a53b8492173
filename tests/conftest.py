"""Shared fixtures: tiny random-weight backbones saved to disk and loaded like a user's model."""

import os

# Downloads are off for the suite; the user's own setting is kept for the one test module that may
# download: tests/test_real_model_files.py, the published non-weight files at pinned revisions.
os.environ['LLMIQA_USER_HUB_OFFLINE'] = os.environ.get('HF_HUB_OFFLINE') or os.environ.get('TRANSFORMERS_OFFLINE') or ''
os.environ['HF_HUB_OFFLINE'] = '1'  # before anything imports huggingface_hub
os.environ['PYIQA_LLMIQA_PRESETS'] = os.devnull  # no user presets file but a test's own

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pyiqa_llmiqa.testing.level_answers import boost_level_rows
from pyiqa_llmiqa.testing.sam2_checkpoints import save_random_sam2_checkpoint
from pyiqa_llmiqa.testing.tiny_models import build_tiny_model


@pytest.fixture(autouse=True)
def no_notice_shown_yet(monkeypatch):
    """Each test starts as a fresh process would: no once-per-process warning shown yet."""
    from pyiqa_llmiqa.common import notices

    monkeypatch.setattr(notices, '_shown', set())


@pytest.fixture(scope='session')
def hub_downloads_allowed():
    """Whether the user left downloads on (no HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE) before the suite."""
    return os.environ['LLMIQA_USER_HUB_OFFLINE'].strip().lower() not in ('1', 'true', 'yes', 'on')


@pytest.fixture(scope='session')
def tiny_backbone(tmp_path_factory):
    """A tiny Qwen2.5-VL folder whose random answers are mostly not digits."""
    return str(build_tiny_model('qwen2_5_vl', tmp_path_factory.mktemp('tiny_qwen2_5_vl')))


@pytest.fixture(scope='session')
def digit_backbone(tiny_backbone, tmp_path_factory):
    """A tiny Qwen2.5-VL folder whose answers are digits."""
    return str(boost_level_rows(tiny_backbone, tmp_path_factory.mktemp('tiny_digits')))


@pytest.fixture(scope='session')
def images():
    """Four small RGB images of different sizes and content."""
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (72, 96, 3), dtype=np.uint8))
    ramp = np.linspace(0, 255, 128 * 80, dtype=np.float64).reshape(80, 128)
    gradient = Image.fromarray(np.stack([ramp, ramp[::-1], np.full_like(ramp, 90)], -1).astype(np.uint8))
    flat = Image.new('RGB', (64, 64), (200, 40, 40))
    tall = Image.fromarray(rng.integers(60, 200, (120, 56, 3), dtype=np.uint8))
    return [noise, gradient, flat, tall]


@pytest.fixture(scope='session')
def sam2_checkpoint(tmp_path_factory):
    """A random-weight SAM2.1 hiera-tiny checkpoint, saved as sam2 saves its own."""
    return save_random_sam2_checkpoint(tmp_path_factory.mktemp('sam2') / 'sam2.1_hiera_t_random.pt')


# Table 2 of the paper's appendix ("Parameters of SAM2"), written out from the appendix: what the
# resolved options must show and SAM2 must run with; everything else keeps sam2's default.
TABLE_2 = {
    'points_per_side': 8,
    'points_per_batch': 128,
    'pred_iou_thresh': 0.9,
    'stability_score_thresh': 0.8,
    'stability_score_offset': 0.7,
    'crop_n_layers': 0,
    'box_nms_thresh': 0.9,
    'crop_n_points_downscale_factor': 1.2,
    'min_mask_region_area': 1000,
    'use_m2m': False,
    'output_mode': 'coco_rle',
}


# Lowered thresholds so random SAM2 weights return masks; few points keep it fast.
SAM2_TEST_GENERATOR = {
    'pred_iou_thresh': 0.0,
    'stability_score_thresh': 0.0,
    'box_nms_thresh': 1.0,
    'points_per_side': 2,
}


DATA = Path(__file__).parent / 'data'


@pytest.fixture(scope='session')
def mos_file(tmp_path_factory):
    """A function giving the path of a real MOS file of tests/data/mos (its README names the
    sources), decompressed once per session, so the code reads it as it reads a user's CSV."""
    import lzma

    folder = tmp_path_factory.mktemp('mos')

    def path(name: str) -> Path:
        target = folder / name
        if not target.exists():
            target.write_bytes(lzma.decompress((DATA / 'mos' / f'{name}.xz').read_bytes()))
        return target

    return path


def shapes_image(height=192, width=256):
    """A green picture with a red box, a blue disc and a yellow bar: SAM2 finds several masks."""
    image = np.full((height, width, 3), (40, 120, 60), np.uint8)
    image[20:100, 30:120] = (220, 30, 30)
    yy, xx = np.mgrid[:height, :width]
    image[(yy - 130) ** 2 + (xx - 190) ** 2 < 45**2] = (30, 40, 210)
    image[150:180, 20:90] = (240, 230, 40)
    return image


@pytest.fixture
def ascii_locale():
    """The C locale's ASCII as the default text encoding (as a Windows code page or a bare container
    would give), so a file opened without its encoding fails on non-ASCII bytes."""
    import locale

    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, 'C')
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, before)


@pytest.fixture
def chromium():
    """Headless Chromium for the reports' browser tests: a skip where it is missing, a failure under CI
    (which installs it)."""
    from pyiqa_llmiqa.testing.browser import find_chromium

    found = find_chromium()
    if found is None:
        message = 'Chromium is not installed (Debian: apt-get install chromium); the browser test needs it'
        if os.environ.get('CI', '').lower() in ('1', 'true', 'yes'):
            pytest.fail(message)
        pytest.skip(message)
    return found
