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

from style_transfer import cin, cin_inference, cli, grid, images  # noqa: E402  (first: quiets TF)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

_MODEL = flags.DEFINE_string("model", None, "A network saved by cin_train.py (.keras).")
_STYLE_INDEX = flags.DEFINE_integer("style_index", None, "The style to apply (0-based).",
                                    lower_bound=0)
_STYLE_MIX = flags.DEFINE_string("style_mix", None, "Styles to mix, index:weight,... "
                                 "(e.g. 0:0.3,2:0.7); weights are normalised to sum 1.")
_INTERPOLATION_GRID = flags.DEFINE_string(
    "interpolation_grid", None, "Also write a grid moving from each style to the next.")
_GRID_STEPS = flags.DEFINE_integer("grid_steps", 5, "Columns of the interpolation grid.",
                                   lower_bound=2)
_PRECISION = flags.DEFINE_enum("precision", "auto", cin_inference.PRECISIONS,
                               "Convolutions in float32 (exact) or bfloat16 (faster on CPUs "
                               "with AVX512-BF16 or AMX; about 1 grey level off); auto: "
                               "bfloat16 where the CPU has it, else float32.")
flags.register_validator("model", lambda path: path is None or pathlib.Path(path).is_file(),
                         "--model: no such file; give the model.keras that cin_train wrote")


def parse_mix(text, num_styles):
    """'0:0.3,2:0.7' -> {0: 0.3, 2: 0.7}, checked against the network's styles."""
    mix = {}
    try:
        for part in text.split(","):
            index, weight = part.split(":")
            mix[int(index)] = float(weight)
    except ValueError:
        raise ValueError(f"--style_mix {text}: write index:weight,... e.g. 0:0.3,1:0.7") from None
    if any(i < 0 or i >= num_styles for i in mix) or min(mix.values()) < 0 or not sum(
            mix.values()) > 0:
        raise ValueError(f"--style_mix {text}: the network has styles 0 to {num_styles - 1}; "
                         f"give weights >= 0, not all 0")
    return mix


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    try:
        network = keras.models.load_model(_MODEL.value)
    except Exception as error:  # Keras raises several types for a bad file.
        raise ValueError(f"--model {_MODEL.value}: not a network saved by cin_train "
                         f"({str(error).splitlines()[0] if str(error) else error})") from None
    num_styles = network.inputs[1].shape[-1]
    photo = images.load(cli.CONTENT.value, max_size=cli.SIZE.value)
    if _STYLE_MIX.value:
        mix = parse_mix(_STYLE_MIX.value, num_styles)
    else:
        index = _STYLE_INDEX.value or 0
        if index >= num_styles:
            raise ValueError(f"--style_index {index}: the network has styles 0 to "
                             f"{num_styles - 1}")
        mix = {index: 1.0}
    stylizer = cin_inference.Stylizer(network, _PRECISION.value)
    image = cin_inference.stylize_image(stylizer, photo, cin.style_weights(num_styles, mix))

    if _INTERPOLATION_GRID.value:  # Row s: style s to style s+1 in equal steps.
        steps = np.linspace(0.0, 1.0, _GRID_STEPS.value)
        rows = cin_inference.interpolation_rows(stylizer, photo, _GRID_STEPS.value)
        picture = grid.draw_grid(
            rows, title="cin_mix: Dumoulin et al. 2017, Fig. 7 (style interpolation)",
            caption=f"model {pathlib.Path(_MODEL.value).name}; columns: weight of the next "
                    f"style", column_labels=[f"{t:.2f}" for t in steps],
            row_labels=[f"{s}->{s + 1}" for s in range(len(rows))])
        images.save(picture.astype(np.float32), _INTERPOLATION_GRID.value)
    return cli.finish(image, [], None, start_time, extra={
        "model": _MODEL.value, "style_weights": cin.style_weights(num_styles, mix),
        "precision": stylizer.precision})


def run():
    """Entry point of the installed `cin_stylize` command."""
    cli.run(main, required=["model", "content"])


if __name__ == "__main__":
    run()
