"""The feature networks (VGG19, VGG16): layer names, truncation, pooling, Caffe preprocessing,
weight loading."""

import hashlib

import keras
import numpy as np
import pytest
from conftest import write_legacy_weights

from style_transfer import losses, vgg
from style_transfer.parameters import ArgumentError


def test_paper_names_map_to_keras_layers():
    assert vgg.VGG19.layers["relu4_2"] == "block4_conv2"
    assert vgg.VGG19.layers["relu1_1"] == "block1_conv1"
    assert vgg.VGG19.layers["relu5_4"] == "block5_conv4"
    assert vgg.VGG19.layers["pool3"] == "block3_pool"
    assert vgg.canonical_layer_name("conv4_2") == "relu4_2"
    assert len([name for name in vgg.VGG19.layers if name.startswith("relu")]) == 16


@pytest.mark.parametrize("name", ["relu6_1", "relu1_3", "fc7", ""])
def test_unknown_layer_names_are_rejected_by_name(name):
    with pytest.raises(ValueError, match=f"unknown VGG19 layer '{name}'"):
        vgg.VGG19.layer(name)


def test_a_pooling_layer_has_its_blocks_channels_and_shape():
    model = vgg.feature_model(["pool2", "relu3_1"], weights="random")
    assert vgg.channels(model, "pool2") == 128 and vgg.channels(model, "conv3_1") == 256
    assert vgg.feature_shape(model, "pool2", 40, 33) == (10, 8, 128)


def keras_layer_names(model):
    return [layer.name for layer in model.layers]


def test_model_stops_at_the_deepest_requested_layer():
    model = vgg.feature_model(["relu1_1", "conv4_2"], weights="random")
    names = keras_layer_names(model)
    assert names[-1] == "block4_conv2"
    assert not any(name.startswith("block5") for name in names)
    assert "block4_conv3" not in names
    assert set(model.output) == {"relu1_1", "relu4_2"}


def test_pooling_choice():
    avg = vgg.feature_model(["relu3_1"], pooling="avg", weights="random")
    max_ = vgg.feature_model(["relu3_1"], pooling="max", weights="random")
    pool_types = lambda m: {type(l).__name__ for l in m.layers if "pool" in l.name}
    assert pool_types(avg) == {"AveragePooling2D"}
    assert pool_types(max_) == {"MaxPooling2D"}
    with pytest.raises(ArgumentError, match="pooling: 'min'"):
        vgg.feature_model(["relu3_1"], pooling="min", weights="random")


def test_replicate_padding_lets_a_flat_image_stay_flat_in_every_layer():
    """With the edge repeated, the network sees no border: a flat image gives the same
    activations at every position of every layer. With zeros, its border differs."""
    layers = ["relu1_1", "relu2_2", "relu3_3", "relu4_3", "relu5_1"]
    flat = np.full((1, 40, 48, 3), 9.0, np.float32)
    for padding, varies in (("replicate", False), ("zeros", True)):
        model = vgg.feature_model(layers, weights="random", network="vgg16", padding=padding)
        for layer, features in model(flat).items():
            spread = np.ptp(keras.ops.convert_to_numpy(features)[0], axis=(0, 1)).max()
            assert (spread > 1e-3) == varies, (padding, layer, spread)
    with pytest.raises(ArgumentError, match="padding: 'reflect'"):
        vgg.feature_model(layers, weights="random", padding="reflect")


def test_replicate_padding_is_a_convolution_of_the_edge_repeated(rng):
    """relu1_1 against a loop over the 3x3 window of the edge-padded image; and away from
    the border (farther than the receptive field reaches) the paddings agree."""
    image = rng.normal(0, 50, (1, 48, 40, 3)).astype(np.float32)
    replicate = vgg.feature_model(["relu1_1", "relu3_1"], weights="random", padding="replicate")
    zeros = vgg.feature_model(["relu1_1", "relu3_1"], weights="random", padding="zeros")
    kernel, bias = replicate.get_layer("block1_conv1").get_weights()
    padded = np.pad(image[0].astype(np.float64), ((1, 1), (1, 1), (0, 0)), mode="edge")
    expected = np.zeros(image.shape[1:3] + (kernel.shape[-1],))
    for y in range(image.shape[1]):
        for x in range(image.shape[2]):
            for dy in range(3):
                for dx in range(3):
                    expected[y, x] += padded[y + dy, x + dx] @ kernel[dy, dx]
    expected = np.maximum(expected + bias, 0)
    ours, theirs = replicate(image), zeros(image)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours["relu1_1"])[0], expected,
                               rtol=1e-4, atol=1e-3)
    # relu1_1's border is one position; relu3_1 (two poolings) sees 10 pixels around.
    for layer, margin in (("relu1_1", 1), ("relu3_1", 3)):
        inner = (0, slice(margin, -margin), slice(margin, -margin))
        assert ours[layer][inner].shape[0] >= 4
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ours[layer])[inner],
                                   keras.ops.convert_to_numpy(theirs[layer])[inner],
                                   rtol=1e-5, atol=1e-4)


def test_preprocess_is_caffe_convention_and_deprocess_inverts_it(rng):
    image = rng.uniform(0, 255, (5, 7, 3))
    pre = keras.ops.convert_to_numpy(vgg.preprocess(image))
    expected = np.empty_like(image)
    for c, mean in enumerate((103.939, 116.779, 123.68)):  # B, G, R
        expected[:, :, c] = image[:, :, 2 - c] - mean
    np.testing.assert_allclose(pre, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(vgg.deprocess(pre)), image,
                               rtol=0, atol=1e-12)


def test_features_match_the_full_keras_vgg19_with_max_pooling(tmp_path, rng):
    """Truncation and the name mapping pick the same tensors as keras.applications."""
    path = tmp_path / vgg.VGG19.weights_file
    write_legacy_weights(path)
    weights = vgg.resolve_weights(str(path))
    ours = vgg.feature_model(["relu2_1", "relu4_2"], pooling="max", weights=weights)
    full = keras.applications.VGG19(include_top=False, weights=str(path))
    probe = keras.Model(full.input, [full.get_layer("block2_conv1").output,
                                     full.get_layer("block4_conv2").output])
    image = rng.uniform(0, 255, (1, 32, 40, 3)).astype(np.float32)
    batch = keras.ops.convert_to_numpy(vgg.preprocess(image))
    expected = [keras.ops.convert_to_numpy(t) for t in probe(batch)]
    got = ours(batch)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got["relu2_1"]), expected[0],
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got["relu4_2"]), expected[1],
                               rtol=1e-5, atol=1e-4)


def test_weights_file_loads_exactly_and_is_hashed(tmp_path):
    path = tmp_path / "my_vgg.h5"
    written = write_legacy_weights(path, seed=3)
    weights = vgg.resolve_weights(str(path))
    assert weights.source == "file"
    assert weights.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    model = vgg.feature_model(["relu3_1"], weights=weights)
    kernel, bias = model.get_layer("block3_conv1").get_weights()
    np.testing.assert_array_equal(kernel, written["block3_conv1"][0])
    np.testing.assert_array_equal(bias, written["block3_conv1"][1])


def test_wrong_shaped_weights_file_fails_clearly(tmp_path):
    path = tmp_path / "bad.h5"
    write_legacy_weights(path, bad_layer="block3_conv2")
    with pytest.raises(ArgumentError, match=r"weights: .*bad\.h5: not VGG19 no-top weights"):
        vgg.feature_model(["relu1_1"], weights=vgg.resolve_weights(str(path)))


def test_missing_weights_file_is_named():
    with pytest.raises(ArgumentError, match="weights: /no/such.h5: no such file"):
        vgg.resolve_weights("/no/such.h5")


def test_imagenet_looks_in_vgg_weights_then_keras_cache(no_network):
    cache = no_network / "keras_home" / "models"
    cache.mkdir(parents=True)
    write_legacy_weights(cache / vgg.VGG19.weights_file, seed=1)
    found = vgg.resolve_weights("imagenet")
    assert (found.source, found.path) == ("imagenet", str(cache / vgg.VGG19.weights_file))

    local = no_network / "vgg_weights"
    local.mkdir()
    write_legacy_weights(local / vgg.VGG19.weights_file, seed=2)
    found = vgg.resolve_weights("imagenet")
    assert found.path == str(local / vgg.VGG19.weights_file)
    assert found.sha256 == hashlib.sha256((local / vgg.VGG19.weights_file).read_bytes()).hexdigest()


def test_offline_imagenet_without_a_file_says_where_to_put_it(no_network):
    with pytest.raises(ValueError) as error:
        vgg.resolve_weights("imagenet")
    message = str(error.value)
    assert "\n" not in message
    assert "download failed" in message
    assert f"put it in {vgg.WEIGHTS_DIRNAME}/" in message
    assert vgg.VGG19.weights_url in message
    assert not list((no_network / "keras_home").rglob("*.h5"))  # Nothing half-written.


def test_the_default_weights_are_imagenet(no_network):
    """Leaving out weights never gives a random network silently."""
    with pytest.raises(ArgumentError, match="weights: imagenet: .* download failed"):
        vgg.feature_model(["relu1_1"])


def test_random_weights_are_seeded(rng):
    image = rng.uniform(0, 255, (16, 16, 3))
    features = [losses.features_of(
        vgg.feature_model(["relu2_1"], weights=vgg.Weights("random", seed=seed)),
        image)["relu2_1"] for seed in (5, 5, 6)]
    np.testing.assert_array_equal(features[0], features[1])
    assert not np.allclose(features[0], features[2])


def test_vgg16_is_a_second_description_of_the_same_kind():
    assert vgg.get_network("vgg16") is vgg.VGG16 and vgg.get_network(vgg.VGG19) is vgg.VGG19
    relus = [name for name in vgg.VGG16.layers if name.startswith("relu")]
    assert len(relus) == 13 and relus[-1] == "relu5_3"
    assert vgg.VGG16.layers["relu3_3"] == "block3_conv3" and "relu3_4" not in vgg.VGG16.layers
    assert vgg.VGG16.channels("relu4_3") == 512 and vgg.VGG19.channels("pool2") == 128
    assert vgg.VGG16.weights_url.endswith("/vgg16/" + vgg.VGG16.weights_file)
    with pytest.raises(ArgumentError, match="network: 'vgg11': use vgg19 or vgg16"):
        vgg.get_network("vgg11")


def test_an_unknown_layer_lists_that_networks_names():
    with pytest.raises(ValueError, match=r"unknown VGG16 layer 'relu3_4'; use relu1_1 … "
                                         r"relu1_2, relu2_1 … relu2_2, relu3_1 … relu3_3"):
        vgg.VGG16.layer("relu3_4")
    assert vgg.VGG19.layer("conv3_4") == "relu3_4"


@pytest.mark.parametrize("network", ["vgg16", "vgg19"])
def test_features_match_the_full_keras_network(tmp_path, rng, network):
    """Each description builds what keras.applications builds, from a file in Keras'
    legacy layout written without Keras."""
    description = vgg.get_network(network)
    path = tmp_path / description.weights_file
    write_legacy_weights(path, network=description)
    weights = vgg.resolve_weights(str(path), network=network)
    assert weights.network == network
    ours = vgg.feature_model(["relu3_3", "relu5_1"], weights=weights, network=network)
    assert ours.network is description
    full = getattr(keras.applications, description.application)(include_top=False,
                                                                  weights=str(path))
    probe = keras.Model(full.input, full.get_layer("block5_conv1").output)
    batch = vgg.preprocess(rng.uniform(0, 255, (1, 32, 40, 3)).astype(np.float32))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(batch)["relu5_1"]),
                               keras.ops.convert_to_numpy(probe(batch)), rtol=1e-5, atol=1e-4)


def test_imagenet_vgg16_is_found_by_its_own_name_and_offline_says_so(no_network):
    with pytest.raises(ArgumentError) as error:
        vgg.resolve_weights("imagenet", network="vgg16")
    assert vgg.VGG16.weights_file in str(error.value) and vgg.VGG16.weights_url in str(
        error.value)
    local = no_network / "vgg_weights"
    local.mkdir()
    write_legacy_weights(local / vgg.VGG19.weights_file)  # The other network's file.
    with pytest.raises(ArgumentError):
        vgg.resolve_weights("imagenet", network="vgg16")
    write_legacy_weights(local / vgg.VGG16.weights_file, network=vgg.VGG16)
    found = vgg.resolve_weights("imagenet", network="vgg16")
    assert (found.path, found.network) == (str(local / vgg.VGG16.weights_file), "vgg16")


def test_a_vgg19_file_given_for_vgg16_is_refused_by_name(tmp_path):
    path = tmp_path / "vgg19.h5"
    write_legacy_weights(path)
    with pytest.raises(ArgumentError, match=r"weights: .*vgg19\.h5: not VGG16 no-top"):
        vgg.feature_model(["relu1_1"], network="vgg16", weights=str(path))
