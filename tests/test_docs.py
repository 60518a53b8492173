"""The README and docs/: within budget, every relative link resolves, nothing links outside the
repository, Python blocks name what the package has, and the options reference is the generated one."""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md'))]
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')


def test_readme_fits_its_budget():
    assert len((ROOT / 'README.md').read_text(encoding='utf-8')) <= 12000


def _anchors(page: Path):
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces as dashes."""
    headings = re.findall(r'^#+ (.+)$', page.read_text(encoding='utf-8'), flags=re.M)
    return {re.sub(r'[^\w\- ]', '', h.strip().lower()).replace(' ', '-') for h in headings}


@pytest.mark.parametrize('page', PAGES, ids=lambda p: p.name)
def test_links_resolve_inside_the_repository(page):
    for target in LINK.findall(page.read_text(encoding='utf-8')):
        assert '://' not in target and not target.startswith('mailto:'), f'{page.name}: {target}'
        path, _, anchor = target.partition('#')
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f'{page.name}: {target} does not resolve'
        assert ROOT in resolved.parents or resolved == ROOT, f'{page.name}: {target} leaves the repository'
        if anchor:
            assert anchor in _anchors(resolved), f'{page.name}: no heading for #{anchor} in {resolved.name}'


def _python_blocks(page: Path):
    return re.findall(r'```python\n(.*?)```', page.read_text(encoding='utf-8'), flags=re.S)


@pytest.mark.parametrize('page', [p for p in PAGES if _python_blocks(p)], ids=lambda p: p.name)
def test_python_blocks_parse_and_name_what_the_package_has(page):
    for block in _python_blocks(page):
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or '').startswith('pyiqa_llmiqa'):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f'{page.name}: {node.module} has no {alias.name}'


def test_options_reference_is_the_generated_table():
    from pyiqa_llmiqa.cli.commands.options import markdown_table

    assert markdown_table() in (ROOT / 'docs' / 'options.md').read_text(encoding='utf-8')


DOTTED = re.compile(r'\bpyiqa_llmiqa(?:\.\w+)+')


@pytest.mark.parametrize('page', PAGES, ids=lambda p: p.name)
def test_dotted_names_in_the_docs_exist(page):
    """Every ``pyiqa_llmiqa.x.y`` a page names is a module of the package or a name in one."""
    for dotted in sorted(set(DOTTED.findall(page.read_text(encoding='utf-8')))):
        parts = dotted.split('.')
        for split in range(len(parts), 0, -1):
            try:
                target = importlib.import_module('.'.join(parts[:split]))
                break
            except ImportError:
                continue
        for name in parts[split:]:
            assert hasattr(target, name), f'{page.name}: {dotted} does not exist'
            target = getattr(target, name)
