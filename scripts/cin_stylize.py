"""Stylise a photo with a network trained by cin_train.py: one style, or a mix of styles.

V. Dumoulin, J. Shlens, M. Kudlur, "A Learned Representation for Artistic Style", ICLR
2017 (arXiv:1610.07629), Sec. 4.2: the network T(x, w) takes a style-weight vector w.
A one-hot w gives style s; convex weights mix the styles by mixing their conditional
instance norm parameters, γ = Σ_s w_s γ_s and β = Σ_s w_s β_s. One forward pass, any
image size (the network is fully convolutional; the photo is reflection-padded to a
multiple of 4 and cropped back). --interpolation_grid draws rows that move from each
style to the next in equal steps, the sliders of the paper's figure 7 as one picture.

On TensorFlow the pass runs through cin_inference.Stylizer: the same network with its
upsampling and last convolutions rewritten to need fewer multiply-adds (exact; float
rounding aside). Where the CPU has bfloat16 dot products (AVX512-BF16 or AMX) the
convolutions run in bfloat16, about twice as fast, at about one grey level of difference;
--precision float32 asks for the exact pass everywhere. On JAX (KERAS_BACKEND=jax) XLA
compiles the network itself, in float32; on PyTorch (KERAS_BACKEND=torch) the network
runs as PyTorch runs it, in float32.

Many images (a photo library, a video's frames): --content_dir takes a folder or a
glob and writes each result under its own name in --output_dir. Threads decode ahead
and images of one size are stylised in batches; images already done are skipped, so the same command resumes; --shard i/n lets n jobs split the list with
no coordination (style_transfer/cin_folders.py).

Example:
    python scripts/cin_stylize.py --model runs/ab/model.keras --content photo.jpg \
        --style_mix 0:0.3,1:0.7 --output mixed.png
    python scripts/cin_stylize.py --model runs/ab/model.keras --content_dir 'frames/*.png' \
        --output_dir styled/ --style_index 1 --shard 0/4
"""

import os
import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from absl import flags  # noqa: E402

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
import numpy as np  # noqa: E402

from style_transfer import cin, cin_folders, cin_inference, grid, images  # noqa: E402
from style_transfer import reporting, transfer  # noqa: E402

_MODEL = cli.input_file("model", "A network saved by cin_train.py (.keras).")
_CONTENT = cli.input_file("content", "The photo to stylise (or --content_dir).")
_CONTENT_DIR = flags.DEFINE_string("content_dir", None, "Many images: a folder, or a glob "
                                   "such as 'frames/*.png' (quote it), into --output_dir.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where --content_dir's results go, "
                                  "each under its input's name; existing ones are skipped.")
_SHARD = flags.DEFINE_string("shard", "0/1", "i/n: stylise images i, i+n, i+2n, ... of "
                             "--content_dir, so n jobs split it with no coordination.")
_BATCH_SIZE = cli.number("batch_size", 4, "Images of one size per forward pass "
                         "(--content_dir).", integer=True, low=1, high=1024)
_STYLE_INDEX = cli.number("style_index", 0, "The style to apply (0-based).", integer=True,
                          low=0, high=10 ** 6)
_STYLE_MIX = flags.DEFINE_string("style_mix", None, "Styles to mix, index:weight,... "
                                 "(e.g. 0:0.3,2:0.7); weights are normalised to sum 1.")
_SIZE = cli.number("size", None, "Longest side of the output; default: the photo's own.",
                   integer=True, low=16, high=16384)
_INTERPOLATION_GRID = cli.output_file(
    "interpolation_grid", None, "Also write a grid moving from each style to the next.")
_GRID_STEPS = cli.number("grid_steps", 5, "Columns of the interpolation grid.", integer=True,
                         low=2, high=64)
_PRECISION = flags.DEFINE_enum("precision", "auto", cin_inference.PRECISIONS,
                               "Convolutions in float32 (exact) or bfloat16 (faster on CPUs "
                               "with AVX512-BF16 or AMX; about 1 grey level off); auto: "
                               "bfloat16 where the CPU has it, else float32.")
_OUTPUT = cli.output_flags(iterative=False)
cli.group("method", "style_mix", "interpolation_grid", "precision")
cli.group("inputs", "content_dir")
cli.group("output", "output_dir", "shard")
flags.register_validator("shard", lambda text: cli.check(cin_folders.parse_shard, text))


def stylize_folder(network, weights, start_time):
    """--content_dir: every image of this shard into --output_dir, and a report there."""
    if not _OUTPUT_DIR.value:
        raise cli.ArgumentError("output_dir", "give the folder the results go to")
    if _INTERPOLATION_GRID.value:
        raise cli.ArgumentError("interpolation_grid", "draw it from one --content photo")
    shard = cin_folders.parse_shard(_SHARD.value)
    report = network.stylize_folder(
        _CONTENT_DIR.value, _OUTPUT_DIR.value, weights, shard=shard, max_size=_SIZE.value,
        batch_size=_BATCH_SIZE.value, precision=_PRECISION.value,
        progress=None if _OUTPUT["quiet"].value else "bar")
    name = "report.json" if shard[1] == 1 else f"report_{shard[0]}of{shard[1]}.json"
    path = _OUTPUT["report"].value or str(pathlib.Path(_OUTPUT_DIR.value) / name)
    if report["images"] and report["skipped_done"] == report["images"] and os.path.isfile(
            path):  # A rerun with nothing left: the run that did the work keeps its report.
        reporting.say(f"all {report['images']} images already in {_OUTPUT_DIR.value}; "
                      f"nothing to do ({path} kept)", _OUTPUT["quiet"].value)
        return 0
    reporting.write_report(path, {
        "technique": "cin_stylize", "model": _MODEL.value, "content_dir": _CONTENT_DIR.value,
        "style_weights": weights, "precision": network.stylizer(_PRECISION.value).precision,
        **report}, start_time=start_time, flags=cli.flag_values())
    rate = report["images_per_second"]
    reporting.say(f"wrote {report['written']} images to {_OUTPUT_DIR.value} "
                  f"({report['skipped_done']} already there, {report['failed']} unreadable"
                  f"{'' if rate is None else f'; {rate:.2f} images/s'}) and {path}",
                  _OUTPUT["quiet"].value)
    return cli.EXIT_INTERRUPTED if report["interrupted"] else 0


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    if (_CONTENT.value is None) == (_CONTENT_DIR.value is None):
        raise cli.ArgumentError("content", "give one photo, or --content_dir for many "
                                           "(one of the two)")
    network = cin.StyleNetwork.load(_MODEL.value)
    mixing = _STYLE_MIX.value is not None
    style = cin.parse_style_mix(_STYLE_MIX.value) if mixing else _STYLE_INDEX.value
    try:
        weights = network.style_weights(style)  # w: one-hot, or a mix of γ and β.
    except cli.ArgumentError as error:
        raise cli.ArgumentError("style_mix" if mixing else "style_index",
                                error.detail) from None
    if _CONTENT_DIR.value:
        return stylize_folder(network, weights, start_time)
    photo = images.load(_CONTENT.value, max_size=_SIZE.value)
    image = network.stylize(photo, weights, precision=_PRECISION.value)
    if _INTERPOLATION_GRID.value:  # Row s: style s to style s+1 in equal steps.
        steps = np.linspace(0.0, 1.0, _GRID_STEPS.value)
        rows = network.interpolation_rows(photo, _GRID_STEPS.value, precision=_PRECISION.value)
        picture = grid.draw_grid(
            rows, title="cin_mix: Dumoulin et al. 2017, Fig. 7 (style interpolation)",
            caption=f"model {pathlib.Path(_MODEL.value).name}; columns: weight of the next "
                    f"style", column_labels=[f"{t:.2f}" for t in steps],
            row_labels=[f"{s}->{s + 1}" for s in range(len(rows))])
        images.save(picture.astype(np.float32), _INTERPOLATION_GRID.value)
    result = transfer.Result(image, "cin_stylize", None, details={
        "model": _MODEL.value, "style_weights": weights,
        "precision": network.stylizer(_PRECISION.value).precision})
    return cli.finish(result, _OUTPUT, start_time)


def run():
    """Entry point of the installed `cin_stylize` command."""
    cli.run(main, __doc__, required=["model"])


if __name__ == "__main__":
    run()
