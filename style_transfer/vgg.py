"""The VGG19 feature model that every technique measures images with.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", 2014, arXiv:1409.1556: the 16 convolutional and 5 pooling layers of the
19-layer network (no fully connected top), from `keras.applications.VGG19`.

The Keras ImageNet weights are the original Caffe VGG19 (caffe preprocessing below), the
network that the reference implementations of every technique here used
(leongatys/PytorchNeuralStyleTransfer, jcjohnson/neural-style, deep-photo, CNNMRF,
neural-doodle). Gatys et al. (2016, Sec. 2) report results with a *rescaled* VGG19 (every
filter's mean activation one) and average pooling; their own code for the original
network keeps its max pooling. So the network here keeps max pooling unless a technique
asks otherwise, and each technique's loss weights are its reference code's for this
network, not the paper's α/β (README, "Defaults").

Layers are named as in the papers: `relu4_2` is the rectified output of the second
convolution of block 4 (`conv4_2` is accepted for it, as Gatys et al. write it). The
mapping to Keras names (`block4_conv2`) lives here and nowhere else.
"""

import dataclasses
import functools
import os
import pathlib

import keras
import numpy as np

from style_transfer import files
from style_transfer.parameters import ArgumentError

WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
# Where Keras' own VGG19 loader downloads the no-top weights, and the MD5 it checks
# (keras/src/applications/vgg19.py, WEIGHTS_PATH_NO_TOP and file_hash).
WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
               + WEIGHTS_FILE)
WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"
# A mirror of the same file can be named here (checked against the same MD5).
WEIGHTS_URL_ENV = "STYLE_TRANSFER_VGG19_URL"
WEIGHTS_DIRNAME = "vgg_weights"

# Caffe preprocessing, which the converted weights were trained with: BGR channel order,
# ImageNet mean per channel subtracted, no scaling (keras.applications.vgg19, mode="caffe").
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)

_CONVS_PER_BLOCK = (2, 2, 4, 4, 4)

# Paper name -> Keras layer name, in network order.
LAYERS = {}
for _block, _num_convs in enumerate(_CONVS_PER_BLOCK, start=1):
    for _conv in range(1, _num_convs + 1):
        LAYERS[f"relu{_block}_{_conv}"] = f"block{_block}_conv{_conv}"
    LAYERS[f"pool{_block}"] = f"block{_block}_pool"
_ALIASES = {name.replace("relu", "conv"): name for name in LAYERS if name.startswith("relu")}
_ORDER = list(LAYERS.values())

CONTENT_LAYERS = ("relu4_2",)  # Gatys et al. 2016, Sec. 3 ("conv4_2").
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # Same section.
POOLINGS = ("max", "avg")


def canonical_layer_name(name):
    """Returns the paper name (`relu4_2`) of a layer given as `relu4_2` or `conv4_2`.

    Raises:
        ValueError: the name is not a VGG19 layer.
    """
    name = name.strip()
    name = _ALIASES.get(name, name)
    if name not in LAYERS:
        raise ValueError(
            f"unknown VGG19 layer {name!r}; use relu1_1 … relu5_4 (conv1_1 … conv5_4 "
            f"name the same outputs) or pool1 … pool5")
    return name


def pooling_depth(name):
    """How many 2x2 poolings come before a layer's output (relu3_1: 2, pool3: 3)."""
    name = canonical_layer_name(name)
    block = int(name[4])  # relu3_1 and pool3 both carry the block number there.
    return block if name.startswith("pool") else block - 1


def channels(model, name):
    """N_l: the number of channels of a layer of a VGG19 feature model (a pooling layer
    has its block's)."""
    return model.get_layer(LAYERS[canonical_layer_name(name)]).output.shape[-1]


def feature_shape(model, name, height, width):
    """(H_l, W_l, C_l) of a layer's output for a (height, width) input."""
    name = canonical_layer_name(name)
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
    """
    source: str
    path: str | None = None
    sha256: str | None = None
    seed: int | None = None

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


def resolve_weights(weights, seed=0):
    """Finds the weights that `weights` names, downloading ImageNet weights if needed.

    Args:
        weights: "imagenet" (look in `vgg_weights/`, then the Keras cache, then download
            with Keras' downloader, which shows progress and checks the published MD5),
            "random" (seeded random weights, for smoke runs and tests only), or the path
            of a weights file.
        seed: seed of the random weights.

    Returns:
        A `Weights`.

    Raises:
        ValueError: the named file does not exist, or ImageNet weights are neither on
            disk nor downloadable (the message says where to put the file).
    """
    if isinstance(weights, Weights):
        return weights
    if weights == "random":
        return Weights("random", seed=seed)
    if weights != "imagenet":
        path = pathlib.Path(weights).expanduser()
        if not path.is_file():
            raise ArgumentError("weights", f"{weights}: no such file; give the path of a "
                                           f"VGG19 no-top weights file, imagenet or random")
        return Weights("file", str(path), files.sha256(path))
    for folder in weights_search_dirs() + [keras_cache_dir()]:
        candidate = folder / WEIGHTS_FILE
        if candidate.is_file():
            return Weights("imagenet", str(candidate), files.sha256(candidate))
    url = os.environ.get(WEIGHTS_URL_ENV, WEIGHTS_URL)
    try:
        path = keras.utils.get_file(WEIGHTS_FILE, url, cache_subdir="models",
                                    cache_dir=str(keras_cache_dir().parent),
                                    file_hash=WEIGHTS_MD5)
    except Exception as error:  # Keras raises bare Exception for URL and hash failures.
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ArgumentError(
            "weights", f"imagenet: {WEIGHTS_FILE} is not in {WEIGHTS_DIRNAME}/ or "
            f"{keras_cache_dir()} and the download failed ({reason}); fetch {WEIGHTS_URL} "
            f"on a connected machine and put it in {WEIGHTS_DIRNAME}/ "
            f"(see {WEIGHTS_DIRNAME}/README.md), or give the file's path as weights") from None
    return Weights("imagenet", path, files.sha256(path))


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


def feature_model(layers, pooling="max", weights="imagenet", seed=0):
    """Builds VGG19 truncated after the deepest requested layer (`build_feature_model`),
    or returns the one built before for the same arguments: a notebook or a figure that
    runs a technique many times builds the network once.
    """
    if pooling not in POOLINGS:
        raise ArgumentError("pooling", f"{pooling!r}: use avg or max")
    names = tuple(canonical_layer_name(name) for name in layers)
    return _cached_model(names, pooling, resolve_weights(weights, seed),
                         keras.config.dtype_policy().name)


@functools.lru_cache(maxsize=4)
def _cached_model(layers, pooling, weights, dtype_policy):
    del dtype_policy  # Part of the key: a float64 model is another model.
    return build_feature_model(layers, pooling, weights)


def build_feature_model(layers, pooling="max", weights="imagenet", seed=0):
    """Builds VGG19 truncated after the deepest requested layer.

    Args:
        layers: paper layer names (`relu1_1`, `conv4_2`, ...).
        pooling: "max" (the trained network's own) or "avg" (Gatys et al. 2016's paper).
        weights: "imagenet" (the default; see `resolve_weights`), "random" (seeded
            random weights: plumbing tests only, the pictures mean nothing), the path of
            a weights file, or a `Weights`.
        seed: the seed of random weights.

    Returns:
        A `keras.Model` from a preprocessed batch (B, H, W, 3) to a dict that maps each
        requested (canonical) layer name to its activations (B, H_l, W_l, C_l). Layers
        after the deepest requested one are not built, so never run.

    The model's `weights_source` attribute is the resolved `Weights` (for run reports).

    Raises:
        ValueError: unknown layer or pooling, missing ImageNet weights, or a weights
            file of the wrong shape (`ArgumentError` naming `weights` or `pooling`).
    """
    if pooling not in POOLINGS:
        raise ArgumentError("pooling", f"{pooling!r}: use avg or max")
    weights = resolve_weights(weights, seed)
    wanted = {LAYERS[canonical_layer_name(name)]: canonical_layer_name(name) for name in layers}
    if not wanted:
        raise ValueError("no VGG19 layers requested")
    deepest = max(_ORDER.index(keras_name) for keras_name in wanted)

    vgg19 = keras.applications.VGG19(include_top=False, weights=None,
                                     input_shape=(None, None, 3))
    if weights.source == "random":
        _randomize(vgg19, weights.seed)
    else:
        try:
            vgg19.load_weights(weights.path)
        except Exception as error:  # h5py and Keras raise several types for a bad file.
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ArgumentError(
                "weights", f"{weights.path}: not VGG19 no-top weights ({reason}); "
                           f"use Keras' {WEIGHTS_FILE}") from None

    inputs = keras.Input((None, None, 3), name="preprocessed_image")
    outputs = {}
    x = inputs
    for keras_layer in vgg19.layers[1:deepest + 2]:  # layers[0] is the input layer.
        if isinstance(keras_layer, keras.layers.MaxPooling2D) and pooling == "avg":
            x = keras.layers.AveragePooling2D(2, strides=2, name=keras_layer.name)(x)
        else:
            x = keras_layer(x)
        if keras_layer.name in wanted:
            outputs[wanted[keras_layer.name]] = x
    model = keras.Model(inputs, outputs, name=f"vgg19_to_{wanted[_ORDER[deepest]]}")
    model.weights_source = weights
    return model


def sub_model(model, layers):
    """The part of a `feature_model` that computes only `layers` (weights shared).

    Stops at the deepest of `layers`, so a pass for shallow layers costs no deeper work.
    """
    names = [canonical_layer_name(name) for name in layers]
    part = keras.Model(model.inputs, {name: model.output[name] for name in names},
                       name=f"{model.name}_{'_'.join(names)}")
    part.weights_source = model.weights_source
    return part
