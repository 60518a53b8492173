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
from pyiqa_llmiqa.errors import ImageLoadError, InputError, OptionError
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
        (torch.rand(1, 3, 32, 32).to_sparse(), 'expected a dense tensor'),
    ],
    ids=['nan', 'above_1', 'below_0', '3d', '4_channels', '5d', 'empty', 'uint8', 'numpy', 'sparse'],
)
def test_bad_tensors_are_refused_with_the_reason(metric, tensor, reason):
    with pytest.raises(InputError) as error:
        metric(tensor)
    assert reason in str(error.value)


@pytest.mark.parametrize(
    'image, reason',
    [
        (Image.new('RGB', (0, 0)), 'the image is empty (0x0 pixels)'),
        (Image.new('L', (5, 0)), 'the image is empty (5x0 pixels)'),
        (Image.fromarray(np.full((4, 4), np.nan, np.float32)), 'the float image (mode F) holds NaN values'),
        (Image.fromarray(np.full((4, 4), 200, np.float32)), 'must lie in [0, 1], as float tensors do'),
        (Image.new('La', (4, 4)), 'an image of mode La cannot be converted to RGB'),
    ],
    ids=['0x0', '5x0', 'float_nan', 'float_200', 'La'],
)
def test_bad_pil_images_are_refused_with_the_reason(metric, image, reason):
    with pytest.raises(InputError) as error:
        metric(image)
    assert reason in str(error.value)


def test_a_float_pil_image_in_0_1_scores_as_the_same_float_tensor(metric):
    values = np.random.default_rng(3).random((40, 56), dtype=np.float32)
    tensor = torch.from_numpy(values)[None, None].expand(1, 3, -1, -1)
    assert metric(Image.fromarray(values, 'F')).item() == metric(tensor).item()


def test_a_200_to_1_tensor_that_must_be_downscaled_is_scored(metric):
    """300 x 60000 has more than 4096x4096 pixels: downscaled, it must stay within 200:1."""
    assert 1 <= metric(torch.rand(1, 3, 300, 60000)).item() <= 7
    assert 1 <= metric(torch.rand(1, 3, 60000, 300)).item() <= 7


def test_a_segmenter_callable_with_masks_of_0_and_255_is_named(digit_backbone):
    def uint8_masks(pixels):  # as OpenCV writes masks
        return [np.full(pixels.shape[:2], 255, np.uint8)]

    metric = pyiqa.create_metric('llmiqa', backbone=digit_backbone, device='cpu', segmenter=uint8_masks)
    with pytest.raises(OptionError, match=r'^the segmenter returned mask 0 as uint8 \(32, 40\) for an image of 40x32'):
        metric(torch.rand(1, 3, 32, 40))


@pytest.mark.parametrize('size', [(1, 1), (3, 5), (1, 13)])
def test_images_smaller_than_a_patch_are_scored(metric, size):
    """The processor scales them up to its min_pixels (Qwen2.5-VL: 56x56)."""
    height, width = size
    assert 1 <= metric(torch.rand(2, 3, height, width)).min() <= 7


NOT_REGULAR = ('fifo.png', 'loop.png')  # a folder scan skips them: named on the command line to see why


def test_score_command_over_a_folder_with_bad_files(cases, data_root, digit_backbone, capsys):
    corpus = data_root / 'corpus'
    named = [str(corpus / name) for name in ('missing.jpg', *NOT_REGULAR)]
    code = cli.main(['score', str(corpus), *named, '--json', *_options(digit_backbone)])
    out, err = capsys.readouterr()
    assert err.count('note: skipped 2 folder entries with an image extension that are not regular files') == 1
    records = [json.loads(line) for line in out.splitlines()]
    scores = {Path(r['image']).name: r['score'] for r in records}
    errors = {Path(line.split(': ')[1]).name: line for line in err.splitlines() if line.startswith(f'error: {corpus}')}
    _check_outcomes(cases, scores, errors)
    failed = sum(bool(case.error) for case in cases)
    assert code == 1 and f'error: {failed} of {len(cases)} images failed' in err
    assert 'Traceback' not in err and not any(name in out + err for name in NON_IMAGES)


def test_a_command_line_with_no_scorable_file_fails_before_the_model_loads(data_root, tmp_path, capsys):
    corpus = data_root / 'corpus'
    named = [corpus / name for name in ('missing.jpg', *NOT_REGULAR, 'empty.jpg')]
    missing_model = tmp_path / 'no_model'  # loading it would fail: the run must end before
    code = cli.main(['score', *map(str, named), *_options(missing_model)])
    out, err = capsys.readouterr()
    assert (code, out) == (1, '')
    assert err.splitlines() == [
        f'error: {named[0]}: no such file',
        f'error: {named[1]}: not a regular file but a FIFO (named pipe)',
        f'error: {named[2]}: cannot be read (Too many levels of symbolic links)',
        f'error: {named[3]}: the file is empty',
        'error: 4 of 4 images failed',
    ]


# file name on disk -> how every output (plain line, JSON, error line) writes it
ODD_NAMES = {
    b'bad\xff.png': r'bad\xff.png',  # not UTF-8
    b'new\nline.png': r'new\nline.png',
    b'tab\there.png': r'tab\there.png',
    'caf\u00e9.png'.encode(): 'caf\u00e9.png',  # UTF-8: written as it is
}


def _score_in_a_process(paths, backbone, encoding, *extra):
    command = [sys.executable, '-m', 'pyiqa_llmiqa.cli.main', 'score', *map(str, paths), *_options(backbone), *extra]
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'CUDA_VISIBLE_DEVICES': '', 'PYTHONIOENCODING': encoding}
    done = subprocess.run(command, capture_output=True, env=env, timeout=300)
    return done.returncode, done.stdout.decode(encoding), done.stderr.decode(encoding, 'replace')


def test_odd_file_names_are_written_escaped_the_same_way_in_every_output(digit_backbone, tmp_path):
    folder = tmp_path / 'odd'
    folder.mkdir()
    for name in ODD_NAMES:
        Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(os.path.join(os.fsencode(folder), name))
    broken = os.path.join(os.fsencode(folder), b'broken\xff.jpg')
    Path(os.fsdecode(broken)).write_text('not a JPEG')
    shown = {f'{folder}/{name}' for name in ODD_NAMES.values()}
    error = f'error: {folder}/broken\\xff.jpg: not an image file that Pillow can read'

    code, out, err = _score_in_a_process([folder], digit_backbone, 'utf-8')
    assert code == 1, err[-3000:]
    lines = out.splitlines()
    assert len(lines) == len(ODD_NAMES) and all(line.count('\t') == 1 for line in lines)
    assert {line.split('\t')[0] for line in lines} == shown
    assert error in err.splitlines() and 'Traceback' not in err

    code, out, err = _score_in_a_process([folder], digit_backbone, 'utf-8', '--json')
    assert code == 1 and {json.loads(line)['image'] for line in out.splitlines()} == shown
    assert error in err.splitlines()

    # a stream that cannot write the name's characters: escaped by Python's backslashreplace
    code, out, err = _score_in_a_process([folder / 'caf\u00e9.png'], digit_backbone, 'ascii')
    assert code == 0, err[-3000:]
    assert out.split('\t')[0] == f'{folder}/caf\\xe9.png'


def test_explain_writes_an_odd_name_as_score_does(digit_backbone, tmp_path, capsys):
    image = os.fsdecode(os.path.join(os.fsencode(tmp_path), b'odd\xff\n.png'))
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(image)
    out = tmp_path / 'explained.png'
    assert cli.main(['explain', image, '-o', str(out), '--json', *_options(digit_backbone)]) == 0
    record, line = capsys.readouterr().out.splitlines()
    assert json.loads(record)['image'] == rf'{tmp_path}/odd\xff\n.png'
    assert line.startswith(rf'{tmp_path}/odd\xff\n.png' + '\t') and line.endswith(f'\t-> {out}')


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
