"""Every value check of the llmiqa options at its bounds: the value at a bound is accepted, the value
just outside it is an OptionError naming the option, the rule and the value (docs/options.md)."""

import json
import re

import pytest

from pyiqa_llmiqa.config.options import (
    PAPER_MASK_GENERATOR,
    LLMIQAOptions,
    check_segmenter,
    is_owl3,
    mask_generator_settings,
    resolve_options,
)
from pyiqa_llmiqa.errors import OptionError


def refused(message, **options):
    """``options`` are refused with exactly ``message``."""
    with pytest.raises(OptionError, match='^' + re.escape(message) + '$'):
        LLMIQAOptions(**options)


# ---- numeric ranges: [lower, upper] as docs/options.md gives them ----


@pytest.mark.parametrize('value', [0, 0.0, 0.5, 1, 1.0])
def test_global_weight_in_the_closed_unit_interval(value):
    assert LLMIQAOptions(global_weight=value).global_weight == value


@pytest.mark.parametrize('value', [-0.001, 1.001, -1, 2])
def test_global_weight_outside_is_refused(value):
    refused(f"option 'global_weight': must be in [0, 1]; got {value!r}", global_weight=value)


@pytest.mark.parametrize('value', [0, 0.0, 1, 1.0, 0.25])
def test_mask_count_weight_in_the_closed_unit_interval(value):
    assert LLMIQAOptions(mask_count_weight=value).mask_count_weight == value


@pytest.mark.parametrize('value', [-0.001, 1.001])
def test_mask_count_weight_outside_is_refused(value):
    refused(f"option 'mask_count_weight': must be in [0, 1]; got {value!r}", mask_count_weight=value)


@pytest.mark.parametrize('value', [0, 0.0, 0.001, 0.999])
def test_min_region_area_in_zero_to_one_open_above(value):
    assert LLMIQAOptions(min_region_area=value).min_region_area == value


@pytest.mark.parametrize('value', [1, 1.0, -0.001, 1.5])
def test_min_region_area_at_one_or_below_zero_is_refused(value):
    refused(
        f"option 'min_region_area': is a fraction of the image area, in [0, 1); got {value!r}", min_region_area=value
    )


@pytest.mark.parametrize('value', [None, 1, 2, 64])
def test_batch_size_at_least_one_or_null(value):
    assert LLMIQAOptions(batch_size=value).batch_size == value


@pytest.mark.parametrize('value', [0, -1])
def test_batch_size_below_one_is_refused(value):
    refused(
        f"option 'batch_size': must be at least 1, or null for the default of the device; got {value}", batch_size=value
    )


@pytest.mark.parametrize('value', [None, 1, 2, 30])
def test_mask_count_max_at_least_one_or_null(value):
    assert LLMIQAOptions(mask_count_max=value).mask_count_max == value


@pytest.mark.parametrize('value', [0, -3])
def test_mask_count_max_below_one_is_refused(value):
    refused(
        f"option 'mask_count_max': must be a positive mask count, or null to leave the count term off; got {value}",
        mask_count_max=value,
    )


# ---- named values ----


@pytest.mark.parametrize('value', ['greedy', 'expectation'])
def test_score_modes(value):
    assert LLMIQAOptions(score_mode=value).score_mode == value


@pytest.mark.parametrize('value', ['Greedy', 'mean', ''])
def test_other_score_modes_are_refused(value):
    refused(f"option 'score_mode': must be one of greedy, expectation; got {value!r}", score_mode=value)


@pytest.mark.parametrize('value', ['auto', 'bfloat16', 'float16', 'float32'])
def test_dtypes(value):
    assert LLMIQAOptions(dtype=value).dtype == value


@pytest.mark.parametrize('value', ['float64', 'fp16', 'Auto'])
def test_other_dtypes_are_refused(value):
    refused(f"option 'dtype': must be one of auto, bfloat16, float16, float32; got {value!r}", dtype=value)


@pytest.mark.parametrize('value', [None, '4bit', '8bit'])
def test_quantizations(value):
    assert LLMIQAOptions(quantization=value).quantization == value


@pytest.mark.parametrize('value', ['16bit', '4-bit', ''])
def test_other_quantizations_are_refused(value):
    refused(
        f"option 'quantization': must be null or one of 4bit, 8bit (bitsandbytes); got {value!r}", quantization=value
    )


# ---- types: the message names the option and what it accepts ----


@pytest.mark.parametrize(
    'name, value, accepts',
    [
        ('levels', '7', 'int'),
        ('levels', True, 'int'),
        ('batch_size', 1.0, 'int or null'),
        ('mask_count_max', '3', 'int or null'),
        ('global_weight', '0.5', 'float or int'),
        ('complement', 1, 'bool'),
        ('quantization', 4, 'str or null'),
    ],
)
def test_wrong_types_name_the_option_and_the_accepted_types(name, value, accepts):
    refused(f'option {name!r} must be {accepts}; got {value!r} ({type(value).__name__})', **{name: value})


# ---- standard, levels and level descriptions together ----


@pytest.mark.parametrize(
    'standard, levels',
    [('word', 3), ('word', 5), ('word', 7), ('word', 9), ('sentence', 7), ('number', 2), ('number', 9)],
)
def test_defined_standard_and_level_combinations(standard, levels):
    opts = LLMIQAOptions(standard=standard, levels=levels)
    assert (opts.standard, opts.levels) == (standard, levels)


@pytest.mark.parametrize(
    'standard, levels', [('word', 4), ('word', 2), ('sentence', 5), ('number', 1), ('number', 10), ('words', 7)]
)
def test_undefined_combinations_are_option_errors(standard, levels):
    with pytest.raises(OptionError):
        LLMIQAOptions(standard=standard, levels=levels)


def test_own_descriptions_make_any_level_count_valid_for_word_and_sentence():
    four = ['best', 'good', 'poor', 'worst']
    assert LLMIQAOptions(standard='word', levels=4, level_descriptions=four).level_descriptions == four
    assert LLMIQAOptions(standard='sentence', levels=4, level_descriptions=tuple(four)).levels == 4


@pytest.mark.parametrize('count', [3, 5])
def test_descriptions_must_number_the_levels(count):
    with pytest.raises(OptionError):
        LLMIQAOptions(standard='word', levels=4, level_descriptions=['d'] * count)


def test_the_number_standard_takes_no_descriptions():
    with pytest.raises(OptionError, match='the number standard has no level descriptions'):
        LLMIQAOptions(standard='number', levels=3, level_descriptions=['a', 'b', 'c'])


def test_to_dict_gives_descriptions_as_a_list():
    opts = LLMIQAOptions(standard='word', levels=2, level_descriptions=('good', 'bad'))
    assert opts.to_dict()['level_descriptions'] == ['good', 'bad']
    assert LLMIQAOptions().to_dict()['level_descriptions'] is None
    json.dumps(opts.to_dict())  # plain data


# ---- SAM2 generator settings ----


def test_generator_settings_are_table_2_with_the_overrides_merged():
    assert mask_generator_settings() == PAPER_MASK_GENERATOR
    assert mask_generator_settings({}) == PAPER_MASK_GENERATOR
    merged = mask_generator_settings({'pred_iou_thresh': 0.5, 'crop_overlap_ratio': 0.25})
    assert merged == {**PAPER_MASK_GENERATOR, 'pred_iou_thresh': 0.5, 'crop_overlap_ratio': 0.25}
    assert PAPER_MASK_GENERATOR['pred_iou_thresh'] == 0.9  # Table 2 is left as it was


def test_an_unknown_generator_key_names_the_closest_one():
    with pytest.raises(
        OptionError,
        match=r"^unknown key of option 'mask_generator' \(a SAM2AutomaticMaskGenerator "
        r"argument\) 'pred_iou_thres' \(did you mean 'pred_iou_thresh'\?\); "
        r'valid keys: autocast_dtype, box_nms_thresh, ',
    ):
        mask_generator_settings({'pred_iou_thres': 0.5})


@pytest.mark.parametrize(
    'key, value, accepts',
    [
        ('points_per_side', '8', {'int', 'null'}),
        ('use_m2m', 0, {'bool'}),  # 0 == False, but not a bool: it differs from Table 2's value
        ('multimask_output', 'yes', {'bool'}),
        ('pred_iou_thresh', True, {'float', 'int'}),
    ],
)
def test_generator_values_of_the_wrong_type(key, value, accepts):
    # the accepted types are sam2's annotation widened by Table 2's value, so a name may repeat
    # ('bool or bool'): the test pins the set of names, not their count
    with pytest.raises(OptionError) as error:
        mask_generator_settings({key: value})
    found = re.fullmatch(
        rf"option 'mask_generator\.{key}' must be (\w+(?: or \w+)*); "
        rf'got {re.escape(repr(value))} \({type(value).__name__}\)',
        str(error.value),
    )
    assert found, str(error.value)
    assert set(found.group(1).split(' or ')) == accepts


@pytest.mark.parametrize(
    'key, value',
    [
        ('pred_iou_thresh', 1),
        ('crop_n_points_downscale_factor', 2),
        ('crop_n_points_downscale_factor', 1.5),
        ('points_per_side', None),
        ('use_m2m', True),
    ],
)
def test_generator_values_the_annotations_admit(key, value):
    assert mask_generator_settings({key: value})[key] == value


@pytest.mark.parametrize('value', [None, 'bfloat16', 'float16'])
def test_autocast_dtypes(value):
    assert mask_generator_settings({'autocast_dtype': value})['autocast_dtype'] == value


def test_other_autocast_dtypes_are_refused():
    with pytest.raises(
        OptionError,
        match=re.escape("option 'mask_generator.autocast_dtype': must be null, 'bfloat16' or 'float16'; got 'float32'"),
    ):
        mask_generator_settings({'autocast_dtype': 'float32'})


def test_options_hold_the_merged_generator_settings():
    opts = LLMIQAOptions(mask_generator={'points_per_side': 4})
    assert opts.mask_generator == {**PAPER_MASK_GENERATOR, 'points_per_side': 4}


# ---- segmenter: a hub id sam2 knows, or {config, checkpoint} ----


@pytest.mark.parametrize('hub_id', ['facebook/sam2.1-hiera-tiny', 'facebook/sam2-hiera-large'])
def test_known_hub_ids(hub_id):
    check_segmenter(hub_id)
    assert LLMIQAOptions(segmenter=hub_id).segmenter == hub_id


def test_an_unknown_hub_id_names_the_closest_one():
    with pytest.raises(
        OptionError,
        match=r"^option 'segmenter': unknown SAM2 hub id 'facebook/sam2.1-hiera-tiyn' "
        r"\(did you mean 'facebook/sam2.1-hiera-tiny'\?\); sam2 knows \[",
    ):
        check_segmenter('facebook/sam2.1-hiera-tiyn')


def test_a_mapping_with_a_config_and_a_checkpoint(tmp_path):
    check_segmenter({'config': 'sam2.1_hiera_t', 'checkpoint': '/x/sam.pt'})
    check_segmenter({'config': 'configs/sam2.1/sam2.1_hiera_t.yaml', 'checkpoint': tmp_path / 'sam.pt'})
    segmenter = {'config': 'sam2.1_hiera_t', 'checkpoint': '/x/sam.pt'}
    assert LLMIQAOptions(segmenter=segmenter).segmenter == segmenter


@pytest.mark.parametrize(
    'segmenter, message',
    [
        (
            {'config': 'sam2.1_hiera_t', 'checkpoint': '/x.pt', 'device': 'cpu'},
            "unknown key of option 'segmenter' (a mapping) 'device'; valid keys: config, checkpoint",
        ),
        ({'checkpoint': '/x.pt'}, "option 'segmenter': a mapping needs a 'config'"),
        ({'config': '', 'checkpoint': '/x.pt'}, "option 'segmenter': a mapping needs a 'config'"),
        ({'config': 'sam2.1_hiera_t'}, "option 'segmenter': a mapping needs a 'checkpoint'"),
        ({'config': 'sam2.1_hiera_t', 'checkpoint': ''}, "option 'segmenter': a mapping needs a 'checkpoint'"),
        ({'config': 'sam2.1_hiera_t', 'checkpoint': 5}, "option 'segmenter.checkpoint' must be a str; got 5"),
        ({'config': 7, 'checkpoint': '/x.pt'}, "option 'segmenter.config' must be a str; got 7"),
        ({'config': 'sam2.1_hiera_q', 'checkpoint': '/x.pt'}, "option 'segmenter.config': "),
    ],
)
def test_bad_segmenter_mappings(segmenter, message):
    with pytest.raises(OptionError, match='^' + re.escape(message)):
        check_segmenter(segmenter)


def test_a_segmenter_neither_id_nor_mapping():
    with pytest.raises(OptionError, match=r"^option 'segmenter' must be a sam2 hub id or a mapping; got list$"):
        check_segmenter(['sam2.1_hiera_t'])


# ---- mPLUG-Owl3 and resolve_options ----


def test_owl3_is_named_by_its_config_or_its_hub_id(tmp_path):
    (tmp_path / 'config.json').write_text(json.dumps({'model_type': 'mplugowl3'}))
    assert is_owl3(str(tmp_path))
    assert is_owl3('mPLUG/mPLUG-Owl3-7B-240728')
    assert not is_owl3('Qwen/Qwen2.5-VL-7B-Instruct')
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'config.json').write_text(json.dumps({'model_type': 'qwen2_5_vl'}))
    assert not is_owl3(str(other))


def test_what_owl3_cannot_do():
    owl = 'mPLUG/mPLUG-Owl3-7B-240728'
    assert LLMIQAOptions(backbone=owl, model_kwargs={'attn_implementation': 'sdpa'}).backbone == owl
    refused(
        "option 'quantization': not available for the mPLUG-Owl3 backbone; got '4bit'",
        backbone=owl,
        quantization='4bit',
    )
    refused(
        "option 'model_kwargs': the mPLUG-Owl3 backbone takes only attn_implementation; got ['device_map']",
        backbone=owl,
        model_kwargs={'device_map': 'auto', 'attn_implementation': 'sdpa'},
    )
    # the same options are fine for another backbone
    assert LLMIQAOptions(quantization='4bit', model_kwargs={'device_map': 'auto'}).quantization == '4bit'


def test_resolve_options_merges_overrides_over_the_preset():
    preset = {'type': 'LLMIQA', 'levels': 5, 'score_mode': 'expectation'}
    opts = resolve_options(preset, levels=9, complement=False)
    assert (opts.levels, opts.score_mode, opts.complement) == (9, 'expectation', False)
    assert preset == {'type': 'LLMIQA', 'levels': 5, 'score_mode': 'expectation'}  # the preset is left as it was
    assert resolve_options() == LLMIQAOptions()
    assert resolve_options(None, levels=3).levels == 3


def test_resolve_options_names_unknown_options():
    with pytest.raises(
        OptionError,
        match=r"^unknown llmiqa option 'level' \(did you mean 'levels'\?\), 'zzz'; "
        r'valid options: backbone, standard, levels, ',
    ):
        resolve_options({'level': 5}, zzz=1)


def test_owl3_loads_only_with_trust_remote_code():
    from pyiqa_llmiqa.config.options import check_owl3_consent

    owl = 'mPLUG/mPLUG-Owl3-7B-240728'
    with pytest.raises(
        OptionError,
        match=r"^option 'trust_remote_code': the backbone 'mPLUG/mPLUG-Owl3-7B-240728' "
        r'is mPLUG-Owl3, which transformers does not include',
    ):
        check_owl3_consent(owl, trust_remote_code=False)
    assert check_owl3_consent(owl, trust_remote_code=True) is None
    assert check_owl3_consent(LLMIQAOptions().backbone, trust_remote_code=False) is None  # others need no consent


def test_options_of_any_type_take_any_value():
    opts = LLMIQAOptions(model_kwargs={'device_map': {'': 0}, 'max_memory': None})
    assert opts.model_kwargs == {'device_map': {'': 0}, 'max_memory': None}
    refused("option 'model_kwargs' must be dict; got [] (list)", model_kwargs=[])


def test_the_classes_an_annotation_admits():
    # the rule of _classes' docstring: unions flattened, generics by their container, float admits int
    from typing import Any, Dict, List, Optional, Tuple, Union

    from pyiqa_llmiqa.config.options import OPTION_TYPES, _classes

    assert _classes(Any) == (object,)
    assert _classes(float) == (float, int)
    assert _classes(int) == (int,)
    assert _classes(Optional[int]) == (int, type(None))
    assert _classes(Dict[str, Any]) == (dict,)
    assert _classes(Union[List[str], Tuple[str, ...], None]) == (list, tuple, type(None))
    assert _classes(Union[str, Dict[str, str]]) == (str, dict)
    assert _classes(Optional[float]) == (float, int, type(None))
    assert OPTION_TYPES['global_weight'] == (float, int) and OPTION_TYPES['segmenter'] == (str, dict)


def test_table_2_settings_are_not_checked_against_sam2(monkeypatch):
    # the docstring's promise: sam2's generator is looked at only when a setting differs from Table 2
    import pyiqa_llmiqa.config.options as options

    def no_sam2():
        raise AssertionError('sam2 looked at for settings equal to Table 2')

    monkeypatch.setattr(options, '_generator_arg_types', no_sam2)
    assert mask_generator_settings({'points_per_side': 8, 'use_m2m': False}) == PAPER_MASK_GENERATOR
    with pytest.raises(AssertionError):  # an int 0 is not Table 2's bool False
        mask_generator_settings({'use_m2m': 0})
    with pytest.raises(AssertionError):
        mask_generator_settings({'points_per_side': 9})


@pytest.mark.parametrize(
    'key, value, expected',
    [
        ('use_m2m', 0, "option 'mask_generator.use_m2m' must be bool; got 0 (int)"),
        ('points_per_side', 'x', "option 'mask_generator.points_per_side' must be int or null; got 'x' (str)"),
        ('crop_n_points_downscale_factor', 'x', 'must be int or float; got'),
    ],
)
def test_a_generator_type_error_names_each_accepted_type_once(key, value, expected):
    with pytest.raises(OptionError) as error:
        resolve_options({'mask_generator': {key: value}})
    assert expected in str(error.value)


def test_owl3_config_is_read_as_utf8_whatever_the_locale(tmp_path, ascii_locale):
    # model configs are UTF-8 JSON; a non-ASCII field must not break the check on an ASCII locale
    config = {'model_type': 'mplugowl3', 'description': 'mPLUG-Owl3 — 多模态'}
    (tmp_path / 'config.json').write_text(json.dumps(config, ensure_ascii=False), encoding='utf-8')
    assert is_owl3(str(tmp_path))
