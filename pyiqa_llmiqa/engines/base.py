"""What LLMIQA needs from a multimodal LLM, and the one place that picks the implementation.

A backbone renders the standard and question as its prompt, and returns the next-token logits for
a batch of images with that prompt (one forward pass); LLMIQA reads the quality level from them
with the backbone's tokenizer. Two implementations exist: ``backbone.MLLMBackbone`` for every model
that transformers' ``AutoModelForImageTextToText`` loads, and ``owl3.Owl3Backbone`` for mPLUG-Owl3,
whose code lives in its hub repository. ``load_backbone`` chooses between them.
"""

import os
from typing import Any, Protocol, Sequence, runtime_checkable

import torch
from PIL import Image

from pyiqa_llmiqa.config.options import LLMIQAOptions, check_owl3_consent, is_owl3
from pyiqa_llmiqa.errors import BackboneLoadError

DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16, 'float32': torch.float32}


@runtime_checkable
class Backbone(Protocol):
    """A loaded multimodal LLM (an ``nn.Module``, so ``.to(device)`` moves it)."""

    tokenizer: Any  # spells the quality levels (see score_reading.level_token_ids)

    @property
    def device(self) -> torch.device: ...

    def render_prompt(self, system: str, question: str) -> Any:
        """The prompt of one query, in whatever form ``next_token_logits`` takes."""

    def next_token_logits(self, images: Sequence[Image.Image], prompt: Any) -> torch.Tensor:
        """Logits (N, vocab) of the token that would follow ``prompt`` for each image: one forward."""


def load_backbone(options: LLMIQAOptions) -> Backbone:
    """The backbone that ``options.backbone`` names, loaded with the options that concern it."""
    check_owl3_consent(options)
    if is_owl3(options.backbone):
        from pyiqa_llmiqa.engines.owl3 import Owl3Backbone

        return Owl3Backbone(options)
    from pyiqa_llmiqa.engines.transformers_engine import MLLMBackbone

    return MLLMBackbone(options)


def resolve_dtype(name: str) -> torch.dtype:
    """``auto`` is bfloat16 where a CUDA GPU supports it, else float32 (half precision is slow on CPUs)."""
    if name != 'auto':
        return DTYPES[name]
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _looks_like_path(name: str) -> bool:
    """A hub id is ``owner/name``; anything else with a path's shape is meant as a folder."""
    return name.startswith(('.', '/', '~')) or name.count('/') > 1 or '\\' in name


def backbone_load_error(name: str, error: Exception) -> BackboneLoadError:
    """The error for a backbone that did not load, with the fix for the likely cause."""
    if os.path.isdir(name):
        fix = (
            f'the folder {name!r} must hold a model saved with save_pretrained (config.json, weights '
            'as safetensors) and its processor (tokenizer, image processor, chat template); if its '
            'weights are corrupt, save or download them again'
        )
    elif _looks_like_path(name):
        folder = os.path.abspath(os.path.expanduser(name))
        fix = f'there is no folder {folder!r}; pass an existing local folder or a hub id'
    elif os.environ.get('HF_HUB_OFFLINE') == '1':
        fix = (
            f'HF_HUB_OFFLINE=1 is set and {name!r} is not in the Hugging Face cache. Download it once '
            f'where the hub is reachable (`hf download {name}`), or pass a local folder as backbone'
        )
    else:
        fix = (
            f'check that {name!r} is a hub id of an image-text-to-text model (or a local folder), that '
            'the hub is reachable, and for gated models that you are logged in (`hf auth login`)'
        )
    return BackboneLoadError(f'could not load backbone {name!r}: {fix}. ({type(error).__name__}: {error})')
