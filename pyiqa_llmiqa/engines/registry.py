"""The one place that picks the engine for a metric's options.

``transformers_engine.TransformersEngine`` serves every model that transformers'
``AutoModelForImageTextToText`` loads; ``owl3.Owl3Engine`` serves mPLUG-Owl3, whose code lives in
its hub repository; ``openai_server.OpenAIEngine`` asks an OpenAI-compatible server (``engine:
openai``). A new engine is one more branch here and one module beside this one.
"""

from pyiqa_llmiqa.config.options import LLMIQAOptions, check_owl3_consent, is_owl3
from pyiqa_llmiqa.config.standards import Standard
from pyiqa_llmiqa.engines.base import Engine


def load_engine(options: LLMIQAOptions, standard: Standard) -> Engine:
    """The engine that ``options.backbone`` names, loaded, and ready to ask ``standard``'s question."""
    if options.engine == 'openai':
        from pyiqa_llmiqa.engines.openai_server import OpenAIEngine

        engine = OpenAIEngine(options)
        engine.prepare(standard)
        return engine
    check_owl3_consent(options)
    if is_owl3(options.backbone):
        from pyiqa_llmiqa.engines.owl3 import Owl3Engine as engine_class
    else:
        from pyiqa_llmiqa.engines.transformers_engine import TransformersEngine as engine_class
    engine = engine_class(options)
    engine.prepare(standard, options.levels, options.batch_size)
    return engine
