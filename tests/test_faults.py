"""Faults and trust: out of memory, broken weights, answers that are not levels, and nothing let in."""

import builtins
import csv
import os
import shutil

import pyiqa
import pytest
import torch
import yaml
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

import pyiqa_llmiqa  # noqa: F401  (registers the presets)
from pyiqa_llmiqa.cli import main as cli
from pyiqa_llmiqa.cli.metric_args import parse_assignments
from pyiqa_llmiqa.engines.batching import BatchOutOfMemoryError, run_in_batches
from pyiqa_llmiqa.errors import BackboneLoadError

CUDA_OOM = torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')


def _oom_above(limit, error=CUDA_OOM):
    """A forward that fails like an exhausted device on batches larger than ``limit``; logs sizes."""
    sizes = []

    def forward(batch):
        sizes.append(len(batch))
        if len(batch) > limit:
            raise error
        return torch.tensor(batch, dtype=torch.float32)

    return forward, sizes


@pytest.mark.parametrize(
    'error',
    [
        torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB'),
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 40000000000 bytes"),
        RuntimeError('MPS backend out of memory (MPS allocated: 17.00 GB)'),
    ],
    ids=['cuda', 'cpu', 'mps'],
)
def test_a_batch_out_of_memory_is_halved_and_the_smaller_size_kept(error):
    forward, sizes = _oom_above(2, error)
    with pytest.warns(RuntimeWarning, match='retrying in batches of'):
        result = run_in_batches(forward, list(range(11)), batch_size=8)
    assert result.tolist() == list(range(11))
    assert sizes == [8, 4, 2, 2, 2, 2, 2, 1]


def test_out_of_memory_on_one_input_is_a_clear_error():
    forward, sizes = _oom_above(0)
    with pytest.raises(BatchOutOfMemoryError, match='even alone.*max_pixels'), pytest.warns(RuntimeWarning):
        run_in_batches(forward, [1, 2, 3], batch_size=2)
    assert sizes == [2, 1]


def test_other_errors_are_not_retried():
    def forward(batch):
        calls.append(len(batch))
        raise RuntimeError('shape mismatch')

    calls = []
    with pytest.raises(RuntimeError, match='shape mismatch'):
        run_in_batches(forward, [1, 2, 3], batch_size=3)
    assert calls == [3]


def test_metric_scores_survive_out_of_memory_unchanged(digit_backbone, images, monkeypatch):
    metric = pyiqa.create_metric(
        'llmiqa_global', backbone=digit_backbone, score_mode='expectation', batch_size=4, device='cpu'
    )
    net = metric.net
    unsplit = net(images)
    next_token_logits = net.engine.next_token_logits
    sizes = []

    def oom_above_one(batch, prompt):
        sizes.append(len(batch))
        if len(batch) > 1:
            raise torch.OutOfMemoryError('CUDA out of memory')
        return next_token_logits(batch, prompt)

    monkeypatch.setattr(net.engine, 'next_token_logits', oom_above_one)
    with pytest.warns(RuntimeWarning):
        split = net(images)
    assert sizes == [4, 2, 1, 1, 1, 1]
    assert torch.allclose(split, unsplit, atol=1e-4)


def test_answers_that_are_not_levels_are_counted_and_reported(tiny_backbone, tmp_path, capsys):
    for name in ('a.png', 'b.png'):
        Image.new('RGB', (40, 30), (10, 200, 90)).save(tmp_path / name)
    code = cli.main(
        ['score', str(tmp_path), '--metric', 'llmiqa_global', '--opt', f'backbone={tiny_backbone}', '--device', 'cpu']
    )
    assert code == 0
    assert 'note: 2 answers were not a level and fell back to the likeliest level' in capsys.readouterr().err


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / 'picture.png'
    Image.new('RGB', (40, 30), (10, 200, 90)).save(path)
    return path


def test_corrupt_weights_are_one_clear_error(digit_backbone, tmp_path):
    folder = tmp_path / 'corrupt'
    shutil.copytree(digit_backbone, folder)
    weights = folder / 'model.safetensors'
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(BackboneLoadError) as error:
        pyiqa.create_metric('llmiqa_global', backbone=str(folder), device='cpu')
    assert str(folder) in str(error.value) and 'save_pretrained' in str(error.value)


def test_hub_id_not_in_the_cache_offline_says_how_to_get_it(picture, capsys):
    code = cli.main(['score', str(picture), '--metric', 'llmiqa_global', '--opt', 'backbone=nobody/no-such-model'])
    err = capsys.readouterr().err
    assert code == 2 and 'Traceback' not in err
    assert "could not load backbone 'nobody/no-such-model'" in err and '`hf download nobody/no-such-model`' in err


class _Payload:
    """Pickled, it asks to run a shell command when loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


@pytest.mark.parametrize('content', ['garbage', 'code'])
def test_corrupt_or_malicious_sam2_checkpoint_is_refused(digit_backbone, tmp_path, content):
    checkpoint, marker = tmp_path / 'sam2.pt', tmp_path / 'ran'
    if content == 'garbage':
        checkpoint.write_bytes(b'not a checkpoint at all')
    else:
        torch.save({'model': _Payload(marker)}, checkpoint)
    with pytest.raises(RuntimeError, match=f'could not read SAM2 checkpoint {checkpoint}'):
        pyiqa.create_metric(
            'llmiqa',
            backbone=digit_backbone,
            device='cpu',
            segmenter={'config': 'sam2.1_hiera_t', 'checkpoint': str(checkpoint)},
        )
    assert not marker.exists()  # loaded with weights_only=True: nothing ran


def test_unknown_sam2_hub_id_lists_the_known_ones(digit_backbone):
    with pytest.raises(ValueError, match="unknown SAM2 hub id 'facebook/sam3'.*facebook/sam2.1-hiera-large"):
        pyiqa.create_metric('llmiqa', backbone=digit_backbone, device='cpu', segmenter='facebook/sam3')


def test_remote_code_runs_only_when_asked(digit_backbone, monkeypatch):
    calls = []
    for cls in (AutoProcessor, AutoModelForImageTextToText):

        def spy(name, *args, _load=cls.from_pretrained, _cls=cls.__name__, **kwargs):
            calls.append((_cls, kwargs.get('trust_remote_code')))
            return _load(name, *args, **kwargs)

        monkeypatch.setattr(cls, 'from_pretrained', spy)
    pyiqa.create_metric('llmiqa_global', backbone=digit_backbone, device='cpu')
    assert calls == [('AutoProcessor', False), ('AutoModelForImageTextToText', False)]
    calls.clear()
    pyiqa.create_metric('llmiqa_global', backbone=digit_backbone, device='cpu', trust_remote_code=True)
    assert calls == [('AutoProcessor', True), ('AutoModelForImageTextToText', True)]


def test_options_are_data_never_code(picture, tmp_path, capsys):
    marker = tmp_path / 'ran'
    evil = f'!!python/object/apply:os.system ["touch {marker}"]'
    options = tmp_path / 'evil.yml'
    options.write_text(f'backbone: {evil}\n')
    assert cli.main(['score', str(picture), '--options', str(options)]) == 2
    assert cli.main(['score', str(picture), '--opt', f'backbone={evil}']) == 2
    err = capsys.readouterr().err
    assert 'not valid YAML' in err and 'not a YAML scalar' in err and 'Traceback' not in err
    assert not marker.exists()
    code = "__import__('os').system('touch ran')"
    assert parse_assignments([f'backbone={code}']) == {'backbone': code}  # stays a string


def test_model_output_is_never_evaluated(digit_backbone, images, monkeypatch):
    metric = pyiqa.create_metric('llmiqa_global', backbone=digit_backbone, device='cpu')

    def refuse(*args, **kwargs):
        raise AssertionError('eval or exec was called')

    monkeypatch.setattr(builtins, 'eval', refuse)
    monkeypatch.setattr(builtins, 'exec', refuse)
    scores = metric.net(images)  # levels come from logits of the digit tokens; no text is decoded
    assert ((scores >= 1) & (scores <= 7)).all()


@pytest.mark.parametrize('name', ['../outside.png', '/etc/hostname'])
def test_meta_info_names_outside_the_data_root_are_refused_by_bench(name, tmp_path, capsys):
    root = tmp_path / 'root'
    root.mkdir()
    Image.new('RGB', (40, 30)).save(tmp_path / 'outside.png')
    Image.new('RGB', (40, 30)).save(root / 'inside.png')
    with open(root / 'meta.csv', 'w', newline='') as handle:
        csv.writer(handle).writerows([('img_name', 'mos'), ('inside.png', 3.0), (name, 4.0)])
    dataset = tmp_path / 'escape.yml'
    dataset.write_text(
        yaml.safe_dump(
            {
                'escape': {
                    'type': 'GeneralNRDataset',
                    'dataroot_target': str(root),
                    'meta_info_file': str(root / 'meta.csv'),
                }
            }
        )
    )
    code = cli.main(['bench', '--dataset', str(dataset), '--metrics', 'piqe', '--out', str(tmp_path / 'out')])
    err = capsys.readouterr().err
    assert code == 2 and 'Traceback' not in err
    assert f'{root / "meta.csv"}: the image' in err and f'lies outside the data root {root}' in err
    assert not (tmp_path / 'out' / 'predictions').exists()


def test_default_batch_size_follows_the_device():
    from pyiqa_llmiqa.engines.batching import batch_size_for

    assert batch_size_for(torch.device('cpu')) == 4  # size-sorted batches of 4 cost least there (docs/speed.md)
    assert batch_size_for(torch.device('cuda')) == 8
    assert batch_size_for(torch.device('cpu'), 5) == 5
