"""`pyiqa-llmiqa score PATHS --out FILE.jsonl`: one record per image, resumable, locked, sharded."""

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pyiqa_llmiqa.bench import collection
from pyiqa_llmiqa.bench.store import read_records
from pyiqa_llmiqa.cli import main as cli

CORRUPT = 'zz_corrupt.png'


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    """Six small noise images of different sizes and one corrupt PNG."""
    root = tmp_path_factory.mktemp('collection')
    rng = np.random.default_rng(3)
    for i in range(6):
        pixels = rng.integers(0, 256, (24 + 8 * i, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f'img{i}.png')
    (root / CORRUPT).write_bytes(b'\x89PNG\r\n\x1a\n not really a png')
    return root


def options(backbone, *extra):
    return ['--metric', 'llmiqa_global', '--opt', f'backbone={backbone}', '--device', 'cpu', *extra]


def names(records):
    return [Path(r['image']).name for r in records]


@pytest.fixture
def loads(monkeypatch):
    """The images that the collection run opens, by file name."""
    opened = []
    load = collection.load_image

    def spy(path):
        opened.append(Path(path).name)
        return load(path)

    monkeypatch.setattr(collection, 'load_image', spy)
    return opened


@pytest.fixture(scope='module')
def first_run(folder, digit_backbone, tmp_path_factory):
    out = tmp_path_factory.mktemp('out') / 'scores.jsonl'
    code = cli.main(['score', str(folder), '--out', str(out), *options(digit_backbone)])
    return out, code


def test_every_image_has_one_record_with_the_fields_of_json(first_run, folder, digit_backbone, capsys):
    out, code = first_run
    assert code == 1  # one image failed
    records = read_records(out)
    assert names(records) == [f'img{i}.png' for i in range(6)] + [CORRUPT]
    assert cli.main(['score', str(folder / 'img2.png'), '--json', *options(digit_backbone)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert records[2] == printed  # same path text, same fields, same values
    assert 'not an image file that Pillow can read' in records[-1]['error'] and 'score' not in records[-1]
    assert not list(out.parent.glob('*.rank*.jsonl'))


def test_the_summary_counts_and_describes_the_scores(folder, digit_backbone, tmp_path, capsys):
    out = tmp_path / 'scores.jsonl'
    assert cli.main(['score', str(folder), '--out', str(out), *options(digit_backbone)]) == 1
    printed = capsys.readouterr()
    scores = np.array([r['score'] for r in read_records(out) if 'score' in r])
    assert '7 images: 6 scored, 1 failed' in printed.out
    assert f'mean {scores.mean():.3f}' in printed.out
    q1, q2, q3 = np.percentile(scores, [25, 50, 75])
    assert f'quartiles {q1:.3f} {q2:.3f} {q3:.3f}' in printed.out
    bars = [line for line in printed.out.splitlines() if ' | ' in line]
    assert sum(int(line.split()[-1]) for line in bars) == 6
    assert '1 of 7 images failed' in printed.err


def test_a_rerun_scores_nothing_again_unless_told_to_retry_the_failures(first_run, folder, digit_backbone, loads):
    out, _ = first_run
    before = out.read_bytes()
    assert cli.main(['score', str(folder), '--out', str(out), *options(digit_backbone)]) == 1
    assert loads == [] and out.read_bytes() == before
    assert cli.main(['score', str(folder), '--out', str(out), *options(digit_backbone), '--retry-failed']) == 1
    assert loads == [CORRUPT]
    assert names(read_records(out)) == names(json.loads(line) for line in before.splitlines())


def test_a_new_image_in_the_folder_is_the_only_one_scored(folder, digit_backbone, tmp_path, loads):
    out = tmp_path / 'scores.jsonl'
    assert cli.main(['score', str(folder / 'img0.png'), '--out', str(out), *options(digit_backbone)]) == 0
    both = [str(folder / 'img0.png'), str(folder / 'img1.png')]
    assert cli.main(['score', *both, '--out', str(out), *options(digit_backbone)]) == 0
    assert loads == ['img0.png', 'img1.png']
    assert names(read_records(out)) == ['img0.png', 'img1.png']


def test_other_settings_are_refused_and_the_file_is_left_alone(first_run, folder, digit_backbone, capsys):
    out, _ = first_run
    before = out.read_bytes()
    changed = options(digit_backbone, '--opt', 'score_mode=expectation')
    assert cli.main(['score', str(folder), '--out', str(out), *changed]) == 2
    assert 'holds scores of other settings' in capsys.readouterr().err
    assert out.read_bytes() == before


def test_a_file_locked_by_another_run_is_refused(folder, digit_backbone, tmp_path, capsys):
    out = tmp_path / 'scores.jsonl'
    with open(tmp_path / 'scores.jsonl.lock', 'a') as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert cli.main(['score', str(folder), '--out', str(out), *options(digit_backbone)]) == 2
    assert 'another run is writing it' in capsys.readouterr().err
    assert not out.exists()


def test_only_json_lines_are_written(folder, digit_backbone, tmp_path, capsys):
    assert cli.main(['score', str(folder), '--out', str(tmp_path / 'scores.csv'), *options(digit_backbone)]) == 2
    assert 'ending in .jsonl' in capsys.readouterr().err


def test_unreadable_files_alone_need_no_model(tmp_path, capsys):
    (tmp_path / 'a.png').write_bytes(b'')
    out = tmp_path / 'scores.jsonl'
    # a model that does not exist would fail to load: the run never gets that far
    code = cli.main(['score', str(tmp_path / 'a.png'), '--out', str(out), *options(str(tmp_path / 'no_model'))])
    assert code == 1
    (record,) = read_records(out)
    assert record['error'].endswith('the file is empty')


def _command(paths, out, backbone):
    return [sys.executable, '-m', 'pyiqa_llmiqa.cli.main', 'score', *map(str, paths), '--out', str(out)] + options(
        backbone
    )


def test_a_kill_in_the_middle_loses_nothing_and_scores_nothing_twice(digit_backbone, tmp_path):
    rng = np.random.default_rng(5)
    images = tmp_path / 'many'
    images.mkdir()
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(images / f'{i:03d}.png')
    out = tmp_path / 'scores.jsonl'
    env = {**os.environ, 'HF_HUB_OFFLINE': '1'}
    log = open(tmp_path / 'stderr.txt', 'wb')  # a file, not a pipe: the bar cannot fill it and block
    run = subprocess.Popen(_command([images], out, digit_backbone), env=env, stdout=subprocess.DEVNULL, stderr=log)
    part = tmp_path / 'scores.rank0.jsonl'
    deadline = time.monotonic() + 240
    while not (part.exists() and part.read_bytes().count(b'\n') >= 5):
        assert run.poll() is None and time.monotonic() < deadline, (tmp_path / 'stderr.txt').read_text()[-2000:]
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait()
    log.close()
    kept = [r['image'] for r in read_records(part)]
    assert 5 <= len(kept) < 40
    done = subprocess.run(_command([images], out, digit_backbone), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f'{len(kept)} of 40 images already in' in done.stderr
    records = read_records(out)
    assert Counter(names(records)) == Counter(f'{i:03d}.png' for i in range(40))
    assert names(records) == sorted(names(records))
    assert not part.exists()


def test_two_processes_split_the_folder_and_merge_into_the_records_of_one(first_run, folder, digit_backbone, tmp_path):
    out = tmp_path / 'scores.jsonl'
    command = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2']
    command += ['-m', 'pyiqa_llmiqa.cli.main', 'score', str(folder), '--out', str(out), *options(digit_backbone)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, 'HF_HUB_OFFLINE': '1'}
    )
    assert done.returncode == 1, done.stderr[-3000:]  # the corrupt image failed
    assert done.stdout.count('7 images: 6 scored, 1 failed') == 1  # the main process alone sums up
    assert '| 4/4 [' in done.stderr and '/7 [' not in done.stderr  # its bar: its own share, images 1, 3, 5, 7
    two, one = read_records(out), read_records(first_run[0])
    assert [(r['image'], r.get('error')) for r in two] == [(r['image'], r.get('error')) for r in one]
    # torchrun runs one thread per process: floating-point sums may differ in the last bits
    scores = [[r['score'] for r in run if 'score' in r] for run in (two, one)]
    assert len(scores[0]) == 6 and scores[0] == pytest.approx(scores[1], rel=1e-6)
    assert not list(tmp_path.glob('*.rank*.jsonl'))


def test_each_file_is_read_just_before_it_is_scored_and_the_model_built_at_the_first_readable_one(
    tmp_path, monkeypatch
):
    from pyiqa_llmiqa.bench.processes import Processes

    for name in ('a.png', 'c.png'):
        Image.new('RGB', (8, 8)).save(tmp_path / name)
    (tmp_path / 'b.png').write_bytes(b'')
    events = []

    def build():
        events.append('build')

        def score(image):
            events.append('score')
            return {'score': 1.0}

        return score

    paths = [tmp_path / 'b.png', tmp_path / 'a.png', tmp_path / 'c.png']
    store = collection.collection_store(tmp_path / 'out.jsonl')
    load = collection.load_image
    monkeypatch.setattr(collection, 'load_image', lambda path: events.append(f'load {Path(path).name}') or load(path))
    records = collection.score_collection(paths, store, {'metric': 'm', 'key': 'k'}, Processes(), build)
    # b.png is refused by its stat alone; nothing is loaded ahead of its turn
    assert events == ['build', 'load a.png', 'score', 'load c.png', 'score']
    assert list(records) == list(map(str, paths))
    assert records[str(paths[0])]['error'].endswith('the file is empty')


def test_an_image_the_server_failed_is_scored_again_on_the_next_run_without_asking(tmp_path):
    from pyiqa_llmiqa.bench.processes import Processes
    from pyiqa_llmiqa.errors import ServerError

    Image.new('RGB', (8, 8)).save(tmp_path / 'a.png')
    answers = iter([ServerError('http://127.0.0.1:8000: 503 Service Unavailable'), {'score': 2.0}])

    def score(image):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    store = collection.collection_store(tmp_path / 'out.jsonl')
    about = {'metric': 'm', 'key': 'k'}
    first = collection.score_collection([tmp_path / 'a.png'], store, about, Processes(), lambda: score)
    assert first[str(tmp_path / 'a.png')]['error'].endswith('503 Service Unavailable')
    second = collection.score_collection([tmp_path / 'a.png'], store, about, Processes(), lambda: score)
    assert second == {str(tmp_path / 'a.png'): {'image': str(tmp_path / 'a.png'), 'score': 2.0}}
