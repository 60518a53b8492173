"""The user's named presets: one YAML file, read wherever a metric is named, errors with file and line."""

import textwrap

import pyiqa
import pytest

from pyiqa_llmiqa import register, resolved_options
from pyiqa_llmiqa.cli import main as cli
from pyiqa_llmiqa.config.options import OptionError
from pyiqa_llmiqa.config.user_presets import presets_path


@pytest.fixture
def presets(tmp_path, monkeypatch):
    """Write a presets file and point PYIQA_LLMIQA_PRESETS at it; returns its path."""
    path = tmp_path / 'presets.yml'

    def write(text):
        path.write_text(textwrap.dedent(text))
        monkeypatch.setenv('PYIQA_LLMIQA_PRESETS', str(path))
        return path

    yield write
    monkeypatch.setenv('PYIQA_LLMIQA_PRESETS', '/dev/null')
    register()  # pyiqa's table without this test's presets


def test_the_issue_example_resolves_over_its_base(presets):
    presets('my_llmiqa: {preset: llmiqa, backbone: /models/qwen7b, levels: 5}\n')
    options = resolved_options('my_llmiqa')
    assert (options['backbone'], options['levels'], options['mix_grained']) == ('/models/qwen7b', 5, True)
    assert options['standard'] == 'word' and options['segmenter'] == 'facebook/sam2.1-hiera-large'
    assert resolved_options('my_llmiqa', levels=3)['levels'] == 3  # keyword arguments still win


def test_default_location_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv('PYIQA_LLMIQA_PRESETS')
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path))
    assert presets_path() == tmp_path / 'pyiqa-llmiqa' / 'presets.yml'
    monkeypatch.delenv('XDG_CONFIG_HOME')
    monkeypatch.setenv('HOME', str(tmp_path))
    assert presets_path() == tmp_path / '.config' / 'pyiqa-llmiqa' / 'presets.yml'


def test_create_metric_and_the_score_command(presets, tiny_backbone, capsys):
    path = presets(f'my_global: {{preset: llmiqa_global, backbone: {tiny_backbone}, levels: 5}}\n')
    register()
    metric = pyiqa.create_metric('my_global', device='cpu')
    assert metric.net.options.levels == 5 and metric.net.options.mix_grained is False
    assert pyiqa.default_model_configs.DEFAULT_CONFIGS['my_global']['score_range'] == '1, 5'
    assert 'my_global' in pyiqa.list_models(metric_mode='NR')
    image = str(pytest.importorskip('pathlib').Path(__file__).parents[1] / 'examples' / 'coffee.jpg')
    assert cli.main(['score', image, '--metric', 'my_global', '--device', 'cpu']) == 0
    score = float(capsys.readouterr().out.split('\t')[1])
    assert 1 <= score <= 5
    assert path.is_file()


@pytest.mark.parametrize(
    'text, line, expected',
    [
        ('ok: {preset: llmiqa}\nbad:\n  preset: llmiqa\n  levels: "5"\n', 4, "option 'levels' must be int"),
        ('bad:\n  preset: llmiqa\n  scor_mode: greedy\n', 3, "(did you mean 'score_mode'?)"),
        ('\nbad: {preset: llmiqa_large}\n', 2, "'preset' must be one of llmiqa, llmiqa_global"),
        ('bad: [1, 2]\n', 1, 'a preset is a mapping of options'),
    ],
)
def test_a_bad_entry_names_the_file_and_line(presets, text, line, expected):
    path = presets(text)
    with pytest.raises(OptionError) as error:
        resolved_options('bad')
    assert str(error.value).startswith(f"{path}:{line}: preset 'bad': ")
    assert expected in str(error.value)


def test_a_bad_entry_is_an_error_where_pyiqa_builds_it(presets):
    path = presets('bad:\n  preset: llmiqa\n  levels: 0\n')
    register()
    with pytest.raises(OptionError, match=f'^{path}:3: preset .bad.: '):
        pyiqa.create_metric('bad', device='cpu')


@pytest.mark.parametrize(
    'text, line, expected',
    [
        ('a: {levels: 5\n', 2, 'not valid YAML'),
        ('- a\n- b\n', 1, 'holds a mapping of preset names to options'),
        ('mine: {}\nmine: {levels: 5}\n', 2, "preset 'mine' is defined twice"),
        ('a: !!python/object/apply:os.system [echo]\n', 1, 'not valid YAML'),
    ],
)
def test_a_broken_file_names_the_file_and_line(presets, text, line, expected, capsys):
    path = presets(text)
    with pytest.raises(OptionError) as error:
        resolved_options('mine')
    assert str(error.value).startswith(f'{path}:{line}: ')
    assert expected in str(error.value)
    with pytest.warns(RuntimeWarning, match='llmiqa user presets not added'):
        register()  # pyiqa keeps working; the built-in presets are still there
    assert 'llmiqa' in pyiqa.list_models()
    assert cli.main(['score', __file__, '--metric', 'mine']) == 2
    assert f'{path}:{line}:' in capsys.readouterr().err


def test_an_unknown_preset_on_the_command_line(presets, capsys):
    presets('my_llmiqa: {levels: 5}\n')
    assert cli.main(['options', '--metric', 'my_llmiqa_']) == 2
    err = capsys.readouterr().err
    assert "unknown llmiqa preset 'my_llmiqa_' (did you mean 'my_llmiqa'?)" in err
    assert 'presets: llmiqa, llmiqa_global, llmiqa_owl3, llmiqa_janus, llmiqa_small, my_llmiqa' in err


def test_an_entry_named_like_a_built_in_changes_that_preset(presets, tiny_backbone):
    presets(f'llmiqa_global: {{backbone: {tiny_backbone}}}\n')
    options = resolved_options('llmiqa_global')
    assert options['backbone'] == tiny_backbone and options['mix_grained'] is False  # the rest as shipped
    assert resolved_options('llmiqa')['backbone'] == 'Qwen/Qwen2.5-VL-7B-Instruct'
    register()
    metric = pyiqa.create_metric('llmiqa_global', device='cpu')
    assert metric.net.options.backbone == tiny_backbone


def test_bench_scores_a_user_preset_as_an_llmiqa_metric(presets):
    from pyiqa_llmiqa.bench.metrics import metric_spec

    presets('my_llmiqa: {preset: llmiqa_global, backbone: /models/qwen7b, levels: 5}\n')
    spec = metric_spec('my_llmiqa', {'global_weight': 0.25})
    assert spec.is_llmiqa and spec.lower_better is False
    assert (spec.options['backbone'], spec.options['levels'], spec.options['mix_grained']) == (
        '/models/qwen7b',
        5,
        False,
    )
    assert spec.options['global_weight'] == 0.25
