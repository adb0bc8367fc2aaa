"""Welch's t-test and Benjamini-Hochberg in numpy (scipy is not a runtime dependency).

The same mathematics as the SQL macros `t_dist_sf` and `betainc_cf` (sql/), so markers computed
at build time agree with `differential_search`: the upper tail of Student's t is
`0.5 * I_x(df/2, 1/2)` with `x = df / (df + t^2)`, the regularized incomplete beta evaluated
by its continued fraction (or by the symmetry `I_x(a, b) = 1 - I_{1-x}(b, a)` where that
converges faster). Agrees with scipy.stats.t.sf to ~1e-10 relative (tests/test_microarray_tdist.py).
"""

from __future__ import annotations

import numpy as np

_LANCZOS_G = 7.0
_LANCZOS = np.array([0.99999999999980993, 676.5203681218851, -1259.1392167224028,
                     771.32342877765313, -176.61502916214059, 12.507343278686905,
                     -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7])


def lgamma(z: np.ndarray) -> np.ndarray:
    """log Gamma(z) for z >= 0.5 (Lanczos, g = 7)."""
    z = np.asarray(z, dtype=np.float64) - 1.0
    series = np.full_like(z, _LANCZOS[0])
    for k in range(1, len(_LANCZOS)):
        series += _LANCZOS[k] / (z + k)
    t = z + _LANCZOS_G + 0.5
    return 0.5 * np.log(2 * np.pi) + (z + 0.5) * np.log(t) - t + np.log(series)


def _betacf(a: np.ndarray, b: np.ndarray, x: np.ndarray, terms: int = 80) -> np.ndarray:
    """The continued fraction of I_x(a, b) (without its prefactor), evaluated from the tail."""
    acc = np.ones_like(x)
    for k in range(terms, 0, -1):
        m = k // 2
        if k % 2 == 0:
            d = m * (b - m) * x / ((a + k - 1) * (a + k))
        else:
            d = -(a + m) * (a + b + m) * x / ((a + k - 1) * (a + k))
        acc = 1.0 + d / acc
    return 1.0 / acc


def _front(a: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x^a y^b / (a B(a, b)) with y = 1 - x given separately (no cancellation)."""
    log_beta = lgamma(a) + lgamma(b) - lgamma(a + b)
    with np.errstate(divide="ignore"):  # x or y = 0 (t = 0 or infinite): the front is 0
        return np.exp(a * np.log(x) + b * np.log(y) - log_beta) / a


def t_sf(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """P(T > t) for Student's t with df degrees of freedom (df may be fractional: Welch)."""
    t = np.asarray(t, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    out = np.full(np.broadcast(t, df).shape, np.nan)
    t, df = np.broadcast_arrays(t, df)
    ok = np.isfinite(t) & np.isfinite(df) & (df > 0)
    out[np.isposinf(t) & (df > 0)] = 0.0
    out[np.isneginf(t) & (df > 0)] = 1.0
    tt, dd = t[ok], df[ok]
    t2 = tt * tt
    x, y = dd / (dd + t2), t2 / (dd + t2)
    half = np.full_like(dd, 0.5)
    direct = t2 > 3.0 * dd / (dd + 2.0)  # the continued fraction of I_x(df/2, 1/2) converges
    tail = np.empty_like(tt)  # 0.5 * I_x(df/2, 1/2) = P(|T| > |t|) / 2
    a, b, xd, yd = dd[direct] / 2, half[direct], x[direct], y[direct]
    tail[direct] = 0.5 * _front(a, b, xd, yd) * _betacf(a, b, xd)
    s = ~direct
    a, b, xs, ys = half[s], dd[s] / 2, y[s], x[s]
    tail[s] = 0.5 * (1.0 - _front(a, b, xs, ys) * _betacf(a, b, xs))
    out[ok] = np.where(tt >= 0, tail, 1.0 - tail)
    return out


def welch(n1, s1, q1, n2, s2, q2):
    """Welch's t from counts, sums and sums of squares: (mean1, mean2, t, df)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m2 = s1 / n1, s2 / n2
        v1 = (q1 - s1 * m1) / (n1 - 1)
        v2 = (q2 - s2 * m2) / (n2 - 1)
        e1, e2 = v1 / n1, v2 / n2
        t = (m1 - m2) / np.sqrt(e1 + e2)
        df = (e1 + e2) ** 2 / (e1 * e1 / (n1 - 1) + e2 * e2 / (n2 - 1))
    return m1, m2, t, df


def bh(p: np.ndarray, m: int | None = None) -> np.ndarray:
    """Benjamini-Hochberg q-values of p (NaN stays NaN); m defaults to the non-NaN count."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid) if m is None else m
    order = valid[np.argsort(p[valid], kind="stable")]
    ranked = p[order] * m / np.arange(1, len(order) + 1)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q
