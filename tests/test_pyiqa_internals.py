"""The pyiqa internals the plugin relies on: present in the installed pyiqa, and a pyiqa that lacks or
reshapes one gives one error naming the plugin, the pyiqa version and every piece that differs."""

from importlib.metadata import version

import pytest

from pyiqa_llmiqa.errors import LLMIQAError, PyiqaInternalsError
from pyiqa_llmiqa.pyiqa_internals import check_pyiqa_internals, internals_problems


def test_the_installed_pyiqa_has_every_internal_the_plugin_uses():
    assert internals_problems() == []
    check_pyiqa_internals()


def test_a_missing_method_is_one_error_naming_plugin_version_and_piece(monkeypatch):
    from pyiqa.models.inference_model import InferenceModel

    monkeypatch.delattr(InferenceModel, '_to_batched_tensor')
    with pytest.raises(PyiqaInternalsError) as raised:
        check_pyiqa_internals()
    message = str(raised.value)
    assert message.startswith(f'pyiqa-llmiqa cannot work with pyiqa {version("pyiqa")} ')
    assert 'pyiqa.models.inference_model.InferenceModel._to_batched_tensor is missing' in message
    assert isinstance(raised.value, LLMIQAError)


def test_every_difference_is_named_in_the_one_error(monkeypatch):
    import pyiqa.data.dataset_api
    from pyiqa.utils.registry import ARCH_REGISTRY

    monkeypatch.setattr(ARCH_REGISTRY, 'register_lazy', lambda name, import_path: None)
    monkeypatch.setattr(pyiqa.data.dataset_api, 'dataset_download_name', ['csiq'])
    problems = internals_problems()
    assert problems == [
        'pyiqa.utils.registry.ARCH_REGISTRY.register_lazy cannot be called as '
        'register_lazy(name, import_path, override=)',
        'pyiqa.data.dataset_api.dataset_download_name is a list, expected a dict',
    ]


def test_a_forward_that_no_longer_reaches_the_wrapped_reader_is_named(monkeypatch):
    from pyiqa.models.inference_model import InferenceModel

    def _prepare_inputs(self, target, ref=None):  # reads files some other way
        return target, ref

    monkeypatch.setattr(InferenceModel, '_prepare_inputs', _prepare_inputs)
    assert internals_problems() == [
        'pyiqa.models.inference_model.InferenceModel._prepare_inputs no longer uses _to_batched_tensor, is_valid_input'
    ]


def test_pieces_read_from_source_are_checked_in_a_fake_pyiqa(monkeypatch, tmp_path):
    """fit_curve and the data set's paths_mos are read from pyiqa's source (importing them costs
    scipy.stats and pandas): a fake pyiqa tree with a reshaped fit_curve and no paths_mos."""
    import pyiqa

    (tmp_path / 'metrics').mkdir()
    (tmp_path / 'data').mkdir()
    (tmp_path / 'metrics' / 'correlation_coefficient.py').write_text(
        'def fit_curve(x, y):\n    pass\n\n\ndef calculate_plcc(x, y, fit_scale=None):\n    pass\n'
    )
    (tmp_path / 'data' / 'base_iqa_dataset.py').write_text(
        'class BaseIQADataset:\n    def init_path_mos(self, opt):\n        self.items = []\n'
    )
    monkeypatch.setattr(pyiqa, '__file__', str(tmp_path / '__init__.py'))
    assert internals_problems() == [
        'pyiqa.data.base_iqa_dataset.BaseIQADataset.init_path_mos no longer uses paths_mos',
        'pyiqa.metrics.correlation_coefficient.fit_curve cannot be called as fit_curve(x, y, curve_type)',
    ]
    (tmp_path / 'metrics' / 'correlation_coefficient.py').unlink()
    assert 'pyiqa.metrics.correlation_coefficient.fit_curve is missing' in internals_problems()


def test_registration_names_a_missing_pyiqa_internal(monkeypatch):
    from pyiqa.models.inference_model import InferenceModel

    from pyiqa_llmiqa.pyiqa_plugin import register

    monkeypatch.delattr(InferenceModel, 'is_valid_input')
    with pytest.raises(PyiqaInternalsError, match='InferenceModel.is_valid_input is missing'):
        register()
