"""The line search of L-BFGS-B: Moré & Thuente's, as MINPACK-2's dcsrch and dcstep.

J. J. Moré, D. J. Thuente, "Line Search Algorithms with Guaranteed Sufficient Decrease",
ACM TOMS 20(3), 1994. Along a direction d from x, with φ(t) = f(x + t d), it looks for a
step t satisfying the strong Wolfe conditions (Nocedal & Wright, Eq. 3.7):

    φ(t) <= φ(0) + ftol · t · φ'(0)        (sufficient decrease)
    |φ'(t)| <= gtol · |φ'(0)|              (curvature)

by safeguarded cubic and quadratic interpolation inside an interval that brackets such a
step. L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995; Zhu et al. 1997, v3.0) calls it with
ftol = 1e-3, gtol = 0.9, xtol = 0.1 and at most 20 evaluations, and so does
`optimize.lbfgs_device`, so that both take the same steps.

Only scalars live here, and no branch: every case of dcstep is computed and the one that
applies is selected (`where`), so the same code runs on the host (`xp` = NumPy, float64,
`search`) and inside a compiled loop on the device (`xp` = jax.numpy, `lbfgs_jax`), where
the caller evaluates φ and φ' between calls to `advance`.
"""

import typing

import numpy as np

XTRAP_LOWER, XTRAP_UPPER = 1.1, 4.0  # dcsrch's extrapolation bounds.
# L-BFGS-B's settings (lnsrlb): ftol, gtol, xtol, the step's range, and maxls.
SETTINGS = dict(ftol=1e-3, gtol=0.9, xtol=0.1, stpmin=0.0, stpmax=1e10, max_evaluations=20)

# What `advance` says after an evaluation: 0 evaluate the next trial step; else the search
# ends at the step just evaluated, with dcsrch's message; FAILED: the evaluations ran out.
SEARCHING, CONVERGENCE, ROUNDING, XTOL, STPMAX, STPMIN, FAILED = range(7)
MESSAGES = {CONVERGENCE: "CONVERGENCE", ROUNDING: "WARNING: ROUNDING ERRORS PREVENT PROGRESS",
            XTOL: "WARNING: XTOL TEST SATISFIED", STPMAX: "WARNING: STP = STPMAX",
            STPMIN: "WARNING: STP = STPMIN", FAILED: "FAILED"}


class Search(typing.NamedTuple):
    """dcsrch's state between evaluations: the trial step `stp`, the interval [stx, sty]
    with φ and φ' at its ends, the bounds on the next step, and the two widths that decide
    a bisection."""
    stp: object
    stx: object
    fx: object
    gx: object
    sty: object
    fy: object
    gy: object
    stmin: object
    stmax: object
    width: object
    width1: object
    brackt: object
    stage2: object  # dcsrch's stage 2: a step with sufficient decrease and φ' >= 0 seen.
    f0: object
    g0: object
    evaluations: object


def _cubic(st_a, f_a, d_a, st_b, f_b, d_b, xp, clamp=False):
    """θ and γ (unsigned) of the cubic through (st_a, f_a, d_a) and (st_b, f_b, d_b), as
    dcstep computes them, scaled by s against overflow; `clamp` floors the radicand at 0
    (the case where the cubic may have no minimiser)."""
    theta = 3.0 * (f_a - f_b) / (st_b - st_a) + d_a + d_b
    s = xp.maximum(xp.maximum(xp.abs(theta), xp.abs(d_a)), xp.abs(d_b))
    radicand = (theta / s) ** 2 - (d_a / s) * (d_b / s)
    return theta, s * xp.sqrt(xp.maximum(radicand, 0.0) if clamp else radicand)


def dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax, xp=np):
    """One safeguarded step of the search (dcstep): the new step, and the interval
    [stx, sty] updated to still contain a minimiser. Returns (stx, fx, dx, sty, fy, dy,
    stp, brackt)."""
    where, absolute = xp.where, xp.abs
    sgnd = dp * (dx / absolute(dx))
    higher = fp > fx  # Case 1, bracketed: cubic if nearer stx, else cubic/quadratic mean.
    opposite = ~higher & (sgnd < 0.0)  # Case 2: derivatives of opposite sign, bracketed.
    falling = ~higher & ~opposite & (absolute(dp) < absolute(dx))  # Case 3.
    # Case 4 is the rest: a lower value, same sign, the derivative does not fall.

    theta, gamma = _cubic(stx, fx, dx, stp, fp, dp, xp)
    signed = where(stp < stx, -gamma, gamma)
    p = (signed - dx) + theta
    q = ((signed - dx) + signed) + dp
    stpc = stx + p / q * (stp - stx)
    stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
    step_higher = where(absolute(stpc - stx) < absolute(stpq - stx), stpc,
                        stpc + (stpq - stpc) / 2.0)

    signed = where(stp > stx, -gamma, gamma)
    p = (signed - dp) + theta
    q = ((signed - dp) + signed) + dx
    stpc = stp + p / q * (stx - stp)
    secant = stp + (dp / (dp - dx)) * (stx - stp)
    step_opposite = where(absolute(stpc - stp) > absolute(secant - stp), stpc, secant)

    theta, gamma = _cubic(stx, fx, dx, stp, fp, dp, xp, clamp=True)
    signed = where(stp > stx, -gamma, gamma)
    p = (signed - dp) + theta
    q = (signed + (dx - dp)) + signed
    r = p / q
    stpc = where((r < 0.0) & (gamma != 0.0), stp + r * (stx - stp),
                 where(stp > stx, stpmax, stpmin))
    nearer = where(absolute(stpc - stp) < absolute(secant - stp), stpc, secant)
    limit = stp + 0.66 * (sty - stp)
    inside = where(stp > stx, xp.minimum(limit, nearer), xp.maximum(limit, nearer))
    farther = where(absolute(stpc - stp) > absolute(secant - stp), stpc, secant)
    step_falling = where(brackt, inside, xp.maximum(stpmin, xp.minimum(stpmax, farther)))

    theta, gamma = _cubic(stp, fp, dp, sty, fy, dy, xp)
    signed = where(stp > sty, -gamma, gamma)
    p = (signed - dp) + theta
    q = ((signed - dp) + signed) + dy
    step_rest = where(brackt, stp + p / q * (sty - stp), where(stp > stx, stpmax, stpmin))

    stpf = where(higher, step_higher, where(opposite, step_opposite,
                                            where(falling, step_falling, step_rest)))
    # The new interval: a higher value becomes its far end; otherwise the trial becomes
    # its near end, and the old near end the far one when the derivatives changed sign.
    swap = ~higher & (sgnd < 0.0)
    sty, fy, dy = (where(higher, stp, where(swap, stx, sty)),
                   where(higher, fp, where(swap, fx, fy)),
                   where(higher, dp, where(swap, dx, dy)))
    stx, fx, dx = where(higher, stx, stp), where(higher, fx, fp), where(higher, dx, dp)
    return stx, fx, dx, sty, fy, dy, stpf, brackt | higher | opposite


def begin(f0, g0, stp, *, stpmin=SETTINGS["stpmin"], stpmax=SETTINGS["stpmax"], xp=np):
    """The search's state before its first evaluation, at trial step `stp`, from φ(0) = f0
    and φ'(0) = g0 < 0."""
    zero = xp.zeros_like(f0)
    width = xp.zeros_like(f0) + (stpmax - stpmin)
    return Search(stp=stp + zero, stx=zero, fx=f0, gx=g0, sty=zero, fy=f0, gy=g0,
                  stmin=zero, stmax=stp + XTRAP_UPPER * stp + zero, width=width,
                  width1=width / 0.5, brackt=xp.asarray(False), stage2=xp.asarray(False),
                  f0=f0, g0=g0, evaluations=xp.asarray(0, "int32"))


def advance(search, f, g, *, ftol=SETTINGS["ftol"], gtol=SETTINGS["gtol"],
            xtol=SETTINGS["xtol"], stpmin=SETTINGS["stpmin"], stpmax=SETTINGS["stpmax"],
            max_evaluations=SETTINGS["max_evaluations"], xp=np):
    """dcsrch after one evaluation φ(search.stp) = f, φ'(search.stp) = g.

    Returns:
        (search, code): code SEARCHING, and the state whose `stp` is the next trial step;
        or the code that ends the search, and the state whose `stp` is the step just
        evaluated (dcsrch ends at its last evaluation).
    """
    where = xp.where
    s, stp = search, search.stp
    gtest = ftol * s.g0
    ftest = s.f0 + stp * gtest
    stage2 = s.stage2 | ((f <= ftest) & (g >= 0.0))
    code = where(s.brackt & ((stp <= s.stmin) | (stp >= s.stmax)), ROUNDING, SEARCHING)
    code = where(s.brackt & (s.stmax - s.stmin <= xtol * s.stmax), XTOL, code)
    code = where((stp == stpmax) & (f <= ftest) & (g <= gtest), STPMAX, code)
    code = where((stp == stpmin) & ((f > ftest) | (g >= gtest)), STPMIN, code)
    code = where((f <= ftest) & (xp.abs(g) <= gtol * (-s.g0)), CONVERGENCE, code)
    evaluations = s.evaluations + 1
    code = where((code == SEARCHING) & (evaluations >= max_evaluations), FAILED, code)

    # In stage 1 a step with a lower value but no sufficient decrease is taken on the
    # modified function ψ(t) = φ(t) - φ(0) - ftol t φ'(0) (Moré & Thuente, Sec. 2).
    modified = ~stage2 & (f <= s.fx) & (f > ftest)
    shift = where(modified, gtest, 0.0)
    stx, fx, gx, sty, fy, gy, new_stp, brackt = dcstep(
        s.stx, s.fx - s.stx * shift, s.gx - shift, s.sty, s.fy - s.sty * shift,
        s.gy - shift, stp, f - stp * shift, g - shift, s.brackt, s.stmin, s.stmax, xp)
    fx, fy, gx, gy = fx + stx * shift, fy + sty * shift, gx + shift, gy + shift
    # Bisect when the interval did not shrink enough.
    bisect = brackt & (xp.abs(sty - stx) >= 0.66 * s.width1)
    new_stp = where(bisect, stx + 0.5 * (sty - stx), new_stp)
    width1, width = where(brackt, s.width, s.width1), where(brackt, xp.abs(sty - stx), s.width)
    stmin = where(brackt, xp.minimum(stx, sty), new_stp + XTRAP_LOWER * (new_stp - stx))
    stmax = where(brackt, xp.maximum(stx, sty), new_stp + XTRAP_UPPER * (new_stp - stx))
    new_stp = xp.minimum(xp.maximum(new_stp, stpmin), stpmax)
    # No further progress possible: the best point so far.
    stuck = brackt & ((new_stp <= stmin) | (new_stp >= stmax) | (stmax - stmin <= xtol * stmax))
    new_stp = where(stuck, stx, new_stp)
    searching = code == SEARCHING
    advanced = Search(stp=new_stp, stx=stx, fx=fx, gx=gx, sty=sty, fy=fy, gy=gy,
                      stmin=stmin, stmax=stmax, width=width, width1=width1, brackt=brackt,
                      stage2=stage2, f0=s.f0, g0=s.g0, evaluations=evaluations)
    return Search(*(where(searching, new, old) for new, old in zip(advanced, s))), code


def search(phi, f0, g0, stp, *, ftol=SETTINGS["ftol"], gtol=SETTINGS["gtol"],
           xtol=SETTINGS["xtol"], stpmin=SETTINGS["stpmin"], stpmax=SETTINGS["stpmax"],
           max_evaluations=SETTINGS["max_evaluations"]):
    """A step satisfying the strong Wolfe conditions (dcsrch), on the host in float64.

    Args:
        phi: t -> (φ(t), φ'(t)), evaluated at the trial steps in turn.
        f0, g0: φ(0) and φ'(0) < 0.
        stp: the first trial step.
        ftol, gtol, xtol, stpmin, stpmax: as dcsrch (L-BFGS-B's values by default).
        max_evaluations: the evaluations allowed (L-BFGS-B's maxls).

    Returns:
        (step, message): message is "CONVERGENCE" or one of dcsrch's warnings
        ("WARNING: ..."), after which the step is still usable, or "FAILED" when the
        evaluations ran out. The last evaluated step is the one returned, as in dcsrch.
    """
    if g0 >= 0.0:
        raise ValueError("the search direction is not a descent direction")
    state = begin(np.float64(f0), np.float64(g0), np.float64(stp), stpmin=stpmin,
                  stpmax=stpmax)
    with np.errstate(all="ignore"):  # The cases not taken may divide by zero.
        while True:
            f, g = phi(float(state.stp))
            state, code = advance(state, np.float64(f), np.float64(g), ftol=ftol, gtol=gtol,
                                  xtol=xtol, stpmin=stpmin, stpmax=stpmax,
                                  max_evaluations=max_evaluations)
            if code != SEARCHING:
                return float(state.stp), MESSAGES[int(code)]
