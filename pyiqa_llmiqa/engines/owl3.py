"""mPLUG-Owl3 as an engine: its own processor and image tokens, logits from one forward pass.

mPLUG-Owl3 is not part of transformers: its hub repository carries its model code, which runs only
with ``trust_remote_code=True``. Its processor (``model.init_processor(tokenizer)``) takes one
conversation and its images; a ``<|image|>`` in the user's text stands for the image, which the
processor cuts into tiles, each with its own ``<|image|>`` token. The image features do not enter
the token sequence: they are attended to from a few decoder layers, located by ``media_offset``.

The prompt is the processor's chat template: a system turn with the standard, a user turn of
``<|image|>``, a new line and the question, and an opened assistant turn. A batch is encoded one
image at a time and padded on the right, so every real token sees exactly what it would see
alone; the logits are read at each row's last real token.
"""

import copy
from typing import Sequence

import torch
from PIL import Image

from pyiqa_llmiqa.common.devices import resolve_dtype
from pyiqa_llmiqa.config.options import LLMIQAOptions
from pyiqa_llmiqa.engines.in_process import InProcessEngine
from pyiqa_llmiqa.engines.loading import backbone_load_error

IMAGE_TOKEN = '<|image|>'


def collate(features: Sequence[dict], pad_id: int):
    """One batch from the processor's outputs for single images: right padding, media offsets renumbered.

    Returns input_ids (N, L), pixel_values (all tiles), media_offset and the real lengths (N,).
    ``media_offset`` comes in one of two forms: a tensor (1, L, 2) per image holding, for each
    token, the range of tiles it may attend to (numbered over the whole batch, so shifted by the
    tiles of the rows before; padding repeats the last token's range), or a list holding one
    tensor of the positions of its ``<|image|>`` tokens (kept as they are, one per row).
    """
    lengths = [f['input_ids'].shape[1] for f in features]
    width = max(lengths)
    input_ids = torch.full((len(features), width), pad_id, dtype=torch.long)
    for row, feature in enumerate(features):
        input_ids[row, : lengths[row]] = feature['input_ids'][0]
    if torch.is_tensor(features[0]['media_offset']):
        offsets, tiles_before = [], 0
        for feature in features:
            offset = feature['media_offset']
            padding = offset[:, -1:].expand(1, width - offset.shape[1], offset.shape[2])
            offsets.append(torch.cat([offset, padding], dim=1) + tiles_before)
            tiles_before += len(feature['pixel_values'])
        media_offset = torch.cat(offsets)
    else:
        media_offset = [positions for feature in features for positions in feature['media_offset']]
    pixel_values = torch.cat([f['pixel_values'] for f in features])
    return input_ids, pixel_values, media_offset, torch.tensor(lengths)


class Owl3Engine(InProcessEngine):
    """mPLUG-Owl3 as an ``InProcessEngine``: ``render_prompt`` and ``next_token_logits``.

    ``processor_kwargs`` go to each call of Owl3's processor (``cut_enable: false`` scores the image
    at 384 x 384 without tiles); ``model_kwargs`` takes ``attn_implementation`` (default ``sdpa``);
    ``share_prefix`` does not apply and is ignored. What Owl3 cannot or may not do (no
    ``trust_remote_code``, quantization, other model_kwargs) is refused when options are resolved.
    """

    def __init__(self, options: LLMIQAOptions):
        super().__init__()
        from pyiqa_llmiqa.engines.owl3_loading import load_owl3

        self.name = options.backbone
        try:
            self.model, self.tokenizer = load_owl3(self.name, resolve_dtype(options.dtype), **options.model_kwargs)
        except (OSError, ValueError) as error:
            raise backbone_load_error(self.name, error) from error
        self.processor = self.model.init_processor(self.tokenizer)
        self.processor_kwargs = dict(options.processor_kwargs)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def render_prompt(self, system: str, question: str) -> tuple:
        """The conversation of one query, in the message form Owl3's processor takes."""
        return (
            {'role': 'system', 'content': system},
            {'role': 'user', 'content': f'{IMAGE_TOKEN}\n{question}'},
            {'role': 'assistant', 'content': ''},  # opens the answer; the processor writes no end
        )

    def encode(self, images: Sequence[Image.Image], prompt: tuple):
        """Model inputs for ``images``, each with the conversation ``prompt``; see ``collate``."""
        # The processor writes the tiles into the messages it is given: each call gets a copy.
        features = [
            self.processor(copy.deepcopy(list(prompt)), images=[image], videos=None, **self.processor_kwargs)
            for image in images
        ]
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        return collate(features, pad_id)

    @torch.inference_mode()
    def next_token_logits(self, images: Sequence[Image.Image], prompt: tuple) -> torch.Tensor:
        """Logits (N, vocab) of the token that would follow ``prompt`` for each image: one forward."""
        input_ids, pixel_values, media_offset, lengths = self.encode(images, prompt)
        device, dtype = self.device, next(self.model.parameters()).dtype
        if torch.is_tensor(media_offset):
            media_offset = media_offset.to(device)
        else:
            media_offset = [positions.to(device) for positions in media_offset]
        output = self.model(
            pixel_values=pixel_values.to(device, dtype),
            input_ids=input_ids.to(device),
            media_offset=media_offset,
            use_cache=False,
        )
        rows = torch.arange(len(lengths), device=output.logits.device)
        return output.logits[rows, lengths.to(rows.device) - 1].float()
