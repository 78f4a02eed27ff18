"""End to end: the scripts on tiny images, their reports, and their one-line errors."""

import json
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from style_transfer import color, images, matting, vgg

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "style_transfer.py"


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(tmp_path / "c.png")
    Image.fromarray(rng.integers(0, 255, (36, 36, 3), dtype=np.uint8)).save(tmp_path / "s.jpg")
    return tmp_path


def run_script(args, cwd, env=None, script=SCRIPT):
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def assert_one_line_error(done, *expected, output):
    """Exit 2, one line on stderr containing every `expected` text, and no `output`."""
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and all(text in lines[0] for text in expected), done.stderr
    assert not output.exists()


def tiny_args(folder, *extra):
    return ["--content", str(folder / "c.png"), "--style", str(folder / "s.jpg"),
            "--output", str(folder / "out.png"), "--size", "32", "--iterations", "2",
            "--weights", "random", *extra]


def test_style_transfer_writes_image_and_complete_report(inputs):
    done = run_script(tiny_args(inputs, "--checkpoint_every", "1"), cwd=inputs)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    with Image.open(inputs / "out.png") as result:
        assert result.size == (32, 27)  # Longest side 32, aspect of 48x40 kept.
    assert (inputs / "out_0001.png").is_file() and (inputs / "out_0002.png").is_file()
    report = json.loads((inputs / "out.json").read_text())
    assert report["iterations"] == 2
    assert report["function_evaluations"] >= 3
    assert [step["iteration"] for step in report["loss_history"]] == [0, 1, 2]
    assert set(report["final_losses"]) == {"total", "content", "style", "tv"}
    assert report["objective"]["content_weight"] == 1 and report["objective"][
        "style_weight"] == 1e2 * (32 / 512) ** 3  # β at 32 px, with w_l = 1/N_l²:
    assert report["objective"]["style_layer_weights"] == {
        layer: 1 / n ** 2 for layer, n in zip(vgg.STYLE_LAYERS, (64, 128, 256, 512, 512))}
    assert report["settings"]["pooling"] == "max" and report["technique"] == "style_transfer"
    assert report["final_losses"]["total"] < report["loss_history"][0]["losses"]["total"]
    assert report["weights"] == {"source": "random", "path": None, "sha256": None, "seed": 0,
                                 "network": "vgg19"}
    assert report["flags"]["size"] == 32 and report["flags"]["style_weight"] == 1e2
    assert report["image_sizes"] == {"content": [27, 32], "style": [[32, 32]]}
    assert report["output"] == str(inputs / "out.png")
    assert report["seconds_per_iteration"] > 0 and report["wall_seconds"] > 0
    assert report["peak_memory_mb"] > 100
    assert {"tensorflow", "keras", "numpy", "scipy", "pillow"} <= set(report["versions"])
    assert "iteration     2/2" in done.stdout


def test_scipys_optimizer_writes_the_same_report_and_checkpoints(inputs):
    done = run_script(tiny_args(inputs, "--optimizer", "scipy", "--bounds",
                                "--checkpoint_every", "2"), cwd=inputs)
    assert done.returncode == 0, done.stderr
    report = json.loads((inputs / "out.json").read_text())
    assert report["settings"]["optimizer"] == "scipy" and report["settings"]["bounds"]
    assert report["iterations"] == 2 and "ITERATIONS REACHED LIMIT" in report["stop_reason"]
    assert (inputs / "out_0002.png").is_file()
    assert report["stages"][0]["seconds_outside_evaluation"] > 0


def test_weights_file_is_hashed_in_the_report(inputs):
    from conftest import write_legacy_weights
    write_legacy_weights(inputs / "w.h5")
    done = run_script(tiny_args(inputs, "--weights", str(inputs / "w.h5"), "--quiet"),
                      cwd=inputs)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    weights = json.loads((inputs / "out.json").read_text())["weights"]
    assert weights["source"] == "file" and len(weights["sha256"]) == 64


def bad_cases(folder):
    """Case -> (flags that override the good ones, what the error line must contain)."""
    return {
        "missing content": (["--content", str(folder / "nope.png")], "nope.png"),
        "missing style": (["--style", str(folder / "nope.jpg")], "nope.jpg"),
        "empty file": (["--content", str(folder / "empty.png")], "empty.png: the file is empty"),
        "not an image": (["--style", str(folder / "text.png")], "text.png: not an image"),
        "size": (["--size", "0"], "--size"),
        "iterations": (["--iterations", "0"], "--iterations"),
        "style weight": (["--style_weight", "-1"], "--style_weight"),
        "unknown layer": (["--style_layers", "relu1_1,relu9_9"], "relu9_9"),
        "layer weights": (["--style_layer_weights", "1,2"], "--style_layer_weights"),
        "output folder": (["--output", str(folder / "empty.png" / "out.png")],
                          "empty.png is a file, not a folder"),
        "output type": (["--output", str(folder / "out.xyz")], "unknown file type .xyz"),
        "init": (["--init", "sketch"], "--init: sketch"),
        "weights file": (["--weights", str(folder / "none.h5")], "none.h5"),
    }


@pytest.mark.parametrize("case", list(bad_cases(pathlib.Path("."))))
def test_bad_input_gives_one_line_and_no_output(inputs, case):
    (inputs / "empty.png").write_bytes(b"")
    (inputs / "text.png").write_text("not a picture")
    override, expected = bad_cases(inputs)[case]
    done = run_script(tiny_args(inputs) + override, cwd=inputs)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in done.stderr
    assert not (inputs / "out.png").exists() and not (inputs / "out.json").exists()


def test_offline_without_weights_says_where_to_put_them(inputs):
    if any((folder / vgg.VGG19.weights_file).exists() for folder in vgg.weights_search_dirs()):
        pytest.skip("this checkout has the ImageNet weights in vgg_weights/")
    args = [a for a in tiny_args(inputs) if a != "random"]
    args[args.index("--weights")] = "--weights=imagenet"
    done = run_script(args, cwd=inputs, env={
        "KERAS_HOME": str(inputs / "keras_home"),
        vgg.VGG19.weights_url_env: "http://127.0.0.1:9/" + vgg.VGG19.weights_file})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "put it in vgg_weights/" in lines[0], done.stderr
    assert not (inputs / "out.png").exists()


def test_ctrl_c_saves_the_latest_image_and_report(inputs):
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *tiny_args(inputs)[:-4], "--iterations", "100000",
         "--print_every", "1", "--weights", "random"],
        cwd=inputs, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("iteration     3/"):
            break
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    assert process.returncode == 130
    report = json.loads((inputs / "out.json").read_text())
    assert report["interrupted"] is True and report["stop_reason"] == "interrupted"
    assert report["iterations"] >= 3
    assert Image.open(inputs / "out.png").size == (32, 27)


def test_installed_command_runs(inputs):
    command = pathlib.Path(sys.executable).parent / "style_transfer"
    if not command.exists():
        pytest.skip("package not installed in this environment (make install does it)")
    done = subprocess.run([str(command), *tiny_args(inputs)], cwd=inputs,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (inputs / "out.png").is_file()


def yiq_chroma(path):
    with Image.open(path) as image:
        return color.rgb_to_yiq(np.asarray(image.convert("RGB"), float))[..., 1:]


def test_preserve_color_luminance_keeps_the_content_chroma(inputs):
    content = images.resize_longest_side(images.load(inputs / "c.png"), 32)
    content_chroma = color.rgb_to_yiq(content)[..., 1:]
    for mode in ("none", "luminance"):
        done = run_script(tiny_args(inputs, "--init", "noise", "--preserve_color", mode,
                                    "--output", str(inputs / f"{mode}.png")), cwd=inputs)
        assert done.returncode == 0, done.stderr
    # From noise, a plain run has chroma unrelated to the content's; the luminance run
    # has the content's chroma, up to 8-bit rounding, except where luminance + chroma
    # leaves [0, 255] and is clipped (saturated colours of this random content).
    assert np.abs(yiq_chroma(inputs / "none.png") - content_chroma).mean() > 10
    kept = np.abs(yiq_chroma(inputs / "luminance.png") - content_chroma)
    assert np.median(kept) < 0.5 and kept.mean() < 2.0


def test_coarse_to_fine_blend_and_style_scale_reach_the_report(inputs):
    Image.fromarray(np.full((30, 30, 3), 200, np.uint8)).save(inputs / "s2.png")
    done = run_script(tiny_args(inputs, "--scales", "32,48", "--style",
                                f"{inputs / 's.jpg'},{inputs / 's2.png'}",
                                "--style_blend_weights", "3,1", "--style_scale", "0.5",
                                "--preserve_color", "histogram"), cwd=inputs)
    assert done.returncode == 0, done.stderr
    report = json.loads((inputs / "out.json").read_text())
    assert [stage["size"] for stage in report["stages"]] == [32, 48]
    assert [stage["content_shape"] for stage in report["stages"]] == [[27, 32], [40, 48]]
    assert report["stages"][1]["style_shapes"] == [[24, 24], [24, 24]]  # 0.5 x 48.
    assert report["iterations"] == 4
    assert report["flags"]["style_blend_weights"] == ["3", "1"]
    assert report["predicted"][-1]["size"] == 48 and report["predicted"][-1]["peak_gb"] > 0
    assert Image.open(inputs / "out.png").size == (48, 40)


def test_estimate_prints_predictions_and_does_not_run(inputs):
    done = run_script(tiny_args(inputs, "--estimate", "--scales", "32,64"), cwd=inputs)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("predicted at")]
    assert len(lines) == 2 and "64 px (64x53)" in lines[1] and "GB" in lines[1]
    assert not (inputs / "out.png").exists()


@pytest.mark.parametrize("override, expected", [
    (["--max_memory_gb", "0.01"], "--max_memory_gb: a 32 px run is predicted to need"),
    (["--style_blend_weights", "1,2"], "--style_blend_weights: 2 values for 1 style"),
    (["--scales", "64,32"], "--scales: 64,32: give increasing"),
    (["--preserve_color", "sepia"], "--preserve_color"),
])
def test_bad_controls_give_one_line(inputs, override, expected):
    done = run_script(tiny_args(inputs) + override, cwd=inputs)
    assert_one_line_error(done, expected, output=inputs / "out.png")


def test_each_scale_starts_from_the_previous_result(inputs):
    """From noise, stage 2 starts near stage 1's result: far below a fresh noise start."""
    reports = {}
    for name, scales in (("coarse", "32,48"), ("single", "48")):
        done = run_script(tiny_args(inputs, "--init", "noise", "--scales", scales,
                                    "--iterations", "5", "--style_weight_exponent", "0",
                                    "--report", str(inputs / f"{name}.json")), cwd=inputs)
        assert done.returncode == 0, done.stderr
        reports[name] = json.loads((inputs / f"{name}.json").read_text())
    fresh_start = reports["single"]["stages"][0]["loss_history"][0]["losses"]["total"]
    second_start = reports["coarse"]["stages"][1]["loss_history"][0]["losses"]["total"]
    assert second_start < 0.5 * fresh_start


SCRIPTS = ROOT / "scripts"


@pytest.fixture
def mask_inputs(inputs):
    """Two complementary masks, a second style, and colour maps for content and style."""
    left = np.zeros((40, 48), np.uint8)
    left[:, :24] = 255
    Image.fromarray(left).save(inputs / "left.png")
    Image.fromarray(255 - left).save(inputs / "right.png")
    Image.fromarray(np.full((30, 30, 3), (20, 200, 40), np.uint8)).save(inputs / "s2.png")
    content_map = np.zeros((40, 48, 3), np.uint8)
    content_map[20:] = 255
    content_map[30:, 30:] = (0, 255, 0)  # Green: only in the content map.
    Image.fromarray(content_map).save(inputs / "cmap.png")
    style_map = np.zeros((36, 36, 3), np.uint8)
    style_map[:, 18:] = 255
    Image.fromarray(style_map).save(inputs / "smap.png")
    return inputs


def test_multi_style_confines_each_style_to_its_mask(mask_inputs):
    done = run_script(tiny_args(mask_inputs, "--style",
                                f"{mask_inputs / 's.jpg'},{mask_inputs / 's2.png'}",
                                "--style_masks",
                                f"{mask_inputs / 'left.png'},{mask_inputs / 'right.png'}"),
                      cwd=mask_inputs, script=SCRIPTS / "multi_style.py")
    assert done.returncode == 0, done.stderr
    assert "regions: s.jpg 50%, s2.png 50%; 0% in no region" in done.stdout
    report = json.loads((mask_inputs / "out.json").read_text())
    assert report["iterations"] == 2 and report["image_sizes"]["style"] == [[32, 32], [32, 32]]


def test_mask_style_takes_eight_soft_masks(mask_inputs):
    paths = []
    for k in range(8):  # Eight overlapping horizontal ramps.
        ramp = np.clip(np.linspace(-k, 8 - k, 48), 0, 1) * 255
        Image.fromarray(np.tile(ramp, (40, 1)).astype(np.uint8)).save(mask_inputs / f"r{k}.png")
        paths.append(str(mask_inputs / f"r{k}.png"))
    styles = ",".join([str(mask_inputs / "s.jpg"), str(mask_inputs / "s2.png")] * 4)
    done = run_script(tiny_args(mask_inputs, "--style", styles, "--style_masks", ",".join(paths)),
                      cwd=mask_inputs, script=SCRIPTS / "mask_style.py")
    assert done.returncode == 0, done.stderr
    assert json.loads((mask_inputs / "out.json").read_text())["iterations"] == 2


def test_region_style_pairs_map_colours_and_names_the_unpaired(mask_inputs):
    args = tiny_args(mask_inputs, "--content_map", str(mask_inputs / "cmap.png"),
                     "--style_map", str(mask_inputs / "smap.png"))
    done = run_script(args, cwd=mask_inputs, script=SCRIPTS / "region_style.py")
    assert done.returncode == 0, done.stderr
    assert "regions: #000000 52%, #ffffff 38%; only in the content map: #00ff00" in done.stdout
    report = json.loads((mask_inputs / "out.json").read_text())
    assert sorted(report["regions"]) == ["#000000", "#ffffff"]
    assert report["content_only"] == ["#00ff00"] and report["style_only"] == []
    Image.fromarray(np.full((36, 36, 3), (255, 0, 0), np.uint8)).save(mask_inputs / "red.png")
    args[args.index(str(mask_inputs / "smap.png"))] = str(mask_inputs / "red.png")
    (mask_inputs / "out.png").unlink()
    done = run_script(args, cwd=mask_inputs, script=SCRIPTS / "region_style.py")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "--content_map: shares no colour with style_map" in done.stderr
    assert "#ff0000" in done.stderr and not (mask_inputs / "out.png").exists()


def test_masked_transfer_composites_through_the_mask(mask_inputs):
    stylized = np.random.default_rng(1).integers(0, 255, (40, 48, 3), dtype=np.uint8)
    Image.fromarray(stylized).save(mask_inputs / "styled.png")
    done = run_script(["--content", str(mask_inputs / "c.png"),
                       "--stylized", str(mask_inputs / "styled.png"),
                       "--mask", str(mask_inputs / "left.png"), "--feather_radius", "0",
                       "--output", str(mask_inputs / "out.png")],
                      cwd=mask_inputs, script=SCRIPTS / "masked_transfer.py")
    assert done.returncode == 0, done.stderr
    out = np.asarray(Image.open(mask_inputs / "out.png"))
    content = np.asarray(Image.open(mask_inputs / "c.png"))
    np.testing.assert_array_equal(out[:, :24], stylized[:, :24])  # White: stylised.
    np.testing.assert_array_equal(out[:, 24:], content[:, 24:])  # Black: the content.
    done = run_script(["--content", str(mask_inputs / "c.png"),
                       "--stylized", str(mask_inputs / "styled.png"),
                       "--mask", str(mask_inputs / "left.png"), "--match_color", "content",
                       "--output", str(mask_inputs / "soft.png")],
                      cwd=mask_inputs, script=SCRIPTS / "masked_transfer.py")
    assert done.returncode == 0, done.stderr
    soft = np.asarray(Image.open(mask_inputs / "soft.png")).astype(float)
    assert 0 < np.abs(soft[:, 22:26] - content[:, 22:26]).mean() < np.abs(
        out[:, 22:26].astype(float) - content[:, 22:26]).mean()  # The seam is softer.


@pytest.mark.parametrize("script, override, expected", [
    ("multi_style.py", ["--style", "s.jpg,s2.png"], "--style_masks: 1 masks for 2 style images"),
    ("mask_style.py", ["--style_masks", "black.png"], "black.png: the mask is all black"),
    ("masked_transfer.py", ["--stylized", "a.png,b.png,c.png"], "--stylized"),
])
def test_mask_family_bad_input_gives_one_line(mask_inputs, script, override, expected):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(mask_inputs / "black.png")
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(mask_inputs / name)
    base = {"multi_style.py": ["--style_masks", "left.png"],
            "mask_style.py": [],
            "masked_transfer.py": ["--stylized", "a.png", "--mask", "left.png"]}[script]
    args = tiny_args(mask_inputs) if script != "masked_transfer.py" else [
        "--content", "c.png", "--output", "out.png"]
    done = run_script(args + base + override, cwd=mask_inputs, script=SCRIPTS / script)
    assert_one_line_error(done, expected, output=mask_inputs / "out.png")


def test_photo_style_runs_two_stages_with_segmentations(mask_inputs):
    done = run_script(tiny_args(mask_inputs, "--iterations", "4",
                                "--content_seg", str(mask_inputs / "cmap.png"),
                                "--style_seg", str(mask_inputs / "smap.png")),
                      cwd=mask_inputs, script=SCRIPTS / "photo_style.py")
    assert done.returncode == 0, done.stderr
    assert "only in the content map: #00ff00" in done.stdout
    report = json.loads((mask_inputs / "out.json").read_text())
    first, second = report["stages"]
    assert first["iterations"] == 2 and second["iterations"] == 2
    assert "photo" not in first["final_losses"] and second["final_losses"]["photo"] > 0
    assert sorted(report["labels"]) == ["#000000", "#ffffff"]
    objective = second["objective"]  # Luan et al.'s code: α 5, β 1e2, λ 1e4, TV 1e-3 on ½Σ.
    assert (objective["content_weight"], objective["style_weight"]) == (5.0, 1e2)
    assert report["settings"]["photo_weight"] == 1e4
    assert objective["tv_weight"] == pytest.approx(1e-3 * 1.5 * 26 * 31)  # 32x27 px.
    assert report["smooth"] is None

    smoothed = mask_inputs / "smoothed.png"  # The same run, then the guided-filter refit.
    done = run_script(tiny_args(mask_inputs, "--iterations", "4",
                                "--content_seg", str(mask_inputs / "cmap.png"),
                                "--style_seg", str(mask_inputs / "smap.png"), "--smooth",
                                "--smooth_radius", "2", "--smooth_epsilon", "0.1",
                                "--output", str(smoothed)),
                      cwd=mask_inputs, script=SCRIPTS / "photo_style.py")
    assert done.returncode == 0, done.stderr
    assert json.loads(smoothed.with_suffix(".json").read_text())["smooth"] == {
        "radius": 2, "epsilon": 0.1}
    content = images.load(mask_inputs / "c.png", max_size=32) / 255.0
    unsmoothed = images.load(mask_inputs / "out.png") / 255.0
    expected = 255 * np.clip(matting.guided_filter(content, unsmoothed, 2, 0.1), 0, 1)
    assert np.abs(images.load(smoothed) - expected).max() <= 2  # PNG rounding, twice.
    assert np.abs(images.load(smoothed) - 255 * unsmoothed).max() > 2  # It did refit.
    done = run_script(tiny_args(mask_inputs, "--smooth_radius", "0", "--output",
                                str(mask_inputs / "bad.png")),
                      cwd=mask_inputs, script=SCRIPTS / "photo_style.py")
    assert_one_line_error(done, "--smooth_radius", output=mask_inputs / "bad.png")
    done = run_script(tiny_args(mask_inputs, "--content_seg", str(mask_inputs / "cmap.png")),
                      cwd=mask_inputs, script=SCRIPTS / "photo_style.py")
    assert done.returncode == 2 and "--content_seg: give both segmentations" in done.stderr


@pytest.fixture
def patch_inputs(mask_inputs):
    """A black-and-white content map (every colour in smap.png) beside cmap.png."""
    content_map = np.zeros((40, 48, 3), np.uint8)
    content_map[20:] = 255
    Image.fromarray(content_map).save(mask_inputs / "cmap2.png")
    return mask_inputs


@pytest.mark.parametrize("patch_loss, layers, style_weight", [
    ("gram", ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
     1e2 * (32 / 512) ** 3),  # Gatys' recipe, β at 32 px.
    ("mrf", ["relu3_1", "relu4_1"], 1e-4),  # CNNMRF's layers and MRF weight.
])
def test_patch_style_runs_both_patch_losses(patch_inputs, patch_loss, layers, style_weight):
    done = run_script(tiny_args(patch_inputs, "--content_map", str(patch_inputs / "cmap2.png"),
                                "--style_map", str(patch_inputs / "smap.png"),
                                "--patch_loss", patch_loss),
                      cwd=patch_inputs, script=SCRIPTS / "patch_style.py")
    assert done.returncode == 0, done.stderr
    assert "regions: #000000 52%, #ffffff 48%" in done.stdout  # 27 rows: 14 and 13.
    report = json.loads((patch_inputs / "out.json").read_text())
    objective = report["objective"]
    assert list(objective["style_layer_weights"]) == layers
    assert objective["style_weight"] == style_weight
    assert report["iterations"] == 2 and sorted(report["regions"]) == ["#000000", "#ffffff"]
    assert report["final_losses"]["total"] < report["loss_history"][0]["losses"]["total"]
    assert report["final_losses"]["content"] > 0


def test_patch_style_given_flags_beat_the_method_defaults(patch_inputs):
    done = run_script(tiny_args(patch_inputs, "--content_map", str(patch_inputs / "cmap2.png"),
                                "--style_map", str(patch_inputs / "smap.png"),
                                "--patch_loss", "mrf", "--style_layers", "relu2_1",
                                "--style_weight", "5", "--patch_stride", "1"),
                      cwd=patch_inputs, script=SCRIPTS / "patch_style.py")
    assert done.returncode == 0, done.stderr
    objective = json.loads((patch_inputs / "out.json").read_text())["objective"]
    assert objective["style_layer_weights"] == {"relu2_1": 1.0}
    assert objective["style_weight"] == 5.0 and objective["content_weight"] == 2e1


def test_patch_style_refuses_a_label_missing_from_the_style_map(patch_inputs):
    done = run_script(tiny_args(patch_inputs, "--content_map", str(patch_inputs / "cmap.png"),
                                "--style_map", str(patch_inputs / "smap.png")),
                      cwd=patch_inputs, script=SCRIPTS / "patch_style.py")
    assert_one_line_error(done, "--content_map: has colours that style_map lacks: #00ff00",
                          output=patch_inputs / "out.png")


def doodle_args(folder, doodle, *extra):
    return ["--content_map", str(folder / doodle), "--style", str(folder / "s.jpg"),
            "--style_map", str(folder / "smap.png"), "--output", str(folder / "art.png"),
            "--iterations", "2", "--weights", "random", *extra]


def test_doodle_2_art_paints_the_doodle_coarse_to_fine_from_noise(patch_inputs):
    done = run_script(doodle_args(patch_inputs, "cmap2.png", "--scales", "32,48"),
                      cwd=patch_inputs, script=SCRIPTS / "doodle_2_art.py")
    assert done.returncode == 0, done.stderr
    with Image.open(patch_inputs / "art.png") as art:
        assert art.size == (48, 40)  # The doodle's shape, longest side 48.
    report = json.loads((patch_inputs / "art.json").read_text())
    assert report["flags"]["init"] == "noise" and report["flags"]["patch_loss"] == "mrf"
    assert [stage["content_shape"] for stage in report["stages"]] == [[27, 32], [40, 48]]
    assert report["final_losses"]["content"] == 0  # No content image, no content term.
    # The second scale starts from the first one's result, not from noise.
    done = run_script(doodle_args(patch_inputs, "cmap2.png", "--size", "48", "--iterations",
                                  "1", "--output", str(patch_inputs / "fresh.png")),
                      cwd=patch_inputs, script=SCRIPTS / "doodle_2_art.py")
    assert done.returncode == 0, done.stderr
    fresh = json.loads((patch_inputs / "fresh.json").read_text())["loss_history"][0]
    second_start = report["stages"][1]["loss_history"][0]
    assert second_start["losses"]["style"] < 0.8 * fresh["losses"]["style"]


def test_doodle_colours_missing_from_the_style_map_are_named(patch_inputs):
    done = run_script(doodle_args(patch_inputs, "cmap.png", "--size", "32"),
                      cwd=patch_inputs, script=SCRIPTS / "doodle_2_art.py")
    assert_one_line_error(done, "#00ff00", "--content_map", output=patch_inputs / "art.png")


@pytest.mark.parametrize("override, expected", [
    (["--patch_loss", "nearest"], "--patch_loss"),
    (["--patch_stride", "0"], "--patch_stride"),
    (["--semantic_weight", "-1"], "--semantic_weight"),
    (["--patch_loss", "mrf", "--patch_size", "9"], "too small for 9x9 patches at relu3_1"),
])
def test_bad_patch_flags_give_one_line(patch_inputs, override, expected):
    done = run_script(tiny_args(patch_inputs, "--content_map", str(patch_inputs / "cmap2.png"),
                                "--style_map", str(patch_inputs / "smap.png"), *override),
                      cwd=patch_inputs, script=SCRIPTS / "patch_style.py")
    assert_one_line_error(done, expected, output=patch_inputs / "out.png")
