"""Shared test fixtures: tiny images, random-weight VGG19, legacy-format weights files."""


import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from style_transfer import vgg

def conv_shapes(network=vgg.VGG19):
    """(name, input channels, output channels) of a network's convolutions, in order."""
    shapes, channels = [], 3
    for block, (num_convs, filters) in enumerate(zip(network.convs_per_block,
                                                     network.channels_per_block), start=1):
        for conv in range(1, num_convs + 1):
            shapes.append((f"block{block}_conv{conv}", channels, filters))
            channels = filters
    return shapes


def write_legacy_weights(path, seed=0, bad_layer=None, network=vgg.VGG19):
    """Writes a network's no-top weights in Keras' legacy HDF5 layout with h5py directly.

    This is the layout of the published vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5
    (root attribute layer_names; one group per layer with attribute weight_names), written
    independently of Keras so the test proves that the loader reads the real format.

    Returns:
        name -> [kernel, bias] arrays written.
    """
    rng = np.random.default_rng(seed)
    written = {}
    names = ["input_1"]
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        f.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S")
        for name, cin, cout in conv_shapes(network):
            kernel_shape = (3, 3, cin, cout) if name != bad_layer else (5, 5, cin, cout)
            kernel = rng.normal(0, np.sqrt(2 / (9 * cin)), kernel_shape).astype(np.float32)
            bias = rng.normal(0, 0.1, (cout,)).astype(np.float32)
            group = f.create_group(name)
            weight_names = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            group.attrs["weight_names"] = np.array(weight_names)
            group[weight_names[0].decode()] = kernel
            group[weight_names[1].decode()] = bias
            written[name] = [kernel, bias]
            names.append(name)
            if name == f"block{name[5]}_conv{network.convs_per_block[int(name[5]) - 1]}":
                pool = f"block{name[5]}_pool"
                f.create_group(pool).attrs["weight_names"] = np.array([], dtype="S")
                names.append(pool)
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
    return written


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def random_model():
    """Random-weight VGG19 features up to relu5_1 (all Gatys layers)."""
    return vgg.feature_model(list(vgg.CONTENT_LAYERS + vgg.STYLE_LAYERS),
                             weights=vgg.Weights("random", seed=0))


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """No weights anywhere and a download address that refuses at once."""
    for network in vgg.NETWORKS.values():
        monkeypatch.setenv(network.weights_url_env, "http://127.0.0.1:9/" + network.weights_file)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(vgg, "weights_search_dirs", lambda: [tmp_path / "vgg_weights"])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def as_numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def central_difference(function, x, indices, step):
    """Numerical d function / d x at `indices`, by central differences."""
    gradient = []
    for index in indices:
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        gradient.append((function(up) - function(down)) / (2 * step))
    return np.array(gradient)


def tape_gradient(function, x):
    """d function / d x by TensorFlow's tape."""
    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        value = function(tensor)
    return tf.convert_to_tensor(tape.gradient(value, tensor)).numpy()  # Dense if sliced.


@pytest.fixture
def float64_model():
    """A random-weight VGG19 to relu2_1 computing in float64, for gradient checks."""
    previous_policy, previous_floatx = keras.config.dtype_policy(), keras.config.floatx()
    keras.config.set_floatx("float64")  # For the Input layer,
    keras.config.set_dtype_policy("float64")  # and for every other layer.
    try:
        yield vgg.feature_model(["relu1_1", "relu1_2", "relu2_1"],
                                weights=vgg.Weights("random", seed=1))
    finally:
        keras.config.set_floatx(previous_floatx)
        keras.config.set_dtype_policy(previous_policy)
