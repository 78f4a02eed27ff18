"""Seconds per evaluation and iteration, and peak memory, of the patch methods.

patch_style (gram and mrf) and doodle_2_art (mrf and gram) at 256 and 512 px, each run
a separate process (peak resident memory is per process), with region_style (the same
maps, whole-image masked Gram matrices) as the yardstick of one VGG19 pass per
evaluation. Target (issue 6): both usable at 512 px on a 2-core CPU; the MRF score
tensor stays under `patches.MAX_SCORE_BYTES` by construction.

Images: the photo_24 pair with its segmentations and the coastline doodle with Monet's
painting from ../shared/data if present, else the samples (chelsea and swirls with
their maps, and samples/masks/doodle.png).

Usage:
    python benchmarks/patches.py --sizes 256,512 --output benchmarks/results/patches.json
"""

import json
import pathlib
import subprocess
import sys
import tempfile

from absl import app, flags

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import SAMPLES, SHARED, write_results  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["256", "512"], "Output sizes to run.")
_ITERATIONS = flags.DEFINE_integer("iterations", 6, "L-BFGS iterations per run.")
_WEIGHTS = flags.DEFINE_string("weights", "random", "VGG19 weights for the runs.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")


def inputs():
    """(content, content map, style, style map, doodle, doodle style, its map)."""
    photo, doodle = SHARED / "photo", SHARED / "doodle"
    if (photo / "photo_24_content.jpg").is_file() and (doodle / "monet.jpg").is_file():
        return (photo / "photo_24_content.jpg", photo / "photo_24_content_seg.png",
                photo / "photo_24_style.jpg", photo / "photo_24_style_seg.png",
                doodle / "coastline_sem.png", doodle / "monet.jpg", doodle / "monet_sem.png")
    masks = SAMPLES / "masks"
    return (SAMPLES / "content" / "chelsea.jpg", masks / "chelsea_map.png",
            SAMPLES / "style" / "swirls.jpg", masks / "swirls_map.png",
            masks / "doodle.png", SAMPLES / "style" / "swirls.jpg", masks / "swirls_map.png")


def run(folder, name, script, arguments, size):
    report = folder / f"{name}_{size}.json"
    command = [sys.executable, str(ROOT / "scripts" / f"{script}.py"), *map(str, arguments),
               "--output", str(folder / f"{name}_{size}.png"), "--report", str(report),
               "--size", str(size), "--iterations", str(_ITERATIONS.value),
               "--weights", _WEIGHTS.value, "--quiet"]
    subprocess.run(command, check=True)
    figures = json.loads(report.read_text())
    row = {"method": name, "size": size, "shape": figures["image_sizes"]["content"],
           "seconds_per_evaluation": figures["seconds_per_evaluation"],
           "seconds_per_iteration": figures["seconds_per_iteration"],
           "peak_memory_mb": figures["peak_memory_mb"]}
    print(f"{name:<22} {size:>4} px: {row['seconds_per_evaluation']:.3f} s/evaluation, "
          f"{row['seconds_per_iteration']:.3f} s/iteration, peak "
          f"{row['peak_memory_mb']:.0f} MB", flush=True)
    return row


def main(argv):
    del argv  # Unused.
    content, content_map, style, style_map, doodle, doodle_style, doodle_map = inputs()
    transfer = ["--content", content, "--content_map", content_map, "--style", style,
                "--style_map", style_map]
    paint = ["--content_map", doodle, "--style", doodle_style, "--style_map", doodle_map]
    methods = {
        "region_style": ("region_style", transfer),
        "patch_style gram": ("patch_style", transfer + ["--patch_loss", "gram"]),
        "patch_style mrf": ("patch_style", transfer + ["--patch_loss", "mrf"]),
        "doodle_2_art mrf": ("doodle_2_art", paint + ["--patch_loss", "mrf"]),
        "doodle_2_art gram": ("doodle_2_art", paint + ["--patch_loss", "gram"]),
    }
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in _SIZES.value:
            for name, (script, arguments) in methods.items():
                rows.append(run(pathlib.Path(folder), name.replace(" ", "_"), script,
                                arguments, int(size)))
                rows[-1]["method"] = name
    for size in _SIZES.value:
        by_name = {row["method"]: row for row in rows if row["size"] == int(size)}
        yardstick = by_name["region_style"]["seconds_per_evaluation"]
        print(f"{size} px, per evaluation relative to region_style: " + ", ".join(
            f"{name} {row['seconds_per_evaluation'] / yardstick:.2f}x"
            for name, row in by_name.items() if name != "region_style"))
    write_results(_OUTPUT.value, {"weights": _WEIGHTS.value,
                                  "iterations": _ITERATIONS.value, "runs": rows})


if __name__ == "__main__":
    app.run(main)
