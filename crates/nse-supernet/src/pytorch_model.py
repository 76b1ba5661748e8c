"""{{NAME}}: a network of a search space of NSE, exported by `nse export --pytorch`.

Plain torch.nn: this file depends on PyTorch only (and `safetensors` to read the weights).

    import torch
    from safetensors.torch import load_file
    from model import build

    model = build()
    model.load_state_dict(load_file("model.safetensors"), strict=True)
    model.eval()
    images = torch.rand(1, {{CHANNELS}}, {{SIZE}}, {{SIZE}})  # pixels in [0, 1]
    logits = model(normalize(images))

`normalize` applies the per-channel mean and standard deviation the network was trained with
(`ARCHITECTURE["normalize"]`, recorded for retrained networks; none for fresh weights).

`python model.py` (in this folder) loads the weights as above and compares its logits with
those nse computed for the sample input in check.safetensors: it prints the largest absolute
difference and exits with status 1 when it exceeds 1e-4.

The network: a 3x3 stem (conv, batch norm, ReLU), then the cells of the architecture (empty
ones dropped), each the mean of its branches, plus its input when the cell is residual
(`(x + sum of branches) / (branches + 1)`), then a 1x1 conv with ReLU, global average pooling
and a linear classifier. Batch norms use PyTorch's defaults (eps 1e-5, momentum 0.1), as the
network was trained with; the running variances saved by nse are biased estimates, which only
matters when training on from them.
"""

import json
import sys
from pathlib import Path

import torch
from torch import nn

# The architecture: stem, cells (with their geometry and ops) and tail.
ARCHITECTURE = json.loads(
    r"""{{ARCHITECTURE}}"""
)


def normalize(images):
    """Normalises images with pixels in [0, 1] as the network's inputs were; returns them
    unchanged when the export recorded no normalisation."""
    stats = ARCHITECTURE.get("normalize")
    if not stats:
        return images
    shape = (1, -1, 1, 1)
    mean = torch.tensor(stats["mean"], dtype=images.dtype).view(shape)
    std = torch.tensor(stats["std"], dtype=images.dtype).view(shape)
    return (images - mean) / std


def activation(name):
    """The activation of an op: `relu` or `swish` (SiLU)."""
    if name == "relu":
        return nn.ReLU()
    if name == "swish":
        return nn.SiLU()
    raise ValueError(f"unknown activation {name!r}")


class ConvBn(nn.Module):
    """Conv without bias, batch norm, optional activation."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, dilation=1, groups=1, act=None):
        super().__init__()
        self.conv = nn.Conv2d(
            cin, cout, kernel, stride=stride, padding=padding, dilation=dilation,
            groups=groups, bias=False,
        )
        self.bn = nn.BatchNorm2d(cout)
        self.act = activation(act) if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global mean, 1x1 reduce to channels // 4, activation, 1x1
    expand, sigmoid gate."""

    def __init__(self, channels, act):
        super().__init__()
        reduced = max(channels // 4, 1)
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.act = activation(act)

    def forward(self, x):
        scale = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(self.act(self.reduce(scale))))


class Op(nn.Module):
    """One candidate op: 1x1 expansion, the family's spatial convs, optional SE, 1x1
    projection without activation. Families: `ir` (depthwise kxk, dilation, grouped 1x1s),
    `conv` (full kxk), `dual` (two full kxk, the second strided), `rec` (1xk then kx1)."""

    def __init__(self, op, cin, cout, stride):
        super().__init__()
        family, k, act = op["family"], op["kernel"], op["activation"]
        hidden = cin * op["expansion"]
        dilation = op["dilation"]
        pad = dilation * (k - 1) // 2
        groups_in, groups_out = op["groups"]
        self.family = family
        self.expand = ConvBn(cin, hidden, 1, groups=groups_in, act=act)
        if family == "ir":
            self.depthwise = ConvBn(hidden, hidden, k, stride, pad, dilation, hidden, act)
        elif family == "conv":
            self.conv = ConvBn(hidden, hidden, k, stride, pad, act=act)
        elif family == "dual":
            self.conv1 = ConvBn(hidden, hidden, k, 1, pad, act=act)
            self.conv2 = ConvBn(hidden, hidden, k, stride, pad, act=act)
        elif family == "rec":
            self.row = ConvBn(hidden, hidden, (1, k), (1, stride), (0, pad), act=act)
            self.column = ConvBn(hidden, hidden, (k, 1), (stride, 1), (pad, 0), act=act)
        else:
            raise ValueError(f"unknown op family {family!r}")
        self.se = SqueezeExcite(hidden, act) if op["se"] else None
        self.project = ConvBn(hidden, cout, 1, groups=groups_out)

    def forward(self, x):
        y = self.expand(x)
        if self.family == "ir":
            y = self.depthwise(y)
        elif self.family == "conv":
            y = self.conv(y)
        elif self.family == "dual":
            y = self.conv2(self.conv1(y))
        else:
            y = self.column(self.row(y))
        if self.se is not None:
            y = self.se(y)
        return self.project(y)


class Cell(nn.Module):
    """The branches of one cell, averaged (with the input when residual)."""

    def __init__(self, cell):
        super().__init__()
        self.ops = nn.ModuleList(
            Op(op, cell["cin"], cell["cout"], cell["stride"]) for op in cell["ops"]
        )
        self.residual = cell["residual"]

    def forward(self, x):
        total, terms = (x, 1) if self.residual else (None, 0)
        for op in self.ops:
            y = op(x)
            total = y if total is None else total + y
            terms += 1
        return total if terms == 1 else total / terms


class Stem(nn.Module):
    """3x3 conv (padding 1), batch norm, ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = ConvBn(cin, cout, 3, stride, 1, act="relu")

    def forward(self, x):
        return self.conv(x)


class Tail(nn.Module):
    """1x1 conv without bias, ReLU, global average pooling, linear classifier."""

    def __init__(self, cin, channels, classes):
        super().__init__()
        self.conv = nn.Conv2d(cin, channels, 1, bias=False)
        self.classifier = nn.Linear(channels, classes)

    def forward(self, x):
        y = torch.relu(self.conv(x)).mean(dim=(2, 3))
        return self.classifier(y)


class Network(nn.Module):
    """Stem, cells, tail; input `[batch, input_channels, input_size, input_size]`."""

    def __init__(self, arch):
        super().__init__()
        stem, tail = arch["stem"], arch["tail"]
        self.stem = Stem(arch["input_channels"], stem["channels"], stem["stride"])
        self.cells = nn.ModuleList(Cell(cell) for cell in arch["cells"])
        self.tail = Tail(tail["input_channels"], tail["channels"], tail["classes"])

    def forward(self, x):
        y = self.stem(x)
        for cell in self.cells:
            y = cell(y)
        return self.tail(y)


def build():
    """The network of this file's architecture, with fresh weights (load the exported ones
    with `load_state_dict`)."""
    return Network(ARCHITECTURE)


def check(folder, tolerance=1e-4):
    """Loads the exported weights strictly, runs the sample input of check.safetensors in
    eval mode and returns the largest absolute difference to nse's logits."""
    from safetensors.torch import load_file

    folder = Path(folder)
    model = build()
    model.load_state_dict(load_file(folder / "model.safetensors"), strict=True)
    model.eval()
    sample = load_file(folder / "check.safetensors")
    with torch.no_grad():
        logits = model(sample["input"])
    if logits.shape != sample["logits"].shape:
        raise SystemExit(f"logits of shape {tuple(logits.shape)}, nse's {tuple(sample['logits'].shape)}")
    diff = (logits - sample["logits"]).abs().max().item()
    scale = sample["logits"].abs().max().item()
    print(
        f"{ARCHITECTURE['name']}: max abs difference to nse's logits {diff:.3g} "
        f"(largest logit {scale:.3g}, tolerance {tolerance:g})"
    )
    return diff <= tolerance


if __name__ == "__main__":
    sys.exit(0 if check(Path(__file__).resolve().parent) else 1)
