"""L-BFGS over the image: SciPy's L-BFGS-B, or the same method on the device.

L-BFGS-B: Byrd, Lu, Nocedal & Zhu, "A Limited Memory Algorithm for Bound Constrained
Optimization", SIAM J. Sci. Comput. 16(5), 1995; L-BFGS: Nocedal & Wright, "Numerical
Optimization", 2nd ed., Alg. 7.4 (two-loop recursion) and 7.5.

One compiled function computes the loss terms and the gradient with respect to the image
(`backend.loss_and_gradient_function`). Everything a loss needs (targets, the model) is
captured by the loss function, built before the loop: nothing is recomputed per
evaluation but the forward and backward pass itself.

- `optimizer="scipy"` (`lbfgs`): SciPy's L-BFGS-B. SciPy sees float64 vectors on the host:
  every evaluation copies the image and its gradient between the device and the host,
  and L-BFGS-B's own work (50 ms an iteration at 512 px, 220 ms with bounds:
  benchmarks/results/optimizer.json) runs on one CPU core.
- `optimizer="device"` (`lbfgs_device`; "tf", its old name, still works): L-BFGS with
  m = 10 pairs whose iterate, gradient and pairs never leave the device. The direction
  comes from the compact inverse Hessian (`quasi_newton`), the line search is L-BFGS-B's
  own (Moré & Thuente, `line_search`); bounds, when asked, are kept by projection. On
  unconstrained problems its iterates are SciPy's (tests/test_optimize.py). Its own work
  is two passes over the pairs per iteration (12 ms at 512 px on a 2-core CPU, where
  memory bandwidth bounds it; a fraction of a millisecond on a GPU).
  - TensorFlow (`_DeviceLBFGS`) and PyTorch (`_TorchDeviceLBFGS`): the host runs the
    loop on the few scalars the device hands it, and the device waits while the host
    searches.
  - JAX (`lbfgs_jax`): the line search runs on the device too; each compiled call makes
    one evaluation and decides the next, and the host queues the next call before it
    reads the last one's report (`_lbfgs_device_jax`), so the device never waits.

Two pitfalls of the usual scipy-based scripts are avoided here:
- SciPy's default `ftol`/`gtol` stop long before the image converges on this loss, so
  both are 0: the run makes the requested number of iterations unless the line search
  itself fails or a step lowers nothing at all, and the stop reason is reported.
- Restarting `minimize` every few iterations (to save checkpoints) throws away the
  curvature memory; here one run goes to the end and a callback reports progress and
  saves checkpoints.
"""

import dataclasses
import time

import keras
import numpy as np
import scipy.optimize

from style_transfer import backend, line_search, quasi_newton
from style_transfer.quasi_newton import (ITERATIONS_DONE, NO_DECREASE, NO_DESCENT, RUNNING,
                                         SEARCH_FAILED, STOP_REASONS, TOO_MANY_EVALUATIONS)
from style_transfer.backend import loss_and_gradient_function

# Curvature pairs kept by L-BFGS (SciPy's default). SciPy keeps each as two float64
# copies of the image (12 MB at 512x512); `lbfgs_device` as two float32 copies on the device.
NUM_CORRECTIONS = 10
# A run whose line searches take more than this many evaluations per iteration on
# average is stopped (and says so) rather than running on without progress; one line
# search takes at most MAX_LINE_SEARCH (L-BFGS-B's maxls).
MAX_EVALUATIONS_PER_ITERATION = 20
MAX_LINE_SEARCH = 20
OPTIMIZERS = ("device", "scipy", "tf")  # "tf": the old name of "device".


def _image_array(image):
    """A fresh float32 NumPy copy of an array or of a device tensor (a GPU's included)."""
    return np.array(keras.ops.convert_to_numpy(image), np.float32)


@dataclasses.dataclass
class Iteration:
    """One L-BFGS iteration, as the callback and the history see it.

    Attributes:
        iteration: 0 for the initial image, then 1, 2, ...
        losses: term name -> float (always has "total").
        num_evaluations: loss-and-gradient evaluations so far.
        seconds: wall time of this iteration (0 for iteration 0).
        source: the image after this iteration, as an array or a device tensor (read it
            through `image`; copied from the device only when read).
    """
    iteration: int
    losses: dict
    num_evaluations: int
    seconds: float
    source: object = None

    @property
    def image(self):
        """(H, W, 3) float32 image after this iteration (a fresh array), or None."""
        return None if self.source is None else _image_array(self.source)

    def to_json(self):
        return {"iteration": self.iteration, "losses": self.losses,
                "num_evaluations": self.num_evaluations, "seconds": self.seconds}


@dataclasses.dataclass
class Result:
    """What `lbfgs` and `lbfgs_device` return.

    Attributes:
        image: (H, W, 3) float32, the last accepted iterate (never a rejected trial point).
        history: list of `Iteration` (images dropped), starting with iteration 0.
        num_iterations: L-BFGS iterations made.
        num_evaluations: loss-and-gradient evaluations made.
        stop_reason: why it stopped (SciPy's message, or ours), or "interrupted".
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


class _Recorder:
    """The history, the callback and the clock that both optimisers share."""

    def __init__(self, callback):
        self.callback, self.history = callback, []
        self.evaluation_seconds = []
        self.tick = None

    def timed(self, evaluate, *args):
        start = time.perf_counter()
        value = evaluate(*args)
        self.evaluation_seconds.append(time.perf_counter() - start)
        return value

    def record(self, losses, image, evaluations=None):
        """Appends an `Iteration` and hands it to the callback (StopIteration ends).
        `evaluations`: the count so far, where they were not timed here."""
        now = time.perf_counter()
        evaluations = len(self.evaluation_seconds) if evaluations is None else evaluations
        step = Iteration(len(self.history), dict(losses), evaluations,
                         now - self.tick if self.history else 0.0, image)
        self.tick = now
        self.history.append(step)
        if self.callback is not None:
            self.callback(step)
        step.source = None  # The history keeps numbers, not one image per iteration.

    def result(self, image, stop_reason, interrupted, loop_seconds):
        seconds = self.evaluation_seconds
        iterations = len(self.history) - 1
        return Result(
            image=_image_array(image), history=self.history,
            num_iterations=iterations, num_evaluations=len(seconds),
            stop_reason=stop_reason, interrupted=interrupted,
            seconds_per_evaluation=float(np.mean(seconds[1:] or seconds)),
            compile_seconds=seconds[0],
            seconds_outside_evaluation=(loop_seconds - sum(seconds[1:]))
            / max(iterations, 1))


def _floats(terms):
    return {name: float(value) for name, value in backend.to_host(terms).items()}


def lbfgs(loss_fn, init_image, *, max_iterations, bounds=None, callback=None):
    """Minimises `loss_fn` over the image with one run of SciPy's L-BFGS-B.

    Args:
        loss_fn: (H, W, 3) float32 tensor -> dict of scalar loss terms with "total".
            Called only while tracing, so it may build any graph.
        init_image: (H, W, 3) array, the starting image (clipped into the bounds).
        max_iterations: L-BFGS iterations to make (at least 1).
        bounds: (low, high) for every pixel, or None (the reference codes' choice: the
            image is clipped when saved).
        callback: called with an `Iteration` after the initial evaluation and after
            every iteration (progress lines, checkpoints). Raising StopIteration in it
            ends the run there (SciPy's convention), e.g. once a target loss is reached.

    Returns:
        `Result`. On Ctrl-C the run stops, and the result holds the last accepted image
        with `interrupted=True`, so the caller can save it.
    """
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be at least 1, got {max_iterations}")
    shape = tuple(np.shape(init_image))
    loss_and_gradient = loss_and_gradient_function(loss_fn, shape)
    recorder = _Recorder(callback)
    last = {}  # The latest evaluation: SciPy's accepted point is its latest evaluation.

    def evaluate(x):
        if "x" in last and np.array_equal(x, last["x"]):
            return last["total"], last["gradient"]
        def evaluated():  # Reading the terms waits for the device (JAX returns at once).
            terms, gradient = loss_and_gradient(x.reshape(shape).astype(np.float32))
            return _floats(terms), gradient

        losses, gradient = recorder.timed(evaluated)
        last.update(x=x.copy(), losses=losses, total=losses["total"],
                    gradient=np.asarray(gradient, np.float64).ravel())
        return losses["total"], last["gradient"]

    x0 = np.asarray(init_image, np.float64)
    x0 = (x0 if bounds is None else np.clip(x0, *bounds)).ravel()
    evaluate(x0)  # Traces and compiles the graph; timed apart from the others.
    state = {"x": x0}

    def record(x):
        if not np.array_equal(x, last["x"]):  # Not expected from SciPy; stay correct.
            evaluate(x)
        state["x"] = x.copy()
        recorder.record(last["losses"], x.reshape(shape))

    record(x0)
    loop_start = recorder.tick
    interrupted = False
    try:
        result = scipy.optimize.minimize(
            evaluate, x0, jac=True, method="L-BFGS-B",
            bounds=None if bounds is None else scipy.optimize.Bounds(*bounds),
            callback=lambda intermediate_result: record(intermediate_result.x),
            options={"maxiter": max_iterations,
                     "maxfun": MAX_EVALUATIONS_PER_ITERATION * max_iterations,
                     "maxcor": NUM_CORRECTIONS, "ftol": 0.0, "gtol": 0.0})
        stop_reason = str(result.message)
    except KeyboardInterrupt:
        interrupted, stop_reason = True, "interrupted"
    return recorder.result(state["x"].reshape(shape), stop_reason, interrupted,
                           time.perf_counter() - loop_start)


class _DeviceLBFGS:
    """The vectors of L-BFGS on the device, and the compiled functions that use them
    (TensorFlow).

    One (2m + 1, n) variable W holds the pairs (s_i, y_i), s in rows 0..m-1 and y in
    rows m..2m-1 (a ring of m slots), and the current gradient g in row 2m. Every
    product with the pairs is then one matrix product over W, which streams them once,
    where the two-loop recursion makes 4m passes. Per iteration: one pass for the
    direction, d = -(Wᵀ [c; γ]) = -(γ g + Σ cᵢ wᵢ), and one for W g at the new point
    (two with bounds), which also gives gᵀg. The m x m products sᵢᵀyⱼ and yᵢᵀyⱼ, all the
    host needs, follow from W g. On a CPU these passes over memory are the cost (47 MB
    at 512 px); fewer temporaries would not change it.
    """

    def __init__(self, loss_fn, shape, bounds, num_corrections, dtype):
        import tensorflow as tf
        self.m, size = num_corrections, int(np.prod(shape))
        m, gradient_row = num_corrections, 2 * num_corrections
        evaluate = loss_and_gradient_function(loss_fn, shape, dtype)

        def dot(a, b):
            """aᵀb of two long vectors, as a matrix product: TensorFlow's tensordot of
            two vectors takes 5x longer on a CPU (0.8 ms against 0.15 ms at 512 px)."""
            return tf.matmul(a[None], b[None], transpose_b=True)[0, 0]
        self.pairs = tf.Variable(tf.zeros((2 * m + 1, size), dtype), trainable=False)
        vector = tf.TensorSpec((size,), dtype)
        scalar = tf.TensorSpec((), dtype)
        slot_spec = tf.TensorSpec((), tf.int32)

        limits = quasi_newton.Bounds(bounds)
        clipped, free = limits.clipped, limits.free

        def store(rows, values):
            self.pairs.scatter_nd_update(rows, values)
            # A scatter leaves the variable copying its 47 MB (at 512 px) at every later
            # read; its buffer is not shared, so reads may alias it again.
            tf.raw_ops.DisableCopyOnRead(resource=self.pairs.handle)

        def products(x, g):
            """W g and W g_f (g_f: the gradient on the free pixels; g itself without
            bounds), whose last entries are gᵀg and g_fᵀg_f once g is stored."""
            if bounds is None:
                w_g = tf.matmul(g[None], self.pairs, transpose_b=True)[0]
                return w_g, w_g
            w_both = tf.matmul(tf.stack([g, free(g, x, g)]), self.pairs, transpose_b=True)
            return w_both[0], w_both[1]

        # Traced without autograph (as the loss is: `loss_and_gradient_function`): nothing
        # here branches on a tensor in Python (`remember` calls tf.cond itself), and
        # converting these four took another 0.3 s at the start of every run.
        @tf.function(input_signature=[vector], autograph=False)
        def start(x):
            x = clipped(x)
            terms, g = evaluate(tf.reshape(x, shape))
            g = tf.reshape(g, [-1])
            store([[gradient_row]], g[None])
            return (x, terms, g) + products(x, g)

        @tf.function(input_signature=[vector, vector, tf.TensorSpec((2 * m + 1,), dtype)],
                     autograph=False)
        def direction(x, g, minus_coefficients):
            """d = -(Wᵀ c) = -(γ g + Σ cᵢ wᵢ) for c = [c_pairs; γ], on the free pixels:
            one matrix product (the host computes the slope gᵀd from W g_f)."""
            return free(tf.matmul(minus_coefficients[None], self.pairs)[0], x, g)

        @tf.function(input_signature=[vector, vector, scalar], autograph=False)
        def trial(x, d, step):
            """The point x + t d (projected), its terms and gradient, and φ'(t): the
            derivative along the path, where pixels held at a bound do not move."""
            x_t = clipped(x + step * d)
            terms, g = evaluate(tf.reshape(x_t, shape))
            g = tf.reshape(g, [-1])
            return x_t, terms, g, dot(g, limits.moving(d, x_t))

        @tf.function(input_signature=[vector, vector, vector, vector, slot_spec, scalar],
                     autograph=False)
        def remember(x_old, x_new, g_old, g_new, slot, minimum):
            """Stores s = Δx, y = Δg in `slot` if sᵀy > `minimum` (L-BFGS-B's curvature
            check), and g_new as the current gradient. Returns sᵀy, yᵀy and `products`
            at the new point."""
            pair = tf.stack([x_new - x_old, g_new - g_old])  # [s, y]
            gram = tf.matmul(pair, pair, transpose_b=True)  # sᵀy = gram[0, 1], yᵀy = [1, 1]
            tf.cond(gram[0, 1] > minimum, lambda: store([[slot], [slot + m]], pair),
                    lambda: None)
            store([[gradient_row]], g_new[None])
            return (gram[0, 1], gram[1, 1]) + products(x_new, g_new)

        for function in (direction, trial, remember):  # Traced now, not in the loop.
            function.get_concrete_function()
        # The loop hands over NumPy values and Python numbers; the functions take tensors.
        self.start = lambda x: start(tf.constant(x, dtype))
        self.direction = lambda x, g, c: direction(x, g, tf.constant(c, dtype))
        self.trial = lambda x, d, step: trial(x, d, tf.constant(step, dtype))
        self.remember = lambda x_old, x_new, g_old, g_new, slot, minimum: remember(
            x_old, x_new, g_old, g_new, tf.constant(slot, tf.int32),
            tf.constant(minimum, dtype))


class _TorchDeviceLBFGS:
    """`_DeviceLBFGS`'s four steps under PyTorch, on the same (2m + 1, n) matrix W of
    pairs and gradient, updated in place. PyTorch runs each operation as it comes, so
    nothing is traced; the host loop is the same."""

    def __init__(self, loss_fn, shape, bounds, num_corrections, dtype):
        import torch
        m, ops = num_corrections, keras.ops
        evaluate = loss_and_gradient_function(loss_fn, shape, dtype)
        pairs = ops.zeros((2 * m + 1, int(np.prod(shape))), dtype)
        limits = quasi_newton.Bounds(bounds)
        vector = lambda value: ops.convert_to_tensor(value, dtype)  # noqa: E731

        def products(x, g):  # W g and W g_f, in one pass over W.
            if bounds is None:
                w_g = pairs @ g
                return w_g, w_g
            w_both = ops.stack([g, limits.free(g, x, g)]) @ pairs.T
            return w_both[0], w_both[1]

        def start(x):
            x = limits.clipped(vector(x))
            terms, g = evaluate(ops.reshape(x, shape))
            pairs[2 * m] = g = ops.reshape(g, [-1])
            return (x, terms, g) + products(x, g)

        def trial(x, d, step):
            x_t = limits.clipped(x + step * d)
            terms, g = evaluate(ops.reshape(x_t, shape))
            g = ops.reshape(g, [-1])
            return x_t, terms, g, torch.dot(g, limits.moving(d, x_t))

        def remember(x_old, x_new, g_old, g_new, slot, minimum):
            pair = ops.stack([x_new - x_old, g_new - g_old])  # [s, y]
            gram = pair @ pair.T  # sᵀy = gram[0, 1], yᵀy = [1, 1]
            if gram[0, 1] > minimum:
                pairs[[slot, slot + m]] = pair
            pairs[2 * m] = g_new
            return (gram[0, 1], gram[1, 1]) + products(x_new, g_new)

        self.start, self.trial, self.remember = start, trial, remember
        self.direction = lambda x, g, minus_coefficients: limits.free(
            vector(minus_coefficients) @ pairs, x, g)


def _on_host(tensors):
    """Device scalars and vectors as float64 NumPy values (one wait for the device)."""
    return [np.asarray(t, np.float64) for t in backend.to_host(list(tensors))]


def lbfgs_device(loss_fn, init_image, *, max_iterations, bounds=None, callback=None,
             num_corrections=NUM_CORRECTIONS, dtype="float32"):
    """Minimises `loss_fn` over the image with L-BFGS on the device.

    The method of L-BFGS-B without bounds, step for step: the direction -H g with the
    compact inverse Hessian of the m newest pairs (`quasi_newton`), Moré & Thuente's
    line search with L-BFGS-B's settings (`line_search.search`), a first step of 1/‖d‖,
    a pair skipped when sᵀy <= ε (-gᵀs), and on a failed line search or a direction that
    does not descend the pairs dropped and the search tried again from the gradient, and
    the end at a step that lowers nothing (L-BFGS-B's ftol test at ftol 0). With bounds,
    the iterate is projected into them and pixels held at a bound by the gradient do not
    move.

    Args:
        loss_fn, init_image, max_iterations, bounds, callback: as `lbfgs`.
        num_corrections: m, the pairs kept.
        dtype: of the image, the gradient and the pairs on the device.

    On TensorFlow and PyTorch the vectors live on the device (`_DeviceLBFGS`,
    `_TorchDeviceLBFGS`) and the host runs the loop on their scalars; on JAX whole iterations, the line search included, run on the
    device (`lbfgs_jax`), and the host reads one report per iteration.

    Returns:
        `Result`, as `lbfgs`.
    """
    if max_iterations < 1:
        raise ValueError(f"max_iterations must be at least 1, got {max_iterations}")
    dtype = keras.backend.standardize_dtype(dtype)  # "float32", also from a tf.DType.
    if backend.name() == "jax":
        return _lbfgs_device_jax(loss_fn, init_image, max_iterations, bounds, callback,
                                 num_corrections, dtype)
    shape = tuple(np.shape(init_image))
    device = (_TorchDeviceLBFGS if backend.name() == "torch" else _DeviceLBFGS)(
        loss_fn, shape, bounds, num_corrections, dtype)
    memory = quasi_newton.empty_memory(num_corrections)
    recorder = _Recorder(callback)
    epsilon = float(np.finfo(dtype).eps)

    def too_many_evaluations():  # L-BFGS-B's maxfun, checked after a step or a restart.
        return len(recorder.evaluation_seconds) > MAX_EVALUATIONS_PER_ITERATION * max_iterations

    def waited(outputs, scalars):  # Waits for the device: the clock stops when it is done.
        return outputs, tuple(float(value) for value in backend.to_host(scalars(outputs)))

    (x, terms, g, w_g, w_g_free), _ = recorder.timed(
        lambda: waited(device.start(np.ravel(init_image)), lambda o: [o[1]["total"]]))
    w_g, w_g_free = _on_host([w_g, w_g_free])  # W g, W g_f (pairs still zero; then gᵀg).
    losses = _floats(terms)
    recorder.record(losses, keras.ops.reshape(x, shape))
    loop_start = recorder.tick
    stop_reason, interrupted = STOP_REASONS[ITERATIONS_DONE], False
    try:
        while len(recorder.history) <= max_iterations:
            coefficients = quasi_newton.direction_coefficients(memory, w_g_free)
            d = device.direction(x, g, -coefficients)
            slope = -(coefficients @ w_g_free)  # gᵀd = -(γ g_fᵀg_f + Σ cᵢ wᵢᵀg_f)
            g_free_squared = w_g_free[-1]
            if not slope < 0:  # Not a descent direction: start again from the gradient.
                if not memory.count:
                    stop_reason = STOP_REASONS[NO_DESCENT]
                    break
                memory = quasi_newton.forgotten(memory)
                continue
            trials = []

            def phi(step):
                outputs, total_and_slope = recorder.timed(  # φ(t), φ'(t)
                    lambda: waited(device.trial(x, d, step), lambda o: [o[1]["total"], o[3]]))
                trials.append(outputs)
                return total_and_slope

            # L-BFGS-B's first step is 1/‖d‖ (d = -g) at the first iteration, then 1.
            first = (min(1.0 / g_free_squared ** 0.5, 1e10)
                     if len(recorder.history) == 1 else 1.0)
            step, message = line_search.search(phi, losses["total"], slope, first,
                                               max_evaluations=MAX_LINE_SEARCH)
            if message == "FAILED":
                if memory.count and not too_many_evaluations():
                    memory = quasi_newton.forgotten(memory)  # L-BFGS-B's restart.
                    continue
                stop_reason = STOP_REASONS[TOO_MANY_EVALUATIONS if memory.count
                                           else SEARCH_FAILED]
                break
            x_new, terms, g_new, _ = trials[-1]  # dcsrch ends at its accepted step.
            slot, minimum = int(quasi_newton.next_slot(memory)), epsilon * -slope * step
            sy, yy, w_g_new, w_g_free = _on_host(device.remember(
                x, x_new, g, g_new, slot, minimum))
            if sy > minimum:  # sᵀy > ε (-gᵀs), as L-BFGS-B; else the pair is skipped.
                w_y = w_g_new - w_g  # W y on the pairs kept; the new pair's own products:
                w_y[[slot, slot + num_corrections]] = sy, yy
                memory = quasi_newton.remembered(memory, slot, w_y)
            w_g = w_g_new
            previous = losses["total"]
            x, g, losses = x_new, g_new, _floats(terms)
            recorder.record(losses, keras.ops.reshape(x, shape))
            if previous - losses["total"] <= 0.0:
                # L-BFGS-B's test (fold - f) <= factr ε max(|fold|, |f|, 1), with factr 0
                # (ftol 0): a step that lowered nothing ends the run, as SciPy's does,
                # where the line search would otherwise repeat the same warning.
                stop_reason = STOP_REASONS[NO_DECREASE]
                break
            if too_many_evaluations():
                stop_reason = STOP_REASONS[TOO_MANY_EVALUATIONS]
                break
    except StopIteration:
        stop_reason = "`callback` raised `StopIteration`."  # As SciPy says it.
    except KeyboardInterrupt:
        interrupted, stop_reason = True, "interrupted"
    return recorder.result(keras.ops.reshape(x, shape), stop_reason, interrupted,
                           time.perf_counter() - loop_start)


def _lbfgs_device_jax(loss_fn, init_image, max_iterations, bounds, callback,
                      num_corrections, dtype):
    """`lbfgs_device`'s loop under JAX: the device runs the method (`lbfgs_jax`), the host
    queues each call before it reads the report of the one before, and records.

    The result's `seconds_per_evaluation` is the first evaluation's time, measured by
    running it a second time before the loop (the loop's evaluations cannot be timed
    apart from the search around them); `seconds_outside_evaluation` is what the loop
    took beyond its evaluations at that rate, per iteration.
    """
    import jax.numpy as jnp
    from style_transfer import lbfgs_jax
    shape = tuple(np.shape(init_image))
    call, initial = lbfgs_jax.program(
        loss_fn, shape, bounds, num_corrections, dtype, max_iterations=max_iterations,
        max_line_search=MAX_LINE_SEARCH,
        max_evaluations=MAX_EVALUATIONS_PER_ITERATION * max_iterations)
    start = time.perf_counter()
    call = call.lower(*initial(init_image)).compile()  # Traced and compiled once.
    lbfgs_jax.report(call(*initial(init_image))[1])
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()  # The first evaluation again, alone, timed.
    pairs, state = call(*initial(init_image))
    lbfgs_jax.report(state)
    seconds_per_evaluation = time.perf_counter() - start

    recorder = _Recorder(callback)
    recorded, stop_reason, interrupted = state.x, STOP_REASONS[ITERATIONS_DONE], False
    loop_start, evaluations = time.perf_counter(), 1
    try:
        while True:
            pairs, upcoming = call(pairs, state)  # Runs while this report is read.
            terms, accepted, iteration, evaluations, code = lbfgs_jax.report(state)
            if accepted:
                recorded = state.x
                recorder.record({key: float(value) for key, value in terms.items()},
                                jnp.reshape(recorded, shape), int(evaluations))
            if code != RUNNING or iteration >= max_iterations:
                stop_reason = STOP_REASONS[int(code) if code != RUNNING else ITERATIONS_DONE]
                break
            state = upcoming
    except StopIteration:
        stop_reason = "`callback` raised `StopIteration`."  # As SciPy says it.
    except KeyboardInterrupt:
        interrupted, stop_reason = True, "interrupted"
    loop_seconds = time.perf_counter() - loop_start
    iterations = len(recorder.history) - 1
    return Result(
        image=np.asarray(jnp.reshape(recorded, shape), np.float32), history=recorder.history,
        num_iterations=iterations, num_evaluations=int(evaluations), stop_reason=stop_reason,
        interrupted=interrupted, seconds_per_evaluation=seconds_per_evaluation,
        compile_seconds=compile_seconds,
        seconds_outside_evaluation=max(0.0, loop_seconds - (int(evaluations) - 1)
                                       * seconds_per_evaluation) / max(iterations, 1))


def canonical_optimizer(optimizer):
    """The optimizer's current name ("tf" is the old name of "device")."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer {optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
    return "device" if optimizer == "tf" else optimizer


def minimize(loss_fn, init_image, *, max_iterations, optimizer, bounds=None,
             callback=None):
    """Minimises `loss_fn` over the image with the chosen L-BFGS (arguments as `lbfgs`).

    Args:
        optimizer: "scipy" (SciPy's L-BFGS-B, `lbfgs`) or "device" (on the device,
            `lbfgs_device`); each technique's settings choose (`transfer.GatysSettings`).
    """
    run = lbfgs if canonical_optimizer(optimizer) == "scipy" else lbfgs_device
    return run(loss_fn, init_image, max_iterations=max_iterations, bounds=bounds,
               callback=callback)

