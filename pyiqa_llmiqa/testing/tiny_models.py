"""Tiny random-weight multimodal LLMs, built offline, for tests.

No weights can be downloaded on the machines this project is tested on, so the tests build small
models of the real architectures with random weights, save them to a folder, and load them back
through the same calls a user makes::

    processor = AutoProcessor.from_pretrained(path)
    model = AutoModelForImageTextToText.from_pretrained(path)

Every folder holds the model (safetensors), its processor (tokenizer, image processor, video
processor where the processor class needs one) and a chat template written in the style of the
real family.  The tokenizers have no merges: byte-level BPE over the 256 byte symbols (Gemma 3:
SentencePiece-style characters with byte fallback) plus the family's special tokens, so every
digit "0".."9" is a single token.  Building needs no network; set HF_HUB_OFFLINE=1 when loading.

Command line::

    python -m pyiqa_llmiqa.testing.tiny_models FAMILY OUT_DIR [--seed N]
    python -m pyiqa_llmiqa.testing.tiny_models qwen2_5_vl OUT_DIR --realistic

`build_realistic_qwen2_5_vl` makes a Qwen2.5-VL of realistic shape (about 86M parameters, a
32k-token byte-level BPE trained on the local Python standard library) for speed benchmarks.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import pathlib
import sys
from typing import Callable

import torch

__all__ = [
    'FAMILIES',
    'VARIANTS',
    'build_tiny_model',
    'qwen_vl_tokenizer',
    'build_realistic_qwen2_5_vl',
    'byte_level_vocab',
    'train_byte_level_bpe',
]


# --------------------------------------------------------------------------------------------
# Tokenizer pieces
# --------------------------------------------------------------------------------------------


def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins that byte-level BPE uses for the bytes 0..255, in byte order.

    Bytes that are printable Latin-1 characters stand for themselves; the others are mapped, in
    order, onto the code points from 256 upwards.
    """
    printable = set(range(ord('!'), ord('~') + 1))
    printable |= set(range(ord('\xa1'), ord('\xac') + 1))
    printable |= set(range(ord('\xae'), ord('\xff') + 1))
    symbols = []
    next_free = 256
    for byte in range(256):
        if byte in printable:
            symbols.append(chr(byte))
        else:
            symbols.append(chr(next_free))
            next_free += 1
    return symbols


def byte_level_vocab(leading: tuple[str, ...] = ()) -> dict[str, int]:
    """A vocabulary of the given leading tokens followed by the 256 byte-level symbols."""
    vocab: dict[str, int] = {}
    for token in list(leading) + _byte_symbols():
        vocab.setdefault(token, len(vocab))
    return vocab


def _byte_level_backend(vocab: dict[str, int]):
    """A `tokenizers.Tokenizer`: byte-level BPE without merges, digits split one by one."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    return tok


_QWEN_SPECIALS = ('<|endoftext|>', '<|im_start|>', '<|im_end|>')


def _qwen_tokenizer(extra_special: tuple[str, ...] = (), vocab=None, merges=None, **named_tokens):
    """A `Qwen2Tokenizer` over `vocab` and `merges` (default: the byte-level vocabulary, no
    merges) plus the Qwen special tokens, `extra_special` and `named_tokens`, in that order.

    `named_tokens` (e.g. ``image_token='<image>'``) become tokenizer attributes that some
    processors read (``tokenizer.image_token``, ``tokenizer.image_token_id``).
    """
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    tokenizer = Qwen2Tokenizer(
        vocab=byte_level_vocab() if vocab is None else vocab,
        merges=merges or [],
        unk_token=None,
        eos_token='<|im_end|>',
        pad_token='<|endoftext|>',
        model_max_length=32768,
        **named_tokens,
    )
    specials = _QWEN_SPECIALS + extra_special + tuple(named_tokens.values())
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tokenizer.add_special_tokens({'extra_special_tokens': list(specials[1:])})
    return tokenizer


def _plain_tokenizer(
    specials: tuple[str, ...],
    *,
    eos: str,
    pad: str,
    bos: str | None = None,
    add_bos_token: bool = False,
    **named_tokens,
):
    """A `TokenizersBackend` (fast tokenizer) over the byte-level vocabulary plus `specials`.

    `specials`, then `named_tokens`, are added as special tokens in that order (their ids follow
    the 256 byte symbols); `bos`, `eos` and `pad` must be among `specials`.
    """
    from tokenizers import AddedToken
    from transformers import TokenizersBackend

    specials += tuple(named_tokens.values())
    backend = _byte_level_backend(byte_level_vocab())
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tokenizer = TokenizersBackend(
        tokenizer_object=backend,
        bos_token=bos,
        eos_token=eos,
        pad_token=pad,
        model_max_length=32768,
        add_bos_token=add_bos_token,
        **named_tokens,
    )
    named = {bos, eos, pad, *named_tokens.values()}
    tokenizer.add_special_tokens({'extra_special_tokens': [t for t in specials if t not in named]})
    return tokenizer


def _row_col_tokens(n: int = 6) -> tuple[str, ...]:
    return tuple(f'<row_{r}_col_{c}>' for r in range(1, n + 1) for c in range(1, n + 1))


def _gemma_tokenizer(specials: tuple[str, ...], **named_tokens):
    """A `GemmaTokenizer`: SentencePiece-style BPE ("▁" for spaces) with byte fallback.

    Vocabulary: <pad> <eos> <bos> <unk> <mask>, the 256 byte-fallback tokens <0x00>..<0xFF>,
    "▁" and the printable ASCII characters; then `specials` and `named_tokens`.  Like the real
    Gemma tokenizer it adds <bos> in front of every encoded text.
    """
    from tokenizers import AddedToken
    from transformers import GemmaTokenizer

    vocab: dict[str, int] = {}
    for token in ['<pad>', '<eos>', '<bos>', '<unk>', '<mask>']:
        vocab[token] = len(vocab)
    for byte in range(256):
        vocab[f'<0x{byte:02X}>'] = len(vocab)
    for char in ['\u2581'] + [chr(c) for c in range(33, 127)]:
        vocab.setdefault(char, len(vocab))
    tokenizer = GemmaTokenizer(vocab=vocab, merges=[], model_max_length=32768, add_bos_token=True, **named_tokens)
    specials += tuple(named_tokens.values())
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tokenizer.add_special_tokens({'extra_special_tokens': list(specials)})
    return tokenizer


_QWEN_VISION_SPECIALS = ('<|vision_start|>', '<|vision_end|>', '<|image_pad|>', '<|video_pad|>')


def qwen_vl_tokenizer(spaced_digits: bool = False):
    """The tokenizer of the tiny Qwen-VL models (tokenizer tests need no model).

    ``spaced_digits``: it also has the single tokens " 1" .. " 9" (as Llama-3's and GPT-style
    vocabularies do), distinct from "1" .. "9"; without, " 7" is two tokens, a space and "7".
    """
    tokenizer = _qwen_tokenizer(_QWEN_VISION_SPECIALS)
    if spaced_digits:
        from tokenizers import AddedToken

        tokenizer.add_tokens([AddedToken(f' {d}', normalized=False, special=False) for d in range(1, 10)])
    return tokenizer


# --------------------------------------------------------------------------------------------
# Chat templates (Jinja), written after each family's real template
# --------------------------------------------------------------------------------------------

# Qwen2-VL / Qwen2.5-VL: a default system message when none is given; images and videos are
# placed where they occur in the content, each wrapped in <|vision_start|>...<|vision_end|>.
QWEN_VL_CHAT_TEMPLATE = (
    '{% for message in messages %}'
    "{% if loop.first and message['role'] != 'system' %}"
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n'
    '{% endif %}'
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}"
    "{{ message['content'] }}"
    '{% else %}'
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part or 'image_url' in part %}"
    '<|vision_start|><|image_pad|><|vision_end|>'
    "{% elif part['type'] == 'video' or 'video' in part %}"
    '<|vision_start|><|video_pad|><|vision_end|>'
    "{% elif 'text' in part %}"
    "{{ part['text'] }}"
    '{% endif %}'
    '{% endfor %}'
    '{% endif %}'
    '<|im_end|>\n'
    '{% endfor %}'
    '{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}'
)

# Qwen2.5-VL's format without a system role: a system message raises, as the templates of Gemma 1/2
# and Mistral do ("System role not supported"), so the standard has to go into the user's turn.
QWEN_VL_NO_SYSTEM_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
) + QWEN_VL_CHAT_TEMPLATE.replace(
    "{% if loop.first and message['role'] != 'system' %}"
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n'
    '{% endif %}',
    '',
)

# Qwen3-VL: like Qwen2.5-VL but no default system message.
QWEN3_VL_CHAT_TEMPLATE = QWEN_VL_CHAT_TEMPLATE.replace(
    "{% if loop.first and message['role'] != 'system' %}"
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n'
    '{% endif %}',
    '',
)


def _idefics_style_template(bos: str) -> str:
    """Idefics3 / SmolVLM: `Role: text<end_of_utterance>` turns, `Role:` with no space when the
    turn opens with an image; a system message is just another turn (`System: ...`)."""
    return (
        bos + '{% for message in messages %}'
        "{{ message['role'] | capitalize }}"
        "{% if message['content'] is string %}"
        ": {{ message['content'] }}"
        '{% else %}'
        "{% if message['content'][0]['type'] == 'image' %}:{% else %}: {% endif %}"
        "{% for part in message['content'] %}"
        "{% if part['type'] == 'image' %}<image>"
        "{% elif part['type'] == 'text' %}{{ part['text'] }}"
        '{% endif %}'
        '{% endfor %}'
        '{% endif %}'
        '<end_of_utterance>\n'
        '{% endfor %}'
        '{% if add_generation_prompt %}Assistant:{% endif %}'
    )


SMOLVLM_CHAT_TEMPLATE = _idefics_style_template('<|im_start|>')
IDEFICS3_CHAT_TEMPLATE = _idefics_style_template('<|begin_of_text|>')


# LLaVA-OneVision (Qwen2 chat format): `<|im_start|>role ` then all images of the turn, then all
# videos, then each text part prefixed by a newline; turns are not separated by newlines.
LLAVA_ONEVISION_CHAT_TEMPLATE = (
    '{% for message in messages %}'
    "<|im_start|>{{ message['role'] }} "
    "{% if message['content'] is string %}"
    "{{ '\\n' + message['content'] }}"
    '{% else %}'
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>{% endif %}{% endfor %}"
    "{% for part in message['content'] %}{% if part['type'] == 'video' %}<video>{% endif %}{% endfor %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'text' %}{{ '\\n' + part['text'] }}{% endif %}{% endfor %}"
    '{% endif %}'
    '<|im_end|>'
    '{% endfor %}'
    '{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}'
)

# InternVL (the -hf conversions): Qwen2 chat format without a default system message; an image
# is `<IMG_CONTEXT>` followed by a newline, which the processor expands to <img>...</img>.
INTERNVL_CHAT_TEMPLATE = (
    '{% for message in messages %}'
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}"
    "{{ message['content'] }}"
    '{% else %}'
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<IMG_CONTEXT>\n"
    "{% elif part['type'] == 'video' %}<video>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}"
    '{% endif %}'
    '{% endfor %}'
    '{% endif %}'
    '<|im_end|>\n'
    '{% endfor %}'
    '{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}'
)

# Gemma 3: no system role -- a system message's text is put at the start of the first user turn,
# followed by a blank line.  The assistant role is called `model`; texts are trimmed; an image is
# <start_of_image>, which the processor expands (with blank lines around it).
GEMMA3_CHAT_TEMPLATE = (
    '{{ bos_token }}'
    "{% set prefix = namespace(text='') %}"
    '{% set turns = messages %}'
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% if messages[0]['content'] is string %}"
    "{% set prefix.text = messages[0]['content'] %}"
    '{% else %}'
    "{% for part in messages[0]['content'] %}{% if part['type'] == 'text' %}"
    "{% set prefix.text = prefix.text + part['text'] %}"
    '{% endif %}{% endfor %}'
    '{% endif %}'
    "{% set prefix.text = prefix.text + '\n\n' %}"
    '{% set turns = messages[1:] %}'
    '{% endif %}'
    '{% for message in turns %}'
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    '<start_of_turn>{{ role }}\n'
    '{% if loop.first %}{{ prefix.text }}{% endif %}'
    "{% if message['content'] is string %}"
    "{{ message['content'] | trim }}"
    '{% else %}'
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<start_of_image>"
    "{% elif part['type'] == 'text' %}{{ part['text'] | trim }}"
    '{% endif %}'
    '{% endfor %}'
    '{% endif %}'
    '<end_of_turn>\n'
    '{% endfor %}'
    '{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}'
)

# Janus (DeepSeek format): `<|User|>: ...`, `<|Assistant|>: ...`, other roles capitalised
# (`System: ...`); a user turn ends with a blank line, an assistant turn with the end-of-sentence
# token.  An image is <image_placeholder>, separated from neighbouring parts by newlines.
JANUS_CHAT_TEMPLATE = (
    '{% for message in messages %}'
    "{% set role = message['role'] | lower %}"
    "{% if role == 'user' %}<|User|>: "
    "{% elif role == 'assistant' %}<|Assistant|>: "
    "{% else %}{{ message['role'] | capitalize }}: "
    '{% endif %}'
    "{% if message['content'] is string %}"
    "{{ message['content'] | trim }}"
    '{% else %}'
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}"
    "{% if not loop.first %}{{ '\\n' }}{% endif %}<image_placeholder>{% if not loop.last %}{{ '\\n' }}{% endif %}"
    "{% elif part['type'] == 'text' %}"
    "{% if not loop.first and message['content'][loop.index0 - 1]['type'] == 'text' %} {% endif %}"
    "{{ part['text'] | trim }}"
    '{% endif %}'
    '{% endfor %}'
    '{% endif %}'
    '{% if not loop.last or add_generation_prompt %}'
    "{% if role == 'assistant' %}<\uff5cend\u2581of\u2581sentence\uff5c>{% else %}{{ '\\n\\n' }}{% endif %}"
    '{% endif %}'
    '{% endfor %}'
    '{% if add_generation_prompt %}<|Assistant|>:{% endif %}'
)


# --------------------------------------------------------------------------------------------
# Families: one `_Family` recipe each, all built by `_build_and_save`
# --------------------------------------------------------------------------------------------


class _Id(str):
    """A token in a recipe, replaced by its id in the family's tokenizer when the family is built."""


# The tokenizer's own begin-of-sequence, end-of-sequence and padding tokens, whichever they are.
_BOS, _EOS, _PAD = _Id('bos_token'), _Id('eos_token'), _Id('pad_token')


def _fill(recipe, tokenizer):
    """A copy of `recipe` with every `_Id` replaced by its token id; dicts and lists are copied, so
    nothing that transformers builds shares (and could change) a recipe."""
    if isinstance(recipe, _Id):
        if recipe in (_BOS, _EOS, _PAD):
            return getattr(tokenizer, recipe + '_id')
        return tokenizer.convert_tokens_to_ids(recipe)
    if isinstance(recipe, dict):
        return {key: _fill(value, tokenizer) for key, value in recipe.items()}
    if isinstance(recipe, list):
        return [_fill(value, tokenizer) for value in recipe]
    return recipe


@dataclasses.dataclass(frozen=True)
class _Family:
    """How to build one family.

    The transformers classes are ``{arch}Config``, ``{arch}ForConditionalGeneration`` and
    ``{arch}Processor``.  `tokenizer` makes the tokenizer; `text` is what the text config has
    beyond what all families share (`_TEXT`, the vocabulary size, a context of 4096 tokens and
    the padding id) and may override it; `config` is the rest of the model config; `processors`
    maps the processor's image/video processor arguments to (class name, keyword arguments);
    `processor` holds the processor's other arguments.
    """

    arch: str
    tokenizer: Callable
    text: dict
    config: dict
    processors: dict
    chat_template: str
    processor: dict = dataclasses.field(default_factory=dict)


_TEXT = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
_HEAD_DIM = _TEXT['hidden_size'] // _TEXT['num_attention_heads']
_VISION = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4)
# Most families see images as 64 px tiles of 8 px patches.
_TILE, _PATCH = 64, 8
_TILE_SIZE = {'height': _TILE, 'width': _TILE}
_HALF_MEAN_STD = dict(image_mean=[0.5] * 3, image_std=[0.5] * 3)


def _mrope(head_dim: int) -> dict:
    """Qwen2-VL's rotary embedding: head_dim/2 frequencies split over (time, height, width) like
    Qwen's 16/24/24."""
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    return dict(rope_type='default', rope_theta=1e6, mrope_section=[t, h, half - t - h])


_QWEN_BOS_EOS = dict(bos_token_id=_Id('<|endoftext|>'), eos_token_id=_EOS)
_QWEN_IDS = dict(
    image_token_id=_Id('<|image_pad|>'),
    video_token_id=_Id('<|video_pad|>'),
    vision_start_token_id=_Id('<|vision_start|>'),
    vision_end_token_id=_Id('<|vision_end|>'),
)
_QWEN_MAX_PIXELS = 448 * 448
_QWEN_MIN_PIXELS = 56 * 56
_QWEN_PIXELS = dict(min_pixels=_QWEN_MIN_PIXELS, max_pixels=_QWEN_MAX_PIXELS, patch_size=14)

# Qwen2-VL and Qwen2.5-VL differ in their vision tower only.
_QWEN2_5_VL = _Family(
    arch='Qwen2_5_VL',
    tokenizer=qwen_vl_tokenizer,
    text=dict(_QWEN_BOS_EOS, rope_parameters=_mrope(_HEAD_DIM)),
    config=dict(
        _QWEN_IDS,
        vision_config=dict(
            depth=2,
            hidden_size=64,
            intermediate_size=128,
            num_heads=4,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
            window_size=112,
            fullatt_block_indexes=[1],
            out_hidden_size=_TEXT['hidden_size'],
        ),
    ),
    processors={
        'image_processor': ('Qwen2VLImageProcessor', _QWEN_PIXELS),
        'video_processor': ('Qwen2VLVideoProcessor', _QWEN_PIXELS),
    },
    chat_template=QWEN_VL_CHAT_TEMPLATE,
)

_QWEN2_VL = dataclasses.replace(
    _QWEN2_5_VL,
    arch='Qwen2VL',
    config=dict(
        _QWEN_IDS,
        vision_config=dict(
            depth=2,
            embed_dim=64,
            hidden_size=_TEXT['hidden_size'],
            mlp_ratio=2,
            num_heads=4,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
        ),
    ),
)

_QWEN3_SIZE = dict(shortest_edge=_QWEN_MIN_PIXELS, longest_edge=_QWEN_MAX_PIXELS)
_QWEN3_VL = _Family(
    arch='Qwen3VL',
    tokenizer=qwen_vl_tokenizer,
    text=dict(
        head_dim=_HEAD_DIM,
        # Qwen3-VL interleaves the (t, h, w) frequencies; h and w take every third of the 8 slots.
        rope_parameters=dict(rope_type='default', rope_theta=5e6, mrope_interleaved=True, mrope_section=[4, 2, 2]),
    ),
    config=dict(
        _QWEN_IDS,
        vision_config=dict(
            depth=2,
            hidden_size=64,
            intermediate_size=128,
            num_heads=4,
            patch_size=16,
            spatial_merge_size=2,
            temporal_patch_size=2,
            out_hidden_size=_TEXT['hidden_size'],
            num_position_embeddings=256,
            deepstack_visual_indexes=[1],
        ),
    ),
    processors={
        'image_processor': ('Qwen2VLImageProcessor', dict(size=_QWEN3_SIZE, patch_size=16, **_HALF_MEAN_STD)),
        'video_processor': ('Qwen3VLVideoProcessor', dict(size=_QWEN3_SIZE, patch_size=16)),
    },
    chat_template=QWEN3_VL_CHAT_TEMPLATE,
)

_LLAMA_TEXT = dict(model_type='llama', rms_norm_eps=1e-5, bos_token_id=_BOS, eos_token_id=_EOS)
_QWEN2_TEXT = dict(_QWEN_BOS_EOS, model_type='qwen2')
_SIGLIP_VISION = dict(_VISION, model_type='siglip_vision_model')

_IDEFICS_SCALE = 2
_IDEFICS_CONFIG = dict(
    vision_config=dict(_VISION, image_size=_TILE, patch_size=_PATCH),
    scale_factor=_IDEFICS_SCALE,
    image_token_id=_Id('<image>'),
)
# (64 / 8)^2 patches per tile, pixel-shuffled by scale 2 -> 16 image tokens per tile.
_IDEFICS_PROCESSOR = dict(image_seq_len=(_TILE // _PATCH) ** 2 // _IDEFICS_SCALE**2)
# Images are resized to a longest edge of 128 and cut into 64 px tiles (up to 2x2) + a global view.
_IDEFICS_SIZES = dict(size={'longest_edge': 128}, max_image_size={'longest_edge': _TILE})
_IDEFICS_IMAGE_SPECIALS = ('<fake_token_around_image>', '<image>', '<global-img>') + _row_col_tokens()

# AnyRes: the image is fitted onto the best of these canvases (1x1 .. 3x3 tiles of 32 px),
# each tile and a base view are encoded; 16 tokens per tile, plus one newline token per row.
_LLAVA_TILE = 32
_LLAVA_PINPOINTS = [[_LLAVA_TILE * r, _LLAVA_TILE * c] for r in range(1, 4) for c in range(1, 4)]
_LLAVA_TILE_SIZE = {'height': _LLAVA_TILE, 'width': _LLAVA_TILE}
_LLAVA_ANYRES = dict(vision_feature_select_strategy='full', vision_aspect_ratio='anyres_max_9')

_INTERNVL_SEQ_LEN = int((_TILE // _PATCH * 0.5) ** 2)  # pixel shuffle with downsample ratio 0.5 -> 16
_GEMMA3_TOKENS_PER_IMAGE = 16  # 8x8 patches average-pooled to 4x4
_JANUS_BOS, _JANUS_EOS = '<\uff5cbegin\u2581of\u2581sentence\uff5c>', '<\uff5cend\u2581of\u2581sentence\uff5c>'

_FAMILIES: dict[str, _Family] = {
    'qwen2_5_vl': _QWEN2_5_VL,
    'qwen2_vl': _QWEN2_VL,
    'qwen3_vl': _QWEN3_VL,
    'smolvlm': _Family(
        arch='SmolVLM',
        tokenizer=functools.partial(
            _plain_tokenizer,
            ('<|endoftext|>', '<|im_start|>', '<|im_end|>', '<end_of_utterance>')
            + _IDEFICS_IMAGE_SPECIALS
            + ('<video>',),
            bos='<|im_start|>',
            eos='<end_of_utterance>',
            pad='<|im_end|>',
        ),
        text=_LLAMA_TEXT,
        config=dict(_IDEFICS_CONFIG, pad_token_id=_PAD),
        processors={
            'image_processor': ('SmolVLMImageProcessor', dict(do_image_splitting=True, **_IDEFICS_SIZES)),
            'video_processor': ('SmolVLMVideoProcessor', _IDEFICS_SIZES),
        },
        processor=_IDEFICS_PROCESSOR,
        chat_template=SMOLVLM_CHAT_TEMPLATE,
    ),
    'idefics3': _Family(
        arch='Idefics3',
        tokenizer=functools.partial(
            _plain_tokenizer,
            ('<|begin_of_text|>', '<|end_of_text|>', '<end_of_utterance>') + _IDEFICS_IMAGE_SPECIALS,
            bos='<|begin_of_text|>',
            eos='<end_of_utterance>',
            pad='<|end_of_text|>',
        ),
        text=_LLAMA_TEXT,
        config=_IDEFICS_CONFIG,
        processors={'image_processor': ('Idefics3ImageProcessor', dict(do_image_splitting=True, **_IDEFICS_SIZES))},
        processor=_IDEFICS_PROCESSOR,
        chat_template=IDEFICS3_CHAT_TEMPLATE,
    ),
    'llava_onevision': _Family(
        arch='LlavaOnevision',
        tokenizer=functools.partial(_qwen_tokenizer, image_token='<image>', video_token='<video>'),
        text=_QWEN2_TEXT,
        config=dict(
            _LLAVA_ANYRES,
            vision_config=dict(_SIGLIP_VISION, image_size=_LLAVA_TILE, patch_size=_PATCH),
            image_token_index=_Id('<image>'),
            video_token_index=_Id('<video>'),
            vision_feature_layer=-1,
            image_grid_pinpoints=_LLAVA_PINPOINTS,
        ),
        processors={
            'image_processor': (
                'LlavaOnevisionImageProcessor',
                dict(size=_LLAVA_TILE_SIZE, image_grid_pinpoints=_LLAVA_PINPOINTS),
            ),
            'video_processor': ('LlavaOnevisionVideoProcessor', dict(size=_LLAVA_TILE_SIZE)),
        },
        processor=dict(_LLAVA_ANYRES, num_image_tokens=(_LLAVA_TILE // _PATCH) ** 2),
        chat_template=LLAVA_ONEVISION_CHAT_TEMPLATE,
    ),
    'internvl': _Family(
        arch='InternVL',
        tokenizer=functools.partial(
            _qwen_tokenizer,
            start_image_token='<img>',
            end_image_token='</img>',
            context_image_token='<IMG_CONTEXT>',
            video_token='<video>',
        ),
        text=_QWEN2_TEXT,
        config=dict(
            vision_config=dict(_VISION, image_size=[_TILE, _TILE], patch_size=[_PATCH, _PATCH]),
            image_token_id=_Id('<IMG_CONTEXT>'),
            image_seq_length=_INTERNVL_SEQ_LEN,
            downsample_ratio=0.5,
        ),
        processors={
            # Dynamic tiling like InternVL: up to 4 tiles of 64 px plus a thumbnail.
            'image_processor': (
                'GotOcr2ImageProcessor',
                dict(
                    size=_TILE_SIZE,
                    crop_to_patches=True,
                    min_patches=1,
                    max_patches=4,
                    image_mean=[0.485, 0.456, 0.406],
                    image_std=[0.229, 0.224, 0.225],
                ),
            ),
            'video_processor': ('InternVLVideoProcessor', dict(size=_TILE_SIZE)),
        },
        processor=dict(image_seq_length=_INTERNVL_SEQ_LEN),
        chat_template=INTERNVL_CHAT_TEMPLATE,
    ),
    'gemma3': _Family(
        arch='Gemma3',
        tokenizer=functools.partial(
            _gemma_tokenizer,
            ('<start_of_turn>', '<end_of_turn>'),
            boi_token='<start_of_image>',
            eoi_token='<end_of_image>',
            image_token='<image_soft_token>',
        ),
        text=dict(
            head_dim=_HEAD_DIM,
            query_pre_attn_scalar=_HEAD_DIM,
            sliding_window=512,
            eos_token_id=[_EOS, _Id('<end_of_turn>')],
            bos_token_id=_BOS,
        ),
        config=dict(
            vision_config=dict(_SIGLIP_VISION, image_size=_TILE, patch_size=_PATCH, vision_use_head=False),
            mm_tokens_per_image=_GEMMA3_TOKENS_PER_IMAGE,
            boi_token_index=_Id('<start_of_image>'),
            eoi_token_index=_Id('<end_of_image>'),
            image_token_index=_Id('<image_soft_token>'),
        ),
        processors={
            'image_processor': ('Gemma3ImageProcessor', dict(size=_TILE_SIZE, do_pan_and_scan=False, **_HALF_MEAN_STD))
        },
        processor=dict(image_seq_length=_GEMMA3_TOKENS_PER_IMAGE),
        chat_template=GEMMA3_CHAT_TEMPLATE,
    ),
    'janus': _Family(
        arch='Janus',
        tokenizer=functools.partial(
            _plain_tokenizer,
            (_JANUS_BOS, _JANUS_EOS, '<|User|>', '<|Assistant|>', '<pad>'),
            bos=_JANUS_BOS,
            eos=_JANUS_EOS,
            pad='<pad>',
            add_bos_token=True,
            image_token='<image_placeholder>',
            boi_token='<begin_of_image>',
            eoi_token='<end_of_image>',
        ),
        text=_LLAMA_TEXT,
        config=dict(
            vision_config=dict(
                hidden_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                mlp_ratio=2,
                image_size=_TILE,
                patch_size=_PATCH,
                projection_dim=_TEXT['hidden_size'],
                depth=2,
                num_image_tokens=(_TILE // _PATCH) ** 2,
            ),
            # The image-generation half (a VQ-VAE) is required by the architecture; keep it minimal.
            vq_config=dict(
                embed_dim=8,
                num_embeddings=64,
                latent_channels=32,
                base_channels=32,
                channel_multiplier=[1, 1],
                num_res_blocks=1,
                num_patches=4,
                projection_dim=_TEXT['hidden_size'],
                image_token_embed_dim=_TEXT['hidden_size'],
            ),
            image_token_id=_Id('<image_placeholder>'),
        ),
        processors={'image_processor': ('JanusImageProcessor', dict(size=_TILE_SIZE, **_HALF_MEAN_STD))},
        processor=dict(num_image_tokens=(_TILE // _PATCH) ** 2, use_default_system_prompt=False),
        chat_template=JANUS_CHAT_TEMPLATE,
    ),
}
FAMILIES: tuple[str, ...] = tuple(_FAMILIES)

# Qwen2.5-VL with one trait of other families, so that the code paths for it run in tests.
_VARIANTS: dict[str, _Family] = {
    'qwen2_5_vl_spaced_digits': dataclasses.replace(
        _QWEN2_5_VL, tokenizer=functools.partial(qwen_vl_tokenizer, spaced_digits=True)
    ),
    'qwen2_5_vl_no_system': dataclasses.replace(_QWEN2_5_VL, chat_template=QWEN_VL_NO_SYSTEM_CHAT_TEMPLATE),
}
VARIANTS: tuple[str, ...] = tuple(_VARIANTS)


# Tokens that end an assistant turn in some family; generation stops at any that the tokenizer has.
_END_OF_TURN_TOKENS = ('<|im_end|>', '<|endoftext|>', '<end_of_utterance>', '<end_of_turn>')


def _finish_generation_config(model, tokenizer) -> None:
    gen = model.generation_config
    gen.pad_token_id = tokenizer.pad_token_id
    vocab = tokenizer.get_vocab()
    stops = [tokenizer.eos_token_id] + [vocab[t] for t in _END_OF_TURN_TOKENS if t in vocab]
    stops = list(dict.fromkeys(stops))
    gen.eos_token_id = stops[0] if len(stops) == 1 else stops
    if getattr(model.config, 'pad_token_id', None) is None:
        try:
            model.config.pad_token_id = tokenizer.pad_token_id
        except Exception:  # some composite configs refuse unknown attributes
            pass


def build_tiny_model(family: str, path, seed: int = 0) -> pathlib.Path:
    """Build a tiny random-weight model of `family` (one of FAMILIES or VARIANTS) and save model +
    processor into `path`.

    The result loads with `AutoProcessor.from_pretrained(path)` and
    `AutoModelForImageTextToText.from_pretrained(path)`.  Deterministic given `seed`.
    """
    recipes = {**_FAMILIES, **_VARIANTS}
    if family not in recipes:
        raise ValueError(f'unknown family {family!r}; choose one of {", ".join(FAMILIES + VARIANTS)}')
    return _build_and_save(recipes[family], path, seed)


def _build_and_save(family: _Family, path, seed: int, dtype=torch.float32) -> pathlib.Path:
    """Build `family` (weights in `dtype`) under `seed` with transformers quiet, then save model and
    processor into `path`."""
    import transformers
    from transformers import logging as hf_logging

    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            tokenizer = family.tokenizer()
            text = {
                **_TEXT,
                'vocab_size': len(tokenizer),
                'max_position_embeddings': 4096,
                'pad_token_id': tokenizer.pad_token_id,
                **_fill(family.text, tokenizer),
            }
            config = getattr(transformers, f'{family.arch}Config')(text_config=text, **_fill(family.config, tokenizer))
            model = getattr(transformers, f'{family.arch}ForConditionalGeneration')(config).to(dtype)
            processor = getattr(transformers, f'{family.arch}Processor')(
                tokenizer=tokenizer,
                **{
                    key: getattr(transformers, cls)(**_fill(kwargs, tokenizer))
                    for key, (cls, kwargs) in family.processors.items()
                },
                **_fill(family.processor, tokenizer),
                chat_template=family.chat_template,
            )
        _finish_generation_config(model, tokenizer)
        model.eval()
        model.save_pretrained(path, safe_serialization=True)
        processor.save_pretrained(path)
    finally:
        hf_logging.set_verbosity(verbosity)
    return path


# --------------------------------------------------------------------------------------------
# A realistic-size Qwen2.5-VL (random weights, trained tokenizer) for speed benchmarks
# --------------------------------------------------------------------------------------------


def _local_text_files(max_bytes: int) -> list[pathlib.Path]:
    """Python standard-library sources on this machine (sorted, so the corpus is reproducible),
    skipping tests and third-party packages, up to about `max_bytes`."""
    import sysconfig

    stdlib = pathlib.Path(sysconfig.get_paths()['stdlib'])
    skip = {'site-packages', 'dist-packages', 'test', 'tests', 'idlelib', 'lib2to3', 'ensurepip'}
    files, total = [], 0
    for file in sorted(stdlib.rglob('*.py')):
        if skip.intersection(file.relative_to(stdlib).parts):
            continue
        size = file.stat().st_size
        if total + size > max_bytes:
            break
        files.append(file)
        total += size
    return files


def train_byte_level_bpe(vocab_size: int = 32000, max_corpus_bytes: int = 8_000_000):
    """Train a Qwen-style byte-level BPE on local text; returns (vocab, merges).

    The pre-tokenizer is Qwen2's (numbers are split into single digits), so every digit stays a
    single token whatever merges are learned.
    """
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior='isolated'),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )

    def lines():
        for file in _local_text_files(max_corpus_bytes):
            yield file.read_text(encoding='utf-8', errors='replace')

    tok.train_from_iterator(lines(), trainer=trainer)
    import json

    model = json.loads(tok.to_str())['model']
    merges = [tuple(m.split(' ', 1)) if isinstance(m, str) else tuple(m) for m in model['merges']]
    return model['vocab'], merges


def build_realistic_qwen2_5_vl(
    path,
    seed: int = 0,
    *,
    vocab_size: int = 32000,
    text_hidden: int = 512,
    text_layers: int = 8,
    vision_hidden: int = 512,
    vision_depth: int = 8,
    dtype=torch.float32,
    max_pixels: int = 12845056,
    min_pixels: int = 3136,
) -> pathlib.Path:
    """A Qwen2.5-VL-architecture model of realistic shape (about 80M parameters with the
    defaults), random weights, with a byte-level BPE tokenizer of `vocab_size` tokens trained on
    the local Python standard library.  For speed benchmarks, not for tests.

    Image processor limits default to the real Qwen2.5-VL ones (min 56x56, max 12.8M pixels).
    Takes tens of seconds (tokenizer training dominates).
    """
    trained = vocab_size - len(_QWEN_SPECIALS + _QWEN_VISION_SPECIALS)
    heads = max(1, text_hidden // 64)
    pixels = dict(min_pixels=min_pixels, max_pixels=max_pixels)
    # The tiny Qwen2.5-VL recipe at another shape, with a trained tokenizer and real pixel limits.
    family = dataclasses.replace(
        _QWEN2_5_VL,
        tokenizer=lambda: _qwen_tokenizer(_QWEN_VISION_SPECIALS, *train_byte_level_bpe(trained)),
        text=dict(
            _QWEN2_5_VL.text,
            hidden_size=text_hidden,
            intermediate_size=int(text_hidden * 2.6875) // 64 * 64,
            num_hidden_layers=text_layers,
            num_attention_heads=heads,
            num_key_value_heads=max(1, heads // 4),
            max_position_embeddings=32768,
            rope_parameters=_mrope(text_hidden // heads),
        ),
        config=dict(
            _QWEN2_5_VL.config,
            vision_config=dict(
                _QWEN2_5_VL.config['vision_config'],
                depth=vision_depth,
                hidden_size=vision_hidden,
                intermediate_size=vision_hidden * 27 // 10,
                num_heads=max(1, vision_hidden // 64),
                out_hidden_size=text_hidden,
                fullatt_block_indexes=list(range(vision_depth // 4 - 1, vision_depth, max(1, vision_depth // 4))),
            ),
        ),
        processors={
            'image_processor': ('Qwen2VLImageProcessor', pixels),
            'video_processor': ('Qwen2VLVideoProcessor', pixels),
        },
    )
    return _build_and_save(family, path, seed, dtype)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('family', choices=FAMILIES + VARIANTS)
    parser.add_argument('out_dir')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--realistic',
        action='store_true',
        help='qwen2_5_vl only: an ~86M-parameter model with a trained 32k tokenizer (for speed benchmarks)',
    )
    args = parser.parse_args(argv)
    if args.realistic:
        if args.family != 'qwen2_5_vl':
            parser.error('--realistic is only available for qwen2_5_vl')
        path = build_realistic_qwen2_5_vl(args.out_dir, seed=args.seed)
    else:
        path = build_tiny_model(args.family, args.out_dir, seed=args.seed)
    print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
