"""Semantic patches: the MRF terms of CNNMRF and neural-doodle against literal loops of
their own code's formulas, and sub-image Gram targets."""

import numpy as np
import pytest

from conftest import as_numpy, central_difference, tape_gradient
from style_transfer import losses, masks, patches

CNNMRF = dict(matching="patch", reduction="overlap")
DOODLE = dict(matching="position", reduction="mean")


def grid_reference(length, size, stride):
    """CNNMRF's computegrid(..., flag_all=1), 0-based: 1, 1 + d, ... then the tail."""
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] < length - size:
        starts.append(length - size)
    return starts


def patch_list(features, size, stride):
    """[(row, column, patch (k, k, C))] on the grid, as loops."""
    return [(r, c, features[r:r + size, c:c + size, :])
            for r in grid_reference(features.shape[0], size, stride)
            for c in grid_reference(features.shape[1], size, stride)]


def cnnmrf_reference(output, output_regions, style, style_regions, weight, size, stride):
    """CNNMRF's MRF term with Champandard's map channels, literally: NN(i) by normalised
    cross-correlation of whole patches (features and ω r M channels), then
    ½ Σ_i Σ_p |F_p - T_NN(i),p|² / c_p (mylib/mrf.lua's gradient, integrated)."""
    scale = weight * np.sqrt(np.mean(np.sum(style ** 2, axis=-1)))
    guided_style = np.concatenate([style, scale * style_regions], -1)
    guided_output = np.concatenate([output, scale * output_regions], -1)
    candidates = patch_list(guided_style, size, stride)
    targets = [patch[..., :style.shape[-1]] for _, _, patch in patch_list(style, size, stride)]
    counts = np.zeros(output.shape[:2])
    for r, c, _ in patch_list(output, size, stride):
        counts[r:r + size, c:c + size] += 1
    total, matches = 0.0, []
    for (r, c, patch), (_, _, guided) in zip(patch_list(output, size, stride),
                                             patch_list(guided_output, size, stride)):
        scores = [np.sum(guided * s) / (np.linalg.norm(guided) * np.linalg.norm(s))
                  for _, _, s in candidates]
        best = int(np.argmax(scores))
        matches.append(best)
        for dy in range(size):
            for dx in range(size):
                difference = patch[dy, dx] - targets[best][dy, dx]
                total += 0.5 * np.sum(difference ** 2) / counts[r + dy, c + dx]
    return total, matches


def doodle_reference(output, output_regions, style, style_regions, weight, size):
    """neural-doodle's term, literally: every patch; NN(i) maximises Σ_q (f_q·f'_q /
    (9 |f_q||f'_q|) + s_q·s'_q / (sw² |s_q||s'_q|)) with sw² = 9/ω (doodle.py's
    normalize_components); the loss is the mean over patches, positions and channels."""
    sw2 = 9.0 / weight

    def unit(v):
        n = np.linalg.norm(v)
        return v / n if n > 0 else v

    candidates = patch_list(np.concatenate([style, style_regions], -1), size, 1)
    channels = style.shape[-1]
    total, count, matches = 0.0, 0, []
    for _, _, patch in patch_list(np.concatenate([output, output_regions], -1), size, 1):
        scores = []
        for _, _, other in candidates:
            score = 0.0
            for dy in range(size):
                for dx in range(size):
                    a, b = patch[dy, dx], other[dy, dx]
                    score += unit(a[:channels]) @ unit(b[:channels]) / 9
                    score += unit(a[channels:]) @ unit(b[channels:]) / sw2
            scores.append(score)
        best = int(np.argmax(scores))
        matches.append(best)
        difference = patch[..., :channels] - candidates[best][2][..., :channels]
        total += np.sum(difference ** 2)
        count += difference.size
    return total / count, matches


def guided_pair(rng, output_shape=(7, 8), style_shape=(6, 9), channels=4, num_regions=2):
    """Random non-negative features (as after a ReLU) and random hard region channels."""
    def one(shape):
        features = rng.uniform(0, 3, (*shape, channels))
        regions = np.eye(num_regions)[rng.integers(0, num_regions, shape)]
        return features, regions
    return one(output_shape), one(style_shape)


def test_grid_covers_every_position_as_cnnmrf():
    for length, stride in ((7, 2), (8, 2), (9, 3), (5, 1)):
        np.testing.assert_array_equal(patches.grid(length, 3, stride),
                                      grid_reference(length, 3, stride))


def test_extract_patches_matches_loop(rng):
    features = rng.normal(size=(6, 7, 3))
    rows, columns = patches.grid(6, 3, 2), patches.grid(7, 3, 2)
    expected = np.array([patch.ravel() for _, _, patch in patch_list(features, 3, 2)])
    extracted = as_numpy(patches.extract_patches(features, rows, columns, 3))
    np.testing.assert_array_equal(extracted.reshape(len(expected), -1), expected)


def layer_for(rng, recipe, stride, weight, max_score_bytes=None, monkeypatch=None):
    (output, output_regions), (style, style_regions) = guided_pair(rng)
    if max_score_bytes:
        monkeypatch.setattr(patches, "MAX_SCORE_BYTES", max_score_bytes)
    layer = patches.mrf_layer(style, style_regions, output_regions,
                              patches.MRFRecipe(3, stride, weight, **recipe))
    return layer, (output, output_regions), (style, style_regions)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("max_score_bytes", [1 << 20, 200])  # One chunk; many, padded.
def test_cnnmrf_term_matches_its_literal_formula(rng, monkeypatch, stride, max_score_bytes):
    layer, (output, output_regions), (style, style_regions) = layer_for(
        rng, CNNMRF, stride, 0.7, max_score_bytes, monkeypatch)
    if max_score_bytes == 200:
        assert layer.filters.shape[0] > 1  # The chunked path is the one tested.
    # A chunk's scores (float64 here) stay within the bound unless one patch exceeds it.
    chunk_bytes = layer.filters.shape[1] * len(layer.rows) * len(layer.columns) * 8
    assert chunk_bytes <= max_score_bytes or layer.filters.shape[1] == 1
    expected, _ = cnnmrf_reference(output, output_regions, style, style_regions, 0.7, 3,
                                   stride)
    np.testing.assert_allclose(as_numpy(patches.mrf_loss(output, layer)), expected,
                               rtol=1e-10)


@pytest.mark.parametrize("weight", [0.5, 10.0])
def test_neural_doodle_term_matches_its_literal_formula(rng, monkeypatch, weight):
    layer, (output, output_regions), (style, style_regions) = layer_for(
        rng, DOODLE, 1, weight, 300, monkeypatch)
    expected, _ = doodle_reference(output, output_regions, style, style_regions, weight, 3)
    np.testing.assert_allclose(as_numpy(patches.mrf_loss(output, layer)), expected,
                               rtol=1e-10)


def test_semantic_channels_steer_matches_into_the_same_region(rng):
    """With a large ω every output patch inside region r is matched inside region r."""
    features = rng.uniform(0, 3, (8, 8, 4))
    regions = np.zeros((8, 8, 2))
    regions[:, :4, 0] = regions[:, 4:, 1] = 1  # Left: region 0, right: region 1.
    style_regions = regions[:, ::-1]  # The style has them the other way round.
    for recipe in (CNNMRF, DOODLE):
        layer = patches.mrf_layer(features, style_regions, regions,
                                  patches.MRFRecipe(3, 1, 10.0, **recipe))
        guided = patches._matching_input(features, layer.output_semantics, layer.recipe)
        vectors = patches.extract_patches(guided, layer.rows, layer.columns, 3)
        match = as_numpy(patches.nearest_patches(np.reshape(vectors, (36, -1)),
                                                 layer.filters)).reshape(6, 6)
        style_columns = match % 6  # Style patch index -> its left column.
        assert np.all(style_columns[:, :2] >= 4)  # Output left (region 0) -> style right.
        assert np.all(style_columns[:, -2:] <= 1)


@pytest.mark.parametrize("recipe", [CNNMRF, DOODLE])
def test_mrf_gradient_matches_central_differences(rng, recipe):
    """The matches are constants: central differences small enough to keep them agree."""
    layer, (output, _), _ = layer_for(rng, recipe, 2 if recipe is CNNMRF else 1, 1.0)
    indices = [tuple(i) for i in rng.integers(0, output.shape, size=(10, 3))]
    numeric = central_difference(
        lambda v: float(as_numpy(patches.mrf_loss(v, layer))), output, indices, 1e-6)
    analytic = tape_gradient(lambda f: patches.mrf_loss(f, layer), output)
    np.testing.assert_allclose([analytic[i] for i in indices], numeric, rtol=1e-5, atol=1e-8)


def regions_of(labels):
    label_map = masks.LabelMap([(0, 0, 0), (255, 255, 255)], labels)
    return masks.RegionPairs(label_map, label_map, [(0, 0), (1, 1)], [], [])


def test_mrf_target_through_the_network_lowers_its_loss(float64_model, rng):
    """Gradient of the whole term through VGG19 against central differences."""
    style = rng.uniform(0, 255, (16, 16, 3))
    labels = np.zeros((16, 16), int)
    labels[:, 8:] = 1
    target = patches.mrf_target(float64_model, style, regions_of(labels),
                                ["relu1_1", "relu2_1"], patches.MRFRecipe(stride=1))
    weights = {"relu1_1": 0.5, "relu2_1": 0.5}

    def total(image):
        return target.loss(losses.features_of(float64_model, image), image, weights)

    x = rng.uniform(20, 235, (16, 16, 3))
    indices = [tuple(i) for i in rng.integers(0, [16, 16, 3], size=(6, 3))]
    numeric = central_difference(lambda v: float(as_numpy(total(v))), x, indices, 1e-5)
    analytic = tape_gradient(total, x)
    np.testing.assert_allclose([analytic[i] for i in indices], numeric, rtol=1e-4)
    assert float(as_numpy(total(style))) == pytest.approx(0.0, abs=1e-6)  # Its own patches.


def test_bounding_box_grows_small_regions_inside_the_image():
    mask = np.zeros((40, 30))
    mask[5:20, 3:25] = 1
    assert patches.bounding_box(mask, 16) == (4, 20, 3, 25)  # 15 rows grow to 16.
    mask = np.zeros((40, 30))
    mask[38:, 0:2] = 1  # In a corner: grown towards the inside.
    assert patches.bounding_box(mask, 16) == (24, 40, 0, 16)
    assert patches.bounding_box(np.ones((8, 40)), 16) == (0, 8, 0, 40)  # Image is smaller.


def test_gram_patch_target_reads_only_its_sub_image(random_model, rng):
    """Its loss is the masked Gram loss of the cropped output, and pixels outside the
    box get exactly no gradient."""
    labels = np.zeros((48, 48), int)
    labels[8:40, 4:28] = 1
    label_map = masks.LabelMap([(0, 0, 0), (255, 255, 255)], labels)
    style = rng.uniform(0, 255, (48, 48, 3))
    layers = ["relu1_1", "relu2_1"]
    (target,) = patches.gram_patch_targets(
        random_model, style, masks.RegionPairs(label_map, label_map, [(1, 1)], [], []), layers)
    assert target.box == (8, 40, 4, 28) and len(target.regions) == 1
    weights = {"relu1_1": 0.5, "relu2_1": 0.5}
    image = rng.uniform(0, 255, (48, 48, 3)).astype(np.float32)

    crop_features = losses.features_of(random_model, image[8:40, 4:28])
    crop_style = losses.features_of(random_model, style[8:40, 4:28])
    expected = sum(0.5 * losses.style_loss(
        losses.gram_matrix(crop_style[layer]), crop_features[layer]) for layer in layers)
    np.testing.assert_allclose(as_numpy(target.loss({}, image, weights)), as_numpy(expected),
                               rtol=1e-5)
    gradient = tape_gradient(lambda x: target.loss({}, x, weights), image)
    outside = np.ones((48, 48), bool)
    outside[8:40, 4:28] = False
    assert np.all(gradient[outside] == 0) and np.abs(gradient[~outside]).max() > 0


def test_missing_style_label_is_an_error_naming_the_colours(tmp_path):
    from PIL import Image
    content = np.zeros((20, 20, 3), np.uint8)
    content[:, :10] = (255, 0, 0)
    content[:10, 10:] = (0, 0, 255)
    content[10:, 10:] = (0, 255, 0)
    style = np.full((20, 20, 3), (250, 5, 0), np.uint8)
    Image.fromarray(content).save(tmp_path / "content.png")
    with pytest.raises(ValueError) as error:
        masks.pair_regions(tmp_path / "content.png", style, (20, 20), (20, 20),
                           require_all=True)
    message = str(error.value)
    assert "#0000ff" in message and "#00ff00" in message and "#ff0000" not in message.split(
        "(the style map")[0]
    assert "content_map" in message and "style_map" in message
    regions = masks.pair_regions(content, style, (20, 20), (20, 20))  # Allowed here.
    assert regions.pairs == [(0, 0)] and len(regions.output_only) == 2


def test_overlapping_boxes_share_one_sub_image():
    background, corner, far = (0, 40, 0, 40), (0, 16, 0, 16), (60, 80, 60, 80)
    groups = patches.sub_image_groups([corner, background, far])
    assert groups == [((0, 40, 0, 40), [0, 1]), (far, [2])]  # Far away: its own pass.
    # Two boxes whose union is larger than both together stay apart.
    assert len(patches.sub_image_groups([(0, 10, 0, 10), (9, 19, 9, 19)])) == 2


def test_regions_sharing_a_sub_image_each_keep_their_own_gram(random_model, rng):
    labels = np.zeros((32, 32), int)
    labels[:, 16:] = labels[31, :] = 1  # Region 1's box is the whole image: one pass.
    style = rng.uniform(0, 255, (32, 32, 3))
    targets = patches.gram_patch_targets(random_model, style, regions_of(labels),
                                         ["relu1_1"])
    assert len(targets) == 1 and targets[0].box == (0, 32, 0, 32)
    assert targets[0].model is None  # The whole image: it reads the whole pass.
    assert len(targets[0].regions) == 2
    image = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    features = losses.features_of(random_model, image)["relu1_1"]  # The whole pass.
    expected = 0.0
    for k in (0, 1):  # Each style region on its own box; each output region masked.
        mask = (labels == k).astype(float)
        rows, columns = np.nonzero(mask)
        box = np.s_[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
        style_features = losses.features_of(random_model, style[box])["relu1_1"]
        gram = losses.gram_matrix(style_features, mask[box])
        expected += losses.style_loss(gram, features, mask)
    np.testing.assert_allclose(as_numpy(targets[0].loss({"relu1_1": features}, image,
                                                        {"relu1_1": 1.0})),
                               as_numpy(expected), rtol=1e-5)
