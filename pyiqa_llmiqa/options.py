"""The options of the llmiqa metrics: names, defaults, types, and their validation.

Options arrive from presets, keyword arguments of ``pyiqa.create_metric``, YAML files and the command
line. They are checked in one place so that a wrong name or type is always the same clear error.
"""
import difflib
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, Optional, Sequence

from .standards import build_standard

DEFAULT_BACKBONE = 'Qwen/Qwen2.5-VL-7B-Instruct'
DEFAULT_SEGMENTER = 'facebook/sam2.1-hiera-large'  # the largest SAM2.1; the paper names no size
SCORE_MODES = ('greedy', 'expectation')
QUANTIZATIONS = ('4bit', '8bit')
DTYPES = ('auto', 'bfloat16', 'float16', 'float32')


class OptionError(ValueError):
    """An option has an unknown name, a wrong type or a value out of range."""


@dataclass
class LLMIQAOptions:
    """Every option of an llmiqa metric, with its default."""

    backbone: str = DEFAULT_BACKBONE
    standard: str = 'word'
    levels: int = 7
    level_descriptions: Optional[Sequence[str]] = None
    score_mode: str = 'greedy'
    dtype: str = 'auto'
    batch_size: Optional[int] = None  # None: 8 on a GPU, 1 on a CPU (see batch_size_for)
    share_prefix: bool = True
    trust_remote_code: bool = False
    quantization: Optional[str] = None
    model_kwargs: Dict[str, Any] = field(default_factory=dict)
    processor_kwargs: Dict[str, Any] = field(default_factory=dict)
    mix_grained: bool = True
    segmenter: Any = DEFAULT_SEGMENTER
    mask_generator: Dict[str, Any] = field(default_factory=dict)
    mask_cache_dir: Optional[str] = None
    min_region_area: float = 0.001
    complement: bool = True
    global_weight: float = 0.5
    mask_count_max: Optional[int] = None
    mask_count_weight: float = 1 / 3
    return_masks: bool = False

    def __post_init__(self):
        _check_types(self)
        _check_values(self)

    def to_dict(self) -> Dict[str, Any]:
        """The resolved options as plain data (for YAML, JSON and result keys)."""
        resolved = asdict(self)
        if resolved['level_descriptions'] is not None:
            resolved['level_descriptions'] = list(resolved['level_descriptions'])
        return resolved


OPTION_NAMES = tuple(f.name for f in fields(LLMIQAOptions))

# What each option means: `pyiqa-llmiqa options` prints it and docs/options.md is generated from it.
OPTION_HELP = {
    'backbone': 'hub id or local folder of an image-text-to-text model (AutoModelForImageTextToText)',
    'standard': 'word (K = 3, 5, 7, 9), sentence (K = 7) or number (any K from 2 to 9): the prompts of '
                "the paper's appendix E",
    'levels': 'K, the number of quality levels; scores lie in [1, K]',
    'level_descriptions': 'your own level descriptions, best level first (K strings); makes any K valid '
                          'for word and sentence',
    'score_mode': "greedy: the token greedy decoding would answer (the paper's); expectation: softmax "
                  'over the K level tokens, expected level',
    'dtype': 'auto (bfloat16 on a GPU that supports it, else float32), bfloat16, float16, float32',
    'batch_size': 'images and regions per forward pass; null: 8 on a GPU, 1 on a CPU (where a padded '
                  'batch only adds work)',
    'share_prefix': "compute the prompt's shared text prefix (template opening and standard) once and "
                    'reuse its keys and values',
    'trust_remote_code': "let transformers run the model repository's own code (needed by mPLUG-Owl3)",
    'quantization': '4bit (NF4) or 8bit through bitsandbytes, on a CUDA GPU; null: none',
    'model_kwargs': 'more keyword arguments for from_pretrained of the model (device_map, '
                    'attn_implementation, ...)',
    'processor_kwargs': 'more keyword arguments for AutoProcessor.from_pretrained (max_pixels, ...)',
    'mix_grained': 'score SAM2 regions too; false scores the whole image only',
    'segmenter': 'SAM2 model: a hub id sam2 loads (facebook/sam2.1-hiera-tiny, -small, -base-plus, '
                 '-large), or {config: sam2.1_hiera_t, checkpoint: /path/to.pt}',
    'mask_generator': "overrides of SAM2's automatic mask generator settings (defaults: the paper's "
                      'Table 2), plus autocast_dtype: bfloat16 or float16 to run SAM2 under autocast (faster, '
                      'masks change slightly)',
    'mask_cache_dir': 'a folder where masks are kept per image content and SAM2 settings, so SAM2 runs '
                      'once per image',
    'min_region_area': 'masks smaller than this fraction of the image are dropped',
    'complement': 'also score the pixels no kept mask covers',
    'global_weight': 'w in s = w s_global + (1 - w) s_local',
    'mask_count_max': "c_max of Dog-IQA's count term s_seg = c K / c_max; null leaves it off",
    'mask_count_weight': 'weight of the count term when it is on',
    'return_masks': "keep each region's mask (COCO RLE) in the details",
}

# What each option accepts; checked before values are looked at.
_TYPES = {
    'backbone': (str,),
    'standard': (str,),
    'levels': (int,),
    'level_descriptions': (list, tuple, type(None)),
    'score_mode': (str,),
    'dtype': (str,),
    'batch_size': (int, type(None)),
    'share_prefix': (bool,),
    'trust_remote_code': (bool,),
    'quantization': (str, type(None)),
    'model_kwargs': (dict,),
    'processor_kwargs': (dict,),
    'mix_grained': (bool,),
    'segmenter': (str, dict),
    'mask_generator': (dict,),
    'mask_cache_dir': (str, type(None)),
    'min_region_area': (int, float),
    'complement': (bool,),
    'global_weight': (int, float),
    'mask_count_max': (int, type(None)),
    'mask_count_weight': (int, float),
    'return_masks': (bool,),
}


def _type_names(types):
    return ' or '.join('null' if t is type(None) else t.__name__ for t in types)


def _check_types(opts):
    for name, types in _TYPES.items():
        value = getattr(opts, name)
        is_bool = isinstance(value, bool)
        if not isinstance(value, types) or (is_bool and bool not in types):
            raise OptionError(
                f'option {name!r} must be {_type_names(types)}; got {value!r} ({type(value).__name__})'
            )


def _check_values(opts):
    def bad(name, why):
        raise OptionError(f'option {name!r}: {why}; got {getattr(opts, name)!r}')

    try:
        build_standard(opts.standard, opts.levels, opts.level_descriptions)
    except ValueError as error:
        raise OptionError(str(error)) from None
    if opts.score_mode not in SCORE_MODES:
        bad('score_mode', f"must be one of {', '.join(SCORE_MODES)}")
    if opts.dtype not in DTYPES:
        bad('dtype', f"must be one of {', '.join(DTYPES)}")
    if opts.quantization is not None and opts.quantization not in QUANTIZATIONS:
        bad('quantization', f"must be null or one of {', '.join(QUANTIZATIONS)} (bitsandbytes)")
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
    if isinstance(opts.segmenter, dict):
        unknown = set(opts.segmenter) - {'config', 'checkpoint'}
        if unknown:
            bad('segmenter', f'a mapping takes the keys config and checkpoint, not {sorted(unknown)}')


def resolve_options(base: Optional[Dict[str, Any]] = None, **overrides) -> LLMIQAOptions:
    """Merge ``overrides`` over ``base`` (a preset) and validate the result."""
    merged = dict(base or {})
    merged.pop('type', None)
    merged.update(overrides)
    unknown = [name for name in merged if name not in OPTION_NAMES]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, OPTION_NAMES, n=1)
            hints.append(f'{name!r}' + (f' (did you mean {close[0]!r}?)' if close else ''))
        raise OptionError(
            f"unknown llmiqa option {', '.join(hints)}; valid options: {', '.join(OPTION_NAMES)}"
        )
    return LLMIQAOptions(**merged)
