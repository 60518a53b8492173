"""The package's layers (docs/architecture.md): no import cycle, and no lower layer importing a higher
one. Every import counts, also one inside a function, read from the source with ``ast``."""

import ast
from pathlib import Path

import pyiqa_llmiqa

ROOT = Path(pyiqa_llmiqa.__file__).parent
# Lowest first: a module may import its own layer and those below it, never one above.
LAYERS = (
    ('errors', 'common'),
    ('config',),
    ('inputs', 'segment'),
    ('engines',),
    ('scoring',),
    ('metric',),
    ('pyiqa_plugin', 'pyiqa_internals'),
    ('bench',),
    ('cli', 'testing'),
)
LAYER_OF = {part: level for level, parts in enumerate(LAYERS) for part in parts}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split('.'))
    return path.with_suffix('.py').is_file() or (path / '__init__.py').is_file()


def imports_of(path: Path):
    """The package's own modules that ``path`` imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith('pyiqa_llmiqa.'))
        elif isinstance(node, ast.ImportFrom) and (node.module or '').startswith('pyiqa_llmiqa'):
            assert node.level == 0, f'{path}: relative import (the package imports absolutely)'
            for alias in node.names:
                submodule = f'{node.module}.{alias.name}'
                found.add(submodule if _is_module(submodule) else node.module)
    return found


def import_graph():
    return {_module_name(path): imports_of(path) for path in ROOT.rglob('*.py')}


def _layer(module: str):
    parts = module.split('.')
    return LAYER_OF.get(parts[1]) if len(parts) > 1 else None


def test_every_part_of_the_package_has_a_layer():
    tops = {
        _module_name(path).split('.')[1]
        for path in ROOT.rglob('*.py')
        if path.parent != ROOT or path.stem != '__init__'
    }
    assert tops == set(LAYER_OF)


def test_no_lower_layer_imports_a_higher_one():
    upward = [
        f'{module} -> {target}'
        for module, targets in import_graph().items()
        for target in targets
        if _layer(module) is not None and _layer(target) > _layer(module)
    ]
    assert upward == []


def test_no_import_cycles():
    graph = import_graph()
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert cycles == []


def test_no_command_imports_another():
    commands = 'pyiqa_llmiqa.cli.commands.'
    crossing = [
        f'{module} -> {target}'
        for module, targets in import_graph().items()
        if module.startswith(commands)
        for target in targets
        if target.startswith(commands) and target != module
    ]
    assert crossing == []


def test_the_checks_see_a_cycle_and_an_upward_import(tmp_path):
    """The walk above reads function-level imports: a planted pair is found."""
    source = 'def f():\n    from pyiqa_llmiqa.cli.main import main\n    import pyiqa_llmiqa.bench.store\n'
    (tmp_path / 'planted.py').write_text(source)
    assert imports_of(tmp_path / 'planted.py') == {'pyiqa_llmiqa.cli.main', 'pyiqa_llmiqa.bench.store'}
    assert _layer('pyiqa_llmiqa.cli.main') > _layer('pyiqa_llmiqa.config.options')
