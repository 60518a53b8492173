"""Adding the llmiqa presets to pyiqa: ``DEFAULT_CONFIGS`` entries and the arch in ``ARCH_REGISTRY``.

``register()`` runs on ``import pyiqa_llmiqa`` and from pyiqa's ``pyiqa.archs`` entry point. It may
run any number of times, in any order, also after a module reload.
"""
import copy
from typing import Any, Dict

ARCH_NAME = 'LLMIQA'

# Each preset's metric_opts; everything not named here takes its default from LLMIQAOptions.
PRESETS: Dict[str, Dict[str, Any]] = {
    'llmiqa': {'mix_grained': True},
    'llmiqa_global': {'mix_grained': False},
    # the paper's main model, in the revision out when Dog-IQA appeared (2024-10) and the one
    # verified here; its hub repository runs its own code, so the user must allow it
    'llmiqa_owl3': {'mix_grained': True, 'backbone': 'mPLUG/mPLUG-Owl3-7B-240728'},
    # the paper's Table 3 second model, in the transformers-native conversion
    'llmiqa_janus': {'mix_grained': True, 'backbone': 'deepseek-community/Janus-Pro-7B'},
    # for people without a GPU: a 256M-parameter backbone and the smallest SAM2.1
    'llmiqa_small': {
        'mix_grained': True,
        'backbone': 'HuggingFaceTB/SmolVLM-256M-Instruct',
        'segmenter': 'facebook/sam2.1-hiera-tiny',
    },
}


def preset_config(name: str) -> Dict[str, Any]:
    """The ``DEFAULT_CONFIGS`` entry of preset ``name``, with its fully resolved options."""
    from .options import resolve_options

    options = resolve_options(PRESETS[name])
    return {
        'metric_opts': {'type': ARCH_NAME, **options.to_dict()},
        'metric_mode': 'NR',
        'lower_better': False,
        'score_range': f'1, {options.levels}',
    }


def resolved_options(name: str, **overrides) -> Dict[str, Any]:
    """The options a metric made by ``create_metric(name, **overrides)`` runs with."""
    from .options import resolve_options

    if name not in PRESETS:
        raise KeyError(f"unknown llmiqa preset {name!r}; presets: {', '.join(PRESETS)}")
    return resolve_options(PRESETS[name], **overrides).to_dict()


def register() -> None:
    """Add the presets to pyiqa's ``DEFAULT_CONFIGS`` and the arch to ``ARCH_REGISTRY``; route
    llmiqa metrics' file inputs through ``load_image`` (``images.route_llmiqa_inputs``)."""
    from pyiqa.default_model_configs import DEFAULT_CONFIGS
    from pyiqa.utils.registry import ARCH_REGISTRY

    from .images import route_llmiqa_inputs
    from .llmiqa_arch import LLMIQA

    ARCH_REGISTRY.register(LLMIQA, name=ARCH_NAME, override=True)
    route_llmiqa_inputs()  # llmiqa metrics read files with load_image (EXIF, clear errors)
    for name in PRESETS:
        DEFAULT_CONFIGS[name] = copy.deepcopy(preset_config(name))
