"""The preset backbones with their published files: tokenizer, chat template, processor settings.

Each model here has the real model's config with depth and widths shrunk, random weights, and the
real non-weight files (see docs/backbone-files.md), and is loaded through ``create_metric`` as a
user's download is. Expected values come from the files themselves (the vocabulary, the jinja
template, the processor settings), not from the product's functions.
"""

import json
import math
import pathlib

import jinja2
import numpy as np
import pyiqa
import pytest
import torch
from PIL import Image

import pyiqa_llmiqa  # noqa: F401
from pyiqa_llmiqa.engines.batching import run_in_batches
from pyiqa_llmiqa.engines.level_tokens import level_token_ids
from pyiqa_llmiqa.testing.real_config_models import (
    REAL_FAMILIES,
    build_real_config_model,
    model_files_dir,
)

FILES = model_files_dir()

WORD_7_STANDARD = (
    'You are a helpful assistant to help me evaluate the quality of the image. You will be given '
    'standards about each quality level. The quality standard is listed as follows: 7: Perfect, '
    '6: Excellent, 5: Good, 4: Fair, 3: Bad, 2: Poor, 1: Very Bad. The higher the image quality, '
    "the higher the score should be. Please strictly follow the USER's format, otherwise the "
    'result will be invalid.'
)
QUESTION_7 = (
    'please evaluate the quality of the image and score in [1,2,3,4,5,6,7]. Only tell me the '
    'number. Do not analyze the image.'
)


@pytest.fixture(scope='module')
def files():
    """The model-files folder; the tests that need it are skipped, with the reason, without it."""
    if FILES is None:
        pytest.skip('no model-files folder: set LLMIQA_MODEL_FILES or put it at shared/model_files')
    return FILES


@pytest.fixture(scope='module')
def folders(files, tmp_path_factory):
    root = tmp_path_factory.mktemp('real_config')
    return {family: str(build_real_config_model(family, root / family, digit_answers=True)) for family in REAL_FAMILIES}


@pytest.fixture(scope='module')
def crops():
    rng = np.random.default_rng(11)
    return [Image.fromarray(rng.integers(0, 256, (56 + 12 * i, 96 - 10 * i, 3), dtype=np.uint8)) for i in range(2)]


def _metric(folder, preset='llmiqa_global', **options):
    return pyiqa.create_metric(preset, backbone=folder, device='cpu', **options)


def _real_file(family, name):
    return json.loads((FILES / family / name).read_text())


def _vocabulary(folder):
    """token -> id from the tokenizer files alone: vocab.json or tokenizer.json, plus added tokens."""
    folder = pathlib.Path(folder)
    if (folder / 'tokenizer.json').is_file():
        vocab = dict(json.loads((folder / 'tokenizer.json').read_text())['model']['vocab'])
    else:
        vocab = json.loads((folder / 'vocab.json').read_text())
    added = json.loads((folder / 'tokenizer_config.json').read_text()).get('added_tokens_decoder', {})
    vocab.update({entry['content']: int(index) for index, entry in added.items()})
    return vocab


def test_a_family_without_real_files_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="no real files for 'gemma3'; families with real files: qwen2_5_vl, smolvlm"):
        build_real_config_model('gemma3', tmp_path / 'out')


def test_a_missing_files_folder_says_how_to_give_one(tmp_path):
    with pytest.raises(FileNotFoundError, match='set LLMIQA_MODEL_FILES'):
        build_real_config_model('qwen2_5_vl', tmp_path / 'out', files=tmp_path / 'empty')


# ---------------------------------------------------------------------------------------------
# The prompt
# ---------------------------------------------------------------------------------------------


def test_default_model_prompt_is_qwen_official_format(folders):
    expected = (
        '<|im_start|>system\n' + WORD_7_STANDARD + '<|im_end|>\n'
        '<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>' + QUESTION_7 + '<|im_end|>\n'
        '<|im_start|>assistant\n'
    )
    assert _metric(folders['qwen2_5_vl']).net.engine.prompt == expected


def test_smolvlm_prompt_is_its_real_template_then_the_space_it_writes(folders):
    template = _real_file('smolvlm', 'chat_template.json')['chat_template']
    messages = [
        {'role': 'system', 'content': [{'type': 'text', 'text': WORD_7_STANDARD}]},
        {'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': QUESTION_7}]},
    ]
    official = jinja2.Environment().from_string(template).render(messages=messages, add_generation_prompt=True)
    assert official.endswith('<end_of_utterance>\nAssistant:')
    assert official.startswith('<|im_start|>System: ' + WORD_7_STANDARD + '<end_of_utterance>\nUser:<image>')
    # Its pre-tokenizer splits digits off: " 7" is the space token and then "7", so the space the
    # model writes after "Assistant:" goes into the prompt and the next token is the digit.
    tokenizer = json.loads((pathlib.Path(folders['smolvlm']) / 'tokenizer.json').read_text())
    assert {'type': 'Digits', 'individual_digits': True} in tokenizer['pre_tokenizer']['pretokenizers']
    net = _metric(folders['smolvlm']).net
    assert net.engine.prompt == official + ' '
    # the template writes <|im_start|>, its bos token, itself: the processor must not add another
    ids = net.engine.encode([Image.new('RGB', (32, 24))], net.engine.prompt)['input_ids'][0].tolist()
    bos = _vocabulary(folders['smolvlm'])['<|im_start|>']
    assert ids[0] == bos and ids.count(bos) == 1


def test_qwen_template_puts_the_standard_where_the_default_system_prompt_was(folders):
    """Qwen's template writes its default system prompt only when no system message is given."""
    template = _real_file('qwen2_5_vl', 'chat_template.json')['chat_template']
    user = {'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': QUESTION_7}]}
    plain = jinja2.Environment().from_string(template).render(messages=[user], add_generation_prompt=True)
    assert plain.startswith('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n')
    prompt = _metric(folders['qwen2_5_vl']).net.engine.prompt
    assert 'You are a helpful assistant.<|im_end|>' not in prompt
    assert prompt.endswith(plain[plain.index('<|im_start|>user') :])


# ---------------------------------------------------------------------------------------------
# Level tokens and the greedy reading
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize('family', REAL_FAMILIES)
@pytest.mark.parametrize('levels', [5, 7, 9])
def test_level_tokens_are_the_vocabulary_digits(family, levels, folders):
    vocab = _vocabulary(folders[family])
    # Both pre-tokenizers split a digit off what precedes it (Qwen: a regex with \p{N} alone;
    # SmolVLM: Digits(individual_digits)), so " 7" is never one token and only "7" counts.
    expected = [[vocab[str(level)]] for level in range(1, levels + 1)]
    tokenizer = _metric(folders[family]).net.engine.tokenizer
    assert level_token_ids(tokenizer, levels) == expected
    assert tokenizer.encode(' 7', add_special_tokens=False) == [vocab['Ġ'], vocab['7']]


def test_qwen_special_token_ids_match_the_model_card(folders):
    vocab = _vocabulary(folders['qwen2_5_vl'])
    config = _real_file('qwen2_5_vl', 'config.json')
    assert len(vocab) == 151665 and config['vocab_size'] == 152064
    assert vocab['<|image_pad|>'] == config['image_token_id'] == 151655
    assert vocab['<|vision_start|>'] == 151652 and vocab['<|im_start|>'] == 151644
    assert vocab['<|im_end|>'] == config['eos_token_id'] == 151645


def test_smolvlm_special_token_ids_match_the_model_card(folders):
    vocab = _vocabulary(folders['smolvlm'])
    config = _real_file('smolvlm', 'config.json')
    assert len(vocab) == config['vocab_size'] == 49280
    assert vocab['<image>'] == config['image_token_id'] == 49190
    assert vocab['<end_of_utterance>'] == 49279


@pytest.mark.parametrize('family', REAL_FAMILIES)
def test_greedy_reading_is_what_generate_writes(family, folders, crops):
    net = _metric(folders[family]).net
    scores = net(crops)
    vocab = _vocabulary(folders[family])
    level_of = {vocab[str(level)]: level for level in range(1, 8)}
    for crop, score in zip(crops, scores):
        inputs = net.engine.encode([crop], net.engine.prompt)
        written = net.engine.model.generate(**inputs, max_new_tokens=1, do_sample=False)[0, -1].item()
        assert written in level_of, 'the random model should answer a digit here (digit_answers)'
        assert score == level_of[written]


# ---------------------------------------------------------------------------------------------
# Image tokens from the real processor settings
# ---------------------------------------------------------------------------------------------


def _qwen_image_tokens(width, height, max_pixels=None):
    """Qwen2-VL's resize: each side to the nearest multiple of patch x merge; over max_pixels,
    both sides scaled down by the same factor and rounded down to such multiples; one token per
    merge x merge patches."""
    settings = _real_file('qwen2_5_vl', 'preprocessor_config.json')
    patch, merge = settings['patch_size'], settings['merge_size']
    max_pixels = max_pixels or settings['max_pixels']
    factor = patch * merge
    w, h = round(width / factor) * factor, round(height / factor) * factor
    if w * h > max_pixels:
        beta = math.sqrt(width * height / max_pixels)
        w, h = math.floor(width / beta / factor) * factor, math.floor(height / beta / factor) * factor
    assert settings['min_pixels'] <= w * h  # small images are scaled up; none here
    return (w // patch) * (h // patch) // merge**2


def _smolvlm_image_tokens(width, height):
    """Idefics3's resize: the longest side to size.longest_edge, then each side up to a multiple of
    max_image_size; one tile per max_image_size square plus the whole image, image_seq_len each."""
    settings = _real_file('smolvlm', 'preprocessor_config.json')
    per_tile = _real_file('smolvlm', 'processor_config.json')['image_seq_len']
    config = _real_file('smolvlm', 'config.json')['vision_config']
    patches = (config['image_size'] // config['patch_size']) ** 2
    assert per_tile == patches // _real_file('smolvlm', 'config.json')['scale_factor'] ** 2
    longest, tile = settings['size']['longest_edge'], settings['max_image_size']['longest_edge']
    if width >= height:
        w, h = longest, int(longest * height / width)
    else:
        w, h = int(longest * width / height), longest
    tiles = math.ceil(w / tile) * math.ceil(h / tile)
    return (tiles + (1 if tiles > 1 else 0)) * per_tile


def test_the_readme_counts_for_qwen(files):
    assert _qwen_image_tokens(1024, 768) == 74 * 54 // 4 == 999  # 1036x756
    assert _qwen_image_tokens(588, 448) == 336  # SPAQ as pyiqa reads it


@pytest.mark.parametrize('family, count', [('qwen2_5_vl', _qwen_image_tokens), ('smolvlm', _smolvlm_image_tokens)])
@pytest.mark.parametrize('size', [(1024, 768), (512, 384)])
def test_image_token_count_follows_the_real_processor_settings(family, count, size, folders):
    backbone = _metric(folders[family]).net.engine
    inputs = backbone.processor(
        text=[backbone.render_prompt(WORD_7_STANDARD, QUESTION_7)],
        images=[[Image.new('RGB', size, (90, 100, 110))]],
        return_tensors='pt',
    )
    image_token = _real_file(family, 'config.json')['image_token_id']
    assert int((inputs['input_ids'] == image_token).sum()) == count(*size)


def test_max_pixels_bounds_the_qwen_image_tokens(folders):
    backbone = _metric(folders['qwen2_5_vl'], processor_kwargs={'max_pixels': 256 * 28 * 28}).net.engine
    inputs = backbone.processor(
        text=[backbone.render_prompt(WORD_7_STANDARD, QUESTION_7)],
        images=[[Image.new('RGB', (1024, 768))]],
        return_tensors='pt',
    )
    assert int((inputs['input_ids'] == 151655).sum()) == _qwen_image_tokens(1024, 768, 256 * 28 * 28) == 234


# ---------------------------------------------------------------------------------------------
# Scoring: both modes, batches, the shared prefix, the presets
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize('family', REAL_FAMILIES)
def test_scores_in_both_modes_and_batches_change_nothing(family, folders, crops):
    greedy = _metric(folders[family]).net(crops)
    assert all(float(s).is_integer() and 1 <= s <= 7 for s in greedy)
    expectation = _metric(folders[family], score_mode='expectation', batch_size=3).net
    batched = expectation(crops)
    assert ((batched >= 1) & (batched <= 7)).all()
    alone = torch.cat([expectation([crop]) for crop in crops])
    assert torch.allclose(batched, alone, atol=1e-4)


@pytest.mark.parametrize('family', REAL_FAMILIES)
def test_shared_prefix_equals_the_plain_forward(family, folders, crops):
    fast = _metric(folders[family], batch_size=3).net
    plain = _metric(folders[family], batch_size=3, share_prefix=False).net.engine
    assert fast.engine.shared_prefix is not None and plain.shared_prefix is None
    fast_logits = run_in_batches(lambda batch: fast.engine.next_token_logits(batch, fast.engine.prompt), crops, 3)
    plain_logits = run_in_batches(lambda batch: plain.next_token_logits(batch, fast.engine.prompt), crops, 3)
    assert torch.allclose(fast_logits, plain_logits, atol=1e-5 * max(1.0, float(plain_logits.abs().max())))


@pytest.mark.parametrize('preset, family', [('llmiqa', 'qwen2_5_vl'), ('llmiqa_small', 'smolvlm')])
def test_preset_scores_with_the_real_files(preset, family, folders):
    image = Image.fromarray(np.random.default_rng(2).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    half = np.zeros((48, 64), dtype=bool)
    half[:, :32] = True
    metric = pyiqa.create_metric(preset, backbone=folders[family], device='cpu', segmenter=lambda _: [half])
    score = metric(torch.from_numpy(np.asarray(image)).permute(2, 0, 1)[None].float() / 255)
    assert 1 <= float(score) <= 7


def test_the_cpu_preset_shows_smolvlm_one_view_of_64_tokens(folders):
    """llmiqa_small turns SmolVLM's tiling off: a 512 px view is (512 / 16)^2 patches, merged 4 x 4
    (config scale_factor 4) into 64 tokens, where the published settings give 13 tiles (832)."""
    config = _real_file('smolvlm', 'config.json')
    patches = (512 // config['vision_config']['patch_size']) ** 2
    expected = patches // config['scale_factor'] ** 2
    backbone = pyiqa.create_metric(
        'llmiqa_small', backbone=folders['smolvlm'], device='cpu', segmenter=lambda _: []
    ).net.engine
    inputs = backbone.processor(
        text=[backbone.render_prompt(WORD_7_STANDARD, QUESTION_7)],
        images=[[Image.new('RGB', (1024, 768))]],
        return_tensors='pt',
    )
    assert expected == 64
    assert int((inputs['input_ids'] == config['image_token_id']).sum()) == expected
