"""Progress while a technique runs, and the JSON run report afterwards.

Progress reaches the caller through a callback, `progress(step, stage, num_iterations)`,
called after the initial evaluation and after every L-BFGS iteration with an
`optimize.Iteration` (losses, evaluations, seconds, the image). The library's default,
`progress="bar"`, shows a `keras.utils.Progbar`; the command line prints a line every N
iterations and saves checkpoints (`ProgressLines`). The run report (`write_report`) is
one JSON file with everything needed to run again and to compare runs.
"""

import dataclasses
import importlib
import pathlib
import platform
import resource
import sys
import time

from style_transfer import files, images
from style_transfer.parameters import ArgumentError, parameter


def stage_callback(progress, stage, num_iterations):
    """The per-iteration callback for one stage of a run, from a technique's `progress`.

    Args:
        progress: "bar" (a Keras progress bar), None (silent), or a callable
            `progress(step, stage, num_iterations)`.
        stage: the stage's name ("512px" in a coarse-to-fine run), or None.
        num_iterations: the stage's iterations.
    """
    if progress is None or progress is False:
        return None
    if isinstance(progress, str) and progress == "bar":
        return _progress_bar(stage, num_iterations)
    if callable(progress):
        return lambda step: progress(step, stage, num_iterations)
    raise ArgumentError("progress", f"{progress!r}: give 'bar', None or a function "
                                    f"progress(step, stage, num_iterations)")


def note(progress, message):
    """Passes a one-line note (regions found, a warning) to the caller's progress: printed
    with the progress bar, handed to a progress object's `note` method, else dropped."""
    if isinstance(progress, str) and progress == "bar":
        print(message, flush=True)
    elif hasattr(progress, "note"):
        progress.note(message)


def progress_bar(total, metrics):
    """The progress bar of every "bar" progress (stages, training, folders): Keras' bar on a
    terminal or in a notebook; in a log or a pipe, plain lines with no control characters,
    one every tenth of the way.

    Returns:
        `update(done, values)`, values a list of (name, number) shown as they are now.
    """
    if sys.stdout.isatty() or "ipykernel" in sys.modules:
        import keras  # Only where a bar is shown: the report writer stays light.
        return keras.utils.Progbar(total, stateful_metrics=list(metrics)).update
    shown = []

    def update(done, values=()):
        if done == total or not shown or done - shown[-1] >= total / 10:
            shown.append(done)
            print(f"{done}/{total}  " + "  ".join(f"{name} {value:.4g}"
                                                   for name, value in values), flush=True)
    return update


def _progress_bar(stage, num_iterations):
    bars = []

    def callback(step):
        if not bars:  # The loss terms, shown as they are now (not averaged).
            if stage:
                print(stage, flush=True)
            bars.append(progress_bar(num_iterations, step.losses))
        if step.iteration:  # Total first, as in the progress lines.
            bars[0](step.iteration, sorted(step.losses.items(), key=lambda n: n[0] != "total"))
    return callback


def format_losses(losses):
    """'total 1.23e+09  content 4.5e+08 ...': every term, total first."""
    names = ["total"] + [name for name in losses if name != "total"]
    return "  ".join(f"{name} {losses[name]:.4g}" for name in names)


def checkpoint_path(output, iteration, stage=None):
    """out.png -> out_0042.png, or out_512px_0042.png for a stage named "512px"."""
    output = pathlib.Path(output)
    tag = f"_{stage}" if stage else ""
    return output.with_name(f"{output.stem}{tag}_{iteration:04d}{output.suffix}")


class ProgressLines:
    """The command line's progress: a line every `print_every` iterations (iteration,
    every loss term, seconds per iteration since the last line), and the image saved every
    `checkpoint_every` iterations beside `output` (0: never)."""

    def __init__(self, print_every, checkpoint_every, output, quiet):
        self.print_every, self.checkpoint_every = print_every, checkpoint_every
        self.output, self.quiet = output, quiet
        self.window = []

    def note(self, message):
        say(message, self.quiet)

    def __call__(self, step, stage, num_iterations):
        if step.iteration == 0:
            self.window.clear()
        else:
            self.window.append(step.seconds)
        if step.iteration % self.print_every == 0 or step.iteration == num_iterations:
            speed = (f"  {sum(self.window) / len(self.window):.3f} s/it" if self.window
                     else "")
            where = f"{stage}: " if stage else ""  # Which stage, and its size.
            say(f"{where}iteration {step.iteration:>5}/{num_iterations}  "
                f"{format_losses(step.losses)}{speed}", self.quiet)
            self.window.clear()
        if self.checkpoint_every and step.iteration and (
                step.iteration % self.checkpoint_every == 0):
            images.save(step.image, checkpoint_path(self.output, step.iteration, stage))


def say(message, quiet=False):
    """Prints a progress or summary line unless quiet."""
    if not quiet:
        print(message, flush=True)


def versions():
    """The versions of this package and of what it runs on."""
    import keras
    import numpy
    import PIL
    import scipy
    import style_transfer
    backend = keras.backend.backend()
    return {"style_transfer": style_transfer.__version__,
            "python": platform.python_version(),
            backend: importlib.import_module(backend).__version__,
            "keras": keras.__version__, "keras_backend": backend,
            "numpy": numpy.__version__, "scipy": scipy.__version__,
            "pillow": PIL.__version__}


def peak_memory_mb():
    """Peak resident memory of this process in MiB (ru_maxrss: KiB on Linux, B on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def write_report(path, fields, *, start_time, flags=None):
    """Writes the JSON run report atomically: `fields` (a technique's
    `Result.to_json()`, or a trainer's figures) with the command, the flags, the
    library versions, the wall time and the peak memory.

    Args:
        path: the .json file.
        fields: the run's own figures.
        start_time: `time.time()` at the start of the run.
        flags: the command line's flag values, or None from Python.
    """
    report = {"command": [sys.executable] + sys.argv, "flags": flags,
              "versions": versions(), **fields,
              "wall_seconds": time.time() - start_time,
              "peak_memory_mb": peak_memory_mb()}
    files.write_json(path, report)


def finish_run(result, output, report, quiet, start_time, flags):
    """The end of a command's run: the result's image and its report written
    (atomically), and one line saying so (with why the optimisation stopped)."""
    result.save(output)
    write_report(report, {**result.to_json(), "output": str(output)},
                 start_time=start_time, flags=flags)
    done = f"wrote {output} and {report}"
    if result.stages:
        last = result.stages[-1].result
        done += f" ({last.stop_reason}; {last.seconds_per_iteration:.3f} s/it)"
    say(done, quiet)


def write_error_details(error, details, places):
    """Writes an internal error's traceback `details` as JSON to the first of `places`
    whose folder exists and can be written; returns that path, or "stderr" where none
    could be (no folder is made for it: the run failed)."""
    for path in places:
        if not pathlib.Path(path).parent.is_dir():
            continue
        try:
            files.write_json(path, {"command": [sys.executable] + sys.argv,
                                    "error": f"{type(error).__name__}: {error}",
                                    "traceback": details, "time": time.time()})
            return str(path)
        except Exception:  # Not writable there: try the next place.
            continue
    return "stderr"


@dataclasses.dataclass(frozen=True)
class ProgressSettings:
    """What an optimisation prints and saves as it goes (the command line's flags)."""
    print_every: int = parameter(
        10, "Print a progress line every N iterations.", low=1, group="output")
    checkpoint_every: int = parameter(
        0, "Save the image every N iterations as OUTPUT_NNNN.ext (OUTPUT_512px_NNNN.ext "
        "per stage of a coarse-to-fine run); 0: never.", low=0, group="output")
