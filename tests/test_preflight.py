"""A first run that explains itself: missing downloads, an unreachable hub, CUDA, a 7B model on a CPU."""

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pyiqa
import pytest
import torch

from pyiqa_llmiqa.cli import main as cli
from pyiqa_llmiqa.config.options import DEFAULT_BACKBONE
from pyiqa_llmiqa.metric import llmiqa_arch, preflight

IMAGE = str(Path(__file__).resolve().parents[1] / 'examples' / 'coffee.jpg')


def test_unreachable_hub_is_one_message_with_every_download(tmp_path):
    """The hub on a closed local port, an empty cache, no HF_HUB_OFFLINE: the default metric's files."""
    env = {k: v for k, v in os.environ.items() if k != 'HF_HUB_OFFLINE'}
    env.update(HF_ENDPOINT='http://127.0.0.1:9', HF_HOME=str(tmp_path / 'hf'))
    code = f"""
        import sys
        from pyiqa_llmiqa.cli import main as cli
        sys.exit(cli.main(['score', {IMAGE!r}, '--device', 'cpu']))
    """
    result = subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 2
    err = result.stderr
    assert 'the Hugging Face hub cannot be reached (http://127.0.0.1:9' in err
    assert f'backbone {DEFAULT_BACKBONE} (about 16.6 GB)' in err  # 8.3 B parameters x 2 bytes
    assert 'SAM2 checkpoint facebook/sam2.1-hiera-large/sam2.1_hiera_large.pt (about 898 MB)' in err  # 224.4M x 4 bytes
    assert f'hf download {DEFAULT_BACKBONE}\n' in err
    assert 'hf download facebook/sam2.1-hiera-large sam2.1_hiera_large.pt' in err
    assert 'HF_HUB_OFFLINE=1' in err and 'backbone=/path/to/model_folder' in err
    assert 'Retrying' not in err  # no hub retries were waited through


def test_nothing_to_download_means_no_probe(monkeypatch, tiny_backbone):
    monkeypatch.delenv('HF_HUB_OFFLINE')
    monkeypatch.setattr(preflight, 'hub_unreachable_reason', lambda *a: pytest.fail('probed the hub'))
    preflight.check_downloads(
        {'backbone': tiny_backbone, 'mix_grained': False, 'segmenter': 'facebook/sam2.1-hiera-large'}
    )
    monkeypatch.setattr(preflight, '_cached', lambda repo, filename: True)
    preflight.check_downloads(
        {'backbone': DEFAULT_BACKBONE, 'mix_grained': True, 'segmenter': 'facebook/sam2.1-hiera-tiny'}
    )


def test_missing_downloads_name_each_file_with_its_size(monkeypatch):
    monkeypatch.setattr(preflight, '_cached', lambda repo, filename: False)
    missing = preflight.missing_downloads(
        {
            'backbone': 'HuggingFaceTB/SmolVLM-256M-Instruct',
            'mix_grained': True,
            'segmenter': 'facebook/sam2.1-hiera-tiny',
        }
    )
    assert missing == [
        (
            'backbone HuggingFaceTB/SmolVLM-256M-Instruct (about 0.5 GB)',
            'HuggingFaceTB/SmolVLM-256M-Instruct',
            'backbone=/path/to/model_folder (a folder saved with save_pretrained)',
        ),
        (
            'SAM2 checkpoint facebook/sam2.1-hiera-tiny/sam2.1_hiera_tiny.pt (about 156 MB)',
            'facebook/sam2.1-hiera-tiny sam2.1_hiera_tiny.pt',
            "segmenter={'config': 'sam2.1_hiera_t', 'checkpoint': '/path/to/sam2.1_hiera_tiny.pt'}",
        ),
    ]


def test_cuda_without_cuda_fails_before_loading(monkeypatch, tiny_backbone):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(llmiqa_arch, 'load_engine', lambda *a, **k: pytest.fail('loaded the backbone'))
    with pytest.raises(ValueError, match="device 'cuda' was asked for, but torch .* sees no CUDA GPU"):
        pyiqa.create_metric('llmiqa_global', backbone=tiny_backbone, device='cuda')


def test_a_7b_backbone_on_a_cpu_is_announced(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.warns(UserWarning) as caught:
        preflight.warn_if_slow_on_cpu({'backbone': DEFAULT_BACKBONE, 'dtype': 'auto'}, None)
    message = str(caught[0].message)
    # 8.3 B parameters: 4 bytes each in float32 (what dtype auto means on a CPU), 2 in bfloat16
    assert 'about 33 GB of memory in float32' in message and 'about 17 GB in bfloat16' in message
    assert 'llmiqa_small' in message
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        preflight.warn_if_slow_on_cpu({'backbone': 'HuggingFaceTB/SmolVLM-256M-Instruct', 'dtype': 'auto'}, 'cpu')
        preflight.warn_if_slow_on_cpu({'backbone': DEFAULT_BACKBONE, 'dtype': 'auto'}, 'cuda')


def test_options_command_prints_each_resolved_option_with_its_meaning(capsys):
    from pyiqa_llmiqa.config.options import OPTION_HELP, OPTION_NAMES

    assert set(OPTION_HELP) == set(OPTION_NAMES)
    assert cli.main(['options', '--metric', 'llmiqa_small', '--opt', 'levels=5']) == 0
    out = capsys.readouterr().out
    assert out.startswith('llmiqa_small (built-in preset; ')
    assert 'backbone: HuggingFaceTB/SmolVLM-256M-Instruct\n' in out and 'levels: 5\n' in out
    assert 'segmenter: facebook/sam2.1-hiera-tiny\n' in out
    for name in OPTION_NAMES:
        assert f'\n{name}: ' in out and f'    {OPTION_HELP[name]}\n' in out
