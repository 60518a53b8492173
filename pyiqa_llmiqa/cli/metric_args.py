"""Metric options from the command line: a preset, an options YAML, and KEY=VALUE overrides."""

import argparse
from typing import Any, Dict, List, Optional

import yaml

from pyiqa_llmiqa.common.devices import default_device
from pyiqa_llmiqa.config.options import OptionError
from pyiqa_llmiqa.config.presets import PRESETS, resolved_options


def parse_assignments(assignments: List[str]) -> Dict[str, Any]:
    """``['a.b=1', 'c=true']`` -> ``{'a': {'b': 1}, 'c': True}``; values are read as YAML scalars
    or lists (safely: nothing is evaluated)."""
    options: Dict[str, Any] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition('=')
        if not sep or not key.strip():
            raise OptionError(f'--opt takes KEY=VALUE; got {assignment!r}')
        try:
            value = yaml.safe_load(text) if text.strip() else ''
        except yaml.YAMLError as error:
            problem = getattr(error, 'problem', None) or error
            raise OptionError(
                f'--opt {assignment!r}: the value is not a YAML scalar, list or mapping ({problem})'
            ) from None
        *parents, leaf = key.strip().split('.')
        target = options
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise OptionError(f'--opt {assignment!r}: {parent!r} is not a mapping')
        target[leaf] = value
    return options


def merge(base: Dict[str, Any], overrides: Dict[str, Any]) -> Dict[str, Any]:
    """``overrides`` over ``base``, nested mappings merged key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = merge(merged[key], value)
        merged[key] = value
    return merged


def load_options_file(path: Optional[str]) -> Dict[str, Any]:
    """A YAML mapping of llmiqa options (loaded safely)."""
    if not path:
        return {}
    try:
        with open(path, encoding='utf-8') as handle:
            options = yaml.safe_load(handle) or {}
    except OSError as error:
        raise OptionError(f'{path}: cannot read the options file ({error.strerror})') from None
    except yaml.YAMLError as error:
        raise OptionError(f'{path}: not valid YAML ({error})') from None
    if not isinstance(options, dict):
        raise OptionError(f'{path}: an options file holds a mapping of option names to values')
    return options


def add_metric_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command that builds an llmiqa metric takes."""
    parser.add_argument(
        '--metric',
        default='llmiqa',
        metavar='PRESET',
        help=f'{", ".join(PRESETS)}, or a preset of your presets file (default: llmiqa)',
    )
    add_option_arguments(parser)


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """--options, --opt and --device: the options of llmiqa metrics, and where they run."""
    parser.add_argument('--options', metavar='FILE.yml', help='YAML mapping of metric options')
    parser.add_argument(
        '--opt',
        action='append',
        default=[],
        metavar='KEY=VALUE',
        help='one option; dotted keys for nested values (mask_generator.pred_iou_thresh=0.5); repeatable',
    )
    parser.add_argument('--device', help='torch device (default: the GPU when there is one, else the CPU)')


def options_from_args(args) -> Dict[str, Any]:
    """The option overrides that ``args`` asks for: the options file, then each --opt."""
    return merge(load_options_file(args.options), parse_assignments(args.opt))


def create_metric_from_args(args):
    """A pyiqa metric built from the preset and overrides in ``args``."""
    from pyiqa_llmiqa.metric.preflight import before_loading

    # a bad preset or option, the CPU warning and files that cannot be downloaded come before pyiqa
    # and torch load (seconds): torch loads here only where it alone can tell whether there is a GPU
    before_loading(resolved_options(args.metric, **options_from_args(args)), args.device)
    import pyiqa

    from pyiqa_llmiqa.pyiqa_plugin import register

    register()
    return pyiqa.create_metric(args.metric, device=args.device or default_device(), **options_from_args(args))
