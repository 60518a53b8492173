"""Tiny random-weight MLLMs load through the Auto classes and run a scoring-style pass."""

import os

os.environ['HF_HUB_OFFLINE'] = '1'


import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from pyiqa_llmiqa.testing.tiny_models import FAMILIES, build_tiny_model, main  # noqa: E402

transformers = pytest.importorskip('transformers')
from transformers import AutoModelForImageTextToText, AutoProcessor  # noqa: E402

SYSTEM = 'You judge image quality.'
QUESTION = 'Rate the quality from 1 to 5.'
MESSAGES = [
    {'role': 'system', 'content': [{'type': 'text', 'text': SYSTEM}]},
    {'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': QUESTION}]},
]

# The text each family's template puts right before the answer.
GENERATION_PROMPT_SUFFIX = {
    'qwen2_5_vl': '<|im_start|>assistant\n',
    'qwen2_vl': '<|im_start|>assistant\n',
    'qwen3_vl': '<|im_start|>assistant\n',
    'smolvlm': 'Assistant:',
    'idefics3': 'Assistant:',
    'llava_onevision': '<|im_start|>assistant\n',
    'internvl': '<|im_start|>assistant\n',
    'gemma3': '<start_of_turn>model\n',
    'janus': '<|Assistant|>:',
}


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    # Tiny models gain nothing from threads, and on a busy 2-core machine two OpenMP threads
    # can stall a 5 ms forward for up to a second.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _image(height, width, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.fixture(scope='module', params=FAMILIES)
def tiny(request, tmp_path_factory):
    family = request.param
    path = build_tiny_model(family, tmp_path_factory.mktemp(family), seed=0)
    processor = AutoProcessor.from_pretrained(path)
    model = AutoModelForImageTextToText.from_pretrained(path).eval()
    return family, path, processor, model


def test_all_priority_families_are_offered():
    for family in (
        'qwen2_5_vl',
        'qwen2_vl',
        'qwen3_vl',
        'smolvlm',
        'idefics3',
        'llava_onevision',
        'internvl',
        'gemma3',
        'janus',
    ):
        assert family in FAMILIES


def test_folder_is_small_and_uses_safetensors(tiny):
    _, path, _, model = tiny
    assert (path / 'model.safetensors').exists()
    assert sum(f.stat().st_size for f in path.iterdir()) < 8e6
    assert sum(p.numel() for p in model.parameters()) < 2e6


def test_each_digit_is_one_token(tiny):
    _, _, processor, _ = tiny
    for digit in '123456789':
        assert len(processor.tokenizer.encode(digit, add_special_tokens=False)) == 1


def test_chat_template_renders_system_image_and_generation_prompt(tiny):
    family, _, processor, _ = tiny
    prompt = processor.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    assert SYSTEM in prompt and QUESTION in prompt
    assert prompt.index(SYSTEM) < prompt.index(QUESTION)
    assert prompt.endswith(GENERATION_PROMPT_SUFFIX[family])
    without = processor.apply_chat_template(MESSAGES, add_generation_prompt=False, tokenize=False)
    assert not without.endswith(GENERATION_PROMPT_SUFFIX[family])
    plain = processor.apply_chat_template(
        [{'role': 'user', 'content': QUESTION}], add_generation_prompt=True, tokenize=False
    )
    assert QUESTION in plain and plain.endswith(GENERATION_PROMPT_SUFFIX[family])


def test_forward_and_generate_on_one_image(tiny):
    _, _, processor, model = tiny
    prompt = processor.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[prompt], images=[_image(448, 448)], return_tensors='pt', padding=True)
    with torch.inference_mode():
        logits = model(**inputs).logits
        generated = model.generate(**inputs, max_new_tokens=1, do_sample=False)
    assert logits.shape[:2] == inputs['input_ids'].shape
    assert logits.shape[-1] >= len(processor.tokenizer)
    assert torch.isfinite(logits[:, -1]).all()
    assert generated.shape == (1, inputs['input_ids'].shape[1] + 1)


def test_left_padded_batch_of_two_image_sizes(tiny):
    _, _, processor, model = tiny
    processor.tokenizer.padding_side = 'left'
    prompt = processor.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    short = processor.apply_chat_template(
        [{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': 'Quality?'}]}],
        add_generation_prompt=True,
        tokenize=False,
    )
    # Nested lists (one list of images per prompt) are accepted by every family's processor.
    inputs = processor(
        text=[prompt, short], images=[[_image(448, 448)], [_image(200, 320, seed=1)]], return_tensors='pt', padding=True
    )
    with torch.inference_mode():
        logits = model(**inputs).logits
        generated = model.generate(**inputs, max_new_tokens=1, do_sample=False)
    assert logits.shape[0] == 2 and torch.isfinite(logits[:, -1]).all()
    assert (inputs['attention_mask'][:, -1] == 1).all()  # left padding: answers line up at the end
    assert generated.shape[0] == 2


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    from safetensors.torch import load_file

    a = load_file(build_tiny_model('qwen2_5_vl', tmp_path / 'a', seed=3) / 'model.safetensors')
    b = load_file(build_tiny_model('qwen2_5_vl', tmp_path / 'b', seed=3) / 'model.safetensors')
    c = load_file(build_tiny_model('qwen2_5_vl', tmp_path / 'c', seed=4) / 'model.safetensors')
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_unknown_family_is_refused(tmp_path):
    with pytest.raises(ValueError, match='unknown family'):
        build_tiny_model('no_such_family', tmp_path)


def test_command_line_builds_a_loadable_folder(tmp_path, capsys):
    assert main(['qwen2_5_vl', str(tmp_path / 'cli')]) == 0
    assert str(tmp_path / 'cli') in capsys.readouterr().out
    assert AutoProcessor.from_pretrained(tmp_path / 'cli').tokenizer is not None


def test_trained_bpe_keeps_digits_single_and_learns_words():
    from pyiqa_llmiqa.testing.tiny_models import train_byte_level_bpe

    vocab, merges = train_byte_level_bpe(vocab_size=600, max_corpus_bytes=300_000)
    assert len(vocab) == 600 and merges
    assert not any(ch.isdigit() and len(token) > 1 for token in vocab for ch in token)
    assert 'Ġreturn' in vocab or 'return' in vocab
