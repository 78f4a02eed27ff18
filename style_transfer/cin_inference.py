"""The trained CIN transformer network, rewritten for fast stylisation (inference only).

`Stylizer(network)` computes the same function T(x, w) as the Keras network that
`cin.transformer_network` builds (Dumoulin et al., ICLR 2017, appendix), with fewer
multiply-adds and fewer passes over memory. Every rewrite is exact algebra; the results
differ from the Keras model only by float rounding (thousandths of a grey level in float32):

1. Biases are dropped. Every convolution feeds an instance normalisation, which subtracts
   the per-channel mean, so a constant added per channel cancels: IN(y + b) = IN(y).
   The input scaling x / 255 moves into the first kernel: conv(x / 255, K) = conv(x, K / 255).

2. Upsampling (nearest-neighbour x2, reflection pad 1, 3x3 convolution K) becomes four
   2x2 convolutions at the low resolution, one per output phase (a, b) in {0, 1}²:

       out[2i + a, 2j + b] = Σ_{p,q ∈ {0,1}} K^{ab}[p, q] · x[i + a + p - 1, j + b + q - 1]

   with K^{ab} = P_a K P_b^T, where P_0 = [[1,0,0],[0,1,1]] and P_1 = [[1,1,0],[0,0,1]]
   add up the taps that land on the same low-resolution pixel (the "sub-pixel"
   convolution of Shi et al., CVPR 2016, arXiv:1609.05158, Sec. 2.2). 16 taps per low-
   resolution pixel instead of 36: 2.25x fewer multiply-adds. Reflecting the upsampled
   image by one pixel equals repeating the edge of the small one (symmetric padding).

3. The last 9x9 convolution to 3 channels is memory-bound (3 outputs per 2,592 inputs).
   On the space-to-depth image (2x2 blocks as 4C channels) it is a 5x5 convolution to
   12 channels (the 4 output phases), then depth-to-space: a better-shaped matrix product.

4. Each instance normalisation applies one scale and shift per channel, x s + t with
   s = γ / sqrt(σ² + ε) and t = β - μ s, and hands the next convolution its padded
   input directly. (XLA-compiling these steps was measured: 2-4% faster, 2 s slower to
   start, so they stay plain TensorFlow; the convolutions are oneDNN's either way.)

`precision="bfloat16"` also runs the convolutions in bfloat16 (float32 accumulation;
statistics, residual sums and the output in float32): about twice the convolution speed
on CPUs with AVX512-BF16, at 0.5 to 1 grey level of mean difference, a few at most (README).
`precision="auto"` (the default) picks bfloat16 where the CPU multiplies it in hardware
and float32 elsewhere, where oneDNN emulates bfloat16 2.4x slower than float32 (AVX512
without BF16) or refuses it (AVX2): benchmarks/results/cin_avx512_without_bf16.json.
"""

import pathlib

import keras
import numpy as np

from style_transfer import backend, cin_network, startup
from style_transfer.parameters import ArgumentError

# The rewrite is TensorFlow's (on JAX and PyTorch, `CompiledNetwork`); a machine without
# TensorFlow has none.
tf = startup.tensorflow() if backend.name() == "tensorflow" else None

PRECISIONS = ("auto", "float32", "bfloat16")
# /proc/cpuinfo flags of x86 CPUs with bfloat16 dot products (Cooper Lake, Zen 4, AMX).
_BFLOAT16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}

# Row a: which of the 3 taps of an upsampled image fall on low-resolution pixels
# i - 1 + a and i + a, for output rows 2i + a (derivation in the module docstring).
_PHASE_TAPS = (np.array([[1, 0, 0], [0, 1, 1]]), np.array([[1, 1, 0], [0, 0, 1]]))


def subpixel_kernel(kernel):
    """3x3 kernel (3, 3, C, D) after x2 nearest upsampling -> (2, 2, C, 4D) on the small
    image, output channels ordered (phase a, phase b, D) as depth_to_space expects."""
    return np.concatenate([np.einsum("pi,qj,ijcd->pqcd", _PHASE_TAPS[a], _PHASE_TAPS[b], kernel)
                           for a in (0, 1) for b in (0, 1)], axis=-1)


def space_to_depth_kernel(kernel, block=2):
    """k x k kernel (k, k, C, D) -> the kernel (K, K, s²C, s²D), K = ceil((k + s - 1) / s),
    that gives the same convolution on space_to_depth(x, s), as depth_to_space(., s).

    Output phase (a, b) of block (I, J) reads input rows s I + a + u, u < k: the k x k
    kernel shifted by (a, b) inside an (sK x sK) grid, regrouped into (K, s) per axis.
    """
    k, _, channels, filters = kernel.shape
    taps = -(-(k + block - 1) // block)
    out = np.zeros((taps, taps, block, block, channels, block, block, filters), kernel.dtype)
    for a in range(block):
        for b in range(block):
            shifted = np.zeros((taps * block, taps * block, channels, filters), kernel.dtype)
            shifted[a:a + k, b:b + k] = kernel
            out[..., a, b, :] = shifted.reshape(taps, block, taps, block, channels,
                                                filters).transpose(0, 2, 1, 3, 4, 5)
    return out.reshape(taps, taps, block * block * channels, block * block * filters)


def upsample_conv(x_padded, phase_kernel):
    """Nearest x2 upsampling, reflection pad 1 and a 3x3 convolution K, computed on the
    small image (B, h, w, C) padded by repeating its edge once (symmetric padding), with
    subpixel_kernel(K): (B, 2h, 2w, D)."""
    height, width = tf.shape(x_padded)[1] - 2, tf.shape(x_padded)[2] - 2
    filters = phase_kernel.shape[-1] // 4
    y = tf.nn.conv2d(x_padded, tf.cast(phase_kernel, x_padded.dtype), 1, "VALID")
    phases = [y[:, a:a + height, b:b + width, (2 * a + b) * filters:(2 * a + b + 1) * filters]
              for a in (0, 1) for b in (0, 1)]
    return tf.nn.depth_to_space(tf.concat(phases, axis=-1), 2)


def space_to_depth_conv(x, block_kernel, kernel_size, block=2):
    """The VALID convolution of x (B, n, n', C) with a kernel_size² kernel K, computed with
    block_kernel = space_to_depth_kernel(K, block): (B, n - k + 1, n' - k + 1, D)."""
    taps = block_kernel.shape[0]
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    # Zeros at the bottom and right until the blocks cover every output: they meet only
    # the zero taps of the block kernel, or outputs that are cropped away.
    grow = lambda n: block * ((n - kernel_size + block) // block + taps - 1) - n  # noqa: E731
    x = tf.pad(x, [[0, 0], [0, grow(height)], [0, grow(width)], [0, 0]])
    y = tf.nn.conv2d(tf.nn.space_to_depth(x, block), tf.cast(block_kernel, x.dtype), 1,
                     "VALID")
    return tf.nn.depth_to_space(y, block)[:, :height - kernel_size + 1,
                                          :width - kernel_size + 1]


def _normalise(y, gamma, beta, epsilon, relu, residual, pad, pad_mode, conv_dtype):
    """Conditional instance norm of a convolution's output y (Eq. 5, the network's own
    `cin_network.conditional_instance_norm`), then ReLU and the residual sum when asked,
    in float32. Returns (x, x padded by `pad` for the next convolution, in its dtype)."""
    x = cin_network.conditional_instance_norm(tf.cast(y, tf.float32), gamma, beta, epsilon)
    if relu:
        x = tf.nn.relu(x)
    if residual is not None:
        x = x + residual
    if not pad:
        return x, None
    return x, tf.cast(tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], pad_mode), conv_dtype)


def native_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU has bfloat16 dot products in hardware, from the flags Linux lists
    in `cpuinfo`; False where that file cannot be read (macOS, Windows): float32 is safe."""
    try:
        lines = pathlib.Path(cpuinfo).read_text().splitlines()
    except OSError:
        return False
    flags = {flag for line in lines if line.startswith("flags")
             for flag in line.partition(":")[2].split()}
    return bool(flags & _BFLOAT16_CPU_FLAGS)


def bfloat16_convolutions_run():
    """Whether TensorFlow runs bfloat16 convolutions on this CPU: oneDNN emulates them on
    AVX512 without BF16 (slower than float32) and refuses them below."""
    try:
        tf.nn.conv2d(tf.zeros((1, 3, 3, 1), tf.bfloat16), tf.zeros((3, 3, 1, 1), tf.bfloat16),
                     1, "VALID")
        return True
    except tf.errors.OpError:
        return False


def resolve_precision(precision):
    """The precision to run: "auto" is bfloat16 on CPUs with native bfloat16, else float32
    (always float32 on JAX and PyTorch)."""
    if precision not in PRECISIONS:
        raise ArgumentError("precision", f"{precision}: choose one of {', '.join(PRECISIONS)}")
    if tf is None:  # JAX and PyTorch: `CompiledNetwork`, in float32.
        if precision == "bfloat16":
            raise ArgumentError("precision", f"bfloat16: stylising in bfloat16 runs on "
                                             f"TensorFlow (KERAS_BACKEND={backend.name()}); "
                                             f"use float32 or auto")
        return "float32"
    if precision == "auto":
        return "bfloat16" if native_bfloat16() and bfloat16_convolutions_run() else "float32"
    if precision == "bfloat16" and not bfloat16_convolutions_run():
        raise ArgumentError("precision", "bfloat16: this CPU cannot run bfloat16 "
                                         "convolutions (oneDNN needs AVX512); use float32 "
                                         "or auto")
    return precision


class Stylizer:
    """T(x, w) of a network built by cin.transformer_network, computed as the module says.

    Call it as the Keras network: stylizer([images (B, H, W, 3) in [0, 255], style
    weights (B, N)]) -> (B, H, W, 3) in [0, 255], H and W multiples of 4. It reads the
    network's weights once: train, then build a Stylizer. `precision` is "float32",
    "bfloat16" or "auto" (resolve_precision); `self.precision` says which it runs.
    """

    def __init__(self, network, precision="auto"):
        self.precision = resolve_precision(precision)
        self.conv_dtype = tf.as_dtype(self.precision)
        convs = [layer for layer in network.layers if isinstance(layer, keras.layers.Conv2D)]
        norms = [layer for layer in network.layers
                 if isinstance(layer, cin_network.ConditionalInstanceNormalization)]
        if len(convs) != len(norms) or len(convs) < 6 or len(convs) % 2:
            raise ValueError(f"{network.name}: not a network built by cin.transformer_network")
        self.norms = [(np.asarray(n.gamma), np.asarray(n.beta), n.epsilon) for n in norms]
        kernels = [np.asarray(conv.kernel) for conv in convs]
        constant = lambda k: tf.constant(k, self.conv_dtype)  # noqa: E731
        self.first = constant(kernels[0] / 255.0)
        self.downsampling = [constant(k) for k in kernels[1:3]]
        self.residual = [constant(k) for k in kernels[3:-3]]
        self.upsampling = [constant(subpixel_kernel(k)) for k in kernels[-3:-1]]
        self.last = constant(space_to_depth_kernel(kernels[-1]))
        self.first_size, self.last_size = kernels[0].shape[0], kernels[-1].shape[0]
        self._forward = tf.function(self._graph, reduce_retracing=True)

    def __call__(self, inputs):
        images, style_weights = inputs
        return self._forward(tf.convert_to_tensor(images, tf.float32),
                             tf.convert_to_tensor(style_weights, tf.float32))

    def _graph(self, images, style_weights):
        norms = iter(self.norms)

        def normalise(y, relu=True, residual=None, pad=1, pad_mode="REFLECT"):
            gamma, beta, epsilon = next(norms)  # The norms follow the convolutions in order.
            gamma, beta = cin_network.style_scale_and_shift(style_weights, gamma, beta)
            return _normalise(y, gamma, beta, epsilon, relu, residual, pad, pad_mode,
                              self.conv_dtype)

        def conv(x, kernel, stride=1):
            return tf.nn.conv2d(x, kernel, stride, "VALID")

        p = self.first_size // 2
        x = tf.cast(tf.pad(images, [[0, 0], [p, p], [p, p], [0, 0]], "REFLECT"), self.conv_dtype)
        _, x_padded = normalise(conv(x, self.first))
        for kernel in self.downsampling:
            x, x_padded = normalise(conv(x_padded, kernel, stride=2))
        for i in range(0, len(self.residual), 2):
            _, y_padded = normalise(conv(x_padded, self.residual[i]))
            last_block = i + 2 == len(self.residual)  # Next comes upsampling: edge padding.
            x, x_padded = normalise(conv(y_padded, self.residual[i + 1]), relu=False, residual=x,
                                    pad_mode="SYMMETRIC" if last_block else "REFLECT")
        _, x_padded = normalise(upsample_conv(x_padded, self.upsampling[0]), pad_mode="SYMMETRIC")
        _, x_padded = normalise(upsample_conv(x_padded, self.upsampling[1]),
                                pad=self.last_size // 2)
        x, _ = normalise(space_to_depth_conv(x_padded, self.last, self.last_size), relu=False,
                         pad=0)
        return tf.sigmoid(x) * 255.0


class CompiledNetwork:
    """T(x, w) on JAX: the Keras network itself, compiled whole by XLA (`jax.jit`, one
    program per input shape); on PyTorch the network as PyTorch runs it, with no
    gradient kept. The rewrites of `Stylizer` are written in TensorFlow. Called as the
    network, like `Stylizer`; it returns NumPy images."""

    precision = "float32"

    def __init__(self, network):
        if backend.name() == "torch":
            import torch
            self._forward = torch.no_grad()(lambda images, style_weights: network(
                [images, style_weights], training=False))
            return
        import jax
        values = ([v.value for v in network.trainable_variables],
                  [v.value for v in network.non_trainable_variables])
        forward = jax.jit(lambda trainable, non_trainable, images, style_weights:
                          network.stateless_call(trainable, non_trainable,
                                                 [images, style_weights])[0])
        self._forward = lambda images, style_weights: forward(*values, images, style_weights)

    def __call__(self, inputs):
        images, style_weights = (keras.ops.convert_to_tensor(np.asarray(value, np.float32))
                                 for value in inputs)
        return keras.ops.convert_to_numpy(self._forward(images, style_weights))


def stylizer(network, precision="auto"):
    """The backend's fastest exact T(x, w) for a trained network: `Stylizer` on
    TensorFlow, `CompiledNetwork` on JAX and PyTorch."""
    if tf is None:
        resolve_precision(precision)  # Checks the name.
        return CompiledNetwork(network)
    return Stylizer(network, precision)


# The smallest side the network takes: its 9x9 first convolution reflects 4 pixels, and
# the residual blocks reflect 1 at a quarter of the size.
MIN_SIDE = 16


def pad_for_network(photo):
    """A photo (H, W, 3) reflection-padded at the bottom and right to a multiple of 4 in
    each side, which the network halves twice, and to at least `MIN_SIDE` (crop the
    output back to H x W): any photo, even 1 x 1, can be stylised."""
    height, width = photo.shape[:2]
    grow = lambda side: max(MIN_SIDE, side + -side % 4) - side  # noqa: E731
    return np.pad(photo, ((0, grow(height)), (0, grow(width)), (0, 0)), mode="reflect")


def stylize_image(stylizer, photo, weights):
    """T(x, w) for one photo (H, W, 3) of any size: padded (`pad_for_network`),
    then cropped back."""
    height, width = photo.shape[:2]
    padded = pad_for_network(photo)
    output = stylizer([padded[None].astype(np.float32), np.asarray([weights], np.float32)])
    return np.asarray(output)[0, :height, :width]
