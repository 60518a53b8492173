"""Loading mPLUG-Owl3's hub code (written for transformers 4.x) under transformers 5.

What stands between that code and transformers 5, and what this module does about it:

* its modules import ``transformers.modeling_attn_mask_utils`` (removed in 5) and
  ``SiglipVisionTransformer`` (now ``SiglipVisionModel``, same submodules and weight names): both
  are provided while the hub code is imported, and taken away again afterwards;
* its config expects ``pad_token_id`` to exist (5 no longer sets it): it is set to None;
* its model keeps tensors that ``from_pretrained`` of 5 would leave on the meta device (models are
  built there first), and it never calls ``post_init``: the model is built directly, without random
  initialisation, and every weight is then read from the safetensors files, strictly.

``generate`` is gone too (5 no longer gives it to models that do not inherit ``GenerationMixin``);
llmiqa reads logits from one forward pass and does not need it.
"""

import contextlib
import glob
import os
import sys
import types

import torch


def _min(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).min


def _causal_mask(attention_mask, input_shape, inputs_embeds, past_key_values_length, sliding_window=None):
    """transformers 4's additive 4D causal mask (B, 1, q, kv) from a (B, kv) padding mask or None.

    As there, one query with no sliding window gets no causal part, and then None without padding.
    """
    batch, q_len = input_shape
    kv_len = q_len + past_key_values_length
    dtype, device = inputs_embeds.dtype, inputs_embeds.device
    blocked = torch.zeros(q_len, kv_len, dtype=torch.bool, device=device)
    if q_len > 1 or sliding_window is not None:
        blocked = torch.ones_like(blocked).triu(past_key_values_length + 1)
        if sliding_window is not None:
            blocked |= torch.ones_like(blocked).tril(past_key_values_length - sliding_window - 1)
    elif attention_mask is None:
        return None
    blocked = blocked[None, None].expand(batch, 1, q_len, kv_len)
    if attention_mask is not None:
        blocked = blocked | ~attention_mask[:, None, None, :].bool()
    return torch.zeros(blocked.shape, dtype=dtype, device=device).masked_fill(blocked, _min(dtype))


def _causal_mask_for_sdpa(attention_mask, input_shape, inputs_embeds, past_key_values_length, sliding_window=None):
    """As ``_causal_mask``, but None where SDPA's ``is_causal`` does the same; on CUDA, rows that
    would see nothing see everything instead (their output is unused; this keeps it finite), as in
    transformers 4."""
    q_len = input_shape[-1]
    kv_len = q_len + past_key_values_length
    no_padding = attention_mask is None or bool(attention_mask.all())
    window_unused = sliding_window is None or kv_len < sliding_window
    if no_padding and window_unused and (q_len == 1 or q_len == kv_len):
        return None
    mask = _causal_mask(attention_mask, input_shape, inputs_embeds, past_key_values_length, sliding_window)
    if mask is None or mask.device.type != 'cuda':
        return mask
    return mask.masked_fill((mask == _min(mask.dtype)).all(-1, keepdim=True), 0)


def _padding_mask(mask, dtype, tgt_len=None):
    """transformers 4's additive (B, 1, tgt, src) mask from a (B, src) padding mask."""
    batch, src_len = mask.shape
    blocked = ~mask[:, None, None, :].bool().expand(batch, 1, tgt_len or src_len, src_len)
    return torch.zeros(blocked.shape, dtype=dtype, device=mask.device).masked_fill(blocked, _min(dtype))


def _legacy_mask_module() -> types.ModuleType:
    module = types.ModuleType('transformers.modeling_attn_mask_utils')
    module._prepare_4d_causal_attention_mask = _causal_mask
    module._prepare_4d_causal_attention_mask_for_sdpa = _causal_mask_for_sdpa
    module._prepare_4d_attention_mask = _padding_mask
    module._prepare_4d_attention_mask_for_sdpa = lambda mask, dtype, tgt_len=None: (
        None if bool(mask.all()) else _padding_mask(mask, dtype, tgt_len)
    )
    return module


@contextlib.contextmanager
def legacy_transformers_names():
    """The transformers 4 names that mPLUG-Owl3's code imports, present only inside this block."""
    import transformers.models.siglip.modeling_siglip as siglip

    added_module = 'transformers.modeling_attn_mask_utils' not in sys.modules
    added_class = not hasattr(siglip, 'SiglipVisionTransformer')
    try:
        if added_module:
            sys.modules['transformers.modeling_attn_mask_utils'] = _legacy_mask_module()
        if added_class:
            siglip.SiglipVisionTransformer = siglip.SiglipVisionModel
        yield
    finally:
        if added_module:
            sys.modules.pop('transformers.modeling_attn_mask_utils', None)
        if added_class:
            del siglip.SiglipVisionTransformer


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def model_folder(name: str) -> str:
    """``name`` if it is a folder, else the hub snapshot (config, code, tokenizer, safetensors)."""
    if os.path.isdir(name):
        return name
    from huggingface_hub import snapshot_download

    return snapshot_download(name, allow_patterns=['*.json', '*.py', '*.txt', '*.safetensors'])


def load_weights(model: torch.nn.Module, folder: str) -> None:
    """Fill every parameter and buffer of ``model`` from the folder's safetensors files, shard by shard."""
    from safetensors.torch import load_file

    files = sorted(glob.glob(os.path.join(folder, '*.safetensors')))
    if not files:
        raise OSError(f'no .safetensors weights in {folder!r}')
    expected, seen, unexpected = set(model.state_dict()), set(), []
    for path in files:
        shard = load_file(path)
        unexpected += model.load_state_dict(shard, strict=False).unexpected_keys
        seen.update(shard)
    missing = sorted(expected - seen)
    if missing or unexpected:
        raise ValueError(
            f'the weights in {folder!r} do not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}'
        )


def load_owl3(name: str, dtype: torch.dtype, attn_implementation: str = 'sdpa'):
    """mPLUG-Owl3's model (its hub code, run as it is) and tokenizer, from a hub id or a folder."""
    from transformers import AutoConfig, AutoTokenizer
    from transformers.dynamic_module_utils import get_class_from_dynamic_module
    from transformers.initialization import no_init_weights

    folder = model_folder(name)
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    if not hasattr(config, 'pad_token_id'):
        config.pad_token_id = None
    config._attn_implementation = attn_implementation
    with legacy_transformers_names():
        model_class = get_class_from_dynamic_module(config.auto_map['AutoModel'], folder)
    with no_init_weights(), _default_dtype(dtype):
        model = model_class(config)
    load_weights(model, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    return model.eval(), tokenizer
