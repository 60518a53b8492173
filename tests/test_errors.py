"""Every error a user can trigger is an LLMIQAError with its reason, and the command line prints those
as one line; anything else is a bug and keeps its traceback (issue 19)."""

import pyiqa
import pytest
from PIL import Image

import pyiqa_llmiqa
from pyiqa_llmiqa import DeviceError, LLMIQAError, OptionError
from pyiqa_llmiqa.cli import main as cli
from pyiqa_llmiqa.engines.loading import backbone_load_error


def test_an_unknown_device_is_named_before_anything_loads(monkeypatch):
    from pyiqa_llmiqa.metric import llmiqa_arch

    monkeypatch.setattr(llmiqa_arch, 'load_engine', lambda *a, **k: pytest.fail('loaded the engine'))
    with pytest.raises(DeviceError, match=r"^device 'tpu' is not a torch device \("):
        pyiqa.create_metric('llmiqa_global', device='tpu', backbone='/nonexistent/model')


def test_the_command_line_prints_a_users_error_as_one_line(tmp_path, capsys):
    options = tmp_path / 'options.yml'
    options.write_text('- a list, not a mapping\n')
    image = tmp_path / 'a.png'
    Image.new('RGB', (8, 8)).save(image)
    assert cli.main(['score', str(image), '--options', str(options)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('error: ') and 'Traceback' not in err


def test_a_bug_keeps_its_traceback(monkeypatch):
    from pyiqa_llmiqa.cli.commands import options as options_command

    def broken(args):
        raise ZeroDivisionError('a bug')

    monkeypatch.setattr(options_command, 'run', broken)
    with pytest.raises(ZeroDivisionError, match='a bug'):
        cli.main(['options'])


@pytest.mark.parametrize('value', ['1', 'true', 'YES', 'on'])
def test_every_true_hf_hub_offline_gives_the_offline_hint(monkeypatch, value):
    monkeypatch.setenv('HF_HUB_OFFLINE', value)
    message = str(backbone_load_error('nobody/no-such-model', OSError('not cached')))
    assert f'HF_HUB_OFFLINE={value} is set and ' in message and 'hf download nobody/no-such-model' in message


def test_unknown_bench_metrics_and_bad_opt_are_option_errors():
    from pyiqa_llmiqa.bench.metrics import metric_spec
    from pyiqa_llmiqa.cli.metric_args import parse_assignments

    with pytest.raises(OptionError, match="^unknown metric 'nique'"):
        metric_spec('nique', {})
    with pytest.raises(OptionError, match='--opt takes KEY=VALUE'):
        parse_assignments(['levels'])


def test_the_public_names_load_lazily():
    assert pyiqa_llmiqa.LLMIQAError is LLMIQAError
    assert set(pyiqa_llmiqa.__all__) <= set(dir(pyiqa_llmiqa))
    for name in pyiqa_llmiqa.__all__:
        assert getattr(pyiqa_llmiqa, name) is not None
    with pytest.raises(AttributeError):
        pyiqa_llmiqa.no_such_name  # noqa: B018
