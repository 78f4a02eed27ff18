"""The fast stylisation path: each rewrite against the layers it replaces, and the whole."""

import os
import platform
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import central_difference, tape_gradient
from style_transfer import cin_inference, cin_network


def correlate(x, kernel):
    """VALID cross-correlation of one image (H, W, C) with (k, k, C, D), tap by tap."""
    k = kernel.shape[0]
    height, width = x.shape[0] - k + 1, x.shape[1] - k + 1
    return sum(x[p:p + height, q:q + width] @ kernel[p, q] for p in range(k) for q in range(k))


def upsample_reference(x, kernel):
    """What the network does: nearest x2, reflection pad 1, 3x3 correlation."""
    upsampled = x.repeat(2, axis=0).repeat(2, axis=1)
    return correlate(np.pad(upsampled, ((1, 1), (1, 1), (0, 0)), mode="reflect"), kernel)


def edge_padded(x):
    return np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="symmetric")


@pytest.mark.parametrize("height, width", [(5, 7), (2, 3)])
def test_upsample_conv_equals_upsampling_then_convolution(height, width, rng):
    x = rng.normal(size=(height, width, 3))
    kernel = rng.normal(size=(3, 3, 3, 4))
    fast = cin_inference.upsample_conv(edge_padded(x[None]),
                                       cin_inference.subpixel_kernel(kernel))
    np.testing.assert_allclose(fast.numpy()[0], upsample_reference(x, kernel), atol=1e-10)


@pytest.mark.parametrize("size, kernel_size, block", [((17, 20), 9, 2), ((16, 16), 9, 2),
                                                      ((11, 13), 5, 3), ((6, 7), 3, 2)])
def test_space_to_depth_conv_equals_the_direct_convolution(size, kernel_size, block, rng):
    x = rng.normal(size=(*size, 3))
    kernel = rng.normal(size=(kernel_size, kernel_size, 3, 2))
    fast = cin_inference.space_to_depth_conv(
        x[None], cin_inference.space_to_depth_kernel(kernel, block), kernel_size, block)
    np.testing.assert_allclose(fast.numpy()[0], correlate(x, kernel), atol=1e-10)


def test_rewritten_convolutions_have_the_gradient_of_central_differences(rng):
    x = rng.normal(size=(1, 6, 5, 2))
    up_kernel = cin_inference.subpixel_kernel(rng.normal(size=(3, 3, 2, 3)))
    block_kernel = cin_inference.space_to_depth_kernel(rng.normal(size=(5, 5, 2, 3)))
    weights = rng.normal(size=(1, 12, 10, 3)), rng.normal(size=(1, 4, 3, 3))
    padded = edge_padded(x)
    for function in (
            lambda v: tf.reduce_sum(cin_inference.upsample_conv(v, up_kernel) * weights[0]),
            lambda v: tf.reduce_sum(cin_inference.space_to_depth_conv(v, block_kernel, 5)
                                    * weights[1])):
        indices = [(0, *rng.integers(0, padded.shape[1:])) for _ in range(6)]
        numeric = central_difference(lambda v: function(tf.constant(v)).numpy(), padded,
                                     indices, 1e-6)
        analytic = tape_gradient(function, padded)
        np.testing.assert_allclose([analytic[i] for i in indices], numeric, rtol=1e-6,
                                   atol=1e-8)


@pytest.fixture(scope="module")
def network():
    """A narrow transformer with random γ, β and biases (fresh ones are 1, 0 and 0; the
    biases of networks trained before they were dropped, which the Stylizer drops)."""
    rng = np.random.default_rng(1)
    network = cin_network.transformer_network(3, base_filters=8, num_residual_blocks=2,
                                      conv_biases=True)
    for variable in network.weights:
        if variable.name in ("gamma", "beta", "bias"):
            mean = 1.0 if variable.name == "gamma" else 0.0
            variable.assign(rng.normal(mean, 0.3, variable.shape).astype(np.float32))
    return network


def test_stylizer_equals_the_keras_network(network, rng):
    photos = rng.uniform(0, 255, (2, 36, 44, 3)).astype(np.float32)
    weights = np.array([[1, 0, 0], [0.2, 0.5, 0.3]], np.float32)
    expected = network([photos, weights]).numpy()
    float32 = cin_inference.Stylizer(network, "float32")([photos, weights]).numpy()
    np.testing.assert_allclose(float32, expected, atol=0.02)  # Grey levels of 255.
    bfloat16 = cin_inference.Stylizer(network, "bfloat16")([photos, weights]).numpy()
    assert np.abs(bfloat16 - expected).mean() < 3 and np.abs(bfloat16 - expected).max() < 40
    assert np.abs(bfloat16 - expected).max() > 1e-3  # It did compute in bfloat16.


def test_stylize_image_takes_any_size(network, rng):
    photo = rng.uniform(0, 255, (30, 21, 3)).astype(np.float32)
    weights = cin_network.style_weights(3, {2: 1.0})
    out = cin_inference.stylize_image(cin_inference.Stylizer(network, "float32"), photo,
                                       weights)
    padded = np.pad(photo, ((0, 2), (0, 3), (0, 0)), mode="reflect")
    expected = network([padded[None], np.array([weights], np.float32)]).numpy()[0, :30, :21]
    np.testing.assert_allclose(out, expected, atol=0.02)


@pytest.mark.parametrize("height, width", [(1, 1), (3, 5), (7, 18)])
def test_stylize_image_takes_photos_smaller_than_the_network_reaches(network, rng, height,
                                                                      width):
    """Below 16 px a side the reflections of the 9x9 convolution and of the residual
    blocks would not fit: the photo is reflected out to 16 (a multiple of 4 beyond)."""
    photo = rng.uniform(0, 255, (height, width, 3)).astype(np.float32)
    weights = cin_network.style_weights(3, {0: 1.0})
    out = cin_inference.stylize_image(cin_inference.Stylizer(network, "float32"), photo,
                                      weights)
    padded = np.pad(photo, ((0, 16 - height), (0, 20 - width if width > 16 else 16 - width),
                            (0, 0)), mode="reflect")
    assert padded.shape[:2] == cin_inference.pad_for_network(photo).shape[:2]
    expected = network([padded[None], np.array([weights], np.float32)]).numpy()[0]
    assert out.shape == (height, width, 3) and np.isfinite(out).all()
    if height * width > 1:  # One pixel is a constant image: instance norm divides rounding.
        np.testing.assert_allclose(out, expected[:height, :width], atol=0.02)


def test_stylizer_refuses_other_networks_and_precisions(network):
    other = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(3, 3)])
    with pytest.raises(ValueError, match="not a network built by cin.transformer_network"):
        cin_inference.Stylizer(other)
    with pytest.raises(ValueError, match="precision: float16: choose one of auto, float32, "
                                         "bfloat16"):
        cin_inference.Stylizer(network, "float16")


@pytest.mark.parametrize("flags, native", [
    ("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni", True),
    ("fpu sse2 avx2 amx_tile amx_bf16 amx_int8", True),
    ("fpu sse2 avx2 avx512f avx512_vnni", False),   # AVX512 alone emulates bfloat16.
])
def test_native_bfloat16_reads_the_cpu_flags(tmp_path, flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: a CPU\nflags\t\t: {flags}\n"
                       f"bugs\t\t: avx512_bf16\n")  # Only the flags line counts.
    assert cin_inference.native_bfloat16(cpuinfo) is native
    assert cin_inference.native_bfloat16(tmp_path / "missing") is False


def test_auto_precision_follows_the_cpu(network, monkeypatch):
    monkeypatch.setattr(cin_inference, "bfloat16_convolutions_run", lambda: True)
    for native, expected in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(cin_inference, "native_bfloat16", lambda native=native: native)
        stylizer = cin_inference.Stylizer(network)
        assert stylizer.precision == expected and stylizer.conv_dtype == tf.as_dtype(expected)
    assert cin_inference.Stylizer(network, "float32").precision == "float32"


@pytest.mark.skipif(sys.platform != "linux" or platform.machine() != "x86_64",
                    reason="oneDNN limits only x86 ISAs")
def test_a_cpu_without_avx512_refuses_bfloat16_in_one_line():
    """oneDNN limited to AVX2 cannot convolve in bfloat16: auto falls back to float32, and
    an explicit bfloat16 is a ValueError (one line from the scripts), not a crash."""
    probe = ("from style_transfer import cin_inference as c; print(c.resolve_precision('auto'));"
             " c.resolve_precision('bfloat16')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}, timeout=300)
    assert done.stdout.strip() == "float32"
    assert "ArgumentError: precision: bfloat16: this CPU cannot run bfloat16" in done.stderr
