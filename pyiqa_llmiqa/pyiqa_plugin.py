"""Adding the llmiqa presets to pyiqa: ``DEFAULT_CONFIGS`` entries and the arch in ``ARCH_REGISTRY``.

``register()`` runs when pyiqa is imported (``pyiqa_llmiqa_autoload``), on ``import pyiqa_llmiqa``
and from pyiqa's ``pyiqa.archs`` entry point. It may run any number of times, in any order, also
after a module reload. The arch is registered lazily: torch and transformers load when a metric is
built, not when pyiqa is imported.
"""

import copy
import difflib
import sys
import warnings
from typing import Any, Dict, List

ARCH_NAME = 'LLMIQA'
ARCH_PATH = 'pyiqa_llmiqa.metric.llmiqa_arch:LLMIQA'
BAD_PRESET_ARCH = 'LLMIQABadUserPreset'  # a user preset with an error raises it when built

# Each preset's metric_opts; everything not named here takes its default from LLMIQAOptions.
PRESETS: Dict[str, Dict[str, Any]] = {
    'llmiqa': {'mix_grained': True},
    'llmiqa_global': {'mix_grained': False},
    # the paper's main model, in the revision out when Dog-IQA appeared (2024-10) and the one
    # verified here; its hub repository runs its own code, so the user must allow it
    'llmiqa_owl3': {'mix_grained': True, 'backbone': 'mPLUG/mPLUG-Owl3-7B-240728'},
    # the paper's Table 3 second model, in the transformers-native conversion
    'llmiqa_janus': {'mix_grained': True, 'backbone': 'deepseek-community/Janus-Pro-7B'},
    # for people without a GPU: a 256M-parameter backbone and the smallest SAM2.1; SmolVLM's processor
    # would cut every crop into 13 tiles (832 image tokens), one 512 px view (64 tokens) is ~6x faster
    'llmiqa_small': {
        'mix_grained': True,
        'backbone': 'HuggingFaceTB/SmolVLM-256M-Instruct',
        'segmenter': 'facebook/sam2.1-hiera-tiny',
        'processor_kwargs': {'do_image_splitting': False},
    },
}


def user_preset_options(name: str) -> Dict[str, Any]:
    """The options of the user's preset ``name`` (built-in base merged with its own), checked; an
    ``OptionError`` naming the presets file and line otherwise."""
    from pyiqa_llmiqa.config.options import OptionError, resolve_options
    from pyiqa_llmiqa.config.user_presets import load_user_presets

    entry = load_user_presets()[name]
    if not isinstance(entry.options, dict):
        raise entry.located(f'a preset is a mapping of options; got {entry.options!r}')
    if entry.base not in PRESETS:
        raise entry.located(f"'preset' must be one of {', '.join(PRESETS)}; got {entry.base!r}")
    options = {**PRESETS[entry.base], **entry.options}
    try:
        resolve_options(options)
    except OptionError as error:
        raise entry.located(error) from None
    return options


def preset_names() -> List[str]:
    """The built-in presets, then the user's (raises ``OptionError`` if the presets file is broken)."""
    from pyiqa_llmiqa.config.user_presets import load_user_presets

    return [*PRESETS, *(name for name in load_user_presets() if name not in PRESETS)]


def preset_options(name: str) -> Dict[str, Any]:
    """The options a preset sets (the user's entry of that name, else the built-in), before defaults."""
    from pyiqa_llmiqa.config.options import OptionError
    from pyiqa_llmiqa.config.user_presets import load_user_presets

    users = load_user_presets()
    if name in PRESETS and name not in users:
        return PRESETS[name]
    names = preset_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f' (did you mean {close[0]!r}?)' if close else ''
        raise OptionError(f'unknown llmiqa preset {name!r}{hint}; presets: {", ".join(names)}')
    return user_preset_options(name)


def preset_config(name: str, builtin: bool = False) -> Dict[str, Any]:
    """The ``DEFAULT_CONFIGS`` entry of preset ``name``, with its fully resolved options (``builtin``:
    as shipped, whatever the user's file says)."""
    from pyiqa_llmiqa.config.options import resolve_options

    options = resolve_options(PRESETS[name] if builtin else preset_options(name))
    return {
        'metric_opts': {'type': ARCH_NAME, **options.to_dict()},
        'metric_mode': 'NR',
        'lower_better': False,
        'score_range': f'1, {options.levels}',
    }


def resolved_options(name: str, **overrides) -> Dict[str, Any]:
    """The options a metric made by ``create_metric(name, **overrides)`` runs with."""
    from pyiqa_llmiqa.config.options import resolve_options

    return resolve_options(preset_options(name), **overrides).to_dict()


def bad_user_preset(message: str, **_ignored):
    """The arch of a user preset with an error: building it raises the error (file and line)."""
    from pyiqa_llmiqa.config.options import OptionError

    raise OptionError(message)


def _bad_preset_config(message: str) -> Dict[str, Any]:
    return {
        'metric_opts': {'type': BAD_PRESET_ARCH, 'message': message},
        'metric_mode': 'NR',
        'lower_better': False,
        'score_range': '1, 7',
    }


def _add_user_presets(configs) -> None:
    """The user's presets as pyiqa metrics; one with an error is listed and raises it when built."""
    from pyiqa_llmiqa.config.options import OptionError
    from pyiqa_llmiqa.config.user_presets import load_user_presets

    try:
        names = list(load_user_presets())
    except OptionError as error:  # the file as a whole is broken: nothing to list, pyiqa still works
        warnings.warn(f'llmiqa user presets not added: {error}', RuntimeWarning, stacklevel=3)
        return
    for name in names:
        arch = configs.get(name, {}).get('metric_opts', {}).get('type')
        ours = name in PRESETS or arch in (ARCH_NAME, BAD_PRESET_ARCH)
        if name in configs and not ours:
            warnings.warn(
                f'llmiqa user preset {name!r} not added: pyiqa has a metric of that name', RuntimeWarning, stacklevel=3
            )
            continue
        try:
            configs[name] = preset_config(name)
        except OptionError as error:
            configs[name] = _bad_preset_config(str(error))


def register() -> None:
    """Add the presets to pyiqa's ``DEFAULT_CONFIGS`` and the arch to ``ARCH_REGISTRY``; route
    llmiqa metrics' file inputs through ``load_image`` (``images.route_llmiqa_inputs``)."""
    from pyiqa.default_model_configs import DEFAULT_CONFIGS
    from pyiqa.utils.registry import ARCH_REGISTRY

    from pyiqa_llmiqa.inputs.images import route_llmiqa_inputs
    from pyiqa_llmiqa.metric.preflight import check_before_building

    arch_module = sys.modules.get(ARCH_PATH.split(':')[0])
    if arch_module is not None:  # already imported (or reloaded): register that class
        ARCH_REGISTRY.register(arch_module.LLMIQA, name=ARCH_NAME, override=True)
    else:
        ARCH_REGISTRY.register_lazy(ARCH_NAME, ARCH_PATH, override=True)
    ARCH_REGISTRY.register(bad_user_preset, name=BAD_PRESET_ARCH, override=True)
    route_llmiqa_inputs()  # llmiqa metrics read files with load_image (EXIF, clear errors)
    check_before_building()  # device, memory on a CPU and downloads are checked before loading
    for name in PRESETS:
        DEFAULT_CONFIGS[name] = copy.deepcopy(preset_config(name, builtin=True))
    _add_user_presets(DEFAULT_CONFIGS)  # the user's presets, and their changes to the built-in ones
