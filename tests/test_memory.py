"""Memory prediction: activation counts from layer shapes, calibration, the refusal."""

import pytest

from style_transfer import memory, vgg


def test_activation_count_from_layer_shapes():
    model = vgg.feature_model(["relu2_1"])  # conv1_1, conv1_2, pool1, conv2_1.
    expected = 33 * 41 * 64 * 2 + 16 * 20 * 64 + 16 * 20 * 128  # Pooling floors odd sizes.
    assert memory.activation_count(model, 33, 41) == expected


def test_lbfgs_state_grows_with_pixels_and_corrections():
    m = memory.optimize.NUM_CORRECTIONS
    n = 3 * 100 * 200
    assert memory.lbfgs_bytes(100, 200) == 8 * ((2 * m + 13) * n + 11 * m * m + 8 * m)


def test_prediction_grows_with_size_and_refuses_what_does_not_fit(random_model):
    small, large = memory.predict(random_model, (300, 400, 3), [64, 512])
    assert small["shape"] == [48, 64] and large["shape"] == [384, 512]
    assert 0.1 < small["peak_gb"] < large["peak_gb"]
    # At 8x the side the evaluation's working memory alone is ~64x the activations.
    assert large["seconds_per_iteration"] > 20 * small["seconds_per_iteration"]
    with pytest.raises(ValueError, match="predicted to need .* --max_memory_gb is 0.1 GB.*"
                                         "smaller --size"):
        memory.check(random_model, (300, 400, 3), [512], estimate=False,
                     max_memory_gb=0.1, quiet=True)
    assert memory.check(random_model, (300, 400, 3), [64], estimate=False,
                        max_memory_gb=1000.0, quiet=True)[0]["size"] == 64


def test_blend_weights_are_normalised_and_sizes_come_from_scales():
    from style_transfer import cli
    assert cli.style_blend_weights(2, ["3", "1"]) == [0.75, 0.25]
    assert cli.style_blend_weights(3, None) == [1 / 3] * 3
    assert cli.output_sizes(512, ["256", "1024"]) == [256, 1024]
    assert cli.output_sizes(512, None) == [512]
