"""--opt KEY=VALUE read as the CLI's help says, and the arguments every metric command takes."""

import argparse
import re

import pytest

from pyiqa_llmiqa.cli.metric_args import (
    add_metric_arguments,
    add_option_arguments,
    options_from_args,
    parse_assignments,
)


def test_dotted_keys_nest_and_values_are_yaml():
    assert parse_assignments(['a.b=1', 'c=true']) == {'a': {'b': 1}, 'c': True}
    assert parse_assignments(['a.b.c=0.5', 'a.b.d=null', 'a.e=text']) == {
        'a': {'b': {'c': 0.5, 'd': None}, 'e': 'text'}
    }
    assert parse_assignments(['k=[1, 2]', 'm={x: 1}']) == {'k': [1, 2], 'm': {'x': 1}}
    assert parse_assignments([]) == {}


def test_the_key_ends_at_the_first_equals_sign_and_is_stripped():
    assert parse_assignments(['k=a=b']) == {'k': 'a=b'}
    assert parse_assignments([' levels =5']) == {'levels': 5}


@pytest.mark.parametrize('text', ['', ' ', '   '])
def test_an_empty_value_is_the_empty_string(text):
    assert parse_assignments([f'backbone={text}']) == {'backbone': ''}


def test_a_later_assignment_wins():
    assert parse_assignments(['levels=5', 'levels=9']) == {'levels': 9}


@pytest.mark.parametrize('assignment', ['levels', '=5', ' =5', ''])
def test_an_assignment_without_a_key_is_refused(assignment):
    with pytest.raises(ValueError, match='^' + re.escape(f'--opt takes KEY=VALUE; got {assignment!r}') + '$'):
        parse_assignments([assignment])


@pytest.mark.parametrize(
    'value, problem',
    [
        ('[1', "expected ',' or ']', but got '<stream end>'"),
        ('a: b: c', 'mapping values are not allowed here'),
        (
            '!!python/object/apply:os.system ["true"]',
            "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
    ],
)
def test_a_value_that_is_not_yaml_names_the_assignment_and_the_problem(value, problem):
    assignment = f'k={value}'
    with pytest.raises(
        ValueError,
        match='^'
        + re.escape(f'--opt {assignment!r}: the value is not a YAML scalar, list or mapping ({problem})')
        + '$',
    ):
        parse_assignments([assignment])


def test_a_dotted_key_under_a_plain_value_is_refused():
    with pytest.raises(ValueError, match='^' + re.escape("--opt 'a.b=2': 'a' is not a mapping") + '$'):
        parse_assignments(['a=1', 'a.b=2'])


def _parser(with_metric=True):
    parser = argparse.ArgumentParser(prog='cmd')
    (add_metric_arguments if with_metric else add_option_arguments)(parser)
    return parser


def test_defaults_without_arguments():
    args = _parser().parse_args([])
    assert (args.metric, args.options, args.opt, args.device) == ('llmiqa', None, [], None)
    assert options_from_args(args) == {}


def test_option_arguments_alone_have_no_metric():
    args = _parser(with_metric=False).parse_args(['--device', 'cpu', '--opt', 'levels=5'])
    assert not hasattr(args, 'metric')
    assert (args.device, args.opt) == ('cpu', ['levels=5'])


def test_opt_is_repeatable_and_metric_named():
    args = _parser().parse_args(['--metric', 'llmiqa_small', '--opt', 'a=1', '--opt', 'b.c=x', '--device', 'cuda:1'])
    assert (args.metric, args.opt, args.device) == ('llmiqa_small', ['a=1', 'b.c=x'], 'cuda:1')
    assert options_from_args(args) == {'a': 1, 'b': {'c': 'x'}}


def test_usage_and_help_say_what_each_argument_takes():
    parser = _parser()
    usage = ' '.join(parser.format_usage().split())
    assert usage == 'usage: cmd [-h] [--metric PRESET] [--options FILE.yml] [--opt KEY=VALUE] [--device DEVICE]'
    text = ' '.join(parser.format_help().split())
    assert (
        '--metric PRESET llmiqa, llmiqa_global, llmiqa_owl3, llmiqa_janus, llmiqa_small, '
        'or a preset of your presets file (default: llmiqa)'
    ) in text
    assert '--options FILE.yml YAML mapping of metric options' in text
    assert (
        '--opt KEY=VALUE one option; dotted keys for nested values (mask_generator.pred_iou_thresh=0.5); repeatable'
    ) in text
    assert '--device DEVICE torch device (default: the GPU when there is one, else the CPU)' in text


def test_create_metric_from_args_checks_downloads_then_hands_everything_to_pyiqa(tmp_path, monkeypatch):
    import pyiqa

    import pyiqa_llmiqa.metric.preflight
    from pyiqa_llmiqa.cli.metric_args import create_metric_from_args
    from pyiqa_llmiqa.config.options import LLMIQAOptions

    checked, created = [], []
    monkeypatch.setattr(pyiqa_llmiqa.metric.preflight, 'before_loading', lambda opts, device: checked.append(opts))
    monkeypatch.setattr(pyiqa, 'create_metric', lambda name, **kwargs: created.append((name, kwargs)) or 'metric')
    (tmp_path / 'o.yml').write_text('levels: 5\n')
    args = _parser().parse_args(
        ['--metric', 'llmiqa_global', '--options', str(tmp_path / 'o.yml'), '--opt', 'score_mode=expectation']
    )
    assert create_metric_from_args(args) == 'metric'
    [opts] = checked
    # the preset's options resolved with the file and --opt over them
    assert opts == LLMIQAOptions(mix_grained=False, levels=5, score_mode='expectation').to_dict()
    device = 'cuda' if __import__('torch').cuda.is_available() else 'cpu'
    assert created == [('llmiqa_global', {'device': device, 'levels': 5, 'score_mode': 'expectation'})]
    args = _parser().parse_args(['--device', 'cpu:0'])
    create_metric_from_args(args)
    assert created[-1] == ('llmiqa', {'device': 'cpu:0'})
