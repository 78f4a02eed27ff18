"""The line search of L-BFGS-B: Moré & Thuente's, as MINPACK-2's dcsrch and dcstep.

J. J. Moré, D. J. Thuente, "Line Search Algorithms with Guaranteed Sufficient Decrease",
ACM TOMS 20(3), 1994. Along a direction d from x, with φ(t) = f(x + t d), it looks for a
step t satisfying the strong Wolfe conditions (Nocedal & Wright, Eq. 3.7):

    φ(t) <= φ(0) + ftol · t · φ'(0)        (sufficient decrease)
    |φ'(t)| <= gtol · |φ'(0)|              (curvature)

by safeguarded cubic and quadratic interpolation inside an interval that brackets such a
step. L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995; Zhu et al. 1997, v3.0) calls it with
ftol = 1e-3, gtol = 0.9, xtol = 0.1 and at most 20 evaluations, and so does
`optimize.lbfgs_device`, so that both take the same steps. Only scalars live here: the
caller evaluates φ and φ' wherever its vectors are (on the device).
"""

XTRAP_LOWER, XTRAP_UPPER = 1.1, 4.0  # dcsrch's extrapolation bounds.


def _cubic(st_a, f_a, d_a, st_b, f_b, d_b, clamp=False):
    """θ and γ (unsigned) of the cubic through (st_a, f_a, d_a) and (st_b, f_b, d_b), as
    dcstep computes them, scaled by s against overflow; `clamp` floors the radicand at 0
    (the case where the cubic may have no minimiser)."""
    theta = 3.0 * (f_a - f_b) / (st_b - st_a) + d_a + d_b
    s = max(abs(theta), abs(d_a), abs(d_b))
    radicand = (theta / s) ** 2 - (d_a / s) * (d_b / s)
    return theta, s * (max(0.0, radicand) if clamp else radicand) ** 0.5


def dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """One safeguarded step of the search (dcstep): the new step, and the interval
    [stx, sty] updated to still contain a minimiser. Returns (stx, fx, dx, sty, fy, dy,
    stp, brackt)."""
    sgnd = dp * (dx / abs(dx))
    if fp > fx:  # A higher value: bracketed; cubic if nearer stx, else cubic/quadratic mean.
        theta, gamma = _cubic(stx, fx, dx, stp, fp, dp)
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        stpc = stx + p / q * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        stpf = stpc if abs(stpc - stx) < abs(stpq - stx) else stpc + (stpq - stpc) / 2.0
        brackt = True
    elif sgnd < 0.0:  # Lower value, derivatives of opposite sign: bracketed.
        theta, gamma = _cubic(stx, fx, dx, stp, fp, dp)
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        stpc = stp + p / q * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        brackt = True
    elif abs(dp) < abs(dx):  # Lower value, same sign, the derivative's magnitude falls.
        theta, gamma = _cubic(stx, fx, dx, stp, fp, dp, clamp=True)
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0.0 and gamma != 0.0:
            stpc = stp + r * (stx - stp)
        elif stp > stx:
            stpc = stpmax
        else:
            stpc = stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            if stp > stx:
                stpf = min(stp + 0.66 * (sty - stp), stpf)
            else:
                stpf = max(stp + 0.66 * (sty - stp), stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = max(stpmin, min(stpmax, stpf))
    else:  # Lower value, same sign, the derivative does not fall.
        if brackt:
            theta, gamma = _cubic(stp, fp, dp, sty, fy, dy)
            if stp > sty:
                gamma = -gamma
            p = (gamma - dp) + theta
            q = ((gamma - dp) + gamma) + dy
            stpf = stp + p / q * (sty - stp)
        elif stp > stx:
            stpf = stpmax
        else:
            stpf = stpmin
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0.0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt


def search(phi, f0, g0, stp, *, ftol=1e-3, gtol=0.9, xtol=0.1, stpmin=0.0, stpmax=1e10,
           max_evaluations=20):
    """A step satisfying the strong Wolfe conditions (dcsrch).

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
    brackt, stage = False, 1
    gtest = ftol * g0
    width = stpmax - stpmin
    width1 = width / 0.5
    stx, fx, gx = 0.0, f0, g0
    sty, fy, gy = 0.0, f0, g0
    stmin, stmax = 0.0, stp + XTRAP_UPPER * stp
    for _ in range(max_evaluations):
        f, g = phi(stp)
        ftest = f0 + stp * gtest
        if stage == 1 and f <= ftest and g >= 0.0:
            stage = 2
        message = None
        if brackt and (stp <= stmin or stp >= stmax):
            message = "WARNING: ROUNDING ERRORS PREVENT PROGRESS"
        if brackt and stmax - stmin <= xtol * stmax:
            message = "WARNING: XTOL TEST SATISFIED"
        if stp == stpmax and f <= ftest and g <= gtest:
            message = "WARNING: STP = STPMAX"
        if stp == stpmin and (f > ftest or g >= gtest):
            message = "WARNING: STP = STPMIN"
        if f <= ftest and abs(g) <= gtol * (-g0):
            message = "CONVERGENCE"
        if message:
            return stp, message
        if stage == 1 and f <= fx and f > ftest:  # The modified function ψ of stage 1.
            stx, fxm, gxm, sty, fym, gym, stp, brackt = dcstep(
                stx, fx - stx * gtest, gx - gtest, sty, fy - sty * gtest, gy - gtest, stp,
                f - stp * gtest, g - gtest, brackt, stmin, stmax)
            fx, fy = fxm + stx * gtest, fym + sty * gtest
            gx, gy = gxm + gtest, gym + gtest
        else:
            stx, fx, gx, sty, fy, gy, stp, brackt = dcstep(
                stx, fx, gx, sty, fy, gy, stp, f, g, brackt, stmin, stmax)
        if brackt:  # Bisect when the interval did not shrink enough.
            if abs(sty - stx) >= 0.66 * width1:
                stp = stx + 0.5 * (sty - stx)
            width1, width = width, abs(sty - stx)
            stmin, stmax = min(stx, sty), max(stx, sty)
        else:
            stmin, stmax = stp + XTRAP_LOWER * (stp - stx), stp + XTRAP_UPPER * (stp - stx)
        stp = min(max(stp, stpmin), stpmax)
        if brackt and (stp <= stmin or stp >= stmax or stmax - stmin <= xtol * stmax):
            stp = stx  # No further progress possible: the best point so far.
    return stp, "FAILED"
