"""Conditional instance normalisation and the style transfer network that uses it.

V. Dumoulin, J. Shlens, M. Kudlur, "A Learned Representation for Artistic Style", ICLR
2017 (arXiv:1610.07629). One feed-forward network learns N styles at once: every
style shares all convolution weights and owns only the scale and shift of each
instance normalisation (Sec. 2.1, Eq. 5):

    z = γ_s · (x - μ(x)) / σ(x) + β_s

with μ and σ per image and channel over the spatial positions (instance normalisation,
Ulyanov et al. 2016, arXiv:1607.08022), and (γ_s, β_s) row s of (N, C) matrices. A
style-weight vector w selects the row (one-hot) or mixes styles: γ = Σ_s w_s γ_s,
β = Σ_s w_s β_s (Sec. 4.2, "combining styles").

The network (Dumoulin et al., appendix, after Johnson et al. 2016): convolutions 9x9/32,
3x3/64 stride 2, 3x3/128 stride 2; five residual blocks of two 3x3/128 convolutions;
two upsamplings (nearest-neighbour resize, then a 3x3 convolution: no transposed
convolutions, which leave checkerboards); 9x9/3 and a sigmoid. Every convolution is
reflection-padded and followed by conditional instance norm.
"""

import keras
from keras import ops

from style_transfer import losses, optimize, vgg


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
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        variance = ops.var(x, axis=(1, 2), keepdims=True)
        normalised = (x - mean) / ops.sqrt(variance + self.epsilon)
        gamma = ops.matmul(style_weights, self.gamma)[:, None, None, :]  # (B, 1, 1, C)
        beta = ops.matmul(style_weights, self.beta)[:, None, None, :]
        return normalised * gamma + beta

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


def transformer_network(num_styles, base_filters=32, num_residual_blocks=5):
    """The style transfer network of Dumoulin et al.: (image in [0, 255], w) -> image.

    Args:
        num_styles: N, the rows of every γ and β.
        base_filters: 32 in the paper; the layers have 1, 2 and 4 times as many.
        num_residual_blocks: 5 in the paper.

    Returns:
        keras.Model with inputs [image (B, H, W, 3), style weights (B, N)] and output
        (B, H, W, 3) in [0, 255]; H and W must be multiples of 4.
    """
    image = keras.Input((None, None, 3), name="image")
    style_weights = keras.Input((num_styles,), name="style_weights")

    def conv(x, filters, kernel, stride=1, relu=True):
        x = ReflectionPadding2D(kernel // 2)(x)
        x = keras.layers.Conv2D(filters, kernel, strides=stride)(x)
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
    return keras.Model([image, style_weights], output, name="cin_transformer")


def style_weights(num_styles, mix):
    """A style-weight vector from {style index: weight}, normalised to sum 1."""
    weights = [0.0] * num_styles
    for index, weight in mix.items():
        weights[index] = float(weight)
    total = sum(weights)
    return [w / total for w in weights]


class StyleTrainer(keras.Model):
    """Trains a transformer network on N styles; each batch trains one random style.

    The loss is the Gatys objective of the shared package on the network's outputs:
    α L_content(output, photo) + β L_style(output, style s) + λ_tv TV, averaged over
    the batch (the perceptual losses of Johnson et al. 2016, arXiv:1603.08155).
    """

    def __init__(self, transformer, feature_model, style_grams, settings, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.transformer, self.feature_model = transformer, feature_model
        self.feature_model.trainable = False
        self.settings = settings
        self.num_styles = len(style_grams)
        # layer -> (N, C, C): the mean Gram matrices of every style, stacked.
        self.stacked_grams = {layer: ops.stack([grams[layer] for grams in style_grams])
                              for layer in settings.style_layers}
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, inputs):
        return self.transformer(inputs)

    def batch_loss(self, photos, style_index):
        """The mean loss over a batch of photos (B, H, W, 3) in [0, 255], for style s."""
        photos = ops.convert_to_tensor(photos, "float32")
        weights = ops.one_hot(ops.full((ops.shape(photos)[0],), style_index),
                              self.num_styles)
        outputs = self.transformer([photos, weights], training=True)
        output_features = self.feature_model(vgg.preprocess(outputs))
        photo_features = self.feature_model(vgg.preprocess(photos))
        target = losses.StyleTarget({layer: ops.take(grams, style_index, axis=0)
                                     for layer, grams in self.stacked_grams.items()})
        totals = []
        for b in range(photos.shape[0]):  # The batch size is fixed when traced.
            totals.append(losses.gatys_loss(
                {layer: value[b] for layer, value in output_features.items()}, outputs[b],
                {layer: photo_features[layer][b] for layer in self.settings.content_layers},
                [target], content_weight=self.settings.content_weight,
                style_weight=self.settings.style_weight, tv_weight=self.settings.tv_weight,
                style_layer_weights=self.settings.style_layer_weights)["total"])
        return ops.mean(ops.stack(totals))

    def train_step(self, photos):
        style_index = keras.random.randint((), 0, self.num_styles, seed=self.seed_generator)
        loss = optimize.descent_step(self.optimizer,
                                     lambda: self.batch_loss(photos, style_index),
                                     self.transformer.trainable_variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}
