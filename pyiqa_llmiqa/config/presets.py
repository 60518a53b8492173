"""The named presets: the built-in ones, and the user's from the presets file (``user_presets``).

A preset is a set of llmiqa options under a name, for places that take only a name (pyiqa's
``create_metric(NAME)``, its command line, ``bench --metrics``). pyiqa_plugin turns each into a
pyiqa ``DEFAULT_CONFIGS`` entry.
"""

from typing import Any, Dict, List

from pyiqa_llmiqa.common.names import did_you_mean
from pyiqa_llmiqa.config.options import OptionError, resolve_options
from pyiqa_llmiqa.config.user_presets import UserPreset, load_user_presets

DEFAULT_PRESET = 'llmiqa'  # what a user preset starts from when it names none

# Each preset's options; everything not named here takes its default from LLMIQAOptions.
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


def base_preset(entry: UserPreset) -> Any:
    """The built-in preset a user's entry starts from: the one it names, else the built-in of the same
    name (an entry named like a built-in changes that preset), else ``DEFAULT_PRESET``."""
    if entry.base is not None:
        return entry.base
    return entry.name if entry.name in PRESETS else DEFAULT_PRESET


def user_preset_options(entry: UserPreset) -> Dict[str, Any]:
    """The options of the user's preset (built-in base merged with its own), checked; an
    ``OptionError`` naming the presets file and line otherwise."""
    if not isinstance(entry.options, dict):
        raise entry.located(f'a preset is a mapping of options; got {entry.options!r}')
    base = base_preset(entry)
    if base not in PRESETS:
        raise entry.located(f"'preset' must be one of {', '.join(PRESETS)}; got {base!r}")
    options = {**PRESETS[base], **entry.options}
    try:
        resolve_options(options)
    except OptionError as error:
        raise entry.located(error) from None
    return options


def preset_names() -> List[str]:
    """The built-in presets, then the user's (raises ``OptionError`` if the presets file is broken)."""
    return [*PRESETS, *(name for name in load_user_presets() if name not in PRESETS)]


def preset_options(name: str) -> Dict[str, Any]:
    """The options a preset sets (the user's entry of that name, else the built-in), before defaults."""
    users = load_user_presets()
    if name in users:
        return user_preset_options(users[name])
    if name in PRESETS:
        return PRESETS[name]
    names = preset_names()
    raise OptionError(f'unknown llmiqa preset {name!r}{did_you_mean(name, names)}; presets: {", ".join(names)}')


def resolved_options(name: str, **overrides) -> Dict[str, Any]:
    """The options a metric made by ``create_metric(name, **overrides)`` runs with."""
    return resolve_options(preset_options(name), **overrides).to_dict()
