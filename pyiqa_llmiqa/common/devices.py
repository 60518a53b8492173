"""Devices and dtypes: the default device and what ``dtype: auto`` means, stated once."""

import ast
import importlib.util
import os
import sys
from pathlib import Path

DTYPE_NAMES = ('bfloat16', 'float16', 'float32')


def default_device() -> str:
    """The GPU when torch sees one, else the CPU (pyiqa's own default)."""
    import torch

    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _torch_build() -> dict:
    """``cuda`` and ``hip`` of the installed torch's ``version.py``, read as text (no import)."""
    spec = importlib.util.find_spec('torch')
    if spec is None or not spec.submodule_search_locations:
        raise OSError('torch is not installed')
    source = (Path(list(spec.submodule_search_locations)[0]) / 'version.py').read_text(encoding='utf-8')
    found = {}
    for node in ast.parse(source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else getattr(node, 'targets', [None])[0]
        if isinstance(target, ast.Name) and target.id in ('cuda', 'hip') and node.value is not None:
            found[target.id] = ast.literal_eval(node.value)
    return found


def surely_no_gpu() -> bool:
    """True where torch will see no GPU, told without importing torch (seconds on a small machine): a
    torch built for neither CUDA nor ROCm, or CUDA on Linux without NVIDIA's driver loaded. False
    where only torch can tell."""
    try:
        built = _torch_build()
    except (OSError, SyntaxError, ValueError):
        return False
    if built.get('hip'):
        return False
    if not built.get('cuda'):
        return True
    return sys.platform.startswith('linux') and not os.path.exists('/proc/driver/nvidia/version')


def resolve_dtype(name: str):
    """The torch dtype of a ``dtype`` option. ``auto`` is bfloat16 where a CUDA GPU supports it, else
    float32 (half precision is slow on CPUs)."""
    import torch

    if name != 'auto':
        return getattr(torch, name)
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32
