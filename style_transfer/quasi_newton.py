"""The parts of L-BFGS that do not depend on where the loop runs, shared by the host's
loop over TensorFlow's device (`optimize.lbfgs_device`) and JAX's compiled one
(`lbfgs_jax`): the curvature pairs' memory and the direction it gives, the pixel bounds,
and why a run stops.

The memory's functions take the array module as `xp`: NumPy in float64 on the host,
jax.numpy in float32 inside a compiled program, where every shape stays fixed (no slot
lists, no branches).

L-BFGS: Nocedal & Wright, "Numerical Optimization", 2nd ed., Sec. 7.2; the compact form:
Byrd, Nocedal & Schnabel, "Representations of quasi-Newton matrices and their use in
limited memory methods", Math. Programming 63, 1994.
"""

import typing

import keras
import numpy as np
import scipy.linalg

# Why a device run stopped, in L-BFGS-B's words (SciPy's messages).
RUNNING, ITERATIONS_DONE, NO_DESCENT, SEARCH_FAILED, NO_DECREASE, TOO_MANY_EVALUATIONS = range(6)
STOP_REASONS = {ITERATIONS_DONE: "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT",
                NO_DESCENT: "CONVERGENCE: NO DESCENT DIRECTION",
                SEARCH_FAILED: "ABNORMAL_TERMINATION_IN_LNSRCH",
                NO_DECREASE: "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH",
                TOO_MANY_EVALUATIONS: "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"}


class Bounds:
    """Pixel bounds on the device, for both device L-BFGS (`keras.ops`, so one version
    serves TensorFlow's graph and JAX's): projection, the pixels held at a bound, and the
    direction along the projected path."""

    def __init__(self, bounds):
        self.bounds = bounds

    def clipped(self, x):
        return x if self.bounds is None else keras.ops.clip(x, *self.bounds)

    def free(self, vector, x, g):
        """`vector` where a pixel may move along -g (not held at a bound by the
        gradient), 0 elsewhere."""
        if self.bounds is None:
            return vector
        low, high = self.bounds
        held = ((x <= low) & (g > 0)) | ((x >= high) & (g < 0))
        return keras.ops.where(held, keras.ops.zeros_like(vector), vector)

    def moving(self, d, x_t):
        """d where the point x_t of the path x + t d still moves (not stopped at a bound):
        φ'(t) = gᵀ moving."""
        if self.bounds is None:
            return d
        low, high = self.bounds
        return d * keras.ops.cast(((x_t > low) | (d > 0)) & ((x_t < high) | (d < 0)),
                                  d.dtype)


class Memory(typing.NamedTuple):
    """The m x m products of the curvature pairs that the direction needs, and which
    slots hold pairs: a ring of m slots, `newest` the last one written, the `count`
    newest in use (0 after a restart; a new pair goes to slot (newest + 1) mod m, which
    is the oldest one once all are in use). The same functions serve the host (NumPy,
    float64) and the device (jax.numpy, inside `lbfgs_jax`'s compiled iteration).

    Attributes:
        sy: sy[i, j] = sᵢᵀ yⱼ (read for i older than j).
        yy: yy[i, j] = yᵢᵀ yⱼ.
        newest, count: as above.
    """
    sy: object
    yy: object
    newest: object
    count: object


def empty_memory(m, dtype="float64", xp=np):
    zeros = xp.zeros((m, m), dtype)
    return forgotten(Memory(zeros, zeros, None, None), xp)


def forgotten(memory, xp=np):
    """The memory after L-BFGS-B's restart: no pairs; the next goes to slot 0."""
    return memory._replace(newest=xp.asarray(memory.sy.shape[0] - 1, "int32"),
                           count=xp.asarray(0, "int32"))


def next_slot(memory):
    return (memory.newest + 1) % memory.sy.shape[0]


def remembered(memory, slot, products, xp=np):
    """The memory with the pair just stored in `slot`: products = W y of its y (sᵢᵀy,
    then yᵢᵀy for every slot i)."""
    m = memory.sy.shape[0]
    rows, columns = xp.arange(m)[:, None], xp.arange(m)[None, :]
    sy = xp.where(columns == slot, products[:m, None], memory.sy)
    yy = xp.where(columns == slot, products[m:2 * m, None],
                  xp.where(rows == slot, products[None, m:2 * m], memory.yy))
    return Memory(sy, yy, xp.asarray(slot, "int32"), xp.minimum(memory.count + 1, m))


def direction_coefficients(memory, projected, xp=np, linalg=scipy.linalg):
    """c (2m + 1,) of the direction d = -(Wᵀ c) = -H g, for projected = W g: the
    coefficients of the pairs (zero for slots not in use), then γ. H is the compact
    inverse Hessian of Byrd, Nocedal & Schnabel (1994, Eq. 3.1; Nocedal & Wright,
    Eq. 7.24):

        H = γ I + [S  γY] [[R⁻ᵀ (D + γ YᵀY) R⁻¹, -R⁻ᵀ], [-R⁻¹, 0]] [Sᵀ; γYᵀ]

    with the pairs oldest first, R the upper triangle of SᵀY, D its diagonal, and
    γ = sᵀy / yᵀy of the newest pair (1 without pairs). The m slots are put in age
    order, the unused ones first, as rows of the identity with zero right-hand sides,
    so that their coefficients come out zero and the shapes never change (the device
    compiles them once).
    """
    m = memory.sy.shape[0]
    positions = xp.arange(m)
    order = (memory.newest + 1 + positions) % m  # Oldest first; the newest last.
    used = positions >= m - memory.count
    both = used[:, None] & used[None, :]
    sy = xp.take(xp.take(memory.sy, order, axis=0), order, axis=1)
    yy = xp.take(xp.take(memory.yy, order, axis=0), order, axis=1)
    newest = (memory.newest, memory.newest)
    newest_sy, newest_yy = memory.sy[newest], xp.where(memory.count > 0, memory.yy[newest], 1.0)
    gamma = xp.where(memory.count > 0, newest_sy / newest_yy, 1.0)  # sᵀy / yᵀy
    r = xp.where(both, xp.triu(sy), 0.0) + xp.diag(xp.where(used, 0.0, 1.0))
    middle = xp.where(both, xp.diag(xp.diag(sy)) + gamma * yy, 0.0)
    u = xp.where(used, xp.take(projected, order), 0.0)  # Sᵀg
    v = xp.where(used, xp.take(projected, m + order), 0.0)  # Yᵀg
    r_inv_u = linalg.solve_triangular(r, u)
    a = linalg.solve_triangular(r, middle @ r_inv_u - gamma * v, trans="T")
    by_slot = (positions - memory.newest - 1) % m  # Each slot's place in the age order.
    return xp.concatenate([xp.take(a, by_slot), -gamma * xp.take(r_inv_u, by_slot),
                           xp.reshape(gamma, (1,))])
