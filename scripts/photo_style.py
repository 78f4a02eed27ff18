"""Deep photo style transfer: a photograph's colours and tones, without painterly distortion.

F. Luan, S. Paris, E. Shechtman, K. Bala, "Deep Photo Style Transfer", CVPR 2017,
arXiv:1703.07511. The output O must stay a photograph of the content scene: only its
colours and tones may come from the style photograph. Two additions to Gatys et al.:

1. Photorealism regularisation (Sec. 3.1, Eq. 2): locally, the output must be an affine
   function of the content's colours. With the Matting Laplacian L of the content image
   (Levin et al. 2008; 3x3 windows, ε = 1e-7), this is the penalty
       L_m = Σ_c V_c[O]ᵀ L V_c[O]        (O in [0, 1], c the colour channels)
   computed with sparse products beside TensorFlow's gradient at every evaluation.
2. Augmented style loss (Sec. 3.2, Eq. 3): colour-coded segmentations of both photos
   (the deep-photo palette: blue, green, black, white, red, yellow, grey, light blue,
   purple) pair the regions; each region's Gram matrices are measured inside it and
   normalised by its size, as in region_style.py.

    L = α L_content + β Σ_k L_style,k + λ_tv TV + λ L_m

Procedure (Sec. 4): half of --iterations without L_m, from the content image, then the
rest with it, from that result. The defaults reproduce the objective of Luan et al.'s
code on this network: α = 5, β = 1e2 with w_l = 1/N_l², each region weighted by its
share of the output, λ = 1e4, and its total variation (style_transfer/photo.py).

--smooth (optional post-processing): refit the result as local affine functions of the
content's colours with He et al.'s guided filter (`matting.guided_filter`, windows of
radius --smooth_radius, regularised by --smooth_epsilon), which removes what L_m left
that is not a local recolouring of the content.

Example:
    python scripts/photo_style.py --content in.jpg --style tar.jpg \
        --content_seg in_seg.png --style_seg tar_seg.png --output out.png --size 512
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import photo  # noqa: E402

_CONTENT = cli.input_file("content", "The content photograph.")
_STYLE = cli.input_file("style", "The style photograph.")
_CONTENT_SEG = cli.input_file("content_seg", "Colour-coded segmentation of --content.")
_STYLE_SEG = cli.input_file("style_seg", "Colour-coded segmentation of --style.")
_SETTINGS = cli.settings_flags(photo.PhotoSettings)
_OUTPUT = cli.output_flags()


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    # Segments paired (Eq. 3); half the iterations without L_m, then with it (Sec. 4).
    result = photo.photo_style(_CONTENT.value, _STYLE.value, _CONTENT_SEG.value,
                               _STYLE_SEG.value, progress=cli.progress(_OUTPUT),
                               **cli.values(_SETTINGS))
    return cli.finish(result, _OUTPUT, start_time)


def run():
    """Entry point of the installed `photo_style` command."""
    cli.run(main, __doc__, required=["content", "style"])


if __name__ == "__main__":
    run()
