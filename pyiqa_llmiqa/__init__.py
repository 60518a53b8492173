"""pyiqa-llmiqa: standard-guided, mix-grained image quality assessment with multimodal LLMs.

Importing the package adds the ``llmiqa`` presets to pyiqa::

    import pyiqa, pyiqa_llmiqa
    metric = pyiqa.create_metric('llmiqa_global', backbone='Qwen/Qwen2.5-VL-7B-Instruct')
"""
from .registration import PRESETS, register, resolved_options

__version__ = '0.1.0'
__all__ = ['PRESETS', 'register', 'resolved_options', '__version__']

register()
