"""Mix the styles of a network trained by cin_train.py live, on a local page.

V. Dumoulin, J. Shlens, M. Kudlur, "A Learned Representation for Artistic Style", ICLR
2017 (arXiv:1610.07629), Sec. 4.2: T(x, w) with a convex style-weight vector w mixes the
styles' instance-norm parameters, γ = Σ_s w_s γ_s and β = Σ_s w_s β_s. The page has one
slider per style; the values v_s are normalised, w_s = v_s / Σ_t v_t, and shown as
percentages. A small preview follows the sliders (one forward pass at --preview_size);
"Render" stylises at --render_size and offers the PNG for download, written atomically
into --output_dir with its run report (the mix, the model's SHA-256, the sizes).

The server is Python's own (http.server), with nothing to install; it listens on
127.0.0.1 (this machine only) unless --host says otherwise. The page loads nothing from
the internet. See style_transfer/mixing_page.py for the endpoints and the limits.

Example:
    python scripts/cin_serve.py --model runs/ab/model.keras --content_dir photos/
    # then open http://127.0.0.1:8000/ ; Ctrl-C stops it.
"""

import pathlib
import sys

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from absl import flags  # noqa: E402

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import cin, cin_inference, mixing_page, reporting, vgg  # noqa: E402

_MODEL = cli.input_file("model", "A network saved by cin_train.py (.keras).")
_CONTENT_DIR = flags.DEFINE_string("content_dir", None, "A folder (or quoted glob) of photos "
                                   "the page offers; uploads work with or without it.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "renders", "Where renders and their reports "
                                  "are written.")
_HOST = flags.DEFINE_string("host", "127.0.0.1", "Address to listen on (0.0.0.0: every "
                            "network this machine is on; anyone there can use the page).")
_PORT = cli.number("port", 8000, "Port to listen on (0: any free one).", integer=True,
                   low=0, high=65535)
_PREVIEW_SIZE = cli.number("preview_size", mixing_page.PREVIEW_SIZE, "Longest side of the "
                           "live preview, in pixels.", integer=True, low=16, high=4096)
_RENDER_SIZE = cli.number("render_size", mixing_page.RENDER_SIZE, "Longest side of a "
                          "render (0: the photo's own).", integer=True, low=0, high=16384)
_MAX_UPLOAD_MB = cli.number("max_upload_mb", mixing_page.MAX_UPLOAD_BYTES / (1 << 20),
                            "Largest upload accepted, in MiB.", low=0.01, high=4096)
_PRECISION = flags.DEFINE_enum("precision", "auto", cin_inference.PRECISIONS,
                               "Convolutions in float32 or bfloat16 (auto: bfloat16 where "
                               "the CPU multiplies it natively); see cin_stylize.")
_QUIET = cli.quiet_flag("Print nothing but refused requests and errors.")
cli.group("inputs", "content_dir")
cli.group("output", "output_dir")
cli.group("server", "host", "port", "max_upload_mb")
cli.group("method", "preview_size", "render_size", "precision")


def main(argv):
    del argv  # Unused.
    network = cin.StyleNetwork.load(_MODEL.value)
    mixer = mixing_page.StyleMixer(
        network, _MODEL.value, content_dir=_CONTENT_DIR.value, output_dir=_OUTPUT_DIR.value,
        preview_size=_PREVIEW_SIZE.value, render_size=_RENDER_SIZE.value or None,
        precision=_PRECISION.value, max_upload_bytes=int(_MAX_UPLOAD_MB.value * (1 << 20)))
    server = mixing_page.MixingServer(mixer, _HOST.value, _PORT.value)
    loss_network = vgg.get_network((network.vgg_weights or {}).get("network", "vgg19"))
    random = (f" (trained with random {loss_network.title} weights: its styles mean "
              f"nothing)" if mixer.info()["random_weights"] else "")
    reporting.say(f"style mixing page for {_MODEL.value}, {network.num_styles} styles"
                  f"{random}: open {server.url} (Ctrl-C stops it)", _QUIET.value)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        reporting.say("stopped", _QUIET.value)
    finally:
        server.server_close()
    return 0


def run():
    """Entry point of the installed `cin_serve` command."""
    cli.run(main, __doc__, required=["model"],
            details=lambda: pathlib.Path(_OUTPUT_DIR.value) / "cin_serve.json")


if __name__ == "__main__":
    run()
