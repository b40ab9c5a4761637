"""Small model builders: 2D/1D CNNs, the oscillating case's oversized net, a bottleneck net, an MLP."""

from __future__ import annotations

from torch import nn


def _sizes(**named: object) -> None:
    """Raise if any named size is not a positive int (tuples: each entry)."""
    for name, value in named.items():
        values = value if isinstance(value, tuple) else (value,)
        if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            raise ValueError(f"{name}={value!r} is not allowed; allowed: positive int(s)")


def _rate(dropout: float) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout={dropout!r} is out of range; allowed: 0 <= dropout < 1")


def conv2d_net(in_channels: int, out_features: int, widths: tuple[int, ...] = (16, 32),
               dense: int = 64, dropout: float = 0.0, batch_norm: bool = False,
               head: nn.Module | None = None) -> nn.Sequential:
    """Return stride-2 3x3 convs -> global average pool -> dense -> output (raw unless ``head``).

    Parameters
    ----------
    widths:
        Channels of each conv; each halves the spatial size (stride-2 convs are 4-7x faster
        than max-pooling on small CPUs).
    dense:
        Width of the hidden dense layer; 0 for none.
    head:
        Module applied to the output (e.g. ``nn.Tanh()``), None for raw outputs.
    """
    _sizes(in_channels=in_channels, out_features=out_features, widths=widths)
    _rate(dropout)
    layers: list[nn.Module] = []
    c = in_channels
    for w in widths:
        layers += [nn.Conv2d(c, w, 3, stride=2, padding=1)]
        layers += [nn.BatchNorm2d(w)] if batch_norm else []
        layers += [nn.ReLU()]
        c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if dense:
        layers += [nn.Dropout(dropout)] if dropout else []
        layers += [nn.Linear(c, dense), nn.ReLU()]
        c = dense
    layers += [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Linear(c, out_features)]
    layers += [head] if head is not None else []
    return nn.Sequential(*layers)


def flat_conv2d_net(in_shape: tuple[int, int, int], out_features: int, widths: tuple[int, ...] = (16, 32),
                    dense: int = 64, dropout: float = 0.0, head: nn.Module | None = None) -> nn.Sequential:
    """Return stride-2 convs -> Flatten -> dense -> output: keeps *where* things are, unlike pooling."""
    _sizes(in_shape=in_shape, out_features=out_features, widths=widths, dense=dense)
    _rate(dropout)
    c, h, w = in_shape
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Conv2d(c, width, 3, stride=2, padding=1), nn.ReLU()]
        c, h, w = width, (h + 1) // 2, (w + 1) // 2
    layers += [nn.Flatten(), nn.Dropout(dropout), nn.Linear(c * h * w, dense), nn.ReLU(),
               nn.Dropout(dropout), nn.Linear(dense, out_features)]
    layers += [head] if head is not None else []
    return nn.Sequential(*layers)


def conv1d_net(in_channels: int, out_features: int, widths: tuple[int, ...] = (16, 32, 32),
               batch_norm: bool = True, dropout: float = 0.0) -> nn.Sequential:
    """Return (Conv1d -> BatchNorm -> ReLU) blocks -> global average pool -> linear logits."""
    _sizes(in_channels=in_channels, out_features=out_features, widths=widths)
    _rate(dropout)
    layers: list[nn.Module] = []
    c = in_channels
    for w in widths:
        layers += [nn.Conv1d(c, w, 5, stride=2, padding=2)]
        layers += [nn.BatchNorm1d(w)] if batch_norm else []
        layers += [nn.ReLU()]
        c = w
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten()]
    layers += [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Linear(c, out_features)]
    return nn.Sequential(*layers)


def mlp(sizes: tuple[int, ...], head: nn.Module | None = None) -> nn.Sequential:
    """Return Flatten -> Linear/ReLU layers of ``sizes`` (no ReLU after the last)."""
    _sizes(sizes=sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes={sizes!r} is not allowed; allowed: at least an input and an output size")
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    layers += [head] if head is not None else []
    return nn.Sequential(*layers)


def backbone(in_channels: int, widths: tuple[int, ...] = (16, 32)) -> nn.Sequential:
    """Return a feature extractor (stride-2 convs -> pooled features) to pretrain and freeze."""
    _sizes(in_channels=in_channels, widths=widths)
    layers: list[nn.Module] = []
    c = in_channels
    for w in widths:
        layers += [nn.Conv2d(c, w, 3, stride=2, padding=1), nn.ReLU()]
        c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


def count_params(model: nn.Module) -> int:
    """Return the number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
