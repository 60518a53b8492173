"""pyiqa-llmiqa: standard-guided, mix-grained image quality assessment with multimodal LLMs.

The ``llmiqa`` presets become pyiqa metrics when pyiqa is imported: installed with pip, in every
program (see ``pyiqa_llmiqa_autoload``); otherwise after ``import pyiqa_llmiqa``::

    import pyiqa, pyiqa_llmiqa
    metric = pyiqa.create_metric('llmiqa_global', backbone='Qwen/Qwen2.5-VL-7B-Instruct')
    scores, assessments = metric('photo.jpg', return_assessments=True)

Importing this package imports neither pyiqa nor torch: the public names below load on first use.
"""

import importlib
import sys

import pyiqa_llmiqa_autoload

__version__ = '0.1.0'

# public name -> the module that defines it
_EXPORTS = {
    'LLMIQA': 'pyiqa_llmiqa.metric.llmiqa_arch',
    'Assessment': 'pyiqa_llmiqa.metric.assessment',
    'RegionScore': 'pyiqa_llmiqa.metric.assessment',
    'LLMIQAOptions': 'pyiqa_llmiqa.config.options',
    'resolve_options': 'pyiqa_llmiqa.config.options',
    'PRESETS': 'pyiqa_llmiqa.config.presets',
    'resolved_options': 'pyiqa_llmiqa.config.presets',
    'register': 'pyiqa_llmiqa.pyiqa_plugin',
    'LLMIQAError': 'pyiqa_llmiqa.errors',
    'OptionError': 'pyiqa_llmiqa.errors',
    'InputError': 'pyiqa_llmiqa.errors',
    'ImageLoadError': 'pyiqa_llmiqa.errors',
    'BackboneLoadError': 'pyiqa_llmiqa.errors',
    'SegmenterLoadError': 'pyiqa_llmiqa.errors',
    'CheckpointNotFoundError': 'pyiqa_llmiqa.errors',
    'DeviceError': 'pyiqa_llmiqa.errors',
    'HubUnreachableError': 'pyiqa_llmiqa.errors',
}
__all__ = ['__version__', *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    return sorted([*globals(), *_EXPORTS])


if 'pyiqa' in sys.modules:
    from pyiqa_llmiqa.pyiqa_plugin import register

    register()
else:
    pyiqa_llmiqa_autoload.register_when_pyiqa_imported()
