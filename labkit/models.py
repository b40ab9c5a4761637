"""Small model builders: stride-2 CNNs in 2D and 1D and a backbone to pretrain, plus
``LinearConvs``: two convolutions with nothing between them computed as the one convolution they
make (the adam-epsilon case's network, about 1.5x cheaper per step on a CPU)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .knobs import is_int, is_number, must_be, require


def _sizes(dropout: float = 0.0, **named: object) -> None:
    """Raise unless every named size is a positive int (tuples: each entry) and 0 <= dropout < 1."""
    for name, value in named.items():
        values = value if isinstance(value, tuple) else (value,)
        ok = values and all(is_int(v) and v > 0 for v in values)
        require(bool(ok), name, value, "positive int(s)", "not allowed")
    require(is_number(dropout) and 0 <= dropout < 1, "dropout", dropout, "0 <= dropout < 1")


def optional_dropout(p: float) -> list[nn.Module]:
    """Return [nn.Dropout(p)], or no layer when p is 0."""
    return [nn.Dropout(p)] if p else []


def conv_blocks(
    in_channels: int,
    widths: tuple[int, ...],
    *,
    dim: int = 2,
    kernel: int = 3,
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> list[nn.Module]:
    """Return conv -> [BatchNorm] -> ReLU -> [Dropout] for each width; ``dim`` 1 or 2.

    Each conv has stride 2 and "same" padding, so it halves the size (stride-2 convs are 4-7x faster
    than max-pooling on small CPUs).
    """
    conv, norm = (nn.Conv1d, nn.BatchNorm1d) if dim == 1 else (nn.Conv2d, nn.BatchNorm2d)
    layers: list[nn.Module] = []
    for c, w in zip((in_channels, *widths), widths):
        layers += [conv(c, w, kernel, stride=2, padding=kernel // 2)]
        layers += [norm(w)] if batch_norm else []
        layers += [nn.ReLU(), *optional_dropout(dropout)]
    return layers


def halved(size: int, times: int) -> int:
    """Return a side of ``size`` after ``times`` stride-2 convs with "same" padding."""
    for _ in range(times):
        size = (size + 1) // 2  # a stride-2 conv with "same" padding rounds up
    return size


def conv2d_net(
    in_channels: int,
    out_features: int,
    widths: tuple[int, ...] = (16, 32),
    dense: int = 64,
    dropout: float = 0.0,
    batch_norm: bool = False,
    head: nn.Module | None = None,
) -> nn.Sequential:
    """Return stride-2 3x3 convs (``widths`` channels) -> global average pool -> dense (``dense``
    units, 0: none) -> output -> ``head`` (e.g. ``nn.Tanh()``; None: raw outputs)."""
    _sizes(dropout, in_channels=in_channels, out_features=out_features, widths=widths)
    layers = conv_blocks(in_channels, widths, batch_norm=batch_norm)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    c = widths[-1]
    if dense:
        layers += [*optional_dropout(dropout), nn.Linear(c, dense), nn.ReLU()]
        c = dense
    layers += [*optional_dropout(dropout), nn.Linear(c, out_features)]
    return nn.Sequential(*layers, *([head] if head is not None else []))


def flat_conv2d_net(
    in_shape: tuple[int, int, int],
    out_features: int,
    widths: tuple[int, ...] = (16, 32),
    dense: int = 64,
    dropout: float = 0.0,
    head: nn.Module | None = None,
) -> nn.Sequential:
    """Return stride-2 convs -> Flatten -> dense -> output: keeps *where* things are, unlike
    pooling."""
    _sizes(dropout, in_shape=in_shape, out_features=out_features, widths=widths, dense=dense)
    c, h, w = in_shape
    flat = widths[-1] * halved(h, len(widths)) * halved(w, len(widths))
    layers = [
        *conv_blocks(c, widths),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(flat, dense),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(dense, out_features),
    ]
    return nn.Sequential(*layers, *([head] if head is not None else []))


def conv1d_net(
    in_channels: int,
    out_features: int,
    widths: tuple[int, ...] = (16, 32, 32),
    batch_norm: bool = True,
    dropout: float = 0.0,
) -> nn.Sequential:
    """Return (Conv1d -> BatchNorm -> ReLU) blocks -> global average pool -> linear logits."""
    _sizes(dropout, in_channels=in_channels, out_features=out_features, widths=widths)
    layers = conv_blocks(in_channels, widths, dim=1, kernel=5, batch_norm=batch_norm)
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), *optional_dropout(dropout)]
    return nn.Sequential(*layers, nn.Linear(widths[-1], out_features))


def backbone(in_channels: int, widths: tuple[int, ...] = (16, 32)) -> nn.Sequential:
    """Return a feature extractor (stride-2 convs -> pooled features) to pretrain and freeze."""
    _sizes(in_channels=in_channels, widths=widths)
    return nn.Sequential(*conv_blocks(in_channels, widths), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def keras_init(model: nn.Module) -> nn.Module:
    """Initialise every conv and dense layer as Keras does: Glorot-uniform weights, zero biases."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def count_params(model: nn.Module) -> int:
    """Return the number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class LinearConvs(nn.Module):
    """Two convolutions with no activation between them (``second(first(x))``), computed as one.

    Two stacked convolutions are one linear map: a convolution whose kernel is the two kernels
    convolved together (kh1 + kh2 - 1 by kw1 + kw2 - 1) and whose bias is ``second``'s plus
    ``first``'s pushed through ``second``. Both layers stay the trained parameters and get the
    two-layer form's gradients (up to float rounding, ~1e-6 relative), but the output takes fewer
    multiply-adds: an adam-epsilon step on 64 16x16 images takes ~0.56 ms instead of ~0.94 ms on one
    CPU thread (benchmarks/RESULTS.md). Both must be plain ``nn.Conv2d`` (stride 1, no padding, no
    dilation, one group) with ``second.in_channels == first.out_channels``.
    """

    def __init__(self, first: nn.Conv2d, second: nn.Conv2d) -> None:
        super().__init__()
        for name, conv in (("first", first), ("second", second)):
            must_be(name, conv, nn.Conv2d, "an nn.Conv2d")
            plain = conv.stride == conv.dilation == (1, 1) and conv.groups == 1
            plain = plain and conv.padding in ((0, 0), "valid")
            require(plain, name, conv, "stride 1, no padding, no dilation, groups 1", "not allowed")
        if second.in_channels != first.out_channels:
            raise ValueError(
                f"second.in_channels={second.in_channels} must equal first.out_channels="
                f"{first.out_channels}"
            )
        self.first, self.second = first, second
        (h1, w1), (h2, w2) = first.kernel_size, second.kernel_size
        self.size = (h1 + h2 - 1, w1 + w2 - 1)  # the composed kernel's (height, width)

    def kernel(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return the composed kernel (out, in, height, width) and bias (out,) or None, no
        autograd."""
        with torch.no_grad():
            kernel = _compose(self.first.weight, self.second.weight)
            bias = _bias(self.first.bias, self.second.weight, self.second.bias)
        return kernel.view(kernel.shape[0], -1, *self.size), bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - nn.Module.forward
        sh, sw = self.size
        i = self.first.in_channels
        if x.dim() != 4 or x.shape[1] != i or x.shape[2] < sh or x.shape[3] < sw:
            raise ValueError(
                f"x must be (batch, {i}, height >= {sh}, width >= {sw}), got {tuple(x.shape)}"
            )
        if not torch.is_grad_enabled():  # a measurement or evaluation: one convolution
            kernel, bias = self.kernel()
            # channels-last like the training path's output: a max-pool of a tiny map is ~10x faster
            out = nn.functional.conv2d(x, kernel, bias)
            return out.contiguous(memory_format=torch.channels_last)
        n, oh, ow = x.shape[0], x.shape[2] - sh + 1, x.shape[3] - sw + 1
        windows = x.unfold(2, sh, 1).unfold(3, sw, 1).permute(0, 2, 3, 1, 4, 5)
        windows = windows.reshape(n * oh * ow, i * sh * sw)
        first, second = self.first, self.second
        y = _Pair.apply(windows, first.weight, first.bias, second.weight, second.bias)
        return y.view(n, oh, ow, -1).permute(0, 3, 1, 2)


def _compose(w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """Return the kernel of conv(w2) after conv(w1) as (o, i * sh * sw).

    kernel[o, j, a + u, b + v] sums w2[o, c, a, b] * w1[c, j, u, v] over c and every (a, b), (u, v)
    landing there: w1 is copied to every tap (a, b) of w2 (a strided view of a zero tensor), then
    one matrix product sums over c and the taps.
    """
    c, i, kh1, kw1 = w1.shape
    o, _, kh2, kw2 = w2.shape
    spread = w1.new_zeros(c, kh2, kw2, i, kh1 + kh2 - 1, kw1 + kw2 - 1)
    s = spread.stride()  # taps[c, a, b, j, u, v] is spread[c, a, b, j, a + u, b + v]
    strides = (s[0], s[1] + s[4], s[2] + s[5], s[3], s[4], s[5])
    spread.as_strided((c, kh2, kw2, i, kh1, kw1), strides).copy_(w1[:, None, None])
    return w2.reshape(o, c * kh2 * kw2) @ spread.reshape(c * kh2 * kw2, -1)


def _bias(
    b1: torch.Tensor | None, w2: torch.Tensor, b2: torch.Tensor | None
) -> torch.Tensor | None:
    """Return the composed bias: b2 plus b1 pushed through w2 (None when neither layer has one)."""
    through = w2.sum((2, 3)) @ b1 if b1 is not None else None
    return b2 if through is None else through if b2 is None else b2 + through


class _Pair(torch.autograd.Function):
    """y = windows @ kernel.T + bias for the composed kernel and bias: one autograd node for both
    layers, whose backward reads the kernel's gradient at every tap (a strided view) with two small
    matrix products instead of autograd's dozen nodes (~0.3 ms less per adam-epsilon step)."""

    @staticmethod
    def forward(
        ctx: Any,
        windows: torch.Tensor,
        w1: torch.Tensor,
        b1: torch.Tensor | None,
        w2: torch.Tensor,
        b2: torch.Tensor | None,
    ) -> torch.Tensor:  # noqa: D102
        kernel, bias = _compose(w1, w2), _bias(b1, w2, b2)
        # the composed kernel is kept only for the input's gradient, which training never asks for
        ctx.save_for_backward(windows, w1, b1, w2, kernel if ctx.needs_input_grad[0] else None)
        ctx.has_b2 = b2 is not None
        return torch.addmm(bias, windows, kernel.t()) if bias is not None else windows @ kernel.t()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # noqa: D102
        windows, w1, b1, w2, kernel = ctx.saved_tensors
        grad_windows = grad @ kernel if kernel is not None else None
        c, i, kh1, kw1 = w1.shape
        o, _, kh2, kw2 = w2.shape
        g = (grad.t() @ windows).view(o, i, kh1 + kh2 - 1, kw1 + kw2 - 1)  # the kernel's gradient
        s = g.stride()  # at[o, a, b, j, u, v] = g[o, j, a + u, b + v]
        at = g.as_strided((o, kh2, kw2, i, kh1, kw1), (s[0], s[2], s[3], s[1], s[2], s[3]))
        at = at.reshape(o * kh2 * kw2, i * kh1 * kw1)
        grad_w2 = (at @ w1.reshape(c, -1).t()).view(o, kh2, kw2, c).permute(0, 3, 1, 2)
        grad_w1 = (w2.permute(1, 0, 2, 3).reshape(c, o * kh2 * kw2) @ at).view(c, i, kh1, kw1)
        grad_bias = grad.sum(0)
        grad_b1 = None
        if b1 is not None:  # bias = b2 + w2.sum((2, 3)) @ b1
            grad_b1 = w2.sum((2, 3)).t() @ grad_bias
            grad_w2 = grad_w2 + torch.outer(grad_bias, b1)[:, :, None, None]
        grad_b2 = grad_bias if ctx.has_b2 else None
        return grad_windows, grad_w1, grad_b1, grad_w2.contiguous(), grad_b2
