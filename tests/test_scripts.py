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

from style_transfer import vgg

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
    assert report["final_losses"]["total"] < report["loss_history"][0]["losses"]["total"]
    assert report["weights"] == {"source": "random", "path": None, "sha256": None, "seed": 0}
    assert report["flags"]["size"] == 32 and report["flags"]["style_weight"] == 1e3
    assert report["image_sizes"] == {"content": [27, 32], "style": [[32, 32]]}
    assert report["output"] == str(inputs / "out.png")
    assert report["seconds_per_iteration"] > 0 and report["wall_seconds"] > 0
    assert report["peak_memory_mb"] > 100
    assert {"tensorflow", "keras", "numpy", "scipy", "pillow"} <= set(report["versions"])
    assert "iteration     2/2" in done.stdout


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
        "output folder": (["--output", str(folder / "no" / "out.png")], "does not exist"),
        "output type": (["--output", str(folder / "out.xyz")], "unknown file type .xyz"),
        "init": (["--init", "sketch"], "--init sketch"),
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
    if any((folder / vgg.WEIGHTS_FILE).exists() for folder in vgg.weights_search_dirs()):
        pytest.skip("this checkout has the ImageNet weights in vgg_weights/")
    args = [a for a in tiny_args(inputs) if a != "random"]
    args[args.index("--weights")] = "--weights=imagenet"
    done = run_script(args, cwd=inputs, env={
        "KERAS_HOME": str(inputs / "keras_home"),
        vgg.WEIGHTS_URL_ENV: "http://127.0.0.1:9/" + vgg.WEIGHTS_FILE})
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
