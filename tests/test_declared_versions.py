"""setup.py's ranges are the ones CI proves: every dependency has a lower bound, CI's lowest install
pins exactly those bounds (.ci/lowest-constraints.txt), and in that install (``LLMIQA_CI_INSTALL=lowest``,
set by .ci/run) the Python and every package are those lowest versions."""

import ast
import os
import sys
from importlib.metadata import metadata, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _setup_keywords():
    tree = ast.parse((ROOT / 'setup.py').read_text(encoding='utf-8'))
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, 'id', '') == 'setup')
    return {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg in ('install_requires', 'python_requires')}


def _floors():
    """{package: its lower bound} from setup.py's install_requires."""
    floors = {}
    for line in _setup_keywords()['install_requires']:
        requirement = Requirement(line)
        lows = [s.version for s in requirement.specifier if s.operator == '>=']
        floors[requirement.name.lower()] = lows[0] if lows else None
    return floors


def _pins():
    lines = (ROOT / '.ci' / 'lowest-constraints.txt').read_text(encoding='utf-8').splitlines()
    pairs = [line.split('#')[0].strip().split('==') for line in lines if line.split('#')[0].strip()]
    return {name.lower(): pin for name, pin in pairs}


def test_every_dependency_has_a_lower_bound():
    assert [name for name, floor in _floors().items() if floor is None] == []


def test_the_lowest_install_pins_exactly_the_lower_bounds():
    assert _pins() == _floors()


@pytest.mark.skipif(os.environ.get('LLMIQA_CI_INSTALL') != 'lowest', reason="only in CI's lowest install")
def test_this_install_is_the_lowest_admitted():
    assert {name: version(name) for name in _floors()} == _floors()
    python_floor = _setup_keywords()['python_requires'].removeprefix('>=')
    assert '.'.join(map(str, sys.version_info[:2])) == python_floor


@pytest.mark.skipif(os.environ.get('LLMIQA_CI_INSTALL') != 'lowest', reason="only in CI's lowest install")
def test_python_requires_is_the_highest_python_floor_of_the_lowest_dependencies():
    floors = []
    for name in _floors():
        requires_python = metadata(name).get('Requires-Python') or ''
        floors += [Version(s.version) for s in SpecifierSet(requires_python) if s.operator == '>=']
    python_floor = _setup_keywords()['python_requires'].removeprefix('>=')
    assert Version(python_floor) == max(floors)
