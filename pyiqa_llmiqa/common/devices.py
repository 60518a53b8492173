"""Devices and dtypes: the default device and what ``dtype: auto`` means, stated once."""

DTYPE_NAMES = ('bfloat16', 'float16', 'float32')


def default_device() -> str:
    """The GPU when torch sees one, else the CPU (pyiqa's own default)."""
    import torch

    return 'cuda' if torch.cuda.is_available() else 'cpu'


def resolve_dtype(name: str):
    """The torch dtype of a ``dtype`` option. ``auto`` is bfloat16 where a CUDA GPU supports it, else
    float32 (half precision is slow on CPUs)."""
    import torch

    if name != 'auto':
        return getattr(torch, name)
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32
