"""Whole-image scoring: one forward pass, equivalences that hold, fallbacks that are counted."""

import json

import pyiqa
import pytest
import torch
import torchvision.transforms.functional as TF
from transformers import AutoModelForImageTextToText, AutoProcessor

import pyiqa_llmiqa  # noqa: F401  (registers the presets)
from pyiqa_llmiqa.engines.level_tokens import LevelTokenError


def _metric(backbone, **options):
    return pyiqa.create_metric('llmiqa_global', backbone=backbone, device='cpu', **options)


@pytest.fixture(scope='module')
def greedy(digit_backbone):
    return _metric(digit_backbone)


@pytest.fixture(scope='module')
def expectation(digit_backbone):
    return _metric(digit_backbone, score_mode='expectation', batch_size=3)


def _batch(images, size=(64, 80)):
    return torch.stack([TF.to_tensor(image.resize(size[::-1])) for image in images])


def test_scores_are_levels_in_range(greedy, expectation, images):
    batch = _batch(images)
    levels = greedy(batch)
    assert levels.shape == (4,) and levels.dtype == torch.float32
    assert all(float(s).is_integer() and 1 <= s <= 7 for s in levels)
    expected = expectation(batch)
    assert ((expected >= 1) & (expected <= 7)).all()
    assert len(set(expected.tolist())) > 1  # the scores depend on the image


def test_batch_equals_one_at_a_time(expectation, greedy, images):
    net = expectation.net
    together = net(images)  # mixed sizes: padded batches of 3, then 1
    alone = torch.cat([net([image]) for image in images])
    assert torch.allclose(together, alone, atol=1e-4)
    assert torch.equal(greedy.net(images), torch.cat([greedy.net([image]) for image in images]))


def test_path_pil_and_tensor_agree(expectation, images, tmp_path):
    path = tmp_path / 'picture.png'
    images[1].save(path)
    from_path = expectation(str(path))
    from_tensor = expectation(TF.to_tensor(images[1]).unsqueeze(0))
    from_pil = expectation.net([images[1]])
    assert from_path.item() == from_tensor.item() == from_pil.item()


def test_two_runs_agree_exactly(expectation, images):
    assert torch.equal(expectation.net(images), expectation.net(images))


def test_greedy_equals_generate(greedy, digit_backbone, images):
    processor = AutoProcessor.from_pretrained(digit_backbone)
    model = AutoModelForImageTextToText.from_pretrained(digit_backbone).eval()
    for image in images:
        inputs = processor(text=[greedy.net.engine.prompt], images=[[image]], return_tensors='pt')
        answer = model.generate(**inputs, max_new_tokens=1, do_sample=False)[0, -1]
        text = processor.tokenizer.decode([answer])
        assert text.strip() in {str(k) for k in range(1, 8)}, text
        assert greedy.net([image]).item() == float(text)


def test_non_level_answers_fall_back_and_are_counted(tiny_backbone, images):
    metric = _metric(tiny_backbone)
    scores, assessments = metric.net(images, return_assessments=True)
    assert metric.net.fallback_count == len(images)  # this random model never answers a digit
    assert [a.fallbacks for a in assessments] == [1, 1, 1, 1]
    assert all(float(s).is_integer() and 1 <= s <= 7 for s in scores)


def test_prompt_uses_the_models_chat_template(greedy):
    prompt = greedy.net.engine.prompt
    assert prompt.startswith('<|im_start|>system\nYou are a helpful assistant to help me evaluate')
    assert '<|vision_start|><|image_pad|><|vision_end|>please evaluate the quality' in prompt
    assert prompt.endswith('<|im_start|>assistant\n')


def test_tokenizer_that_splits_a_level_fails_at_load_time(tiny_backbone, tmp_path):
    from tokenizers import normalizers

    processor = AutoProcessor.from_pretrained(tiny_backbone)
    processor.tokenizer.backend_tokenizer.normalizer = normalizers.Replace('7', '77')
    AutoModelForImageTextToText.from_pretrained(tiny_backbone).save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    # Load tokenizer.json as saved (Qwen2Tokenizer would rebuild its own normalizer).
    config_path = tmp_path / 'tokenizer_config.json'
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, 'tokenizer_class': 'PreTrainedTokenizerFast'}))
    with pytest.raises(LevelTokenError, match="splits the level '7' into 2 tokens"):
        _metric(str(tmp_path))
    _metric(str(tmp_path), levels=5, standard='word')  # levels 1..5 are single tokens


def test_missing_backbone_offline_names_the_fix(monkeypatch):
    """The loader's own message, for a model the checks before loading took as cached (a partial download)."""
    from pyiqa_llmiqa.errors import BackboneLoadError
    from pyiqa_llmiqa.metric import preflight

    monkeypatch.setattr(preflight, '_cached', lambda repo, filename: True)
    with pytest.raises(BackboneLoadError, match='HF_HUB_OFFLINE=1 is set and .* is not in the Hugging Face cache'):
        _metric('nobody/no-such-model')


def test_missing_local_folder_is_named(tmp_path):
    from pyiqa_llmiqa.errors import BackboneLoadError

    missing = tmp_path / 'no-such-folder'
    with pytest.raises(BackboneLoadError, match=f"there is no folder '{missing}'"):
        _metric(str(missing))
