"""The suite on another Keras backend: JAX's CPU build computes the same objectives as
TensorFlow on the same inputs, its on-device L-BFGS takes SciPy's iterates, and CIN
trains the same step, in checkpoints either backend resumes (tests/backend_probe.py
computes the numbers, once per backend, in two processes)."""

import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

PROBE = pathlib.Path(__file__).with_name("backend_probe.py")
ROOT = PROBE.parent.parent

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                reason="jax is not installed (pip install -e '.[test]')")


def without_tensorflow(folder):
    """A PYTHONPATH entry under which `import tensorflow` fails, as on a JAX-only machine
    (the lent GPU has no TensorFlow)."""
    stub = folder / "no_tensorflow" / "tensorflow"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "__init__.py").write_text('raise ImportError("no TensorFlow here")\n')
    return str(stub.parent)


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    """backend -> the probe's numbers; both processes run side by side. JAX's runs where
    TensorFlow cannot be imported, and its CPU is two devices (CIN's training step runs
    data parallel over them)."""
    folder = tmp_path_factory.mktemp("backends")
    running = {}
    for name in ("tensorflow", "jax"):
        paths = ([without_tensorflow(folder)] if name == "jax" else []) + [str(ROOT)]
        environment = dict(os.environ, KERAS_BACKEND=name,
                           XLA_FLAGS="--xla_force_host_platform_device_count=2",
                           PYTHONPATH=os.pathsep.join(paths + sys.path))
        running[name] = subprocess.Popen(
            [sys.executable, str(PROBE), str(folder / f"{name}.json")], env=environment,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found = {}
    try:
        for name, process in running.items():
            output, _ = process.communicate(timeout=600)
            assert process.returncode == 0, f"{name}:\n{output[-3000:]}"
            found[name] = json.loads((folder / f"{name}.json").read_text())
    finally:  # A probe that hangs is not left running after the test.
        for process in running.values():
            process.kill()
            process.wait()
    return found


def test_the_probe_ran_on_the_backend_it_was_asked_for(probes):
    assert {name: numbers["backend"] for name, numbers in probes.items()} == {
        "tensorflow": "tensorflow", "jax": "jax"}
    assert {name: numbers["tensorflow_imported"] for name, numbers in probes.items()} == {
        "tensorflow": True, "jax": False}


@pytest.mark.parametrize("technique", ["style_transfer", "region_style", "patch_style",
                                       "photo_style"])
def test_every_technique_family_has_the_same_objective_on_jax(probes, technique):
    tensorflow, jax = (probes[name]["techniques"][technique] for name in ("tensorflow", "jax"))
    assert jax["first"].keys() == tensorflow["first"].keys()
    for term, value in tensorflow["first"].items():
        assert jax["first"][term] == pytest.approx(value, rel=1e-5, abs=1e-3), term
    # A short run on JAX lowers the objective and ends where TensorFlow's does (3 L-BFGS
    # iterations leave float differences well inside 1e-3).
    assert jax["finite"] and jax["stages"] == tensorflow["stages"]
    assert jax["last"]["total"] < jax["first"]["total"]
    # MRF pairs each patch with its nearest style patch, a choice that a float difference
    # can flip at a near tie; three iterations later a little of the objective has moved
    # between its terms (content 99.83 on TensorFlow, 99.55 on JAX, with the same
    # gradients of the network), while the total still agrees to 1e-5. So for MRF the
    # total is compared.
    terms = ["total"] if technique == "patch_style" else tensorflow["last"]
    for term in terms:
        assert jax["last"][term] == pytest.approx(tensorflow["last"][term], rel=1e-3,
                                                  abs=1e-2), term


def test_photo_style_second_stage_adds_the_photorealism_term_on_jax(probes):
    assert "photo" in probes["jax"]["techniques"]["photo_style"]["last"]


def test_the_photorealism_term_and_its_gradient_match(probes):
    tensorflow, jax = probes["tensorflow"]["photorealism"], probes["jax"]["photorealism"]
    assert jax["value"] == pytest.approx(tensorflow["value"], rel=1e-5)
    np.testing.assert_allclose(jax["gradient"], tensorflow["gradient"], rtol=1e-4,
                               atol=1e-3 * np.abs(tensorflow["gradient"]).max())


def test_jax_device_lbfgs_takes_scipys_iterates(probes):
    numbers = probes["jax"]["lbfgs"]
    assert len(numbers["device"]["totals"]) == 7  # Iteration 0 and 6 iterations.
    np.testing.assert_allclose(numbers["device"]["totals"], numbers["scipy"]["totals"],
                               rtol=1e-6)


@pytest.mark.parametrize("run", ["scipy", "device", "scipy, bounds", "device, bounds"])
def test_each_lbfgs_takes_the_same_iterates_on_both_backends(probes, run):
    """With bounds the device L-BFGS projects where L-BFGS-B takes a Cauchy point, so it
    is compared with itself on TensorFlow."""
    jax = probes["jax"]["lbfgs"][run]
    np.testing.assert_allclose(jax["totals"], probes["tensorflow"]["lbfgs"][run]["totals"],
                               rtol=1e-6)
    if "bounds" in run:
        assert 0.0 <= jax["low"] and jax["high"] <= 255.0


def test_the_device_lbfgs_ends_a_run_as_tensorflows_does(probes):
    """JAX's L-BFGS runs its loop on the device, TensorFlow's on the host: a run left to
    go on stops at the same place, for the same reason (a step that lowers nothing). The
    evaluations spent at the end differ: the last line searches run in float noise."""
    jax, tensorflow = (probes[name]["lbfgs"]["device, to the end"]
                       for name in ("jax", "tensorflow"))
    assert jax["stop_reason"] == tensorflow["stop_reason"] == (
        "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH")
    assert 3 < len(jax["totals"]) < 41
    np.testing.assert_allclose(jax["totals"][:7], tensorflow["totals"][:7], rtol=1e-6)
    assert jax["totals"][-1] == pytest.approx(tensorflow["totals"][-1], rel=1e-6)


def test_jax_device_lbfgs_restarts_from_the_gradient_after_a_failed_search(probes):
    """Once no direction descends, the search along the L-BFGS direction fails after the
    evaluations it is allowed (8 in the probe); L-BFGS-B then drops the pairs and
    searches along the gradient, which fails too, and the run ends: on the device as on
    the host, after the same iterations and evaluations."""
    jax, tensorflow = (probes[name]["lbfgs"]["device, misleading gradient"]
                       for name in ("jax", "tensorflow"))
    assert jax["stop_reason"] == tensorflow["stop_reason"] == "ABNORMAL_TERMINATION_IN_LNSRCH"
    assert len(jax["totals"]) == 3  # Iteration 0, then two before the gradient turns.
    assert jax["evaluations"] - jax["evaluations_before"] == 2 * 8
    assert (jax["evaluations"], jax["evaluations_before"]) == (
        tensorflow["evaluations"], tensorflow["evaluations_before"])
    np.testing.assert_allclose(jax["totals"], tensorflow["totals"], rtol=1e-6)


def test_a_callback_ends_the_jax_device_run_at_its_image(probes):
    assert probes["jax"]["lbfgs"]["device, stopped by the callback"] == {
        "iterations": 3, "stop_reason": "`callback` raised `StopIteration`.",
        "image_is_the_last_seen": True}


def test_jax_device_lbfgs_never_waits_for_the_host(probes):
    """The line search runs on the device, and the host queues each evaluation before it
    reads the report of the one before: it reads once per evaluation (and twice before the
    loop: the compiled first evaluation, then the same timed), never in between.
    TensorFlow's host loop also reads after each stored pair."""
    jax, tensorflow = (probes[name]["lbfgs"]["device, to the end"]
                       for name in ("jax", "tensorflow"))
    assert jax["reads"] == jax["evaluations"] + 2
    assert tensorflow["reads"] >= tensorflow["evaluations"] + tensorflow["iterations"]


def test_a_cin_training_step_is_the_same_on_jax(probes):
    """The same seeded network, photos and styles, on one device and on JAX's two: the
    same loss, and the same gradient (Adam's first moment after one step is
    (1 - β1) g) to 2e-4 of the largest. The
    updated parameters are not compared: Adam's first step moves each by about
    lr · sign(g), and some gradients are rounding alone (tests/test_distribute.py)."""
    tensorflow, jax = probes["tensorflow"]["cin"], probes["jax"]["cin"]
    assert (tensorflow["replicas"], jax["replicas"]) == (1, 2)  # JAX: data parallel.
    np.testing.assert_allclose(jax["loss"], tensorflow["loss"], rtol=1e-5)
    assert len(jax["first_moments"]) == len(tensorflow["first_moments"]) > 10
    scale = max(np.abs(moment).max() for moment in tensorflow["first_moments"])
    assert scale > 0
    for on_jax, on_tensorflow in zip(jax["first_moments"], tensorflow["first_moments"]):
        # Measured: 8e-5 of the largest at most, in the first kernel's gradient, which
        # crosses every convolution (oneDNN's on one side, XLA's on the other).
        np.testing.assert_allclose(on_jax, on_tensorflow, atol=2e-4 * scale)


def test_a_network_trained_on_jax_stylises_and_resumes_on_tensorflow(probes, tmp_path):
    """JAX's checkpoint (the .keras network and Adam's state) on TensorFlow: the same
    stylisation (JAX's compiled network against TensorFlow's rewrite), and training
    resumes at the step where JAX stopped."""
    from backend_probe import CIN_TINY
    from style_transfer import cin
    jax = probes["jax"]["cin"]
    folder = pathlib.Path(jax["folder"])
    network = cin.StyleNetwork.load(folder / "run" / "model.keras")
    photo = np.reshape(jax["photo"], (20, 28, 3)).astype(np.float32)
    stylized = network.stylize(photo, {0: 0.4, 1: 0.6}, precision="float32")
    np.testing.assert_allclose(stylized.ravel(), jax["stylized"], atol=1e-2)
    shutil.copytree(folder / "run", tmp_path / "run")
    _, report = cin.StyleNetwork.train(jax["styles"], folder / "photos", tmp_path / "run",
                                       progress=None, **dict(CIN_TINY, steps=2))
    assert report["steps"] == 2 and report["loss_history"][0] == jax["loss"][0]
    assert len(report["loss_history"]) == 2 and np.isfinite(report["loss_history"][1])


def test_a_machine_without_tensorflow_runs_every_command(probes, tmp_path):
    """Where TensorFlow cannot be imported, every technique and CIN ran in the JAX probe
    (above); the commands import without it, and cin_stylize stylises with the network
    that the probe trained there."""
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=without_tensorflow(tmp_path))
    model = pathlib.Path(probes["jax"]["cin"]["folder"]) / "run" / "model.keras"
    commands = [[name, "--helpshort"] for name in ("style_transfer", "cin_train",
                                                   "cin_serve")]
    commands.append(["cin_stylize", "--model", str(model), "--content",
                     str(ROOT / "samples" / "content" / "chelsea.jpg"), "--size", "32",
                     "--output", str(tmp_path / "stylized.png"), "--quiet"])
    for name, *arguments in commands:
        done = subprocess.run([sys.executable, str(ROOT / "scripts" / f"{name}.py"),
                               *arguments], env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, f"{name}: {done.stderr}"
    assert (tmp_path / "stylized.png").is_file()
