"""Property-based tests (hypothesis): option parsing, fusion and score reading hold for any input."""

import datetime
import math

import pytest
import torch
import yaml
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from pyiqa_llmiqa.cli.metric_args import parse_assignments
from pyiqa_llmiqa.config.options import OPTION_NAMES, OPTION_TYPES, PAPER_MASK_GENERATOR, resolve_options
from pyiqa_llmiqa.engines.level_tokens import answers_from_logits
from pyiqa_llmiqa.errors import OptionError
from pyiqa_llmiqa.scoring.fusion import fuse, local_score
from pyiqa_llmiqa.scoring.reading import read_levels

# --- option parsing ---------------------------------------------------------

names = st.from_regex(r'[a-z_][a-z0-9_]{0,12}', fullmatch=True)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3), max_leaves=6
)
PLAIN = (type(None), bool, int, float, str, bytes, list, dict, set, datetime.date, datetime.datetime)


def _yaml(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=math.inf).removesuffix('\n...\n').strip()


@settings(max_examples=200, deadline=None)
@given(path=st.lists(names, min_size=1, max_size=3), value=values)
def test_opt_values_round_trip_through_yaml(path, value):
    parsed = parse_assignments([f'{".".join(path)}={_yaml(value)}'])
    for key in path[:-1]:
        parsed = parsed[key]
    assert parsed == {path[-1]: value}


def _plain(value) -> bool:
    if isinstance(value, (list, set)):
        return all(map(_plain, value))
    if isinstance(value, dict):
        return all(map(_plain, value)) and all(map(_plain, value.values()))
    return isinstance(value, PLAIN)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=40))
def test_any_opt_text_is_plain_data_or_a_value_error(text):
    try:
        parsed = parse_assignments([f'key={text}'])
    except ValueError as error:
        assert '--opt' in str(error)
    else:
        assert _plain(parsed['key'])  # YAML read safely: no Python objects, nothing run


@settings(max_examples=50, deadline=None)
@given(path=st.lists(names, min_size=1, max_size=2), first=scalars, last=scalars)
def test_the_last_opt_for_a_key_wins(path, first, last):
    key = '.'.join(path)
    parsed = parse_assignments([f'{key}={_yaml(first)}', f'{key}={_yaml(last)}'])
    for part in path[:-1]:
        parsed = parsed[part]
    assert parsed[path[-1]] == last


@settings(max_examples=100, deadline=None)
@given(name=names)
def test_unknown_option_names_are_named_with_the_valid_ones(name):
    assume(name not in OPTION_NAMES)
    with pytest.raises(OptionError) as error:
        resolve_options(**{name: 1})
    assert repr(name) in str(error.value) and 'valid options: backbone' in str(error.value)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(OPTION_TYPES)), value=values)
@example(name='mask_generator', value={})
def test_any_value_of_any_option_is_accepted_or_an_option_error(name, value):
    types = OPTION_TYPES[name]
    wrong_type = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
    try:
        resolved = resolve_options(**{name: value})
    except OptionError as error:
        assert name in str(error)
    else:
        assert not wrong_type
        expected = list(value) if name == 'level_descriptions' and value else value
        if name == 'mask_generator':  # the settings SAM2 runs with: the paper's, then the given ones
            expected = {**PAPER_MASK_GENERATOR, **value}
        assert resolved.to_dict()[name] == expected


# --- fusion -----------------------------------------------------------------

scores = st.floats(1, 9, allow_nan=False)
areas = st.integers(1, 10**7)
regions = st.lists(st.tuples(scores, areas), min_size=1, max_size=12)
weights = st.floats(0, 1)


@settings(max_examples=150, deadline=None)
@given(global_score=scores, regions=regions, w=weights)
def test_fused_score_lies_within_its_inputs(global_score, regions, w):
    region_scores, region_areas = zip(*regions)
    final, local = fuse(global_score, region_scores, region_areas, w)
    assert min(region_scores) - 1e-9 <= local <= max(region_scores) + 1e-9
    assert min(global_score, *region_scores) - 1e-9 <= final <= max(global_score, *region_scores) + 1e-9


@settings(max_examples=200, deadline=None)
@given(
    global_score=scores,
    regions=regions,
    w=weights,
    n_masks=st.integers(0, 100),
    c_max=st.integers(1, 50),
    v=weights,
    levels=st.integers(2, 9),
)
def test_count_term_keeps_the_score_within_its_inputs(global_score, regions, w, n_masks, c_max, v, levels):
    region_scores, region_areas = zip(*regions)
    final, _ = fuse(global_score, region_scores, region_areas, w, n_masks, levels, c_max, v)
    seg = min(n_masks, c_max) * levels / c_max
    inputs = (global_score, *region_scores, seg)
    assert min(inputs) - 1e-9 <= final <= max(inputs) + 1e-9


@settings(max_examples=200, deadline=None)
@given(regions=regions, factor=st.integers(1, 1000), data=st.data())
def test_local_score_depends_on_area_shares_only(regions, factor, data):
    region_scores, region_areas = zip(*regions)
    base = local_score(region_scores, region_areas)
    assert local_score(region_scores, [a * factor for a in region_areas]) == pytest.approx(base)
    order = data.draw(st.permutations(range(len(regions))))
    assert local_score([region_scores[i] for i in order], [region_areas[i] for i in order]) == pytest.approx(base)
    # a region counted twice weighs as one of twice its area
    doubled = local_score([*region_scores, region_scores[0]], [*region_areas, region_areas[0]])
    assert doubled == pytest.approx(local_score(region_scores, [2 * region_areas[0], *region_areas[1:]]))


@settings(max_examples=100, deadline=None)
@given(global_score=scores, regions=regions)
def test_global_weight_ends_give_global_or_local(global_score, regions):
    region_scores, region_areas = zip(*regions)
    assert fuse(global_score, region_scores, region_areas, 1.0)[0] == pytest.approx(global_score)
    final, local = fuse(global_score, region_scores, region_areas, 0.0)
    assert final == pytest.approx(local)
    assert fuse(global_score, [], [], 0.3) == (global_score, None)


# --- score reading -----------------------------------------------------------

VOCAB = 40


@st.composite
def readings(draw):
    """(logits (N, VOCAB), level ids): K levels on distinct tokens, some spelled twice."""
    levels = draw(st.integers(2, 9))
    tokens = draw(st.lists(st.integers(0, VOCAB - 1), min_size=levels * 2, max_size=levels * 2, unique=True))
    level_ids = [[tokens[k]] + ([tokens[levels + k]] if draw(st.booleans()) else []) for k in range(levels)]
    rows = draw(st.integers(1, 4))
    flat = draw(st.lists(st.floats(-30, 30, allow_nan=False), min_size=rows * VOCAB, max_size=rows * VOCAB))
    return torch.tensor(flat).reshape(rows, VOCAB), level_ids


@settings(max_examples=150, deadline=None)
@given(reading=readings(), mode=st.sampled_from(['greedy', 'expectation']))
def test_scores_lie_in_one_to_k(reading, mode):
    logits, level_ids = reading
    result = read_levels(answers_from_logits(logits, level_ids), mode).scores
    assert ((result >= 1) & (result <= len(level_ids))).all()
    if mode == 'greedy':
        assert all(float(s).is_integer() for s in result)


@settings(max_examples=150, deadline=None)
@given(reading=readings(), data=st.data())
def test_greedy_is_the_argmax_when_the_argmax_is_a_level_token(reading, data):
    logits, level_ids = reading
    level = data.draw(st.integers(1, len(level_ids)))
    token = data.draw(st.sampled_from(level_ids[level - 1]))
    logits[:, token] = logits.max() + 1.0
    result = read_levels(answers_from_logits(logits, level_ids), 'greedy')
    assert result.scores.tolist() == [float(level)] * len(logits) and not result.fallback.any()


@settings(max_examples=150, deadline=None)
@given(reading=readings())
def test_greedy_falls_back_only_when_the_argmax_is_not_a_level(reading):
    logits, level_ids = reading
    level_tokens = {t for variants in level_ids for t in variants}
    result = read_levels(answers_from_logits(logits, level_ids), 'greedy')
    expected = [int(top) not in level_tokens for top in logits.argmax(dim=-1)]
    assert result.fallback.tolist() == expected


@settings(max_examples=150, deadline=None)
@given(reading=readings(), shift=st.floats(0, 5))
def test_expectation_rises_as_logits_shift_toward_higher_levels(reading, shift):
    logits, level_ids = reading
    shifted = logits.clone()
    for level, variants in enumerate(level_ids, start=1):
        shifted[:, variants] += shift * level  # higher levels gain more
    before = read_levels(answers_from_logits(logits, level_ids), 'expectation').scores
    after = read_levels(answers_from_logits(shifted, level_ids), 'expectation').scores
    assert (after >= before - 1e-5).all()
