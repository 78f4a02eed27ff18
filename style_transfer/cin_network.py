"""The network of conditional instance normalisation, defined once: its layer (Eq. 5) and
the transformer network that uses it.

V. Dumoulin, J. Shlens, M. Kudlur, "A Learned Representation for Artistic Style", ICLR
2017 (arXiv:1610.07629), Sec. 2.1 and appendix; the equations and the architecture are
written out in `cin`'s docstring. Training (`cin`) and the fast stylisation path
(`cin_inference`, which folds these layers' weights) both build on this module.
"""

import keras
import numpy as np
from keras import ops


def conditional_instance_norm(x, gamma, beta, epsilon):
    """Eq. 5 of Dumoulin et al. 2017: z = γ_s (x - μ(x)) / σ(x) + β_s, μ and σ per image
    and channel over the positions, as (x - μ) s + β_s with s = γ_s / σ(x).

    The statistics are taken of x minus its first position (shifted data: the mean and
    variance do not change, and their rounding shrinks with the shifted values). A
    constant channel is then exactly 0 after the shift, and gives β_s exactly on every
    backend; unshifted, a float32 mean of a constant is not always the constant (XLA's
    was 5e-7 off, which ε's 1/√ε ≈ 300 turned into 1.6e-4).

    The one implementation of the equation: the layer below runs it, and so does the fast
    stylisation path (`cin_inference`).

    Args:
        x: (B, H, W, C) activations.
        gamma, beta: (B, 1, 1, C) each image's scale and shift: w γ and w β for its
            style weights w (`style_scale_and_shift`).
        epsilon: added to the variance.
    """
    shifted = x - x[:, :1, :1, :]
    mean = ops.mean(shifted, axis=(1, 2), keepdims=True)
    variance = ops.var(shifted, axis=(1, 2), keepdims=True)
    scale = gamma * ops.rsqrt(variance + epsilon)
    return (shifted - mean) * scale + beta


def style_scale_and_shift(style_weights, gamma, beta):
    """γ = Σ_s w_s γ_s and β = Σ_s w_s β_s (Sec. 4.2, combining styles; one-hot w picks
    style s), as (B, 1, 1, C) for `conditional_instance_norm`."""
    return (ops.matmul(style_weights, gamma)[:, None, None, :],
            ops.matmul(style_weights, beta)[:, None, None, :])


@keras.saving.register_keras_serializable(package="style_transfer")
class ConditionalInstanceNormalization(keras.layers.Layer):
    """z = (w γ) · (x - μ) / σ + (w β) for inputs [x (B, H, W, C), w (B, num_styles)]."""

    def __init__(self, num_styles, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.num_styles, self.epsilon = num_styles, epsilon

    def build(self, input_shape):
        channels = input_shape[0][-1]
        self.gamma = self.add_weight(shape=(self.num_styles, channels), initializer="ones",
                                     name="gamma")
        self.beta = self.add_weight(shape=(self.num_styles, channels), initializer="zeros",
                                    name="beta")

    def call(self, inputs):
        x, style_weights = inputs
        gamma, beta = style_scale_and_shift(style_weights, self.gamma, self.beta)
        return conditional_instance_norm(x, gamma, beta, self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_styles": self.num_styles,
                "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="style_transfer")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by mirroring, so borders carry no artificial edge."""

    def __init__(self, padding, **kwargs):
        super().__init__(**kwargs)
        self.padding = padding

    def call(self, x):
        p = self.padding
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        grow = lambda n: None if n is None else n + 2 * self.padding  # noqa: E731
        return b, grow(h), grow(w), c

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def transformer_network(num_styles, base_filters=32, num_residual_blocks=5, seed=None,
                        conv_biases=False):
    """The style transfer network of Dumoulin et al.: (image in [0, 255], w) -> image.

    Args:
        num_styles: N, the rows of every γ and β.
        base_filters: 32 in the paper; the layers have 1, 2 and 4 times as many.
        num_residual_blocks: 5 in the paper.
        seed: seeds the kernels' initial values (Glorot uniform, Keras' default) from
            NumPy's generator, so a training run starts from the same network under
            every strategy and backend (Keras' seeded initialisers draw from each
            backend's own generator); None: unseeded.
        conv_biases: give the convolutions biases. Off: the instance norm after every
            convolution subtracts the channel's mean, so a bias cancels, has no gradient
            but rounding noise, and Adam would turn that noise into steps of the
            learning rate (Magenta's convolutions before a normaliser have none either).
            Networks saved before had them; `cin_inference` drops them.

    Returns:
        keras.Model with inputs [image (B, H, W, 3), style weights (B, N)] and output
        (B, H, W, 3) in [0, 255]; H and W must be multiples of 4.
    """
    image = keras.Input((None, None, 3), name="image")
    style_weights = keras.Input((num_styles,), name="style_weights")

    def conv(x, filters, kernel, stride=1, relu=True):
        x = ReflectionPadding2D(kernel // 2)(x)
        x = keras.layers.Conv2D(filters, kernel, strides=stride, use_bias=conv_biases)(x)
        x = ConditionalInstanceNormalization(num_styles)([x, style_weights])
        return keras.layers.ReLU()(x) if relu else x

    x = image / 255.0
    x = conv(x, base_filters, 9)
    x = conv(x, 2 * base_filters, 3, stride=2)
    x = conv(x, 4 * base_filters, 3, stride=2)
    for _ in range(num_residual_blocks):
        x = keras.layers.Add()([x, conv(conv(x, 4 * base_filters, 3), 4 * base_filters, 3,
                                            relu=False)])
    for filters in (2 * base_filters, base_filters):
        x = keras.layers.UpSampling2D(2, interpolation="nearest")(x)
        x = conv(x, filters, 3)
    x = conv(x, 3, 9, relu=False)
    output = keras.layers.Activation("sigmoid")(x) * 255.0
    network = keras.Model([image, style_weights], output, name="cin_transformer")
    if seed is not None:
        rng = np.random.default_rng(seed)
        for layer in network.layers:
            if isinstance(layer, keras.layers.Conv2D):
                shape = layer.kernel.shape  # (k, k, in, out): Glorot's fans are k² in, k² out.
                limit = np.sqrt(6.0 / (np.prod(shape[:-1]) + np.prod(shape[:-2]) * shape[-1]))
                layer.kernel.assign(rng.uniform(-limit, limit, shape).astype(np.float32))
    return network


def style_weights(num_styles, mix):
    """A style-weight vector from {style index: weight}, normalised to sum 1."""
    weights = [0.0] * num_styles
    for index, weight in mix.items():
        weights[index] = float(weight)
    total = sum(weights)
    return [w / total for w in weights]
