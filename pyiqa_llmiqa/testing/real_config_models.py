"""Models of the real architecture configs, with the published tokenizer, chat template and processor.

The tiny models of ``tiny_models.py`` have tokenizers without merges and chat templates written in
the style of their family. The models made here use the files a user downloads with a real model
(its ``config.json``, tokenizer files, chat template, processor configs; no weights), kept in a
model-files folder with one sub-folder per family (see ``docs/backbone-files.md``). The config's
depth and widths are shrunk; the vocabulary, special token ids, vision patch and merge sizes, rope
settings and the processor files are kept, so prompts, level tokens and image-token counts are
those of the real model. Weights are random.

The model-files folder is ``$LLMIQA_MODEL_FILES``, or ``shared/model_files`` beside or inside the
checkout (the project keeps files copied from other repositories in ``shared/``, not in the
package); without one, the same files come from the hub at pinned revisions (``hub_model_files``).
Command line::

    python -m pyiqa_llmiqa.testing.real_config_models FAMILY OUT_DIR [--files DIR] [--seed N] [--full-size]
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import pathlib
import shutil
import tempfile

import torch

__all__ = ['REAL_FAMILIES', 'build_real_config_model', 'find_model_files', 'model_files_dir']

# Shrunk sizes per family: config keys (dotted for nested configs) and their small values.
# Text head sizes stay as in the real model where the rope depends on them (Qwen's mrope sections
# add up to half the head size), so the text width is one real head.
_SHRINK = {
    'qwen2_5_vl': {
        'hidden_size': 128,
        'num_attention_heads': 1,
        'num_key_value_heads': 1,
        'num_hidden_layers': 2,
        'intermediate_size': 64,
        'max_window_layers': 2,
        'vision_config.depth': 2,
        'vision_config.hidden_size': 32,
        'vision_config.num_heads': 2,
        'vision_config.intermediate_size': 64,
        'vision_config.out_hidden_size': 128,
        'vision_config.fullatt_block_indexes': [1],
    },
    'qwen2_vl': {
        'hidden_size': 128,
        'num_attention_heads': 1,
        'num_key_value_heads': 1,
        'num_hidden_layers': 2,
        'intermediate_size': 64,
        'max_window_layers': 2,
        'vision_config.depth': 2,
        'vision_config.embed_dim': 32,
        'vision_config.num_heads': 2,
        'vision_config.hidden_size': 128,
    },
    'qwen3_vl': {
        'text_config.hidden_size': 128,
        'text_config.num_attention_heads': 1,
        'text_config.num_key_value_heads': 1,
        'text_config.num_hidden_layers': 2,
        'text_config.intermediate_size': 64,
        'vision_config.depth': 2,
        'vision_config.hidden_size': 32,
        'vision_config.num_heads': 2,
        'vision_config.intermediate_size': 64,
        'vision_config.out_hidden_size': 128,
        'vision_config.deepstack_visual_indexes': [0, 1],
    },
    'smolvlm': {
        'text_config.hidden_size': 64,
        'text_config.num_attention_heads': 1,
        'text_config.num_key_value_heads': 1,
        'text_config.num_hidden_layers': 2,
        'text_config.intermediate_size': 64,
        'vision_config.hidden_size': 16,
        'vision_config.num_attention_heads': 2,
        'vision_config.num_hidden_layers': 1,
        'vision_config.intermediate_size': 32,
    },
}
REAL_FAMILIES = tuple(_SHRINK)


def model_files_dir() -> pathlib.Path | None:
    """The model-files folder: ``$LLMIQA_MODEL_FILES``, else ``shared/model_files`` beside or
    inside the checkout this package sits in; None where there is none."""
    if os.environ.get('LLMIQA_MODEL_FILES'):
        return pathlib.Path(os.environ['LLMIQA_MODEL_FILES'])
    for parent in pathlib.Path(__file__).resolve().parents:
        candidate = parent / 'shared' / 'model_files'
        if candidate.is_dir():
            return candidate
    return None


def find_model_files(fetch_into, online: bool | None = None) -> pathlib.Path:
    """The model-files folder (``model_files_dir``), else the hub's files at the pinned revisions
    copied into ``fetch_into`` (``hub_model_files.fetch_model_files``; ``online`` as there)."""
    from pyiqa_llmiqa.testing.hub_model_files import fetch_model_files

    files = model_files_dir()
    if files is None:
        return fetch_model_files(fetch_into, online)
    if not files.is_dir():
        raise FileNotFoundError(
            f'LLMIQA_MODEL_FILES is {str(files)!r}, which is not a folder; it must name the model-files '
            'folder (one sub-folder per family), or be unset'
        )
    return files


def _copy_files(source: pathlib.Path, out: pathlib.Path) -> None:
    """Copy a family's files into ``out``, decompressing the ``.xz`` ones."""
    out.mkdir(parents=True, exist_ok=True)
    for file in sorted(source.iterdir()):
        if file.name == 'README.md' or not file.is_file():
            continue
        if file.suffix == '.xz':
            (out / file.stem).write_bytes(lzma.decompress(file.read_bytes()))
        else:
            shutil.copyfile(file, out / file.name)


def _shrunk_config(config: dict, family: str) -> dict:
    for dotted, value in _SHRINK[family].items():
        *parents, key = dotted.split('.')
        node = config
        for name in parents:
            node = node[name]
        node[key] = value
    return config


def _make_digits_likely(model, tokenizer, scale: float = 3.0) -> None:
    digits = tokenizer.convert_tokens_to_ids([str(digit) for digit in range(10)])
    with torch.no_grad():
        weight = model.get_output_embeddings().weight
        weight[digits] = torch.randn(len(digits), weight.shape[1], dtype=weight.dtype) * scale


def build_real_config_model(
    family: str,
    out,
    files: pathlib.Path | None = None,
    seed: int = 0,
    digit_answers: bool = False,
    full_size: bool = False,
) -> pathlib.Path:
    """Save into ``out`` the family's real files and a random-weight model of its shrunk config.

    The folder loads like a user's download (``AutoProcessor`` / ``AutoModelForImageTextToText``
    ``.from_pretrained(out)``); the processor files in it are the published ones, unchanged.
    ``digit_answers`` makes the output rows of the tokens "0".."9" large, so that the random
    model's next token is mostly a digit, as a real model's answer to the prompt is.
    ``full_size`` keeps the real depth and widths (for speed measurements; gigabytes for 7B).
    """
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoTokenizer
    from transformers import logging as hf_logging

    if family not in _SHRINK:
        raise ValueError(f'no real files for {family!r}; families with real files: {", ".join(REAL_FAMILIES)}')
    files = pathlib.Path(files) if files is not None else model_files_dir()
    if files is None or not (files / family).is_dir():
        raise FileNotFoundError(
            f'the real files of {family!r} are not here: set LLMIQA_MODEL_FILES to the model-files '
            f'folder (it has one sub-folder per family), or put it at shared/model_files'
        )
    out = pathlib.Path(out)
    _copy_files(files / family, out)
    config_path = out / 'config.json'
    if not full_size:
        config_path.write_text(json.dumps(_shrunk_config(json.loads(config_path.read_text()), family), indent=2))
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        config = AutoConfig.from_pretrained(out)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = AutoModelForImageTextToText.from_config(config)
            if digit_answers:
                _make_digits_likely(model, AutoTokenizer.from_pretrained(out))
        model.eval().save_pretrained(out, safe_serialization=True)
    finally:
        hf_logging.set_verbosity(verbosity)
    real_generation_config = files / family / 'generation_config.json'
    if real_generation_config.is_file():  # save_pretrained wrote one derived from the config
        shutil.copyfile(real_generation_config, out / 'generation_config.json')
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('family', choices=REAL_FAMILIES)
    parser.add_argument('out')
    parser.add_argument(
        '--files',
        type=pathlib.Path,
        default=None,
        help='the model-files folder (default: LLMIQA_MODEL_FILES, shared/model_files, else the hub)',
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--full-size', action='store_true', help='keep the real depth and widths')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as fetched:
        files = args.files or find_model_files(fetched)
        print(build_real_config_model(args.family, args.out, files, args.seed, full_size=args.full_size))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
