"""Memory prediction: activation counts from layer shapes, calibration, the refusal."""

import pytest

from style_transfer import gatys, memory, transfer, vgg
from style_transfer.parameters import ArgumentError


def test_activation_count_from_layer_shapes():
    model = vgg.feature_model(["relu2_1"], weights="random")  # conv1_1, conv1_2, pool1, conv2_1.
    expected = 33 * 41 * 64 * 2 + 16 * 20 * 64 + 16 * 20 * 128  # Pooling floors odd sizes.
    assert memory.activation_count(model, 33, 41) == expected


def test_lbfgs_state_grows_with_pixels_and_corrections():
    m = memory.optimize.NUM_CORRECTIONS
    n = 3 * 100 * 200
    assert memory.lbfgs_bytes(100, 200, "scipy") == 8 * ((2 * m + 13) * n + 11 * m * m
                                                        + 8 * m)
    assert memory.lbfgs_bytes(100, 200, "device") == 4 * ((2 * m + 50) * n + 11 * m * m + 8 * m)


def test_prediction_grows_with_size_and_refuses_what_does_not_fit(random_model):
    small, large = memory.predict(random_model, (300, 400, 3), [64, 512])
    assert small["shape"] == [48, 64] and large["shape"] == [384, 512]
    assert 0.1 < small["peak_gb"] < large["peak_gb"]
    # At 8x the side the evaluation's working memory alone is ~64x the activations.
    assert large["seconds_per_iteration"] > 20 * small["seconds_per_iteration"]
    with pytest.raises(ArgumentError, match="max_memory_gb: .*predicted to need .* the limit "
                                            "is 0.1 GB.*smaller size"):
        memory.refuse_if_too_large([large], max_memory_gb=0.1)
    memory.refuse_if_too_large([small], max_memory_gb=1000.0)
    assert memory.describe(small).startswith("predicted at 64 px (64x48): peak memory")


def test_blend_weights_are_normalised_and_sizes_come_from_scales():
    assert gatys.blend_weights(2, [3, 1]) == [0.75, 0.25]
    assert gatys.blend_weights(3, None) == [1 / 3] * 3
    with pytest.raises(ArgumentError, match="style_blend_weights: 1 values for 2 style"):
        gatys.blend_weights(2, [1])
    assert transfer.output_sizes(512, [256, 1024]) == [256, 1024]
    assert transfer.output_sizes(512, None) == [512]
