"""The transformers engine: loading the model, writing the prompt, and one forward pass for a batch of images.

It serves any model that ``AutoModelForImageTextToText`` and ``AutoProcessor`` load from a hub id
or a local folder. The prompt goes through the processor's own chat template: the standard as the
system message, then a user turn holding the image and the question, then the generation prompt.
"""

import pickle
from typing import Optional, Sequence

import torch
from PIL import Image

from pyiqa_llmiqa.common.devices import resolve_dtype
from pyiqa_llmiqa.config.options import LLMIQAOptions
from pyiqa_llmiqa.engines.in_process import InProcessEngine
from pyiqa_llmiqa.engines.loading import backbone_load_error
from pyiqa_llmiqa.engines.shared_prefix import SharedPrefixForward, supports


def quantization_config(quantization: Optional[str], dtype: torch.dtype):
    """bitsandbytes settings for ``'4bit'`` (NF4, compute in ``dtype``) or ``'8bit'``; None for none."""
    if quantization is None:
        return None
    from transformers import BitsAndBytesConfig

    if quantization == '8bit':
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4', bnb_4bit_compute_dtype=dtype)


def load_model_and_processor(
    name, dtype, trust_remote_code=False, model_kwargs=None, processor_kwargs=None, quantization=None
):
    """Load processor and model once; raises ``BackboneLoadError`` with the fix on failure."""
    from safetensors import SafetensorError
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model_kwargs = dict(model_kwargs or {})
    if quantization is not None:
        model_kwargs.setdefault('quantization_config', quantization_config(quantization, dtype))
        model_kwargs.setdefault('device_map', 'auto')  # bitsandbytes places the weights itself
    try:
        processor = AutoProcessor.from_pretrained(name, trust_remote_code=trust_remote_code, **(processor_kwargs or {}))
        model = AutoModelForImageTextToText.from_pretrained(
            name, dtype=dtype, trust_remote_code=trust_remote_code, **model_kwargs
        )
    except (OSError, ValueError, SafetensorError, pickle.UnpicklingError) as error:  # also corrupt weights
        raise backbone_load_error(name, error) from error
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


class TransformersEngine(InProcessEngine):
    """A loaded transformers multimodal LLM (an ``InProcessEngine``): next-token logits for a batch
    of images and one prompt. It uses the options ``backbone``, ``dtype``, ``trust_remote_code``,
    ``model_kwargs``, ``processor_kwargs``, ``quantization`` and ``share_prefix``."""

    def __init__(self, options: LLMIQAOptions):
        super().__init__()
        self.name = options.backbone
        self.processor, model = load_model_and_processor(
            options.backbone,
            resolve_dtype(options.dtype),
            options.trust_remote_code,
            options.model_kwargs,
            options.processor_kwargs,
            options.quantization,
        )
        if 'device_map' in options.model_kwargs or options.quantization is not None:
            # Placed by accelerate: keep it out of .to(), which would undo the placement.
            object.__setattr__(self, 'model', model)
        else:
            self.model = model
        self.tokenizer = getattr(self.processor, 'tokenizer', self.processor)
        self.tokenizer.padding_side = 'left'  # the answer position is the last one in every row
        image_token_id = _image_token_id(self.processor)
        self.shared_prefix = (
            SharedPrefixForward(model, image_token_id)
            if options.share_prefix and image_token_id is not None and supports(model)
            else None
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
