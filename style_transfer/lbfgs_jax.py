"""L-BFGS on the device under JAX, the line search included, so that a GPU never waits
for the host: `optimize.lbfgs_device`'s method, compiled.

Why: on an H100 one evaluation of VGG19's loss and gradient takes 2.4 ms at 512 px,
about the time of a few host round trips. The TensorFlow path runs the loop on the host,
and the device waits while the host reads each trial step's value and slope, runs the
search and sends the next step; SciPy's L-BFGS-B spends 69 ms per iteration there.

Here one compiled program (`jax.jit`, the pairs' buffer donated so that XLA updates it in
place) makes one evaluation of the loss and its gradient at the search's trial step, one
step of Moré & Thuente's search (`line_search.advance`, the host's code, in float32),
and, when the search accepts the step, stores the curvature pair and computes the next
direction from the compact inverse Hessian (`quasi_newton.direction_coefficients`); after a
failed search it drops the pairs and begins again from the gradient, as L-BFGS-B does.
Everything it needs next is in its output, so the host (`optimize.lbfgs_device`) queues
the next call before it reads the last one's report (the loss terms and four counters):
the device goes from evaluation to evaluation without waiting, and the host only watches. A call on a finished
run, or past `max_iterations`, changes nothing, so the one queued past the end is harmless
(its evaluation is the run's only wasted one).

Why one evaluation per call rather than whole iterations in a `while_loop`: XLA's CPU
backend runs a network inside a loop or a branch at half its speed (below), while on a
GPU the queued calls keep the device as busy as a loop would.
The network is traced once, the start being a trial step of zero (d = 0).
"""

import typing

import jax
import jax.numpy as jnp
import numpy as np

from style_transfer import backend, line_search, quasi_newton
from style_transfer.quasi_newton import (NO_DECREASE, NO_DESCENT, RUNNING, SEARCH_FAILED,
                                         TOO_MANY_EVALUATIONS)


class _State(typing.NamedTuple):
    """Everything but the pairs, between calls: x, g and terms at the accepted point, and
    the line search under way from it along d."""
    x: object
    g: object
    terms: dict
    w_g: object  # W g: the pairs' products with g (its last entry gᵀg).
    w_g_free: object  # W g_f, g_f the gradient on the pixels free to move (W g without bounds).
    memory: quasi_newton.Memory
    d: object
    search: line_search.Search
    starting: object  # True until the first evaluation.
    iteration: object
    evaluations: object
    stopped: object  # RUNNING, or why the run ended (quasi_newton.STOP_REASONS).
    accepted: object  # This call accepted an iteration (or made the first evaluation).


def _chosen(condition, if_true, if_false):
    """Each leaf of `if_true` where `condition` holds, else of `if_false` (no branch)."""
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), if_true, if_false)


def program(loss_fn, shape, bounds, num_corrections, dtype, *, max_iterations,
            max_line_search, max_evaluations):
    """The call (pairs, state) -> (pairs, state), to compile, and a function image ->
    the initial (pairs, state); the host's loop is `optimize.lbfgs_device`'s.

    Args:
        loss_fn, shape, bounds, num_corrections, dtype: as `optimize.lbfgs_device`.
        max_iterations: a call past this many accepted iterations changes nothing.
        max_line_search: evaluations allowed per line search (L-BFGS-B's maxls).
        max_evaluations: the run's evaluations, after which it stops (maxfun).
    """
    m, size = num_corrections, int(np.prod(shape))
    gradient_row = 2 * m
    evaluate = backend.jax_loss_and_gradient(loss_fn, dtype)
    limits = quasi_newton.Bounds(bounds)
    epsilon = float(np.finfo(dtype).eps)

    def products(pairs, x, g):
        w_g = pairs @ g
        return (w_g, w_g) if bounds is None else (w_g, pairs @ limits.free(g, x, g))

    def with_direction(pairs, s):
        """s with the next search started: d = -H g_f from the memory, or from the
        gradient alone (the pairs dropped) where that does not descend; the run ends
        where the gradient does not descend either."""
        coefficients = quasi_newton.direction_coefficients(s.memory, s.w_g_free, jnp,
                                                           jax.scipy.linalg)
        descends = coefficients @ s.w_g_free > 0  # gᵀd = -(γ g_fᵀg_f + Σ cᵢ wᵢᵀg_f) < 0
        # Without pairs the coefficients are 0 and γ = 1: d = -g_f.
        gradient_only = jnp.zeros_like(coefficients).at[-1].set(1.0)
        coefficients = jnp.where(descends, coefficients, gradient_only)
        memory = _chosen(descends, s.memory, quasi_newton.forgotten(s.memory, jnp))
        d = limits.free(-(coefficients @ pairs), s.x, s.g)
        slope = -(coefficients @ s.w_g_free)
        # L-BFGS-B's first step is 1/‖d‖ (d = -g) at the first iteration, then 1.
        first = jnp.where(s.iteration == 0,
                          jnp.minimum(jax.lax.rsqrt(s.w_g_free[-1]), 1e10), 1.0)
        stopped = jnp.where(slope < 0, s.stopped, NO_DESCENT)
        return s._replace(memory=memory, d=d, search=line_search.begin(
            s.terms["total"], slope, first.astype(dtype), xp=jnp), stopped=stopped)

    def within_evaluations(s, stopped):
        """`stopped`, or TOO_MANY_EVALUATIONS past the run's allowance, checked, as on
        the host, after each accepted step and each restart."""
        return jnp.where((stopped == RUNNING) & (s.evaluations > max_evaluations),
                         TOO_MANY_EVALUATIONS, stopped)

    def moved(pairs, s, x_t, terms, g_t):
        """The trial point accepted (or the first evaluation): the pair s = Δx, y = Δg
        stored where sᵀy > ε (-gᵀs) (L-BFGS-B's curvature check), g stored, and the
        products at the new point."""
        slot = quasi_newton.next_slot(s.memory)
        pair = jnp.stack([x_t - s.x, g_t - s.g])  # [s, y]
        gram = pair @ pair.T  # sᵀy = gram[0, 1], yᵀy = gram[1, 1]
        keep = ~s.starting & (gram[0, 1] > epsilon * -s.search.g0 * s.search.stp)
        rows = jnp.stack([slot, slot + m])
        pairs = pairs.at[rows].set(jnp.where(keep, pair, pairs[rows]))
        pairs = pairs.at[gradient_row].set(g_t)
        w_g, w_g_free = products(pairs, x_t, g_t)
        w_y = (w_g - s.w_g).at[rows].set(gram[[0, 1], [1, 1]])  # The new pair's own.
        memory = _chosen(keep, quasi_newton.remembered(s.memory, slot, w_y, jnp), s.memory)
        iteration = s.iteration + jnp.where(s.starting, 0, 1)
        # L-BFGS-B's test (f_old - f) <= factr ε max(|f_old|, |f|, 1) at factr 0: a step
        # that lowered nothing ends the run, as SciPy's does.
        lowered = s.starting | (s.terms["total"] - terms["total"] > 0.0)
        stopped = within_evaluations(s, jnp.where(lowered, s.stopped, NO_DECREASE))
        s = s._replace(x=x_t, g=g_t, terms=terms, w_g=w_g, w_g_free=w_g_free, memory=memory,
                       starting=jnp.asarray(False), iteration=iteration, stopped=stopped,
                       accepted=jnp.asarray(True))
        return pairs, jax.lax.cond(stopped == RUNNING, with_direction, lambda _, s: s,
                                   pairs, s)

    def restarted(pairs, s):
        """A failed search: L-BFGS-B drops the pairs and tries the gradient; without
        pairs the run ends."""
        s = s._replace(memory=quasi_newton.forgotten(s.memory, jnp), stopped=jnp.where(
            s.memory.count > 0, within_evaluations(s, s.stopped), SEARCH_FAILED))
        return pairs, jax.lax.cond(s.stopped == RUNNING, with_direction, lambda _, s: s,
                                   pairs, s)

    def call(pairs, s):
        """One evaluation at the search's trial step, and what follows from it: the next
        trial step; or the step accepted, the pair stored and the next search begun; or
        the restart after a failed search. A finished run is left as it is."""
        live = (s.stopped == RUNNING) & (s.iteration < max_iterations)
        x_t = limits.clipped(s.x + s.search.stp * s.d)  # The start: x itself (d = 0).
        terms, g_t = evaluate(jnp.reshape(x_t, shape))
        g_t = jnp.reshape(g_t, (-1,))
        s = s._replace(accepted=jnp.asarray(False),
                       evaluations=s.evaluations + live.astype(jnp.int32))
        slope = g_t @ limits.moving(s.d, x_t)  # φ'(t) along the projected path.
        search, code = line_search.advance(s.search, terms["total"], slope, xp=jnp,
                                           max_evaluations=max_line_search)
        ended = (code != line_search.SEARCHING) & (code != line_search.FAILED)
        branch = jnp.where(~live, 0, jnp.where(s.starting | ended, 1, jnp.where(
            code == line_search.FAILED, 2, 3)))
        # The network is outside the branches: XLA's CPU backend runs a network
        # inside a loop or a branch at half its speed on 2 cores (measured: VGG19 at
        # 256 px, 0.93 s alone, 1.97 s in a while_loop, 1.78 s in a cond).
        return jax.lax.switch(branch, [
            lambda: (pairs, s),
            lambda: moved(pairs, s, x_t, terms, g_t),
            lambda: restarted(pairs, s),
            lambda: (pairs, s._replace(search=search))])

    term_names = jax.eval_shape(evaluate, jax.ShapeDtypeStruct(shape, dtype))[0]

    def initial(image):
        x = limits.clipped(jnp.ravel(jnp.asarray(image, dtype)))
        zero, vector = jnp.zeros((), dtype), jnp.zeros((size,), dtype)
        state = _State(
            x=x, g=vector, terms={key: zero for key in term_names},
            w_g=jnp.zeros((2 * m + 1,), dtype), w_g_free=jnp.zeros((2 * m + 1,), dtype),
            memory=quasi_newton.empty_memory(m, dtype, jnp), d=vector,
            search=line_search.begin(zero, -jnp.ones((), dtype), zero, xp=jnp),
            starting=jnp.asarray(True), iteration=jnp.asarray(0, jnp.int32),
            evaluations=jnp.asarray(0, jnp.int32), stopped=jnp.asarray(RUNNING, jnp.int32),
            accepted=jnp.asarray(False))
        return jnp.zeros((2 * m + 1, size), dtype), state

    return jax.jit(call, donate_argnums=0), initial


def report(state):
    """What the host reads after a call: the loss terms and the counters."""
    return backend.to_host((state.terms, state.accepted, state.iteration, state.evaluations,
                            state.stopped))
