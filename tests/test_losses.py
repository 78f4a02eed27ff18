"""Each loss against a literal loop reference of its paper's equation, plus gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from style_transfer import losses, vgg


def gram_reference(features):
    """G_ij = Σ_k F_ik F_jk, Gatys et al. 2016 Eq. 3, as loops over positions k."""
    height, width, channels = features.shape
    gram = np.zeros((channels, channels))
    for i in range(channels):
        for j in range(channels):
            for y in range(height):
                for x in range(width):
                    gram[i, j] += features[y, x, i] * features[y, x, j]
    return gram


def content_reference(content, generated):
    """1/2 Σ_ij (F_ij - P_ij)², Eq. 1."""
    total = 0.0
    for index in np.ndindex(content.shape):
        total += 0.5 * (generated[index] - content[index]) ** 2
    return total


def style_reference(style_gram, generated):
    """E_l = 1/(4 N² M²) Σ_ij (G_ij - A_ij)², Eq. 4."""
    height, width, channels = generated.shape
    gram = gram_reference(generated)
    total = 0.0
    for i in range(channels):
        for j in range(channels):
            total += (gram[i, j] - style_gram[i, j]) ** 2
    return total / (4.0 * channels ** 2 * (height * width) ** 2)


def tv_reference(image):
    """Σ over neighbouring pixel pairs of the squared difference (β = 2)."""
    height, width, channels = image.shape
    total = 0.0
    for y in range(height):
        for x in range(width):
            for c in range(channels):
                if y + 1 < height:
                    total += (image[y + 1, x, c] - image[y, x, c]) ** 2
                if x + 1 < width:
                    total += (image[y, x + 1, c] - image[y, x, c]) ** 2
    return total


def as_numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def test_gram_matrix_matches_loop_reference(rng):
    features = rng.normal(size=(5, 7, 3))
    np.testing.assert_allclose(as_numpy(losses.gram_matrix(features)),
                               gram_reference(features), rtol=1e-12)


def test_gram_matrix_of_ones_counts_positions():
    gram = as_numpy(losses.gram_matrix(np.ones((4, 6, 3))))
    np.testing.assert_array_equal(gram, np.full((3, 3), 24.0))


def test_content_loss_matches_loop_reference(rng):
    content, generated = rng.normal(size=(2, 5, 7, 3))
    np.testing.assert_allclose(as_numpy(losses.content_loss(content, generated)),
                               content_reference(content, generated), rtol=1e-12)


def test_style_loss_matches_loop_reference(rng):
    style_gram = gram_reference(rng.normal(size=(5, 7, 4)))
    generated = rng.normal(size=(5, 7, 4))
    np.testing.assert_allclose(as_numpy(losses.style_loss(style_gram, generated)),
                               style_reference(style_gram, generated), rtol=1e-10)


def test_style_loss_is_zero_for_its_own_gram_and_known_for_ones():
    ones = np.ones((2, 3, 2))
    assert as_numpy(losses.style_loss(gram_reference(ones), ones)) == 0.0
    # G = 6 everywhere, A = 0: Σ 36 over 4 entries / (4 · 2² · 6²) = 144 / 576.
    assert as_numpy(losses.style_loss(np.zeros((2, 2)), ones)) == pytest.approx(0.25)


def test_total_variation_matches_loop_reference(rng):
    image = rng.normal(size=(5, 7, 3))
    np.testing.assert_allclose(as_numpy(losses.total_variation_loss(image)),
                               tv_reference(image), rtol=1e-12)


def test_total_variation_of_a_ramp():
    ramp = np.tile(np.arange(4.0)[None, :, None], (3, 1, 1))  # (3, 4, 1), steps of 1.
    assert as_numpy(losses.total_variation_loss(ramp)) == 9.0  # 3 rows x 3 steps.


def central_difference(function, x, indices, step):
    gradient = []
    for index in indices:
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        gradient.append((function(up) - function(down)) / (2 * step))
    return np.array(gradient)


def tape_gradient(function, x):
    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        value = function(tensor)
    return tape.gradient(value, tensor).numpy()


@pytest.mark.parametrize("name", ["content", "style", "tv"])
def test_each_loss_gradient_matches_finite_differences(rng, name):
    target = rng.normal(size=(4, 5, 3))
    function = {
        "content": lambda x: losses.content_loss(target, x),
        "style": lambda x: losses.style_loss(gram_reference(target), x),
        "tv": losses.total_variation_loss,
    }[name]
    x = rng.normal(size=(4, 5, 3))
    indices = [tuple(i) for i in rng.integers(0, [4, 5, 3], size=(8, 3))]
    numeric = central_difference(lambda v: float(as_numpy(function(v))), x, indices, 1e-6)
    analytic = tape_gradient(function, x)
    np.testing.assert_allclose([analytic[i] for i in indices], numeric,
                               rtol=1e-6, atol=1e-9)


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


def test_total_gatys_loss_gradient_through_the_network(float64_model, rng):
    content = rng.uniform(0, 255, (10, 12, 3))
    style = rng.uniform(0, 255, (8, 8, 3))
    targets = losses.gatys_targets(float64_model, content, [style], ["relu2_1"],
                                   ["relu1_1", "relu2_1"])

    def total(image):
        return losses.gatys_loss(
            losses.features_of(float64_model, image), image, targets,
            content_weight=1.0, style_weight=1e-2, tv_weight=0.5,
            style_layer_weights={"relu1_1": 0.5, "relu2_1": 0.5},
            style_blend_weights=[1.0])["total"]

    x = rng.uniform(20, 235, (10, 12, 3))
    assert as_numpy(losses.features_of(float64_model, x)["relu1_1"]).dtype == np.float64
    indices = [tuple(i) for i in rng.integers(0, [10, 12, 3], size=(10, 3))]
    numeric = central_difference(lambda v: float(as_numpy(total(v))), x, indices, 1e-4)
    analytic = tape_gradient(total, x)
    np.testing.assert_allclose([analytic[i] for i in indices], numeric, rtol=1e-5)


def test_style_targets_rescale_the_gram_to_the_output_size(random_model, rng):
    """A style image twice the output's size has 4x the positions: A is scaled by 1/4."""
    small = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    big = np.kron(small, np.ones((2, 2, 1))).astype(np.float32)  # (64, 64, 3)
    output_features = losses.features_of(random_model, small)
    grams = losses.style_targets(random_model, big, output_features, ["relu1_1"])
    big_features = as_numpy(losses.features_of(random_model, big)["relu1_1"])
    expected = gram_reference(big_features.astype(np.float64)) * (32 * 32) / (64 * 64)
    np.testing.assert_allclose(as_numpy(grams["relu1_1"]), expected, rtol=1e-4)


def test_gatys_loss_combines_terms_with_their_weights(random_model, rng):
    content = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    styles = [rng.uniform(0, 255, (32, 32, 3)).astype(np.float32) for _ in range(2)]
    layers = {"relu1_1": 0.3, "relu3_1": 0.7}
    targets = losses.gatys_targets(random_model, content, styles, ["relu4_2"], list(layers))
    image = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    features = losses.features_of(random_model, image)
    terms = losses.gatys_loss(features, image, targets, content_weight=2.0,
                              style_weight=5.0, tv_weight=0.1, style_layer_weights=layers,
                              style_blend_weights=[0.25, 0.75])
    f = {layer: as_numpy(value).astype(np.float64) for layer, value in features.items()}
    content_f = as_numpy(losses.features_of(random_model, content)["relu4_2"])
    expected_style = sum(
        blend * sum(weight * style_reference(
            gram_reference(as_numpy(losses.features_of(random_model, style)[layer])
                           .astype(np.float64)), f[layer])
            for layer, weight in layers.items())
        for blend, style in zip([0.25, 0.75], styles))
    np.testing.assert_allclose(float(terms["content"]),
                               2.0 * content_reference(content_f, f["relu4_2"]), rtol=1e-4)
    np.testing.assert_allclose(float(terms["style"]), 5.0 * expected_style, rtol=1e-3)
    np.testing.assert_allclose(float(terms["tv"]), 0.1 * tv_reference(image), rtol=1e-4)
    np.testing.assert_allclose(float(terms["total"]),
                               float(terms["content"] + terms["style"] + terms["tv"]),
                               rtol=1e-6)


def test_too_small_image_for_the_deepest_layer_is_a_clear_error(random_model):
    with pytest.raises(ValueError, match=r"content image \(12x12 px\) is too small for "
                                         r"layer relu5_1.*--size"):
        losses.gatys_targets(random_model, np.zeros((12, 12, 3)), [np.zeros((32, 32, 3))],
                             ["relu4_2"], ["relu5_1"])
