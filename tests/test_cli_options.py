"""Options from the command line: an options YAML, then --opt KEY=VALUE over it, nested keys merged."""

import argparse

import pytest
import torch

from pyiqa_llmiqa.cli.metric_args import (
    add_metric_arguments,
    default_device,
    load_options_file,
    merge,
    options_from_args,
)


def test_merge_is_key_by_key_for_nested_mappings():
    base = {'a': 1, 'gen': {'x': 1, 'y': 2}, 'seg': 'hub/id'}
    over = {'gen': {'y': 3, 'z': 4}, 'seg': {'config': 'c'}, 'b': 2}
    assert merge(base, over) == {'a': 1, 'gen': {'x': 1, 'y': 3, 'z': 4}, 'seg': {'config': 'c'}, 'b': 2}
    assert base == {'a': 1, 'gen': {'x': 1, 'y': 2}, 'seg': 'hub/id'}  # the base is left as it was


def test_options_file(tmp_path):
    assert load_options_file(None) == {} and load_options_file('') == {}
    (tmp_path / 'o.yml').write_text('levels: 5\nmask_generator:\n  points_per_side: 4\n')
    assert load_options_file(str(tmp_path / 'o.yml')) == {'levels': 5, 'mask_generator': {'points_per_side': 4}}
    (tmp_path / 'empty.yml').write_text('')
    assert load_options_file(str(tmp_path / 'empty.yml')) == {}


@pytest.mark.parametrize(
    'text, reason',
    [
        ('- a\n- b\n', 'an options file holds a mapping of option names to values'),
        ('levels: [1\n', 'not valid YAML'),
        ('!!python/object/apply:os.system ["true"]\n', 'not valid YAML'),
    ],
)
def test_bad_options_files_are_named(tmp_path, text, reason):
    path = tmp_path / 'bad.yml'
    path.write_text(text)
    with pytest.raises(ValueError, match=f'^{path}: {reason}'):
        load_options_file(str(path))


def test_a_missing_options_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=f'^{tmp_path / "no.yml"}: cannot read the options file'):
        load_options_file(str(tmp_path / 'no.yml'))


def test_opt_values_go_over_the_file_key_by_key(tmp_path):
    (tmp_path / 'o.yml').write_text('levels: 5\nmask_generator:\n  points_per_side: 4\n  pred_iou_thresh: 0.9\n')
    parser = argparse.ArgumentParser()
    add_metric_arguments(parser)
    args = parser.parse_args(
        [
            '--options',
            str(tmp_path / 'o.yml'),
            '--opt',
            'mask_generator.pred_iou_thresh=0.5',
            '--opt',
            'complement=false',
        ]
    )
    assert args.metric == 'llmiqa' and args.device is None
    assert options_from_args(args) == {
        'levels': 5,
        'complement': False,
        'mask_generator': {'points_per_side': 4, 'pred_iou_thresh': 0.5},
    }


def test_default_device_is_the_gpu_when_there_is_one():
    assert default_device() == ('cuda' if torch.cuda.is_available() else 'cpu')


def test_the_default_device_follows_cuda_availability(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert default_device() == 'cuda'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert default_device() == 'cpu'


def test_an_options_file_is_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    path = tmp_path / 'o.yml'
    path.write_text('level_descriptions: [Très bien, Bien, Passable, Médiocre, Mauvais]\n', encoding='utf-8')
    assert load_options_file(str(path)) == {
        'level_descriptions': ['Très bien', 'Bien', 'Passable', 'Médiocre', 'Mauvais']
    }
