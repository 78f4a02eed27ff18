"""Conditional instance norm, the transformer network, training, saving, the scripts."""

import json
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import as_numpy, central_difference, tape_gradient
from style_transfer import cin, cin_inference, cin_network, distribute, losses, vgg

ROOT = pathlib.Path(__file__).resolve().parents[1]


def instance_norm_reference(x, gamma, beta, epsilon=1e-5):
    """Per image and channel over positions: γ (x - μ) / sqrt(σ² + ε) + β, as loops."""
    out = np.empty_like(x)
    for b in range(x.shape[0]):
        for c in range(x.shape[3]):
            plane = x[b, :, :, c]
            out[b, :, :, c] = gamma[c] * (plane - plane.mean()) / np.sqrt(
                plane.var() + epsilon) + beta[c]
    return out


@pytest.fixture
def layer(rng):
    layer = cin_network.ConditionalInstanceNormalization(3)
    layer.build([(None, 5, 6, 4), (None, 3)])
    layer.gamma.assign(rng.normal(1, 0.3, (3, 4)).astype(np.float32))
    layer.beta.assign(rng.normal(0, 0.5, (3, 4)).astype(np.float32))
    return layer


def test_one_hot_equals_instance_norm_with_that_style(layer, rng):
    x = rng.normal(2, 3, (2, 5, 6, 4)).astype(np.float32)
    for style in range(3):
        weights = np.eye(3, dtype=np.float32)[[style, style]]
        out = keras.ops.convert_to_numpy(layer([x, weights]))
        expected = instance_norm_reference(x, layer.gamma.numpy()[style],
                                           layer.beta.numpy()[style])
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def edge_channels(rng):
    """Channel 0 constant, channel 1 of variance 1e-6 (below ε = 1e-5), 2 and 3 normal."""
    x = rng.normal(2, 3, (2, 5, 6, 4))
    x[..., 0] = 5.0
    x[..., 1] = 3.0 + 1e-3 * rng.normal(size=(2, 5, 6))
    return x.astype(np.float32)


def test_constant_and_low_variance_channels_are_finite_and_exact(layer, rng):
    """Where ε decides: a constant channel normalises to β (not 0/0), a channel of
    variance 1e-6 to (x - μ)/sqrt(1e-6 + ε)."""
    x = edge_channels(rng)
    for style in range(3):
        out = keras.ops.convert_to_numpy(layer([x, np.eye(3, dtype=np.float32)[[style] * 2]]))
        assert np.all(np.isfinite(out))
        expected = instance_norm_reference(x.astype(np.float64), layer.gamma.numpy()[style],
                                           layer.beta.numpy()[style])
        # float32 resolves deviations of 1e-3 around 3 to ~2e-4 of themselves; dropping ε
        # would scale channel 1 by sqrt(1.1e-5 / 1e-6) = 3.3 and make channel 0 NaN.
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(out[..., 0], layer.beta.numpy()[style][0], atol=1e-6)


def test_the_normalisation_gradient_matches_finite_differences(rng):
    """d/dx of Σ v ⊙ z for Eq. 5 (statistics taken after the shift by the first
    position), against central differences in float64, at x's first position too."""
    x = rng.normal(2.0, 1.5, (2, 3, 4, 3))
    gamma, beta = rng.normal(1, 0.3, (2, 1, 1, 3)), rng.normal(0, 0.5, (2, 1, 1, 3))
    weights = rng.normal(size=x.shape)

    def function(v):
        return keras.ops.sum(weights * cin_network.conditional_instance_norm(v, gamma, beta,
                                                                             1e-5))
    indices = [(0, 0, 0, 0), (1, 0, 0, 2)] + [tuple(i) for i in rng.integers(
        0, x.shape, size=(8, 4))]
    numeric = central_difference(lambda v: float(as_numpy(function(v))), x, indices, 1e-6)
    analytic = tape_gradient(function, x)
    np.testing.assert_allclose([analytic[i] for i in indices], numeric, rtol=1e-6,
                               atol=1e-8)


def test_the_inference_normalisation_has_the_same_edge_cases(layer, rng):
    from style_transfer import cin_inference
    x = edge_channels(rng)
    gamma, beta = layer.gamma.numpy()[1], layer.beta.numpy()[1]
    out, _ = cin_inference._normalise(tf.constant(x), gamma[None, None, None],
                                      beta[None, None, None], 1e-5, relu=False,
                                      residual=None, pad=0, pad_mode="REFLECT",
                                      conv_dtype=tf.float32)
    assert np.all(np.isfinite(out.numpy()))
    np.testing.assert_allclose(out.numpy(), instance_norm_reference(
        x.astype(np.float64), gamma, beta), rtol=1e-4, atol=1e-3)


def test_mixing_is_linear_in_the_weights(layer, rng):
    x = rng.normal(size=(1, 5, 6, 4)).astype(np.float32)
    out = lambda w: keras.ops.convert_to_numpy(layer([x, np.array([w], np.float32)]))  # noqa
    mixed = out([0.3, 0.0, 0.7])
    np.testing.assert_allclose(mixed, 0.3 * out([1, 0, 0]) + 0.7 * out([0, 0, 1]), atol=1e-5)
    assert cin_network.style_weights(3, {0: 3, 2: 1}) == [0.75, 0.0, 0.25]


def tiny_trainer(styles, seed=0):
    model = vgg.feature_model(["relu1_1", "relu2_1"], weights="random")
    grams = [losses.style_target(model, s, ["relu1_1", "relu2_1"]).statistics for s in styles]
    objective = losses.Objective(1.0, 1e2, 0.0, ("relu2_1",), {"relu1_1": 0.5, "relu2_1": 0.5})
    network = cin_network.transformer_network(len(styles), base_filters=4, num_residual_blocks=1,
                                      seed=seed)
    return cin.StyleTrainer(network, model, grams, objective, keras.optimizers.Adam(5e-2))


def test_a_tiny_network_learns_two_styles(rng):
    red = np.clip(rng.normal([220, 30, 30], 20, (32, 32, 3)), 0, 255).astype(np.float32)
    blue = np.clip(rng.normal([30, 30, 220], 20, (32, 32, 3)), 0, 255).astype(np.float32)
    photos = rng.uniform(60, 200, (8, 32, 32, 3)).astype(np.float32)
    trainer = tiny_trainer([red, blue])
    styles = np.repeat(np.arange(8, dtype=np.int32) % 2, 4).reshape(8, 4)  # Step k: k mod 2.
    data = tf.data.Dataset.from_tensor_slices(
        (np.concatenate([photos[:4], photos[4:]] * 4), styles.ravel())).batch(4).repeat()
    step = distribute.step_function(trainer, tf.distribute.get_strategy(), batch_size=4)
    before = [float(trainer.batch_loss(photos[:4], s)) for s in (0, 1)]
    batches = iter(data)
    for _ in range(60):
        step(batches)
    after = [float(trainer.batch_loss(photos[:4], s)) for s in (0, 1)]
    assert after[0] < 0.3 * before[0] and after[1] < 0.3 * before[1]
    outputs = [keras.ops.convert_to_numpy(trainer.transformer(
        [photos[:1], np.eye(2, dtype=np.float32)[[s]]]))[0] for s in (0, 1)]
    assert outputs[0][..., 0].mean() > outputs[0][..., 2].mean()  # Style 0 is red,
    assert outputs[1][..., 2].mean() > outputs[1][..., 0].mean()  # style 1 blue.


def test_a_seeded_network_starts_the_same(rng):
    photo = rng.uniform(0, 255, (1, 16, 16, 3)).astype(np.float32)
    weights = np.array([[1.0, 0.0]], np.float32)
    outputs = [keras.ops.convert_to_numpy(cin_network.transformer_network(
        2, base_filters=4, num_residual_blocks=1, seed=seed)([photo, weights]))
        for seed in (3, 3, 4)]
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert not np.allclose(outputs[0], outputs[2])


def test_save_and_load_give_identical_outputs(tmp_path, rng):
    network = cin_network.transformer_network(2, base_filters=4, num_residual_blocks=1)
    photo = rng.uniform(0, 255, (1, 20, 24, 3)).astype(np.float32)
    weights = np.array([[0.4, 0.6]], np.float32)
    network.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(network([photo, weights])),
                                  keras.ops.convert_to_numpy(loaded([photo, weights])))


def run(script, *args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_train_resume_and_stylize_end_to_end(tmp_path, rng):
    (tmp_path / "photos").mkdir()
    for k in range(3):
        Image.fromarray(rng.integers(0, 255, (40 + 4 * k, 50, 3), dtype=np.uint8)).save(
            tmp_path / "photos" / f"p{k}.png")
    for name, colour in (("a.png", (200, 40, 40)), ("b.png", (40, 40, 200))):
        Image.fromarray(np.full((32, 32, 3), colour, np.uint8)).save(tmp_path / name)
    train = ["--style", "a.png,b.png", "--content_dir", "photos", "--checkpoint_dir", "run",
             "--image_size", "32", "--batch_size", "2", "--checkpoint_every", "2",
             "--network_width", "4", "--weights", "random", "--quiet",
             "--content_layers", "relu2_1", "--style_layers", "relu1_1,relu2_1"]
    (tmp_path / "photos" / "notes.txt.png").write_text("not a photo")  # Skipped, counted.
    done = run("cin_train.py", *train, "--steps", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().startswith("warning: photos: skipped 1 of 4 files")
    assert json.loads((tmp_path / "run" / "state.json").read_text())["step"] == 4
    done = run("cin_train.py", *train, "--steps", "6", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["steps"] == 6 and len(report["loss_history"]) == 6  # Resumed at 4.
    done = run("cin_train.py", *[a for a in train if a != "--quiet"], "--steps", "6",
               cwd=tmp_path)  # A rerun says what it found.
    assert done.returncode == 0 and "already trained: 6 of 6 steps in run" in done.stdout

    done = run("cin_stylize.py", "--model", "run/model.keras", "--content", "photos/p0.png",
               "--style_mix", "0:1,1:3", "--interpolation_grid", "grid.png",
               "--output", "out.png", "--size", "30", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "out.png").size == (30, 24)  # Any size: 30x24 is not /4.
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["style_weights"] == [0.25, 0.75] and (
        report["precision"] == cin_inference.resolve_precision("auto"))  # This CPU's choice.
    assert (tmp_path / "grid.png").is_file()
    # A folder in two shards: (the unreadable file and) p1 in one, p0 and p2 in the other.
    for shard, written in (("0/2", 1), ("1/2", 2)):
        done = run("cin_stylize.py", "--model", "run/model.keras", "--content_dir", "photos",
                   "--output_dir", "styled", "--shard", shard, "--quiet", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert ("notes.txt.png" in done.stderr) == (shard == "0/2")  # Warned, left out.
        report = json.loads((tmp_path / "styled" / f"report_{shard[0]}of2.json")
                            .read_text())
        assert (report["written"], report["shard"]) == (written, shard)
    assert sorted(p.name for p in (tmp_path / "styled").glob("*.png")) == [
        "p0.png", "p1.png", "p2.png"]
    done = run("cin_stylize.py", "--model", "run/model.keras", "--content_dir", "photos",
               "--output_dir", "styled", "--shard", "1/2", cwd=tmp_path)  # Nothing left.
    assert done.returncode == 0 and "all 2 images already in styled; nothing to do" in (
        done.stdout), done.stdout
    assert json.loads((tmp_path / "styled" / "report_1of2.json").read_text())["written"] == 2
    done = run("figures.py", "--figure", "cin_mix", "--cin_model", "run/model.keras",
               "--size", "32", "--weights", "random", "--output_dir", "figs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    layout = json.loads((tmp_path / "figs" / "cin_mix.json").read_text())
    assert (layout["rows"], layout["columns"]) == (1, 5)  # Two styles: one row of 5 steps.
    for args, expected in ((["--style_index", "2"], "--style_index: 2: the network has "
                                                     "styles 0 to 1"),
                           (["--style_mix", "0-1"], "--style_mix: '0-1': write index:weight"),
                           (["--style_mix", ""], "--style_mix: '': write index:weight"),
                           (["--precision", "float16"], "--precision"),
                           (["--shard", "2/2"], "--shard: 2/2: write i/n with 0 <= i < n"),
                           (["--content_dir", "photos"], "--content: give one photo, or "
                                                         "--content_dir for many")):
        done = run("cin_stylize.py", "--model", "run/model.keras", "--content",
                   "photos/p0.png", "--output", "bad.png", *args, cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.strip() == f"error: {expected}" or (
            expected in done.stderr and len(done.stderr.strip().splitlines()) == 1)
        assert not (tmp_path / "bad.png").exists()
