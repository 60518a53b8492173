"""What bench's scoring function hands a metric, and what it records: pyiqa's metric created by name
on the run's device with the user's options, fed the image as a 0..1 tensor batch of one; llmiqa
asked for the one image's assessment, recorded as ``score --json`` writes it."""

import numpy as np
import pyiqa
import pytest
import torch
from PIL import Image

from pyiqa_llmiqa.bench.metrics import MetricSpec
from pyiqa_llmiqa.metric.assessment import Assessment, RegionScore


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))


@pytest.fixture
def created(monkeypatch):
    """pyiqa.create_metric replaced by a recorder of its arguments and the inputs of the metric."""
    calls = {'create': [], 'inputs': []}

    class Metric(torch.nn.Module):
        def forward(self, x):
            calls['inputs'].append(x)
            return x.mean().reshape(1)  # a score anyone can work out: the mean of the 0..1 values

    class Net:
        def assess(self, images):
            calls['inputs'].append(images)
            regions = [RegionScore('complement', (0, 0, 32, 24), 768, 3.0)]
            return [Assessment(3.5, 3.0, 4.0, n_masks=1, n_kept=0, regions=regions)]

    def create_metric(name, **kwargs):
        calls['create'].append((name, kwargs))
        metric = Metric()
        metric.net = Net()
        return metric

    monkeypatch.setattr(pyiqa, 'create_metric', create_metric)
    return calls


def test_a_pyiqa_metric_scores_the_image_as_a_batch_of_one_in_0_1(image, created):
    score = MetricSpec('piqe', {'x': 1}, True, {}).build('cuda:3')
    record = score(image)
    assert created['create'] == [('piqe', {'device': 'cuda:3'})]
    (x,) = created['inputs']
    assert tuple(x.shape) == (1, 3, 24, 32)
    expected = np.asarray(image, dtype=np.float64).mean() / 255
    assert record == {'score': pytest.approx(expected)} and isinstance(record['score'], float)


def test_llmiqa_is_created_with_the_users_options_and_records_the_whole_assessment(image, created):
    score = MetricSpec('llmiqa', {'levels': 5}, False, {'levels': 5, 'seed': 2}).build('cpu')
    record = score(image)
    assert created['create'] == [('llmiqa', {'device': 'cpu', 'levels': 5, 'seed': 2})]
    assert created['inputs'] == [[image]]  # one image at a time
    assert record['score'] == 3.5 and (record['global_score'], record['local_score']) == (3.0, 4.0)
    assert record['regions'] == [{'kind': 'complement', 'bbox': [0, 0, 32, 24], 'area': 768, 'score': 3.0}]


def test_a_real_pyiqa_metric_scores_through_build(image):
    """piqe (no weights to download): the score bench records is pyiqa's on the same pixels in 0..1."""
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    expected = float(pyiqa.create_metric('piqe', device='cpu')(pixels).item())
    assert MetricSpec('piqe', {}, True, {}).build('cpu')(image) == {'score': pytest.approx(expected, rel=1e-6)}
