"""Bad and awkward inputs through every entry point: `score`, `bench` and `create_metric(...)(...)`.

Each file of the corpus (pyiqa_llmiqa.testing.bad_files) is either scored -- with exactly the score
of a file whose pixels load the same -- or refused with an error that names the file and the reason.
"""

import csv
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyiqa
import pytest
import torch
import yaml
from conftest import SAM2_TEST_GENERATOR
from PIL import Image

import pyiqa_llmiqa  # noqa: F401  (registers the presets)
from pyiqa_llmiqa.bench.store import read_records
from pyiqa_llmiqa.cli import main as cli
from pyiqa_llmiqa.errors import ImageLoadError, InputError
from pyiqa_llmiqa.inputs.images import load_image
from pyiqa_llmiqa.testing.bad_files import CASES, NON_IMAGES, make_corpus, make_huge_png

HUGE = (12000, 9000)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    """ROOT/corpus/ (the bad-file corpus and non-image files) and ROOT/huge/huge.png (12000x9000)."""
    root = tmp_path_factory.mktemp('bad_inputs')
    make_corpus(root / 'corpus')
    (root / 'huge').mkdir()
    make_huge_png(root / 'huge' / 'huge.png', HUGE)
    return root


@pytest.fixture(scope='module')
def cases(data_root):
    return list(CASES)


@pytest.fixture(scope='module')
def metric(digit_backbone):
    # expectation mode: continuous scores, so equal scores mean equal pixels
    return pyiqa.create_metric('llmiqa_global', backbone=digit_backbone, score_mode='expectation', device='cpu')


def _options(backbone):
    return [
        '--metric',
        'llmiqa_global',
        '--opt',
        f'backbone={backbone}',
        '--opt',
        'score_mode=expectation',
        '--device',
        'cpu',
    ]


def _check_outcomes(cases, scores, errors):
    """``scores``: file name -> score; ``errors``: file name -> message. Each case as the corpus says."""
    for case in cases:
        if case.error:
            assert case.name not in scores, case.name
            assert case.error in errors[case.name], errors[case.name]
        else:
            assert 1 <= scores[case.name] <= 7, case.name
            if case.same_as:
                assert scores[case.name] == pytest.approx(scores[case.same_as], abs=1e-6), case.name


def test_create_metric_scores_each_file_or_names_the_reason(metric, cases, data_root):
    scores, errors = {}, {}
    for case in cases:
        path = data_root / 'corpus' / case.name
        try:
            scores[case.name] = metric(str(path)).item()
        except ImageLoadError as error:
            assert str(path) in str(error)
            errors[case.name] = str(error)
        except InputError as error:  # about the pixels of the one image passed
            errors[case.name] = str(error)
    _check_outcomes(cases, scores, errors)
    assert metric(data_root / 'corpus' / 'rgb.png').item() == scores['rgb.png']  # pathlib.Path too


def test_other_pyiqa_metrics_read_files_as_before(data_root):
    from pyiqa.models.inference_model import InferenceModel
    from pyiqa.utils.img_util import imread2tensor

    pyiqa_llmiqa.register()
    pyiqa_llmiqa.register()
    assert not hasattr(InferenceModel._to_batched_tensor.__wrapped__, 'llmiqa_wrapped')  # wrapped once
    path = str(data_root / 'corpus' / 'exif_rotated.jpg')
    piqe = pyiqa.create_metric('piqe', device='cpu')
    assert torch.equal(piqe._to_batched_tensor(path), imread2tensor(path, rgb=True).unsqueeze(0))


def test_exif_rotation_is_applied_before_scoring(metric, data_root):
    path = data_root / 'corpus' / 'exif_rotated.jpg'
    with Image.open(path) as stored:  # the pixels as stored, lying on their side
        sideways = torch.from_numpy(np.asarray(stored.convert('RGB')).copy()).permute(2, 0, 1)[None] / 255
    upright = metric(str(data_root / 'corpus' / 'upright.png'))
    assert metric(str(path)) == upright
    assert metric(sideways) != upright  # the test can tell a sideways picture from an upright one


def test_pil_images_are_converted_like_files(metric, data_root):
    corpus = data_root / 'corpus'
    with Image.open(corpus / 'gray16.png') as gray16, Image.open(corpus / 'rgba.png') as rgba:
        assert metric(gray16).item() == metric(str(corpus / 'gray.png')).item()
        assert metric(rgba).item() == metric(str(corpus / 'rgb.png')).item()


@pytest.mark.parametrize(
    'tensor, reason',
    [
        (torch.full((1, 3, 32, 32), float('nan')), 'NaN'),
        (torch.rand(1, 3, 32, 32) * 2, 'must lie in [0, 1]'),
        (torch.rand(1, 3, 32, 32) - 0.5, 'must lie in [0, 1]'),
        (torch.rand(3, 32, 32), 'shape (N, 3, H, W)'),
        (torch.rand(1, 4, 32, 32), 'shape (N, 3, H, W)'),
        (torch.rand(1, 1, 3, 32, 32), 'shape (N, 3, H, W)'),
        (torch.zeros(0, 3, 32, 32), 'empty'),
        (torch.randint(0, 255, (1, 3, 32, 32), dtype=torch.uint8), 'float tensor'),
        (np.random.rand(1, 3, 32, 32), 'got ndarray'),
    ],
    ids=['nan', 'above_1', 'below_0', '3d', '4_channels', '5d', 'empty', 'uint8', 'numpy'],
)
def test_bad_tensors_are_refused_with_the_reason(metric, tensor, reason):
    with pytest.raises(InputError) as error:
        metric(tensor)
    assert reason in str(error.value)


@pytest.mark.parametrize('size', [(1, 1), (3, 5), (1, 13)])
def test_images_smaller_than_a_patch_are_scored(metric, size):
    """The processor scales them up to its min_pixels (Qwen2.5-VL: 56x56)."""
    height, width = size
    assert 1 <= metric(torch.rand(2, 3, height, width)).min() <= 7


def test_score_command_over_a_folder_with_bad_files(cases, data_root, digit_backbone, capsys):
    corpus = data_root / 'corpus'
    code = cli.main(['score', str(corpus), str(corpus / 'missing.jpg'), '--json', *_options(digit_backbone)])
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    scores = {Path(r['image']).name: r['score'] for r in records}
    errors = {Path(line.split(': ')[1]).name: line for line in err.splitlines() if line.startswith(f'error: {corpus}')}
    _check_outcomes(cases, scores, errors)
    failed = sum(bool(case.error) for case in cases)
    assert code == 1 and f'error: {failed} of {len(cases)} images failed' in err
    assert 'Traceback' not in err and not any(name in out + err for name in NON_IMAGES)


def _write_dataset(root: Path, names) -> Path:
    with open(root / 'meta_info.csv', 'w', newline='') as handle:
        csv.writer(handle).writerows([('img_name', 'mos'), *((name, 3.0 + i % 3) for i, name in enumerate(names))])
    options = {
        'bad_inputs': {
            'name': 'BadInputs',
            'type': 'GeneralNRDataset',
            'dataroot_target': str(root),
            'meta_info_file': str(root / 'meta_info.csv'),
        }
    }
    path = root / 'bad_inputs.yml'
    path.write_text(yaml.safe_dump(options))
    return path


def test_bench_scores_the_good_files_and_records_why_the_bad_failed(cases, data_root, digit_backbone, tmp_path):
    names = [f'corpus/{case.name}' for case in cases] + ['huge/huge.png']
    dataset = _write_dataset(data_root, names)
    out = tmp_path / 'out'
    assert (
        cli.main(
            [
                'bench',
                '--dataset',
                str(dataset),
                '--metrics',
                'llmiqa_global',
                '--out',
                str(out),
                *_options(digit_backbone)[2:],
            ]
        )
        == 0
    )
    (results,) = (out / 'predictions' / 'bad_inputs').glob('llmiqa_global-*.jsonl')
    records = {r['image']: r for r in read_records(results)}
    assert set(records) == set(names)
    assert 1 <= records.pop('huge/huge.png')['score'] <= 7
    scores = {Path(name).name: r['score'] for name, r in records.items() if 'score' in r}
    errors = {Path(name).name: r['error'] for name, r in records.items() if 'error' in r}
    _check_outcomes(cases, scores, errors)
    assert not any('Traceback' in message for message in errors.values())
    with open(out / 'correlations.csv', newline='') as handle:
        (row,) = list(csv.DictReader(handle))
    assert int(row['failed']) == len(errors) == sum(bool(case.error) for case in cases)


def test_huge_image_through_create_metric(metric, data_root):
    path = data_root / 'huge' / 'huge.png'
    assert 1 <= metric(str(path)).item() <= 7
    assert load_image(path).size == HUGE  # read whole, without Pillow's decompression-bomb warning


def test_truncated_files_are_refused_even_when_pillow_is_told_to_accept_them(data_root, monkeypatch):
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, 'LOAD_TRUNCATED_IMAGES', True)  # as importing pyiqa.data does
    with pytest.raises(ImageLoadError, match='truncated or corrupt'):
        load_image(data_root / 'corpus' / 'truncated.jpg')
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # left as it was


def test_pixel_limit_refuses_decompression_bombs(data_root, monkeypatch):
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 1000)  # refused beyond twice the limit
    with pytest.raises(ImageLoadError, match='too many pixels to decode safely'):
        load_image(data_root / 'corpus' / 'rgb.png')  # 48x64 = 3072 pixels


def _memory_limit():
    limit = 8 * 2**30  # a regression (full-resolution SAM2 post-processing: ~80 GB) fails, not the machine
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_huge_and_tiny_images_mix_grained_in_bounded_memory(data_root, digit_backbone, sam2_checkpoint):
    """12000x9000 and 1x1 with the real SAM2 segmenter, in a process capped at 8 GB of address space."""
    generator = {**SAM2_TEST_GENERATOR, 'points_per_side': 1}
    options = [
        f'backbone={digit_backbone}',
        'segmenter.config=sam2.1_hiera_t',
        f'segmenter.checkpoint={sam2_checkpoint}',
        *(f'mask_generator.{k}={v}' for k, v in generator.items()),
    ]
    command = [
        sys.executable,
        '-m',
        'pyiqa_llmiqa.cli.main',
        'score',
        str(data_root / 'huge' / 'huge.png'),
        str(data_root / 'corpus' / 'one_pixel.png'),
        '--metric',
        'llmiqa',
        '--json',
        '--device',
        'cpu',
        *(a for o in options for a in ('--opt', o)),
    ]
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'CUDA_VISIBLE_DEVICES': ''}
    done = subprocess.run(command, capture_output=True, text=True, env=env, preexec_fn=_memory_limit, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    record, tiny = [json.loads(line) for line in done.stdout.splitlines()]
    assert 1 <= tiny['score'] <= 7 and all(region['bbox'] == [0, 0, 1, 1] for region in tiny['regions'])
    assert record['n_masks'] >= 1 and record['regions']
    for region in record['regions']:  # boxes and areas in the original's pixels
        x, y, w, h = region['bbox']
        assert 0 <= x and 0 <= y and x + w <= HUGE[0] and y + h <= HUGE[1] and region['area'] <= w * h
    assert max(region['bbox'][2] for region in record['regions']) > 1024


def test_a_folder_given_to_create_metric_is_an_error(metric, data_root):
    folder = data_root / 'corpus'
    with pytest.raises(ImageLoadError) as error:
        metric(str(folder))
    assert str(error.value) == f'{folder}: is a folder, not an image file'
