"""Conditional instance normalisation, the network that uses it, and its training.

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

Training (`StyleNetwork.train`) minimises the perceptual loss of Johnson et al. 2016
(arXiv:1603.08155), the Gatys objective of this suite on the network's outputs, over
random crops of a folder of photos, one randomly drawn style per batch. Defaults
(`CINSettings`): Magenta's image_stylization (image_stylization_train.py, learning.py)
on the same normalisation as ours: content weight 1 at vgg_16/conv3, style weight 1e-4
at conv1 ... conv4 (means over the activations and over the C² entries of Gram matrices
per position), no total variation, average pooling, Adam with learning rate 1e-3. Magenta
measures with VGG16; its end points conv1 ... conv4 are the last ReLU of blocks 1 to 4,
which in VGG19 are relu1_2, relu2_2, relu3_4 and relu4_4. Magenta's batch is 16; ours is 4
by default, for CPUs (it changes the gradient's noise, not the objective).
"""

import dataclasses
import json
import pathlib
import time
import typing
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from PIL import Image

from style_transfer import files, images, losses, optimize, parameters, vgg
from style_transfer.gatys import ObjectiveSettings
from style_transfer.parameters import ArgumentError, override, parameter, settings_from


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


@dataclasses.dataclass(frozen=True)
class CINSettings(ObjectiveSettings):
    """`StyleNetwork.train`'s settings (defaults: module docstring)."""
    content_weight: float = override(ObjectiveSettings, "content_weight", 1.0)
    style_weight: float = override(ObjectiveSettings, "style_weight", 1e-4)
    content_layers: tuple[str, ...] = override(ObjectiveSettings, "content_layers",
                                               ("relu3_4",))
    style_layers: tuple[str, ...] = override(ObjectiveSettings, "style_layers",
                                             ("relu1_2", "relu2_2", "relu3_4", "relu4_4"))
    style_layer_weights: tuple[float, ...] | None = override(
        ObjectiveSettings, "style_layer_weights", None,
        help="w_l, one per style layer (Eq. 5); default 1 each (Magenta).")
    pooling: str = override(ObjectiveSettings, "pooling", "avg")
    image_size: int = parameter(256, "Side of the square training crops (a multiple of 4).",
                                low=16, high=4096, group="training")
    batch_size: int = parameter(4, "Photos per step, over all replicas.", low=1, high=4096,
                                group="training")
    steps: int = parameter(4000, "Training steps in all (a resumed run counts on).", low=1,
                           high=10 ** 8, group="training")
    learning_rate: float = parameter(1e-3, "Adam's learning rate.", positive=True, high=1.0,
                                     group="training")
    network_width: int = parameter(32, "Filters of the first convolution (Dumoulin et al.: "
                                       "32).", low=1, high=1024, group="training")
    checkpoint_every: int = parameter(200, "Save the network, the optimiser's state and the "
                                           "step count every N steps (and at the end).",
                                      low=1, high=10 ** 8, group="training")

    LAYER_WEIGHTS: typing.ClassVar[str] = "equal"

    def validate(self):
        super().validate()
        if self.image_size % 4:
            raise ArgumentError("image_size", f"{self.image_size}: use a multiple of 4 (the "
                                              f"network halves the size twice)")


class StyleTrainer(keras.Model):
    """Trains a transformer network on N styles; each batch trains one random style.

    The loss is the objective of the shared package on the network's outputs:
    α L_content(output, photo) + β L_style(output, style s) + λ_tv TV, averaged over
    the batch (the perceptual losses of Johnson et al. 2016, arXiv:1603.08155).
    """

    def __init__(self, transformer, feature_model, style_grams, objective, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.transformer, self.feature_model = transformer, feature_model
        self.feature_model.trainable = False
        self.objective = objective
        self.num_styles = len(style_grams)
        # layer -> (N, C, C): the Gram matrices per position of every style, stacked.
        self.stacked_grams = {layer: ops.stack([grams[layer] for grams in style_grams])
                              for layer in objective.style_layers}
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
            totals.append(self.objective.terms(
                {layer: value[b] for layer, value in output_features.items()}, outputs[b],
                {layer: photo_features[layer][b] for layer in self.objective.content_layers},
                [target])["total"])
        return ops.mean(ops.stack(totals))

    def train_step(self, photos):
        style_index = keras.random.randint((), 0, self.num_styles, seed=self.seed_generator)
        loss = optimize.descent_step(self.optimizer,
                                     lambda: self.batch_loss(photos, style_index),
                                     self.transformer.trainable_variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def photo_paths(folder):
    """The photos of a training folder whose headers Pillow reads, sorted.

    Raises:
        ValueError: no such folder, no image file in it, or none readable (the line
            counts what it found). Some unreadable files: an `images.ImageWarning` counts
            them and names the first, and training goes on without them.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise ArgumentError("content_dir", f"{folder}: no such folder")
    candidates = sorted(p for p in folder.iterdir()
                        if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if not candidates:
        raise ArgumentError("content_dir", f"{folder}: no image files "
                                           f"({', '.join(PHOTO_SUFFIXES)}); add photos")
    readable, skipped = [], []
    for path in candidates:
        try:
            with Image.open(path) as image:
                image.size  # The header parses.
            readable.append(path)
        except Exception as error:  # Pillow raises many types for a bad file.
            skipped.append(f"{path.name} ({str(error).splitlines()[0] if str(error) else type(error).__name__})")
    if not readable:
        raise ArgumentError("content_dir", f"{folder}: none of its {len(candidates)} image "
                                           f"files is readable (first: {skipped[0]})")
    if skipped:
        warnings.warn(images.ImageWarning(
            f"{folder}: skipped {len(skipped)} of {len(candidates)} files that are not "
            f"readable images (first: {skipped[0]})"))
    return readable


def random_crops(paths, size, seed):
    """Endless shuffled square crops of the photos, float32 RGB in [0, 255]. A file that
    fails to decode is skipped (with one warning naming it) from then on."""
    rng = np.random.default_rng(seed)
    paths = list(paths)
    while paths:
        for index in rng.permutation(len(paths)):
            try:
                photo = images.load(paths[index])
            except ValueError as error:
                warnings.warn(images.ImageWarning(f"skipped from now on: {error}"))
                paths[index] = None
                continue
            scale = size / min(photo.shape[:2])  # The shorter side becomes the crop size.
            photo = images.resize(photo, max(size, round(photo.shape[0] * scale)),
                                  max(size, round(photo.shape[1] * scale)))
            y = rng.integers(0, photo.shape[0] - size + 1)
            x = rng.integers(0, photo.shape[1] - size + 1)
            yield photo[y:y + size, x:x + size]
        paths = [p for p in paths if p is not None]
    raise ValueError("no photo of the training folder could be decoded")


class _Checkpoints(keras.callbacks.Callback):
    """Counts steps, keeps the loss history, saves every N steps, and reports progress."""

    def __init__(self, folder, every, state, trainer, progress, total):
        super().__init__()
        self.folder, self.every, self.state, self.trainer = folder, every, state, trainer
        self.progress, self.total = progress, total

    def on_train_batch_end(self, batch, logs=None):
        self.state["step"] += 1
        self.state["loss_history"].append(float(logs["loss"]))
        if callable(self.progress):
            self.progress(self.state["step"], float(logs["loss"]), self.total)
        if self.state["step"] % self.every == 0:
            self.save()

    def save(self):
        """The network, Adam's moments and the state, each written atomically."""
        with files.atomic_path(self.folder / "model.keras") as temporary:
            self.trainer.transformer.save(temporary)
        moments = [v.numpy() for v in self.trainer.optimizer.variables]
        files.write_atomically(self.folder / "optimizer.npz", lambda f: np.savez(f, *moments))
        files.write_json(self.folder / "state.json", self.state)


class StyleNetwork:
    """N styles in one feed-forward network (Dumoulin et al. 2017): train, stylise, mix.

        net = StyleNetwork.train(["a.jpg", "b.jpg"], "photos/", "runs/ab", steps=4000)
        image = net.stylize("photo.jpg", style=1)          # one style
        image = net.mix("photo.jpg", {0: 0.3, 1: 0.7})     # a mix of their γ and β

    Stylising runs `cin_inference.Stylizer`, the same function with fewer multiply-adds.
    """

    def __init__(self, network):
        self.network = network
        self._stylizers = {}

    @property
    def num_styles(self):
        return self.network.inputs[1].shape[-1]

    @classmethod
    def load(cls, path):
        """A network saved by `save` or by training.

        Raises:
            ArgumentError: not such a file (names `model`).
        """
        try:
            return cls(keras.models.load_model(path))
        except Exception as error:  # Keras raises several types for a bad file.
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ArgumentError("model", f"{path}: not a network saved by cin_train "
                                         f"({reason})") from None

    def save(self, path):
        """Writes the network (.keras), atomically."""
        with files.atomic_path(path) as temporary:
            self.network.save(temporary)

    def style_weights(self, style):
        """The style-weight vector w for `style`: an index, {index: weight} (normalised
        to sum 1), or N weights.

        Raises:
            ArgumentError: an index out of range, negative weights, or all zero.
        """
        count = self.num_styles
        if isinstance(style, (int, np.integer)) and not isinstance(style, bool):
            mix = {int(style): 1.0}
        elif isinstance(style, dict):
            mix = dict(style)
        else:
            mix = dict(enumerate(np.asarray(style, float).ravel()))
        if any(not isinstance(i, (int, np.integer)) or not 0 <= i < count for i in mix) or (
                not all(np.isfinite(w) and w >= 0 for w in mix.values())) or not sum(
                mix.values()) > 0:
            raise ArgumentError("style", f"{style!r}: the network has styles 0 to "
                                         f"{count - 1}; give an index, or weights >= 0 that "
                                         f"are not all 0")
        return style_weights(count, mix)

    def stylizer(self, precision="auto"):
        """The `cin_inference.Stylizer` for a precision, built once."""
        from style_transfer import cin_inference
        if precision not in self._stylizers:
            self._stylizers[precision] = cin_inference.Stylizer(self.network, precision)
        return self._stylizers[precision]

    def stylize(self, image, style=0, *, precision="auto"):
        """T(x, w): the image in one style or a mix (`style_weights`), any size.

        Returns:
            (H, W, 3) float32 in [0, 255].
        """
        from style_transfer import cin_inference
        photo = images.as_image(image, "content")
        return cin_inference.stylize_image(self.stylizer(precision), photo,
                                           self.style_weights(style))

    def mix(self, image, weights, *, precision="auto"):
        """T(x, w) for a mix of styles {index: weight}: γ = Σ w_s γ_s, β = Σ w_s β_s."""
        return self.stylize(image, weights, precision=precision)

    def interpolation_rows(self, image, num_steps, *, precision="auto"):
        """Row s moves from style s to style s+1 in equal steps (Dumoulin et al., Fig. 7)."""
        photo = images.as_image(image, "content")
        return [[self.stylize(photo, {s: 1 - t, s + 1: t}, precision=precision)
                 for t in np.linspace(0.0, 1.0, num_steps)]
                for s in range(self.num_styles - 1)]

    @classmethod
    def train(cls, styles, content_dir, checkpoint_dir, *, progress="bar", **options):
        """Trains (or resumes training) a network on N styles over a folder of photos.

        Checkpoints (network, Adam's moments, step count and loss history) go to
        `checkpoint_dir` every `checkpoint_every` steps, at the end and on Ctrl-C; calling
        again with the same folder resumes there, and a larger `steps` trains on.

        Args:
            styles: the style images (paths, PIL images or arrays), one per style.
            content_dir: a folder of photos (random square crops of them are used).
            checkpoint_dir: where checkpoints go (created if needed).
            progress: "bar" (Keras' progress bar), None, or `progress(step, loss, steps)`.
            **options: `CINSettings` fields.

        Returns:
            (StyleNetwork, report fields): the report has the steps, the loss history,
            whether Ctrl-C stopped it, and the settings.
        """
        settings = settings_from(CINSettings, options)
        folder = pathlib.Path(checkpoint_dir)
        folder.mkdir(parents=True, exist_ok=True)
        paths = photo_paths(content_dir)
        style_names = [images.describe(s, f"style {k}") for k, s in enumerate(styles)]
        style_images = [images.resize_longest_side(images.as_image(s, "style"),
                                                   settings.image_size) for s in styles]
        model = settings.feature_model()
        objective = settings.objective(model)
        # The style targets Â_s^l of every style, once; the network, new or resumed.
        style_grams = [losses.style_target(model, s, objective.style_layers).grams
                       for s in style_images]
        state = {"step": 0, "loss_history": [], "styles": style_names}
        if (folder / "state.json").is_file():
            state = json.loads((folder / "state.json").read_text())
            if state["styles"] != style_names:
                raise ArgumentError("checkpoint_dir", f"{folder} holds a network for "
                                                      f"{','.join(state['styles'])}; use "
                                                      f"another folder")
            transformer = cls.load(folder / "model.keras").network
        else:
            transformer = transformer_network(len(style_images), settings.network_width)
        trainer = StyleTrainer(transformer, model, style_grams, objective, seed=settings.seed)
        trainer.compile(optimizer=keras.optimizers.Adam(settings.learning_rate))
        if (folder / "optimizer.npz").is_file():  # Adam's moments: resuming loses nothing.
            trainer.optimizer.build(transformer.trainable_variables)
            saved = np.load(folder / "optimizer.npz")
            for index, variable in enumerate(trainer.optimizer.variables):
                variable.assign(saved[f"arr_{index}"])

        size = settings.image_size
        photos = tf.data.Dataset.from_generator(
            lambda: random_crops(paths, size, settings.seed + state["step"]),
            output_signature=tf.TensorSpec((size, size, 3), tf.float32))
        photos = photos.batch(settings.batch_size, drop_remainder=True).prefetch(2)
        checkpoints = _Checkpoints(folder, settings.checkpoint_every, state, trainer,
                                   progress, settings.steps)
        remaining, interrupted, start = settings.steps - state["step"], False, time.time()
        try:
            if remaining > 0:
                trainer.fit(photos, epochs=1, steps_per_epoch=remaining,
                            callbacks=[checkpoints], shuffle=False,
                            verbose=1 if isinstance(progress, str) and progress == "bar"
                            else 0)
        except KeyboardInterrupt:
            interrupted = True
        checkpoints.save()
        seconds = time.time() - start
        trained = state["step"] - (settings.steps - remaining)
        return cls(transformer), {
            "technique": "cin_train", "settings": parameters.as_dict(settings),
            "weights": model.weights_source.to_json(), "model": str(folder / "model.keras"),
            "steps": state["step"], "interrupted": interrupted,
            "images_per_second": trained * settings.batch_size / max(seconds, 1e-9),
            "loss_history": state["loss_history"]}
