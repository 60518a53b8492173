"""The options of the llmiqa metrics: names, defaults, types, and every check on them.

Options arrive from presets, keyword arguments of ``pyiqa.create_metric``, YAML files and the command
line. All of them are checked here, when they are resolved, before any model is loaded or
downloaded, so a wrong name, type or value is always the same ``OptionError``. The types come from
the annotations of ``LLMIQAOptions`` (and, for ``mask_generator``, of sam2's generator); the
resolved options hold the full SAM2 generator settings that will run.
"""

import functools
import inspect
import json
import os
import re
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from pyiqa_llmiqa.common.devices import DTYPE_NAMES
from pyiqa_llmiqa.common.names import did_you_mean
from pyiqa_llmiqa.config.sam2_names import resolve_sam2_config, sam2_hub_models
from pyiqa_llmiqa.config.standards import build_standard
from pyiqa_llmiqa.errors import OptionError

DEFAULT_BACKBONE = 'Qwen/Qwen2.5-VL-7B-Instruct'
DEFAULT_SEGMENTER = 'facebook/sam2.1-hiera-large'  # the largest SAM2.1; the paper names no size

# Table 2 of the paper's appendix; every other generator argument keeps sam2's default.
PAPER_MASK_GENERATOR: Dict[str, Any] = {
    'points_per_side': 8,
    'points_per_batch': 128,
    'pred_iou_thresh': 0.9,
    'stability_score_thresh': 0.8,
    'stability_score_offset': 0.7,
    'crop_n_layers': 0,
    'box_nms_thresh': 0.9,
    'crop_n_points_downscale_factor': 1.2,
    'min_mask_region_area': 1000,
    'use_m2m': False,
    'output_mode': 'coco_rle',
}

SCORE_MODES = ('greedy', 'expectation')
QUANTIZATIONS = ('4bit', '8bit')
DTYPES = ('auto', *DTYPE_NAMES)
SEGMENTER_KEYS = ('config', 'checkpoint')
# segment.lean_mask_generator's own arguments, beside those of sam2's generator
LEAN_GENERATOR_ARG_TYPES: Dict[str, tuple] = {'autocast_dtype': (str, type(None))}
AUTOCAST_DTYPES = (None, 'bfloat16', 'float16')
OWL3_MODEL_KWARGS = ('attn_implementation',)  # what mPLUG-Owl3's loader takes
ENGINES = ('transformers', 'openai')
SERVER_OPTIONS = ('server_url', 'api_key_env', 'allow_insecure_http')  # meaningful for engine openai only
ENV_VAR_NAME = re.compile(r'[A-Z_][A-Z0-9_]*')


@dataclass
class LLMIQAOptions:
    """Every option of an llmiqa metric, with its default."""

    backbone: str = DEFAULT_BACKBONE
    standard: str = 'word'
    levels: int = 7
    level_descriptions: Union[List[str], Tuple[str, ...], None] = None
    score_mode: str = 'greedy'
    dtype: str = 'auto'
    batch_size: Optional[int] = None  # None: 8 on a GPU, 4 on a CPU (see batch_size_for)
    share_prefix: bool = True
    trust_remote_code: bool = False
    quantization: Optional[str] = None
    model_kwargs: Dict[str, Any] = field(default_factory=dict)
    processor_kwargs: Dict[str, Any] = field(default_factory=dict)
    mix_grained: bool = True
    segmenter: Union[str, Dict[str, str]] = DEFAULT_SEGMENTER  # a sam2 hub id or {config, checkpoint}
    mask_generator: Dict[str, Any] = field(default_factory=dict)  # merged over PAPER_MASK_GENERATOR
    mask_cache_dir: Optional[str] = None
    min_region_area: float = 0.001
    complement: bool = True
    global_weight: float = 0.5
    mask_count_max: Optional[int] = None
    mask_count_weight: float = 1 / 3
    return_masks: bool = False
    engine: str = 'transformers'
    server_url: Optional[str] = None
    api_key_env: Optional[str] = None
    allow_insecure_http: bool = False
    requests_in_flight: int = 8
    request_timeout: float = 120.0
    request_retries: int = 3

    def __post_init__(self):
        for name, types in OPTION_TYPES.items():
            _check_type(name, getattr(self, name), types)
        self.mask_generator = mask_generator_settings(self.mask_generator)
        _check_values(self)

    def to_dict(self) -> Dict[str, Any]:
        """The resolved options as plain data (for YAML, JSON and result keys)."""
        resolved = asdict(self)
        if resolved['level_descriptions'] is not None:
            resolved['level_descriptions'] = list(resolved['level_descriptions'])
        return resolved


def _classes(hint) -> tuple:
    """The classes a type annotation admits, for ``isinstance``: unions flattened, generics by their
    container, ``float`` admitting ``int`` too (as in PEP 484)."""
    if hint is Any:
        return (object,)
    origin = typing.get_origin(hint)
    if origin is Union:
        return tuple(cls for arg in typing.get_args(hint) for cls in _classes(arg))
    if origin is not None:
        return (origin,)
    return (float, int) if hint is float else (hint,)


# What each option means: `pyiqa-llmiqa options` prints it and docs/options.md is generated from it.
OPTION_HELP = {
    'backbone': 'hub id or local folder of an image-text-to-text model (AutoModelForImageTextToText); '
    'with engine openai, the model name the server serves',
    'engine': 'transformers: the model runs in this process; openai: an OpenAI-compatible server runs it '
    '(vLLM, SGLang, transformers serve, a hosted API; see docs/many-gpus.md)',
    'server_url': "engine openai: the server's base URL, e.g. http://127.0.0.1:8000/v1; images are sent "
    'there and nowhere else',
    'api_key_env': 'engine openai: the NAME of the environment variable that holds the API key (e.g. '
    'OPENAI_API_KEY), never the key itself; null: no key',
    'allow_insecure_http': 'engine openai: allow plain http:// to a host other than this machine (images '
    'and the key travel unencrypted)',
    'requests_in_flight': 'engine openai: requests sent at once (the server batches them)',
    'request_timeout': 'engine openai: seconds one request may take before it is retried',
    'request_retries': 'engine openai: retries of a request that timed out or got 429 or 5xx (with '
    'backoff, honouring Retry-After); then the image fails',
    'standard': 'word (K = 3, 5, 7, 9), sentence (K = 7) or number (any K from 2 to 9): the prompts of '
    "the paper's appendix E",
    'levels': 'K, the number of quality levels; scores lie in [1, K]',
    'level_descriptions': 'your own level descriptions, best level first (K strings); makes any K valid '
    'for word and sentence',
    'score_mode': "greedy: the token greedy decoding would answer (the paper's); expectation: softmax "
    'over the K level tokens, expected level',
    'dtype': 'auto (bfloat16 on a GPU that supports it, else float32), bfloat16, float16, float32',
    'batch_size': 'images and regions per forward pass, in batches of similar size; an out-of-memory '
    'batch is halved and retried; null: 8 on a GPU, 4 on a CPU (docs/speed.md); 1 uses the least memory',
    'share_prefix': "compute the prompt's shared text prefix (template opening and standard) once and "
    'reuse its keys and values',
    'trust_remote_code': "let transformers run the model repository's own code (needed by mPLUG-Owl3)",
    'quantization': '4bit (NF4) or 8bit through bitsandbytes, on a CUDA GPU; null: none',
    'model_kwargs': 'more keyword arguments for from_pretrained of the model (device_map, attn_implementation, ...)',
    'processor_kwargs': 'more keyword arguments for AutoProcessor.from_pretrained (max_pixels, ...)',
    'mix_grained': 'score SAM2 regions too; false scores the whole image only',
    'segmenter': 'SAM2 model: a hub id sam2 loads (facebook/sam2.1-hiera-tiny, -small, -base-plus, '
    '-large), or {config: sam2.1_hiera_t, checkpoint: /path/to.pt}',
    'mask_generator': "SAM2's automatic mask generator settings: the paper's Table 2, with the keys given "
    'merged over it; plus autocast_dtype: bfloat16 or float16 to run SAM2 under autocast '
    '(faster, masks change slightly)',
    'mask_cache_dir': 'a folder where masks are kept per image content and SAM2 settings, so SAM2 runs once per image',
    'min_region_area': 'masks smaller than this fraction of the image are dropped',
    'complement': 'also score the pixels no kept mask covers',
    'global_weight': 'w in s = w s_global + (1 - w) s_local',
    'mask_count_max': "c_max of Dog-IQA's count term s_seg = c K / c_max; null leaves it off",
    'mask_count_weight': 'weight of the count term when it is on',
    'return_masks': "keep each region's mask (COCO RLE) in the details",
}

OPTION_NAMES = tuple(f.name for f in fields(LLMIQAOptions))
# What each option accepts, from the annotations above; checked before values are looked at.
OPTION_TYPES: Dict[str, tuple] = {
    name: _classes(hint) for name, hint in typing.get_type_hints(LLMIQAOptions).items() if name in OPTION_NAMES
}


def _type_names(types) -> str:
    return ' or '.join('null' if t is type(None) else t.__name__ for t in types)


def _check_type(name: str, value, types: tuple) -> None:
    """``value`` is an instance of ``types``; a bool counts as a number only where bool is named."""
    if object in types:
        return
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise OptionError(f'option {name!r} must be {_type_names(types)}; got {value!r} ({type(value).__name__})')


def _unknown(what: str, names, valid, valid_label: str) -> OptionError:
    """The error for unknown names: each with its likeliest intended name, then all valid ones."""
    hints = [f'{name!r}{did_you_mean(name, valid)}' for name in names]
    return OptionError(f'unknown {what} {", ".join(hints)}; valid {valid_label}: {", ".join(valid)}')


@functools.lru_cache(maxsize=None)
def _generator_arg_types() -> Dict[str, tuple]:
    """The arguments of sam2's ``SAM2AutomaticMaskGenerator`` with the classes their annotations
    admit, widened by the class of the paper's value (Table 2 gives ``crop_n_points_downscale_factor``
    1.2 where sam2 annotates an int; sam2 computes with it), and ``LEAN_GENERATOR_ARG_TYPES``."""
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    types = dict(LEAN_GENERATOR_ARG_TYPES)
    hints = typing.get_type_hints(SAM2AutomaticMaskGenerator.__init__)
    for param in inspect.signature(SAM2AutomaticMaskGenerator.__init__).parameters.values():
        if param.name in ('self', 'model') or param.kind is param.VAR_KEYWORD:
            continue
        classes = _classes(hints.get(param.name, Any))
        paper_class = type(PAPER_MASK_GENERATOR.get(param.name))
        if param.name in PAPER_MASK_GENERATOR and paper_class not in classes:
            classes += (paper_class,)
        types[param.name] = classes
    return dict(sorted(types.items()))


def _is_paper_setting(key: str, value) -> bool:
    return (
        key in PAPER_MASK_GENERATOR
        and type(PAPER_MASK_GENERATOR[key]) is type(value)
        and PAPER_MASK_GENERATOR[key] == value
    )


def mask_generator_settings(overrides: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """``PAPER_MASK_GENERATOR`` with ``overrides`` merged over it: the settings SAM2 runs with.

    Keys and types are checked against sam2's generator (its signature and annotations) and
    ``LeanMaskGenerator``'s own ``autocast_dtype``; sam2 is imported only when a setting differs
    from the paper's (those are checked once, by the test suite).
    """
    settings = {**PAPER_MASK_GENERATOR, **(overrides or {})}
    changed = {key: value for key, value in settings.items() if not _is_paper_setting(key, value)}
    if not changed:
        return settings
    arg_types = _generator_arg_types()
    unknown = [key for key in changed if key not in arg_types]
    if unknown:
        raise _unknown(
            "key of option 'mask_generator' (a SAM2AutomaticMaskGenerator argument)", unknown, list(arg_types), 'keys'
        )
    for key, value in changed.items():
        _check_type(f'mask_generator.{key}', value, arg_types[key])
    if settings.get('autocast_dtype') not in AUTOCAST_DTYPES:
        raise OptionError(
            f"option 'mask_generator.autocast_dtype': must be null, 'bfloat16' or 'float16'; "
            f'got {settings["autocast_dtype"]!r}'
        )
    return settings


def check_segmenter(segmenter) -> None:
    """A sam2 hub id that sam2 knows, or a mapping with a ``config`` sam2 ships and a ``checkpoint`` path."""
    if isinstance(segmenter, str):
        known = sorted(sam2_hub_models())
        if segmenter not in known:
            raise OptionError(
                f"option 'segmenter': unknown SAM2 hub id {segmenter!r}{did_you_mean(segmenter, known)}"
                f'; sam2 knows {known}. '
                "For other weights pass segmenter={'config': ..., 'checkpoint': '/path/to.pt'}"
            )
        return
    if not isinstance(segmenter, Mapping):
        raise OptionError(f"option 'segmenter' must be a sam2 hub id or a mapping; got {type(segmenter).__name__}")
    unknown = sorted(set(segmenter) - set(SEGMENTER_KEYS))
    if unknown:
        raise _unknown("key of option 'segmenter' (a mapping)", unknown, SEGMENTER_KEYS, 'keys')
    if not segmenter.get('config'):
        raise OptionError("option 'segmenter': a mapping needs a 'config', e.g. 'configs/sam2.1/sam2.1_hiera_l.yaml'")
    if not segmenter.get('checkpoint'):
        raise OptionError(
            "option 'segmenter': a mapping needs a 'checkpoint' (a local .pt file); random SAM2 weights are "
            'never used. For tests, make one with pyiqa_llmiqa.testing.sam2_checkpoints.save_random_sam2_checkpoint.'
        )
    for key in SEGMENTER_KEYS:
        if not isinstance(segmenter[key], (str, os.PathLike)):
            raise OptionError(f"option 'segmenter.{key}' must be a str; got {segmenter[key]!r}")
    try:
        resolve_sam2_config(str(segmenter['config']))
    except ValueError as error:
        raise OptionError(f"option 'segmenter.config': {error}") from None


def is_owl3(name: str) -> bool:
    """Whether backbone ``name`` is mPLUG-Owl3: a folder whose config says so, or a hub id naming it."""
    config = os.path.join(name, 'config.json')
    if os.path.isfile(config):
        with open(config, encoding='utf-8') as handle:
            return json.load(handle).get('model_type') == 'mplugowl3'
    return 'mplug-owl3' in name.lower()


def check_owl3_consent(opts: 'LLMIQAOptions') -> None:
    """mPLUG-Owl3 runs its hub repository's code: refuse to load it unless the user allowed that.

    Checked when the backbone is about to load (before any download), not when options are resolved:
    the ``llmiqa_owl3`` preset itself leaves ``trust_remote_code`` off, for the user to turn on.
    """
    if is_owl3(opts.backbone) and not opts.trust_remote_code:
        raise OptionError(
            f"option 'trust_remote_code': the backbone {opts.backbone!r} is mPLUG-Owl3, which transformers does "
            "not include: it runs Python code from the model's hub repository (modeling_mplugowl3.py "
            'and the files it imports). Allow that explicitly with trust_remote_code=True '
            "(pyiqa.create_metric('llmiqa_owl3', trust_remote_code=True), `trust_remote_code: true` in "
            'an options file, or --opt trust_remote_code=true on the command line)'
        )


def _check_owl3(opts: 'LLMIQAOptions') -> None:
    """What the mPLUG-Owl3 backbone cannot do."""
    if opts.quantization is not None:
        raise OptionError(
            f"option 'quantization': not available for the mPLUG-Owl3 backbone; got {opts.quantization!r}"
        )
    unknown = sorted(set(opts.model_kwargs) - set(OWL3_MODEL_KWARGS))
    if unknown:
        raise OptionError(
            f"option 'model_kwargs': the mPLUG-Owl3 backbone takes only {', '.join(OWL3_MODEL_KWARGS)}; got {unknown}"
        )


def _check_values(opts: LLMIQAOptions) -> None:
    def bad(name, why):
        raise OptionError(f'option {name!r}: {why}; got {getattr(opts, name)!r}')

    try:
        build_standard(opts.standard, opts.levels, opts.level_descriptions)
    except ValueError as error:
        raise OptionError(str(error)) from None
    if opts.score_mode not in SCORE_MODES:
        bad('score_mode', f'must be one of {", ".join(SCORE_MODES)}')
    if opts.dtype not in DTYPES:
        bad('dtype', f'must be one of {", ".join(DTYPES)}')
    if opts.quantization is not None and opts.quantization not in QUANTIZATIONS:
        bad('quantization', f'must be null or one of {", ".join(QUANTIZATIONS)} (bitsandbytes)')
    if opts.batch_size is not None and opts.batch_size < 1:
        bad('batch_size', 'must be at least 1, or null for the default of the device')
    if not 0 <= opts.min_region_area < 1:
        bad('min_region_area', 'is a fraction of the image area, in [0, 1)')
    if not 0 <= opts.global_weight <= 1:
        bad('global_weight', 'must be in [0, 1]')
    if opts.mask_count_max is not None and opts.mask_count_max < 1:
        bad('mask_count_max', 'must be a positive mask count, or null to leave the count term off')
    if not 0 <= opts.mask_count_weight <= 1:
        bad('mask_count_weight', 'must be in [0, 1]')
    check_segmenter(opts.segmenter)
    if opts.engine not in ENGINES:
        bad('engine', f'must be one of {", ".join(ENGINES)}')
    if opts.engine == 'openai':
        _check_server(opts)
    else:
        given = [name for name in SERVER_OPTIONS if getattr(opts, name) != getattr(LLMIQAOptions, name)]
        if given:
            raise OptionError(f'option {given[0]!r} is for engine openai; engine is {opts.engine!r}')
        if is_owl3(opts.backbone):
            _check_owl3(opts)


LOOPBACK_HOSTS = ('localhost', '127.0.0.1', '::1')


def _check_server(opts: LLMIQAOptions) -> None:
    """The options of engine openai: a URL to send images to, and a key's variable name (never a key)."""
    from urllib.parse import urlsplit

    if not opts.server_url:
        raise OptionError(
            "option 'server_url': engine openai needs the server's base URL, e.g. http://127.0.0.1:8000/v1"
        )
    url = urlsplit(opts.server_url)
    if url.scheme not in ('http', 'https') or not url.hostname:
        raise OptionError(
            f"option 'server_url': must be an http:// or https:// URL with a host; got {opts.server_url!r}"
        )
    if url.username or url.password or url.query:
        raise OptionError(
            "option 'server_url': must not hold a user, password or query (a key belongs in the environment "
            "variable that option 'api_key_env' names)"
        )
    if url.scheme == 'http' and url.hostname not in LOOPBACK_HOSTS and not opts.allow_insecure_http:
        raise OptionError(
            f"option 'server_url': plain http:// to {url.hostname!r}, another machine, sends the images (and any "
            'key) unencrypted; use https://, or set allow_insecure_http=true for a network you trust'
        )
    if opts.api_key_env is not None and not ENV_VAR_NAME.fullmatch(opts.api_key_env):
        # the value is not shown: a key pasted here by mistake must not reach a log
        raise OptionError(
            "option 'api_key_env': must be the NAME of an environment variable (capitals, digits and _, "
            'e.g. OPENAI_API_KEY), not the key itself; the value given is not shown'
        )
    if opts.requests_in_flight < 1:
        raise OptionError(f"option 'requests_in_flight': must be at least 1; got {opts.requests_in_flight!r}")
    if not opts.request_timeout > 0:
        raise OptionError(
            f"option 'request_timeout': must be a positive number of seconds; got {opts.request_timeout!r}"
        )
    if opts.request_retries < 0:
        raise OptionError(f"option 'request_retries': must be 0 or more; got {opts.request_retries!r}")


def resolve_options(base: Optional[Dict[str, Any]] = None, **overrides) -> LLMIQAOptions:
    """Merge ``overrides`` over ``base`` (a preset) and validate the result."""
    merged = dict(base or {})
    merged.pop('type', None)
    merged.update(overrides)
    unknown = [name for name in merged if name not in OPTION_NAMES]
    if unknown:
        raise _unknown('llmiqa option', unknown, OPTION_NAMES, 'options')
    return LLMIQAOptions(**merged)
