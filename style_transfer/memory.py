"""Predicting a run's peak memory and speed before it starts.

Running out of memory at 800-1000 px is the most common complaint about the classic
tools, and none of them says so beforehand. The prediction here has three parts:

    peak(H, W) = resident memory now (runtime, network weights)
               + a + b · E(H, W)          one loss-and-gradient evaluation
               + L-BFGS's state           n = 3 H W values per vector

E(H, W) is the number of activations the truncated VGG19 produces for an H x W image,
counted from its layer shapes. The backward pass keeps every activation and TensorFlow
adds buffers in proportion, so the working memory of an evaluation is affine in E; a
and b are measured by two short calibration evaluations at small sizes. SciPy's
L-BFGS-B (optimizer "scipy") keeps a workspace of (2m + 5) n + O(m²) float64 for
m = `NUM_CORRECTIONS` stored pairs, plus about 8 more float64 vectors of length n
(bounds, the iterate and the gradient, and our copies of them): 8 (2m + 13) n bytes.
The device L-BFGS (optimizer "device") keeps its pairs as 2m float32 vectors; around them,
its peak holds about 50 more (the gradient, the iterate, the trial point and its
gradient, the direction, a new pair, and the buffers TensorFlow's allocator keeps for
them between calls): 4 (2m + 50) n bytes, a count measured at 256, 512 and 1024 px
(benchmarks/results/memory.json), not derived.
Seconds per evaluation scale with E from the
larger calibration run; an L-BFGS iteration costs `EVALUATIONS_PER_ITERATION` of them.

Peak memory is read from Linux's VmHWM after resetting it (`/proc/self/clear_refs`);
elsewhere only the process-wide peak is known, and the prediction is rougher.
"""

import os
import pathlib
import time
import weakref

import keras
import numpy as np

from style_transfer import images, optimize, losses
from style_transfer.parameters import ArgumentError

CALIBRATION_SIZES = (96, 192)  # Longest sides: small enough to cost about a second.
# Measured by benchmarks/iteration.py on these 2-core machines: 1.1 to 1.2.
EVALUATIONS_PER_ITERATION = 1.15
LBFGS_VECTORS_PER_CORRECTION = 2  # s and y.
# Vectors of length n besides the pairs: (bytes per value, how many).
LBFGS_OTHER_VECTORS = {
    "scipy": (8, 13),  # SciPy's 5 work vectors, bounds (2), x, g, our copies (4).
    "device": (4, 50),  # Measured (module docstring): the vectors and the allocator's buffers.
}
_GB = 1 << 30


def activation_count(model, height, width):
    """Number of values the model's layers output for one (height, width) image."""
    total, channels = 0, 3
    for layer in model.layers[1:]:
        if isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            height, width = height // 2, width // 2
        elif isinstance(layer, keras.layers.Conv2D):
            channels = layer.filters
        total += height * width * channels
    return total


def lbfgs_bytes(height, width, optimizer="device"):
    """Memory of the optimiser's state for an (height, width, 3) image (`optimize.
    OPTIMIZERS`; see the module docstring)."""
    n = 3 * height * width
    m = optimize.NUM_CORRECTIONS
    value_bytes, others = LBFGS_OTHER_VECTORS[optimize.canonical_optimizer(optimizer)]
    return value_bytes * ((LBFGS_VECTORS_PER_CORRECTION * m + others) * n
                          + 11 * m * m + 8 * m)


def _resident_bytes():
    """Resident memory now (Linux /proc; elsewhere the peak, an upper bound)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak():
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")  # Resets VmHWM (Linux 4.0+).
    except OSError:
        pass


def _peak_bytes():
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return _resident_bytes()


_CALIBRATIONS = weakref.WeakKeyDictionary()  # model -> {aspect ratio: calibration}


def calibrate(model, aspect_shape):
    """Runs two small evaluations; returns (resident, a, b, seconds per activation).

    The calibration loss touches every output like the real one (sum of squares, Gram
    matrices), so its graph keeps the same activations for the backward pass. It is
    measured once per model and aspect ratio.
    """
    aspect = round(aspect_shape[0] / aspect_shape[1], 3)
    found = _CALIBRATIONS.setdefault(model, {})
    if aspect not in found:
        found[aspect] = _measure(model, aspect_shape)
    return found[aspect]


def _measure(model, aspect_shape):
    def loss(image):
        features = losses.features_of(model, image)
        total = sum(keras.ops.sum(keras.ops.square(f)) for f in features.values())
        total += sum(keras.ops.sum(losses.gram_matrix(f)) for f in features.values())
        return {"total": total}

    resident = _resident_bytes()
    measured = []
    for size in CALIBRATION_SIZES:
        height, width = images.scaled_shape(*aspect_shape[:2], size)
        function = optimize.loss_and_gradient_function(loss, (height, width, 3))
        image = keras.ops.convert_to_tensor(
            np.random.default_rng(0).uniform(0, 255, (height, width, 3)), "float32")
        _reset_peak()
        function(image)  # Traces, then runs once.
        start = time.perf_counter()
        keras.ops.convert_to_numpy(function(image)[1])
        seconds = time.perf_counter() - start
        measured.append((activation_count(model, height, width), _peak_bytes(), seconds))
    (count_a, peak_a, _), (count_b, peak_b, seconds_b) = measured
    slope = max(peak_b - peak_a, 0) / (count_b - count_a)
    intercept = peak_a - resident - slope * count_a
    return resident, intercept, slope, seconds_b / count_b


def predict(model, content_shape, sizes, optimizer="device"):
    """Predicted peak memory and seconds per iteration for each size of a run.

    Args:
        model: the run's feature model.
        content_shape: (H, W, ...) of the content image (for the aspect ratio).
        sizes: longest sides the run optimises at.
        optimizer: the run's optimiser (`optimize.OPTIMIZERS`).

    Returns:
        list of dicts: size, shape [H, W], peak_gb, seconds_per_iteration.
    """
    resident, intercept, slope, seconds_per_activation = calibrate(model, content_shape)
    predictions = []
    for size in sizes:
        height, width = images.scaled_shape(*content_shape[:2], size)
        count = activation_count(model, height, width)
        peak = resident + intercept + slope * count + lbfgs_bytes(height, width, optimizer)
        predictions.append({
            "size": size, "shape": [height, width], "peak_gb": peak / _GB,
            "seconds_per_iteration": EVALUATIONS_PER_ITERATION * seconds_per_activation
            * count})
    return predictions


def describe(prediction):
    """'predicted at 512 px (512x384): peak memory 1.43 GB, 2.43 s per iteration'."""
    height, width = prediction["shape"]
    return (f"predicted at {prediction['size']} px ({width}x{height}): peak memory "
            f"{prediction['peak_gb']:.2f} GB, {prediction['seconds_per_iteration']:.2f} s "
            f"per iteration")


def refuse_if_too_large(predictions, max_memory_gb):
    """Refuses a run predicted not to fit in memory.

    Args:
        predictions: from `predict`.
        max_memory_gb: the limit; None means what this process holds plus what the
            system has available now.

    Raises:
        ArgumentError: the largest size is predicted to need more than the limit.
    """
    if max_memory_gb is None:
        available = images.available_bytes()
        if available is None:
            return
        max_memory_gb = (available + _resident_bytes()) / _GB
    worst = max(predictions, key=lambda p: p["peak_gb"])
    if worst["peak_gb"] > max_memory_gb:
        raise ArgumentError(
            "max_memory_gb", f"a {worst['size']} px run is predicted to need "
            f"{worst['peak_gb']:.1f} GB but the limit is {max_memory_gb:.1f} GB (default: the "
            f"memory available now); use a smaller size, or scales ending at a smaller size")
