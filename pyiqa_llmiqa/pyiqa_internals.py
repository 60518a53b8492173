"""The pyiqa internals the plugin relies on, checked against the installed pyiqa in one place.

pyiqa has no plugin API: the plugin adds entries to ``DEFAULT_CONFIGS``, registers its arch, wraps
two ``InferenceModel`` methods and reuses pyiqa's data sets and curve fit, none of them promised to
stay. A pyiqa release that renames or reshapes one would fail deep inside a metric or a benchmark;
:func:`check_pyiqa_internals` (run when the plugin registers) instead raises one
``PyiqaInternalsError`` that names the plugin, the pyiqa version and every piece that differs.

Each piece is checked the way the plugin uses it: the call it makes must bind to the signature, a
value must have its type, and where the plugin relies on what pyiqa's own code calls (its
``forward`` reaching the wrapped ``_to_batched_tensor``), the names that code uses.
"""

import ast
import importlib
import inspect
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import List, Optional, Tuple

from pyiqa_llmiqa.errors import PyiqaInternalsError

# the keyword arguments of pyiqa's InferenceModel (not metric options)
INFERENCE_MODEL_KWARGS = (
    'as_loss',
    'loss_weight',
    'loss_reduction',
    'device',
    'seed',
    'check_input_range',
    'metric_mode',
)


@dataclass(frozen=True)
class Internal:
    """One piece of pyiqa: ``module``'s attribute ``name`` (dotted), and how the plugin uses it."""

    module: str
    name: str
    args: Tuple[str, ...] = ()  # the positional arguments of the plugin's call
    kwargs: Tuple[str, ...] = ()  # its keyword arguments
    called: bool = True
    kind: Optional[type] = None  # what the attribute must be, for one that is not called
    uses: Tuple[str, ...] = ()  # names its code must use (what pyiqa calls that the plugin replaces)
    from_source: bool = False  # read from the source: importing the module costs ~0.4 s (scipy.stats, pandas)

    @property
    def path(self) -> str:
        return f'{self.module}.{self.name}'


EXPECTED: Tuple[Internal, ...] = (
    Internal('pyiqa.default_model_configs', 'DEFAULT_CONFIGS', called=False, kind=dict),
    Internal('pyiqa.utils.registry', 'ARCH_REGISTRY.register', ('obj',), ('name', 'override')),
    Internal('pyiqa.utils.registry', 'ARCH_REGISTRY.register_lazy', ('name', 'import_path'), ('override',)),
    Internal('pyiqa.utils.registry', 'ARCH_REGISTRY.get', ('name',)),
    Internal('pyiqa.archs', 'build_network', ('opt',), uses=('ARCH_REGISTRY',)),
    Internal(
        'pyiqa.models.inference_model',
        'InferenceModel.__init__',
        ('self', 'metric_name'),
        (*INFERENCE_MODEL_KWARGS, 'any_metric_option'),
        uses=('build_network', 'net'),
    ),
    Internal('pyiqa.models.inference_model', 'InferenceModel._to_batched_tensor', ('self', 'img')),
    Internal('pyiqa.models.inference_model', 'InferenceModel.is_valid_input', ('self', 'x')),
    Internal(
        'pyiqa.models.inference_model',
        'InferenceModel._prepare_inputs',
        ('self', 'target'),
        uses=('_to_batched_tensor', 'is_valid_input'),
    ),
    Internal('pyiqa.models.inference_model', 'InferenceModel.forward', ('self', 'target'), uses=('_prepare_inputs',)),
    Internal('pyiqa', 'create_metric', ('metric_name',), ('device', 'any_metric_option')),
    Internal('pyiqa', 'get_dataset_info', ('dataset_name',)),
    Internal('pyiqa.data', 'build_dataset', ('dataset_opt',)),
    Internal(
        'pyiqa.data.base_iqa_dataset',
        'BaseIQADataset.init_path_mos',
        ('self', 'opt'),
        uses=('paths_mos',),
        from_source=True,
    ),
    Internal('pyiqa.data.transforms', 'transform_mapping', ('key', 'args')),
    Internal('pyiqa.data.dataset_api', 'dataset_download_name', called=False, kind=dict),
    Internal('pyiqa.data.dataset_api', 'load_dataset', ('name',), ('data_root', 'dataset_opts')),
    Internal('pyiqa.metrics.correlation_coefficient', 'fit_curve', ('x', 'y', 'curve_type'), from_source=True),
    Internal('pyiqa.metrics.correlation_coefficient', 'calculate_plcc', ('x', 'y'), ('fit_scale',), from_source=True),
)


def _from_source(internal: Internal):
    """A stand-in with the signature of a function or method read from its module's source file, and
    the names its body uses."""
    package = importlib.import_module(internal.module.split('.')[0])
    path = Path(package.__file__).parent.joinpath(*internal.module.split('.')[1:]).with_suffix('.py')
    node = ast.parse(path.read_text(encoding='utf-8'))
    for part in internal.name.split('.'):
        node = next(n for n in node.body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == part)
    arguments = node.args
    defaults = [inspect.Parameter.empty] * (len(arguments.args) - len(arguments.defaults)) + arguments.defaults
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter(a.arg, kind, default=d) for a, d in zip(arguments.args, defaults)]

    def stand_in():
        pass

    stand_in.__signature__ = inspect.Signature(params)
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return stand_in, used | {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def _resolve(internal: Internal):
    """The piece, and the names its code uses."""
    if internal.from_source:
        return _from_source(internal)
    value = importlib.import_module(internal.module)
    for part in internal.name.split('.'):
        value = getattr(value, part)
    code = getattr(inspect.unwrap(value), '__code__', None)
    return value, set(code.co_names) if code else set()


def _problem(internal: Internal) -> Optional[str]:
    """What is wrong with one piece in the installed pyiqa, or None."""
    try:
        value, used = _resolve(internal)
    except (ImportError, AttributeError, StopIteration, OSError, SyntaxError):
        return f'{internal.path} is missing'
    if internal.kind is not None and not isinstance(value, internal.kind):
        return f'{internal.path} is a {type(value).__name__}, expected a {internal.kind.__name__}'
    if internal.called:
        call = f'{internal.name.split(".")[-1]}({", ".join([*internal.args, *(f"{k}=" for k in internal.kwargs)])})'
        try:
            inspect.signature(value).bind(*internal.args, **dict.fromkeys(internal.kwargs))
        except (TypeError, ValueError):
            return f'{internal.path} cannot be called as {call}'
    missing = [name for name in internal.uses if name not in used]
    if missing:
        return f'{internal.path} no longer uses {", ".join(missing)}'
    return None


def pyiqa_version() -> str:
    try:
        return version('pyiqa')
    except PackageNotFoundError:
        return 'unknown'


def internals_problems(expected: Tuple[Internal, ...] = EXPECTED) -> List[str]:
    """Every difference between the installed pyiqa and what the plugin relies on."""
    return [problem for problem in map(_problem, expected) if problem]


def check_pyiqa_internals() -> None:
    """Raise one ``PyiqaInternalsError`` listing every pyiqa internal that is not as the plugin uses it."""
    problems = internals_problems()
    if problems:
        raise PyiqaInternalsError(
            f'pyiqa-llmiqa cannot work with pyiqa {pyiqa_version()} (it supports the versions its setup.py '
            f'names): {"; ".join(problems)}'
        )
