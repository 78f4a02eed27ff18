"""Stylise a photo with a network trained by cin_train.py: one style, or a mix of styles.

V. Dumoulin, J. Shlens, M. Kudlur, "A Learned Representation for Artistic Style", ICLR
2017 (arXiv:1610.07629), Sec. 4.2: the network T(x, w) takes a style-weight vector w.
A one-hot w gives style s; convex weights mix the styles by mixing their conditional
instance norm parameters, γ = Σ_s w_s γ_s and β = Σ_s w_s β_s. One forward pass, any
image size (the network is fully convolutional; the photo is reflection-padded to a
multiple of 4 and cropped back). --interpolation_grid draws rows that move from each
style to the next in equal steps, the sliders of the paper's figure 7 as one picture.

The pass runs through cin_inference.Stylizer: the same network with its upsampling and
last convolutions rewritten to need fewer multiply-adds (exact; float rounding aside).
Where the CPU has bfloat16 dot products (AVX512-BF16 or AMX) the convolutions run in
bfloat16, about twice as fast, at about one grey level of difference; --precision float32
asks for the exact pass everywhere.

Example:
    python scripts/cin_stylize.py --model runs/ab/model.keras --content photo.jpg \
        --style_mix 0:0.3,1:0.7 --output mixed.png
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from absl import flags  # noqa: E402

from style_transfer import cli  # noqa: E402  (first: quiets TensorFlow)
import numpy as np  # noqa: E402

from style_transfer import cin, cin_inference, grid, images, transfer  # noqa: E402

_MODEL = cli.input_file("model", "A network saved by cin_train.py (.keras).")
_CONTENT = cli.input_file("content", "The photo to stylise.")
_STYLE_INDEX = cli.number("style_index", 0, "The style to apply (0-based).", integer=True,
                          low=0, high=10 ** 6)
_STYLE_MIX = flags.DEFINE_string("style_mix", None, "Styles to mix, index:weight,... "
                                 "(e.g. 0:0.3,2:0.7); weights are normalised to sum 1.")
_SIZE = cli.number("size", None, "Longest side of the output; default: the photo's own.",
                   integer=True, low=16, high=16384)
_INTERPOLATION_GRID = flags.DEFINE_string(
    "interpolation_grid", None, "Also write a grid moving from each style to the next.")
_GRID_STEPS = cli.number("grid_steps", 5, "Columns of the interpolation grid.", integer=True,
                         low=2, high=64)
_PRECISION = flags.DEFINE_enum("precision", "auto", cin_inference.PRECISIONS,
                               "Convolutions in float32 (exact) or bfloat16 (faster on CPUs "
                               "with AVX512-BF16 or AMX; about 1 grey level off); auto: "
                               "bfloat16 where the CPU has it, else float32.")
_OUTPUT = cli.output_flags()
cli.group("method", "style_mix", "interpolation_grid", "precision")


def parse_mix(text):
    """'0:0.3,2:0.7' -> {0: 0.3, 2: 0.7} (checked against the network by StyleNetwork)."""
    mix = {}
    try:
        for part in text.split(","):
            index, weight = part.split(":")
            mix[int(index)] = float(weight)
    except ValueError:
        raise cli.ArgumentError("style_mix", f"{text}: write index:weight,... e.g. "
                                             f"0:0.3,1:0.7") from None
    return mix


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    network = cin.StyleNetwork.load(_MODEL.value)
    photo = images.load(_CONTENT.value, max_size=_SIZE.value)
    style = parse_mix(_STYLE_MIX.value) if _STYLE_MIX.value else _STYLE_INDEX.value
    try:
        weights = network.style_weights(style)  # w: one-hot, or a mix of γ and β.
    except cli.ArgumentError as error:
        raise cli.ArgumentError("style_mix" if _STYLE_MIX.value else "style_index",
                                error.detail) from None
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
    cli.run(main, __doc__, required=["model", "content"])


if __name__ == "__main__":
    run()
