"""Every supported family loads through the user's path and scores, in both score modes."""

import numpy as np
import pyiqa
import pytest
import torch
from PIL import Image

import pyiqa_llmiqa  # noqa: F401
from pyiqa_llmiqa.engines import transformers_engine as backbone_module
from pyiqa_llmiqa.engines.batching import run_in_batches
from pyiqa_llmiqa.testing.tiny_models import FAMILIES, build_tiny_model


@pytest.fixture(scope='module')
def family_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp('families')
    return {family: str(build_tiny_model(family, root / family)) for family in FAMILIES}


@pytest.fixture(scope='module')
def crops():
    rng = np.random.default_rng(5)
    return [Image.fromarray(rng.integers(0, 256, (40 + 16 * i, 96 - 8 * i, 3), dtype=np.uint8)) for i in range(4)]


def _metric(folder, **options):
    return pyiqa.create_metric('llmiqa_global', backbone=folder, device='cpu', **options)


@pytest.mark.parametrize('family', FAMILIES)
def test_family_scores_in_both_modes(family, family_folders, crops):
    greedy = _metric(family_folders[family])
    expectation = _metric(family_folders[family], score_mode='expectation', batch_size=3)
    levels = greedy.net(crops)
    assert all(float(s).is_integer() and 1 <= s <= 7 for s in levels)
    expected = expectation.net(crops)
    assert ((expected >= 1) & (expected <= 7)).all()
    # the standard reaches the model: as the system message, or at the start of the user turn
    assert 'The quality standard is listed as follows: 7: Perfect, 6: Excellent' in greedy.net.engine.prompt
    # batching does not change a score
    alone = torch.cat([expectation.net([crop]) for crop in crops])
    assert torch.allclose(expected, alone, atol=1e-4)


@pytest.mark.parametrize('family', FAMILIES)
def test_shared_prefix_equals_the_plain_forward(family, family_folders, crops):
    fast = _metric(family_folders[family], batch_size=3).net.engine
    plain = _metric(family_folders[family], batch_size=3, share_prefix=False).net.engine
    assert fast.shared_prefix is not None and plain.shared_prefix is None
    prompt = _metric(family_folders[family]).net.engine.prompt
    fast_logits = run_in_batches(lambda batch: fast.next_token_logits(batch, prompt), crops, 3)
    plain_logits = run_in_batches(lambda batch: plain.next_token_logits(batch, prompt), crops, 3)
    scale = plain_logits.abs().max()
    assert torch.allclose(fast_logits, plain_logits, atol=1e-5 * max(1.0, float(scale)))
    # the prefix is computed once and reused across batches
    assert len(fast.shared_prefix._prefixes) == 1


def test_a_template_that_writes_bos_gets_only_one(family_folders, crops):
    net = _metric(family_folders['gemma3']).net
    ids = net.engine.encode(crops[:1], net.engine.prompt)['input_ids'][0].tolist()
    bos = net.engine.tokenizer.bos_token_id
    assert ids[0] == bos and ids.count(bos) == 1


@pytest.mark.parametrize('family', ['smolvlm', 'idefics3', 'janus'])
def test_answer_follows_the_space_the_model_would_write(family, family_folders):
    prompt = _metric(family_folders[family]).net.engine.prompt
    assert prompt.endswith(': ')  # "Assistant: ", "<|Assistant|>: "


class _Captured(Exception):
    pass


def _capture_from_pretrained(monkeypatch):
    """Record the keyword arguments of the model's from_pretrained, then stop."""
    from transformers import AutoModelForImageTextToText

    seen = {}

    def fake(name, **kwargs):
        seen.update(kwargs, name=name)
        raise _Captured

    monkeypatch.setattr(AutoModelForImageTextToText, 'from_pretrained', fake)
    return seen


def test_quantization_asks_bitsandbytes(monkeypatch, family_folders):
    seen = _capture_from_pretrained(monkeypatch)
    with pytest.raises(_Captured):
        _metric(family_folders['qwen2_5_vl'], quantization='4bit', dtype='bfloat16')
    config = seen['quantization_config']
    assert config.load_in_4bit and config.bnb_4bit_quant_type == 'nf4'
    assert config.bnb_4bit_compute_dtype == torch.bfloat16
    assert seen['device_map'] == 'auto' and seen['trust_remote_code'] is False


def test_model_kwargs_reach_from_pretrained(monkeypatch, family_folders):
    seen = _capture_from_pretrained(monkeypatch)
    with pytest.raises(_Captured):
        _metric(family_folders['qwen2_5_vl'], model_kwargs={'device_map': 'auto', 'attn_implementation': 'eager'})
    assert seen['device_map'] == 'auto' and seen['attn_implementation'] == 'eager'
    assert seen['dtype'] == torch.float32  # auto on a machine without a GPU


def test_a_placed_model_is_left_where_it_is(family_folders):
    net = _metric(family_folders['qwen2_5_vl'], model_kwargs={'device_map': 'cpu'}).net
    assert 'model' not in dict(net.engine.named_children())  # .to() would undo the placement
    assert net([Image.new('RGB', (32, 32))]).shape == (1,)


def test_dtype_option(family_folders):
    net = _metric(family_folders['qwen2_5_vl'], dtype='bfloat16').net
    assert net.engine.model.dtype == torch.bfloat16
    assert net([Image.new('RGB', (40, 30), (80, 90, 100))]).shape == (1,)
    assert backbone_module.resolve_dtype('float16') == torch.float16
