"""The metrics a benchmark runs: llmiqa presets (with the user's options) and pyiqa's NR metrics.

A :class:`MetricSpec` knows everything the scores depend on before anything is built, so finished
results can be found, and stale ones told apart, without loading a model.
"""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List

from pyiqa_llmiqa.common.names import close_matches
from pyiqa_llmiqa.config.options import OptionError
from pyiqa_llmiqa.config.presets import preset_names, resolved_options

# llmiqa options that cannot change a score: where masks are cached, whether each region's mask is
# returned beside it, and how requests reach a server. Changing them keeps finished results; every
# other option is in the key.
SCORE_NEUTRAL_OPTIONS = (
    'mask_cache_dir',
    'return_masks',
    'api_key_env',
    'allow_insecure_http',
    'requests_in_flight',
    'request_timeout',
    'request_retries',
)


@dataclass
class MetricSpec:
    """A metric by name, with the fully resolved options its scores depend on."""

    name: str
    options: Dict[str, Any]
    lower_better: bool
    overrides: Dict[str, Any]  # keyword arguments for pyiqa.create_metric (llmiqa only)
    served: Dict[str, Any] = field(default_factory=dict)  # engine openai: the model the server reports

    @property
    def is_llmiqa(self) -> bool:
        return self.name in preset_names()  # the built-in presets and the user's

    def key(self, augment: Dict[str, Any]) -> str:
        """A short hash of what the scores depend on: the metric, its options and the data set's
        preprocessing. For llmiqa, the ``SCORE_NEUTRAL_OPTIONS`` are left out and ``dtype`` is the
        one it resolves to ('auto' is bfloat16 on a GPU, float32 on a CPU: not the same scores); with
        engine openai, the options name the engine and the server's URL, and ``served`` the model the
        server reports (its weights' path where it says, as vLLM does)."""
        options = self.options
        if self.is_llmiqa:
            from pyiqa_llmiqa.common.devices import resolve_dtype

            options = {name: value for name, value in options.items() if name not in SCORE_NEUTRAL_OPTIONS}
            if options.get('engine') != 'openai':  # a server's dtype is the server's
                options['dtype'] = str(resolve_dtype(options['dtype']))
        described = {'metric': self.name, 'options': options, 'augment': augment}
        if self.served:
            described['served'] = self.served
        text = json.dumps(described, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def build(self, device: str) -> Callable:
        """A function from an RGB PIL image to its record fields: ``score``, and for llmiqa the details
        of ``score --json`` (global and local score, regions, fallbacks)."""
        import pyiqa
        import torchvision.transforms.functional as TF

        metric = pyiqa.create_metric(self.name, device=device, **self.overrides)
        if self.is_llmiqa:

            def score(image):
                return metric.net.assess([image])[0].to_dict()
        else:

            def score(image):
                return {'score': float(metric(TF.to_tensor(image).unsqueeze(0)).item())}

        return score


def served_model(options: Dict[str, Any]) -> Dict[str, Any]:
    """With engine openai, what the server reports about the model it serves (it must answer now); else {}."""
    if options.get('engine') != 'openai':
        return {}
    from pyiqa_llmiqa.config.options import resolve_options
    from pyiqa_llmiqa.engines.openai_server import OpenAIEngine

    return OpenAIEngine(resolve_options(**options)).served


def metric_spec(name: str, llmiqa_overrides: Dict[str, Any]) -> MetricSpec:
    """The spec of one metric; unknown and full-reference metrics are an ``OptionError``."""
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    from pyiqa_llmiqa.pyiqa_plugin import register

    register()
    if name in preset_names():
        options = resolved_options(name, **llmiqa_overrides)
        return MetricSpec(name, options, False, dict(llmiqa_overrides), served_model(options))
    if name not in DEFAULT_CONFIGS:
        close = close_matches(name, DEFAULT_CONFIGS, n=5)
        hint = f'; did you mean {", ".join(close)}?' if close else '; pyiqa.list_models() lists them'
        raise OptionError(f'unknown metric {name!r}{hint}')
    config = DEFAULT_CONFIGS[name]
    if config.get('metric_mode') != 'NR':
        raise OptionError(f'{name} is a {config.get("metric_mode")} metric; bench scores no-reference metrics')
    return MetricSpec(name, dict(config['metric_opts']), bool(config.get('lower_better', False)), {})


def metric_specs(names: List[str], llmiqa_overrides: Dict[str, Any]) -> List[MetricSpec]:
    """Specs of ``names`` in order, each name once."""
    return [metric_spec(name, llmiqa_overrides) for name in dict.fromkeys(names)]
