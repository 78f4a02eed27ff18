"""Semantic patches: NCC matching and the MRF loss against loops, sub-image Gram targets."""

import numpy as np
import pytest

from conftest import as_numpy, central_difference, tape_gradient
from style_transfer import losses, masks, patches


def patches_reference(features, size, stride):
    """Every size x size patch, as a loop over positions: [(row, column, vector)]."""
    rows = range(0, features.shape[0] - size + 1, stride)
    columns = range(0, features.shape[1] - size + 1, stride)
    return [(r, c, features[r:r + size, c:c + size, :].ravel()) for r in rows for c in columns]


def ncc_matches_reference(output_features, style_features, size, stride):
    """NN(i) of Li & Wand 2016, Eq. 3, literally: every output patch against every style
    patch, both divided by their norms."""
    style = [vector for _, _, vector in patches_reference(style_features, size, stride)]
    matches = []
    for _, _, vector in patches_reference(output_features, size, stride):
        scores = [vector @ s / (np.linalg.norm(vector) * np.linalg.norm(s)) for s in style]
        matches.append(int(np.argmax(scores)))
    return np.array(matches)


def guided_pair(rng, output_shape=(7, 8), style_shape=(6, 9), channels=4, num_regions=2):
    """Random non-negative features (as after a ReLU) and random hard region channels."""
    def one(shape):
        features = rng.uniform(0, 3, (*shape, channels))
        regions = np.eye(num_regions)[rng.integers(0, num_regions, shape)]
        return features, regions
    return one(output_shape), one(style_shape)


def test_extract_patches_matches_loop(rng):
    features = rng.normal(size=(6, 7, 3))
    for stride in (1, 2):
        expected = np.array([vector for _, _, vector in patches_reference(features, 3, stride)])
        extracted = as_numpy(patches.extract_patches(features, 3, stride))
        np.testing.assert_array_equal(extracted.reshape(len(expected), -1), expected)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("max_score_bytes", [1 << 20, 200])  # One chunk; many, padded.
def test_ncc_matching_picks_the_brute_force_patches(rng, monkeypatch, stride,
                                                    max_score_bytes):
    monkeypatch.setattr(patches, "MAX_SCORE_BYTES", max_score_bytes)
    (output_features, output_regions), (style_features, style_regions) = guided_pair(rng)
    weight = 0.7
    layer = patches.mrf_layer(style_features, style_regions, output_regions, weight, 3, stride)
    # A chunk's scores (float64 here: 8 bytes each) stay within the bound, unless one
    # style patch alone exceeds it.
    chunk_bytes = layer.filters.shape[-1] * len(patches_reference(output_regions, 3, stride)) * 8
    assert chunk_bytes <= max_score_bytes or layer.filters.shape[-1] == 1
    if max_score_bytes == 200:
        assert layer.filters.shape[0] > 1  # The chunked path is the one tested.
    guided_output = np.concatenate([output_features, layer.output_semantics], axis=-1)
    match = as_numpy(patches.nearest_patches(guided_output, layer.filters, stride)).ravel()
    num_patches = len(patches_reference(style_features, 3, stride))
    match[match >= num_patches] = 0  # The chunks are filled up with copies of patch 0.
    scale = weight * np.sqrt(np.mean(np.sum(style_features ** 2, axis=-1)))
    expected = ncc_matches_reference(
        guided_output, np.concatenate([style_features, scale * style_regions], axis=-1),
        3, stride)
    np.testing.assert_array_equal(match, expected)


def test_semantic_channels_steer_matches_into_the_same_region(rng):
    """With a large ω every output patch inside region r is matched inside region r."""
    features = rng.uniform(0, 3, (8, 8, 4))
    regions = np.zeros((8, 8, 2))
    regions[:, :4, 0] = regions[:, 4:, 1] = 1  # Left: region 0, right: region 1.
    style_regions = regions[:, ::-1]  # The style has them the other way round.
    layer = patches.mrf_layer(features, style_regions, regions, 10.0, 3, 1)
    guided = np.concatenate([features, layer.output_semantics], axis=-1)
    match = as_numpy(patches.nearest_patches(guided, layer.filters, 1))  # (6, 6)
    style_columns = match % 6  # Style patch index -> its left column.
    assert np.all(style_columns[:, :2] >= 4)  # Output left (region 0) -> style right.
    assert np.all(style_columns[:, -2:] <= 1)


def mrf_loss_reference(output_features, style_features, matches, size, stride):
    """E_mrf = Σ_i |Ψ_i(x) - Ψ_NN(i)(s)|² (Li & Wand 2016, Eq. 2), as a loop."""
    style = [vector for _, _, vector in patches_reference(style_features, size, stride)]
    output = patches_reference(output_features, size, stride)
    return sum(np.sum((vector - style[j]) ** 2) for (_, _, vector), j in zip(output, matches))


@pytest.mark.parametrize("stride", [1, 2])
def test_mrf_loss_and_gradient_match_references(rng, stride):
    (output_features, output_regions), (style_features, style_regions) = guided_pair(rng)
    layer = patches.mrf_layer(style_features, style_regions, output_regions, 1.0, 3, stride)
    scale = np.sqrt(np.mean(np.sum(style_features ** 2, axis=-1)))
    matches = ncc_matches_reference(
        np.concatenate([output_features, scale * output_regions], axis=-1),
        np.concatenate([style_features, scale * style_regions], axis=-1), 3, stride)
    expected = mrf_loss_reference(output_features, style_features, matches, 3, stride)
    np.testing.assert_allclose(as_numpy(patches.mrf_loss(output_features, layer)), expected,
                               rtol=1e-5)

    # The matches are constants: the gradient is 2 Σ_i (Ψ_i(x) - Ψ_NN(i)(s)) at each
    # position, and central differences small enough to keep the matches agree.
    indices = [tuple(i) for i in rng.integers(0, output_features.shape, size=(10, 3))]
    numeric = central_difference(
        lambda v: float(as_numpy(patches.mrf_loss(v, layer))), output_features, indices, 1e-6)
    analytic = tape_gradient(lambda f: patches.mrf_loss(f, layer), output_features)
    np.testing.assert_allclose([analytic[i] for i in indices], numeric, rtol=1e-5, atol=1e-6)


def test_mrf_target_through_the_network_lowers_its_loss(float64_model, rng):
    """Gradient of the whole term through VGG19 against central differences."""
    style = rng.uniform(0, 255, (16, 16, 3))
    labels = np.zeros((16, 16), int)
    labels[:, 8:] = 1
    label_map = masks.LabelMap([(0, 0, 0), (255, 255, 255)], labels)
    target = patches.mrf_target(float64_model, style, label_map, label_map, [(0, 0), (1, 1)],
                                ["relu1_1", "relu2_1"], stride=1)
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
    (target,) = patches.gram_patch_targets(random_model, style, label_map, label_map,
                                           [(1, 1)], layers)
    assert target.box == (8, 40, 4, 28) and len(target.regions) == 1
    weights = {"relu1_1": 0.5, "relu2_1": 0.5}
    image = rng.uniform(0, 255, (48, 48, 3)).astype(np.float32)

    crop_features = losses.features_of(random_model, image[8:40, 4:28])
    crop_style = losses.features_of(random_model, style[8:40, 4:28])
    expected = sum(0.5 * losses.masked_style_loss(
        losses.mean_gram_matrix(crop_style[layer]), crop_features[layer]) for layer in layers)
    np.testing.assert_allclose(as_numpy(target.loss({}, image, weights)), as_numpy(expected),
                               rtol=1e-5)
    gradient = tape_gradient(lambda x: target.loss({}, x, weights), image)
    outside = np.ones((48, 48), bool)
    outside[8:40, 4:28] = False
    assert np.all(gradient[outside] == 0) and np.abs(gradient[~outside]).max() > 0


def test_missing_style_label_is_an_error_naming_the_colours():
    content_labels = np.array([[0, 1], [2, 2]])
    content = masks.LabelMap([(255, 0, 0), (0, 0, 255), (0, 255, 0)], content_labels)
    style = masks.LabelMap([(250, 5, 0)], np.zeros((2, 2), int))
    with pytest.raises(ValueError) as error:
        masks.pair_maps(content, style, 40, ("--content_map", "--style_map"), require_all=True)
    message = str(error.value)
    assert "#0000ff" in message and "#00ff00" in message and "#ff0000" not in message.split(
        "(the style map")[0]
    assert "--content_map" in message and "--style_map" in message
    pairs, _ = masks.pair_maps(content, style, 40, ("a", "b"))  # Not required: allowed.
    assert pairs == [(0, 0)]


def test_overlapping_boxes_share_one_sub_image():
    background, corner, far = (0, 40, 0, 40), (0, 16, 0, 16), (60, 80, 60, 80)
    groups = patches.sub_image_groups([corner, background, far])
    assert groups == [((0, 40, 0, 40), [0, 1]), (far, [2])]  # Far away: its own pass.
    # Two boxes whose union is larger than both together stay apart.
    assert len(patches.sub_image_groups([(0, 10, 0, 10), (9, 19, 9, 19)])) == 2


def test_regions_sharing_a_sub_image_each_keep_their_own_gram(random_model, rng):
    labels = np.zeros((32, 32), int)
    labels[:, 16:] = labels[31, :] = 1  # Region 1's box is the whole image: one pass.
    label_map = masks.LabelMap([(0, 0, 0), (255, 255, 255)], labels)
    style = rng.uniform(0, 255, (32, 32, 3))
    targets = patches.gram_patch_targets(random_model, style, label_map, label_map,
                                         [(0, 0), (1, 1)], ["relu1_1"])
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
        gram = losses.mean_gram_matrix(style_features, mask[box])
        expected += losses.masked_style_loss(gram, features, mask)
    np.testing.assert_allclose(as_numpy(targets[0].loss({"relu1_1": features}, image,
                                                        {"relu1_1": 1.0})),
                               as_numpy(expected), rtol=1e-5)
