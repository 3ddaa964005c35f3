"""The intraday reforecast: the rest of today from the day-ahead forecast and the calls so far.

Per queue, the log ratio of actual to day-ahead calls in each interval of a day,
``z = log((actual + 1) / (forecast + 1))``, is modelled as a Gaussian deviation with a prior
covariance ``K`` over the intervals of the day, observed with Poisson noise (variance
``1 / (forecast + 1)`` on that scale). Given the intervals seen so far today, the reforecast of each
later interval is ``forecast x exp(m)``, where ``m`` is the posterior mean of its deviation
(a Gaussian-process / kriging update; it is the shrunk ratio ``(A + k) / (F + k)`` when ``K`` holds a
day level only).

``K`` mixes two parts:

- a parametric prior: a day level shared by every interval (``level_sd``) plus a deviation that
  fades with the time between intervals (``deviation_sd``, ``persistence_per_hour``): calls running
  above the forecast in the last hour say more about the next hour than about the evening;
- an empirical covariance of past days' deviations by time of day (weight ``empirical_weight``):
  how the morning's surplus carried into the afternoon on past days, which intervals are noisy.

:func:`fit_intraday` fits them on past days (each with the day-ahead forecast made before that day
began): the parametric prior by minimising the rest-of-day WAPE over hourly update times, the
empirical weight by leave-one-day-out WAPE, and the width of the band so that the p10-p90 band held
80 % of the past days' intervals. Without fitting, :data:`DEFAULT` is used (the prior below).

The band (``calls_p10``, ``calls_p90``) is a negative binomial around the reforecast whose
over-dispersion is the posterior variance of the deviation, ``exp(v) - 1``, times the fitted scale.

A queue with no calls so far today (early morning, a closed day) keeps its day-ahead rows unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .calendar import Calendar
from .forecast import COLUMNS
from .history import History, local_dates, regular_grid, slot_of_day
from .models import make_model

LOG_OFFSET = 1.0  # z = log((actual + 1) / (forecast + 1)): defined at zero calls
EMPIRICAL_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)
MIN_FIT_DAYS = 10
HOURLY = pd.Timedelta(hours=1)


class IntradayError(ValueError):
    """The inputs of a reforecast do not fit together (the message says which and why)."""


@dataclass(frozen=True)
class QueueParams:
    """The prior of one queue's deviations from the day-ahead forecast (log scale)."""

    level_sd: float = 0.05
    deviation_sd: float = 0.10
    persistence_per_hour: float = 0.86
    empirical_weight: float = 0.0
    band_scale: float = 1.0
    # empirical covariance by time-of-day slot (slot = slot_of_day at ``slot_freq``), NaN where
    # too few past days saw both slots; None: the parametric prior alone
    empirical: np.ndarray | None = field(default=None, repr=False, compare=False)
    slot_freq: pd.Timedelta | None = None
    fit_days: int = 0
    fit_wape: float | None = None  # rest-of-day WAPE on the fit days: reforecast
    fit_wape_day_ahead: float | None = None  # ... and the day-ahead forecast


DEFAULT = QueueParams()


@dataclass
class IntradayParams:
    """Per-queue priors; a queue not fitted uses ``default``."""

    queues: dict[str, QueueParams] = field(default_factory=dict)
    default: QueueParams = DEFAULT

    def for_queue(self, queue: str) -> QueueParams:
        return self.queues.get(queue, self.default)

    def describe(self) -> str:
        lines = []
        for name, p in (self.queues or {"(default)": self.default}).items():
            gain = (
                f", rest-of-day WAPE {p.fit_wape:.4f} vs day-ahead {p.fit_wape_day_ahead:.4f}"
                if p.fit_wape is not None and p.fit_wape_day_ahead is not None
                else ""
            )
            lines.append(
                f"{name}: level sd {p.level_sd:.3f}, deviation sd {p.deviation_sd:.3f}, "
                f"persistence {p.persistence_per_hour:.2f}/h, empirical weight "
                f"{p.empirical_weight:.1f}, band x{p.band_scale:.2f} ({p.fit_days} days{gain})"
            )
        return "\n".join(lines)


# -- the model


def _hours(index: pd.DatetimeIndex, start: pd.Timestamp) -> np.ndarray:
    return ((index - start) / pd.Timedelta(hours=1)).to_numpy(dtype=float)


def parametric_kernel(hours: np.ndarray, p: QueueParams) -> np.ndarray:
    """Level + fading deviation: ``level_sd^2 + deviation_sd^2 * persistence^|hours apart|``."""
    apart = np.abs(np.subtract.outer(hours, hours))
    return p.level_sd**2 + p.deviation_sd**2 * np.power(p.persistence_per_hour, apart)


def _psd(matrix: np.ndarray) -> np.ndarray:
    """The nearest symmetric positive semi-definite matrix (negative eigenvalues set to 0)."""
    sym = (matrix + np.swapaxes(matrix, -1, -2)) / 2
    values, vectors = np.linalg.eigh(sym)
    return (vectors * np.maximum(values, 0.0)[..., None, :]) @ np.swapaxes(vectors, -1, -2)


def _mix(parametric: np.ndarray, empirical: np.ndarray | None, weight: float) -> np.ndarray:
    if empirical is None or weight <= 0:
        return parametric
    known = np.isfinite(empirical)
    return _psd(
        np.where(known, weight * np.nan_to_num(empirical) + (1 - weight) * parametric, parametric)
    )


def _z(forecast: np.ndarray, actual: np.ndarray) -> np.ndarray:
    return np.log((np.nan_to_num(actual) + LOG_OFFSET) / (np.maximum(forecast, 0.0) + LOG_OFFSET))


def posterior(
    kernel: np.ndarray,
    forecast: np.ndarray,
    actual: np.ndarray,
    observed: np.ndarray,
    variance: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Posterior mean (and variance) of the log deviation of every interval, batched.

    ``kernel``: (S, S) or (n, S, S); ``forecast``, ``actual``, ``observed``: (n, S). Intervals not
    observed carry no evidence. Returns (n, S) arrays."""
    n, size = forecast.shape
    kb = np.broadcast_to(kernel, (n, size, size))
    noise = np.where(observed, 1.0 / (np.maximum(forecast, 0.0) + LOG_OFFSET), 1.0)
    both = observed[:, :, None] & observed[:, None, :]
    system = np.where(both, kb, 0.0) + np.eye(size)[None] * noise[:, :, None]
    z = np.where(observed, _z(forecast, actual), 0.0)
    weights = np.where(observed, np.linalg.solve(system, z[:, :, None])[:, :, 0], 0.0)
    mean = np.einsum("ns,nst->nt", weights, kb)
    if not variance:
        return mean, None
    cross = np.where(observed[:, :, None], kb, 0.0)  # (n, S_obs, S)
    solved = np.linalg.solve(system, cross)
    reduction = np.einsum("nst,nst->nt", cross, solved)
    var = np.maximum(np.diagonal(kb, axis1=1, axis2=2) - reduction, 0.0)
    return mean, var


def nb_quantiles(
    mean: np.ndarray, alpha: np.ndarray, low: float = 0.1, high: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """p10/p90 of negative binomials with these means and per-interval over-dispersion (variance
    mean + alpha mean^2); Poisson where alpha is 0."""
    mean = np.maximum(np.asarray(mean, dtype=float), 0.0)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), mean.shape)
    lo, hi = np.zeros_like(mean), np.zeros_like(mean)
    poisson = (mean > 0) & (alpha <= 1e-9)
    negbin = (mean > 0) & ~poisson
    if poisson.any():
        lo[poisson] = stats.poisson.ppf(low, mean[poisson])
        hi[poisson] = stats.poisson.ppf(high, mean[poisson])
    if negbin.any():
        size = 1.0 / alpha[negbin]
        prob = size / (size + mean[negbin])
        lo[negbin] = stats.nbinom.ppf(low, size, prob)
        hi[negbin] = stats.nbinom.ppf(high, size, prob)
    return lo, hi


def _band(calls: np.ndarray, var: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = nb_quantiles(calls, scale * np.expm1(var))
    return np.minimum(lo, calls), np.maximum(hi, calls)  # the band holds the point forecast


# -- the reforecast


def day_bounds(now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Local midnight before ``now`` and the next one (a DST day is 23 or 25 hours long)."""
    wall = now.tz_localize(None) if now.tz is not None else now
    start, end = wall.normalize(), wall.normalize() + pd.Timedelta(days=1)
    if now.tz is None:
        return start, end
    return (
        start.tz_localize(now.tz, ambiguous=True, nonexistent="shift_forward"),
        end.tz_localize(now.tz, ambiguous=True, nonexistent="shift_forward"),
    )


def forecast_interval(table: pd.DataFrame) -> pd.Timedelta | None:
    """The length of a forecast table's intervals (the commonest step within a queue)."""
    steps = (
        table.sort_values(["queue", "interval_start"])
        .groupby("queue")["interval_start"]
        .diff()
        .dropna()
    )
    steps = steps[steps > pd.Timedelta(0)]
    return pd.Timedelta(steps.mode().iloc[0]) if len(steps) else None


def _same_zone(stamps: pd.Series, history: History, what: str) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(stamps):  # ISO text, as in a CSV
        text = stamps.astype(str).str.strip()
        offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True)
        if history.tz is not None and offset.all():
            stamps = pd.to_datetime(text, utc=True, format="ISO8601")
        else:
            stamps = pd.to_datetime(text, format="ISO8601")
    stamps = pd.to_datetime(stamps)
    aware = stamps.dt.tz is not None
    if history.tz is None:
        if aware:
            raise IntradayError(f"{what} has time zones but the history has plain wall-clock times")
        return stamps
    if not aware:
        raise IntradayError(
            f"{what} has plain wall-clock times but the history is in {history.tz.key}"
        )
    return stamps.dt.tz_convert(history.tz)


def _align_now(now: pd.Timestamp, history: History) -> pd.Timestamp:
    now = pd.Timestamp(now)
    if history.tz is None:
        return now.tz_localize(None) if now.tz is not None else now
    if now.tz is None:
        return now.tz_localize(history.tz, ambiguous=True, nonexistent="shift_forward")
    return now.tz_convert(history.tz)


def reforecast(
    history: History,
    day_ahead: pd.DataFrame,
    now: pd.Timestamp,
    params: IntradayParams | None = None,
) -> pd.DataFrame:
    """The rest of ``now``'s local day per queue and interval: ``queue, interval_start, calls,
    calls_p10, calls_p90`` for every interval that ends after ``now`` (the one in progress
    included) up to the end of that day.

    ``history`` holds actuals up to ``now`` (its later intervals are an error); ``day_ahead`` is the
    forecast made for the day (``hotline forecast``'s table: ``queue, interval_start, calls,
    calls_p10, calls_p90``), covering at least the rest of the day. A finer history is summed to
    the forecast's interval."""
    params = params or IntradayParams()
    now = _align_now(now, history)
    table = day_ahead.copy()
    missing = set(COLUMNS) - set(table.columns)
    if missing:
        raise IntradayError(f"the forecast has no column(s) {', '.join(sorted(missing))}")
    table["interval_start"] = _same_zone(table["interval_start"], history, "the forecast")
    unknown = sorted(set(table["queue"].astype(str)) - set(history.queues))
    if unknown:
        raise IntradayError(
            f"the forecast has queue(s) {', '.join(unknown)} that the history does not have"
            f" (it has {', '.join(history.queues)})"
        )
    freq = forecast_interval(table) or history.freq
    if freq != history.freq:
        if freq < history.freq or freq % history.freq != pd.Timedelta(0):
            raise IntradayError(
                f"the forecast's {freq} intervals do not match the history's {history.freq}"
            )
        history = history.aggregate(freq)
    if len(history.calls) and history.end > now:
        raise IntradayError(
            f"the history runs to {history.end}, after now ({now}): it must hold only the calls so far"
        )
    start, end = day_bounds(now)
    today = table[(table["interval_start"] >= start) & (table["interval_start"] < end)]
    grid = regular_grid(start, end, freq)
    rest_grid = grid[grid + freq > now]
    parts = []
    for queue in dict.fromkeys(table["queue"].astype(str)):
        rows = today[today["queue"].astype(str) == queue].drop_duplicates("interval_start")
        rows = rows.set_index("interval_start").reindex(grid)
        uncovered = rest_grid[rows.loc[rest_grid, "calls"].isna().to_numpy()]
        if len(uncovered):
            raise IntradayError(
                f"the forecast does not cover today's rest for queue {queue}:"
                f" {len(uncovered)} interval(s) from {uncovered[0]} missing"
            )
        parts.append(_reforecast_queue(history, queue, rows, grid, now, params.for_queue(queue)))
    if not parts:
        raise IntradayError("the forecast has no rows")
    out = pd.concat(parts, ignore_index=True)
    return out[COLUMNS]


def _reforecast_queue(
    history: History,
    queue: str,
    rows: pd.DataFrame,
    grid: pd.DatetimeIndex,
    now: pd.Timestamp,
    p: QueueParams,
) -> pd.DataFrame:
    freq = grid[1] - grid[0] if len(grid) > 1 else history.freq
    forecast = rows["calls"].to_numpy(dtype=float)
    known = np.isfinite(forecast)
    forecast = np.where(known, np.maximum(forecast, 0.0), 0.0)
    actual = history.calls[queue].reindex(grid).to_numpy(dtype=float)
    past = np.asarray(grid + freq <= now)
    observed = past & known & np.isfinite(actual) & (forecast > 0)
    rest = ~past
    out = pd.DataFrame(
        {
            "queue": queue,
            "interval_start": grid[rest],
            "calls": forecast[rest],
            "calls_p10": rows["calls_p10"].to_numpy(dtype=float)[rest],
            "calls_p90": rows["calls_p90"].to_numpy(dtype=float)[rest],
        }
    )
    if not (np.nansum(np.where(past, actual, 0.0)) > 0 and observed.any()):
        return out  # no calls so far today: the day-ahead forecast stands
    kernel = _queue_kernel(grid, p)
    mean, var = posterior(kernel, forecast[None], actual[None], observed[None], variance=True)
    calls = forecast[rest] * np.exp(mean[0, rest])
    lo, hi = _band(calls, var[0, rest], p.band_scale)
    out["calls"], out["calls_p10"], out["calls_p90"] = calls, lo, hi
    return out


def _queue_kernel(grid: pd.DatetimeIndex, p: QueueParams) -> np.ndarray:
    kernel = parametric_kernel(_hours(grid, grid[0]), p)
    freq = grid[1] - grid[0] if len(grid) > 1 else None
    if p.empirical is None or p.empirical_weight <= 0 or freq != p.slot_freq:
        return kernel
    slots = np.minimum(slot_of_day(grid, freq), p.empirical.shape[0] - 1)
    return _mix(kernel, p.empirical[np.ix_(slots, slots)], p.empirical_weight)


# -- day-ahead forecasts of past days (what the fit learns from)


def day_ahead_forecasts(
    history: History,
    days: Iterable[pd.Timestamp] | int,
    *,
    model: str = "profile",
    calendar: Calendar | None = None,
    bands: bool = False,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """For each day (local midnights, or the last ``days`` days of the history), every queue's
    forecast of that day from the history before it, as ``hotline forecast`` would have made it
    the night before: the table :func:`fit_intraday` learns from. The fit needs no band:
    without ``bands`` the model skips calibrating it (half the time)."""
    if isinstance(days, int):
        starts = pd.DatetimeIndex(pd.unique(local_dates(history.calls.index)))[-days:]
        if history.tz is not None:
            starts = starts.tz_localize(history.tz, ambiguous=True, nonexistent="shift_forward")
    else:
        starts = pd.DatetimeIndex(list(days))
    parts = []
    for number, start in enumerate(starts, start=1):
        _first, end = day_bounds(start + pd.Timedelta(hours=12))
        train = history.before(start)
        if train.calls.shape[0] < 14 * pd.Timedelta(days=1) / history.freq:
            continue  # two weeks at least before a forecast means anything
        index = regular_grid(start, end, history.freq)
        for queue in history.queues:
            fitted = make_model(model)
            if not bands and hasattr(fitted, "calibrate"):
                fitted.calibrate = False
            fitted.fit(train.calls[queue], calendar)
            frame = fitted.predict(index).reset_index(names="interval_start")
            frame.insert(0, "queue", queue)
            parts.append(frame)
        if progress and (number % 7 == 0 or number == len(starts)):
            progress(f"day-ahead forecasts {number}/{len(starts)}")
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(parts, ignore_index=True)[COLUMNS]


# -- fitting


@dataclass
class _FitData:
    """One queue's past days as (days x slots) matrices and the update points to score."""

    forecast: np.ndarray
    actual: np.ndarray
    hours: np.ndarray  # time of day of each slot, hours
    slots: np.ndarray  # slot index (of the full day) of each column
    pair_day: np.ndarray  # update points: day row
    pair_cut: np.ndarray  # ... and the first column not yet seen

    def masks(self) -> tuple[np.ndarray, np.ndarray]:
        columns = np.arange(self.forecast.shape[1])
        seen = columns[None, :] < self.pair_cut[:, None]
        f, a = self.forecast[self.pair_day], self.actual[self.pair_day]
        observed = seen & np.isfinite(a) & (f > 0)
        scored = ~seen & np.isfinite(a)
        return observed, scored


def _matrices(
    history: History, day_ahead: pd.DataFrame, queue: str, update_every: pd.Timedelta
) -> _FitData | None:
    rows = day_ahead[day_ahead["queue"].astype(str) == queue]
    stamps = _same_zone(rows["interval_start"], history, "the day-ahead forecasts")
    index = pd.DatetimeIndex(stamps)
    keep = ~index.duplicated()
    index, values = index[keep], rows["calls"].to_numpy(dtype=float)[keep]
    freq = history.freq
    per_day = int(round(pd.Timedelta(days=1) / freq))
    dates = local_dates(index)
    days, day_of = np.unique(dates, return_inverse=True)
    slot = np.minimum(slot_of_day(index, freq), per_day - 1)
    forecast = np.full((days.size, per_day), np.nan)
    actual = np.full((days.size, per_day), np.nan)
    forecast[day_of, slot] = values  # at the autumn change the repeated hour keeps its last
    actual[day_of, slot] = history.calls[queue].reindex(index).to_numpy(dtype=float)
    forecast = np.where(np.isfinite(forecast), np.maximum(forecast, 0.0), 0.0)
    good = (np.nansum(actual, axis=1) > 0) & np.isfinite(actual).any(axis=1)
    forecast, actual = forecast[good], actual[good]
    active = np.flatnonzero((forecast > 0).any(axis=0) | (np.nan_to_num(actual) > 0).any(axis=0))
    if forecast.shape[0] < MIN_FIT_DAYS or active.size < 2:
        return None
    forecast, actual = forecast[:, active], actual[:, active]
    hours = active * freq / pd.Timedelta(hours=1)
    step = max(int(round(update_every / freq)), 1)
    cuts = np.array([c for c in range(1, active.size) if active[c] % step == 0])
    if cuts.size == 0:
        return None
    seen_before = np.cumsum(np.nan_to_num(actual), axis=1)  # calls up to and including column
    pair_day, pair_cut = np.meshgrid(np.arange(forecast.shape[0]), cuts, indexing="ij")
    pair_day, pair_cut = pair_day.ravel(), pair_cut.ravel()
    so_far = seen_before[pair_day, pair_cut - 1]
    later = seen_before[pair_day, -1] - so_far
    useful = (so_far > 0) & (later > 0)
    return _FitData(forecast, actual, hours, active, pair_day[useful], pair_cut[useful])


def _wape(data: _FitData, kernel: np.ndarray, days: np.ndarray | None = None) -> float:
    """Rest-of-day WAPE at every update point (``kernel``: (S, S), or per day (n, S, S))."""
    pick = np.ones(data.pair_day.size, bool) if days is None else np.isin(data.pair_day, days)
    observed, scored = data.masks()
    observed, scored = observed[pick], scored[pick]
    f, a = data.forecast[data.pair_day[pick]], data.actual[data.pair_day[pick]]
    k = kernel if kernel.ndim == 2 else kernel[data.pair_day[pick]]
    mean, _ = posterior(k, f, a, observed)
    error = np.where(scored, np.abs(f * np.exp(mean) - np.nan_to_num(a)), 0.0).sum()
    return float(error / max(np.where(scored, np.nan_to_num(a), 0.0).sum(), 1e-9))


def _day_ahead_wape(data: _FitData) -> float:
    _observed, scored = data.masks()
    f, a = data.forecast[data.pair_day], np.nan_to_num(data.actual[data.pair_day])
    return float(
        np.where(scored, np.abs(f - a), 0.0).sum() / max(np.where(scored, a, 0).sum(), 1e-9)
    )


def _unpack(x: np.ndarray) -> dict:
    return {
        "level_sd": float(np.exp(x[0])),
        "deviation_sd": float(np.exp(x[1])),
        "persistence_per_hour": float(1 / (1 + np.exp(-x[2]))),
    }


def _fit_parametric(data: _FitData) -> QueueParams:
    def loss(x: np.ndarray) -> float:
        return _wape(data, parametric_kernel(data.hours, QueueParams(**_unpack(x))))

    starts = [
        np.array([np.log(level), np.log(dev), np.log(0.85 / 0.15)])
        for level in (0.02, 0.1)
        for dev in (0.04, 0.2)
    ]
    best = min(starts, key=loss)
    result = optimize.minimize(
        loss, best, method="Nelder-Mead", options={"maxiter": 150, "xatol": 0.02, "fatol": 1e-5}
    )
    x = result.x if result.fun <= loss(best) else best
    return QueueParams(**_unpack(x))


def _moments(data: _FitData, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f, a = data.forecast[rows], data.actual[rows]
    seen = np.isfinite(a) & (f > 0)
    w = np.where(seen, f / (f + 20.0), 0.0)  # nearly-empty intervals say little
    wz = w * np.where(seen, _z(f, a), 0.0)
    noise = np.where(seen, 1.0 / (f + LOG_OFFSET), 0.0)
    return wz, w, w**2 * noise


def _empirical(
    sums: tuple[np.ndarray, np.ndarray, np.ndarray], min_days: float = 5.0
) -> np.ndarray:
    cross, weight, noise = sums
    kernel = np.where(weight >= min_days, cross / np.maximum(weight, 1e-12), np.nan)
    diagonal = np.where(
        np.diag(weight) >= min_days,
        np.maximum((np.diag(cross) - noise) / np.maximum(np.diag(weight), 1e-12), 0.0),
        np.nan,
    )
    kernel[np.diag_indices_from(kernel)] = diagonal
    return kernel


def _fit_empirical(data: _FitData, base: QueueParams) -> tuple[np.ndarray, float]:
    """The empirical covariance of all fit days, and its weight chosen by leave-one-day-out."""
    n = data.forecast.shape[0]
    wz, w, noise = _moments(data, np.arange(n))
    total = (wz.T @ wz, w.T @ w, noise.sum(axis=0))
    parametric = parametric_kernel(data.hours, base)
    loo = np.stack(
        [
            _empirical(
                (
                    total[0] - np.outer(wz[d], wz[d]),
                    total[1] - np.outer(w[d], w[d]),
                    total[2] - noise[d],
                )
            )
            for d in range(n)
        ]
    )
    known = np.isfinite(loo)
    scores = {}
    for weight in EMPIRICAL_WEIGHTS:
        if weight == 0:
            scores[weight] = _wape(data, parametric)
            continue
        mixed = _psd(
            np.where(known, weight * np.nan_to_num(loo) + (1 - weight) * parametric, parametric)
        )
        scores[weight] = _wape(data, mixed)
    chosen = min(scores, key=lambda k: (scores[k], k))
    return _empirical(total), chosen


def _calibrate_band(data: _FitData, kernel: np.ndarray, target: float = 0.8) -> float:
    """The scale of the band's over-dispersion at which p10-p90 held ``target`` of the past
    intervals (bisection on a log scale)."""
    observed, scored = data.masks()
    f, a = data.forecast[data.pair_day], data.actual[data.pair_day]
    mean, var = posterior(kernel, f, a, observed, variance=True)
    calls = (f * np.exp(mean))[scored]
    v, y = var[scored], np.nan_to_num(a)[scored]
    if calls.size == 0:
        return 1.0

    def coverage(scale: float) -> float:
        # y >= ppf(0.1) <=> cdf(y) >= 0.1 and y <= ppf(0.9) <=> cdf(y - 1) < 0.9 (no quantile
        # search); the band always holds the point forecast
        alpha = np.maximum(scale * np.expm1(v), 1e-9)
        size = 1.0 / alpha
        prob = size / (size + np.maximum(calls, 1e-12))
        above = (stats.nbinom.cdf(y, size, prob) >= 0.1) | (y >= calls)
        below = (stats.nbinom.cdf(y - 1, size, prob) < 0.9) | (y <= calls)
        return float((above & below).mean())

    low, high = np.log(0.05), np.log(20.0)
    if coverage(np.exp(high)) < target:
        return float(np.exp(high))
    for _ in range(14):
        middle = (low + high) / 2
        if coverage(np.exp(middle)) >= target:
            high = middle
        else:
            low = middle
    return float(np.exp(high))


def fit_intraday(
    history: History,
    day_ahead: pd.DataFrame,
    *,
    update_every: pd.Timedelta = HOURLY,
    empirical: bool = True,
    progress: Callable[[str], None] | None = None,
) -> IntradayParams:
    """Fit each queue's prior on past days.

    ``day_ahead``: forecasts of past days (``queue, interval_start, calls``; each day forecast
    from data before it, as :func:`day_ahead_forecasts` makes them), ``history`` their actuals at
    the same interval. Every ``update_every`` of each day is an update point scored on the rest of
    that day. A queue with fewer than 10 usable days keeps :data:`DEFAULT`."""
    queues = {}
    for queue in dict.fromkeys(day_ahead["queue"].astype(str)):
        if queue not in history.queues:
            raise IntradayError(
                f"the day-ahead forecasts have queue {queue} that the history lacks"
            )
        data = _matrices(history, day_ahead, queue, update_every)
        if data is None or data.pair_day.size == 0:
            continue
        p = _fit_parametric(data)
        full = np.full((int(round(pd.Timedelta(days=1) / history.freq)),) * 2, np.nan)
        weight = 0.0
        if empirical and data.forecast.shape[0] >= 2 * MIN_FIT_DAYS:
            kernel_emp, weight = _fit_empirical(data, p)
            full[np.ix_(data.slots, data.slots)] = kernel_emp
        p = replace(p, empirical=full, empirical_weight=weight, slot_freq=history.freq)
        kernel = _mix(
            parametric_kernel(data.hours, p), full[np.ix_(data.slots, data.slots)], weight
        )
        p = replace(
            p,
            band_scale=_calibrate_band(data, kernel),
            fit_days=int(data.forecast.shape[0]),
            fit_wape=_wape(data, kernel),
            fit_wape_day_ahead=_day_ahead_wape(data),
        )
        queues[queue] = p
        if progress:
            progress(f"fitted {queue}: {IntradayParams({queue: p}).describe()}")
    return IntradayParams(queues=queues)


def fit_recent(
    history: History,
    now: pd.Timestamp,
    weeks: int,
    calendar: Calendar,
    say: Callable[[str], None] = lambda _m: None,
) -> IntradayParams:
    """The prior fitted on the history's last ``weeks`` weeks before today (each past day with the
    day-ahead forecast the profile model would have made the night before), or the default."""
    if weeks <= 0:
        return IntradayParams()
    start, _end = day_bounds(now)
    before = history.before(start)
    days = pd.DatetimeIndex(pd.unique(local_dates(before.calls.dropna(how="all").index)))
    if len(days):
        earliest = max(
            days[0] + pd.Timedelta(weeks=2),  # a forecast needs two weeks of history before it
            days[-1] - pd.Timedelta(weeks=weeks) + pd.Timedelta(days=1),
        )
        days = days[days >= earliest]
    if len(days) < MIN_FIT_DAYS:
        say(
            f"  .. {len(days)} day(s) to fit on after two weeks of history (at least {MIN_FIT_DAYS}"
            " needed): the default prior is used"
        )
        return IntradayParams()
    if history.tz is not None:
        days = days.tz_localize(history.tz, ambiguous=True, nonexistent="shift_forward")
    say(f"  .. fitting the prior on {len(days)} past days")
    past = day_ahead_forecasts(before, days, calendar=calendar)
    return fit_intraday(before, past)
