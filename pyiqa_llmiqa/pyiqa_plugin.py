"""Everything that touches pyiqa: the presets as ``DEFAULT_CONFIGS`` entries, the arch in
``ARCH_REGISTRY``, and the two pyiqa internals the plugin wraps. Tested with pyiqa 0.1.16.

``register()`` runs when pyiqa is imported (the start-up hook in ``pyiqa_llmiqa_autoload``, which
has to be importable without this package), on ``import pyiqa_llmiqa`` and from pyiqa's
``pyiqa.archs`` entry point. It may run any number of times, in any order, also after a module
reload. The arch is registered lazily: torch and transformers load when a metric is built. Every
pyiqa internal used here and in ``bench`` is checked first (``pyiqa_internals``).

What the arch cannot do itself, because pyiqa keeps it from the arch, is done by wrapping
``pyiqa.models.inference_model.InferenceModel`` (each wrap once, marked, and a no-op for every
other metric):

- ``__init__``: pyiqa passes its ``device`` argument to the model it wraps, not to the arch, and
  builds the arch before moving it. The device is checked (a CUDA device torch cannot use), and a
  7B backbone on a CPU is warned about, before the arch loads gigabytes of weights.
- ``_to_batched_tensor``: pyiqa reads a path with ``imread2tensor`` (no EXIF orientation, Pillow's
  traceback on a bad file) and asserts on tensors, so the arch never sees either. For llmiqa
  metrics a path goes through ``load_image``, a PIL image through ``to_rgb``, and a tensor is
  checked first and handed on in float32 (pyiqa's ``max < 1 + 1e-6`` fails on a half-precision 1.0).
"""

import copy
import functools
import os
import sys
import warnings
from typing import Any, Dict

from pyiqa_llmiqa.config.options import OptionError, resolve_options
from pyiqa_llmiqa.config.presets import PRESETS, preset_options
from pyiqa_llmiqa.config.user_presets import load_user_presets
from pyiqa_llmiqa.pyiqa_internals import INFERENCE_MODEL_KWARGS, check_pyiqa_internals

ARCH_NAME = 'LLMIQA'
ARCH_PATH = 'pyiqa_llmiqa.metric.llmiqa_arch:LLMIQA'
BAD_PRESET_ARCH = 'LLMIQABadUserPreset'  # a user preset with an error raises it when built


def preset_config(name: str, builtin: bool = False) -> Dict[str, Any]:
    """The ``DEFAULT_CONFIGS`` entry of preset ``name``, with its fully resolved options (``builtin``:
    as shipped, whatever the user's file says)."""
    options = resolve_options(PRESETS[name] if builtin else preset_options(name))
    return {
        'metric_opts': {'type': ARCH_NAME, **options.to_dict()},
        'metric_mode': 'NR',
        'lower_better': False,
        'score_range': f'1, {options.levels}',
    }


def bad_user_preset(message: str, **_ignored):
    """The arch of a user preset with an error: building it raises the error (file and line)."""
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
    try:
        entries = load_user_presets()
    except OptionError as error:  # the file as a whole is broken: nothing to list, pyiqa still works
        warnings.warn(f'llmiqa user presets not added: {error}', RuntimeWarning, stacklevel=3)
        return
    for name in entries:
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


def _is_llmiqa(metric_name) -> bool:
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    return DEFAULT_CONFIGS.get(metric_name, {}).get('metric_opts', {}).get('type') == ARCH_NAME


def _check_device_first(original_init):
    """``InferenceModel.__init__`` that checks the device of an llmiqa metric before the arch loads."""

    @functools.wraps(original_init)
    def __init__(self, metric_name, *args, **kwargs):
        if _is_llmiqa(metric_name):
            from pyiqa.default_model_configs import DEFAULT_CONFIGS

            from pyiqa_llmiqa.metric.preflight import check_device_for

            arch_options = {k: v for k, v in kwargs.items() if k not in INFERENCE_MODEL_KWARGS}
            check_device_for(DEFAULT_CONFIGS[metric_name]['metric_opts'], arch_options, kwargs.get('device'))
        original_init(self, metric_name, *args, **kwargs)

    __init__.llmiqa_wrapped = True
    return __init__


def _route_inputs(original):
    """``InferenceModel._to_batched_tensor`` that sends an llmiqa metric's inputs through the package's
    own loading and checks."""

    @functools.wraps(original)
    def _to_batched_tensor(self, img):
        from pyiqa_llmiqa.metric.llmiqa_arch import LLMIQA

        if isinstance(self.net, LLMIQA):
            from PIL import Image

            from pyiqa_llmiqa.inputs.images import check_tensor, load_image, to_batched_tensor

            if isinstance(img, (str, os.PathLike)):
                img = load_image(img)
            if isinstance(img, Image.Image):
                return to_batched_tensor(img)
            check_tensor(img)
            img = img.float()  # exact for float16 and bfloat16 values
        return original(self, img)

    _to_batched_tensor.llmiqa_wrapped = True
    return _to_batched_tensor


def wrap_pyiqa_internals() -> None:
    """Wrap ``InferenceModel.__init__`` and ``_to_batched_tensor`` (see the module's docstring), once."""
    from pyiqa.models.inference_model import InferenceModel

    if not getattr(InferenceModel.__init__, 'llmiqa_wrapped', False):
        InferenceModel.__init__ = _check_device_first(InferenceModel.__init__)
    if not getattr(InferenceModel._to_batched_tensor, 'llmiqa_wrapped', False):
        InferenceModel._to_batched_tensor = _route_inputs(InferenceModel._to_batched_tensor)


def register() -> None:
    """Add the presets to pyiqa's ``DEFAULT_CONFIGS``, the arch to ``ARCH_REGISTRY``, and wrap pyiqa's
    internals (see the module's docstring)."""
    from pyiqa.default_model_configs import DEFAULT_CONFIGS
    from pyiqa.utils.registry import ARCH_REGISTRY

    check_pyiqa_internals()  # a pyiqa that changed what the plugin relies on: one error naming each piece
    arch_module = sys.modules.get(ARCH_PATH.split(':')[0])
    if arch_module is not None:  # already imported (or reloaded): register that class
        ARCH_REGISTRY.register(arch_module.LLMIQA, name=ARCH_NAME, override=True)
    else:
        ARCH_REGISTRY.register_lazy(ARCH_NAME, ARCH_PATH, override=True)
    ARCH_REGISTRY.register(bad_user_preset, name=BAD_PRESET_ARCH, override=True)
    wrap_pyiqa_internals()
    for name in PRESETS:
        DEFAULT_CONFIGS[name] = copy.deepcopy(preset_config(name, builtin=True))
    _add_user_presets(DEFAULT_CONFIGS)  # the user's presets, and their changes to the built-in ones
