"""engine: openai through a real server: `transformers serve` on 127.0.0.1 serving the suite's tiny model
whose greedy answers are digits gives the same greedy scores as the same model in process.

transformers serve ignores `logprobs`, so these are greedy scores; what the log-probabilities give is
tested against vLLM's format in tests/test_openai_engine.py.
"""

import numpy as np
import pyiqa
import pytest

import pyiqa_llmiqa  # noqa: F401
from pyiqa_llmiqa.errors import ServerAnswerError
from pyiqa_llmiqa.testing.local_server import as_hub_cache, local_server

SERVED = 'local/tiny-digits'  # the digit backbone, as a hub id in the server's cache


@pytest.fixture(scope='module')
def server(digit_backbone, tmp_path_factory):
    """The base URL of `transformers serve` with the digit backbone, stopped after the module."""
    folder = tmp_path_factory.mktemp('serve')
    cache = as_hub_cache(digit_backbone, SERVED, folder / 'hub')
    with local_server(SERVED, log=folder / 'serve.log', hub_cache=cache) as url:
        yield url


class TwoBoxes:
    """A segmenter: the top-left quarter and a band along the bottom of any image."""

    def __call__(self, array):
        h, w = array.shape[:2]
        quarter = np.zeros((h, w), dtype=bool)
        quarter[: h // 2, : w // 2] = True
        band = np.zeros((h, w), dtype=bool)
        band[-h // 4 :, w // 8 :] = True
        return [quarter, band]


def summary(assessments):
    return [(a.score, a.global_score, a.local_score, [r.score for r in a.regions], a.fallbacks) for a in assessments]


@pytest.mark.parametrize('preset', ['llmiqa_global', 'llmiqa'])
def test_greedy_scores_through_the_server_equal_the_in_process_ones(preset, digit_backbone, server, images):
    segmenter = {'segmenter': TwoBoxes(), 'min_region_area': 0.01} if preset == 'llmiqa' else {}
    here = pyiqa.create_metric(preset, backbone=digit_backbone, device='cpu', **segmenter)
    there = pyiqa.create_metric(preset, backbone=SERVED, device='cpu', engine='openai', server_url=server, **segmenter)
    assert there.net.engine.served['id'] == SERVED  # what the server reports for the model it serves
    expected, received = here.net.assess(images), there.net.assess(images)
    assert summary(received) == summary(expected)
    if preset == 'llmiqa':
        assert all(len(a.regions) == 3 for a in received)  # two boxes and the complement, each asked


def test_expectation_needs_log_probs_which_transformers_serve_does_not_return(digit_backbone, server, images):
    metric = pyiqa.create_metric(
        'llmiqa_global',
        backbone=SERVED,
        device='cpu',
        engine='openai',
        server_url=server,
        score_mode='expectation',
    )
    with pytest.raises(ServerAnswerError, match='returned no log-probabilities'):
        metric.net.assess(images[:1])
