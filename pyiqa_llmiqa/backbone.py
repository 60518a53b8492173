"""The multimodal LLM: loading it, writing the prompt, and one forward pass for a batch of images.

A backbone is any model that ``AutoModelForImageTextToText`` and ``AutoProcessor`` load from a hub id
or a local folder. The prompt goes through the processor's own chat template: the standard as the
system message, then a user turn holding the image and the question, then the generation prompt.
"""
import os
import pickle
from typing import Optional, Sequence

import torch
from PIL import Image
from torch import nn

from .shared_prefix import SharedPrefixForward, supports

DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16, 'float32': torch.float32}


class BackboneLoadError(RuntimeError):
    """A backbone could not be loaded; the message says why and how to fix it."""


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


def _load_error(name: str, error: Exception) -> BackboneLoadError:
    """The error for a backbone that did not load, with the fix for the likely cause."""
    if os.path.isdir(name):
        fix = (
            f'the folder {name!r} must hold a model saved with save_pretrained (config.json, weights '
            'as safetensors) and its processor (tokenizer, image processor, chat template); if its '
            'weights are corrupt, save or download them again'
        )
    elif _looks_like_path(name):
        fix = f'there is no folder {os.path.abspath(os.path.expanduser(name))!r}; pass an existing local folder or a hub id'
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


def quantization_config(quantization: Optional[str], dtype: torch.dtype):
    """bitsandbytes settings for ``'4bit'`` (NF4, compute in ``dtype``) or ``'8bit'``; None for none."""
    if quantization is None:
        return None
    from transformers import BitsAndBytesConfig

    if quantization == '8bit':
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4', bnb_4bit_compute_dtype=dtype)


def load_backbone(name, dtype, trust_remote_code=False, model_kwargs=None, processor_kwargs=None, quantization=None):
    """Load processor and model once; raises ``BackboneLoadError`` with the fix on failure."""
    from safetensors import SafetensorError
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model_kwargs = dict(model_kwargs or {})
    if quantization is not None:
        model_kwargs.setdefault('quantization_config', quantization_config(quantization, dtype))
        model_kwargs.setdefault('device_map', 'auto')  # bitsandbytes places the weights itself
    try:
        processor = AutoProcessor.from_pretrained(
            name, trust_remote_code=trust_remote_code, **(processor_kwargs or {})
        )
        model = AutoModelForImageTextToText.from_pretrained(
            name, dtype=dtype, trust_remote_code=trust_remote_code, **model_kwargs
        )
    except (OSError, ValueError, SafetensorError, pickle.UnpicklingError) as error:  # also corrupt weights
        raise _load_error(name, error) from error
    return processor, model.eval()


def _image_token_id(processor) -> Optional[int]:
    """The id of the token that image features replace, or None if the processor does not say."""
    token_id = getattr(processor, 'image_token_id', None)
    token = getattr(processor, 'image_token', None)
    if token_id is None and isinstance(token, str):
        token_id = processor.tokenizer.convert_tokens_to_ids(token)
    return token_id


def render_prompt(processor, system: str, question: str) -> str:
    """The chat-template text of one query, image placeholder included.

    Families whose template has no system role (it raises, or drops the text) get the standard at
    the start of the user's text instead.
    """
    user = {'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': question}]}
    messages = [{'role': 'system', 'content': [{'type': 'text', 'text': system}]}, user]
    try:
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        if system in prompt:
            return answer_position(prompt, processor.tokenizer)
    except Exception:  # templates signal an unsupported role by raising
        pass
    merged = {'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': f'{system}\n{question}'}]}
    prompt = processor.apply_chat_template([merged], add_generation_prompt=True, tokenize=False)
    return answer_position(prompt, processor.tokenizer)


def answer_position(prompt: str, tokenizer) -> str:
    """``prompt`` ending where the digit is the next token.

    Templates that end the generation prompt with ``Assistant:`` make the model write a space
    first; where the tokenizer spells " 7" as a space token and a digit token, that space is put
    into the prompt, so that one forward pass reads the digit that greedy decoding would write next.
    """
    if prompt[-1:].isspace() or len(tokenizer.encode(' 7', add_special_tokens=False)) == 1:
        return prompt
    return prompt + ' '


class MLLMBackbone(nn.Module):
    """A loaded multimodal LLM that returns next-token logits for a batch of images and one prompt."""

    def __init__(
        self,
        name: str,
        dtype: str = 'auto',
        trust_remote_code: bool = False,
        model_kwargs: Optional[dict] = None,
        processor_kwargs: Optional[dict] = None,
        share_prefix: bool = True,
        quantization: Optional[str] = None,
    ):
        super().__init__()
        self.name = name
        self.processor, model = load_backbone(
            name, resolve_dtype(dtype), trust_remote_code, model_kwargs, processor_kwargs, quantization
        )
        if 'device_map' in (model_kwargs or {}) or quantization is not None:
            # Placed by accelerate: keep it out of .to(), which would undo the placement.
            object.__setattr__(self, 'model', model)
        else:
            self.model = model
        self.tokenizer = getattr(self.processor, 'tokenizer', self.processor)
        self.tokenizer.padding_side = 'left'  # the answer position is the last one in every row
        image_token_id = _image_token_id(self.processor)
        self.shared_prefix = (
            SharedPrefixForward(model, image_token_id) if share_prefix and image_token_id is not None and supports(model) else None
        )

    @property
    def device(self) -> torch.device:
        return self.model.device

    def render_prompt(self, system: str, question: str) -> str:
        """The prompt of one query through this model's chat template (see ``render_prompt``)."""
        return render_prompt(self.processor, system, question)

    def encode(self, images: Sequence[Image.Image], prompt: str):
        """Processor inputs for ``images``, each with the same ``prompt``."""
        bos = self.tokenizer.bos_token
        inputs = self.processor(
            text=[prompt] * len(images),
            images=[[image] for image in images],
            return_tensors='pt',
            padding=True,
            # a template that writes <bos> itself must not get a second one from the tokenizer
            add_special_tokens=not (bos and prompt.startswith(bos)),
        )
        return inputs.to(self.device)

    @torch.inference_mode()
    def next_token_logits(self, images: Sequence[Image.Image], prompt: str) -> torch.Tensor:
        """Logits (N, vocab) of the token that would follow ``prompt`` for each image: one forward."""
        inputs = self.encode(images, prompt)
        for key, value in inputs.items():
            if torch.is_floating_point(value):
                inputs[key] = value.to(self.model.dtype)
        if self.shared_prefix is not None:
            return self.shared_prefix(inputs)
        output = self.model(**inputs, logits_to_keep=1, use_cache=False)
        return output.logits[:, -1, :].float()
