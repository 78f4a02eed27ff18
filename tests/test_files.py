"""Every writer goes through one atomic path: a write that fails halfway leaves the old
file's bytes and no temporary file, for results, checkpoints and reports alike.

Each case breaks the writer underneath (Pillow's save, Keras' save, NumPy's savez, the
JSON encoder) so that it writes some bytes and then raises. A writer that wrote to its
destination directly would leave those bytes there, and the test would fail.
"""

import json
import pathlib
import time

import keras
import numpy as np
import pytest
from PIL import Image

from style_transfer import cin, cin_network, files, images, optimize, reporting
from style_transfer.parameters import ArgumentError


def half_then_fail(original_bytes=b"HALF"):
    """A stand-in writer: some bytes into the file it is given, then an error."""
    def writer(self_or_target, target=None, *args, **kwargs):
        destination = target if target is not None else self_or_target
        if hasattr(destination, "write"):
            destination.write(original_bytes)
        else:
            with open(destination, "wb") as f:
                f.write(original_bytes)
        raise OSError("disk full (simulated)")
    return writer


def assert_untouched(folder, expected):
    """Every file keeps its old bytes, and nothing else is in the folder."""
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == expected


def test_result_image(tmp_path, monkeypatch, rng):
    (tmp_path / "out.png").write_bytes(b"old result")
    monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **k: half_then_fail()(fp))
    with pytest.raises(OSError, match="simulated"):
        images.save(rng.uniform(0, 255, (4, 4, 3)), tmp_path / "out.png")
    assert_untouched(tmp_path, {"out.png": b"old result"})


def test_image_checkpoint(tmp_path, monkeypatch, rng):
    (tmp_path / "out_0001.png").write_bytes(b"old checkpoint")
    monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **k: half_then_fail()(fp))
    progress = reporting.ProgressLines(print_every=10, checkpoint_every=1,
                                       output=tmp_path / "out.png", quiet=True)
    step = optimize.Iteration(1, {"total": 1.0}, 2, 0.1, rng.uniform(0, 255, (4, 4, 3)))
    with pytest.raises(OSError, match="simulated"):
        progress(step, None, 5)
    assert_untouched(tmp_path, {"out_0001.png": b"old checkpoint"})


def test_network_checkpoint(tmp_path, monkeypatch):
    """The CIN network, Adam's moments and the step count: each file keeps its bytes."""
    old = {"model.keras": b"old model", "optimizer.npz": b"old moments",
           "state.json": b'{"step": 3}'}
    for name, content in old.items():
        (tmp_path / name).write_bytes(content)
    network = cin_network.transformer_network(2, base_filters=4, num_residual_blocks=1)
    trainer = cin.StyleTrainer.__new__(cin.StyleTrainer)  # Only what save() reads.
    trainer.__dict__.update(transformer=network,
                            optimizer=keras.optimizers.Adam(learning_rate=1e-3))
    monkeypatch.setattr(keras.Model, "save", lambda self, path, *a, **k: half_then_fail()(path))
    with pytest.raises(OSError, match="simulated"):
        trainer.save(tmp_path, {"step": 5})
    assert_untouched(tmp_path, old)
    monkeypatch.undo()
    monkeypatch.setattr(np, "savez", lambda f, *a, **k: half_then_fail()(f))
    with pytest.raises(OSError, match="simulated"):
        trainer.save(tmp_path, {"step": 5})  # The model is written; the moments fail halfway.
    assert (tmp_path / "optimizer.npz").read_bytes() == old["optimizer.npz"]
    assert (tmp_path / "state.json").read_bytes() == old["state.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(old)


def test_run_report(tmp_path):
    """The report is streamed into its temporary file: an unserialisable field halfway
    through leaves the old report whole."""
    (tmp_path / "out.json").write_bytes(b'{"old": "report"}')
    with pytest.raises(TypeError):
        reporting.write_report(tmp_path / "out.json",
                               {"loss_history": list(range(1000)), "broken": object()},
                               start_time=time.time())
    assert_untouched(tmp_path, {"out.json": b'{"old": "report"}'})
    reporting.write_report(tmp_path / "out.json", {"fine": 1}, start_time=time.time())
    assert json.loads((tmp_path / "out.json").read_text())["fine"] == 1


def test_ctrl_c_while_writing_keeps_the_old_file(tmp_path):
    (tmp_path / "out.png").write_bytes(b"old")

    def interrupted(f):
        f.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.write_atomically(tmp_path / "out.png", interrupted)
    assert_untouched(tmp_path, {"out.png": b"old"})


def test_a_long_name_is_refused_before_and_written_atomically_within_the_limit(tmp_path, rng):
    """The temporary file's name must be legal wherever the destination's is: a stem of
    250 characters is written, one over the file system's limit is refused up front."""
    longest = "x" * 250 + ".png"
    images.save(rng.uniform(0, 255, (4, 4, 3)), tmp_path / longest)
    assert [p.name for p in tmp_path.iterdir()] == [longest]
    with pytest.raises(ValueError, match="File name too long|more than the"):
        images.check_writable(tmp_path / ("x" * 300 + ".png"))
    with pytest.raises(ValueError, match="more than the"):
        files.check_name_length(tmp_path / ("y" * 300 + ".png"))


def test_output_folders_are_checked_before_anything_is_written(tmp_path):
    (tmp_path / "taken").write_text("a file")
    for path in (tmp_path / "taken", tmp_path / "taken" / "below"):
        with pytest.raises(ArgumentError, match="output_dir: .*taken.*is a file, not a folder"):
            files.make_folder(path, "output_dir")
    assert files.make_folder(tmp_path / "a" / "b", "output_dir", create=False) == (
        tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()
    assert files.make_folder(tmp_path / "a" / "b", "output_dir").is_dir()
    with pytest.raises(ValueError, match="x.png: .*taken is a file, not a folder"):
        images.check_writable(tmp_path / "taken" / "x.png")


@pytest.mark.skipif(not pathlib.Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_that_refuses_files_is_found_by_trying_even_as_root():
    """Permission bits say nothing to root: /proc refuses new files whoever asks."""
    with pytest.raises(ValueError, match="folder /proc is not writable"):
        files.check_folder_writable("/proc")
    with pytest.raises(ArgumentError, match="renders: .*not writable"):
        files.make_folder("/proc/renders", "renders")
