import numpy as np
import pytest
import torch
import torch.nn.functional as F

from expressions.engines.keras_torch import KerasConv, KerasMaxPool, same_padding


def test_tf_same_padding_puts_extra_on_bottom_right():
    assert same_padding(64, 3, 2) == (0, 1)
    assert same_padding(64, 1, 2) == (0, 0)
    assert same_padding(7, 3, 1) == (1, 1)
    assert same_padding(5, 4, 1) == (1, 2)


def test_conv_same_stride2_matches_reference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 6, 6, 2)).astype(np.float32)  # NHWC
    k = rng.normal(size=(3, 3, 2, 4)).astype(np.float32)  # HWIO
    conv = KerasConv({"name": "c", "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "filters": 4, "use_bias": False}, 2, separable=False)
    conv.load({"kernel": k})
    got = conv(torch.from_numpy(x.transpose(0, 3, 1, 2)))[0].detach().numpy()
    padded = np.pad(x[0], ((0, 1), (0, 1), (0, 0)))  # TF: all padding bottom/right here
    ref = np.zeros((4, 3, 3), np.float32)
    for i in range(3):
        for j in range(3):
            ref[:, i, j] = np.einsum("hwc,hwco->o", padded[2 * i : 2 * i + 3, 2 * j : 2 * j + 3], k)
    assert np.allclose(got, ref, atol=1e-5)


def test_separable_is_depthwise_then_pointwise():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.normal(size=(1, 3, 5, 5)).astype(np.float32))
    dw = rng.normal(size=(3, 3, 3, 1)).astype(np.float32)
    pw = rng.normal(size=(1, 1, 3, 2)).astype(np.float32)
    sep = KerasConv({"name": "s", "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "filters": 2, "use_bias": False}, 3, separable=True)
    sep.load({"depthwise_kernel": dw, "pointwise_kernel": pw})
    mid = F.conv2d(F.pad(x, (1, 1, 1, 1)), torch.from_numpy(dw.transpose(2, 3, 0, 1)), groups=3)
    ref = torch.einsum("nchw,co->nohw", mid, torch.from_numpy(pw[0, 0]))
    assert torch.allclose(sep(x), ref, atol=1e-5)


def test_maxpool_same_pads_with_minus_inf():
    x = -torch.ones(1, 1, 4, 4)
    out = KerasMaxPool({"pool_size": [3, 3], "strides": [2, 2], "padding": "same"})(x)
    assert out.shape == (1, 1, 2, 2) and torch.all(out == -1)


def test_unknown_layer_rejected():
    from expressions.engines.keras_torch import KerasGraph

    with pytest.raises(ValueError, match="Dense"):
        KerasGraph({"config": {"layers": [{"class_name": "Dense", "config": {"name": "d"}}], "input_layers": [], "output_layers": []}})
