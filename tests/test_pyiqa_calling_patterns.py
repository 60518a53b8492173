"""pyiqa's own ways of building and running a metric run llmiqa (issue 19): ``create_metric`` with
``metric_opts`` as keyword arguments, ``type`` included, and the calling pattern of pyiqa's
``benchmark_results.py`` (a metric options YAML merged into ``DEFAULT_CONFIGS``, then
``create_metric(name, device=..., metric_mode=..., **metric_opts)``, then a data set built and loaded by
pyiqa's own ``build_dataset`` and ``build_dataloader``). pyiqa's command line is in test_entry_points."""

import csv

import pyiqa
import pytest
import torch
import yaml

import pyiqa_llmiqa  # noqa: F401  (registers the presets)
from pyiqa_llmiqa.inputs.images import load_image


@pytest.fixture
def image_folder(tmp_path, images):
    folder = tmp_path / 'images'
    folder.mkdir()
    names = []
    for index, image in enumerate(images):
        names.append(f'img{index}.png')
        image.save(folder / names[-1])
    return folder, names


def test_create_metric_takes_metric_opts_with_type(digit_backbone, images):
    metric = pyiqa.create_metric(
        'llmiqa_global', device='cpu', metric_mode='NR', type='LLMIQA', backbone=digit_backbone, mix_grained=False
    )
    expected = [a.score for a in metric.net.assess(images)]
    assert [metric(image).item() for image in images] == expected


def test_the_benchmark_scripts_calling_pattern(digit_backbone, image_folder, tmp_path, monkeypatch):
    from pyiqa.data import build_dataloader, build_dataset
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    folder, names = image_folder
    metric_yaml = tmp_path / 'metric.yml'
    metric_yaml.write_text(
        f'my_llmiqa:\n  metric_opts:\n    type: LLMIQA\n    backbone: {digit_backbone}\n    mix_grained: false\n'
        '  metric_mode: NR\n'
    )
    meta_info = tmp_path / 'meta_info.csv'
    with open(meta_info, 'w', newline='') as handle:
        csv.writer(handle).writerows([('name', 'mos'), *((name, index + 1.5) for index, name in enumerate(names))])
    data_yaml = tmp_path / 'data.yml'
    data_yaml.write_text(
        f'mydata:\n  name: mydata\n  type: GeneralNRDataset\n  dataroot_target: {folder}\n'
        f'  meta_info_file: {meta_info}\n  phase: test\n  num_worker_per_gpu: 0\n  batch_size_per_gpu: 1\n'
    )

    # what benchmark_results.py does with --metric_opt and --data_opt
    custom_metric_opt = yaml.safe_load(metric_yaml.read_text())
    monkeypatch.setattr(pyiqa.default_model_configs, 'DEFAULT_CONFIGS', DEFAULT_CONFIGS)
    monkeypatch.setitem(DEFAULT_CONFIGS, 'my_llmiqa', custom_metric_opt['my_llmiqa'])
    metric_opts = DEFAULT_CONFIGS['my_llmiqa']['metric_opts']
    metric_mode = DEFAULT_CONFIGS['my_llmiqa']['metric_mode']
    iqa_model = pyiqa.create_metric('my_llmiqa', device=torch.device('cpu'), metric_mode=metric_mode, **metric_opts)
    data_opts = yaml.safe_load(data_yaml.read_text())['mydata']
    dataset = build_dataset(data_opts)
    dataloader = build_dataloader(dataset, data_opts, num_gpu=0)
    scores, mos = [], []
    for data in dataloader:
        scores.append(iqa_model(data['img']).squeeze().item())
        mos.append(data['mos_label'].item())

    assert mos == [1.5, 2.5, 3.5, 4.5]
    expected = [a.score for a in iqa_model.net.assess([load_image(folder / name) for name in names])]
    assert scores == expected
    assert all(1 <= s <= 7 for s in scores)


def test_assessments_come_back_through_pyiqas_forward(digit_backbone, images):
    metric = pyiqa.create_metric('llmiqa_global', device='cpu', backbone=digit_backbone)
    scores, assessments = metric(images[0], return_assessments=True)
    assert [a.score for a in assessments] == scores.tolist()
    assert assessments[0].global_score == scores.item() and assessments[0].regions == []
