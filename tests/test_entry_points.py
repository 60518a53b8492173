"""pyiqa's own entry points with the plugin installed and never imported: the start-up hook.

Each test runs a fresh interpreter that processes the package's ``pyiqa_llmiqa_autoload.pth`` the way
site-packages does at start-up (``site.addsitedir``), then uses pyiqa alone.
"""

import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PTH = 'pyiqa_llmiqa_autoload.pth'


@pytest.fixture
def site_dir(tmp_path):
    """A folder holding only the .pth file, as pip installs it at the top of site-packages."""
    folder = tmp_path / 'site'
    folder.mkdir()
    shutil.copy(ROOT / PTH, folder / PTH)
    return folder


def run_python(code, site_dir, **env):
    preamble = f'import site, sys\nsite.addsitedir({str(site_dir)!r})\n'
    result = subprocess.run(
        [sys.executable, '-c', preamble + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=site_dir,
        env={**os.environ, 'HF_HUB_OFFLINE': '1', **env},
    )
    return result


def test_start_up_imports_nothing_and_pyiqa_lists_the_presets(site_dir):
    result = run_python(
        """
        heavy = [m for m in ('pyiqa', 'torch', 'transformers', 'pyiqa_llmiqa') if m in sys.modules]
        assert heavy == [], heavy
        import pyiqa
        assert {'llmiqa', 'llmiqa_global', 'llmiqa_small'} <= set(pyiqa.list_models(metric_mode='NR'))
        # the arch (and transformers with it) loads when a metric is built, not with pyiqa
        assert 'pyiqa_llmiqa.metric.llmiqa_arch' not in sys.modules and 'transformers' not in sys.modules
        print('ok')
    """,
        site_dir,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == 'ok'


def _printed_mean(stdout):
    """The mean pyiqa's command prints: ``'mean': 3.0`` (numpy 1), ``'mean': np.float32(3.0)`` (numpy 2)."""
    return float(re.search(r"'mean': (?:np\.\w+\()?([-+0-9.e]+)", stdout).group(1))


def test_pyiqa_command_lists_and_scores_with_a_user_preset(site_dir, tiny_backbone, tmp_path):
    presets = tmp_path / 'presets.yml'
    presets.write_text(
        f'my_llmiqa: {{preset: llmiqa_global, backbone: {tiny_backbone}, levels: 5}}\n'
        f'llmiqa_global: {{backbone: {tiny_backbone}}}\n'
    )
    image = ROOT / 'examples' / 'coffee.jpg'
    listing = run_python(
        """
        from pyiqa.pyiqa_cmd import main
        sys.argv = ['pyiqa', '-ls']
        main()
    """,
        site_dir,
        PYIQA_LLMIQA_PRESETS=str(presets),
    )
    assert listing.returncode == 0, listing.stderr[-3000:]
    for name in ('llmiqa', 'llmiqa_global', 'llmiqa_owl3', 'llmiqa_janus', 'llmiqa_small', 'my_llmiqa'):
        assert f"'{name}'" in listing.stdout
    scored = run_python(
        f"""
        from pyiqa.pyiqa_cmd import main
        sys.argv = ['pyiqa', 'my_llmiqa', '-t', {str(image)!r}, '--device', 'cpu']
        main()
    """,
        site_dir,
        PYIQA_LLMIQA_PRESETS=str(presets),
    )
    assert scored.returncode == 0, scored.stderr[-3000:]
    mean = _printed_mean(scored.stdout)
    assert 1 <= mean <= 5  # levels: 5 from the preset file
    built_in = run_python(
        f"""
        from pyiqa.pyiqa_cmd import main
        sys.argv = ['pyiqa', 'llmiqa_global', '-t', {str(image)!r}, '--device', 'cpu']
        main()
    """,
        site_dir,
        PYIQA_LLMIQA_PRESETS=str(presets),
    )
    assert built_in.returncode == 0, built_in.stderr[-3000:]  # the built-in name, pointed at a local model
    assert 1 <= _printed_mean(built_in.stdout) <= 7


def test_a_script_that_calls_create_metric(site_dir, tiny_backbone):
    result = run_python(
        f"""
        import pyiqa, torch
        metric = pyiqa.create_metric('llmiqa_global', backbone={tiny_backbone!r}, device='cpu')
        assert metric.net.options.levels == 7
        score = metric(torch.rand(1, 3, 32, 48))
        assert 1 <= float(score) <= 7, score
        print('ok')
    """,
        site_dir,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_opt_out_leaves_pyiqa_alone(site_dir):
    result = run_python(
        """
        assert not any(type(f).__name__ == '_WaitForPyiqa' for f in sys.meta_path)
        import pyiqa
        assert 'llmiqa' not in pyiqa.list_models()
        import pyiqa_llmiqa  # an explicit import still registers
        assert 'llmiqa' in pyiqa.list_models()
        print('ok')
    """,
        site_dir,
        PYIQA_LLMIQA_NO_AUTOLOAD='1',
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_failing_registration_never_breaks_pyiqa(site_dir):
    result = run_python(
        """
        sys.modules['pyiqa_llmiqa.pyiqa_plugin'] = None  # importing it now raises ImportError
        import pyiqa
        assert 'piqe' in pyiqa.list_models() and 'llmiqa' not in pyiqa.list_models()
        print('ok')
    """,
        site_dir,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'the llmiqa metrics were not added to pyiqa' in result.stderr
    assert 'PYIQA_LLMIQA_NO_AUTOLOAD=1' in result.stderr


def test_the_wheel_installs_the_pth_at_the_top_of_site_packages(tmp_path):
    """A normal (non-editable) install: the .pth and the hook module sit beside the package."""
    subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            '--no-deps',
            '--no-build-isolation',
            '-q',
            '-w',
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob('pyiqa_llmiqa-*.whl')
    names = zipfile.ZipFile(wheel).namelist()
    assert PTH in names and 'pyiqa_llmiqa_autoload.py' in names
    assert zipfile.ZipFile(wheel).read(PTH).decode() == (ROOT / PTH).read_text()
