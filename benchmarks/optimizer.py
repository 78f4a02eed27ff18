"""The optimiser's own cost: seconds per iteration outside the loss-and-gradient
evaluation, for SciPy's L-BFGS-B and the on-device L-BFGS, with and without pixel
bounds, and the seconds each needs to reach the same loss.

On style_transfer's defaults (Gatys' recipe) at each size, on the same images, network
and starting image, each optimiser runs --iterations iterations; `optimize.Result`
times every evaluation, so the rest of each iteration's wall time is the optimiser's: the
L-BFGS update and line search logic, and the copies between the device and the host.
The target loss is the one SciPy with bounds (the suite's previous default) reaches after
--iterations; each run's seconds to reach it are read from its history.

Usage:
    python benchmarks/optimizer.py --output benchmarks/results/optimizer.json
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from benchmarks.common import image_paths, write_results  # noqa: E402
from style_transfer import cli  # noqa: E402,F401  (first: quiets TensorFlow)
from style_transfer import gatys, images, losses, optimize, transfer  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["256", "512"], "Longest sides to measure.")
_ITERATIONS = flags.DEFINE_integer("iterations", 30, "L-BFGS iterations per run.")
_WEIGHTS = flags.DEFINE_string("weights", "random", "VGG19 weights.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")

RUNS = {"scipy, bounds": ("scipy", (0.0, 255.0)), "scipy": ("scipy", None),
        "device": ("device", None), "device, bounds": ("device", (0.0, 255.0))}


def seconds_to(history, target):
    """Wall seconds (after the first evaluation) until the loss is at most `target`."""
    elapsed = 0.0
    for step in history:
        elapsed += step.seconds
        if step.losses["total"] <= target:
            return elapsed
    return None


def measure(size):
    content_path, style_path = image_paths()
    content = images.load(content_path, max_size=size)
    style = images.load(style_path, max_size=size)
    settings = gatys.StyleTransferSettings(weights=_WEIGHTS.value)
    model = settings.feature_model()
    objective = settings.objective(model)
    targets = [losses.style_target(model, style, objective.style_layers)]
    loss = transfer.loss_function(model, content, targets, objective)
    results = {}
    for name, (optimizer, bounds) in RUNS.items():
        run = optimize.minimize(loss, content, max_iterations=_ITERATIONS.value,
                                optimizer=optimizer, bounds=bounds)
        results[name] = {"seconds_outside_evaluation": run.seconds_outside_evaluation,
                         "seconds_per_evaluation": run.seconds_per_evaluation,
                         "seconds_per_iteration": run.seconds_per_iteration,
                         "evaluations": run.num_evaluations, "iterations": run.num_iterations,
                         "final_loss": run.final_losses["total"], "history": run.history}
    target = results["scipy, bounds"]["final_loss"]
    for name, figures in results.items():
        figures["seconds_to_target"] = seconds_to(figures.pop("history"), target)
        print(f"{size:>4} px {name:<14} outside the evaluation "
              f"{1000 * figures['seconds_outside_evaluation']:6.1f} ms/iteration, "
              f"{figures['seconds_per_iteration']:.3f} s/iteration, final loss "
              f"{figures['final_loss']:.5g}, to SciPy-with-bounds' final loss: "
              + (f"{figures['seconds_to_target']:.1f} s" if figures['seconds_to_target']
                 else "not reached"), flush=True)
    return {"size": size, "shape": list(content.shape[:2]), "target_loss": target,
            "runs": results}


def main(argv):
    del argv  # Unused.
    write_results(_OUTPUT.value, {"weights": _WEIGHTS.value,
                                  "iterations": _ITERATIONS.value,
                                  "sizes": [measure(int(size)) for size in _SIZES.value]})


if __name__ == "__main__":
    app.run(main)
