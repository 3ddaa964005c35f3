"""Erlang C (M/M/n) and Erlang A (M/M/n+M): performance and agents required, vectorised.

Every function takes numpy arrays with one element per interval (scalars broadcast) and works in
seconds: ``calls`` per interval of ``interval_s`` seconds, average handling time ``aht_s``,
target answer time ``answer_time_s``, mean patience ``patience_s``.

Numerics: no factorials or powers. Erlang B is the ratio of a Poisson probability to its
cumulative distribution (``scipy.special``), computed in log space, with a convergent series
where the distribution function underflows. Erlang A uses the function

    A(x, y) = 1 + sum_{j>=1} y^j / ((x+1)(x+2)...(x+j)),   x = n*mu/theta,  y = lambda/theta

(Mandelbaum & Zeltyn), from which the probability of waiting, of abandoning, and of being
answered within t all follow in closed form; the tests check them against a simulation
(:func:`staffing.simulation.simulate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

ArrayLike = np.typing.ArrayLike
MAX_AGENTS = 10_000_000


# --------------------------------------------------------------------------- validation


def _check(
    name: str,
    value: ArrayLike,
    *,
    low: float,
    low_open: bool,
    high: float | None = None,
    high_open: bool = True,
) -> np.ndarray:
    """Validate an input array; the error names the argument and the first bad interval."""
    array = np.asarray(value, dtype=float)
    bad = ~np.isfinite(array)
    bad |= (array <= low) if low_open else (array < low)
    if high is not None:
        bad |= (array >= high) if high_open else (array > high)
    if bad.any():
        index = np.argwhere(bad)[0]
        where = f"[{', '.join(str(i) for i in index)}]" if array.ndim else ""
        shown = float(array[tuple(index)]) if array.ndim else float(array)
        lo = f"> {low:g}" if low_open else f">= {low:g}"
        hi = "" if high is None else (f" and < {high:g}" if high_open else f" and <= {high:g}")
        raise ValueError(f"{name}{where} = {shown!r}: must be a finite number {lo}{hi}")
    return array


def _check_agents(agents: ArrayLike) -> np.ndarray:
    array = _check("agents", agents, low=0, low_open=False)
    fractional = array != np.floor(array)
    if fractional.any():
        index = np.argwhere(fractional)[0]
        raise ValueError(
            f"agents[{', '.join(map(str, index))}] = {float(array[tuple(index)])!r}: must be a whole number"
        )
    return array


def traffic(calls: ArrayLike, interval_s: ArrayLike, aht_s: ArrayLike) -> np.ndarray:
    """Offered load in Erlangs: calls x AHT / interval length."""
    calls = _check("calls", calls, low=0, low_open=False)
    interval_s = _check("interval_s", interval_s, low=0, low_open=True)
    aht_s = _check("aht_s", aht_s, low=0, low_open=True)
    return calls * aht_s / interval_s


# --------------------------------------------------------------------------- Erlang B and C


def erlang_b(agents: ArrayLike, load: ArrayLike) -> np.ndarray:
    """Blocking probability of M/M/n/n: Poisson(load) pmf at n over its cdf at n."""
    n, a = np.broadcast_arrays(_check_agents(agents), _check("load", load, low=0, low_open=False))
    out = np.zeros(n.shape)
    out[n == 0] = 1.0
    live = (n > 0) & (a > 0)
    if not live.any():
        return out
    nn, aa = n[live], a[live]
    log_pmf = nn * np.log(aa) - aa - special.gammaln(nn + 1)
    with np.errstate(divide="ignore"):
        log_cdf = np.log(special.pdtr(nn, aa))
    result = np.exp(log_pmf - log_cdf)
    # Heavily overloaded (load >> agents): the cdf underflows, but 1/B = sum_k prod_{i<k} (n-i)/a
    # converges fast there because n/a is small.
    weak = ~np.isfinite(log_cdf) | (log_cdf < -700)
    if weak.any():
        result[weak] = 1.0 / _falling_series(nn[weak], aa[weak])
    out[live] = np.clip(result, 0.0, 1.0)
    return out


def _falling_series(n: np.ndarray, a: np.ndarray, max_terms: int = 100_000) -> np.ndarray:
    """sum_{k=0}^{n} prod_{i<k} (n-i)/a, for n < a (terms shrink geometrically)."""
    total = np.ones_like(a)
    term = np.ones_like(a)
    k = 0
    active = np.ones(a.shape, dtype=bool)
    while active.any() and k < max_terms:
        term = np.where(active, term * np.maximum(n - k, 0) / a, 0.0)
        total += term
        k += 1
        active &= term > 1e-17 * total
    return total


def erlang_c(agents: ArrayLike, load: ArrayLike) -> np.ndarray:
    """Probability that a call waits (M/M/n). 1 where agents <= load (the queue grows)."""
    n, a = np.broadcast_arrays(_check_agents(agents), _check("load", load, low=0, low_open=False))
    out = np.ones(n.shape)
    out[a == 0] = 0.0
    stable = (n > a) & (a > 0)
    if stable.any():
        b = erlang_b(n[stable], a[stable])
        ns, as_ = n[stable], a[stable]
        out[stable] = ns * b / (ns - as_ * (1.0 - b))
    return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True)
class QueuePerformance:
    """Performance per interval; arrays aligned with the input intervals."""

    agents: np.ndarray
    load: np.ndarray
    p_wait: np.ndarray
    service_level: np.ndarray
    asa_s: np.ndarray
    occupancy: np.ndarray
    p_abandon: np.ndarray


def erlang_c_performance(
    calls: ArrayLike,
    agents: ArrayLike,
    *,
    interval_s: ArrayLike,
    aht_s: ArrayLike,
    answer_time_s: ArrayLike,
) -> QueuePerformance:
    """P(wait), service level within ``answer_time_s``, ASA and occupancy with ``agents`` on line.

    Unstable intervals (agents <= load, calls > 0) have service level 0 and infinite ASA.
    """
    a = traffic(calls, interval_s, aht_s)
    n = _check_agents(agents)
    t = _check("answer_time_s", answer_time_s, low=0, low_open=False)
    aht = np.asarray(aht_s, dtype=float)
    a, n, t, aht = np.broadcast_arrays(a, n, t, aht)
    c = erlang_c(n, a)
    stable = n > a
    gap = np.where(stable, n - a, 1.0)
    service = np.where(stable, 1.0 - c * np.exp(-gap * t / aht), 0.0)
    asa = np.where(stable, c * aht / gap, np.inf)
    service = np.where(a == 0, 1.0, service)
    asa = np.where(a == 0, 0.0, asa)
    occupancy = np.where(n > 0, np.minimum(a / np.where(n > 0, n, 1.0), 1.0), 0.0)
    return QueuePerformance(n, a, c, np.clip(service, 0.0, 1.0), asa, occupancy, np.zeros_like(a))


def _smallest(predicate, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Smallest integer n in [low, high] with predicate(n, mask) true, for every element at once.

    ``predicate`` must be monotone in n. ``high`` is doubled until it satisfies the predicate.
    """
    low = low.astype(np.int64).copy()
    high = np.maximum(high.astype(np.int64), low)
    ok = predicate(high, np.ones(low.shape, dtype=bool))
    while not ok.all():
        grow = ~ok
        if (high[grow] >= MAX_AGENTS).any():
            raise ValueError("target cannot be met with fewer than 10 million agents")
        high[grow] = np.minimum(high[grow] * 2 + 1, MAX_AGENTS)
        ok[grow] = predicate(high, grow)[grow]
    # bisection: predicate(high) holds; find the first n in [low, high] where it holds
    lo = low - 1  # predicate(lo) treated as false
    while True:
        open_ = high - lo > 1
        if not open_.any():
            return high
        mid = np.where(open_, (lo + high) // 2, high)
        good = predicate(mid, open_)
        high = np.where(open_ & good, mid, high)
        lo = np.where(open_ & ~good, mid, lo)


def agents_for_service_level(
    calls: ArrayLike,
    *,
    interval_s: ArrayLike,
    aht_s: ArrayLike,
    service_level: ArrayLike,
    answer_time_s: ArrayLike,
    max_occupancy: ArrayLike = 1.0,
) -> np.ndarray:
    """Fewest agents on line so that ``service_level`` of calls are answered within
    ``answer_time_s`` (Erlang C), and occupancy stays at or below ``max_occupancy``.
    0 calls need 0 agents."""
    a = traffic(calls, interval_s, aht_s)
    target = _check("service_level", service_level, low=0, low_open=True, high=1)
    t = _check("answer_time_s", answer_time_s, low=0, low_open=False)
    occ = _check("max_occupancy", max_occupancy, low=0, low_open=True, high=1, high_open=False)
    aht = np.asarray(aht_s, dtype=float)
    a, target, t, occ, aht = (np.ravel(x) for x in np.broadcast_arrays(a, target, t, occ, aht))
    shape = np.broadcast_shapes(
        np.shape(calls),
        np.shape(aht_s),
        np.shape(service_level),
        np.shape(answer_time_s),
        np.shape(max_occupancy),
        np.shape(interval_s),
    )

    def meets(n: np.ndarray, c: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return 1.0 - c * np.exp(-(n - a[idx]) * t[idx] / aht[idx]) >= target[idx]

    return _walk_up(a, occ, meets).reshape(shape)


def agents_for_asa(
    calls: ArrayLike,
    *,
    interval_s: ArrayLike,
    aht_s: ArrayLike,
    asa_s: ArrayLike,
    max_occupancy: ArrayLike = 1.0,
) -> np.ndarray:
    """Fewest agents on line so that the average speed of answer is at most ``asa_s`` (Erlang C)."""
    a = traffic(calls, interval_s, aht_s)
    limit = _check("asa_s", asa_s, low=0, low_open=True)
    occ = _check("max_occupancy", max_occupancy, low=0, low_open=True, high=1, high_open=False)
    aht = np.asarray(aht_s, dtype=float)
    shape = np.broadcast_shapes(
        np.shape(calls),
        np.shape(aht_s),
        np.shape(asa_s),
        np.shape(max_occupancy),
        np.shape(interval_s),
    )
    a, limit, occ, aht = (np.ravel(x) for x in np.broadcast_arrays(a, limit, occ, aht))

    def meets(n: np.ndarray, c: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return c * aht[idx] / (n - a[idx]) <= limit[idx]

    return _walk_up(a, occ, meets).reshape(shape)


def _walk_up(a: np.ndarray, occ: np.ndarray, meets) -> np.ndarray:
    """Fewest agents n > load (and >= load / max occupancy) for which ``meets`` holds.

    Erlang B is computed exactly once, at the lower bound, then carried upward with the stable
    recursion B(n+1) = a B / (n + 1 + a B): each further step is plain arithmetic on the
    intervals not yet satisfied.
    """
    shape = a.shape
    a, occ = a.ravel(), occ.ravel()
    out = np.zeros(a.size, dtype=np.int64)
    idx = np.flatnonzero(a > 0)
    load = a[idx]
    n = np.maximum(np.floor(load) + 1, np.ceil(load / occ[idx] - 1e-9))
    b = erlang_b(n, load)
    while idx.size:
        c = n * b / (n - load * (1.0 - b))
        ok = meets(n, c, idx)
        out[idx[ok]] = n[ok]
        keep = ~ok
        idx, load, n, b = idx[keep], load[keep], n[keep] + 1, b[keep]
        if idx.size and n.max() > MAX_AGENTS:
            raise ValueError("target cannot be met with fewer than 10 million agents")
        b = load * b / (n + load * b)
    return out.reshape(shape)


def scheduled_agents(agents: ArrayLike, shrinkage: ArrayLike) -> np.ndarray:
    """Agents to schedule so that ``agents`` remain on line after ``shrinkage`` (0 <= s < 1)."""
    n = _check_agents(agents)
    s = _check("shrinkage", shrinkage, low=0, low_open=False, high=1)
    return np.ceil(n / (1.0 - s) - 1e-9).astype(np.int64)


# --------------------------------------------------------------------------- Erlang A


def _a_function(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A(x, y) = x e^y y^-x gamma_lower(x, y) = 1 + sum_j y^j / prod_{k<=j} (x+k)."""
    out = np.ones(np.broadcast(x, y).shape)
    x, y = np.broadcast_arrays(x, y)
    live = y > 0
    if not live.any():
        return out
    xs, ys = x[live], y[live]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_p = np.log(special.gammainc(xs, ys))
        log_a = np.log(xs) + ys - xs * np.log(ys) + special.gammaln(xs) + log_p
        value = np.exp(log_a)
    weak = ~np.isfinite(value) | (log_p < -700)
    if weak.any():
        value[weak] = _rising_series(xs[weak], ys[weak])
    out[live] = np.maximum(value, 1.0)
    return out


def _rising_series(x: np.ndarray, y: np.ndarray, max_terms: int = 1_000_000) -> np.ndarray:
    """1 + sum_j prod_{k<=j} y/(x+k), used where y << x (the terms shrink fast)."""
    total = np.ones_like(y)
    term = np.ones_like(y)
    active = np.ones(y.shape, dtype=bool)
    k = 1
    while active.any() and k < max_terms:
        term = np.where(active, term * y / (x + k), 0.0)
        total += term
        k += 1
        active &= (term > 1e-17 * total) | (y > x + k)
    return total


def erlang_a_performance(
    calls: ArrayLike,
    agents: ArrayLike,
    *,
    interval_s: ArrayLike,
    aht_s: ArrayLike,
    patience_s: ArrayLike,
    answer_time_s: ArrayLike,
    asa_nodes: int = 48,
) -> QueuePerformance:
    """M/M/n+M (Erlang A) with exponential patience of mean ``patience_s``.

    ``service_level`` is the share of *all offered* calls answered within ``answer_time_s``
    (callers who abandon count as not answered); ``p_abandon`` the share that hang up while
    waiting; ``asa_s`` the mean wait of answered calls; ``occupancy`` the agents' busy share.
    """
    calls = _check("calls", calls, low=0, low_open=False)
    interval = _check("interval_s", interval_s, low=0, low_open=True)
    aht = _check("aht_s", aht_s, low=0, low_open=True)
    patience = _check("patience_s", patience_s, low=0, low_open=True)
    t = _check("answer_time_s", answer_time_s, low=0, low_open=False)
    n = _check_agents(agents)
    calls, interval, aht, patience, t, n = np.broadcast_arrays(calls, interval, aht, patience, t, n)
    shape = calls.shape
    lam, mu, theta = calls / interval, 1.0 / aht, 1.0 / patience
    load = lam / mu
    p_wait = np.zeros(shape)
    p_ab = np.zeros(shape)
    service = np.ones(shape)
    asa = np.zeros(shape)
    occupancy = np.zeros(shape)

    none = (n == 0) & (lam > 0)  # nobody to answer: everyone abandons
    p_wait[none], p_ab[none], service[none], asa[none] = 1.0, 1.0, 0.0, np.nan
    live = (n > 0) & (lam > 0)
    if live.any():
        nl, lam_l, mu_l, th_l, t_l = n[live], lam[live], mu[live], theta[live], t[live]
        x, y = nl * mu_l / th_l, lam_l / th_l
        big_a = _a_function(x, y)
        e_b = erlang_b(nl, load[live])
        pi_n = e_b / (1.0 + (big_a - 1.0) * e_b)
        served_after_wait = pi_n * (big_a - 1.0) * x / y
        p_wait[live] = pi_n * big_a
        p_ab[live] = np.clip(p_wait[live] - served_after_wait, 0.0, 1.0)

        def served_within(tt: np.ndarray) -> np.ndarray:
            q = np.exp(-th_l * tt)
            tail = x * np.exp(x * np.log(q) + y * (1.0 - q)) * (_a_function(x, q * y) - 1.0) / y
            return (1.0 - p_wait[live]) + pi_n * ((big_a - 1.0) * x / y - tail)

        service[live] = np.clip(served_within(t_l), 0.0, 1.0)
        if asa_nodes:
            # Mean wait of answered calls: integral over t of P(answered, wait > t), by
            # Gauss-Laguerre on the slowest decay rate of that tail.
            nodes, weights = np.polynomial.laguerre.laggauss(asa_nodes)
            rate = th_l + np.maximum(nl * mu_l - lam_l, 0.0)
            p_served = 1.0 - p_ab[live]
            integral = np.zeros_like(rate)
            for node, weight in zip(nodes, weights, strict=True):
                tt = node / rate
                integral += (
                    weight * np.exp(node) * np.maximum(p_served - served_within(tt), 0.0) / rate
                )
            asa[live] = np.where(
                p_served > 0, integral / np.where(p_served > 0, p_served, 1.0), np.nan
            )
        else:
            asa[live] = np.nan  # not asked for (the agents search needs no ASA)
        occupancy[live] = np.minimum(load[live] * (1.0 - p_ab[live]) / nl, 1.0)
    return QueuePerformance(n, load, p_wait, service, asa, occupancy, p_ab)


def agents_for_service_level_erlang_a(
    calls: ArrayLike,
    *,
    interval_s: ArrayLike,
    aht_s: ArrayLike,
    patience_s: ArrayLike,
    service_level: ArrayLike,
    answer_time_s: ArrayLike,
    max_abandon: ArrayLike = 1.0,
    max_occupancy: ArrayLike = 1.0,
) -> np.ndarray:
    """Fewest agents so that ``service_level`` of offered calls are answered within
    ``answer_time_s`` with impatient callers (Erlang A), at most ``max_abandon`` of callers
    abandon, and occupancy stays at or below ``max_occupancy``. Fewer agents than the offered
    load are considered: abandonment can make that enough."""
    calls = _check("calls", calls, low=0, low_open=False)
    target = _check("service_level", service_level, low=0, low_open=True, high=1)
    ab_cap = _check("max_abandon", max_abandon, low=0, low_open=True, high=1, high_open=False)
    occ = _check("max_occupancy", max_occupancy, low=0, low_open=True, high=1, high_open=False)
    interval = _check("interval_s", interval_s, low=0, low_open=True)
    aht = _check("aht_s", aht_s, low=0, low_open=True)
    patience = _check("patience_s", patience_s, low=0, low_open=True)
    t = _check("answer_time_s", answer_time_s, low=0, low_open=False)
    calls, target, ab_cap, occ, interval, aht, patience, t = np.broadcast_arrays(
        calls, target, ab_cap, occ, interval, aht, patience, t
    )
    load = calls * aht / interval

    def meets(n: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = np.ones(n.shape, dtype=bool)
        m = mask & (calls > 0)
        if m.any():
            perf = erlang_a_performance(
                calls[m],
                n[m],
                interval_s=interval[m],
                aht_s=aht[m],
                patience_s=patience[m],
                answer_time_s=t[m],
                asa_nodes=0,
            )
            out[m] = (
                (perf.service_level >= target[m])
                & (perf.p_abandon <= ab_cap[m])
                & (perf.occupancy <= occ[m] + 1e-12)
            )
        return out

    low = np.where(calls > 0, 1, 0)
    guess = np.ceil(load + 4 * np.sqrt(load)) + 2
    n = _smallest(meets, low, guess)
    return np.where(calls > 0, n, 0).astype(np.int64)
