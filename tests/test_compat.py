"""common/compat.py, each branch in the install that takes it: CI's lowest install (transformers
before 5.24: ``past_key_values``) and its newest (``cache``)."""

import pytest
import torch
import transformers
from packaging.version import Version
from transformers import AutoModelForImageTextToText

from pyiqa_llmiqa.common.compat import cache_argument, returned_cache

# the release that renamed it, read in the wheels' models/qwen2_5_vl/modeling_qwen2_5_vl.py (5.23.0: past_key_values)
RENAMED = Version(transformers.__version__) >= Version('5.24.0')


@pytest.fixture(scope='module')
def model(tiny_backbone):
    return AutoModelForImageTextToText.from_pretrained(tiny_backbone).eval()


def test_the_cache_argument_is_the_installed_transformers_name(model):
    assert cache_argument(model) == ('cache' if RENAMED else 'past_key_values')


def test_the_returned_cache_holds_the_tokens_of_the_pass(model):
    ids = torch.tensor([[10, 11, 12, 13]])
    with torch.no_grad():
        first = model(input_ids=ids, use_cache=True)
        cache = returned_cache(model, first)
        assert cache.get_seq_length() == 4
        # passed back under that name, it continues the sequence: the same logits as one full pass
        step = model(input_ids=torch.tensor([[14]]), use_cache=True, **{cache_argument(model): cache})
        full = model(input_ids=torch.tensor([[10, 11, 12, 13, 14]]))
    torch.testing.assert_close(step.logits[:, -1], full.logits[:, -1], rtol=1e-4, atol=1e-5)
