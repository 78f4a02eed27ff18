"""Stylising a folder with one command versus one cin_stylize run per image.

A video's frames or a photo library: N images of one size through the paper's network
(32 base filters, two styles, trained-looking random γ and β). Measured:
  - per_image_command: `cin_stylize --content frame.png` run as a user would for each
    image (a new process: Python, TensorFlow, loading the network, tracing, one pass);
    mean seconds over a few runs;
  - folder_command: one `cin_stylize --content_dir frames --output_dir styled` over all N
    (one process, one trace, batched forward passes, decoding and writing overlapped);
  - in_process: `StyleNetwork.stylize_folder` at batch sizes 1 and 4 after a warm-up,
    images per second (what a notebook or a long job gets).
The ratio is (N x per-image seconds) / folder seconds.

Usage:
    python benchmarks/cin_folder.py --output benchmarks/results/cin_folder.json
"""

import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from style_transfer import cli  # noqa: E402,F401  (first: quiets TensorFlow)
from style_transfer import cin, cin_network  # noqa: E402
from benchmarks.common import write_results  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from PIL import Image  # noqa: E402

_FRAMES = flags.DEFINE_integer("frames", 48, "Images in the folder.", lower_bound=1)
_SIZE = flags.DEFINE_integer("size", 256, "Their side in pixels.", lower_bound=4)
_COMMANDS = flags.DEFINE_integer("single_runs", 3, "Timed one-image commands.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")


def command_seconds(*args, cwd):
    """Wall seconds of one cin_stylize command (which must succeed)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "cin_stylize.py"), *args,
                           "--quiet"], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"cin_stylize failed: {done.stderr.strip()}")
    return seconds


def main(argv):
    del argv  # Unused.
    rng = np.random.default_rng(0)
    network = cin_network.transformer_network(2)
    for variable in network.weights:  # Trained-looking γ and β.
        if variable.name in ("gamma", "beta"):
            variable.assign(rng.normal(float(variable.name == "gamma"), 0.3, variable.shape))
    net = cin.StyleNetwork(network)
    count, size = _FRAMES.value, _SIZE.value
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        net.save(folder / "model.keras")
        (folder / "frames").mkdir()
        for k in range(count):
            frame = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            Image.fromarray(frame).save(folder / "frames" / f"frame_{k:06d}.png")
        model = ["--model", "model.keras", "--style_index", "1"]
        single = [command_seconds(*model, "--content", f"frames/frame_{k:06d}.png",
                                  "--output", f"single_{k}.png", cwd=folder)
                  for k in range(_COMMANDS.value)]
        per_image = float(np.mean(single))
        print(f"one command per image: {per_image:.2f} s each", flush=True)
        whole = command_seconds(*model, "--content_dir", "frames", "--output_dir", "styled",
                                cwd=folder)
        assert len(list((folder / "styled").glob("*.png"))) == count
        print(f"one command for {count} images: {whole:.2f} s "
              f"({count * per_image / whole:.1f}x faster than {count} commands)", flush=True)
        in_process = {}
        for batch_size in (1, 4):
            first = sorted((folder / "frames").glob("*.png"))[:batch_size]
            net.stylize_folder(first, folder / f"warm{batch_size}", 1, batch_size=batch_size,
                               progress=None)  # Traces this batch's shape.
            report = net.stylize_folder(folder / "frames", folder / f"batch{batch_size}", 1,
                                        batch_size=batch_size, progress=None)
            in_process[batch_size] = report["images_per_second"]
            print(f"in process, batch {batch_size}: {report['images_per_second']:.2f} "
                  f"images/s", flush=True)
    write_results(_OUTPUT.value, {
        "frames": count, "size": size, "per_image_command_seconds": per_image,
        "folder_command_seconds": whole,
        "folder_vs_per_image_commands": count * per_image / whole,
        "in_process_images_per_second": {f"batch_{b}": r for b, r in in_process.items()}})


if __name__ == "__main__":
    app.run(main)
