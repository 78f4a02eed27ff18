"""Train one feed-forward network on N styles with conditional instance normalisation.

V. Dumoulin, J. Shlens, M. Kudlur, "A Learned Representation for Artistic Style", ICLR
2017 (arXiv:1610.07629). A transformer network T(x, s) maps a photo x to its stylisation
in style s in one forward pass. All styles share every convolution; style s owns only
the (γ_s, β_s) of each conditional instance norm (style_transfer/cin.py). Training
minimises the perceptual loss of Johnson et al. 2016 (arXiv:1603.08155), i.e. the Gatys
objective of this suite on the network's output, over random crops of your photos:

    min_T  E_{x, s} [ α L_content(T(x, s), x) + β L_style(T(x, s), a_s) + λ_tv TV ]

with Adam; each batch trains one style, drawn at random. The defaults are Magenta's
image_stylization objective on this network: content weight 1 at relu3_4, style weight
1e-4 at relu1_2, relu2_2, relu3_4 and relu4_4, average pooling, learning rate 1e-3
(style_transfer/cin.py). Checkpoints are written every --checkpoint_every steps (the
network in the .keras format, the optimizer's state and the step count); run the same
command again to resume from the latest one, under any --strategy.

Several devices and machines (synchronous data parallelism: TensorFlow's tf.distribute,
or keras.distribution on JAX): --batch_size is the global batch, split over the
replicas, whose gradients are summed before every update, so a step is the one-device
step on the same photos. --strategy mirrored uses the local GPUs; multi_worker
(TensorFlow) runs one process per machine, each given the cluster in TF_CONFIG; auto
picks (style_transfer/distribute.py). Only the chief writes. KERAS_BACKEND=jax trains
with JAX, KERAS_BACKEND=torch with PyTorch on one device; checkpoints resume on any
backend.

Example:
    python scripts/cin_train.py --style a.jpg,b.jpg --content_dir photos/ \
        --checkpoint_dir runs/ab --steps 4000
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from absl import flags  # noqa: E402

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import cin, reporting  # noqa: E402

_STYLE = cli.input_files("style", "Style images a_s, comma-separated: one per style.")
_CONTENT_DIR = flags.DEFINE_string("content_dir", None, "A folder of photos to train on.")
_CHECKPOINT_DIR = flags.DEFINE_string("checkpoint_dir", "cin_checkpoints",
                                      "Where checkpoints, the model and the report go.")
_SETTINGS = cli.settings_flags(cin.CINSettings)
_REPORT = cli.report_flag("JSON run report; default: CHECKPOINT_DIR/report.json.")
_QUIET = cli.quiet_flag()
cli.group("inputs", "content_dir")
cli.group("output", "checkpoint_dir")


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    # The style targets, the network (new or resumed), then Adam over random crops.
    network, report = cin.StyleNetwork.train(
        _STYLE.value, _CONTENT_DIR.value, _CHECKPOINT_DIR.value,
        progress=None if _QUIET.value else "bar", **cli.values(_SETTINGS))
    if report["chief"]:  # Of several workers, only the chief writes.
        path = report_path()
        reporting.write_report(path, report, start_time=start_time, flags=cli.flag_values())
        rate = report["images_per_second"]
        reporting.say(f"wrote {report['model']} and {path} (step {report['steps']}, "
                      f"{report['replicas']} replica(s), "
                      f"{'-' if rate is None else f'{rate:.2f}'} images/s)", _QUIET.value)
    return cli.EXIT_INTERRUPTED if report["interrupted"] else 0


def report_path():
    return _REPORT.value or str(pathlib.Path(_CHECKPOINT_DIR.value) / "report.json")


def run():
    """Entry point of the installed `cin_train` command."""
    cli.run(main, __doc__, required=["style", "content_dir"], details=report_path)


if __name__ == "__main__":
    run()
