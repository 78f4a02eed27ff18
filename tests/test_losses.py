"""Each loss against a literal loop of its paper's equation (with the exact factor between
the paper's form and ours), and its gradient against central differences."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import as_numpy, central_difference, tape_gradient
from style_transfer import losses


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
    """E_l = 1/(4 N² M²) Σ_ij (G_ij - A_ij)², Eq. 4 (A summed over as many positions)."""
    height, width, channels = generated.shape
    gram = gram_reference(generated)
    total = 0.0
    for i in range(channels):
        for j in range(channels):
            total += (gram[i, j] - style_gram[i, j]) ** 2
    return total / (4.0 * channels ** 2 * (height * width) ** 2)


def tv_reference(image, beta=2.0):
    """Σ_ij,c ((x_i,j+1 - x_ij)² + (x_i+1,j - x_ij)²)^(β/2) over pixels with both
    neighbours: Mahendran & Vedaldi 2015, Eq. 5."""
    height, width, channels = image.shape
    total = 0.0
    for y in range(height - 1):
        for x in range(width - 1):
            for c in range(channels):
                squared = ((image[y, x + 1, c] - image[y, x, c]) ** 2
                           + (image[y + 1, x, c] - image[y, x, c]) ** 2)
                total += squared ** (beta / 2)
    return total


def test_gram_matrix_is_eq_3_per_position(rng):
    features = rng.normal(size=(5, 7, 3))
    np.testing.assert_allclose(as_numpy(losses.gram_matrix(features)),
                               gram_reference(features) / 35, rtol=1e-12)


def test_gram_matrix_of_ones_is_ones():
    gram = as_numpy(losses.gram_matrix(np.ones((4, 6, 3))))
    np.testing.assert_array_equal(gram, np.ones((3, 3)))


def test_content_loss_is_eq_1_times_2_over_nm(rng):
    content, generated = rng.normal(size=(2, 5, 7, 3))
    np.testing.assert_allclose(as_numpy(losses.content_loss(content, generated)),
                               content_reference(content, generated) * 2 / (5 * 7 * 3),
                               rtol=1e-12)


def test_style_loss_is_four_times_eq_4(rng):
    style_gram = gram_reference(rng.normal(size=(5, 7, 4)))  # Summed over 35 positions.
    generated = rng.normal(size=(5, 7, 4))
    np.testing.assert_allclose(as_numpy(losses.style_loss(style_gram / 35, generated)),
                               4 * style_reference(style_gram, generated), rtol=1e-10)


def test_style_loss_is_zero_for_its_own_gram_and_known_for_ones():
    ones = np.ones((2, 3, 2))
    assert as_numpy(losses.style_loss(np.ones((2, 2)), ones)) == 0.0
    # Ĝ = 1 everywhere, Â = 0: the mean of (1 - 0)² over 4 entries.
    assert as_numpy(losses.style_loss(np.zeros((2, 2)), ones)) == pytest.approx(1.0)


@pytest.mark.parametrize("beta", [2.0, 2.5])
def test_total_variation_is_eq_5_over_the_pixel_count(rng, beta):
    image = rng.normal(size=(5, 7, 3))
    np.testing.assert_allclose(as_numpy(losses.total_variation_loss(image, beta)),
                               tv_reference(image, beta) / (4 * 6 * 3), rtol=1e-12)


def test_total_variation_of_a_ramp():
    ramp = np.tile(np.arange(4.0)[None, :, None], (3, 1, 1))  # (3, 4, 1), steps of 1.
    assert as_numpy(losses.total_variation_loss(ramp)) == 1.0  # Every step squared is 1.


def test_every_term_weighs_the_same_at_every_size(rng):
    """A texture tiled to 4x the positions keeps its content, style and TV values."""
    texture = rng.normal(size=(6, 6, 3))
    other = rng.normal(size=(6, 6, 3))
    tiled, other_tiled = np.tile(texture, (2, 2, 1)), np.tile(other, (2, 2, 1))
    target = as_numpy(losses.gram_matrix(other))
    for small, large in ((losses.content_loss(other, texture),
                          losses.content_loss(other_tiled, tiled)),
                         (losses.style_loss(target, texture), losses.style_loss(target, tiled))):
        np.testing.assert_allclose(as_numpy(small), as_numpy(large), rtol=1e-12)
    constant = np.ones((6, 6, 3))
    constant[:, 3:] = 2.0  # One unit step per row: a mean of 1/(W - 1).
    assert as_numpy(losses.total_variation_loss(constant)) == pytest.approx(1 / 5)


def test_half_sum_per_mean_converts_jcjohnsons_tv(rng):
    image = rng.normal(size=(6, 9, 3))
    half_sum = 0.5 * tv_reference(image)
    np.testing.assert_allclose(
        losses.half_sum_per_mean(6, 9) * as_numpy(losses.total_variation_loss(image)),
        half_sum, rtol=1e-12)


@pytest.mark.parametrize("name", ["content", "style", "tv", "tv2.5"])
def test_each_loss_gradient_matches_finite_differences(rng, name):
    target = rng.normal(size=(4, 5, 3))
    function = {
        "content": lambda x: losses.content_loss(target, x),
        "style": lambda x: losses.style_loss(gram_reference(target) / 20, x),
        "tv": losses.total_variation_loss,
        "tv2.5": lambda x: losses.total_variation_loss(x, 2.5),
    }[name]
    x = rng.normal(size=(4, 5, 3))
    indices = [tuple(i) for i in rng.integers(0, [4, 5, 3], size=(8, 3))]
    numeric = central_difference(lambda v: float(as_numpy(function(v))), x, indices, 1e-6)
    analytic = tape_gradient(function, x)
    np.testing.assert_allclose([analytic[i] for i in indices], numeric,
                               rtol=1e-6, atol=1e-9)


def test_objective_gradient_through_the_network(float64_model, rng):
    content = rng.uniform(0, 255, (10, 12, 3))
    style = rng.uniform(0, 255, (8, 8, 3))
    content_features = losses.content_targets(float64_model, content, ["relu2_1"])
    soft = {"relu1_1": rng.uniform(0, 1, (10, 12)), "relu2_1": rng.uniform(0, 1, (5, 6))}
    targets = [losses.style_target(float64_model, style, ["relu1_1", "relu2_1"], weight=0.7),
               losses.style_target(float64_model, style[::-1], ["relu1_1", "relu2_1"],
                                   output_masks=soft, weight=0.3, area_weighted=True)]
    objective = losses.Objective(1.0, 1e-2, 0.5, ("relu2_1",),
                                 {"relu1_1": 0.5, "relu2_1": 0.5}, tv_beta=2.5)

    def total(image):
        return objective.terms(losses.features_of(float64_model, image), image,
                               content_features, targets)["total"]

    x = rng.uniform(20, 235, (10, 12, 3))
    assert as_numpy(losses.features_of(float64_model, x)["relu1_1"]).dtype == np.float64
    indices = [tuple(i) for i in rng.integers(0, [10, 12, 3], size=(10, 3))]
    numeric = central_difference(lambda v: float(as_numpy(total(v))), x, indices, 1e-4)
    analytic = tape_gradient(total, x)
    np.testing.assert_allclose([analytic[i] for i in indices], numeric, rtol=1e-5)


def masked_gram_reference(features, mask):
    """Σ_k m_k F_ik F_jk / Σ_k m_k, as loops over positions k."""
    height, width, channels = features.shape
    gram = np.zeros((channels, channels))
    for y in range(height):
        for x in range(width):
            for i in range(channels):
                for j in range(channels):
                    gram[i, j] += mask[y, x] * features[y, x, i] * features[y, x, j]
    return gram / mask.sum()


def test_masked_gram_matches_loop_reference_and_binary_masking(rng):
    features = rng.normal(size=(5, 7, 3))
    soft = rng.uniform(0, 1, (5, 7))
    np.testing.assert_allclose(as_numpy(losses.gram_matrix(features, soft)),
                               masked_gram_reference(features, soft), rtol=1e-12)
    binary = (rng.uniform(size=(5, 7)) > 0.5).astype(float)
    masked_features = features * binary[:, :, None]  # Multiply, then Gram, / mask sum.
    np.testing.assert_allclose(as_numpy(losses.gram_matrix(features, binary)),
                               gram_reference(masked_features) / binary.sum(), rtol=1e-12)


def test_masked_gram_is_normalised_by_the_mask_sum_not_the_pixel_count(rng):
    """The same texture in a small and a large region gives the same statistics."""
    texture = rng.normal(size=(8, 8, 4))
    small, large = np.zeros((8, 8)), np.zeros((8, 8))
    small[:2, :2], large[:, :] = 1, 1
    tiled = np.tile(texture[:2, :2], (4, 4, 1))
    np.testing.assert_allclose(as_numpy(losses.gram_matrix(texture, small)),
                               as_numpy(losses.gram_matrix(tiled, large)), rtol=1e-12)


def test_a_region_vanishing_at_a_deep_layer_adds_nothing_and_no_nan(rng):
    """A 2-pixel-wide region pooled 3 times is an all-zero mask at relu4_x: its Gram is
    0 (not 0/0), its term a constant, its gradient finite and zero."""
    features = rng.normal(size=(3, 4, 2))
    empty = np.zeros((3, 4))
    assert np.all(as_numpy(losses.gram_matrix(features, empty)) == 0)
    target = rng.normal(size=(2, 2))
    gradient = tape_gradient(lambda f: losses.style_loss(target, f, empty), features)
    assert np.all(np.isfinite(gradient)) and np.all(gradient == 0)
    region = losses.StyleTarget({"relu4_1": target}, {"relu4_1": empty}, area_weighted=True)
    assert as_numpy(region.loss({"relu4_1": features}, None, {"relu4_1": 1.0})) == 0.0


def test_masked_style_loss_matches_references(rng):
    target = masked_gram_reference(rng.normal(size=(4, 4, 3)), np.ones((4, 4)))
    generated = rng.normal(size=(5, 7, 3))
    mask = rng.uniform(0, 1, (5, 7))
    expected = np.sum((masked_gram_reference(generated, mask) - target) ** 2) / 9
    np.testing.assert_allclose(as_numpy(losses.style_loss(target, generated, mask)),
                               expected, rtol=1e-10)


def test_area_weighting_multiplies_each_layer_by_its_mask_mean(rng):
    features = {"relu1_1": rng.normal(size=(4, 6, 3)), "relu2_1": rng.normal(size=(2, 3, 3))}
    grams = {layer: rng.normal(size=(3, 3)) for layer in features}
    region = {"relu1_1": (rng.uniform(size=(4, 6)) > 0.5) * 1.0,
              "relu2_1": np.array([[1.0, 0, 0], [1, 1, 0]])}
    layer_weights = {"relu1_1": 2.0, "relu2_1": 3.0}
    plain = losses.StyleTarget(grams, region)
    weighted = losses.StyleTarget(grams, region, area_weighted=True)
    expected = sum(layer_weights[l] * region[l].mean() * np.sum(
        (masked_gram_reference(features[l], region[l]) - grams[l]) ** 2) / 9 for l in grams)
    np.testing.assert_allclose(as_numpy(weighted.loss(features, None, layer_weights)),
                               expected, rtol=1e-10)
    assert as_numpy(plain.loss(features, None, layer_weights)) > expected


def test_masked_style_loss_gradient_matches_finite_differences(rng):
    target = masked_gram_reference(rng.normal(size=(4, 4, 3)), np.ones((4, 4)))
    mask = rng.uniform(0, 1, (4, 5))
    x = rng.normal(size=(4, 5, 3))
    indices = [tuple(i) for i in rng.integers(0, [4, 5, 3], size=(8, 3))]
    function = lambda v: losses.style_loss(target, v, mask)  # noqa: E731
    numeric = central_difference(lambda v: float(as_numpy(function(v))), x, indices, 1e-6)
    analytic = tape_gradient(function, x)
    np.testing.assert_allclose([analytic[i] for i in indices], numeric, rtol=1e-6, atol=1e-12)


def test_zero_mask_gives_exactly_zero_style_gradient_there(random_model, rng):
    """At the features, and at pixels beyond the 5x5 receptive field of relu1_1."""
    mask = np.ones((16, 16))
    mask[:, :8] = 0.0  # Left half: no style.
    target = losses.style_target(random_model, rng.uniform(0, 255, (16, 16, 3)),
                                 ["relu1_1"], output_masks={"relu1_1": mask})
    features = rng.normal(size=(16, 16, 64)).astype(np.float32)
    gradient = tape_gradient(
        lambda f: losses.style_loss(target.statistics["relu1_1"], f, mask), features)
    assert np.all(gradient[:, :8] == 0)
    assert np.abs(gradient[:, 8:]).max() > 0
    objective = losses.Objective(0.0, 1.0, 0.0, (), {"relu1_1": 1.0})

    def style_only(image):
        return objective.terms(losses.features_of(random_model, image), image, {},
                               [target])["total"]

    pixel_gradient = tape_gradient(style_only, rng.uniform(0, 255, (16, 16, 3))
                                   .astype(np.float32))
    assert np.all(pixel_gradient[:, :6] == 0)  # Columns 6, 7 see masked-in features.
    assert np.abs(pixel_gradient[:, 8:]).max() > 0


def test_style_targets_compare_images_of_different_sizes(random_model, rng):
    """Grams per position: a style image 2x upsampled has 4x the positions and the same Â."""
    small = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    big = np.kron(small, np.ones((2, 2, 1))).astype(np.float32)  # (64, 64, 3)
    target = losses.style_target(random_model, big, ["relu1_1"])
    big_features = as_numpy(losses.features_of(random_model, big)["relu1_1"])
    expected = gram_reference(big_features.astype(np.float64)) / (64 * 64)
    np.testing.assert_allclose(as_numpy(target.statistics["relu1_1"]), expected, rtol=1e-4)
    assert target.masks is None and target.weight == 1.0


def test_objective_combines_terms_with_their_weights(random_model, rng):
    content = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    styles = [rng.uniform(0, 255, (32, 32, 3)).astype(np.float32) for _ in range(2)]
    layers = {"relu1_1": 0.3, "relu3_1": 0.7}
    content_features = losses.content_targets(random_model, content, ["relu4_2"])
    targets = [losses.style_target(random_model, style, list(layers), weight=blend)
               for style, blend in zip(styles, [0.25, 0.75])]
    image = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    features = losses.features_of(random_model, image)
    terms = losses.Objective(2.0, 5.0, 0.1, ("relu4_2",), layers).terms(
        features, image, content_features, targets)
    f = {layer: as_numpy(value).astype(np.float64) for layer, value in features.items()}
    content_f = as_numpy(losses.features_of(random_model, content)["relu4_2"])
    expected_style = sum(
        blend * sum(weight * 4 * style_reference(
            gram_reference(as_numpy(losses.features_of(random_model, style)[layer])
                           .astype(np.float64)), f[layer])
            for layer, weight in layers.items())
        for blend, style in zip([0.25, 0.75], styles))
    np.testing.assert_allclose(float(terms["content"]), 2.0 * content_reference(
        content_f, f["relu4_2"]) * 2 / content_f.size, rtol=1e-4)
    np.testing.assert_allclose(float(terms["style"]), 5.0 * expected_style, rtol=1e-3)
    np.testing.assert_allclose(float(terms["tv"]), 0.1 * tv_reference(image) / (31 * 31 * 3),
                               rtol=1e-4)
    np.testing.assert_allclose(float(terms["total"]),
                               float(terms["content"] + terms["style"] + terms["tv"]),
                               rtol=1e-6)


def test_too_small_image_for_the_deepest_layer_is_a_clear_error(random_model):
    with pytest.raises(ValueError, match=r"content image \(12x12 px\) is too small for "
                                         r"layer relu5_1.*larger size"):
        losses.content_targets(random_model, np.zeros((12, 12, 3)), ["relu4_2"])


@pytest.mark.parametrize("kind", ["hard", "soft", "empty"])
def test_gathered_region_grams_equal_the_dense_masked_product(rng, kind):
    """A mask given as an array is gathered to its support (one full Gram for k regions
    that partition the image); the Gram matrices and the style loss's gradients are those
    of the dense product Σ_k m_k F_k F_kᵀ / Σ_k m_k, to float32 rounding."""
    features = rng.uniform(0, 3, (20, 24, 16)).astype(np.float32)
    mask = {"hard": (rng.uniform(size=(20, 24)) > 0.6).astype(np.float32),
            "soft": np.clip(rng.uniform(-1, 1, (20, 24)), 0, 1).astype(np.float32),
            "empty": np.zeros((20, 24), np.float32)}[kind]
    target = rng.uniform(0, 2, (16, 16)).astype(np.float32)
    dense_mask = tf.constant(mask)  # A tensor takes the dense path.
    np.testing.assert_allclose(as_numpy(losses.gram_matrix(features, mask)),
                               as_numpy(losses.gram_matrix(features, dense_mask)),
                               rtol=1e-5, atol=1e-6)
    gathered = tape_gradient(lambda f: losses.style_loss(target, f, mask), features)
    dense = tape_gradient(lambda f: losses.style_loss(target, f, dense_mask), features)
    np.testing.assert_allclose(gathered, dense, rtol=1e-5, atol=1e-7)
    if kind != "empty":
        assert np.all(gathered[mask == 0] == 0) and np.abs(gathered).max() > 0
