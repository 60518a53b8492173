"""`pyiqa-llmiqa options [--metric NAME]`: the options a metric runs with, and what each means."""

import json

from pyiqa_llmiqa.cli.metric_args import add_metric_arguments, options_from_args


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'options',
        help='print the resolved options of a preset, with their meaning',
        description='Print the options a metric made from a preset (and any --options/--opt) runs with, '
        'each with its meaning, and where your own presets are read from.',
    )
    add_metric_arguments(parser)
    parser.add_argument(
        '--markdown',
        action='store_true',
        help='print the reference table of every option and its default (docs/options.md)',
    )
    parser.set_defaults(run=run)


def _value(value) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def markdown_table() -> str:
    """Every option, its default and its meaning, as the table of docs/options.md."""
    from pyiqa_llmiqa.config.options import OPTION_HELP, resolve_options

    defaults = resolve_options().to_dict()
    lines = ['| option | default | meaning |', '|---|---|---|']
    lines += [f'| `{name}` | `{_value(value)}` | {OPTION_HELP[name]} |' for name, value in defaults.items()]
    return '\n'.join(lines)


def run(args) -> int:
    from pyiqa_llmiqa.config.options import OPTION_HELP
    from pyiqa_llmiqa.config.presets import PRESETS, resolved_options
    from pyiqa_llmiqa.config.user_presets import load_user_presets, presets_path

    if args.markdown:
        print(markdown_table())
        return 0
    options = resolved_options(args.metric, **options_from_args(args))
    path = presets_path()
    entry = load_user_presets().get(args.metric)
    origin = 'built-in preset' if entry is None else f'your preset, from {entry.where}'
    if entry is not None and args.metric in PRESETS:
        origin = f'built-in preset, changed by your preset at {entry.where}'
    print(f'{args.metric} ({origin}; your presets file: {path}{"" if path.is_file() else ", not found"})')
    for name, value in options.items():
        print(f'{name}: {_value(value)}\n    {OPTION_HELP[name]}')
    return 0
