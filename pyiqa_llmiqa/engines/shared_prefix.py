"""One forward pass for a batch of crops whose prompts share a text prefix that is computed once.

Every crop's prompt starts with the same tokens: the chat template's opening, the standard (the
system message) and the user turn up to the image. Their keys and values do not depend on the
crop, so they are computed once per prompt and reused: each batch then runs only its own image
and question tokens.

A left-padded batch ``[pads][prefix][image][question]`` is reordered to
``[prefix][pads][image][question]``; the pads stay masked, every real token keeps its position,
and the answer position stays the last one in every row.
"""

from typing import Dict, List, Tuple

import torch
from transformers import DynamicCache

from pyiqa_llmiqa.common.compat import cache_argument, returned_cache

# Families whose equivalence with the plain forward pass is checked in the tests.
SUPPORTED_MODEL_TYPES = (
    'qwen2_vl',
    'qwen2_5_vl',
    'qwen3_vl',
    'llava_onevision',
    'internvl',
    'smolvlm',
    'idefics3',
    'gemma3',
    'janus',
)


def supports(model) -> bool:
    """Whether ``model`` can take a precomputed prefix."""
    return model.config.model_type in SUPPORTED_MODEL_TYPES


class SharedPrefixForward:
    """Next-token logits of batches whose prompts share a prefix, with the prefix computed once."""

    def __init__(self, model, image_token_id: int):
        self.model = model
        self.image_token_id = image_token_id
        self.cache_argument = cache_argument(model)
        self._prefixes: Dict[tuple, List[Tuple[torch.Tensor, torch.Tensor]]] = {}

    def _prefix_length(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> int:
        """Tokens before the first image token (the same in every row once padding is skipped)."""
        pads = attention_mask.shape[1] - attention_mask.sum(dim=1)
        first_image = (input_ids == self.image_token_id).int().argmax(dim=1)
        lengths = (first_image - pads).unique()
        if len(lengths) != 1 or lengths.item() < 1:
            raise ValueError('the prompts of a batch must share their text before the image')
        return int(lengths.item())

    @staticmethod
    def _reorder(inputs, prefix_length: int):
        """Move each row's left padding from before the prefix to after it."""
        mask = inputs['attention_mask']
        length = mask.shape[1]
        positions = torch.arange(length, device=mask.device)
        orders = []
        for pads in (length - mask.sum(dim=1)).tolist():
            orders.append(
                torch.cat([positions[pads : pads + prefix_length], positions[:pads], positions[pads + prefix_length :]])
            )
        order = torch.stack(orders)
        return {
            key: value.gather(1, order) if torch.is_tensor(value) and value.shape[:2] == mask.shape else value
            for key, value in inputs.items()
        }

    def _positions(self, inputs) -> torch.Tensor:
        """Position ids of the reordered batch, as the model would compute them."""
        mask = inputs['attention_mask']
        base = self.model.model
        if hasattr(base, 'get_rope_index'):  # Qwen-VL's 3D positions
            kwargs = {k: inputs[k] for k in ('mm_token_type_ids', 'image_grid_thw') if k in inputs}
            return base.get_rope_index(inputs['input_ids'], attention_mask=mask, **kwargs)[0]
        return (mask.long().cumsum(-1) - 1).clamp(min=0)

    def _prefix_cache(self, prefix_ids: torch.Tensor, prefix_positions: torch.Tensor, batch: int):
        """A cache that holds the prefix's keys and values for ``batch`` rows."""
        key = (str(prefix_ids.device), str(self.model.dtype), *prefix_ids.tolist())
        if key not in self._prefixes:
            output = self.model(
                input_ids=prefix_ids[None],
                position_ids=prefix_positions,
                use_cache=True,
                logits_to_keep=1,
            )
            cache = returned_cache(self.model, output)
            self._prefixes[key] = [(k, v) for k, v, *_ in cache]
        layers = self._prefixes[key]
        return DynamicCache(
            ddp_cache_data=[(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in layers]
        )

    def __call__(self, inputs) -> torch.Tensor:
        """Logits (N, vocab) at the last position of each row of a left-padded processor batch."""
        prefix_length = self._prefix_length(inputs['input_ids'], inputs['attention_mask'])
        inputs = self._reorder(inputs, prefix_length)
        positions = self._positions(inputs)
        batch = inputs['input_ids'].shape[0]
        cache = self._prefix_cache(inputs['input_ids'][0, :prefix_length], positions[..., :1, :prefix_length], batch)
        rest = {
            key: value[:, prefix_length:]
            if torch.is_tensor(value) and key != 'attention_mask' and value.shape[:2] == inputs['attention_mask'].shape
            else value
            for key, value in inputs.items()
        }
        output = self.model(
            **rest,
            position_ids=positions[..., prefix_length:],
            use_cache=True,
            logits_to_keep=1,
            **{self.cache_argument: cache},
        )
        return output.logits[:, -1, :].float()
