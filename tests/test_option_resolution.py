"""Options are checked when they are resolved, before any model loads, and say what will run.

Every test that expects an early refusal points ``backbone`` at a folder that does not exist: had
the backbone been loaded first, the error would be a BackboneLoadError about that folder.
"""

import json

import pyiqa
import pytest
import torch
from conftest import TABLE_2
from pyiqa.default_model_configs import DEFAULT_CONFIGS

import pyiqa_llmiqa
from pyiqa_llmiqa.bench.metrics import metric_specs
from pyiqa_llmiqa.common.atomic_write import atomic_write
from pyiqa_llmiqa.config.options import mask_generator_settings, resolve_options
from pyiqa_llmiqa.engines.base import Engine
from pyiqa_llmiqa.engines.batching import BatchOutOfMemoryError
from pyiqa_llmiqa.errors import (
    BackboneLoadError,
    CheckpointNotFoundError,
    ImageLoadError,
    InputError,
    LLMIQAError,
    OptionError,
    SegmenterLoadError,
)


@pytest.fixture
def no_backbone(tmp_path):
    return str(tmp_path / 'no' / 'such' / 'backbone')


def test_the_missing_folder_is_a_backbone_load_error_when_options_are_fine(no_backbone):
    """The control for the tests below: with valid options, the missing folder is what fails."""
    with pytest.raises(BackboneLoadError, match='there is no folder'):
        pyiqa.create_metric('llmiqa_global', backbone=no_backbone, device='cpu')


@pytest.mark.parametrize(
    'overrides, expected',
    [
        (
            {'mask_generator': {'points_per_sid': 4}},
            r"unknown key of option 'mask_generator'.*'points_per_sid' "
            r"\(did you mean 'points_per_side'\?\); valid keys: .*"
            r'box_nms_thresh',
        ),
        ({'mask_generator': {'pred_iou_thresh': 'high'}}, r"option 'mask_generator.pred_iou_thresh' must be float"),
        ({'mask_generator': {'use_m2m': 1}}, r"option 'mask_generator.use_m2m' must be bool"),
        ({'mask_generator': {'autocast_dtype': 'int8'}}, r"option 'mask_generator.autocast_dtype': must be null"),
        (
            {'segmenter': {'config': 'sam2.1_hiera_t', 'checkpont': 'x.pt'}},
            r"unknown key of option 'segmenter'.*'checkpont' "
            r"\(did you mean 'checkpoint'\?\); valid keys: config, checkpoint",
        ),
        ({'segmenter': {'config': 'sam2.1_hiera_t'}}, r"option 'segmenter': a mapping needs a 'checkpoint'"),
        (
            {'segmenter': {'config': 'hiera_tiniest', 'checkpoint': 'x.pt'}},
            r"option 'segmenter.config': unknown SAM2 config 'hiera_tiniest'",
        ),
        (
            {'segmenter': 'facebook/sam3'},
            r"option 'segmenter': unknown SAM2 hub id 'facebook/sam3'.*facebook/sam2.1-hiera-large",
        ),
        (
            {'segmenter': 'facebook/sam2.1-hiera-larg'},
            r"unknown SAM2 hub id 'facebook/sam2.1-hiera-larg' \(did you mean 'facebook/sam2.1-hiera-large'\?\)",
        ),
    ],
)
def test_sam2_options_fail_at_create_metric_before_the_backbone_loads(no_backbone, overrides, expected):
    with pytest.raises(OptionError, match=expected):
        pyiqa.create_metric('llmiqa', backbone=no_backbone, device='cpu', **overrides)


@pytest.mark.parametrize(
    'overrides, word',
    [({'quantization': '4bit'}, 'quantization'), ({'model_kwargs': {'device_map': 'auto'}}, 'model_kwargs')],
)
def test_owl3_limits_are_refused_when_options_are_resolved(overrides, word):
    with pytest.raises(OptionError, match=f"option '{word}'.*mPLUG-Owl3"):
        pyiqa_llmiqa.resolved_options('llmiqa_owl3', trust_remote_code=True, **overrides)


def test_resolved_options_show_the_paper_sam2_settings():
    assert pyiqa_llmiqa.resolved_options('llmiqa')['mask_generator'] == TABLE_2
    assert DEFAULT_CONFIGS['llmiqa']['metric_opts']['mask_generator'] == TABLE_2
    assert DEFAULT_CONFIGS['llmiqa']['metric_opts']['segmenter'] == 'facebook/sam2.1-hiera-large'


def test_an_override_is_merged_over_table_2_and_shown_whole():
    resolved = pyiqa_llmiqa.resolved_options(
        'llmiqa', mask_generator={'points_per_side': 16, 'autocast_dtype': 'bfloat16'}
    )
    assert resolved['mask_generator'] == {**TABLE_2, 'points_per_side': 16, 'autocast_dtype': 'bfloat16'}
    (spec,) = metric_specs(['llmiqa'], {'mask_generator': {'points_per_side': 16}})
    assert spec.options['mask_generator'] == {**TABLE_2, 'points_per_side': 16}  # bench's options.json


def test_resolving_resolved_options_changes_nothing():
    once = resolve_options({'mix_grained': True}, mask_generator={'pred_iou_thresh': 0.5}, levels=5)
    assert resolve_options(once.to_dict()) == once


def test_the_mask_cache_key_depends_on_the_sam2_settings_only():
    """SAM2Segmenter keys its cache on mask_generator_settings(options.mask_generator): resolving
    (which writes Table 2 into the options) must not change it."""
    shown = pyiqa_llmiqa.resolved_options('llmiqa')['mask_generator']
    assert mask_generator_settings(shown) == mask_generator_settings({}) == TABLE_2
    assert mask_generator_settings({'pred_iou_thresh': 0.5}) != mask_generator_settings({})


def test_a_built_metric_runs_sam2_with_the_settings_its_options_show(digit_backbone, sam2_checkpoint):
    metric = pyiqa.create_metric(
        'llmiqa',
        backbone=digit_backbone,
        device='cpu',
        mask_generator={'points_per_side': 2},
        segmenter={'config': 'sam2.1_hiera_t', 'checkpoint': str(sam2_checkpoint)},
    )
    expected = {**TABLE_2, 'points_per_side': 2}
    assert metric.net.options.mask_generator == expected
    assert metric.net.segmenter.generator_kwargs == expected
    assert metric.net.segmenter.settings['mask_generator'] == expected  # the mask-cache key
    assert metric.net.segmenter.generator.points_per_batch == 128
    assert isinstance(metric.net.engine, Engine)


@pytest.mark.parametrize(
    'error, builtin',
    [
        (OptionError, ValueError),
        (InputError, ValueError),
        (ImageLoadError, ValueError),
        (BackboneLoadError, RuntimeError),
        (SegmenterLoadError, RuntimeError),
        (CheckpointNotFoundError, FileNotFoundError),
        (BatchOutOfMemoryError, torch.OutOfMemoryError),
    ],
)
def test_every_error_has_the_package_base_and_keeps_its_builtin_one(error, builtin):
    assert issubclass(error, LLMIQAError) and issubclass(error, builtin)


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / 'results.json'
    target.write_text('old')
    with pytest.raises(RuntimeError, match='cut'):
        with atomic_write(target) as handle:
            handle.write('half of the new')
            raise RuntimeError('cut')
    assert target.read_text() == 'old' and [p.name for p in tmp_path.iterdir()] == ['results.json']
    with atomic_write(target) as handle:
        json.dump({'new': 1}, handle)
    assert json.loads(target.read_text()) == {'new': 1} and len(list(tmp_path.iterdir())) == 1


def test_every_error_class_of_the_package_derives_from_the_base():
    """Each exception class the package defines (its test helpers and warning classes aside), found by walking
    its modules."""
    import importlib
    import inspect
    import pkgutil

    defined = []
    for module_info in pkgutil.walk_packages(pyiqa_llmiqa.__path__, 'pyiqa_llmiqa.'):
        if '.testing' in module_info.name:
            continue
        module = importlib.import_module(module_info.name)
        defined += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, BaseException) and not issubclass(cls, Warning) and cls.__module__ == module.__name__
        ]
    assert len(defined) >= 12
    assert [cls.__qualname__ for cls in defined if not issubclass(cls, LLMIQAError)] == []
