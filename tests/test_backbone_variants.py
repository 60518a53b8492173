"""Two traits of real families that the Qwen tiny models lack, each on a tiny Qwen2.5-VL variant:
a chat template with no system role (the standard goes before the question in the user's turn),
and a tokenizer with distinct " 1".." 9" tokens (both spellings count for a level). The expected
scores come from a second route: the hand-written prompt through transformers directly."""

import pyiqa
import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

import pyiqa_llmiqa  # noqa: F401  (registers the presets)
from pyiqa_llmiqa.config.standards import build_standard
from pyiqa_llmiqa.engines.transformers_engine import render_prompt
from pyiqa_llmiqa.testing.tiny_models import build_tiny_model

STANDARD = build_standard('word', 7)
USER_TURN = '<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>'
ANSWER = '<|im_end|>\n<|im_start|>assistant\n'


@pytest.fixture(scope='module')
def no_system(tmp_path_factory):
    return str(build_tiny_model('qwen2_5_vl_no_system', tmp_path_factory.mktemp('no_system')))


@pytest.fixture(scope='module')
def spaced(tmp_path_factory):
    return str(build_tiny_model('qwen2_5_vl_spaced_digits', tmp_path_factory.mktemp('spaced')))


@pytest.fixture(scope='module')
def picture():
    return Image.new('RGB', (64, 48), (120, 60, 30))


def _direct_logits(folder, prompt, image):
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    inputs = processor(text=[prompt], images=[[image]], return_tensors='pt')
    with torch.no_grad():
        return model(**inputs).logits[0, -1].float(), processor.tokenizer


def test_a_template_that_refuses_the_system_role_gets_the_standard_before_the_question(no_system):
    processor = AutoProcessor.from_pretrained(no_system)
    with pytest.raises(Exception, match='System role not supported'):
        processor.apply_chat_template([{'role': 'system', 'content': 'x'}], tokenize=False)
    expected = f'{USER_TURN}{STANDARD.system_prompt}\n{STANDARD.question}{ANSWER}'
    assert render_prompt(processor, STANDARD.system_prompt, STANDARD.question) == expected


def test_a_template_that_drops_the_system_message_gets_the_same(no_system):
    processor = AutoProcessor.from_pretrained(no_system)
    # the same format, but a system message is silently left out instead of refused
    processor.chat_template = processor.chat_template.replace(
        "{{ raise_exception('System role not supported') }}", ''
    ).replace('{% for message in messages %}', "{% for message in messages if message['role'] != 'system' %}")
    assert 'SYSTEM' not in processor.apply_chat_template(
        [{'role': 'system', 'content': 'SYSTEM'}, {'role': 'user', 'content': 'hi'}], tokenize=False
    )
    expected = f'{USER_TURN}{STANDARD.system_prompt}\n{STANDARD.question}{ANSWER}'
    assert render_prompt(processor, STANDARD.system_prompt, STANDARD.question) == expected


def test_no_system_model_scores_what_the_hand_written_prompt_gives(no_system, picture):
    metric = pyiqa.create_metric(
        'llmiqa_global', backbone=no_system, device='cpu', score_mode='expectation', share_prefix=False
    )
    prompt = f'{USER_TURN}{STANDARD.system_prompt}\n{STANDARD.question}{ANSWER}'
    logits, tokenizer = _direct_logits(no_system, prompt, picture)
    ids = [tokenizer.convert_tokens_to_ids(str(level)) for level in range(1, 8)]
    expected = (logits[ids].softmax(0) * torch.arange(1, 8)).sum().item()
    assert metric.net.assess([picture])[0].score == pytest.approx(expected, abs=1e-4)


def test_spaced_digit_tokens_add_to_their_level(spaced, picture, monkeypatch):
    metric = pyiqa.create_metric(
        'llmiqa_global', backbone=spaced, device='cpu', score_mode='expectation', share_prefix=False
    )
    prompt = f'<|im_start|>system\n{STANDARD.system_prompt}<|im_end|>\n{USER_TURN}{STANDARD.question}{ANSWER}'
    assert metric.net.engine.prompt == prompt
    logits, tokenizer = _direct_logits(spaced, prompt, picture)
    added = tokenizer.get_added_vocab()
    vocab = tokenizer.get_vocab()
    # each level's probability: both its tokens, "d" and " d", together
    mass = torch.stack([logits[vocab[str(d)]].exp() + logits[added[f' {d}']].exp() for d in range(1, 8)])
    expected = ((mass / mass.sum()) * torch.arange(1, 8)).sum().item()
    assert metric.net.engine.level_ids == [[vocab[str(d)], added[f' {d}']] for d in range(1, 8)]

    def no_generate(*args, **kwargs):
        raise AssertionError('a score is read from one forward pass, never generate()')

    monkeypatch.setattr(type(metric.net.engine.model), 'generate', no_generate)
    assert metric.net.assess([picture])[0].score == pytest.approx(expected, abs=1e-4)
