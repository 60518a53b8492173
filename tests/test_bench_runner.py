"""bench's scoring loop with a stand-in metric whose scores are known: what it stores, what a second
run re-scores, how it picks up after a crash, and the progress it shows."""

import json
import re

import pytest
from PIL import Image

from pyiqa_llmiqa.bench.datasets import BenchDataset, Item
from pyiqa_llmiqa.bench.metrics import MetricSpec
from pyiqa_llmiqa.bench.processes import Processes
from pyiqa_llmiqa.bench.runner import run
from pyiqa_llmiqa.bench.store import read_records

AUGMENT = {'center_crop': 4}  # pyiqa's own transform: every image reaches the metric as 4 x 4


class StandIn:
    """A metric whose score is the red value of an image's corner over 10; it raises once on red 60
    (a model error: the image scores on a retry), and remembers the devices it was built for and the
    images it scored."""

    def __init__(self):
        self.devices, self.scored, self.sizes = [], [], []
        self.raised = False

    def build(self, device):
        self.devices.append(device)

        def score(image):
            red = image.getpixel((0, 0))[0]
            self.scored.append(red)
            self.sizes.append(image.size)
            if red == 60 and not self.raised:
                self.raised = True
                raise RuntimeError('model fell over')
            return {'score': red / 10}

        return score


@pytest.fixture
def toy(tmp_path):
    """Four 8 x 8 images (red 0, 30, 60, 90) and one name with no file, MOS 1 .. 5."""
    for i in range(4):
        Image.new('RGB', (8, 8), (30 * i, 0, 0)).save(tmp_path / f'{i}.png')
    items = [Item(f'{i}.png', tmp_path / f'{i}.png', float(i + 1)) for i in range(5)]
    return BenchDataset('toy', items, dict(AUGMENT), False, str(tmp_path))


@pytest.fixture
def metric():
    stand_in = StandIn()
    spec = MetricSpec('niqe', {'color': 'yuv'}, False, {})
    spec.build = stand_in.build
    return spec, stand_in


def stored(out, spec, dataset):
    folder = out / 'predictions' / dataset.name
    return read_records(folder / f'{spec.name}-{spec.key(dataset.augment)}.jsonl')


EXPECTED = [
    {'image': '0.png', 'mos': 1.0, 'score': 0.0},
    {'image': '1.png', 'mos': 2.0, 'score': 3.0},
    {'image': '2.png', 'mos': 3.0, 'error': 'RuntimeError: model fell over'},
    {'image': '3.png', 'mos': 4.0, 'score': 9.0},
]


def test_a_run_stores_every_image_in_order_with_its_score_or_error(tmp_path, toy, metric, capsys):
    spec, stand_in = metric
    out = tmp_path / 'out'
    run([spec], [toy], out, Processes(), device='cuda:7')
    missing = {'image': '4.png', 'mos': 5.0, 'error': f'{tmp_path / "4.png"}: no such file'}
    assert stored(out, spec, toy) == EXPECTED + [missing]
    assert stand_in.devices == ['cuda:7']  # built once, on the device asked for
    assert stand_in.sizes == [(4, 4)] * 4  # the data set's preprocessing came first
    folder = out / 'predictions' / 'toy'
    key = spec.key(AUGMENT)
    assert sorted(p.name for p in folder.iterdir()) == [f'niqe-{key}.jsonl', f'niqe-{key}.options.json']
    assert json.loads((folder / f'niqe-{key}.options.json').read_text()) == {
        'metric': 'niqe',
        'options': {'color': 'yuv'},
        'augment': AUGMENT,
        'key': key,
    }
    err = capsys.readouterr().err
    assert 'niqe on toy: 0 of 5 images already done' in err
    # the progress bar: what it scores, in images, and how many failed so far
    final = err.replace('\r', '\n').strip().splitlines()[-1]
    assert final.startswith('niqe on toy: 100%') and ' 5/5 ' in final
    assert re.search(r'[0-9.]+img/s, failed=2\]$', final) or re.search(r's/img, failed=2\]$', final), final


def test_the_bar_shows_no_failures_when_none_failed(tmp_path, toy, metric, capsys):
    spec, _ = metric
    toy.items = toy.items[:2]
    run([spec], [toy], tmp_path / 'out', Processes())
    final = capsys.readouterr().err.replace('\r', '\n').strip().splitlines()[-1]
    assert final.startswith('niqe on toy: 100%') and ' 2/2 ' in final and 'failed' not in final


def test_a_second_run_scores_nothing_again_unless_told_to_retry_the_failures(tmp_path, toy, metric, capsys):
    spec, stand_in = metric
    out = tmp_path / 'out'
    run([spec], [toy], out, Processes())
    stand_in.scored.clear()
    run([spec], [toy], out, Processes())
    assert len(stand_in.devices) == 1 and stand_in.scored == []  # nothing left to do: not even built
    assert 'niqe on toy: 5 of 5 images already done' in capsys.readouterr().err
    run([spec], [toy], out, Processes(), retry_failed=True)
    assert stand_in.scored == [60]  # the image whose scoring failed; the missing file is tried without the metric
    records = stored(out, spec, toy)
    assert records[:4] == EXPECTED[:2] + [{'image': '2.png', 'mos': 3.0, 'score': 6.0}, EXPECTED[3]]
    assert records[4]['error'].endswith('4.png: no such file')
    assert 'niqe on toy: 3 of 5 images already done' in capsys.readouterr().err


def test_a_run_picks_up_the_parts_a_killed_run_left(tmp_path, toy, metric):
    spec, stand_in = metric
    out = tmp_path / 'out'
    folder = out / 'predictions' / 'toy'
    folder.mkdir(parents=True)
    with open(folder / f'niqe-{spec.key(AUGMENT)}.rank1.jsonl', 'w') as part:  # scored by rank 1 before the kill
        part.write(json.dumps({'image': '3.png', 'mos': 4.0, 'score': 9.5}) + '\n')
        part.write(json.dumps({'image': '1.png', 'mos': 2.0, 'score': 3.5}) + '\n')
        part.write('{"image": "0.png", "sc')  # the line in flight
    toy.items = toy.items[:4]
    run([spec], [toy], out, Processes())
    assert stand_in.scored == [0, 60]
    assert [(r['image'], r.get('score')) for r in stored(out, spec, toy)] == [
        ('0.png', 0.0),
        ('1.png', 3.5),
        ('2.png', None),
        ('3.png', 9.5),
    ]
    assert not list(folder.glob('*.rank*.jsonl'))


def test_metrics_are_built_once_each_and_score_every_data_set(tmp_path, toy, metric):
    spec, stand_in = metric
    other = BenchDataset('other', toy.items[:2], {}, False, toy.root)
    second = StandIn()
    spec2 = MetricSpec('brisque', {}, True, {})
    spec2.build = second.build
    run([spec, spec2], [toy, other], tmp_path / 'out', Processes(), device='meta')
    assert (stand_in.devices, second.devices) == (['meta'], ['meta'])
    assert stand_in.scored == [0, 30, 60, 90, 0, 30] and second.scored == [0, 30, 60, 90, 0, 30]
    assert stand_in.sizes[4:] == [(8, 8), (8, 8)]  # 'other' has no preprocessing
    assert [r['score'] for r in stored(tmp_path / 'out', spec2, other)] == [0.0, 3.0]


class SecondOfTwo(Processes):
    def barrier(self):  # the first process is done merging by the time the second passes the barrier
        pass


def test_a_process_other_than_the_first_shows_no_bar_and_merges_nothing(tmp_path, toy, metric, capsys):
    spec, stand_in = metric
    out = tmp_path / 'out'
    run([spec], [toy], out, SecondOfTwo(rank=1, world=2))
    assert stand_in.scored == [30, 90]  # every second image, from the second
    assert capsys.readouterr().err == ''
    folder = out / 'predictions' / 'toy'
    assert sorted(p.name for p in folder.iterdir()) == [f'niqe-{spec.key(AUGMENT)}.rank1.jsonl']


def test_on_a_terminal_the_bar_follows_the_window_width(tmp_path, toy, metric, monkeypatch):
    """A window resized during a long run: the bar is redrawn at the new width, not cut or wrapped."""
    import fcntl
    import os
    import struct
    import sys
    import termios

    master, slave = os.openpty()

    def resize(columns):
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, columns, 0, 0))

    resize(50)
    spec, stand_in = metric
    build = stand_in.build

    def build_then_widen(device):
        score = build(device)

        def widen_then_score(image):
            resize(90)
            return score(image)

        return widen_then_score

    spec.build = build_then_widen
    with open(slave, 'w', closefd=False) as terminal:
        monkeypatch.setattr(sys, 'stderr', terminal)
        run([spec], [toy], tmp_path / 'out', Processes())
        monkeypatch.undo()
    text = os.read(master, 1 << 16).decode()
    os.close(master)
    os.close(slave)
    bars = [line for line in text.replace('\r', '\n').splitlines() if re.match(r'niqe on toy: +[0-9]+%', line)]
    assert len(bars[0]) < 50 and 50 < len(bars[-1]) < 90, bars
