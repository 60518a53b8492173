"""`pyiqa-llmiqa bench`: the table, resuming, sharding over processes, failures, stale results."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageFilter
from scipy import stats

from pyiqa_llmiqa.bench import runner
from pyiqa_llmiqa.bench.datasets import DatasetError, load_datasets
from pyiqa_llmiqa.bench.metrics import metric_specs
from pyiqa_llmiqa.bench.store import ResultStore, read_records
from pyiqa_llmiqa.cli import main as cli

BLURS = (0, 0.5, 1, 1.5, 2, 2.5, 3, 4)  # Gaussian blur radius of each image; MOS = 5 - radius
CORRUPT = 'broken/corrupt.png'


@pytest.fixture(scope='module')
def dataset_yaml(tmp_path_factory):
    """Eight blurred copies of one texture with MOS falling with the blur, and one corrupt file."""
    root = tmp_path_factory.mktemp('blurset')
    (root / 'images' / 'broken').mkdir(parents=True)
    rng = np.random.default_rng(0)
    texture = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).resize((128, 96), Image.NEAREST)
    rows = []
    for i, radius in enumerate(BLURS):
        texture.filter(ImageFilter.GaussianBlur(radius)).save(root / 'images' / f'blur{i}.png')
        rows.append((f'blur{i}.png', 5 - radius))
    (root / 'images' / CORRUPT).write_bytes(b'\x89PNG\r\n\x1a\n not really a png')
    rows.append((CORRUPT, 2.5))
    with open(root / 'meta_info.csv', 'w', newline='') as handle:
        csv.writer(handle).writerows([('img_name', 'mos'), *rows])
    options = {
        'blurset': {
            'name': 'BlurSet',
            'type': 'GeneralNRDataset',
            'dataroot_target': str(root / 'images'),
            'meta_info_file': str(root / 'meta_info.csv'),
        }
    }
    path = root / 'blurset.yml'
    path.write_text(yaml.safe_dump(options))
    return path


def bench_args(dataset_yaml, backbone, out, *extra):
    return [
        'bench',
        '--dataset',
        str(dataset_yaml),
        '--metrics',
        'llmiqa_global',
        'piqe',
        '--out',
        str(out),
        '--opt',
        f'backbone={backbone}',
        '--opt',
        'score_mode=expectation',
        '--device',
        'cpu',
        *extra,
    ]


@pytest.fixture(scope='module')
def first_run(dataset_yaml, digit_backbone, tmp_path_factory):
    out = tmp_path_factory.mktemp('bench') / 'out'
    assert cli.main(bench_args(dataset_yaml, digit_backbone, out)) == 0
    return out


@pytest.fixture
def loads(monkeypatch):
    """The images that the runner opens, in order."""
    opened = []

    def spy(path):
        opened.append(Path(path).name)
        return load(path)

    load = runner.load_image
    monkeypatch.setattr(runner, 'load_image', spy)
    return opened


def jsonl(out, metric):
    (path,) = (Path(out) / 'predictions' / 'blurset').glob(f'{metric}-*.jsonl')
    return path


def by_image(path):
    return {r['image']: r for r in read_records(path)}


def table(out):
    with open(Path(out) / 'correlations.csv', newline='') as handle:
        return {row['metric']: row for row in csv.DictReader(handle)}


def test_table_matches_correlations_of_the_json_lines(first_run):
    rows = table(first_run)
    with open(first_run / 'benchmark_results.csv', newline='') as handle:
        pyiqa_rows = list(csv.reader(handle))
    assert pyiqa_rows[0] == ['Metric name', 'blurset(PLCC/SRCC/KRCC)']
    pyiqa_cells = {row[0]: [float(v) for v in row[1].split('/')] for row in pyiqa_rows[1:]}
    for metric, sign in (('llmiqa_global', 1), ('piqe', -1)):  # piqe: lower is better
        scored = [r for r in read_records(jsonl(first_run, metric)) if 'score' in r]
        pred = [sign * r['score'] for r in scored]
        mos = [r['mos'] for r in scored]
        expected = {
            'srcc': stats.spearmanr(pred, mos)[0],
            'plcc': stats.pearsonr(pred, mos)[0],
            'krcc': stats.kendalltau(pred, mos)[0],
        }
        row = rows[metric]
        assert (int(row['n']), int(row['failed']), int(row['missing'])) == (len(BLURS), 1, 0)
        for name, value in expected.items():
            assert float(row[name]) == pytest.approx(value, abs=1e-12)
        assert pyiqa_cells[metric] == [round(expected[k], 4) for k in ('plcc', 'srcc', 'krcc')]
        assert 'plcc_fitted' in row
        assert (first_run / f'scatter_{metric}_blurset.png').stat().st_size > 0
    assert (first_run / 'ceiling.png').is_file()
    for name in ('table.md', 'table.tex', 'report.html', 'run.json'):  # tests/test_report.py checks their content
        assert (first_run / name).stat().st_size > 0


def test_report_rebuilds_the_tables_of_a_run_without_scoring(first_run, tmp_path, monkeypatch):
    from pyiqa_llmiqa.bench.metrics import MetricSpec

    out = tmp_path / 'out'
    shutil.copytree(first_run, out)
    for name in ('correlations.csv', 'benchmark_results.csv', 'table.md', 'table.tex', 'report.html'):
        (out / name).unlink()
    monkeypatch.setattr(MetricSpec, 'build', lambda *a, **k: pytest.fail('report scored'))
    assert cli.main(['report', str(out)]) == 0
    assert table(out) == table(first_run)
    assert (out / 'table.tex').read_text() == (first_run / 'table.tex').read_text()
    assert (out / 'report.html').stat().st_size > 0


def test_every_image_has_a_record_and_the_corrupt_one_says_why(first_run):
    records = by_image(jsonl(first_run, 'llmiqa_global'))
    assert set(records) == {f'blur{i}.png' for i in range(len(BLURS))} | {CORRUPT}
    assert 'score' not in records[CORRUPT] and 'corrupt' in records[CORRUPT]['error']
    blurred = records['blur3.png']
    assert blurred['mos'] == 5 - BLURS[3] and 1 <= blurred['score'] <= 7
    assert {'global_score', 'regions', 'fallbacks'} <= set(blurred)
    options = json.loads(jsonl(first_run, 'llmiqa_global').with_suffix('.options.json').read_text())
    assert options['options']['score_mode'] == 'expectation' and options['options']['mix_grained'] is False


def test_rerun_scores_only_what_a_cut_file_lost(first_run, dataset_yaml, digit_backbone, tmp_path, loads):
    out = tmp_path / 'out'
    shutil.copytree(first_run, out)
    path = jsonl(out, 'llmiqa_global')
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(''.join(lines[:3]) + lines[3][:25])  # a crash in the middle of the fourth line
    assert cli.main(bench_args(dataset_yaml, digit_backbone, out)) == 0
    assert loads == [Path(json.loads(line)['image']).name for line in lines[3:]]
    assert by_image(path) == by_image(jsonl(first_run, 'llmiqa_global'))
    assert table(out) == table(first_run)


def test_interrupted_run_keeps_what_it_scored(first_run, dataset_yaml, digit_backbone, tmp_path, loads, monkeypatch):
    out = tmp_path / 'out'
    spy = runner.load_image

    def interrupt_at_fourth(path):
        if len(loads) == 3:
            raise KeyboardInterrupt
        return spy(path)

    monkeypatch.setattr(runner, 'load_image', interrupt_at_fourth)
    assert cli.main(bench_args(dataset_yaml, digit_backbone, out)) == 130
    (part,) = (out / 'predictions' / 'blurset').glob('llmiqa_global-*.rank0.jsonl')
    assert len(read_records(part)) == 3
    assert cli.main(['report', str(out)]) == 0  # what a stopped run finished, from its run.json
    stopped = table(out)
    assert (stopped['llmiqa_global']['n'], stopped['llmiqa_global']['missing']) == ('3', str(len(BLURS) + 1 - 3))
    assert (stopped['piqe']['n'], stopped['piqe']['note']) == ('0', 'fewer than 3 scored images')
    monkeypatch.setattr(runner, 'load_image', spy)
    assert cli.main(bench_args(dataset_yaml, digit_backbone, out)) == 0
    assert len(loads) == 3 + (len(BLURS) + 1 - 3) + len(BLURS) + 1  # the rest, then all of piqe
    assert by_image(jsonl(out, 'llmiqa_global')) == by_image(jsonl(first_run, 'llmiqa_global'))
    assert not list((out / 'predictions' / 'blurset').glob('*.rank*.jsonl'))


def test_changed_option_scores_anew(first_run, dataset_yaml, digit_backbone, tmp_path, loads):
    out = tmp_path / 'out'
    shutil.copytree(first_run, out)
    old = jsonl(first_run, 'llmiqa_global')
    assert cli.main(bench_args(dataset_yaml, digit_backbone, out, '--opt', 'levels=5')) == 0
    assert len(loads) == len(BLURS) + 1  # llmiqa scored every image again; piqe reused its scores
    files = sorted((out / 'predictions' / 'blurset').glob('llmiqa_global-*.jsonl'))
    assert len(files) == 2 and (out / 'predictions' / 'blurset' / old.name).read_text() == old.read_text()
    new = by_image(next(f for f in files if f.name != old.name))
    assert all(1 <= r['score'] <= 5 for r in new.values() if 'score' in r)


def test_retry_failed_scores_the_failed_again(first_run, dataset_yaml, digit_backbone, tmp_path, loads):
    out = tmp_path / 'out'
    shutil.copytree(first_run, out)
    assert cli.main(bench_args(dataset_yaml, digit_backbone, out)) == 0
    assert loads == []
    assert cli.main(bench_args(dataset_yaml, digit_backbone, out, '--retry-failed')) == 0
    assert loads == ['corrupt.png', 'corrupt.png']


def test_two_processes_give_the_numbers_of_one(first_run, dataset_yaml, digit_backbone, tmp_path):
    out = tmp_path / 'out'
    command = [
        sys.executable,
        '-m',
        'torch.distributed.run',
        '--standalone',
        '--nproc_per_node',
        '2',
        '-m',
        'pyiqa_llmiqa.cli.main',
        *bench_args(dataset_yaml, digit_backbone, out),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, 'HF_HUB_OFFLINE': '1'}
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for metric in ('llmiqa_global', 'piqe'):
        two, one = read_records(jsonl(out, metric)), read_records(jsonl(first_run, metric))
        assert [(r['image'], r['mos'], r.get('error')) for r in two] == [
            (r['image'], r['mos'], r.get('error')) for r in one
        ]
        # torchrun runs one thread per process: floating-point sums may differ in the last bits
        scores = [[r['score'] for r in run if 'score' in r] for run in (two, one)]
        assert scores[0] == pytest.approx(scores[1], rel=1e-6)
    for metric, row in table(out).items():
        for figure in ('srcc', 'plcc', 'krcc'):
            assert float(row[figure]) == pytest.approx(float(table(first_run)[metric][figure]), abs=1e-6)
    assert not list((out / 'predictions' / 'blurset').glob('*.rank*.jsonl'))


def test_pyiqa_names_read_pyiqa_test_split_under_the_data_root(tmp_path):
    (tmp_path / 'meta_info').mkdir()
    (tmp_path / 'koniq10k' / '512x384').mkdir(parents=True)
    splits = ['train', 'test', 'val', 'test', 'train', 'test']
    lines = ['img_name,mos,std,official_split'] + [f'{i}.jpg,{10 * i},1,{s}' for i, s in enumerate(splits)]
    (tmp_path / 'meta_info' / 'meta_info_KonIQ10kDataset.csv').write_text('\n'.join(lines) + '\n')
    for i in range(len(splits)):
        (tmp_path / 'koniq10k' / '512x384' / f'{i}.jpg').touch()
    (koniq,) = load_datasets(['koniq10k'], str(tmp_path))
    assert [(item.name, item.mos) for item in koniq.items] == [('1.jpg', 10.0), ('3.jpg', 30.0), ('5.jpg', 50.0)]
    assert koniq.items[0].path == tmp_path / 'koniq10k' / '512x384' / '1.jpg'


def test_shipped_options_name_the_five_data_sets():
    options = Path(__file__).resolve().parents[1] / 'options'
    names = {}
    for path in sorted(options.glob('*.yml')):
        names.update(yaml.safe_load(path.read_text()))
    assert set(names) == {'koniq10k', 'spaq', 'livec', 'kadid10k', 'agiqa3k'}
    from pyiqa import get_dataset_info

    for key in ('koniq10k', 'spaq', 'livec', 'kadid10k'):
        assert names[key] == get_dataset_info(key)


def test_missing_data_says_what_to_download(tmp_path, capsys):
    assert (
        cli.main(
            [
                'bench',
                '--dataset',
                'spaq',
                '--metrics',
                'piqe',
                '--out',
                str(tmp_path / 'out'),
                '--data-root',
                str(tmp_path / 'nowhere'),
            ]
        )
        == 2
    )
    message = capsys.readouterr().err
    assert 'meta_info_SPAQDataset.csv not found' in message and 'hf download' in message and 'spaq.tgz' in message
    agiqa = Path(__file__).resolve().parents[1] / 'options' / 'agiqa3k.yml'
    with pytest.raises(DatasetError, match='convert-agiqa'):
        load_datasets([str(agiqa)], str(tmp_path))


def test_metrics_unknown_or_full_reference_are_refused():
    with pytest.raises(ValueError, match='did you mean'):
        metric_specs(['piqee'], {})
    with pytest.raises(ValueError, match='no-reference'):
        metric_specs(['psnr'], {})


def test_store_prefers_a_score_and_skips_cut_lines(tmp_path):
    store = ResultStore(tmp_path, 'm-key')
    with store.appender(0) as append:
        append({'image': 'a', 'score': 1.0})
        append({'image': 'b', 'error': 'broken'})
    with store.appender(1) as append:
        append({'image': 'a', 'error': 'out of memory'})
        append({'image': 'b', 'score': 2.0})
    with open(tmp_path / 'm-key.rank1.jsonl', 'a') as handle:
        handle.write('{"image": "c", "sco')
    store.merge(['b', 'a'])
    assert [r['image'] for r in read_records(store.path)] == ['b', 'a']
    assert store.records() == {'a': {'image': 'a', 'score': 1.0}, 'b': {'image': 'b', 'score': 2.0}}
    assert not list(tmp_path.glob('*.rank*.jsonl'))


def test_ceiling_reads_a_data_set_as_bench_does(dataset_yaml, tmp_path, capsys):
    from pyiqa_llmiqa.bench.ceiling import ceiling
    from pyiqa_llmiqa.bench.meta_info import read_meta_info

    options = yaml.safe_load(dataset_yaml.read_text())
    meta_info = next(iter(options.values()))['meta_info_file']
    mos = [m for _, m in read_meta_info(meta_info)]
    assert cli.main(['ceiling', '--dataset', str(dataset_yaml), '--levels', '3', '--json']) == 0
    printed = json.loads(capsys.readouterr().out)
    (entry,) = printed['datasets'].values()
    assert entry['n'] == len(mos)
    assert entry['ceiling']['3']['value'] == pytest.approx(ceiling(mos, 3)['value'])


def test_download_fetches_a_missing_pyiqa_data_set_through_pyiqa(tmp_path, monkeypatch):
    """--download: pyiqa's load_dataset fetches the meta-info files and the archive (the hub call is
    replaced by one that serves them from here), extracts it, and bench reads the test split."""
    import tarfile

    import pyiqa.data.dataset_api as dataset_api

    served = tmp_path / 'hub'
    (served / 'koniq10k' / '512x384').mkdir(parents=True)
    splits = ['train', 'test', 'test', 'val']
    for i in range(len(splits)):
        Image.new('RGB', (32, 24), (40 * i, 90, 200)).save(served / 'koniq10k' / '512x384' / f'{i}.jpg')
    with tarfile.open(served / 'koniq10k.tgz', 'w:gz') as archive:
        archive.add(served / 'koniq10k', arcname='koniq10k')
    meta_info = 'img_name,mos,std,official_split\n' + ''.join(
        f'{i}.jpg,{10 * i + 5},1,{s}\n' for i, s in enumerate(splits)
    )
    calls = []

    def hub(repo_id, repo_type, local_dir, allow_patterns=None, **kwargs):
        calls.append((repo_id, allow_patterns))
        Path(local_dir).mkdir(parents=True, exist_ok=True)
        if repo_id.endswith('-metainfo'):
            (Path(local_dir) / 'meta_info_KonIQ10kDataset.csv').write_text(meta_info)
        else:
            shutil.copy(served / allow_patterns, Path(local_dir) / allow_patterns)
        return str(local_dir)

    monkeypatch.setattr(dataset_api, 'snapshot_download', hub)
    root = tmp_path / 'datasets'
    with pytest.raises(DatasetError, match='not found'):
        load_datasets(['koniq10k'], str(root))
    assert calls == []
    (koniq,) = load_datasets(['koniq10k'], str(root), download=True)
    assert calls == [
        ('chaofengc/IQA-PyTorch-Datasets-metainfo', None),
        ('chaofengc/IQA-PyTorch-Datasets', 'koniq10k.tgz'),
    ]
    assert [(item.name, item.mos) for item in koniq.items] == [('1.jpg', 15.0), ('2.jpg', 25.0)]
    assert all(item.path.is_file() for item in koniq.items)
    load_datasets(['koniq10k'], str(root), download=True)
    assert len(calls) == 2  # nothing fetched again


def test_download_refuses_a_data_set_pyiqa_cannot_fetch(tmp_path):
    agiqa = Path(__file__).resolve().parents[1] / 'options' / 'agiqa3k.yml'
    with pytest.raises(DatasetError, match='pyiqa cannot download'):
        load_datasets([str(agiqa)], str(tmp_path), download=True)
