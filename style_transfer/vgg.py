"""The feature networks every technique measures images with: VGG19 and VGG16.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", 2014, arXiv:1409.1556: the convolutional and pooling layers of the 19- and
16-layer networks (no fully connected top), from `keras.applications`. Each network is a
`Network` value (its layers, channels, weights file and hash); nothing else in the
package holds a network's tables.

The Keras ImageNet weights are the original Caffe networks (caffe preprocessing below).
VGG19 is the one the reference implementations of the image-optimising techniques used
(leongatys/PytorchNeuralStyleTransfer, jcjohnson/neural-style, deep-photo, CNNMRF,
neural-doodle); VGG16 is the one magenta's image_stylization (CIN), titu1994's suite,
STROTSS and NNST used. Gatys et al. (2016, Sec. 2) report results with a *rescaled* VGG19
(every filter's mean activation one) and average pooling; their own code for the
original network keeps its max pooling. So the network here keeps max pooling unless a
technique asks otherwise.

Layers are named as in the papers: `relu4_2` is the rectified output of the second
convolution of block 4 (`conv4_2` is accepted for it, as Gatys et al. write it); Keras
calls it `block4_conv2`. VGG19 has relu3_4, relu4_4 and relu5_4; VGG16 ends its blocks at
relu3_3, relu4_3 and relu5_3.
"""

import dataclasses
import functools
import os
import pathlib
import re

import keras
import numpy as np

from style_transfer import files
from style_transfer.parameters import ArgumentError

# Caffe preprocessing, which both networks' converted weights were trained with: BGR
# channel order, ImageNet mean per channel subtracted, no scaling
# (keras.applications.vgg16/vgg19, mode="caffe").
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
WEIGHTS_DIRNAME = "vgg_weights"
# Keras' applications publish their weights here, one folder per network.
_KERAS_WEIGHTS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
_LAYER_PATTERN = re.compile(r"(?:relu|conv)\d+_\d+|pool\d+")

CONTENT_LAYERS = ("relu4_2",)  # Gatys et al. 2016, Sec. 3 ("conv4_2"); in both networks.
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # Same section.
POOLINGS = ("max", "avg")
# How each 3x3 convolution pads its input: "zeros", the trained network's own (Keras' and
# Caffe's "same"), or "replicate", the edge row and column repeated. With zeros every
# layer sees a dark border that the image does not have, and an optimised picture answers
# it with a frame of lines a few pixels in from its edges (docs/pictures.md).
# crowsonkb/style-transfer-pytorch replicates at the first convolution ("Reduces edge
# artifacts"); the frame here sits where deeper layers pad, so every convolution does.
PADDINGS = ("zeros", "replicate")


def canonical_layer_name(name):
    """The paper name (`relu4_2`) of a layer written `relu4_2` or `conv4_2` (`pool3` stays).

    Only the form is checked here; whether a network has the layer is `Network.layer`'s
    question, asked when a technique's settings name their network.

    Raises:
        ValueError: not a layer name of the VGG family.
    """
    name = name.strip()
    if not _LAYER_PATTERN.fullmatch(name):
        raise ValueError(f"{name!r} is not a layer name; write reluB_C (convB_C names the "
                         f"same output) or poolB, e.g. relu4_2")
    return name if name.startswith("pool") else "relu" + name[4:]


def pooling_depth(name):
    """How many 2x2 poolings come before a layer's output (relu3_1: 2, pool3: 3)."""
    name = canonical_layer_name(name)
    block = int(name[4:].split("_")[0])  # relu3_1 and pool3 both carry the block there.
    return block if name.startswith("pool") else block - 1


def keras_layer_name(name):
    """The Keras layer of a paper name: relu4_2 -> block4_conv2, pool3 -> block3_pool."""
    name = canonical_layer_name(name)
    if name.startswith("pool"):
        return f"block{name[4:]}_pool"
    block, conv = name[4:].split("_")
    return f"block{block}_conv{conv}"


@dataclasses.dataclass(frozen=True)
class Network:
    """A feature network as a value: its layers, channels and weights file (both networks
    take the same caffe preprocessing, `preprocess`).

    Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
    Recognition", 2014, arXiv:1409.1556, Table 1: configuration D (VGG16) and E (VGG19),
    the convolutional and pooling layers only, as `keras.applications` builds them.

    Attributes:
        name: how settings and flags name it ("vgg19").
        application: the `keras.applications` constructor ("VGG19").
        convs_per_block: convolutions in each of the five blocks.
        channels_per_block: N_l of each block's convolutions.
        weights_file: Keras' no-top ImageNet weights file.
        weights_md5: the MD5 Keras' own loader checks that file against.
    """
    name: str
    application: str
    convs_per_block: tuple[int, ...]
    channels_per_block: tuple[int, ...]
    weights_file: str
    weights_md5: str

    @property
    def title(self):
        return self.application

    @functools.cached_property
    def layers(self):
        """Paper name -> Keras layer name, in network order."""
        layers = {}
        for block, num_convs in enumerate(self.convs_per_block, start=1):
            for conv in range(1, num_convs + 1):
                layers[f"relu{block}_{conv}"] = f"block{block}_conv{conv}"
            layers[f"pool{block}"] = f"block{block}_pool"
        return layers

    @property
    def weights_url(self):
        return f"{_KERAS_WEIGHTS_BASE}{self.name}/{self.weights_file}"

    @property
    def weights_url_env(self):
        """The variable that names a mirror of the weights (checked against the same MD5)."""
        return f"STYLE_TRANSFER_{self.name.upper()}_URL"

    def layer(self, name):
        """The paper name of one of this network's layers (`conv4_2` -> `relu4_2`).

        Raises:
            ValueError: the network has no such layer (the message lists those it has).
        """
        try:
            canonical = canonical_layer_name(name)
        except ValueError:
            canonical = None
        if canonical not in self.layers:
            ranges = ", ".join(f"relu{b}_1 … relu{b}_{n}"
                               for b, n in enumerate(self.convs_per_block, start=1))
            raise ValueError(f"unknown {self.title} layer {name.strip()!r}; use {ranges} "
                             f"(conv names the same outputs) or pool1 … "
                             f"pool{len(self.convs_per_block)}")
        return canonical

    def channels(self, name):
        """N_l: the channels of a layer (a pooling layer has its block's)."""
        return self.channels_per_block[int(self.layer(name)[4]) - 1]


VGG19 = Network("vgg19", "VGG19", (2, 2, 4, 4, 4), (64, 128, 256, 512, 512),
                # keras/src/applications/vgg19.py: WEIGHTS_PATH_NO_TOP and its file_hash.
                "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                "253f8cb515780f3b799900260a226db6")
VGG16 = Network("vgg16", "VGG16", (2, 2, 3, 3, 3), (64, 128, 256, 512, 512),
                # keras/src/applications/vgg16.py: WEIGHTS_PATH_NO_TOP and its file_hash.
                "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                "6d6bbae143d832006294945121d1f1fc")
NETWORKS = {network.name: network for network in (VGG19, VGG16)}


def get_network(network):
    """The `Network` named `network` ("vgg19", "vgg16"), or `network` itself.

    Raises:
        ArgumentError: naming `network`.
    """
    if isinstance(network, Network):
        return network
    if network not in NETWORKS:
        raise ArgumentError("network", f"{network!r}: use {' or '.join(NETWORKS)}")
    return NETWORKS[network]


def channels(model, name):
    """N_l: the number of channels of a layer of a feature model (a pooling layer has its
    block's), read from the model."""
    return model.get_layer(keras_layer_name(name)).output.shape[-1]


def feature_shape(model, name, height, width):
    """(H_l, W_l, C_l) of a layer's output for a (height, width) input."""
    for _ in range(pooling_depth(name)):
        height, width = height // 2, width // 2
    return height, width, channels(model, name)


def preprocess(image):
    """RGB image in [0, 255], (..., H, W, 3) -> the network's input (Caffe convention)."""
    bgr = keras.ops.flip(image, axis=-1)
    return bgr - keras.ops.convert_to_tensor(IMAGENET_MEAN_BGR, dtype=bgr.dtype)


def deprocess(network_input):
    """Exact inverse of `preprocess`: network input -> RGB image in [0, 255] (unclipped)."""
    mean = keras.ops.convert_to_tensor(IMAGENET_MEAN_BGR, dtype=network_input.dtype)
    return keras.ops.flip(network_input + mean, axis=-1)


@dataclasses.dataclass(frozen=True)
class Weights:
    """Where the network's weights come from, for loading and for the run report.

    Attributes:
        source: "imagenet", "random" or "file".
        path: the weights file (None for random weights).
        sha256: hex digest of that file (None for random weights).
        seed: the seed of random weights (None otherwise).
        network: the `Network`'s name the weights are for.
    """
    source: str
    path: str | None = None
    sha256: str | None = None
    seed: int | None = None
    network: str = "vgg19"

    def to_json(self):
        return dataclasses.asdict(self)


def weights_search_dirs():
    """The `vgg_weights/` folders looked at first: the working directory's, the checkout's."""
    dirs = [pathlib.Path.cwd() / WEIGHTS_DIRNAME,
            pathlib.Path(__file__).resolve().parents[1] / WEIGHTS_DIRNAME]
    return list(dict.fromkeys(d.resolve() for d in dirs))


def keras_cache_dir():
    """Keras' download cache for models (`$KERAS_HOME/models`, default ~/.keras/models)."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return pathlib.Path(home) / "models"


def resolve_weights(weights, seed=0, network=VGG19):
    """Finds the weights that `weights` names, downloading ImageNet weights if needed.

    Args:
        weights: "imagenet" (look in `vgg_weights/`, then the Keras cache, then download
            with Keras' downloader, which shows progress and checks the published MD5),
            "random" (seeded random weights, for smoke runs and tests only), or the path
            of a weights file.
        seed: seed of the random weights.
        network: the `Network` (or its name) the weights are for.

    Returns:
        A `Weights`.

    Raises:
        ValueError: the named file does not exist, or ImageNet weights are neither on
            disk nor downloadable (the message says where to put the file).
    """
    if isinstance(weights, Weights):
        return weights
    network = get_network(network)
    if weights == "random":
        return Weights("random", seed=seed, network=network.name)
    if weights != "imagenet":
        path = pathlib.Path(weights).expanduser()
        if not path.is_file():
            raise ArgumentError("weights", f"{weights}: no such file; give the path of a "
                                           f"{network.title} no-top weights file, imagenet "
                                           f"or random")
        return Weights("file", str(path), files.sha256(path), network=network.name)
    for folder in weights_search_dirs() + [keras_cache_dir()]:
        candidate = folder / network.weights_file
        if candidate.is_file():
            return Weights("imagenet", str(candidate), files.sha256(candidate),
                           network=network.name)
    url = os.environ.get(network.weights_url_env, network.weights_url)
    try:
        path = keras.utils.get_file(network.weights_file, url, cache_subdir="models",
                                    cache_dir=str(keras_cache_dir().parent),
                                    file_hash=network.weights_md5)
    except Exception as error:  # Keras raises bare Exception for URL and hash failures.
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ArgumentError(
            "weights", f"imagenet: {network.weights_file} is not in {WEIGHTS_DIRNAME}/ or "
            f"{keras_cache_dir()} and the download failed ({reason}); fetch "
            f"{network.weights_url} on a connected machine and put it in {WEIGHTS_DIRNAME}/ "
            f"(see {WEIGHTS_DIRNAME}/README.md), or give the file's path as weights") from None
    return Weights("imagenet", path, files.sha256(path), network=network.name)


class ReplicatePadding(keras.layers.Layer):
    """Pads height and width by one position, repeating the edge: what a 3x3 convolution
    without padding then needs to keep the size (for one position, NumPy's "symmetric"
    mode repeats the edge, and every backend's pad has it)."""

    def call(self, inputs):
        return keras.ops.pad(inputs, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="symmetric")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels_ = input_shape
        return (batch, None if height is None else height + 2,
                None if width is None else width + 2, channels_)


def _randomize(model, seed):
    """He-normal kernels and zero biases from a seeded NumPy generator (backend-independent)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            fan_in = np.prod(kernel.shape[:-1])
            layer.set_weights([
                rng.normal(0.0, np.sqrt(2.0 / fan_in), kernel.shape).astype(np.float32),
                np.zeros_like(bias)])


def feature_model(layers, pooling="max", weights="imagenet", seed=0, network=VGG19,
                  padding="zeros"):
    """Builds a network truncated after the deepest requested layer
    (`build_feature_model`), or returns the one built before for the same arguments: a
    notebook or a figure that runs a technique many times builds the network once.
    """
    network = get_network(network)
    _check_choices(pooling, padding)
    names = tuple(network.layer(name) for name in layers)
    return _cached_model(names, pooling, resolve_weights(weights, seed, network), network,
                         padding, keras.config.dtype_policy().name)


def _check_choices(pooling, padding):
    if pooling not in POOLINGS:
        raise ArgumentError("pooling", f"{pooling!r}: use avg or max")
    if padding not in PADDINGS:
        raise ArgumentError("padding", f"{padding!r}: use {' or '.join(PADDINGS)}")


@functools.lru_cache(maxsize=4)
def _cached_model(layers, pooling, weights, network, padding, dtype_policy):
    del dtype_policy  # Part of the key: a float64 model is another model.
    return build_feature_model(layers, pooling, weights, network=network, padding=padding)


def build_feature_model(layers, pooling="max", weights="imagenet", seed=0, network=VGG19,
                        padding="zeros"):
    """Builds a network truncated after the deepest requested layer.

    Args:
        layers: paper layer names (`relu1_1`, `conv4_2`, ...).
        pooling: "max" (the trained network's own) or "avg" (Gatys et al. 2016's paper).
        weights: "imagenet" (the default; see `resolve_weights`), "random" (seeded
            random weights: plumbing tests only, the pictures mean nothing), the path of
            a weights file, or a `Weights`.
        seed: the seed of random weights.
        network: a `Network` or its name ("vgg19", "vgg16").
        padding: "zeros" (the trained network's) or "replicate" (`PADDINGS`).

    Returns:
        A `keras.Model` from a preprocessed batch (B, H, W, 3) to a dict that maps each
        requested (canonical) layer name to its activations (B, H_l, W_l, C_l). Layers
        after the deepest requested one are not built, so never run.

    The model's `weights_source` attribute is the resolved `Weights` (for run reports),
    its `network` the `Network`.

    Raises:
        ValueError: unknown layer, pooling or padding, missing ImageNet weights, or a
            weights file of the wrong shape (`ArgumentError` naming the argument).
    """
    network = get_network(network)
    _check_choices(pooling, padding)
    weights = resolve_weights(weights, seed, network)
    wanted = {network.layers[network.layer(name)]: network.layer(name) for name in layers}
    if not wanted:
        raise ValueError(f"no {network.title} layers requested")
    order = list(network.layers.values())
    deepest = max(order.index(keras_name) for keras_name in wanted)

    full = getattr(keras.applications, network.application)(
        include_top=False, weights=None, input_shape=(None, None, 3))
    if weights.source == "random":
        _randomize(full, weights.seed)
    else:
        try:
            full.load_weights(weights.path)
        except Exception as error:  # h5py and Keras raise several types for a bad file.
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ArgumentError(
                "weights", f"{weights.path}: not {network.title} no-top weights ({reason}); "
                           f"use Keras' {network.weights_file}") from None

    inputs = keras.Input((None, None, 3), name="preprocessed_image")
    outputs = {}
    x = inputs
    for keras_layer in full.layers[1:deepest + 2]:  # layers[0] is the input layer.
        if isinstance(keras_layer, keras.layers.MaxPooling2D) and pooling == "avg":
            x = keras.layers.AveragePooling2D(2, strides=2, name=keras_layer.name)(x)
        elif isinstance(keras_layer, keras.layers.Conv2D) and padding == "replicate":
            x = ReplicatePadding(name=f"{keras_layer.name}_padding")(x)
            convolution = keras.layers.Conv2D.from_config(
                {**keras_layer.get_config(), "padding": "valid"})
            x = convolution(x)
            convolution.set_weights(keras_layer.get_weights())
        else:
            x = keras_layer(x)
        if keras_layer.name in wanted:
            outputs[wanted[keras_layer.name]] = x
    model = keras.Model(inputs, outputs, name=f"{network.name}_to_{wanted[order[deepest]]}")
    # Fixed weights: PyTorch then tracks no gradient for them (the image's is taken alone).
    model.trainable = False
    model.weights_source = weights
    model.network = network
    return model


def sub_model(model, layers):
    """The part of a `feature_model` that computes only `layers` (weights shared).

    Stops at the deepest of `layers`, so a pass for shallow layers costs no deeper work.
    """
    names = [canonical_layer_name(name) for name in layers]
    part = keras.Model(model.inputs, {name: model.output[name] for name in names},
                       name=f"{model.name}_{'_'.join(names)}")
    part.weights_source = model.weights_source
    part.network = model.network
    return part
