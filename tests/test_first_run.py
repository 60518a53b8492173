"""A newcomer's first ten minutes: every way in says the same first thing, at once, and the demo runs.

The hub cannot be reached from the test machines: the HF cache is an empty folder, and "online" means
``HF_ENDPOINT`` on a closed local port.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyiqa_llmiqa.cli import main as cli
from pyiqa_llmiqa.common.devices import surely_no_gpu
from pyiqa_llmiqa.common.notices import plural
from pyiqa_llmiqa.metric import preflight

ROOT = Path(__file__).resolve().parents[1]
IMAGE = str(ROOT / 'examples' / 'coffee.jpg')
CLOSED_PORT = 'http://127.0.0.1:9'
CPU_WARNING = (
    'Qwen/Qwen2.5-VL-7B-Instruct (8.3 B parameters) runs on the CPU here: it needs about 33 GB of memory '
    'in float32 (dtype auto on a CPU; about 17 GB in bfloat16) and is slow (minutes per image on a few '
    'cores). The preset llmiqa_small (SmolVLM-256M, SAM2.1 tiny) is made for a CPU'
)

# Each way in, run in a fresh interpreter, ending with the module names it had loaded.
PATHS = {
    'score': f"from pyiqa_llmiqa.cli import main; rc = main.main(['score', {IMAGE!r}, '--device', 'cpu'])",
    'explain': 'from pyiqa_llmiqa.cli import main; '
    f"rc = main.main(['explain', {IMAGE!r}, '-o', 'x.png', '--device', 'cpu'])",
    'bench': "from pyiqa_llmiqa.cli import main; rc = main.main(['bench', '--dataset', 'livec', '--metrics', 'llmiqa', "
    "'--out', 'bench_out', '--device', 'cpu', '--data-root', '.'])",
    'create_metric': "import pyiqa, pyiqa_llmiqa; rc = pyiqa.create_metric('llmiqa', device='cpu')",
    'pyiqa': 'from pyiqa.pyiqa_cmd import main; '
    f"sys.argv = ['pyiqa', 'llmiqa', '-t', {IMAGE!r}, '--device', 'cpu']; rc = main()",
}


def run_path(code, tmp_path, offline):
    """Run ``code`` as an installed plugin runs (the start-up hook's .pth processed), with an empty HF
    cache and the hub on a closed port."""
    site_dir = tmp_path / 'site'
    site_dir.mkdir(exist_ok=True)
    shutil.copy(ROOT / 'pyiqa_llmiqa_autoload.pth', site_dir)
    env = {k: v for k, v in os.environ.items() if k not in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')}
    env.update(HF_HOME=str(tmp_path / 'hf'), HF_ENDPOINT=CLOSED_PORT, PYIQA_LLMIQA_PRESETS=os.devnull)
    if offline:
        env['HF_HUB_OFFLINE'] = '1'
    loaded = "print('LOADED', sorted(m for m in ('torch', 'pyiqa_llmiqa.engines.registry') if m in sys.modules))"
    program = f"""
import site, sys
site.addsitedir({str(site_dir)!r})
try:
    {code}
except Exception as error:
    print('RAISED', type(error).__name__, error, file=sys.stderr)
{loaded}
"""
    return subprocess.run(
        [sys.executable, '-c', program], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )


def first_message(stderr: str) -> str:
    """The warning and error as the user reads them, without how each path frames them."""
    text = stderr.replace('error: ', '', 1).replace('RAISED HubUnreachableError ', '')
    text = text.replace('pyiqa-llmiqa:0: UserWarning: ', 'warning: ')
    start = text.index('warning: ')
    return text[start:]


@pytest.mark.parametrize('offline', [False, True], ids=['hub-unreachable', 'HF_HUB_OFFLINE'])
def test_every_way_in_says_the_same_first_thing(tmp_path, offline):
    """score, explain, bench, create_metric and pyiqa's command: on a CPU the size warning first, then
    every missing file with its size, before anything loads; the commands before torch loads."""
    # bench is given a data set that is not there: the downloads come first
    messages = {}
    for name, code in PATHS.items():
        result = run_path(code, tmp_path, offline)
        assert 'Traceback' not in result.stderr, result.stderr[-3000:]
        messages[name] = first_message(result.stderr)
        loaded = result.stdout.split('LOADED', 1)[1]
        assert 'engines.registry' not in loaded, name  # no model loading was tried
        if name in ('score', 'explain', 'bench') and surely_no_gpu():
            assert 'torch' not in loaded, name  # so the message comes in well under 2 s
    first = messages['score']
    assert first.startswith(f'warning: {CPU_WARNING}\n'), first
    if offline:
        assert 'HF_HUB_OFFLINE=1 is set, and this metric needs files that are not in the local cache' in first
    else:
        assert f'the Hugging Face hub cannot be reached ({CLOSED_PORT}: ConnectionRefusedError' in first
    assert '  - backbone Qwen/Qwen2.5-VL-7B-Instruct (about 16.6 GB)\n' in first
    assert '  - SAM2 checkpoint facebook/sam2.1-hiera-large/sam2.1_hiera_large.pt (about 898 MB)\n' in first
    assert "segmenter={'config': 'sam2.1_hiera_l', 'checkpoint': '/path/to/sam2.1_hiera_large.pt'}" in first
    assert 'pyiqa-llmiqa demo OUT' in first
    for name, message in messages.items():
        assert first in message or message.startswith(first.rstrip()), f'{name}:\n{message}'
    assert first.count('warning: ') == 1


def _missing_for(options, monkeypatch, offline=True):
    monkeypatch.setattr(preflight, '_cached', lambda repo, filename: False)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1' if offline else '0')
    with pytest.raises(preflight.HubUnreachableError) as raised:
        preflight.check_downloads(options)
    return str(raised.value)


def test_the_local_copy_hint_fits_the_preset(monkeypatch):
    from pyiqa_llmiqa.config.presets import resolved_options

    small = _missing_for(resolved_options('llmiqa_small'), monkeypatch)
    assert "segmenter={'config': 'sam2.1_hiera_t', 'checkpoint': '/path/to/sam2.1_hiera_tiny.pt'}" in small
    assert 'hf download facebook/sam2.1-hiera-tiny sam2.1_hiera_tiny.pt' in small
    assert 'large' not in small
    global_only = _missing_for(resolved_options('llmiqa_global'), monkeypatch)
    assert 'segmenter' not in global_only and 'SAM2' not in global_only
    assert 'backbone=/path/to/model_folder' in global_only


def test_offline_lists_every_file_without_asking_the_hub(monkeypatch):
    from pyiqa_llmiqa.config.presets import resolved_options

    monkeypatch.setattr(preflight, 'hub_unreachable_reason', lambda *a: pytest.fail('asked the hub'))
    message = _missing_for(resolved_options('llmiqa'), monkeypatch)
    assert message.count('\n  - ') >= 2 and 'unset HF_HUB_OFFLINE' in message


def test_warnings_are_shown_once_without_source_lines(tmp_path):
    """A broken presets file: pyiqa's listing warns once, with the message alone."""
    presets = tmp_path / 'presets.yml'
    presets.write_text('x: [\n')
    code = 'import pyiqa_llmiqa, pyiqa; from pyiqa_llmiqa.pyiqa_plugin import register; register(); register()'
    env = {**os.environ, 'PYIQA_LLMIQA_PRESETS': str(presets)}
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if 'user presets' in line or line.startswith('  ')]
    assert lines == [
        f'pyiqa-llmiqa:0: RuntimeWarning: llmiqa user presets not added: {presets}:2: not valid YAML '
        "(expected the node content, but found '<stream end>')"
    ]


def test_version():
    result = subprocess.run(
        [sys.executable, '-m', 'pyiqa_llmiqa.cli', '--version'], capture_output=True, text=True, timeout=120
    )
    from importlib.metadata import version

    assert result.returncode == 0
    assert result.stdout.startswith(f'pyiqa-llmiqa {version("pyiqa-llmiqa")} (pyiqa {version("pyiqa")}, torch ')


def test_a_closed_pipe_is_not_an_error():
    command = f'{sys.executable} -m pyiqa_llmiqa.cli options | head -n 1'
    result = subprocess.run(['bash', '-c', command], capture_output=True, text=True, timeout=120)
    assert result.stdout.startswith('llmiqa (built-in preset; ')
    assert result.stderr == ''


def test_counts_are_spelled_for_one_and_many(capsys, tiny_backbone):
    assert (plural(1, 'mask'), plural(2, 'mask'), plural(0, 'mask')) == ('1 mask', '2 masks', '0 masks')
    # the tiny random model's answer is not a level: one image, one fallback
    assert cli.main(['score', IMAGE, '--metric', 'llmiqa_global', '--opt', f'backbone={tiny_backbone}']) == 0
    err = capsys.readouterr().err
    assert 'note: 1 answer was not a level and fell back to the likeliest level' in err


def test_demo_runs_offline_and_says_its_numbers_mean_nothing(tmp_path, monkeypatch, capsys):
    """The one slow test: builds the demo's models (into a fresh cache) and runs everything."""
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    monkeypatch.chdir(ROOT)
    out = tmp_path / 'demo'
    assert cli.main(['demo', str(out)]) == 0
    captured = capsys.readouterr()
    assert 'RANDOM weights' in captured.err and 'mean nothing about the images' in captured.err
    assert str(out / 'bench' / 'report.html') in captured.err
    records = [json.loads(line) for line in (out / 'scores.jsonl').read_text().splitlines()]
    assert len(records) == len(list((ROOT / 'examples').iterdir()))
    assert all(r['regions'] and r['fallbacks'] == 0 for r in records)  # regions, and answers that are levels
    assert len({r['global_score'] for r in records}) > 1  # not one level for every picture
    assert all((out / 'explain' / f'{Path(r["image"]).stem}.png').is_file() for r in records)
    assert (out / 'bench' / 'report.html').is_file() and (out / 'bench' / 'table.md').is_file()
    assert 'blur_demo' in (out / 'bench' / 'table.md').read_text()
