"""Predicted against measured peak memory of style_transfer runs at several sizes.

Each size is a separate process (peak resident memory is per process): the script runs a
few L-BFGS iterations, and its report holds both the prediction it made before starting
(`predicted`, from `style_transfer.memory`) and the peak it reached (`peak_memory_mb`).
Target (issue 4): within 20% at 256, 512 and 1024 px; a 1024 px coarse-to-fine run
within 4 GB.

Usage:
    python benchmarks/memory.py --sizes 256,512,1024 --output benchmarks/results/memory.json
"""

import json
import pathlib
import subprocess
import sys
import tempfile

from absl import app, flags

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import image_paths, write_results  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["256", "512", "1024"], "Output sizes to run.")
_ITERATIONS = flags.DEFINE_integer("iterations", 5, "L-BFGS iterations per run.")
_WEIGHTS = flags.DEFINE_string("weights", "random", "VGG19 weights for the runs.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")


def run(folder, size, scales=None):
    content, style = image_paths()
    report = folder / f"run_{size}.json"
    command = [sys.executable, str(ROOT / "scripts" / "style_transfer.py"),
               "--content", str(content), "--style", str(style),
               "--output", str(folder / f"out_{size}.png"), "--report", str(report),
               "--size", str(size), "--iterations", str(_ITERATIONS.value),
               "--weights", _WEIGHTS.value, "--quiet"]
    if scales:
        command += ["--scales", scales]
    subprocess.run(command, check=True)
    figures = json.loads(report.read_text())
    predicted = max(p["peak_gb"] for p in figures["predicted"]) * 1024
    measured = figures["peak_memory_mb"]
    row = {"size": size, "scales": scales, "shape": figures["image_sizes"]["content"],
           "predicted_mb": predicted, "measured_mb": measured,
           "error": predicted / measured - 1,
           "predicted_seconds_per_iteration":
               figures["predicted"][-1]["seconds_per_iteration"],
           "measured_seconds_per_iteration": figures["stages"][-1]["seconds_per_iteration"]}
    print(f"{size:>5} px{' (scales ' + scales + ')' if scales else ''}: predicted "
          f"{predicted:.0f} MB, measured {measured:.0f} MB ({row['error']:+.1%}); "
          f"{row['predicted_seconds_per_iteration']:.2f} s/it predicted, "
          f"{row['measured_seconds_per_iteration']:.2f} measured", flush=True)
    return row


def main(argv):
    del argv  # Unused.
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        rows = [run(folder, int(size)) for size in _SIZES.value]
        largest = max(int(size) for size in _SIZES.value)
        coarse = ",".join(str(largest // d) for d in (4, 2, 1))
        rows.append(run(folder, largest, scales=coarse))
    write_results(_OUTPUT.value, {"weights": _WEIGHTS.value, "runs": rows})


if __name__ == "__main__":
    app.run(main)
