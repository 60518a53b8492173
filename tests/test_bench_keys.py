"""bench's result key: every option that can change a score changes it; the others do not.

The options are read from the ``LLMIQAOptions`` dataclass, so a new option fails
``test_every_option_is_classified`` until it is given values here and a side: changes a score or not.
"""

import dataclasses

import pytest
import torch
from conftest import TABLE_2
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pyiqa_llmiqa.bench.metrics import metric_spec
from pyiqa_llmiqa.config.options import LLMIQAOptions

# Where masks are cached, and whether each region's mask is returned beside its score: neither
# changes a score (the cache is keyed by image and SAM2 settings, see test_mask_cache.py).
SCORE_NEUTRAL = {'mask_cache_dir', 'return_masks', 'requests_in_flight', 'request_timeout', 'request_retries'}
# engine openai's options, which need a server to resolve a key: tests/test_openai_engine.py keys them
SERVER_OPTIONS = {'engine', 'server_url', 'api_key_env', 'allow_insecure_http'}

_names = st.text(alphabet='abcdefghijklmnopqrstuvwxyz0123456789-_', min_size=1, max_size=12)
_descriptions = st.lists(
    st.text(alphabet='abcdefghij ', min_size=1, max_size=8).filter(str.strip), min_size=7, max_size=7
)
_small_mapping = st.dictionaries(
    st.sampled_from(['max_pixels', 'attn_implementation', 'revision']),
    st.one_of(st.integers(1, 10**6), _names),
    min_size=1,
    max_size=2,
)

# Valid values of each option (with the preset's other options left as they are).
VALUES = {
    'backbone': _names.map(lambda n: f'owner/{n}'),
    'standard': st.sampled_from(['sentence', 'number']),
    'levels': st.sampled_from([3, 5, 9]),
    'level_descriptions': _descriptions,
    'score_mode': st.just('expectation'),
    'dtype': st.sampled_from(['bfloat16', 'float16', 'float32']),
    'batch_size': st.integers(1, 64),
    'share_prefix': st.just(False),
    'trust_remote_code': st.just(True),
    'quantization': st.sampled_from(['4bit', '8bit']),
    'model_kwargs': _small_mapping,
    'processor_kwargs': _small_mapping,
    'mix_grained': st.just(False),
    # options are checked when resolved: SAM2 hub ids and configs that sam2 knows, generator values of their type
    'segmenter': st.one_of(
        st.sampled_from(
            ['facebook/sam2.1-hiera-tiny', 'facebook/sam2.1-hiera-small', 'facebook/sam2.1-hiera-base-plus']
        ),
        st.builds(
            lambda c, p: {'config': c, 'checkpoint': f'/models/{p}.pt'},
            st.sampled_from(['sam2.1_hiera_t', 'sam2.1_hiera_s', 'sam2.1_hiera_l']),
            _names,
        ),
    ),
    'mask_generator': st.one_of(
        st.fixed_dictionaries(
            {}, optional={'pred_iou_thresh': st.floats(0.01, 0.89), 'stability_score_thresh': st.floats(0.01, 0.79)}
        ).filter(bool),
        st.fixed_dictionaries({'points_per_side': st.integers(1, 7)}),
    ),
    'mask_cache_dir': _names.map(lambda n: f'/tmp/{n}'),
    'min_region_area': st.floats(0.0, 0.5).filter(lambda v: v != 0.001),
    'complement': st.just(False),
    'global_weight': st.floats(0.0, 1.0).filter(lambda v: v != 0.5),
    'mask_count_max': st.integers(1, 100),
    'mask_count_weight': st.floats(0.0, 1.0).filter(lambda v: v != 1 / 3),
    'return_masks': st.just(True),
    # how requests reach a server (engine openai): in the options, but not in the key
    'requests_in_flight': st.integers(1, 64).filter(lambda v: v != 8),
    'request_timeout': st.floats(1.0, 600.0).filter(lambda v: v != 120.0),
    'request_retries': st.integers(0, 10).filter(lambda v: v != 3),
}
OPTIONS = tuple(f.name for f in dataclasses.fields(LLMIQAOptions) if f.name not in SERVER_OPTIONS)
# 'auto' is bfloat16 on a GPU that supports it, else float32 (README, Options)
AUTO_DTYPE = 'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else 'float32'


def _key(augment=None, **overrides):
    return metric_spec('llmiqa', overrides).key(augment or {})


def test_every_option_is_classified():
    assert set(VALUES) | SERVER_OPTIONS == {f.name for f in dataclasses.fields(LLMIQAOptions)}


@pytest.mark.parametrize('name', OPTIONS)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_option_changes_the_key_exactly_when_it_can_change_a_score(name, data):
    value = data.draw(VALUES[name])
    overrides = {name: value}
    if name == 'standard' and value == 'sentence':
        overrides['levels'] = 7  # the paper's sentence standard has 7 levels (the default)
    if name == 'level_descriptions':
        overrides['levels'] = 7
    same_scores = name in SCORE_NEUTRAL or (name == 'dtype' and value == AUTO_DTYPE)
    assert (_key(**overrides) == _key()) is same_scores, (name, value)


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(OPTIONS), data=st.data())
def test_two_different_values_of_a_score_option_give_two_keys(name, data):
    assume(name not in SCORE_NEUTRAL and name != 'dtype')
    first, second = data.draw(VALUES[name]), data.draw(VALUES[name])
    assume(first != second)
    extra = {'levels': 7} if name in ('standard', 'level_descriptions') else {}
    assert _key(**{name: first}, **extra) != _key(**{name: second}, **extra)


# The defaults of the options reference (docs/options.md).
DOCUMENTED_DEFAULTS = {
    'backbone': 'Qwen/Qwen2.5-VL-7B-Instruct',
    'standard': 'word',
    'levels': 7,
    'level_descriptions': None,
    'score_mode': 'greedy',
    'dtype': 'auto',
    'batch_size': None,
    'share_prefix': True,
    'quantization': None,
    'trust_remote_code': False,
    'model_kwargs': {},
    'processor_kwargs': {},
    'mix_grained': True,
    'segmenter': 'facebook/sam2.1-hiera-large',
    'mask_generator': TABLE_2,
    'mask_cache_dir': None,
    'min_region_area': 0.001,
    'complement': True,
    'global_weight': 0.5,
    'mask_count_max': None,
    'mask_count_weight': 1 / 3,
    'return_masks': False,
    'engine': 'transformers',
    'server_url': None,
    'api_key_env': None,
    'allow_insecure_http': False,
    'requests_in_flight': 8,
    'request_timeout': 120.0,
    'request_retries': 3,
}


def test_defaults_are_the_documented_ones():
    assert LLMIQAOptions().to_dict() == DOCUMENTED_DEFAULTS


def test_an_option_set_to_its_default_keeps_the_key():
    defaults = LLMIQAOptions()
    for name in OPTIONS:
        assert _key(**{name: getattr(defaults, name)}) == _key(), name


def test_dtype_auto_and_what_it_resolves_to_share_a_key():
    assert _key(dtype=AUTO_DTYPE) == _key(dtype='auto')
    other = 'float16'
    assert _key(dtype=other) != _key(dtype='auto')


def test_the_data_sets_preprocessing_is_in_the_key():
    assert _key({'resize': 448}) != _key({})
    assert _key({'resize': 448}) != _key({'resize': 512})
    assert _key({'resize': 448}) == _key({'resize': 448})


def test_a_key_is_twelve_hex_digits_and_names_the_metric():
    key = _key()
    assert len(key) == 12 and int(key, 16) >= 0
    assert metric_spec('llmiqa_global', {}).key({}) != key  # mix_grained differs between the presets


def test_pyiqa_metrics_keys_follow_their_options():
    spec = metric_spec('niqe', {})
    changed = dataclasses.replace(spec, options={**spec.options, 'extra': 1})
    assert spec.key({}) != changed.key({})
    assert spec.key({'resize': 448}) != spec.key({})
    assert dataclasses.replace(spec, name='brisque').key({}) != spec.key({})
    # values JSON has no type for are keyed by their text
    from pathlib import Path

    assert dataclasses.replace(spec, options={'p': Path('/x')}).key({}) == dataclasses.replace(
        spec, options={'p': '/x'}
    ).key({})


def test_the_preprocessings_order_does_not_matter():
    assert _key({'resize': 448, 'center_crop': 384}) == _key({'center_crop': 384, 'resize': 448})


def test_the_key_of_a_pyiqa_metric_is_the_sha256_of_what_options_json_records():
    # options.json beside the results says what KEY stands for; the key is the first 12 hex digits
    # of the sha256 of that description as key-sorted JSON (so finished results are found again).
    import hashlib
    import json

    spec = metric_spec('niqe', {})
    described = {'metric': 'niqe', 'options': spec.options, 'augment': {'resize': 448}}
    text = json.dumps(described, sort_keys=True, default=str)
    assert spec.key({'resize': 448}) == hashlib.sha256(text.encode()).hexdigest()[:12]


def test_specs_of_pyiqa_and_llmiqa_metrics():
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    from pyiqa_llmiqa.bench.metrics import metric_specs

    niqe = metric_spec('niqe', {'levels': 5})  # llmiqa overrides do not reach other metrics
    assert (niqe.options, niqe.lower_better, niqe.overrides) == (DEFAULT_CONFIGS['niqe']['metric_opts'], True, {})
    assert not niqe.is_llmiqa
    musiq = metric_spec('musiq', {})
    assert musiq.lower_better is False
    llmiqa = metric_spec('llmiqa', {'levels': 5})
    assert llmiqa.is_llmiqa and llmiqa.lower_better is False and llmiqa.overrides == {'levels': 5}
    assert llmiqa.options == {**LLMIQAOptions(levels=5).to_dict(), 'mix_grained': True}
    assert [s.name for s in metric_specs(['niqe', 'llmiqa', 'niqe'], {})] == ['niqe', 'llmiqa']
    with pytest.raises(ValueError, match=r"^unknown metric 'nique'; did you mean unique, niqe, ilniqe, piqe, liqe\?$"):
        metric_spec('nique', {})
    with pytest.raises(ValueError, match='psnr is a FR metric; bench scores no-reference metrics'):
        metric_spec('psnr', {})
    with pytest.raises(ValueError, match=r"unknown metric 'zzzzzz'; pyiqa.list_models\(\) lists them"):
        metric_spec('zzzzzz', {})
