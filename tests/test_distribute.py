"""cin_train under tf.distribute: the input stream, two replicas against one device, and
two worker processes on localhost whose checkpoint a single device resumes."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from style_transfer import cin, distribute
from style_transfer.parameters import ArgumentError

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = {"steps": 1, "batch_size": 4, "image_size": 16, "network_width": 4,
        "weights": "random", "learning_rate": 1e-2, "content_weight": 1e6, "style_weight": 1e2}


def write_photos(folder, rng, count=3):
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(count):
        Image.fromarray(rng.integers(0, 255, (40 + 4 * k, 50, 3), dtype=np.uint8)).save(
            folder / f"p{k}.png")


def stream(crops, batch_size, first_step, last_step, pipelines, replicas_per_pipeline):
    """Step -> (photos, styles) of the global batch, read as the pipelines read it."""
    steps = {}
    for pipeline in range(pipelines):
        context = tf.distribute.InputContext(pipelines, pipeline,
                                             pipelines * replicas_per_pipeline)
        batches = list(crops.dataset(batch_size, first_step, last_step, context))
        for index, (photos, styles) in enumerate(batches):
            step = first_step + index // replicas_per_pipeline
            steps.setdefault(step, []).append((pipeline, index, photos.numpy(),
                                               styles.numpy()))
    # The global batch: pipeline 0's replicas, then pipeline 1's, ... (examples in order).
    return {step: (np.concatenate([p for *_, p, _ in sorted(parts, key=lambda t: t[:2])]),
                   np.concatenate([s for *_, s in sorted(parts, key=lambda t: t[:2])]))
            for step, parts in steps.items()}


def test_every_split_of_the_input_reads_the_same_stream(tmp_path, rng):
    write_photos(tmp_path / "photos", rng)
    crops = cin.TrainingCrops(cin.photo_paths(tmp_path / "photos"), 16, 3, seed=5)
    one = stream(crops, 4, 0, 5, pipelines=1, replicas_per_pipeline=1)
    assert sorted(one) == [0, 1, 2, 3, 4] and one[0][0].shape == (4, 16, 16, 3)
    for pipelines, replicas in ((1, 2), (2, 1), (2, 2), (4, 1)):
        split = stream(crops, 4, 0, 5, pipelines, replicas)
        for step in one:
            np.testing.assert_array_equal(split[step][0], one[step][0])
            np.testing.assert_array_equal(split[step][1], one[step][1])
    resumed = stream(crops, 4, 3, 5, pipelines=1, replicas_per_pipeline=1)
    for step in (3, 4):  # A resumed run reads on where the interrupted one stopped.
        np.testing.assert_array_equal(resumed[step][0], one[step][0])
    for photos, styles in one.values():
        assert len(set(styles)) == 1  # One style per step.
    assert len({int(styles[0]) for _, styles in one.values()}) > 1
    # Each pass visits every photo once: 3 photos, examples 0..2 of step 0 differ in size.
    assert len({crops.order(0)[k] for k in range(3)}) == 3


def test_the_stream_without_tensorflow_is_the_same(tmp_path, rng):
    """`TrainingCrops.batches` (JAX's input: threads, no tf.data) gives every step the
    photos and style that tf.data gives it, from the first step or a resumed one."""
    write_photos(tmp_path / "photos", rng)
    crops = cin.TrainingCrops(cin.photo_paths(tmp_path / "photos"), 16, 3, seed=5)
    expected = stream(crops, 4, 0, 6, pipelines=1, replicas_per_pipeline=1)
    for first_step in (0, 4):
        steps = list(crops.batches(4, first_step, 6, threads=3, ahead=2))
        assert len(steps) == 6 - first_step
        for step, (photos, styles) in enumerate(steps, first_step):
            np.testing.assert_array_equal(photos, expected[step][0])
            np.testing.assert_array_equal(styles, expected[step][1])


def test_an_unreadable_photo_is_replaced_by_the_next_in_the_order(tmp_path, rng):
    write_photos(tmp_path / "photos", rng)
    paths = cin.photo_paths(tmp_path / "photos")
    crops = cin.TrainingCrops(paths, 16, 2, seed=0)
    broken = crops.order(0)[0]
    paths[broken].write_bytes(b"\x89PNG\r\n\x1a\n broken after its header")
    with pytest.warns(UserWarning, match=paths[broken].name):
        crop = crops.crop(0)
    assert crop.shape == (16, 16, 3) and broken in crops.unreadable


def test_the_global_batch_must_split_over_the_replicas(tmp_path, rng, monkeypatch):
    write_photos(tmp_path / "photos", rng)

    class ThreeReplicas:
        num_replicas_in_sync = 3

    monkeypatch.setattr(distribute, "create", lambda name: ThreeReplicas())
    with pytest.raises(ArgumentError, match="batch_size.*use a multiple of 3"):
        cin.StyleNetwork.train([np.zeros((8, 8, 3))], tmp_path / "photos", tmp_path / "run",
                               progress=None, **TINY)
    assert not (tmp_path / "run").exists()


def test_strategy_names_and_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.cluster_tasks() == 0
    assert distribute.resolve("auto") == ("mirrored" if len(
        tf.config.list_physical_devices("GPU")) > 1 else "one_device")
    with pytest.raises(ArgumentError, match="multi_worker needs TF_CONFIG"):
        distribute.create("multi_worker")
    with pytest.raises(ArgumentError, match="'ring': use one of auto, one_device"):
        distribute.create("ring")
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]},
                                                "task": {"type": "worker", "index": 0}}))
    assert distribute.cluster_tasks() == 2 and distribute.resolve("auto") == "multi_worker"
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ArgumentError, match="TF_CONFIG"):
        distribute.cluster_tasks()


TWO_REPLICAS = """
import json, pathlib, sys
sys.path.insert(0, {root!r})
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
from style_transfer import cin, cin_network
rng = np.random.default_rng(0)
styles = [rng.uniform(0, 255, (24, 24, 3)).astype(np.float32) for _ in range(2)]
results = {{}}
for strategy in ("mirrored", "one_device"):
    network, report = cin.StyleNetwork.train(styles, "photos", strategy, progress=None,
                                             strategy=strategy, **{tiny!r})
    variables = [[v.path, v.numpy().tolist()] for v in network.network.trainable_variables]
    results[strategy] = {{"loss": report["loss_history"], "replicas": report["replicas"],
                         "variables": variables}}
start = cin_network.transformer_network(2, {tiny[network_width]}, seed=0)  # Where both started.
results["start"] = [[v.path, v.numpy().tolist()] for v in start.trainable_variables]
pathlib.Path("results.json").write_text(json.dumps(results))
"""


def test_two_replicas_take_the_step_of_one_device(tmp_path, rng):
    """Two logical CPU devices under MirroredStrategy, two photos each, against one
    device with the same four photos: the same loss, the same gradient (Adam's first
    moment, (1 - β1) g after one step) and the same updated γ, β and kernels.

    Adam's first step moves each parameter by about -lr sign(g), so where a gradient is
    at rounding level, rounding decides the step: the β of the second norm of a residual
    block adds a constant to the residual stream, which every later convolution's
    instance norm subtracts again, so its gradient is rounding alone (and a channel no
    photo activates is 0 on one device, not quite on two). Gradients are compared
    everywhere, to 1e-5 of the largest; parameters where |g| is above 1e-4 of it.
    """
    write_photos(tmp_path / "photos", rng)
    done = subprocess.run([sys.executable, "-c", TWO_REPLICAS.format(root=str(ROOT),
                                                                     tiny=TINY)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    mirrored, single = results["mirrored"], results["one_device"]
    assert (mirrored["replicas"], single["replicas"]) == (2, 1)
    np.testing.assert_allclose(mirrored["loss"], single["loss"], rtol=1e-5)
    kinds = [[name.split("/")[-1] for name, _ in run["variables"]] for run in
             (mirrored, single, {"variables": results["start"]})]
    assert kinds[0] == kinds[1] == kinds[2] and {"gamma", "beta", "kernel"} <= set(kinds[0])
    moments = [np.load(tmp_path / name / "optimizer.npz") for name in ("mirrored",
                                                                       "one_device")]
    # Adam's variables: iteration, learning rate, then (momentum, velocity) for each.
    gradients = [[m[f"arr_{2 + 2 * index}"] for m in moments]
                 for index in range(len(single["variables"]))]
    scale = max(np.abs(other).max() for _, other in gradients)
    compared = 0
    for (name, value), (_, other), (_, start), (gradient, other_gradient) in zip(
            mirrored["variables"], single["variables"], results["start"], gradients):
        np.testing.assert_allclose(gradient, other_gradient, atol=1e-5 * scale, err_msg=name)
        clear = np.abs(other_gradient) > 1e-4 * scale
        np.testing.assert_allclose(np.array(value)[clear], np.array(other)[clear], atol=1e-5,
                                   err_msg=name)
        assert np.abs(np.subtract(value, start)).max() > 1e-3, name  # The step moved it.
        compared += clear.sum()
    assert compared > 0.9 * sum(np.size(value) for _, value in single["variables"]) / 2


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def cin_train(*args, cwd, env=None):
    return subprocess.Popen([sys.executable, str(ROOT / "scripts" / "cin_train.py"), *args],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_workers_on_localhost_train_and_one_device_resumes(tmp_path, rng):
    write_photos(tmp_path / "photos", rng)
    Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    common = ["--style", "a.png", "--content_dir", "photos", "--image_size", "16",
              "--batch_size", "4", "--network_width", "4", "--weights", "random",
              "--checkpoint_every", "2", "--quiet"]
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index, folder in enumerate(["run", "worker1"]):
        env = {**os.environ, "TF_CONFIG": json.dumps({
            "cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})}
        processes.append(cin_train(*common, "--steps", "2", "--strategy", "multi_worker",
                                   "--checkpoint_dir", folder, cwd=tmp_path, env=env))
    single = cin_train(*common, "--steps", "2", "--strategy", "one_device",
                       "--checkpoint_dir", "single", cwd=tmp_path)
    try:
        outputs = [p.communicate(timeout=300) for p in processes + [single]]
    finally:
        for p in processes + [single]:
            p.kill()
    for p, (_, stderr) in zip(processes + [single], outputs):
        assert p.returncode == 0, stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert (report["strategy"], report["replicas"], report["workers"]) == ("multi_worker",
                                                                           2, 2)
    assert report["steps"] == 2 and report["images_per_second"] > 0
    assert not (tmp_path / "worker1").exists()  # Only the chief writes.
    # Two workers with two photos each take the one-device steps of four photos.
    alone = json.loads((tmp_path / "single" / "report.json").read_text())
    np.testing.assert_allclose(report["loss_history"], alone["loss_history"], rtol=1e-4)

    resumed = cin_train(*common, "--steps", "3", "--strategy", "one_device",
                        "--checkpoint_dir", "run", cwd=tmp_path)
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert (report["steps"], len(report["loss_history"]), report["replicas"]) == (3, 3, 1)
    np.testing.assert_allclose(report["loss_history"][:2], alone["loss_history"][:2],
                               rtol=1e-4)
