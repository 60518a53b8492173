"""Importing the plugin makes the presets pyiqa metrics; registering again never raises."""

import importlib
import subprocess
import sys
import textwrap

import pyiqa
import pytest
from pyiqa.default_model_configs import DEFAULT_CONFIGS
from pyiqa.utils.registry import ARCH_REGISTRY

import pyiqa_llmiqa
from pyiqa_llmiqa.config.options import OPTION_NAMES
from pyiqa_llmiqa.errors import OptionError


def test_presets_are_listed_as_nr_metrics():
    assert {'llmiqa', 'llmiqa_global'} <= set(pyiqa.list_models(metric_mode='NR'))


def test_preset_entries_follow_pyiqa_conventions():
    for name in ('llmiqa', 'llmiqa_global'):
        config = DEFAULT_CONFIGS[name]
        assert config['metric_mode'] == 'NR'
        assert config['lower_better'] is False
        assert config['score_range'] == '1, 7'
        assert config['metric_opts']['type'] == 'LLMIQA'
        assert set(config['metric_opts']) == {'type', *OPTION_NAMES}  # fully resolved
    assert DEFAULT_CONFIGS['llmiqa']['metric_opts']['mix_grained'] is True
    assert DEFAULT_CONFIGS['llmiqa_global']['metric_opts']['mix_grained'] is False


def test_default_options():
    options = pyiqa_llmiqa.resolved_options('llmiqa_global')
    assert options['backbone'] == 'Qwen/Qwen2.5-VL-7B-Instruct'
    assert (options['standard'], options['levels'], options['score_mode']) == ('word', 7, 'greedy')
    assert (options['dtype'], options['trust_remote_code']) == ('auto', False)


def test_overrides_resolve_over_the_preset():
    options = pyiqa_llmiqa.resolved_options('llmiqa', standard='sentence', score_mode='expectation')
    assert options['standard'] == 'sentence' and options['score_mode'] == 'expectation'
    assert options['mix_grained'] is True


def test_registering_again_and_reloading_do_not_raise():
    pyiqa_llmiqa.register()
    pyiqa_llmiqa.register()
    importlib.reload(pyiqa_llmiqa)
    importlib.reload(importlib.import_module('pyiqa_llmiqa.pyiqa_plugin'))
    pyiqa_llmiqa.register()
    assert ARCH_REGISTRY.get('LLMIQA').__name__ == 'LLMIQA'
    assert 'llmiqa' in pyiqa.list_models()


def test_entry_point_is_declared():
    from importlib import metadata

    points = [ep for ep in metadata.entry_points(group='pyiqa.archs') if ep.value.startswith('pyiqa_llmiqa')]
    assert [ep.value for ep in points] == ['pyiqa_llmiqa.pyiqa_plugin:register']
    points[0].load()()  # firing after the import is harmless


def _run(code):
    result = subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__('os').environ, 'HF_HUB_OFFLINE': '1'},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_entry_point_alone_builds_the_arch(tiny_backbone):
    """pyiqa options that name the arch type work without importing the plugin."""
    out = _run(f"""
        import sys
        from pyiqa.archs import build_network
        net = build_network({{'type': 'LLMIQA', 'backbone': {tiny_backbone!r}, 'mix_grained': False}})
        assert 'pyiqa_llmiqa' in sys.modules
        print(type(net).__name__)
    """)
    assert out.strip().endswith('LLMIQA')


def test_create_metric_in_a_fresh_interpreter(tiny_backbone):
    out = _run(f"""
        import torch, pyiqa, pyiqa_llmiqa
        metric = pyiqa.create_metric('llmiqa_global', backbone={tiny_backbone!r}, device='cpu')
        score = metric(torch.rand(2, 3, 40, 56))
        assert score.shape == (2,), score.shape
        print('scores', score.tolist())
    """)
    assert 'scores' in out


def test_unknown_option_is_named_with_the_valid_ones():
    with pytest.raises(OptionError) as error:
        pyiqa_llmiqa.resolved_options('llmiqa', scor_mode='greedy')
    message = str(error.value)
    assert "'scor_mode' (did you mean 'score_mode'?)" in message
    assert 'valid options: backbone, standard, levels' in message


@pytest.mark.parametrize(
    'name, value, expected',
    [
        ('levels', '7', "option 'levels' must be int"),
        ('batch_size', 0, "option 'batch_size': must be at least 1"),
        ('trust_remote_code', 'yes', "option 'trust_remote_code' must be bool"),
        ('score_mode', 'mean', "option 'score_mode': must be one of greedy, expectation"),
        ('global_weight', 1.5, "option 'global_weight': must be in [0, 1]"),
        ('levels', True, "option 'levels' must be int"),
    ],
)
def test_wrong_values_are_named(name, value, expected):
    with pytest.raises(OptionError) as error:
        pyiqa_llmiqa.resolved_options('llmiqa', **{name: value})
    assert expected in str(error.value)


def test_every_preset_is_a_full_nr_entry():
    presets = {'llmiqa', 'llmiqa_global', 'llmiqa_owl3', 'llmiqa_janus', 'llmiqa_small'}
    assert presets <= set(pyiqa.list_models(metric_mode='NR', filter='llmiqa*'))
    backbones = {name: DEFAULT_CONFIGS[name]['metric_opts']['backbone'] for name in presets}
    assert backbones == {
        'llmiqa': 'Qwen/Qwen2.5-VL-7B-Instruct',
        'llmiqa_global': 'Qwen/Qwen2.5-VL-7B-Instruct',
        'llmiqa_owl3': 'mPLUG/mPLUG-Owl3-7B-240728',
        'llmiqa_janus': 'deepseek-community/Janus-Pro-7B',
        'llmiqa_small': 'HuggingFaceTB/SmolVLM-256M-Instruct',
    }
    assert DEFAULT_CONFIGS['llmiqa_small']['metric_opts']['segmenter'] == 'facebook/sam2.1-hiera-tiny'
    assert DEFAULT_CONFIGS['llmiqa_owl3']['metric_opts']['trust_remote_code'] is False  # the user must opt in
