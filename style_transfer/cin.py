"""Training a network of conditional instance normalisation on N styles, and using it.

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

import keras
import numpy as np
from keras import ops
from PIL import Image

from style_transfer import (backend, cin_folders, cin_inference, distribute, files, images,
                            losses, parameters, reporting, startup, vgg)
from style_transfer.cin_network import style_weights, transformer_network
from style_transfer.transfer import ObjectiveSettings
from style_transfer.parameters import (ArgumentError, override, parameter, settings_from,
                                       takes)

# tf.data feeds training on TensorFlow; a JAX-only machine (the lent GPU) has no TensorFlow.
tf = startup.tensorflow() if backend.name() == "tensorflow" else None


def parse_style_mix(text):
    """'0:0.3,2:0.7' -> {0: 0.3, 2: 0.7}, a mix of styles as the command line writes it
    (checked against the network by `StyleNetwork.style_weights`).

    Raises:
        ArgumentError: naming style_mix.
    """
    mix = {}
    try:
        for part in text.split(","):
            index, weight = part.split(":")
            mix[int(index)] = float(weight)
    except ValueError:
        raise ArgumentError("style_mix", f"{text!r}: write index:weight,... e.g. "
                                         f"0:0.3,1:0.7") from None
    return mix


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
    # Magenta's loss network (slim's vgg_16, "SAME" convolutions) pads with zeros.
    padding: str = override(ObjectiveSettings, "padding", "zeros")
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
    strategy: str = parameter("auto", "How training spreads over devices and machines: "
                                      "one_device, mirrored (the local GPUs), multi_worker "
                                      "(machines named by TF_CONFIG), or auto (multi_worker "
                                      "with TF_CONFIG, mirrored with several GPUs, else "
                                      "one_device).", choices=distribute.STRATEGIES,
                              group="training")
    checkpoint_every: int = parameter(200, "Save the network, the optimiser's state and the "
                                           "step count every N steps (and at the end).",
                                      low=1, high=10 ** 8, group="training")

    LAYER_WEIGHTS: typing.ClassVar[str] = "equal"
    # magenta image_stylization (learning.py) on its own network, VGG16: the last ReLU of
    # blocks 1-4 (its end points conv1 ... conv4) and conv3 for the content. The fields'
    # defaults above are the same end points of VGG19.
    RECIPES: typing.ClassVar[dict] = {"network": {"vgg16": dict(
        content_layers=("relu3_3",), style_layers=("relu1_2", "relu2_2", "relu3_3",
                                                   "relu4_3"))}}

    def validate(self):
        super().validate()
        if self.image_size % 4:
            raise ArgumentError("image_size", f"{self.image_size}: use a multiple of 4 (the "
                                              f"network halves the size twice)")


class StyleTrainer:
    """Trains a transformer network on N styles; each step trains one style.

    The loss is the objective of the shared package on the network's outputs:
    α L_content(output, photo) + β L_style(output, style s) + λ_tv TV, averaged over
    the batch (the perceptual losses of Johnson et al. 2016, arXiv:1603.08155).
    `distribute.step_function` runs its steps on the backend's devices.
    """

    def __init__(self, transformer, feature_model, style_grams, objective, optimizer):
        self.transformer, self.feature_model = transformer, feature_model
        self.feature_model.trainable = False
        self.objective, self.optimizer = objective, optimizer
        self.num_styles = len(style_grams)
        # layer -> (N, C, C): the Gram matrices per position of every style, stacked.
        self.stacked_grams = {layer: ops.stack([grams[layer] for grams in style_grams])
                              for layer in objective.style_layers}

    def batch_loss(self, photos, style_index, transform=None):
        """The mean loss over a batch of photos (B, H, W, 3) in [0, 255], for style s.
        `transform` maps the network's inputs to its outputs (default: the network;
        `distribute` passes its stateless call on JAX)."""
        photos = ops.convert_to_tensor(photos, "float32")
        weights = ops.one_hot(ops.full((ops.shape(photos)[0],), style_index, "int32"),
                              self.num_styles)
        outputs = (transform or self._call_network)([photos, weights])
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

    def _call_network(self, inputs):
        return self.transformer(inputs, training=True)

    def save(self, folder, state):
        """The network, Adam's moments and the state (JSON), each written atomically."""
        folder = pathlib.Path(folder)
        save_network(self.transformer, folder / "model.keras")
        moments = [v.numpy() for v in self.optimizer.variables]
        files.write_atomically(folder / "optimizer.npz", lambda f: np.savez(f, *moments))
        files.write_json(folder / "state.json", state)

    def restore_optimizer(self, path):
        """Adam's moments and step count from `save`: resuming loses nothing."""
        saved = np.load(path)
        for index, variable in enumerate(self.optimizer.variables):
            variable.assign(saved[f"arr_{index}"])


def save_network(network, path):
    """Writes a Keras network (.keras), atomically. Keras' serialiser imports TensorFlow
    where it is installed, whatever the backend: its start-up lines go to /dev/null."""
    with files.atomic_path(path) as temporary, startup.stderr_silenced():
        network.save(temporary)


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
    candidates = sorted(images.image_files(folder))
    if not candidates:
        raise ArgumentError("content_dir", f"{folder}: no image files "
                                           f"({', '.join(images.IMAGE_SUFFIXES)}); add photos")
    readable, skipped = [], []
    for path in candidates:
        try:
            with Image.open(path) as image:
                image.size  # The header parses.
            readable.append(path)
        except Exception as error:  # Pillow raises many types for a bad file.
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            skipped.append(f"{path.name} ({reason})")
    if not readable:
        raise ArgumentError("content_dir", f"{folder}: none of its {len(candidates)} image "
                                           f"files is readable (first: {skipped[0]})")
    if skipped:
        images.warn(f"{folder}: skipped {len(skipped)} of {len(candidates)} files that are "
                    f"not readable images (first: {skipped[0]})")
    return readable


class TrainingCrops:
    """The training stream: example e is a square crop of one photo; step k has a style.

    Each example is a function of (seed, e) alone: a new random order of the photos for
    every pass over them, the crop's position drawn for the example, and the style of
    step k drawn for the step. So the stream is the same whoever reads it: one device,
    the replicas of a machine, or several machines each reading its own share; and a
    resumed run sees what the interrupted one would have seen next.
    """

    def __init__(self, paths, size, num_styles, seed):
        self.paths, self.size = list(paths), size
        self.num_styles, self.seed = num_styles, seed
        self.unreadable = set()  # Photos that failed to decode: skipped from then on.
        self._epoch_order = (None, None)

    def order(self, epoch):
        """The photos' order in pass `epoch` (a permutation of their indices)."""
        cached, order = self._epoch_order  # One read: decoding threads share the cache.
        if cached != epoch:
            order = np.random.default_rng([self.seed, 0, epoch]).permutation(len(self.paths))
            self._epoch_order = (epoch, order)
        return order

    def style(self, step):
        """The style trained at step k."""
        return int(np.random.default_rng([self.seed, 2, step]).integers(self.num_styles))

    def crop(self, example):
        """Example e: (size, size, 3) float32 RGB in [0, 255]. A photo that fails to
        decode is skipped, with one warning naming it, for the next one in the order.

        Raises:
            ValueError: no photo decodes.
        """
        epoch, position = divmod(example, len(self.paths))
        order = self.order(epoch)
        for shift in range(len(order)):
            index = order[(position + shift) % len(order)]
            if index in self.unreadable:
                continue
            try:
                photo = images.load(self.paths[index])
                break
            except ValueError as error:
                self.unreadable.add(index)
                images.warn(f"skipped from now on: {error}")
        else:
            raise ValueError("no photo of the training folder could be decoded")
        size = self.size
        scale = size / min(photo.shape[:2])  # The shorter side becomes the crop size.
        photo = images.resize(photo, max(size, round(photo.shape[0] * scale)),
                              max(size, round(photo.shape[1] * scale)))
        rng = np.random.default_rng([self.seed, 1, example])
        y = rng.integers(0, photo.shape[0] - size + 1)
        x = rng.integers(0, photo.shape[1] - size + 1)
        return photo[y:y + size, x:x + size]

    def dataset(self, batch_size, first_step, last_step, context=None):
        """The `tf.data` pipeline of one input pipeline: (photos, styles) batches for one
        replica at a time, of steps first_step .. last_step - 1.

        Step k's global batch is examples k B .. k B + B - 1; input pipeline i of n (one
        per machine) reads its B / n of them, and hands them to its replicas in turn.
        Photos decode in parallel threads, in order.

        Args:
            batch_size: B, the global batch.
            context: the `tf.distribute.InputContext` (None: one pipeline, one replica).
        """
        context = context or tf.distribute.InputContext()
        per_replica = context.get_per_replica_batch_size(batch_size)
        share = batch_size // context.num_input_pipelines
        offset = context.input_pipeline_id * share

        def load(example):
            example = int(example)
            return self.crop(example), np.int32(self.style(example // batch_size))

        def decoded(example):
            crop, style = tf.numpy_function(load, [example], (tf.float32, tf.int32))
            return tf.ensure_shape(crop, (self.size, self.size, 3)), tf.ensure_shape(style, ())

        examples = tf.data.Dataset.range(first_step, last_step).flat_map(
            lambda step: tf.data.Dataset.range(step * batch_size + offset,
                                               step * batch_size + offset + share))
        return (examples.map(decoded, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .batch(per_replica, drop_remainder=True).prefetch(tf.data.AUTOTUNE))

    def batches(self, batch_size, first_step, last_step, threads=4, ahead=2):
        """The same stream without TensorFlow (for JAX): (photos (B, size, size, 3),
        styles (B,)) per step, in order, one global batch of `batch_size` per step.
        `threads` decode the photos of the next `ahead` steps while a step runs."""
        crops = images.in_order_ahead(self.crop, range(first_step * batch_size,
                                                       last_step * batch_size),
                                      ahead * batch_size, threads)
        for step in range(first_step, last_step):
            yield (np.stack([next(crops) for _ in range(batch_size)]),
                   np.full(batch_size, self.style(step), np.int32))


class StyleNetwork:
    """N styles in one feed-forward network (Dumoulin et al. 2017): train, stylise, mix.

        net = StyleNetwork.train(["a.jpg", "b.jpg"], "photos/", "runs/ab", steps=4000)
        image = net.stylize("photo.jpg", style=1)          # one style
        image = net.mix("photo.jpg", {0: 0.3, 1: 0.7})     # a mix of their γ and β

    Stylising runs `cin_inference.stylizer`: on TensorFlow the same function with fewer
    multiply-adds, on JAX the network compiled by XLA.
    """

    def __init__(self, network, style_names=None, vgg_weights=None):
        """`style_names`: what each style was trained on (default "style k");
        `vgg_weights`: the loss network's weights in training (`vgg.Weights.to_json()`),
        None where unknown."""
        self.network = network
        self.style_names = list(style_names or [f"style {k}" for k in range(self.num_styles)])
        self.vgg_weights = vgg_weights
        self._stylizers = {}

    @property
    def num_styles(self):
        return self.network.inputs[1].shape[-1]

    @classmethod
    def load(cls, path):
        """A network saved by `save` or by training; a training folder's state.json beside
        it names the styles and the loss network's weights.

        Raises:
            ArgumentError: not such a file (names `model`).
        """
        try:
            network = keras.models.load_model(path)
        except Exception as error:  # Keras raises several types for a bad file.
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ArgumentError("model", f"{path}: not a network saved by cin_train "
                                         f"({reason})") from None
        try:
            state = json.loads((pathlib.Path(path).parent / "state.json").read_text())
            names, weights = list(state["styles"]), state.get("vgg_weights")
        except (OSError, ValueError, KeyError, TypeError):
            names, weights = None, None  # Saved elsewhere: nothing known of its training.
        if names is not None and len(names) != network.inputs[1].shape[-1]:
            names = None
        return cls(network, names, weights)

    def save(self, path):
        """Writes the network (.keras), atomically."""
        save_network(self.network, path)

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
        """The backend's stylizer for a precision (`cin_inference.stylizer`), built once."""
        if precision not in self._stylizers:
            self._stylizers[precision] = cin_inference.stylizer(self.network, precision)
        return self._stylizers[precision]

    def stylize(self, image, style=0, *, precision="auto"):
        """T(x, w): the image in one style or a mix (`style_weights`), any size.

        Returns:
            (H, W, 3) float32 in [0, 255].
        """
        photo = images.as_image(image, "content")
        return cin_inference.stylize_image(self.stylizer(precision), photo,
                                           self.style_weights(style))

    def mix(self, image, weights, *, precision="auto"):
        """T(x, w) for a mix of styles {index: weight}: γ = Σ w_s γ_s, β = Σ w_s β_s."""
        return self.stylize(image, weights, precision=precision)

    def stylize_folder(self, source, output_dir, style=0, *, shard=(0, 1), max_size=None,
                       batch_size=4, precision="auto", progress="bar"):
        """Stylises a folder, a glob or a list of images (a video's frames) with one
        style or mix, in batches, resumably and in shards (`cin_folders.stylize_folder`,
        which gives the arguments and the report)."""
        return cin_folders.stylize_folder(
            self.stylizer(precision), self.style_weights(style), source, output_dir,
            shard=shard, max_size=max_size, batch_size=batch_size, progress=progress)

    def interpolation_rows(self, image, num_steps, *, precision="auto"):
        """Row s moves from style s to style s+1 in equal steps (Dumoulin et al., Fig. 7)."""
        photo = images.as_image(image, "content")
        return [[self.stylize(photo, {s: 1 - t, s + 1: t}, precision=precision)
                 for t in np.linspace(0.0, 1.0, num_steps)]
                for s in range(self.num_styles - 1)]

    @classmethod
    @takes(CINSettings)
    def train(cls, styles, content_dir, checkpoint_dir, *, progress="bar", **options):
        """Trains (or resumes training) a network on N styles over a folder of photos.

        Checkpoints (network, Adam's moments, step count and loss history) go to
        `checkpoint_dir` every `checkpoint_every` steps, at the end and on Ctrl-C; calling
        again with the same folder resumes there, under any strategy, and a larger
        `steps` trains on. Under a `strategy` over several machines, only the chief
        writes, and every worker reads the folder to resume (a shared file system, or
        a copy on each machine).

        Call it before any other TensorFlow work in the process when the strategy is
        multi_worker (`distribute.create`).

        Args:
            styles: the style images (paths, PIL images or arrays), one per style.
            content_dir: a folder of photos (random square crops of them are used).
            checkpoint_dir: where checkpoints go (created if needed).
            progress: "bar" (a progress bar on the chief), None, or
                `progress(step, loss, steps)`.
            **options: `CINSettings` fields.

        Returns:
            (StyleNetwork, report fields): the report has the steps, the loss of every
            step, the strategy, replicas and workers, images per second, whether Ctrl-C
            stopped it, and the settings.
        """
        settings = settings_from(CINSettings, options)
        strategy = distribute.create(settings.strategy)  # First: see `distribute.create`.
        replicas = strategy.num_replicas_in_sync
        if settings.batch_size % replicas:
            raise ArgumentError("batch_size", f"{settings.batch_size}: the global batch is "
                                              f"split over {replicas} replicas; use a "
                                              f"multiple of {replicas}")
        chief = distribute.is_chief(strategy)
        folder = pathlib.Path(checkpoint_dir)
        if chief:  # Checked now, made once the photos and styles have been read.
            files.make_folder(folder, "checkpoint_dir", create=False)
        paths = photo_paths(content_dir)
        style_names = [images.describe(s, f"style {k}") for k, s in enumerate(styles)]
        style_images = [images.resize_longest_side(images.as_image(s, "style"),
                                                   settings.image_size) for s in styles]
        state = {"step": 0, "loss_history": [], "styles": style_names}
        if chief:
            files.make_folder(folder, "checkpoint_dir")
        resuming = (folder / "state.json").is_file()
        if resuming:
            state = json.loads((folder / "state.json").read_text())
            if state["styles"] != style_names:
                raise ArgumentError("checkpoint_dir", f"{folder} holds a network for "
                                                      f"{','.join(state['styles'])}; use "
                                                      f"another folder")
        with strategy.scope():  # Every variable a replica uses is made here, mirrored.
            model = settings.feature_model(fresh=True)
            objective = settings.objective(model)
            # The style targets Â_s^l of every style, once; the network, new or resumed.
            style_grams = [losses.style_target(model, s, objective.style_layers).statistics
                           for s in style_images]
            transformer = (cls.load(folder / "model.keras").network if resuming else
                           transformer_network(len(style_images), settings.network_width,
                                               seed=settings.seed))
            optimizer = keras.optimizers.Adam(settings.learning_rate)
            optimizer.build(transformer.trainable_variables)
        trainer = StyleTrainer(transformer, model, style_grams, objective, optimizer)
        state["vgg_weights"] = model.weights_source.to_json()  # For whoever loads it.
        if resuming and (folder / "optimizer.npz").is_file():
            trainer.restore_optimizer(folder / "optimizer.npz")

        crops = TrainingCrops(paths, settings.image_size, len(style_images), settings.seed)
        first_step = state["step"]
        if resuming:  # Say what the folder held: where training goes on, or that it is done.
            reporting.note(progress if chief else None, (
                f"resuming from step {first_step} of {settings.steps} ({folder})"
                if first_step < settings.steps else
                f"already trained: {first_step} of {settings.steps} steps in {folder}; "
                f"nothing to do (give more steps to train on)"))
        iterator = distribute.batches(strategy, crops, settings.batch_size, first_step,
                                      settings.steps)
        step_function = distribute.step_function(trainer, strategy, settings.batch_size)
        workers = distribute.num_workers(strategy)
        show = _training_progress(progress if chief else None, settings.steps)
        reporting.note(progress if chief else None,
                       f"training on {replicas} replica(s), {workers} worker(s) "
                       f"({distribute.resolve(settings.strategy)}): global batch "
                       f"{settings.batch_size}, {settings.batch_size // replicas} per replica")
        interrupted, clock = False, []
        try:
            while state["step"] < settings.steps:
                loss = float(step_function(iterator))
                clock.append(time.perf_counter())  # The first step also compiles.
                state["step"] += 1
                state["loss_history"].append(loss)
                images_per_second = _rate(clock, settings.batch_size)
                show(state["step"], loss, images_per_second)
                if chief and state["step"] % settings.checkpoint_every == 0:
                    trainer.save(folder, state)
        except KeyboardInterrupt:
            interrupted = True
        if chief:
            trainer.save(folder, state)
        return cls(transformer, style_names, state["vgg_weights"]), {
            "technique": "cin_train", "settings": parameters.as_dict(settings),
            "weights": model.weights_source.to_json(), "model": str(folder / "model.keras"),
            "steps": state["step"], "interrupted": interrupted,
            "strategy": distribute.resolve(settings.strategy), "replicas": replicas,
            "workers": workers, "chief": chief,
            "images_per_second": _rate(clock, settings.batch_size),
            "loss_history": state["loss_history"]}


def _rate(clock, batch_size):
    """Images per second over the steps timed after the first (which compiles)."""
    if len(clock) < 2:
        return None
    return (len(clock) - 1) * batch_size / (clock[-1] - clock[0])


def _training_progress(progress, steps):
    """show(step, loss, images_per_second) for `progress` ("bar", None or a function)."""
    if progress is None:
        return lambda step, loss, rate: None
    if callable(progress):
        return lambda step, loss, rate: progress(step, loss, steps)
    if progress != "bar":
        raise ArgumentError("progress", f"{progress!r}: give 'bar', None or a function "
                                        f"progress(step, loss, steps)")
    bar = reporting.progress_bar(steps, ["loss", "images/s"])

    def show(step, loss, rate):
        bar(step, [("loss", loss)] + ([("images/s", rate)] if rate else []))
    return show
