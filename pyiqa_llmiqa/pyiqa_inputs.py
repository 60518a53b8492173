"""How ``pyiqa.create_metric('llmiqa...')(x)`` reads its input.

pyiqa's ``InferenceModel`` turns a path into a tensor with ``imread2tensor``, which ignores EXIF
orientation and fails on bad files with Pillow's own traceback. For llmiqa metrics only, file paths
(``str`` or ``pathlib.Path``) go through :func:`pyiqa_llmiqa.images.load_image` instead, PIL images
through its RGB conversion, and tensors are checked (NaN, range, shape) with an ``InputError``
before pyiqa's assertions. Every other metric keeps pyiqa's behaviour.
"""
import functools
import os

import numpy as np
import torch
from PIL import Image

from .images import load_image, to_rgb


def to_batched_tensor(image: Image.Image) -> torch.Tensor:
    """(1, 3, H, W) float tensor in [0, 1] of an image; llmiqa reads back the same 8-bit pixels."""
    pixels = torch.from_numpy(np.array(to_rgb(image)))
    return pixels.permute(2, 0, 1).unsqueeze(0).float().div_(255)


def _wrap(original):
    @functools.wraps(original)
    def _to_batched_tensor(self, img):
        from .llmiqa_arch import LLMIQA, check_tensor

        if isinstance(self.net, LLMIQA):
            if isinstance(img, (str, os.PathLike)):
                img = load_image(img)
            if isinstance(img, Image.Image):
                return to_batched_tensor(img)
            check_tensor(img)
        return original(self, img)

    _to_batched_tensor.llmiqa_inputs = True
    return _to_batched_tensor


def route_llmiqa_inputs() -> None:
    """Wrap ``InferenceModel._to_batched_tensor`` once (later calls, and reloads, change nothing)."""
    from pyiqa.models.inference_model import InferenceModel

    if not getattr(InferenceModel._to_batched_tensor, 'llmiqa_inputs', False):
        InferenceModel._to_batched_tensor = _wrap(InferenceModel._to_batched_tensor)
