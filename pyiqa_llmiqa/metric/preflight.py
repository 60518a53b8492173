"""Checks before a metric loads anything: downloads, the device, and the memory a CPU will need.

A first run on a machine that cannot reach the Hugging Face hub would otherwise spend minutes in
huggingface_hub's retries (about 23 s per file, 143 s for a backbone's processor, measured with the
hub endpoint on a closed port) and end in a generic message. Here the files a metric needs are
looked up in the local cache; if any is missing, one short request tells whether the hub answers,
and an unreachable hub is one error listing every download with its size and the ways around it.
"""

import warnings
from typing import Any, Dict, List, Optional, Tuple

from pyiqa_llmiqa.common.devices import default_device
from pyiqa_llmiqa.common.hub import hub_offline, is_hub_id
from pyiqa_llmiqa.config.options import resolve_options
from pyiqa_llmiqa.config.sam2_names import sam2_hub_models
from pyiqa_llmiqa.errors import DeviceError, HubUnreachableError

# Hub ids the presets and docs/backbones.md name: (parameters in billions, weights in GB in bf16).
BACKBONE_SIZES: Dict[str, Tuple[float, float]] = {
    'Qwen/Qwen2.5-VL-7B-Instruct': (8.3, 16.6),
    'Qwen/Qwen2-VL-7B-Instruct': (8.3, 16.6),
    'Qwen/Qwen3-VL-8B-Instruct': (8.8, 17.5),
    'OpenGVLab/InternVL3-8B-hf': (7.9, 15.9),
    'llava-hf/llava-onevision-qwen2-7b-ov-hf': (8.0, 16.1),
    'HuggingFaceTB/SmolVLM-256M-Instruct': (0.26, 0.5),
    'HuggingFaceM4/Idefics3-8B-Llama3': (8.5, 17.0),
    'google/gemma-3-4b-it': (4.3, 8.6),
    'deepseek-community/Janus-Pro-7B': (7.4, 14.8),
    'mPLUG/mPLUG-Owl3-7B-240728': (8.1, 16.1),
}
# SAM2.1 checkpoint sizes in MB (their file names are sam2's: config.sam2_names.sam2_hub_models). The
# files hold float32 weights: 4 bytes per parameter, of 38.9M, 46M, 80.8M and 224.4M parameters
# (sam2's model table; benchmarks/speed.py counts the same).
SAM2_CHECKPOINT_MB: Dict[str, int] = {
    'facebook/sam2.1-hiera-tiny': 156,
    'facebook/sam2.1-hiera-small': 184,
    'facebook/sam2.1-hiera-base-plus': 324,
    'facebook/sam2.1-hiera-large': 898,
}
CPU_PRESET = 'llmiqa_small'
LARGE_BACKBONE_GB = 4.0  # weights above this make a CPU run slow enough to say so
PROBE_TIMEOUT_S = 5.0


def _cached(repo_id: str, filename: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, filename), str)


def _describe_backbone(name: str) -> str:
    size = BACKBONE_SIZES.get(name)
    return f'backbone {name} (about {size[1]} GB)' if size else f'backbone {name} (size unknown here)'


def missing_downloads(options: Dict[str, Any]) -> List[Tuple[str, str]]:
    """(what, ``hf download`` arguments) of each file the options need that is not in the HF cache."""
    missing = []
    backbone = options.get('backbone')
    in_process = options.get('engine') != 'openai'  # a server holds its own weights
    if in_process and is_hub_id(backbone) and not _cached(backbone, 'config.json'):
        missing.append((_describe_backbone(backbone), backbone))
    segmenter = options.get('segmenter')
    if options.get('mix_grained') and isinstance(segmenter, str):
        filename = sam2_hub_models()[segmenter][1]  # a known id: checked with the options
        if not _cached(segmenter, filename):
            mb = SAM2_CHECKPOINT_MB.get(segmenter)
            size = f'about {mb} MB' if mb else 'size unknown here'
            missing.append((f'SAM2 checkpoint {segmenter}/{filename} ({size})', f'{segmenter} {filename}'))
    return missing


def hub_unreachable_reason(timeout: float = PROBE_TIMEOUT_S) -> Optional[str]:
    """None if the hub endpoint answers an HTTP request within ``timeout`` seconds (any status), else why not."""
    import urllib.error
    import urllib.request

    from huggingface_hub import constants

    request = urllib.request.Request(constants.ENDPOINT, method='HEAD')
    try:
        urllib.request.urlopen(request, timeout=timeout).close()
    except urllib.error.HTTPError:
        return None  # it answered
    except (OSError, ValueError) as error:
        reason = getattr(error, 'reason', error)
        return f'{constants.ENDPOINT}: {type(reason).__name__}: {reason}'
    return None


def check_downloads(options: Dict[str, Any]) -> None:
    """Raise ``HubUnreachableError`` when files are missing from the cache and the hub does not answer."""
    if hub_offline():
        return  # huggingface_hub answers at once from the cache, and backbone.py's error says what to fetch
    missing = missing_downloads(options)
    if not missing:
        return
    reason = hub_unreachable_reason()
    if reason is None:
        return
    lines = [
        f'the Hugging Face hub cannot be reached ({reason}), and this metric needs files that are '
        'not in the local cache:'
    ]
    lines += [f'  - {what}' for what, _ in missing]
    from huggingface_hub import constants

    lines += [
        'Fix, one of:',
        '  - download them once where the hub is reachable, then run with HF_HUB_OFFLINE=1 (for a '
        f'machine without network, copy the cache folder {constants.HF_HUB_CACHE} over):',
    ]
    lines += [f'      hf download {arguments}' for _, arguments in missing]
    lines += [
        '  - or pass local copies (as options, or --opt KEY=VALUE on the command line): '
        'backbone=/path/to/model_folder (saved with save_pretrained), '
        "segmenter={'config': 'sam2.1_hiera_l', 'checkpoint': '/path/to/sam2.1_hiera_large.pt'}",
        '  - if the hub is behind a proxy or a mirror: set HTTPS_PROXY or HF_ENDPOINT',
    ]
    raise HubUnreachableError('\n'.join(lines))


def check_device(device) -> None:
    """A clear ``DeviceError`` for a device torch does not know or cannot use, before anything loads."""
    if device is None:
        return
    import torch

    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as error:
        raise DeviceError(f'device {device!r} is not a torch device ({error})') from None
    if kind == 'cuda' and not torch.cuda.is_available():
        built = f'built for CUDA {torch.version.cuda}' if torch.version.cuda else 'a CPU-only build'
        raise DeviceError(
            f'device {str(device)!r} was asked for, but torch {torch.__version__} ({built}) sees '
            "no CUDA GPU; use device='cpu' (the preset llmiqa_small is made for a CPU), or "
            'install a torch that matches your GPU driver'
        )
    if kind == 'mps' and not torch.backends.mps.is_available():
        raise DeviceError(f"device {str(device)!r} was asked for, but torch sees no MPS device; use device='cpu'")


def warn_if_slow_on_cpu(options: Dict[str, Any], device) -> None:
    """On a CPU, say before downloading that a 7B-class backbone needs much memory and time."""
    import torch

    if device is None:
        device = default_device()
    size = BACKBONE_SIZES.get(options.get('backbone'))
    if (
        options.get('engine') == 'openai'
        or torch.device(device).type != 'cpu'
        or size is None
        or size[1] < LARGE_BACKBONE_GB
    ):
        return
    params, bf16_gb = size
    if options.get('dtype') in ('auto', 'float32'):  # auto is float32 on a CPU: 4 bytes per parameter
        memory = (
            f'about {2 * bf16_gb:.0f} GB of memory in float32 (dtype auto on a CPU; about {bf16_gb:.0f} GB in bfloat16)'
        )
    else:
        memory = f'about {bf16_gb:.0f} GB of memory'
    warnings.warn(
        f'{options["backbone"]} ({params} B parameters) runs on the CPU here: it needs {memory} and is '
        f'slow (minutes per image on a few cores). The preset {CPU_PRESET} (SmolVLM-256M, SAM2.1 tiny) '
        'is made for a CPU',
        UserWarning,
        stacklevel=3,
    )


def before_loading(options: Dict[str, Any], device) -> None:
    """Everything a metric checks before it loads a file: device, CPU memory warning, downloads."""
    check_device(device)
    warn_if_slow_on_cpu(options, device)
    check_downloads(options)


def check_device_for(metric_opts: Dict[str, Any], overrides: Dict[str, Any], device) -> None:
    """What pyiqa's ``create_metric`` checks before it builds an llmiqa arch: the options (a wrong one
    fails here), the device, and the CPU warning. ``metric_opts`` is the metric's ``DEFAULT_CONFIGS``
    entry; ``overrides`` are the keyword arguments meant for the arch (``type`` among them, as pyiqa's
    benchmark script passes its YAML's metric options)."""
    overrides = {k: v for k, v in overrides.items() if k != 'type' and not (k == 'segmenter' and callable(v))}
    options = resolve_options(metric_opts, **overrides).to_dict()
    check_device(device)
    warn_if_slow_on_cpu(options, device)
