"""The library from Python, as a notebook uses it: every technique on tiny images with
random weights, no flags parsed; images as arrays, PIL images or paths; errors that
name the argument; progress through a callback; stderr left alone."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import style_transfer as st
from style_transfer import cin, style_losses, vgg

TINY = dict(size=32, iterations=2, weights="random", progress=None)


@pytest.fixture
def pictures(rng):
    """A content array, a PIL style image, two half masks and two colour maps."""
    content = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
    style = Image.fromarray(rng.integers(0, 255, (36, 36, 3), dtype=np.uint8))
    left = np.zeros((40, 48))
    left[:, :24] = 1.0
    content_map = np.zeros((40, 48, 3), np.uint8)
    content_map[20:] = 255
    style_map = np.zeros((36, 36, 3), np.uint8)
    style_map[:, 18:] = 255
    return dict(content=content, style=style, left=left, content_map=content_map,
                style_map=style_map)


def assert_a_run(result, technique, shape=(27, 32, 3)):
    assert result.technique == technique and result.image.shape == shape
    assert result.image.dtype == np.float32 and 0 <= result.image.min()
    assert result.image.max() <= 255
    history = result.history
    assert history[0].iteration == 0 and history[-1].losses["total"] < history[0].losses["total"]
    assert not result.interrupted and result.weights.source == "random"
    return result.to_json()


def test_style_transfer_in_one_line_with_the_recipe_defaults(pictures):
    result = st.style_transfer(pictures["content"], pictures["style"], **TINY)
    report = assert_a_run(result, "style_transfer")
    assert result.settings.content_weight == 1.0 and result.settings.style_weight == 1e2
    assert report["objective"]["style_layer_weights"]["relu1_1"] == 1 / 64 ** 2
    assert report["predicted"][0]["size"] == 32
    assert result.to_pil().size == (32, 27)


def test_a_path_a_list_of_styles_and_coarse_to_fine(pictures, tmp_path):
    pictures["style"].save(tmp_path / "style.png")
    result = st.style_transfer(pictures["content"], [tmp_path / "style.png", pictures["style"]],
                               style_blend_weights=[3, 1], scales=[24, 32],
                               preserve_color="luminance", **TINY)
    assert [stage.size for stage in result.stages] == [24, 32]
    assert len(result.history) == 6
    result.save(tmp_path / "out.png")
    assert Image.open(tmp_path / "out.png").size == (32, 27)


def test_multi_style_and_mask_style_take_masks_as_arrays(pictures):
    styles = [pictures["style"], np.full((30, 30, 3), 200, np.uint8)]
    masks_ = [pictures["left"], 1 - pictures["left"]]
    assert_a_run(st.multi_style(pictures["content"], styles, masks_, **TINY), "multi_style")
    ramp = np.tile(np.linspace(0, 1, 48), (40, 1))
    assert_a_run(st.mask_style(pictures["content"], styles, [ramp, 1 - ramp], **TINY),
                 "mask_style")


def test_region_style_photo_style_and_patch_style_take_maps_as_arrays(pictures):
    maps = (pictures["content_map"], pictures["style_map"])
    report = assert_a_run(st.region_style(pictures["content"], pictures["style"], *maps,
                                          **TINY), "region_style")
    assert sorted(report["regions"]) == ["#000000", "#ffffff"]
    photo = st.photo_style(pictures["content"], pictures["style"], *maps, **{
        **TINY, "iterations": 4})
    assert [stage.result.num_iterations for stage in photo.stages] == [2, 2]
    assert "photo" in photo.losses and photo.settings.photo_weight == 1e4
    for patch_loss in ("gram", "mrf"):
        result = st.patch_style(pictures["content"], pictures["style"], *maps,
                                patch_loss=patch_loss, **TINY)
        assert_a_run(result, "patch_style")
        assert result.settings.style_weight == {"gram": 1e2, "mrf": 1e-4}[patch_loss]


def test_doodle_2_art_and_masked_transfer(pictures):
    art = st.doodle_2_art(pictures["content_map"], pictures["style"], pictures["style_map"],
                          **{**TINY, "size": 48})
    assert art.image.shape == (40, 48, 3) and art.settings.init == "noise"
    assert art.stages[-1].objective.content_layers == ()  # No photograph, no content term.
    composite = st.masked_transfer(pictures["content"], art.image, pictures["left"],
                                   feather_radius=0)
    np.testing.assert_allclose(composite.image[:, :24], art.image[:, :24], atol=1e-4)
    np.testing.assert_allclose(composite.image[:, 24:], pictures["content"][:, 24:], atol=1e-4)


def test_a_style_network_trains_stylises_and_mixes(tmp_path, rng):
    (tmp_path / "photos").mkdir()
    for k in range(2):
        Image.fromarray(rng.integers(0, 255, (36, 40, 3), dtype=np.uint8)).save(
            tmp_path / "photos" / f"p{k}.png")
    styles = [np.full((32, 32, 3), (200, 40, 40), np.uint8),
              np.full((32, 32, 3), (40, 40, 200), np.uint8)]
    network, report = st.StyleNetwork.train(
        styles, tmp_path / "photos", tmp_path / "run", steps=2, image_size=32, batch_size=2,
        network_width=4, weights="random", content_layers=["relu2_1"],
        style_layers=["relu1_1", "relu2_1"], progress=None)
    assert report["steps"] == 2 and len(report["loss_history"]) == 2
    photo = rng.integers(0, 255, (30, 34, 3), dtype=np.uint8)
    one = network.stylize(photo, style=1, precision="float32")
    mixed = network.mix(photo, {0: 1, 1: 3}, precision="float32")
    assert one.shape == mixed.shape == (30, 34, 3)
    assert network.style_weights({0: 1, 1: 3}) == [0.25, 0.75]
    loaded = cin.StyleNetwork.load(tmp_path / "run" / "model.keras")
    np.testing.assert_allclose(loaded.stylize(photo, 1, precision="float32"), one, atol=1e-3)
    with pytest.raises(st.ArgumentError, match="style: 2: the network has styles 0 to 1"):
        network.stylize(photo, style=2)


@pytest.mark.parametrize("options, argument", [
    (dict(style_weight=float("nan")), "style_weight"), (dict(size=8), "size"),
    (dict(style_layers=["relu9_9"]), "style_layers"), (dict(style_layers=[]), "style_layers"),
    (dict(pooling="min"), "pooling"), (dict(colour="red"), "colour"),
    (dict(style_layer_weights=[1, 2]), "style_layer_weights"),
    (dict(iterations=2.5), "iterations"), (dict(init="sketch"), "init"),
    (dict(style_layers=["relu1_1", "conv1_1"]), "style_layers"),
    (dict(content_layers=["relu4_2", "relu4_2"]), "content_layers")])
def test_bad_arguments_are_errors_that_name_them(pictures, options, argument):
    with pytest.raises(st.ArgumentError) as error:
        st.style_transfer(pictures["content"], pictures["style"], **{**TINY, **options})
    assert error.value.argument == argument and str(error.value).startswith(f"{argument}: ")
    assert isinstance(error.value, ValueError)


def test_progress_is_a_callback_and_the_default_a_progress_bar(pictures, capsys):
    steps = []
    st.style_transfer(pictures["content"], pictures["style"],
                      **{**TINY, "progress": lambda step, stage, total: steps.append(
                          (step.iteration, stage, total, step.image.shape))})
    assert steps == [(0, None, 2, (27, 32, 3)), (1, None, 2, (27, 32, 3)),
                     (2, None, 2, (27, 32, 3))]
    capsys.readouterr()
    st.style_transfer(pictures["content"], pictures["style"], **{**TINY, "progress": "bar"})
    assert "2/2" in capsys.readouterr().out  # Keras' Progbar.


def test_weights_default_to_imagenet(pictures, no_network):
    with pytest.raises(st.ArgumentError, match="weights: imagenet: .*download failed"):
        st.style_transfer(pictures["content"], pictures["style"], size=32, progress=None)


def test_importing_the_library_leaves_stderr_and_tensorflow_alone():
    code = ("import os, sys, style_transfer\n"
            "assert 'tensorflow' not in sys.modules\n"
            "os.write(2, b'still here')\n"
            "from style_transfer import gatys\n"
            "os.write(2, b' and here')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "still here" in done.stderr and " and here" in done.stderr


def test_the_public_names_are_the_techniques():
    assert {"style_transfer", "multi_style", "mask_style", "region_style", "masked_transfer",
            "photo_style", "patch_style", "doodle_2_art", "StyleNetwork"} <= set(st.__all__)
    assert st.style_transfer.__module__ == "style_transfer.gatys"
    assert vgg.feature_model.__defaults__[1] == "imagenet"


def test_every_technique_takes_the_network_and_checks_its_layers(pictures):
    result = st.style_transfer(pictures["content"], pictures["style"], network="vgg16",
                               **TINY)
    report = result.to_json()
    assert report["settings"]["network"] == "vgg16" and report["weights"]["network"] == "vgg16"
    with pytest.raises(st.ArgumentError, match="style_layers: unknown VGG16 layer 'relu3_4'"):
        st.style_transfer(pictures["content"], pictures["style"], network="vgg16",
                          style_layers=["relu3_4"], **TINY)


def test_a_technique_takes_its_recipe_for_the_network_chosen():
    """CIN's VGG16 recipe is magenta's own layers; given values still win."""
    from style_transfer import parameters
    vgg16 = parameters.settings_from(cin.CINSettings, {"network": "vgg16"})
    assert vgg16.content_layers == ("relu3_3",)
    assert vgg16.style_layers == ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    given = parameters.settings_from(cin.CINSettings, {"network": "vgg16",
                                                       "content_layers": ["relu4_2"]})
    assert given.content_layers == ("relu4_2",)
    assert parameters.settings_from(cin.CINSettings, {}).content_layers == ("relu3_4",)


def test_the_style_weight_follows_the_stage_size():
    """β (s/512)³ (docs/balance.md): 1e2 at 512 px, 12.5 at 256, 800 at 1024."""
    from style_transfer import gatys, losses
    settings = gatys.StyleTransferSettings()
    objective = losses.Objective(1.0, settings.style_weight, 0.0, ("relu4_2",), {})
    assert [settings.objective_at(objective, s).style_weight for s in (256, 512, 1024)] == [
        12.5, 100.0, 800.0]
    flat = gatys.StyleTransferSettings(style_weight_exponent=0.0)
    assert flat.objective_at(objective, 256).style_weight == 100.0


def test_help_shows_every_setting_with_its_default():
    import inspect
    signature = inspect.signature(st.style_transfer)
    assert signature.parameters["size"].default == 512
    assert signature.parameters["iterations"].default == 500
    assert signature.parameters["network"].default == "vgg19"
    fields = {f.name for f in __import__("dataclasses").fields(st.StyleTransferSettings)}
    assert fields <= set(signature.parameters) and "content" in signature.parameters
    assert "size=512: Longest side of the output in pixels." in st.style_transfer.__doc__
    assert "feather_radius=8.0" in st.masked_transfer.__doc__
    assert inspect.signature(st.StyleNetwork.train).parameters["steps"].default == 4000


def test_a_result_prints_as_one_line(pictures):
    result = st.style_transfer(pictures["content"], pictures["style"], **TINY)
    line = repr(result)
    assert line.startswith("Result(style_transfer, 32x27 px, 2 iterations, content ")
    assert ", total " in line
    assert "\n" not in line and len(line) < 200


def test_progress_in_a_log_is_plain_lines_naming_each_stage(pictures, capfd):
    """Redirected (not a terminal), the bar is lines with no control characters, and a
    run of several stages says which stage and size each line belongs to."""
    capfd.readouterr()
    st.style_transfer(pictures["content"], pictures["style"],
                      **dict(TINY, iterations=3, progress="bar", scales=[24, 32]))
    printed = capfd.readouterr().out
    assert "\x1b" not in printed and "\r" not in printed and "\b" not in printed
    assert printed.splitlines()[0] == "24px" and "32px" in printed.splitlines()
    assert "3/3  total " in printed


TECHNIQUES = ["style_transfer", "multi_style", "mask_style", "region_style", "patch_style",
              "doodle_2_art", "photo_style"]


def arguments_of(technique, p):
    """Each optimising technique's positional arguments, from the `pictures` fixture."""
    return {"style_transfer": (p["content"], p["style"]),
            "multi_style": (p["content"], [p["style"]], [p["left"]]),
            "mask_style": (p["content"], [p["style"]], [p["left"]]),
            "region_style": (p["content"], p["style"], p["content_map"], p["style_map"]),
            "patch_style": (p["content"], p["style"], p["content_map"], p["style_map"]),
            "doodle_2_art": (p["content_map"], p["style"], p["style_map"]),
            "photo_style": (p["content"], p["style"], p["content_map"], p["style_map"])
            }[technique]


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_every_technique_runs_on_vgg16(pictures, technique):
    result = getattr(st, technique)(*arguments_of(technique, pictures), network="vgg16",
                                    **TINY)
    assert result.settings.network == "vgg16" and result.weights.network == "vgg16"
    assert np.isfinite(result.image).all()


@pytest.mark.parametrize("technique, style_loss", list(zip(TECHNIQUES, [
    "sliced_wasserstein", "histogram", "mean_std", "wasserstein", "mmd_linear",
    "sliced_wasserstein", "gram_histogram"])))
def test_every_technique_takes_the_style_losses(pictures, technique, style_loss):
    """Each technique with a loss beyond Gram, each loss in one or two techniques (the
    doodle and patch_style through their Gram patch mode): the loss's own default
    weight, w_l = 1, and a run that lowers the loss."""
    gram_mode = {"patch_loss": "gram"} if technique in ("patch_style", "doodle_2_art") else {}
    result = getattr(st, technique)(*arguments_of(technique, pictures), style_loss=style_loss,
                                    **gram_mode, **TINY)
    objective = result.stages[-1].objective
    assert result.settings.style_loss == style_loss
    assert result.settings.style_weight == style_losses.DEFAULT_STYLE_WEIGHTS[style_loss]
    assert set(objective.style_layer_weights.values()) == {1.0}
    history = result.history
    assert np.isfinite(result.image).all() and np.isfinite(history[-1].losses["style"])
    assert history[-1].losses["total"] < history[0].losses["total"]


def test_cin_trains_on_vgg16_with_magentas_layers(tmp_path, rng):
    (tmp_path / "photos").mkdir()
    Image.fromarray(rng.integers(0, 255, (36, 40, 3), dtype=np.uint8)).save(
        tmp_path / "photos" / "p.png")
    styles = [np.full((32, 32, 3), (200, 40, 40), np.uint8),
              np.full((32, 32, 3), (40, 40, 200), np.uint8)]
    _, report = st.StyleNetwork.train(styles, tmp_path / "photos", tmp_path / "run",
                                      steps=1, image_size=32, batch_size=1, network_width=4,
                                      weights="random", network="vgg16", progress=None)
    assert report["settings"]["style_layers"] == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    assert report["weights"]["network"] == "vgg16"
