"""Masks at image and feature size, colour-coded maps, feathering, regional colour."""

import keras
import numpy as np
import pytest
from PIL import Image

from style_transfer import color, losses, masks, transfer


def test_load_mask_reads_white_as_one_and_resizes(tmp_path):
    pixels = np.zeros((10, 20), np.uint8)
    pixels[:, 10:] = 255
    pixels[:, 5:10] = 128
    Image.fromarray(pixels).save(tmp_path / "m.png")
    mask = masks.load_mask(tmp_path / "m.png", 10, 20)
    assert mask.dtype == np.float32 and mask.shape == (10, 20)
    np.testing.assert_allclose(mask[:, 12:], 1.0)
    np.testing.assert_allclose(mask[:, 6:9], 128 / 255, atol=1e-3)
    np.testing.assert_allclose(mask[:, :4], 0.0, atol=1e-6)
    assert masks.load_mask(tmp_path / "m.png", 5, 40).shape == (5, 40)


def test_all_black_and_unreadable_masks_are_named(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "black.png")
    with pytest.raises(ValueError, match="black.png: the mask is all black"):
        masks.load_mask(tmp_path / "black.png", 4, 4)
    (tmp_path / "bad.png").write_text("no")
    with pytest.raises(ValueError, match="bad.png: not an image"):
        masks.load_mask(tmp_path / "bad.png", 4, 4)


def pooled_reference(mask, times):
    """2x2 block means, floor at odd sizes, as loops."""
    for _ in range(times):
        height, width = mask.shape[0] // 2, mask.shape[1] // 2
        pooled = np.zeros((height, width))
        for y in range(height):
            for x in range(width):
                pooled[y, x] = mask[2 * y:2 * y + 2, 2 * x:2 * x + 2].mean()
        mask = pooled
    return mask


def test_layer_masks_have_each_layer_feature_size_and_pool_like_the_network(
        random_model, rng):
    mask = rng.uniform(0, 1, (37, 45))
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
    features = losses.features_of(random_model, rng.uniform(0, 255, (37, 45, 3)))
    per_layer = masks.layer_masks(mask, layers)
    for layer, depth in zip(layers, [0, 1, 2, 3, 3, 4]):
        assert per_layer[layer].shape == tuple(features[layer].shape[:2])
        np.testing.assert_allclose(per_layer[layer], pooled_reference(mask, depth), atol=1e-6)
    # The network's own average pooling of a constant-per-region input agrees with it.
    half = np.zeros((32, 32))
    half[:, :16] = 1
    for layer, level in masks.layer_masks(half, layers).items():
        assert set(np.unique(level)) == {0.0, 1.0} and level[:, :level.shape[1] // 2].all()


def jpeg_map(tmp_path, colours):
    """A 240x320 three-region map saved as JPEG (quality 85: noise, chroma bleeding)."""
    pixels = np.zeros((240, 320, 3), np.uint8)
    pixels[:120], pixels[120:, :160], pixels[120:, 160:] = colours
    Image.fromarray(pixels).save(tmp_path / "map.jpg", quality=85)
    return tmp_path / "map.jpg", pixels


def test_label_map_finds_the_drawn_colours_despite_jpeg(tmp_path):
    colours = [(0, 0, 0), (255, 255, 255), (0, 255, 0)]
    path, drawn = jpeg_map(tmp_path, colours)
    label_map = masks.read_label_map(path, 60, 80)  # Read at a quarter of its size.
    assert len(label_map.palette) == 3  # No region for the blended edges.
    order = [label_map.index_of(c, tolerance=8) for c in colours]  # JPEG shifts a little.
    assert sorted(order) == [0, 1, 2]
    truth = np.zeros((60, 80), int)
    truth[30:, :40], truth[30:, 40:] = 1, 2
    assert np.mean(label_map.labels == np.array(order)[truth]) > 0.98
    assert masks.palette_text(label_map).count("#") == 3


def test_pixels_far_from_every_colour_belong_to_no_region():
    pixels = np.zeros((10, 10, 3))
    pixels[:, 5:] = 255
    label_map = masks.LabelMap([(0, 0, 0), (255, 255, 255)], np.zeros((10, 10), int))
    assert label_map.index_of((128, 128, 128), tolerance=40) is None
    assert label_map.index_of((250, 255, 250), tolerance=40) == 1


def test_regions_are_paired_by_colour():
    content = masks.LabelMap([(0, 0, 0), (255, 255, 255), (0, 255, 0)], np.zeros((2, 2), int))
    style = masks.LabelMap([(250, 250, 250), (255, 0, 0), (3, 3, 3)], np.zeros((2, 2), int))
    pairs, content_only, style_only = masks.match_regions(content, style, tolerance=40)
    assert pairs == [(0, 2), (1, 0)]
    assert content_only == [(0, 255, 0)] and style_only == [(255, 0, 0)]


def test_feather_softens_only_near_the_edge_and_composite_is_linear(rng):
    mask = np.zeros((40, 40))
    mask[:, 20:] = 1
    soft = masks.feather(mask, 8)
    assert 0 < soft[0, 19] < 0.5 < soft[0, 20] < 1
    np.testing.assert_allclose(soft[:, :8], 0, atol=1e-3)
    np.testing.assert_allclose(soft[:, 32:], 1, atol=1e-3)
    np.testing.assert_array_equal(masks.feather(mask, 0), mask)
    a, b = rng.uniform(0, 255, (2, 40, 40, 3))
    out = masks.composite(a, b, soft)
    np.testing.assert_allclose(out[5, 19], soft[5, 19] * a[5, 19] + (1 - soft[5, 19]) * b[5, 19],
                               rtol=1e-5)


def test_region_colours_match_the_reference_inside_the_region(rng):
    image = rng.normal(0, 10, (20, 20, 3)) + [60, 90, 120]
    reference = rng.normal(0, 15, (20, 20, 3)) @ np.array([[1, .3, 0], [0, 1, .2], [.1, 0, 1]]) + 128
    mask = np.zeros((20, 20))
    mask[5:15, 5:15] = 1
    matched = color.match_region_colors(image, reference, mask)
    inside = mask > 0.5
    np.testing.assert_allclose(matched[inside].mean(axis=0), reference[inside].mean(axis=0),
                               atol=1e-3)
    np.testing.assert_allclose(np.cov(matched[inside].T), np.cov(reference[inside].T),
                               rtol=1e-3)


def test_two_complementary_masks_pull_each_region_to_its_own_style(random_model, rng):
    """After optimising, region r's statistics are closer to style r's than to the other's."""
    content = np.full((32, 32, 3), 128.0, np.float32)
    red = np.clip(rng.normal([200, 40, 40], 30, (32, 32, 3)), 0, 255).astype(np.float32)
    blue = np.clip(rng.normal([40, 40, 200], 30, (32, 32, 3)), 0, 255).astype(np.float32)
    left = np.zeros((32, 32))
    left[:, :16] = 1
    layers = ["relu1_1", "relu2_1"]
    targets = [losses.style_target(random_model, style, layers,
                                   output_masks=masks.layer_masks(mask, layers))
               for style, mask in ((red, left), (blue, 1 - left))]
    objective = losses.Objective(0.0, 1.0, 0.0, ("relu4_2",), {"relu1_1": 0.5, "relu2_1": 0.5})
    result = transfer.optimise(random_model, content, targets, content, objective, 30,
                               optimizer="scipy")

    def distance(image, region, target):
        features = losses.features_of(random_model, image)["relu1_1"]
        return float(keras.ops.convert_to_numpy(losses.style_loss(
            target.statistics["relu1_1"], features, region)))

    for region, own, other in ((left, targets[0], targets[1]),
                               (1 - left, targets[1], targets[0])):
        before = distance(content, region, own)
        after = distance(result.image, region, own)
        assert after < 0.2 * before
        assert after < 0.2 * distance(result.image, region, other)
    assert result.image[:, :14, 0].mean() > result.image[:, :14, 2].mean() + 30  # Red left.
    assert result.image[:, 18:, 2].mean() > result.image[:, 18:, 0].mean() + 30  # Blue right.
