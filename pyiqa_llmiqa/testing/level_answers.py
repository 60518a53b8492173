"""Tiny random-weight models that answer with a quality level, as a real model's answer to the prompt is.

A tiny model's random output layer makes its next token mostly anything but a digit, so every score
would be a fallback. Two recipes set the output rows of the level tokens, and nothing else:

- ``boost_level_rows`` (the tests' ``digit_backbone``): large random rows, so the answer is a digit,
  mostly the same one for every image.
- ``spread_level_rows`` (``pyiqa-llmiqa demo``): rows fitted so that the answers on some images spread
  over all the levels, ordered along the direction in which the model's last hidden state varies
  most over them once the part that follows the crop's size is taken out (else large crops would
  all get one level, small ones another); crops it has not seen get levels by the same linear rule. The model is still
  random: which image gets which level means nothing about its quality.
"""

import math
import shutil
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image

RIDGE = 1e-3  # keeps the fitted rows small where the hidden states hardly vary
LEVEL_MARGIN = 10.0  # how far the levels' logits are set above every other token's


def boost_level_rows(folder, out, levels: int = 9, scale: float = 3.0, seed: int = 1) -> Path:
    """Copy the tiny model in ``folder`` to ``out``, with the output rows of the tokens "1".."levels"
    made large (random, times ``scale``), so that its answers are digits."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder)
    ids = [processor.tokenizer.encode(str(k), add_special_tokens=False)[0] for k in range(1, levels + 1)]
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        weight = model.get_output_embeddings().weight
        weight[ids] = torch.randn(len(ids), weight.shape[1], generator=generator) * scale
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return Path(out)


def _last_hidden_states(engine, images: Sequence[Image.Image]) -> torch.Tensor:
    """(N, hidden) float64: what the output layer reads for the answer's token, one image at a time."""
    engine.answer(images[:1])  # the first call also runs the shared prompt prefix through the model
    states = []
    hook = engine.model.get_output_embeddings().register_forward_hook(
        lambda module, inputs, output: states.append(inputs[0][:, -1].detach().double())
    )
    try:
        for image in images:
            engine.answer([image])
    finally:
        hook.remove()
    if len(states) != len(images):
        raise RuntimeError(f'expected one answer per image, the output layer ran {len(states)} times')
    return torch.cat(states)


def spread_level_rows(folder, out, images: Sequence[Image.Image], levels: int = 7) -> Path:
    """Copy the tiny model in ``folder`` to ``out``, with the rows of the level tokens fitted (ridge
    least squares) so that on ``images`` the logit of level k is ``top + margin - (k - l)**2``: the
    greedy answer is l, where l runs from 1 to ``levels`` in the order of the images' projection on
    the first principal direction of their last hidden states, less what a linear fit on the log of
    the image's area explains."""
    from pyiqa_llmiqa.metric.llmiqa_arch import LLMIQA

    engine = LLMIQA(backbone=str(folder), mix_grained=False, levels=levels).engine
    hidden = _last_hidden_states(engine, images)
    size = torch.tensor([[1.0, math.log(i.width * i.height)] for i in images], dtype=hidden.dtype)
    centred = hidden - size @ torch.linalg.lstsq(size, hidden).solution  # what size does not explain
    direction = torch.linalg.svd(centred, full_matrices=False).Vh[0]
    ranks = (centred @ direction).argsort().argsort().double()
    wanted = 1 + (levels - 1) * (ranks + 0.5) / len(images)  # evenly over [1, levels]
    head = engine.model.get_output_embeddings()
    top = (hidden @ head.weight.double().T).max()
    target = top + LEVEL_MARGIN - (torch.arange(1, levels + 1, dtype=hidden.dtype)[None, :] - wanted[:, None]) ** 2
    gram = hidden.T @ hidden + RIDGE * torch.eye(hidden.shape[1], dtype=hidden.dtype)
    rows = torch.linalg.solve(gram, hidden.T @ target).T  # (levels, hidden)
    with torch.no_grad():
        for row, spellings in zip(rows, engine.level_ids):
            head.weight[spellings] = row.to(head.weight.dtype)
    out = Path(out)
    shutil.copytree(folder, out, dirs_exist_ok=True)  # the processor's files
    engine.model.save_pretrained(out)
    return out
