"""pyiqa-llmiqa: standard-guided, mix-grained image quality assessment with multimodal LLMs.

The ``llmiqa`` presets become pyiqa metrics when pyiqa is imported: installed with pip, in every
program (see ``pyiqa_llmiqa_autoload``); otherwise after ``import pyiqa_llmiqa``::

    import pyiqa, pyiqa_llmiqa
    metric = pyiqa.create_metric('llmiqa_global', backbone='Qwen/Qwen2.5-VL-7B-Instruct')

Importing this package imports neither pyiqa nor torch: the command line's help and its CSV
commands start fast, and the arch module loads when a metric is built.
"""

import sys

import pyiqa_llmiqa_autoload
from pyiqa_llmiqa.pyiqa_plugin import PRESETS, register, resolved_options

__version__ = '0.1.0'
__all__ = ['PRESETS', 'register', 'resolved_options', '__version__']

if 'pyiqa' in sys.modules:
    register()
else:
    pyiqa_llmiqa_autoload.register_when_pyiqa_imported()
