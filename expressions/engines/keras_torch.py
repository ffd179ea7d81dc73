"""A small Keras-JSON -> torch builder for exactly the layers a mini-Xception uses.

Reads the architecture from an HDF5 file's ``model_config`` attribute and the
weights from ``model_weights/<layer>`` (names listed in each group's
``weight_names`` attribute), and reproduces Keras/TensorFlow semantics:

- ``padding='same'`` pads ``max((ceil(n/s)-1)*s + k - n, 0)`` in total, with the
  extra pixel on the bottom/right (TF convention, unlike torch's symmetric pad);
  max-pooling pads with -inf so padding never wins the max.
- kernels are HWIO in Keras -> OIHW in torch; depthwise kernels HWC1 -> C1HW.
- ``SeparableConv2D`` = depthwise conv (groups=C, depth_multiplier) then a 1x1 pointwise conv.
- ``BatchNormalization`` uses the layer's own epsilon (Keras default 1e-3).
Supported: InputLayer, Conv2D, SeparableConv2D, BatchNormalization, Activation
(relu, softmax, linear), MaxPooling2D, Add, GlobalAveragePooling2D. Anything
else raises ``ValueError`` naming the layer type, so a different model fails loudly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SUPPORTED = {"InputLayer", "Conv2D", "SeparableConv2D", "BatchNormalization", "Activation", "MaxPooling2D", "Add", "GlobalAveragePooling2D"}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF 'same' padding (before, after) along one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], value: float = 0.0) -> torch.Tensor:
    top, bottom = same_padding(x.shape[-2], kernel[0], stride[0])
    left, right = same_padding(x.shape[-1], kernel[1], stride[1])
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom), value=value)
    return x


def _activation(name: str):
    if name in ("linear", None):
        return lambda x: x
    if name == "relu":
        return F.relu
    if name == "softmax":
        return lambda x: F.softmax(x, dim=1)
    raise ValueError(f"unsupported activation {name!r}")


class KerasConv(nn.Module):
    """Conv2D or SeparableConv2D with Keras 'same'/'valid' padding and optional fused activation."""

    def __init__(self, cfg: dict, in_ch: int, separable: bool):
        super().__init__()
        if cfg.get("data_format", "channels_last") != "channels_last" or tuple(cfg.get("dilation_rate", (1, 1))) != (1, 1):
            raise ValueError(f"layer {cfg['name']}: only channels_last, undilated convolutions are supported")
        self.kernel = tuple(cfg["kernel_size"])
        self.stride = tuple(cfg["strides"])
        self.same = cfg["padding"] == "same"
        self.act = _activation(cfg.get("activation", "linear"))
        bias = bool(cfg.get("use_bias", True))
        self.separable = separable
        if separable:
            mult = int(cfg.get("depth_multiplier", 1))
            self.depthwise = nn.Conv2d(in_ch, in_ch * mult, self.kernel, self.stride, groups=in_ch, bias=False)
            self.pointwise = nn.Conv2d(in_ch * mult, cfg["filters"], 1, bias=bias)
        else:
            self.conv = nn.Conv2d(in_ch, cfg["filters"], self.kernel, self.stride, bias=bias)
        self.out_ch = cfg["filters"]

    def load(self, weights: dict[str, np.ndarray]) -> None:
        with torch.no_grad():
            if self.separable:
                dw = weights["depthwise_kernel"]  # H, W, C, M -> C*M, 1, H, W
                h, w, c, m = dw.shape
                self.depthwise.weight.copy_(torch.from_numpy(dw.transpose(2, 3, 0, 1).reshape(c * m, 1, h, w)))
                self.pointwise.weight.copy_(torch.from_numpy(weights["pointwise_kernel"].transpose(3, 2, 0, 1)))
                if self.pointwise.bias is not None:
                    self.pointwise.bias.copy_(torch.from_numpy(weights["bias"]))
            else:
                self.conv.weight.copy_(torch.from_numpy(weights["kernel"].transpose(3, 2, 0, 1)))
                if self.conv.bias is not None:
                    self.conv.bias.copy_(torch.from_numpy(weights["bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = _pad_same(x, self.kernel, self.stride)
        x = self.pointwise(self.depthwise(x)) if self.separable else self.conv(x)
        return self.act(x)


class KerasBatchNorm(nn.BatchNorm2d):
    def __init__(self, cfg: dict, channels: int):
        super().__init__(channels, eps=float(cfg.get("epsilon", 1e-3)), affine=True)
        self.center, self.scale = bool(cfg.get("center", True)), bool(cfg.get("scale", True))

    def load(self, weights: dict[str, np.ndarray]) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(weights["gamma"]) if self.scale else torch.ones_like(self.weight))
            self.bias.copy_(torch.from_numpy(weights["beta"]) if self.center else torch.zeros_like(self.bias))
            self.running_mean.copy_(torch.from_numpy(weights["moving_mean"]))
            self.running_var.copy_(torch.from_numpy(weights["moving_variance"]))


class KerasMaxPool(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.kernel = tuple(cfg["pool_size"])
        self.stride = tuple(cfg.get("strides") or cfg["pool_size"])
        self.same = cfg.get("padding", "valid") == "same"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = _pad_same(x, self.kernel, self.stride, value=float("-inf"))
        return F.max_pool2d(x, self.kernel, self.stride)


class KerasGraph(nn.Module):
    """A functional Keras model evaluated node by node in the config's (topological) order."""

    def __init__(self, model_config: dict):
        super().__init__()
        cfg = model_config["config"]
        self.order: list[tuple[str, str, list[str]]] = []  # (name, class, inbound names)
        self.layers = nn.ModuleDict()
        self.activations: dict[str, str] = {}
        channels: dict[str, int] = {}
        for layer in cfg["layers"]:
            kind, lc = layer["class_name"], layer["config"]
            name = lc["name"]
            if kind not in SUPPORTED:
                raise ValueError(f"unsupported Keras layer type {kind} ({name})")
            inbound = [n[0] for n in layer["inbound_nodes"][0]] if layer.get("inbound_nodes") else []
            in_ch = channels[inbound[0]] if inbound else 0
            if kind == "InputLayer":
                channels[name] = int(lc["batch_input_shape"][-1])
                self.input_shape = tuple(lc["batch_input_shape"][1:])
            elif kind in ("Conv2D", "SeparableConv2D"):
                mod = KerasConv(lc, in_ch, separable=kind == "SeparableConv2D")
                self.layers[name] = mod
                channels[name] = mod.out_ch
            elif kind == "BatchNormalization":
                self.layers[name] = KerasBatchNorm(lc, in_ch)
                channels[name] = in_ch
            elif kind == "MaxPooling2D":
                self.layers[name] = KerasMaxPool(lc)
                channels[name] = in_ch
            else:
                if kind == "Activation":
                    _activation(lc["activation"])  # reject unknown activations at build time
                    self.activations[name] = lc["activation"]
                channels[name] = in_ch
            self.order.append((name, kind, inbound))
        self.input_name = cfg["input_layers"][0][0]
        self.output_name = cfg["output_layers"][0][0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {}
        for name, kind, inbound in self.order:
            if kind == "InputLayer":
                values[name] = x
            elif kind == "Add":
                values[name] = torch.stack([values[i] for i in inbound]).sum(0)
            elif kind == "Activation":
                values[name] = _activation(self.activations[name])(values[inbound[0]])
            elif kind == "GlobalAveragePooling2D":
                values[name] = values[inbound[0]].mean(dim=(2, 3))
            else:
                values[name] = self.layers[name](values[inbound[0]])
        return values[self.output_name]


def _layer_weights(group) -> dict[str, np.ndarray]:
    """``{'kernel': array, ...}`` from a ``model_weights/<layer>`` group, by its ``weight_names``."""
    out = {}
    for raw in group.attrs.get("weight_names", []):
        wname = raw.decode() if isinstance(raw, bytes) else str(raw)
        short = wname.split("/")[-1].split(":")[0]
        out[short] = np.asarray(group[wname], dtype=np.float32)
    return out


def load_keras_hdf5(path: Path) -> KerasGraph:
    """Build the network the HDF5 file describes and load its weights (eval mode)."""
    import h5py

    with h5py.File(path, "r") as fh:
        raw = fh.attrs["model_config"]
        model = KerasGraph(json.loads(raw.decode() if isinstance(raw, bytes) else raw))
        weights_root = fh["model_weights"]
        for name, module in model.layers.items():
            if hasattr(module, "load"):
                if name not in weights_root:
                    raise ValueError(f"no weights for layer {name}")
                module.load(_layer_weights(weights_root[name]))
    return model.eval()
