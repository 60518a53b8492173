"""bench's results on disk and the figures read back from them, with no model: records are written
as a run writes them, and the correlations are worked out by hand."""

import csv
import json
import math

import pytest

from pyiqa_llmiqa.bench.datasets import BenchDataset, Item
from pyiqa_llmiqa.bench.manifest import RunMetric
from pyiqa_llmiqa.bench.metrics import MetricSpec
from pyiqa_llmiqa.bench.report import evaluate, markdown, write_long_csv, write_pyiqa_csv
from pyiqa_llmiqa.bench.runner import result_store, score_item
from pyiqa_llmiqa.bench.store import ResultStore, read_records


def _dataset(mos, lower_better=False, augment=None):
    items = [Item(f'{i}.png', f'/nowhere/{i}.png', m) for i, m in enumerate(mos)]
    return BenchDataset('toy', items, augment or {}, lower_better)


def _spec(lower_better=False):
    return MetricSpec('niqe', {'a': 1}, lower_better, {})


def _run(spec, dataset):
    """The metric as a run records it (run.json): its name, sides and the key of its results."""
    return RunMetric(spec.name, spec.lower_better, spec.is_llmiqa, None, {dataset.name: spec.key(dataset.augment)})


def _store(out, spec, dataset, scores):
    store = result_store(out, spec, dataset)
    with store.appender(0) as append:
        for item, score in zip(dataset.items, scores):
            append(
                {
                    'image': item.name,
                    'mos': item.mos,
                    **({'error': score} if isinstance(score, str) else {'score': score}),
                }
            )
    store.merge([item.name for item in dataset.items])
    return store


def test_the_store_lives_under_predictions_dataset_metric_key(tmp_path):
    spec, dataset = _spec(), _dataset([1, 2, 3])
    store = result_store(tmp_path, spec, dataset)
    assert store.path == tmp_path / 'predictions' / 'toy' / f'niqe-{spec.key({})}.jsonl'


@pytest.mark.parametrize(
    'metric_lower, mos_lower, turned',
    [
        (False, False, False),
        (True, False, True),
        (False, True, True),
        (True, True, False),
    ],
)
def test_the_sign_is_turned_once_when_exactly_one_side_is_lower_better(tmp_path, metric_lower, mos_lower, turned):
    mos = [1.0, 2.0, 3.0, 4.0]
    scores = [10.0, 30.0, 20.0, 40.0]  # ranks 1 3 2 4 against 1 2 3 4
    spec, dataset = _spec(metric_lower), _dataset(mos, mos_lower)
    _store(tmp_path, spec, dataset, scores)
    row = evaluate(_run(spec, dataset), dataset, tmp_path)
    # SRCC by hand: d = (0, 1, -1, 0), 1 - 6 * 2 / (4 * 15) = 0.8; turning the sign gives -0.8
    assert row.sign_turned is turned
    assert row.figures['srcc'] == pytest.approx(-0.8 if turned else 0.8)
    assert (row.mos, row.scores) == (mos, scores)


@pytest.mark.filterwarnings('ignore:logistic_4params needs at least 4 pairs')
def test_failed_and_missing_images_are_counted_not_scored(tmp_path):
    spec, dataset = _spec(), _dataset([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    _store(tmp_path, spec, dataset, [1.0, 'ImageLoadError: x', 3.0, 2.0])  # 5.png and 6.png not scored yet
    row = evaluate(_run(spec, dataset), dataset, tmp_path)
    assert (row.failed, row.missing, len(row.scores)) == (1, 2, 3)
    assert row.mos == [1.0, 3.0, 4.0] and row.scores == [1.0, 3.0, 2.0]
    assert row.key == spec.key({})


def test_fewer_than_three_pairs_give_nan_figures(tmp_path):
    spec, dataset = _spec(), _dataset([1.0, 2.0, 3.0])
    _store(tmp_path, spec, dataset, [1.0, 2.0, 'error'])
    row = evaluate(_run(spec, dataset), dataset, tmp_path)
    assert all(math.isnan(v) for v in row.figures.values())


def test_tables_by_hand(tmp_path):
    spec, dataset = _spec(), _dataset([1.0, 2.0, 3.0, 4.0])
    _store(tmp_path, spec, dataset, [1.0, 2.0, 3.0, 4.0])  # perfect: every figure 1
    row = evaluate(_run(spec, dataset), dataset, tmp_path)
    write_pyiqa_csv([row], tmp_path / 'b.csv')
    with open(tmp_path / 'b.csv', newline='') as handle:
        assert list(csv.reader(handle)) == [['Metric name', 'toy(PLCC/SRCC/KRCC)'], ['niqe', '1.0/1.0/1.0']]
    write_long_csv([row], tmp_path / 'l.csv')
    with open(tmp_path / 'l.csv', newline='') as handle:
        header, line = list(csv.reader(handle))
    assert header == [
        'metric',
        'dataset',
        'key',
        'n',
        'failed',
        'missing',
        'srcc',
        'plcc',
        'krcc',
        'plcc_fitted',
        'note',
    ]
    assert line[:6] == ['niqe', 'toy', spec.key({}), '4', '0', '0']
    assert [float(v) for v in line[6:9]] == pytest.approx([1.0, 1.0, 1.0])
    table = markdown([row]).splitlines()
    assert table[0] == '| metric | data set | n | failed | SRCC | PLCC | KRCC | PLCC fitted |'
    assert table[1] == '|---|---|---|---|---|---|---|---|'
    assert table[2].startswith('| niqe | toy | 4 | 0 | 1.0000 | 1.0000 | 1.0000 | ')


def test_a_score_beats_an_error_and_cut_lines_are_skipped(tmp_path):
    store = ResultStore(tmp_path, 'm-k')
    with store.appender(0) as append:
        append({'image': 'a', 'score': 3.0})
        append({'image': 'b', 'error': 'boom'})
    with store.appender(1) as append:
        append({'image': 'a', 'error': 'later failure'})
        append({'image': 'b', 'score': 5.0})
    with open(tmp_path / 'm-k.rank1.jsonl', 'a') as handle:
        handle.write('{"image": "c", "sco')  # cut by a crash
    assert store.records() == {'a': {'image': 'a', 'score': 3.0}, 'b': {'image': 'b', 'score': 5.0}}
    store.merge(['b', 'a', 'z'])
    assert not list(tmp_path.glob('m-k.rank*.jsonl'))
    assert [json.loads(line)['image'] for line in store.path.read_text().splitlines()] == ['b', 'a']
    store.merge(['a'])  # nothing to merge: the file stays as it is
    assert [r['image'] for r in read_records(store.path)] == ['b', 'a']
    with store.appender(2) as append:
        append({'image': 'c', 'score': 1.0})
    store.merge(['c'])  # records missing from the order go after it, by name
    assert [r['image'] for r in read_records(store.path)] == ['c', 'a', 'b']


def test_records_not_naming_an_image_are_left_out(tmp_path):
    path = tmp_path / 'r.jsonl'
    path.write_bytes(b'[1, 2]\n{"image": 3}\nnot json\n\xff\xfe\x00cut\n{"score": 1}\n{"image": "ok", "score": 2}\n')
    assert read_records(path) == [{'image': 'ok', 'score': 2}]


def test_an_error_of_a_later_part_does_not_hide_an_earlier_error(tmp_path):
    store = ResultStore(tmp_path, 'm-k')
    with store.appender(0) as append:
        append({'image': 'a', 'error': 'first'})
    with store.appender(1) as append:
        append({'image': 'a', 'error': 'second'})
    assert store.records() == {'a': {'image': 'a', 'error': 'second'}}


def test_options_file_says_what_the_key_stands_for(tmp_path):
    store = ResultStore(tmp_path / 'deep' / 'er', 'm-k')
    store.write_options({'metric': 'm', 'path': tmp_path})
    store.write_options({'metric': 'm', 'path': tmp_path})  # again: the folder is there already
    written = (tmp_path / 'deep' / 'er' / 'm-k.options.json').read_text()
    assert json.loads(written) == {'metric': 'm', 'path': str(tmp_path)}
    # for a person to read: one field a line, indented by two spaces, ending in a newline
    assert written == '{\n  "metric": "m",\n  "path": ' + json.dumps(str(tmp_path)) + '\n}\n'


def test_score_item_records_the_score_or_why_not(tmp_path):
    from PIL import Image

    good = tmp_path / 'g.png'
    Image.new('RGB', (2, 2), (1, 2, 3)).save(good)
    seen = []

    def score(image):
        seen.append(image)
        return {'score': 4.0}

    assert score_item(score, Item('g.png', good, 3.5), lambda im: im.resize((1, 1))) == {
        'image': 'g.png',
        'mos': 3.5,
        'score': 4.0,
    }
    assert seen[0].size == (1, 1)  # the data set's transform came first
    missing = score_item(score, Item('m.png', tmp_path / 'm.png', 1.0), lambda im: im)
    assert missing == {'image': 'm.png', 'mos': 1.0, 'error': f'{tmp_path / "m.png"}: no such file'}

    def broken(image):
        raise RuntimeError('model fell over')

    assert score_item(broken, Item('g.png', good, 3.5), lambda im: im)['error'] == 'RuntimeError: model fell over'


def test_three_pairs_are_enough_to_correlate(tmp_path):
    spec, dataset = _spec(), _dataset([1.0, 2.0, 3.0])
    _store(tmp_path, spec, dataset, [3.0, 1.0, 2.0])
    row = evaluate(_run(spec, dataset), dataset, tmp_path)
    assert row.fit_failed and math.isnan(row.figures['plcc_fitted'])  # 4 parameters need 4 pairs: one note
    # ranks (3, 1, 2) against (1, 2, 3): d = (2, -1, -1), 1 - 6 * 6 / (3 * 8) = -0.5
    assert row.figures['srcc'] == pytest.approx(-0.5)


def test_pyiqa_csv_rounds_to_four_places_and_leaves_missing_cells_empty(tmp_path):
    from pyiqa_llmiqa.bench.report import Row

    figures = {'plcc': 0.123456, 'srcc': -0.5, 'krcc': 1 / 3, 'plcc_fitted': math.nan}
    rows = [
        Row('m1', 'A', 'k1', [1.0], [2.0], 0, 0, False, figures),
        Row('m1', 'B', 'k2', [1.0], [2.0], 1, 2, False, figures),
        Row('m2', 'A', 'k3', [], [], 0, 3, False, figures),
    ]
    write_pyiqa_csv(rows, tmp_path / 'b.csv')
    assert (tmp_path / 'b.csv').read_text().splitlines() == [
        'Metric name,A(PLCC/SRCC/KRCC),B(PLCC/SRCC/KRCC)',
        'm1,0.1235/-0.5/0.3333,0.1235/-0.5/0.3333',
        'm2,0.1235/-0.5/0.3333,',
    ]
    write_long_csv(rows[1:2], tmp_path / 'l.csv')
    assert (tmp_path / 'l.csv').read_text().splitlines()[1] == 'm1,B,k2,1,1,2,-0.5,0.123456,0.3333333333333333,nan,'


def test_every_process_shards_the_same_list_while_others_append(tmp_path):
    """Rank 1 of 2 decides its share after the first barrier; rank 0, faster, has already scored its
    first image by then. Rank 1 must still take the odd positions of the full list (1.png, 3.png),
    or 1.png and 3.png would be scored by nobody."""
    from PIL import Image

    from pyiqa_llmiqa.bench.processes import Processes
    from pyiqa_llmiqa.bench.runner import run

    for i in range(4):
        Image.new('RGB', (8, 8), (i * 60, 0, 0)).save(tmp_path / f'{i}.png')
    items = [Item(f'{i}.png', tmp_path / f'{i}.png', float(i)) for i in range(4)]
    dataset = BenchDataset('toy', items)
    spec = _spec()
    spec.build = lambda device: lambda image: {'score': 1.0}  # a stand-in metric

    class RankOneOfTwo(Processes):
        def barrier(self):  # rank 0 passes the barrier first and writes its first record at once
            store = result_store(tmp_path / 'out', spec, dataset)
            with store.appender(0) as append:
                append({'image': '0.png', 'mos': 0.0, 'score': 1.0})

    run([spec], [dataset], tmp_path / 'out', RankOneOfTwo(rank=1, world=2))
    part = tmp_path / 'out' / 'predictions' / 'toy' / f'niqe-{spec.key({})}.rank1.jsonl'
    assert [r['image'] for r in read_records(part)] == ['1.png', '3.png']
