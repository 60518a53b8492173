"""The command line end to end: a local backbone, a local SAM2 checkpoint, JSON and a picture."""

import contextlib
import io
import json

import numpy as np
import pytest
from conftest import SAM2_TEST_GENERATOR
from PIL import Image

from pyiqa_llmiqa.cli.main import main


@pytest.fixture(scope='module')
def photo(tmp_path_factory):
    """A 160x120 picture with a few flat shapes on a gradient."""
    ramp = np.linspace(40, 220, 160)[None, :, None].repeat(120, 0).repeat(3, 2)
    pixels = ramp.astype(np.uint8)
    pixels[20:70, 15:80] = (200, 30, 30)
    pixels[60:110, 90:150] = (30, 160, 60)
    path = tmp_path_factory.mktemp('photos') / 'photo.png'
    Image.fromarray(pixels).save(path)
    return path


def _options(backbone, checkpoint):
    opts = [
        f'backbone={backbone}',
        'segmenter.config=sam2.1_hiera_t',
        f'segmenter.checkpoint={checkpoint}',
        'score_mode=expectation',
        'min_region_area=0.01',
    ]
    opts += [f'mask_generator.{key}={value}' for key, value in SAM2_TEST_GENERATOR.items()]
    return [arg for opt in opts for arg in ('--opt', opt)] + ['--device', 'cpu']


@pytest.fixture(scope='module')
def scored(photo, digit_backbone, sam2_checkpoint):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(['score', str(photo), '--json', *_options(digit_backbone, sam2_checkpoint)]) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_score_json_has_the_documented_keys(scored, photo):
    assert {'image', 'score', 'global_score', 'local_score', 'n_masks', 'regions', 'spread'} <= set(scored)
    assert scored['image'] == str(photo)
    assert scored['n_masks'] >= 1 and scored['regions']
    for region in scored['regions']:
        assert set(region) == {'kind', 'bbox', 'area', 'score', 'spread'}
        assert 0 <= region['spread'] <= (7 - 1) / 2  # a standard deviation over levels 1..7
        x, y, w, h = region['bbox']
        assert 0 <= x and 0 <= y and x + w <= 160 and y + h <= 120 and region['area'] <= w * h


def test_regions_fuse_to_the_printed_score(scored):
    # the README's formulas with the default w = 0.5: s_local = sum(a_i s_i) / sum(a_i),
    # s = 0.5 s_global + 0.5 s_local (count term off)
    regions = scored['regions']
    local = sum(r['area'] * r['score'] for r in regions) / sum(r['area'] for r in regions)
    assert scored['local_score'] == pytest.approx(local, abs=1e-9)
    assert scored['score'] == pytest.approx(0.5 * scored['global_score'] + 0.5 * local, abs=1e-9)


def test_explain_draws_the_regions(photo, digit_backbone, sam2_checkpoint, tmp_path):
    out = tmp_path / 'explain.png'
    assert main(['explain', str(photo), '-o', str(out), *_options(digit_backbone, sam2_checkpoint)]) == 0
    picture = np.asarray(Image.open(out).convert('RGB')).astype(int)
    assert picture.shape[1] == 1540 and picture.shape[0] > 600  # 14 in at 110 dpi, two panels
    assert picture.std() > 20  # not blank
    # the right panel paints masks in tab20 colours: many pixels far from grey
    saturation = picture.max(axis=2) - picture.min(axis=2)
    assert (saturation[:, 770:] > 60).mean() > 0.05


def test_explain_reads_at_a_glance_for_a_large_photo(digit_backbone, tmp_path):
    from pyiqa_llmiqa.metric.assessment import Assessment, RegionScore
    from pyiqa_llmiqa.metric.explain import draw_assessment

    image = Image.new('RGB', (4000, 3000), (90, 120, 150))
    assessment = Assessment(
        score=5.25,
        global_score=5.0,
        local_score=5.5,
        n_masks=2,
        n_kept=1,
        regions=[
            RegionScore('mask', (100, 200, 1500, 1000), 1_200_000, 6.0),
            RegionScore('complement', (0, 0, 4000, 3000), 10_800_000, 5.0),
        ],
    )
    out = draw_assessment(image, assessment, tmp_path / 'big.png')
    width, height = Image.open(out).size
    assert (width, height) == (1540, 643)  # as for any 4:3 image: 14 x (7 x 3/4 + 0.6) in at 110 dpi


def test_failed_images_are_counted_and_the_rest_scored(tmp_path, digit_backbone, capsys):
    good = tmp_path / 'good.png'
    Image.new('RGB', (48, 40), (10, 120, 200)).save(good)
    (tmp_path / 'broken.jpg').write_bytes(b'not a jpeg')
    code = main(
        [
            'score',
            str(good),
            str(tmp_path / 'broken.jpg'),
            str(tmp_path / 'missing.png'),
            '--metric',
            'llmiqa_global',
            '--opt',
            f'backbone={digit_backbone}',
            '--device',
            'cpu',
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.startswith(f'{good}\t')
    assert 'broken.jpg: not an image file that Pillow can read' in captured.err
    assert 'missing.png: no such file' in captured.err
    assert 'error: 2 of 3 images failed' in captured.err
