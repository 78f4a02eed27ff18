"""Neural style transfer (Gatys, Ecker & Bethge), with perceptual controls.

L. A. Gatys, A. S. Ecker, M. Bethge, "A Neural Algorithm of Artistic Style", 2015,
arXiv:1508.06576; "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016.

A convolutional network trained for object recognition separates what an image shows
from how it is painted. The content of an image is its activations F^l at a deep layer;
its style is the correlations between the filter responses of several layers, the Gram
matrices G^l = F^lᵀ F^l. Starting from the content photograph (or noise), we change the
pixels x until the activations of x match the photograph p at relu4_2 and its Gram
matrices match those of the painting a at relu1_1 … relu5_1:

    L(p, a, x) = α · mean (F^l - P^l)²                          (Eqs. 1 and 7)
               + β · Σ_l w_l · mean (G^l/M_l - A^l/M_l)²          (Eqs. 3, 4, 5 and 7)
               + λ_tv · TV(x)                                    (smoothness prior)

minimised with L-BFGS over the pixels. Every term is a mean, so the objective is the same
at every size; the picture is not (the network's receptive fields are fixed in pixels),
so a stage of longest side s weighs its style by β (s/512)³. The defaults are Gatys'
own code's for the original (Caffe) VGG19, α = 1, w_l = 1/N_l² on relu1_1 … relu5_1, no
TV, max pooling, from the content image, with β = 1e2 at 512 px chosen from pictures
(docs/balance.md). The ratio α/β sets how much of the photograph survives.

Controls from Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer",
CVPR 2017 (arXiv:1611.07865): several styles with blend weights b_s (the style term
becomes Σ_s b_s L_style(a_s)); colour preservation (Sec. 5); coarse-to-fine
optimisation for large outputs (Sec. 6); and the style scale of jcjohnson/neural-style.

Example:
    python scripts/style_transfer.py --content samples/content/chelsea.jpg \
        --style samples/style/swirls.jpg --output out.png --size 256 --iterations 300
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from absl import flags  # noqa: E402

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import gatys, memory  # noqa: E402

_CONTENT = cli.input_file("content", "Content image p (Gatys et al. 2016, Sec. 2).")
_STYLE = cli.input_files("style", "Style image(s) a, comma-separated (blended with "
                         "--style_blend_weights).")
_SETTINGS = cli.settings_flags(gatys.StyleTransferSettings)
_ESTIMATE = flags.DEFINE_bool("estimate", False, "Print the predicted peak memory and "
                              "seconds per iteration at each size, then exit.")
_OUTPUT = cli.output_flags()


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    options = cli.values(_SETTINGS)  # α, β, λ_tv, layers, w_l, sizes, controls.
    if _ESTIMATE.value:  # Memory and time per size, from two small calibration passes.
        for prediction in gatys.estimate(_CONTENT.value, **options):
            print(memory.describe(prediction), flush=True)
        return 0
    result = gatys.style_transfer(_CONTENT.value, _STYLE.value, progress=cli.progress(_OUTPUT),
                                  **options)
    return cli.finish(result, _OUTPUT, start_time)


def run():
    """Entry point of the installed `style_transfer` command."""
    cli.run(main, __doc__, required=["content", "style"])


if __name__ == "__main__":
    run()
