"""The bridge from a TensorFlow loss to SciPy's L-BFGS-B, the optimiser of Gatys et al.

L-BFGS-B: Byrd, Lu, Nocedal & Zhu, "A Limited Memory Algorithm for Bound Constrained
Optimization", SIAM J. Sci. Comput. 16(5), 1995. Bounds keep every pixel in [0, 255].

One `tf.function` computes the loss terms and the gradient with respect to the image
(`GradientTape`); SciPy sees float64 vectors at the boundary. Everything a loss needs
(targets, the model) is captured by the loss function, built before the loop: nothing is
recomputed per evaluation but the forward and backward pass itself.

Two pitfalls of the usual scipy-based scripts are avoided here:
- SciPy's default `ftol`/`gtol` stop long before the image converges on this loss
  (its scale is ~1e9), so both are 0: the run makes the requested number of
  iterations unless the line search itself fails, and the stop reason is reported.
- Restarting `minimize` every few iterations (to save checkpoints) throws away the
  curvature memory; here one `minimize` call runs to the end and a callback reports
  progress and saves checkpoints.
"""

import dataclasses
import time

import numpy as np
import scipy.optimize
import tensorflow as tf

# Curvature pairs kept by L-BFGS (SciPy's default). Each costs two float64 copies of the
# image: 12 MB at 512x512, so 10 pairs are 240 MB.
NUM_CORRECTIONS = 10
# A run whose line searches take more than this many evaluations per iteration on
# average is stopped (and says so) rather than running on without progress.
MAX_EVALUATIONS_PER_ITERATION = 20


@dataclasses.dataclass
class Iteration:
    """One L-BFGS iteration, as the callback and the history see it.

    Attributes:
        iteration: 0 for the initial image, then 1, 2, ...
        losses: term name -> float (always has "total").
        num_evaluations: loss-and-gradient evaluations so far.
        seconds: wall time of this iteration (0 for iteration 0).
        image: (H, W, 3) float32 image after this iteration (a fresh array).
    """
    iteration: int
    losses: dict
    num_evaluations: int
    seconds: float
    image: np.ndarray

    def to_json(self):
        return {"iteration": self.iteration, "losses": self.losses,
                "num_evaluations": self.num_evaluations, "seconds": self.seconds}


@dataclasses.dataclass
class Result:
    """What `lbfgs` returns.

    Attributes:
        image: (H, W, 3) float32, the last accepted iterate (never a rejected trial point).
        history: list of `Iteration` (images dropped), starting with iteration 0.
        num_iterations: L-BFGS iterations made.
        num_evaluations: loss-and-gradient evaluations made.
        stop_reason: SciPy's message, or "interrupted" after Ctrl-C.
        interrupted: True when the run was stopped by Ctrl-C.
        seconds_per_evaluation: mean wall time of one evaluation (after compilation).
        compile_seconds: time to trace and run the first evaluation.
        seconds_outside_evaluation: wall time per iteration spent outside the loss-and-
            gradient evaluations: the optimiser itself and the copies to and from it.
    """
    image: np.ndarray
    history: list
    num_iterations: int
    num_evaluations: int
    stop_reason: str
    interrupted: bool
    seconds_per_evaluation: float
    compile_seconds: float
    seconds_outside_evaluation: float = 0.0

    @property
    def seconds_per_iteration(self):
        times = [step.seconds for step in self.history[1:]]
        return float(np.mean(times)) if times else 0.0

    @property
    def final_losses(self):
        return self.history[-1].losses


def loss_and_gradient_function(loss_fn, shape):
    """Compiles `loss_fn` into one graph that returns its terms and d(total)/d(image).

    Args:
        loss_fn: image tensor (shape, float32) -> dict of scalar terms with "total".
        shape: the image's shape.

    Returns:
        A function float32 tensor -> (terms dict of scalar tensors, gradient tensor).
    """
    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)])
    def loss_and_gradient(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = loss_fn(image)
        terms = {name: tf.convert_to_tensor(value, tf.float32)
                 for name, value in terms.items()}
        return terms, tape.gradient(terms["total"], image)

    return loss_and_gradient


def lbfgs(loss_fn, init_image, *, max_iterations, bounds=(0.0, 255.0), callback=None,
          numpy_terms=None):
    """Minimises `loss_fn` over the image with one L-BFGS-B run.

    Args:
        loss_fn: (H, W, 3) float32 tensor -> dict of scalar loss terms with "total".
            Called only while tracing, so it may build any graph.
        init_image: (H, W, 3) array, the starting image (clipped into the bounds).
        max_iterations: L-BFGS iterations to make (at least 1).
        bounds: (low, high) for every pixel.
        callback: called with an `Iteration` after the initial evaluation and after
            every iteration (progress lines, checkpoints). Raising StopIteration in it
            ends the run there (SciPy's convention), e.g. once a target loss is reached.
        numpy_terms: optional function (H, W, 3) float64 image -> (dict of named loss
            values, (H, W, 3) gradient), for terms computed outside TensorFlow (e.g.
            sparse products with SciPy); added to the total and its gradient at every
            evaluation.

    Returns:
        `Result`. On Ctrl-C the run stops, and the result holds the last accepted image
        with `interrupted=True`, so the caller can save it.
    """
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be at least 1, got {max_iterations}")
    shape = tuple(np.shape(init_image))
    loss_and_gradient = loss_and_gradient_function(loss_fn, shape)
    evaluation_seconds = []
    last = {}  # The latest evaluation: SciPy's accepted point is its latest evaluation.

    def evaluate(x):
        if "x" in last and np.array_equal(x, last["x"]):
            return last["total"], last["gradient"]
        start = time.perf_counter()
        terms, gradient = loss_and_gradient(tf.constant(x.reshape(shape), tf.float32))
        losses = {name: float(value) for name, value in terms.items()}
        gradient = gradient.numpy().astype(np.float64).ravel()
        if numpy_terms is not None:
            extra_losses, extra_gradient = numpy_terms(x.reshape(shape))
            losses.update(extra_losses)
            losses["total"] += sum(extra_losses.values())
            gradient += np.ravel(extra_gradient)
        evaluation_seconds.append(time.perf_counter() - start)
        last.update(x=x.copy(), losses=losses, total=losses["total"], gradient=gradient)
        return losses["total"], gradient

    x0 = np.clip(np.asarray(init_image, np.float64), *bounds).ravel()
    evaluate(x0)  # Traces and compiles the graph; timed apart from the others.
    state = {"x": x0, "tick": time.perf_counter()}
    history = []

    def record(x):
        if not np.array_equal(x, last["x"]):  # Not expected from SciPy; stay correct.
            evaluate(x)
        now = time.perf_counter()
        step = Iteration(iteration=len(history), losses=dict(last["losses"]),
                         num_evaluations=len(evaluation_seconds),
                         seconds=now - state["tick"] if history else 0.0,
                         image=x.reshape(shape).astype(np.float32))
        state.update(x=x.copy(), tick=now)
        history.append(step)
        if callback is not None:
            callback(step)
        step.image = None  # The history keeps numbers, not one image per iteration.

    record(x0)
    state["tick"] = loop_start = time.perf_counter()
    interrupted = False
    try:
        result = scipy.optimize.minimize(
            evaluate, x0, jac=True, method="L-BFGS-B",
            bounds=scipy.optimize.Bounds(*bounds),
            callback=lambda intermediate_result: record(intermediate_result.x),
            options={"maxiter": max_iterations,
                     "maxfun": MAX_EVALUATIONS_PER_ITERATION * max_iterations,
                     "maxcor": NUM_CORRECTIONS, "ftol": 0.0, "gtol": 0.0})
        stop_reason = str(result.message)
    except KeyboardInterrupt:
        interrupted, stop_reason = True, "interrupted"
    loop_seconds = time.perf_counter() - loop_start
    return Result(
        image=state["x"].reshape(shape).astype(np.float32),
        history=history,
        num_iterations=len(history) - 1,
        num_evaluations=len(evaluation_seconds),
        stop_reason=stop_reason,
        interrupted=interrupted,
        seconds_per_evaluation=float(np.mean(evaluation_seconds[1:] or evaluation_seconds)),
        compile_seconds=evaluation_seconds[0],
        seconds_outside_evaluation=(loop_seconds - sum(evaluation_seconds[1:]))
        / max(len(history) - 1, 1))


OPTIMIZERS = ("scipy",)


def minimize(loss_fn, init_image, *, max_iterations, optimizer="scipy", bounds=(0.0, 255.0),
             callback=None, numpy_terms=None):
    """Minimises `loss_fn` over the image with the chosen L-BFGS (arguments as `lbfgs`).

    Args:
        optimizer: "scipy" (SciPy's L-BFGS-B, `lbfgs`).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer {optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
    return lbfgs(loss_fn, init_image, max_iterations=max_iterations, bounds=bounds,
                 callback=callback, numpy_terms=numpy_terms)


def descent_step(optimizer, loss_fn, variables):
    """One step of a Keras optimizer on `loss_fn()` (for networks trained with fit).

    Args:
        optimizer: a `keras.optimizers.Optimizer`.
        loss_fn: () -> scalar loss, evaluated under the tape.
        variables: the variables to update.

    Returns:
        The loss before the step.
    """
    with tf.GradientTape() as tape:
        loss = loss_fn()
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss
