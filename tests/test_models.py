"""models.LinearConvs: two convolutions with nothing between them, computed as the one they make.

It must be the two layers' function with the two layers' gradients, the input's included (float64:
equal to ~1e-13), for any kernel sizes and channel counts, with or without biases, in training and
under no_grad; bad layers are named.
"""

import pytest
import torch
from torch import nn

from labkit.models import LinearConvs, _Pair

SHAPES = [  # in, mid, out channels, first kernel, second kernel, image height, width, biases
    (1, 8, 16, (8, 8), (8, 8), 16, 16, True),  # the adam-epsilon case
    (2, 3, 4, (3, 2), (2, 4), 9, 11, True),
    (2, 3, 4, (3, 2), (2, 4), 9, 11, False),
    (3, 2, 5, (1, 1), (3, 3), 6, 5, True),
]


@pytest.mark.parametrize("i, c, o, k1, k2, h, w, bias", SHAPES)
def test_output_and_gradients_are_the_two_layers(i, c, o, k1, k2, h, w, bias):
    torch.manual_seed(0)
    first = nn.Conv2d(i, c, k1, bias=bias).double()
    second = nn.Conv2d(c, o, k2, bias=bias).double()
    if bias:  # non-zero biases, so the first bias really passes through the second layer
        nn.init.normal_(first.bias), nn.init.normal_(second.bias)
    pair = LinearConvs(first, second)
    x = torch.randn(5, i, h, w, dtype=torch.float64, requires_grad=True)
    composed, chained = pair(x), second(first(x))
    torch.testing.assert_close(composed, chained, rtol=1e-12, atol=1e-12)
    weight = torch.randn_like(chained)
    # the input's gradient too (x requires grad), then every weight's and bias's
    got = torch.autograd.grad((composed * weight).sum(), [x, *pair.parameters()])
    want = torch.autograd.grad((chained * weight).sum(), [x, *pair.parameters()])
    for g, e in zip(got, want):
        torch.testing.assert_close(g, e, rtol=1e-11, atol=1e-11)
    with torch.no_grad():  # the evaluation path: one convolution by the composed kernel
        torch.testing.assert_close(pair(x), chained, rtol=1e-12, atol=1e-12)
    kernel, b = pair.kernel()
    assert kernel.shape == (o, i, k1[0] + k2[0] - 1, k1[1] + k2[1] - 1) and (b is None) == (
        not bias
    )


def test_the_custom_backward_passes_gradcheck():
    torch.manual_seed(1)
    # i=2, composed kernel 4x5; the windows require grad, so their gradient is checked too
    windows = torch.randn(7, 2 * 4 * 5, dtype=torch.float64, requires_grad=True)
    w1 = torch.randn(3, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    b1 = torch.randn(3, dtype=torch.float64, requires_grad=True)
    w2 = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    b2 = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_Pair.apply, (windows, w1, b1, w2, b2))


def test_float32_training_step_matches_the_two_layers_closely():
    torch.manual_seed(2)
    first, second = nn.Conv2d(1, 8, 8), nn.Conv2d(8, 16, 8)
    pair = LinearConvs(first, second)
    x = torch.rand(64, 1, 16, 16)
    composed, chained = pair(x), second(first(x))
    torch.testing.assert_close(composed, chained, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "first, second, pattern",
    [
        (nn.Conv2d(1, 2, 3, stride=2), nn.Conv2d(2, 2, 3), "first=.*stride 1, no padding"),
        (nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3, padding=1), "second=.*stride 1, no padding"),
        (nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3, dilation=2), "second=.*no dilation"),
        (
            nn.Conv2d(1, 2, 3),
            nn.Conv2d(3, 2, 3),
            "second.in_channels=3 must equal first.out_channels=2",
        ),
        (nn.Linear(2, 2), nn.Conv2d(2, 2, 3), "first must be an nn.Conv2d, got Linear"),
    ],
)
def test_bad_layers_are_named(first, second, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        LinearConvs(first, second)


def test_bad_input_is_named():
    pair = LinearConvs(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3))
    with pytest.raises(
        ValueError, match=r"x must be \(batch, 1, height >= 5, width >= 5\), got \(2, 1, 4, 9\)"
    ):
        pair(torch.zeros(2, 1, 4, 9))
