"""Tensors in and out of llmiqa (README, "Bad input and faults"), and how pyiqa's inputs are routed to
them, without a model: each expected pixel is worked out by hand from the values put in."""

import types
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from pyiqa_llmiqa.errors import InputError
from pyiqa_llmiqa.inputs.images import (
    check_tensor,
    load_image,
    tensor_to_images,
    to_batched_tensor,
)
from pyiqa_llmiqa.pyiqa_plugin import wrap_pyiqa_internals as route_llmiqa_inputs

SHAPE_MESSAGE = 'expected a float tensor of shape (N, 3, H, W) or (N, 1, H, W); got '


@pytest.mark.parametrize(
    'x',
    [
        torch.zeros(1, 1, 1, 1),  # a single black pixel: 0 is in range
        torch.ones(2, 3, 4, 5),  # white: 1 is in range; H and W need not be 1 or 3
        torch.full((1, 3, 2, 2), 0.5, dtype=torch.float64),
        torch.rand(1, 1, 3, 2, dtype=torch.float16),
    ],
)
def test_float_tensors_n_1_or_3_h_w_in_0_1_are_accepted(x):
    check_tensor(x)


@pytest.mark.parametrize(
    'x, got',
    [
        (torch.zeros(2, 3, 4), '(2, 3, 4)'),  # three dimensions, the second of them 3
        (torch.zeros(1, 3, 4, 4, 1), '(1, 3, 4, 4, 1)'),
        (torch.zeros(1, 2, 4, 4), '(1, 2, 4, 4)'),
        (torch.zeros(1, 4, 4, 4), '(1, 4, 4, 4)'),
        ([[[[0.5]]]], 'list'),
        (np.zeros((1, 3, 4, 4), np.float32), 'ndarray'),
    ],
)
def test_other_shapes_and_types_are_named_in_the_error(x, got):
    with pytest.raises(InputError) as error:
        check_tensor(x)
    assert str(error.value) == SHAPE_MESSAGE + got


@pytest.mark.parametrize(
    'x, message',
    [
        (torch.zeros(1, 3, 2, 2, dtype=torch.uint8), 'expected a float tensor in [0, 1]; got dtype torch.uint8'),
        (torch.zeros(0, 3, 4, 4), 'the input tensor is empty; got shape (0, 3, 4, 4)'),
        (torch.tensor([[[[0.5, float('nan')]]]]), 'the input tensor holds NaN values'),
        (torch.tensor([[[[-0.5, 0.5]]]]), 'the input tensor must lie in [0, 1]; got min -0.5000, max 0.5000'),
        (torch.tensor([[[[0.5, 1.25]]]]), 'the input tensor must lie in [0, 1]; got min 0.5000, max 1.2500'),
    ],
)
def test_bad_tensors_are_refused_with_the_reason(x, message):
    with pytest.raises(InputError) as error:
        check_tensor(x)
    assert str(error.value) == message


def test_tensor_to_images_rounds_to_8_bits_and_repeats_grey():
    grey = torch.tensor(
        [
            [[[0.0, 1 / 255, 0.25], [0.75, 1.0, 0.2]]],
            [[[1.0, 254 / 255, 0.75], [0.25, 0.0, 0.8]]],
        ],
        requires_grad=True,
    )  # (2, 1, 2, 3)
    images = tensor_to_images(grey)
    # v * 255 rounded: 0.25 -> 63.75 -> 64, 0.75 -> 191.25 -> 191, 0.2 -> 51, 0.8 -> 204
    expected = [[[0, 1, 64], [191, 255, 51]], [[255, 254, 191], [64, 0, 204]]]
    assert len(images) == 2
    for image, rows in zip(images, expected):
        assert image.mode == 'RGB' and image.size == (3, 2)
        assert np.asarray(image).tolist() == [[[v, v, v] for v in row] for row in rows]


def test_tensor_to_images_keeps_channels_in_rgb_order():
    colour = torch.tensor([[[[0.0, 0.2]], [[0.4, 0.6]], [[0.8, 1.0]]]])  # (1, 3, 1, 2): R, G, B planes
    (image,) = tensor_to_images(colour)
    assert image.size == (2, 1)
    assert np.asarray(image).tolist() == [[[0, 102, 204], [51, 153, 255]]]


def test_tensor_to_images_checks_its_input():
    with pytest.raises(InputError, match='must lie in'):
        tensor_to_images(torch.full((1, 3, 2, 2), 2.0))


def test_to_batched_tensor_is_pixels_over_255():
    pixels = np.array([[[0, 51, 255], [102, 153, 204]], [[1, 2, 3], [254, 128, 64]]], np.uint8)  # 2 x 2
    x = to_batched_tensor(Image.fromarray(pixels))
    assert x.dtype == torch.float32 and tuple(x.shape) == (1, 3, 2, 2)
    expected = [[[[p[c] / 255 for p in row] for row in pixels.tolist()] for c in range(3)]]
    assert torch.allclose(x, torch.tensor(expected), atol=1e-7, rtol=0)
    assert x[0, 2, 0, 0] == 1.0 and x[0, 0, 0, 0] == 0.0


def test_to_batched_tensor_makes_grey_and_16_bit_rgb():
    x = to_batched_tensor(Image.fromarray(np.array([[0, 255, 17]], np.uint8), 'L'))
    assert tuple(x.shape) == (1, 3, 1, 3)
    assert torch.equal(x[0, 0], x[0, 1]) and torch.equal(x[0, 0], x[0, 2])
    assert torch.allclose(x[0, 0, 0], torch.tensor([0.0, 1.0, 17 / 255]))
    sixteen = to_batched_tensor(Image.fromarray(np.array([[65535, 0]], dtype='<u2')))
    assert sixteen[0, :, 0].tolist() == [[1.0, 0.0]] * 3  # 65535 is white, not clipped 255


def test_8_bit_pixels_survive_the_round_trip_through_a_tensor():
    pixels = np.random.default_rng(3).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    (back,) = tensor_to_images(to_batched_tensor(Image.fromarray(pixels)))
    assert np.array_equal(np.asarray(back), pixels)


def test_pillow_warnings_other_than_the_pixel_limit_reach_the_caller(tmp_path):
    image = Image.new('P', (2, 1))
    image.putpalette([250, 10, 20, 5, 6, 7] + [0] * (254 * 3))
    image.putpixel((1, 0), 1)
    image.save(tmp_path / 'p.png', transparency=bytes([0, 128] + [255] * 254))  # alpha per palette entry
    with pytest.warns(UserWarning, match='Transparency expressed in bytes'):
        pixels = np.asarray(load_image(tmp_path / 'p.png'))
    assert pixels.tolist() == [[[250, 10, 20], [5, 6, 7]]]  # the alpha is dropped, the colours kept


@pytest.fixture
def pyiqa_route(monkeypatch):
    """pyiqa's ``InferenceModel._to_batched_tensor`` replaced by a recorder, then routed by llmiqa."""
    from pyiqa.models.inference_model import InferenceModel

    calls = []

    def pyiqa_own(self, img):
        calls.append(img)
        return 'pyiqa'

    monkeypatch.setattr(InferenceModel, '_to_batched_tensor', pyiqa_own)
    route_llmiqa_inputs()
    return InferenceModel, pyiqa_own, calls


def _llmiqa_model():
    from pyiqa_llmiqa.metric.llmiqa_arch import LLMIQA

    return types.SimpleNamespace(net=LLMIQA.__new__(LLMIQA))  # the routing only asks what the net is


def test_routing_wraps_pyiqa_once(pyiqa_route):
    InferenceModel, pyiqa_own, _ = pyiqa_route
    routed = InferenceModel._to_batched_tensor
    assert routed is not pyiqa_own and routed.__wrapped__ is pyiqa_own
    route_llmiqa_inputs()
    route_llmiqa_inputs()
    assert InferenceModel._to_batched_tensor is routed  # not wrapped again


def test_llmiqa_reads_paths_and_pil_images_itself(pyiqa_route, tmp_path):
    InferenceModel, _, calls = pyiqa_route
    pixels = np.array([[[0, 51, 255], [102, 153, 204]]], np.uint8)  # 1 x 2
    Image.fromarray(pixels).save(tmp_path / 'a.png')
    expected = torch.tensor([[[[0.0, 0.4]], [[0.2, 0.6]], [[1.0, 0.8]]]])
    model = _llmiqa_model()
    for img in (tmp_path / 'a.png', str(tmp_path / 'a.png'), Image.fromarray(pixels)):
        x = InferenceModel._to_batched_tensor(model, img)
        assert tuple(x.shape) == (1, 3, 1, 2) and torch.allclose(x, expected)
    assert calls == []


def test_llmiqa_checks_tensors_then_hands_them_to_pyiqa(pyiqa_route):
    InferenceModel, _, calls = pyiqa_route
    model = _llmiqa_model()
    good = torch.full((1, 3, 2, 2), 0.5)
    assert InferenceModel._to_batched_tensor(model, good) == 'pyiqa'
    assert calls == [good]
    with pytest.raises(InputError, match='must lie in'):
        InferenceModel._to_batched_tensor(model, torch.full((1, 3, 2, 2), 3.0))
    assert calls == [good]


def test_other_metrics_keep_pyiqas_own_reading(pyiqa_route, tmp_path):
    InferenceModel, _, calls = pyiqa_route
    other = types.SimpleNamespace(net=torch.nn.Identity())
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert InferenceModel._to_batched_tensor(other, str(tmp_path / 'missing.png')) == 'pyiqa'
        assert InferenceModel._to_batched_tensor(other, torch.full((1, 3, 2, 2), 3.0)) == 'pyiqa'
    assert calls[0] == str(tmp_path / 'missing.png') and len(calls) == 2


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_tensors_reaching_one_are_scored(dtype, digit_backbone):
    """A valid half-precision tensor whose maximum is exactly 1.0 passes pyiqa's own range check
    (``max < 1 + 1e-6`` rounds to ``1 < 1`` in half precision) and scores as its float32 copy."""
    import pyiqa

    metric = pyiqa.create_metric('llmiqa_global', device='cpu', backbone=digit_backbone)
    x = torch.zeros(1, 3, 24, 32, dtype=dtype)
    x[0, :, :12] = 1.0
    x[0, 1, 12:] = 0.5
    assert metric(x).item() == metric(x.float()).item()


def test_half_precision_tensors_reach_pyiqa_in_float32(pyiqa_route):
    InferenceModel, _, calls = pyiqa_route
    half = torch.ones(1, 3, 2, 2, dtype=torch.float16)
    InferenceModel._to_batched_tensor(_llmiqa_model(), half)
    assert calls[0].dtype == torch.float32 and torch.equal(calls[0], half.float())
