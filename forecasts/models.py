"""Forecast models: each a class with ``fit(y, calendar)`` then ``predict(index)``.

``y`` is one queue's calls on a regular local-time grid (NaN = not observed); ``predict`` returns
a frame indexed like ``index`` with ``calls``, ``calls_p10`` and ``calls_p90`` (never negative).

- :class:`SeasonalAverage`: mean of the same interval over the last k weeks (the baseline).
- :class:`SeasonalNaive`: the same interval last week.
- :class:`ProfileModel`: our model: daily volume = level x weekday factor x special-day factor
  (x festival-period factor) (x yearly ratio when a year of history exists), spread over the day
  by an intraday profile estimated per weekday over several weeks and smoothed across
  neighbouring intervals.

Bands: call counts are over-dispersed Poisson; we use the negative binomial with variance
mu + alpha mu^2, alpha estimated from errors on held-out data.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from scipy import stats

from .calendar import Calendar
from .history import local_dates, slot_of_day

WEEK = pd.Timedelta(days=7)


def _wall(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return index.tz_localize(None) if index.tz is not None else index


def nb_band(
    mean: np.ndarray, alpha: float, low: float = 0.1, high: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """p10/p90 of a negative binomial with this mean and variance mean + alpha mean^2."""
    mean = np.maximum(np.asarray(mean, dtype=float), 0.0)
    positive = mean > 0
    lo, hi = np.zeros_like(mean), np.zeros_like(mean)
    if not positive.any():
        return lo, hi
    m = mean[positive]
    if alpha <= 1e-9:
        lo[positive], hi[positive] = stats.poisson.ppf(low, m), stats.poisson.ppf(high, m)
    else:
        size = 1.0 / alpha
        prob = size / (size + m)
        lo[positive], hi[positive] = (
            stats.nbinom.ppf(low, size, prob),
            stats.nbinom.ppf(high, size, prob),
        )
    return lo, hi


def estimate_alpha(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Method-of-moments over-dispersion: sum((y-mu)^2 - mu) / sum(mu^2), at least 0."""
    keep = np.isfinite(actual) & np.isfinite(predicted) & (predicted > 0)
    if keep.sum() < 10:
        return 0.05
    y, mu = actual[keep], predicted[keep]
    return float(max(((y - mu) ** 2 - mu).sum() / (mu**2).sum(), 0.0))


class Model:
    name = "model"

    def fit(self, y: pd.Series, calendar: Calendar | None = None) -> Model:
        raise NotImplementedError

    def predict(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        raise NotImplementedError


class SeasonalAverage(Model):
    """Mean of the same local interval over the last ``weeks`` weeks before the origin."""

    def __init__(self, weeks: int = 4):
        self.weeks = weeks
        self.name = f"seasonal_avg{weeks}"

    def fit(self, y: pd.Series, calendar: Calendar | None = None) -> SeasonalAverage:
        self.y = y
        lookup = pd.Series(y.to_numpy(), index=_wall(y.index))
        self.lookup = lookup[~lookup.index.duplicated(keep="first")]
        self.end_wall = _wall(y.index)[-1] + (
            y.index[1] - y.index[0] if len(y) > 1 else pd.Timedelta(0)
        )
        tail = y.index[y.index >= y.index[-1] - 4 * WEEK]
        self.alpha = estimate_alpha(y.reindex(tail).to_numpy(), self._mean(tail, in_sample=True))
        return self

    def _mean(self, index: pd.DatetimeIndex, in_sample: bool = False) -> np.ndarray:
        wall = _wall(index)
        if in_sample:
            first = np.ones(len(index), dtype=int)
        else:
            first = np.floor((wall - self.end_wall) / WEEK).astype(int).to_numpy() + 1
            first = np.maximum(first, 1)
        values = np.full((self.weeks, len(index)), np.nan)
        for k in range(self.weeks):
            lag = wall - pd.to_timedelta((first + k) * 7, unit="D")
            values[k] = self.lookup.reindex(lag).to_numpy()
        seen = np.isfinite(values)
        count = seen.sum(axis=0)
        return np.where(
            count > 0, np.where(seen, values, 0.0).sum(axis=0) / np.maximum(count, 1), 0.0
        )

    def predict(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        mean = self._mean(index)
        lo, hi = nb_band(mean, self.alpha)
        return pd.DataFrame({"calls": mean, "calls_p10": lo, "calls_p90": hi}, index=index)


class SeasonalNaive(SeasonalAverage):
    """The same local interval one week earlier."""

    def __init__(self) -> None:
        super().__init__(weeks=1)
        self.name = "seasonal_naive"


class ProfileModel(Model):
    """Level x weekday x special day, spread by a smoothed per-weekday intraday profile.

    With ``periods`` (the default), a day inside a festival period or in the week after one (the
    calendar's ``period`` and ``after_period``) that is no holiday, eve or day after a holiday is
    also scaled by the ratio such days showed in the history, per festival, shrunk toward 1 by
    ``period_shrink_days``; with none in the history it is forecast as a usual day."""

    name = "profile"

    def __init__(
        self,
        profile_weeks: int = 10,
        profile_halflife_weeks: float = 4.0,
        weekday_weeks: int = 8,
        level_halflife_days: float = 14.0,
        smoothing_minutes: float = 20.0,
        default_holiday_factor: float = 1.0,
        month_shrink_days: float = 2.0,
        level_clip: float = 0.1,
        level_clip_spread: float = 1.0,
        trend_shrink: float = 100.0,
        periods: bool = True,
        period_shrink_days: float = 2.0,
        calibrate: bool = True,
    ):
        self.profile_weeks = profile_weeks
        self.profile_halflife_weeks = profile_halflife_weeks
        self.weekday_weeks = weekday_weeks
        self.level_halflife_days = level_halflife_days
        self.smoothing_minutes = smoothing_minutes
        self.default_holiday_factor = default_holiday_factor
        self.month_shrink_days = month_shrink_days
        self.level_clip = level_clip
        self.level_clip_spread = level_clip_spread
        self.trend_shrink = trend_shrink
        self.periods = periods
        self.period_shrink_days = period_shrink_days
        self.calibrate = calibrate

    # -- fitting

    def fit(self, y: pd.Series, calendar: Calendar | None = None) -> ProfileModel:
        self.calendar = calendar or Calendar()
        self.freq = y.index[1] - y.index[0]
        self.slots = int(round(pd.Timedelta(days=1) / self.freq))
        self.tz = y.index.tz
        dates = local_dates(y.index)
        days, day_of = np.unique(dates, return_inverse=True)
        slot = np.minimum(slot_of_day(y.index, self.freq), self.slots - 1)
        values = y.to_numpy(dtype=float)
        seen = ~np.isnan(values)
        matrix = np.zeros((days.size, self.slots))
        observed = np.zeros((days.size, self.slots), dtype=bool)
        np.add.at(matrix, (day_of[seen], slot[seen]), values[seen])
        observed[day_of[seen], slot[seen]] = True
        matrix[~observed] = np.nan
        self.days = pd.DatetimeIndex(days)
        weekday = self.days.day_of_week.to_numpy()
        kinds = self.calendar.day_kinds(days)
        special = (
            kinds["holiday"].notna().to_numpy()
            | kinds["eve"].to_numpy()
            | kinds["after"].to_numpy()
            | kinds["event"].notna().to_numpy()
        )
        age_weeks = (self.days[-1] - self.days).days.to_numpy() / 7.0

        # slots a weekday uses: seen on at least half of its recent days (a closed night is not "missing")
        recent = age_weeks < self.profile_weeks
        self.active = np.zeros((7, self.slots), dtype=bool)
        for w in range(7):
            rows = (weekday == w) & recent
            if rows.any():
                # seen on at least half the days, and some call ever came then (else: closed)
                self.active[w] = (observed[rows].mean(axis=0) >= 0.5) & (
                    np.nansum(matrix[rows], axis=0) > 0
                )
        seen_slots = np.zeros((7, self.slots), dtype=bool)
        for w in range(7):
            rows = (weekday == w) & recent
            if rows.any():
                seen_slots[w] = observed[rows].mean(axis=0) >= 0.5
        complete = np.array(
            [
                observed[d, seen_slots[weekday[d]]].all() and seen_slots[weekday[d]].any()
                for d in range(days.size)
            ]
        )
        totals = np.where(complete, np.nansum(matrix, axis=1), np.nan)
        usable = complete  # a day with no calls says nothing of the shape, but much of the level
        normal = usable & ~special

        self.profiles = self._profiles(matrix, weekday, normal, age_weeks)
        self.weekday_factor = self._weekday_factors(totals, weekday, normal, age_weeks)
        dom = self.days.day.to_numpy()
        self.month_factor = np.ones(32)
        if (self.days[-1] - self.days[0]).days >= 56 and normal.sum() >= 20:
            for _ in range(2):  # weekday and day-of-month effects, each against a centred level
                centred = self._centred_level(
                    totals / (self.weekday_factor[weekday] * self.month_factor[dom]), normal
                )
                self.month_factor = self._month_factors(
                    totals / (centred * self.weekday_factor[weekday]), dom, normal
                )
                ratio = totals / (centred * self.month_factor[dom])
                self.weekday_factor = self._weekday_factors(
                    ratio, weekday, normal, age_weeks, ratios=True
                )
        deseason = totals / (self.weekday_factor[weekday] * self.month_factor[dom])
        level_path = self._level_path(deseason, normal)
        self.level, self.slope = self._level_and_slope(self._clipped, normal)
        prior_level = np.concatenate([[np.nan], level_path[:-1]])  # what was known the day before
        expected = prior_level * self.weekday_factor[weekday] * self.month_factor[dom]
        self.special = self._special_days(kinds, totals, expected, matrix, usable)
        self.period_factors = (
            self._period_factors(kinds, totals, expected, usable) if self.periods else {}
        )
        # a festival period and its week after are left out of the yearly level, or a year on, the
        # period factor and the yearly ratio would both count them
        periodic = (
            kinds["period"].notna().to_numpy() | kinds["after_period"].notna().to_numpy()
            if self.periods
            else np.zeros(days.size, dtype=bool)
        )
        self.yearly = self._yearly(deseason, normal & ~periodic)
        self.origin_day = self.days[-1] + pd.Timedelta(days=1)
        self.alpha = self._calibrate(y, calendar) if self.calibrate else 0.05
        return self

    def _smooth(self, profile: np.ndarray, active: np.ndarray) -> np.ndarray:
        width = int(round(self.smoothing_minutes / (self.freq.total_seconds() / 60)))
        out = profile.copy()
        if width >= 1:
            kernel = np.array([1.0, 2.0, 1.0])
            for _ in range(width):
                padded = np.pad(out, 1, mode="edge")
                out = np.convolve(padded, kernel / kernel.sum(), mode="valid")
        out = np.where(active, out, 0.0)
        total = out.sum()
        return out / total if total > 0 else out

    def _profiles(self, matrix, weekday, normal, age_weeks) -> np.ndarray:
        weights = 0.5 ** (age_weeks / self.profile_halflife_weeks) * (
            age_weeks < self.profile_weeks
        )
        filled = np.nan_to_num(matrix)
        pooled_rows = normal & (weights > 0)
        pooled = (
            filled[pooled_rows].T @ weights[pooled_rows]
            if pooled_rows.any()
            else np.ones(self.slots)
        )
        profiles = np.zeros((7, self.slots))
        for w in range(7):
            rows = normal & (weekday == w) & (weights > 0)
            raw = filled[rows].T @ weights[rows] if rows.sum() >= 2 else pooled
            profiles[w] = self._smooth(
                raw / max(raw.sum(), 1e-12),
                self.active[w] if self.active[w].any() else np.ones(self.slots, bool),
            )
        return profiles

    def _centred_level(self, deseason: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """Deseasonalised volume averaged over the surrounding fortnight (normal days only)."""
        series = pd.Series(np.where(normal, deseason, np.nan), index=self.days)
        series = series.reindex(pd.date_range(self.days[0], self.days[-1], freq="D"))
        centred = series.rolling(15, center=True, min_periods=3).median().ffill().bfill()
        return centred.reindex(self.days).to_numpy()

    def _month_factors(self, ratio: np.ndarray, dom: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """Day-of-month (billing-cycle) factors: mean ratio per day, smoothed over neighbouring
        days (the 31st neighbours the 1st) and shrunk toward 1 where there are few samples."""
        keep = normal & np.isfinite(ratio)
        sums = np.bincount(dom[keep], weights=ratio[keep], minlength=32)[1:]
        counts = np.bincount(dom[keep], minlength=32)[1:].astype(float)
        kernel = np.array([1.0, 2.0, 1.0])
        smooth_sum = np.convolve(np.concatenate([sums[-1:], sums, sums[:1]]), kernel, mode="valid")
        smooth_n = np.convolve(
            np.concatenate([counts[-1:], counts, counts[:1]]), kernel, mode="valid"
        )
        mean = np.where(smooth_n > 0, smooth_sum / np.maximum(smooth_n, 1e-9), 1.0)
        shrink = smooth_n / (smooth_n + self.month_shrink_days)
        factor = 1.0 + shrink * (mean - 1.0)
        factor = factor / np.average(factor, weights=np.maximum(counts, 1e-9))
        return np.concatenate([[1.0], factor])

    def _weekday_factors(
        self, totals, weekday, normal, age_weeks, ratios: bool = False
    ) -> np.ndarray:
        rows = normal & (age_weeks < self.weekday_weeks) & np.isfinite(totals)
        if not rows.any():
            return np.ones(7)
        factor = np.ones(7)
        overall = 1.0 if ratios else np.nanmean(totals[rows])
        if not overall > 0:
            return np.ones(7)  # a queue with no calls yet: no weekly pattern to learn
        for w in range(7):
            mine = rows & (weekday == w)
            if mine.any():
                factor[w] = np.nanmean(totals[mine]) / overall
            elif not self.active[w].any():
                factor[w] = 0.0
        return np.where(factor > 0, factor, 1e-9) if overall > 0 else np.ones(7)

    def _level_path(self, deseason: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """Exponentially weighted level after each day, from normal days only."""
        decay = 0.5 ** (1.0 / self.level_halflife_days)
        gap = np.diff(
            self.days.asi8 // 86_400_000_000_000, prepend=self.days.asi8[0] // 86_400_000_000_000
        )
        level = np.full(deseason.size, np.nan)
        current, weight, spread = 0.0, 0.0, 0.0
        clipped = np.full(deseason.size, np.nan)
        for d in range(deseason.size):  # one step per day, not per interval
            if d:
                current *= decay ** gap[d]
                weight *= decay ** gap[d]
            if normal[d] and np.isfinite(deseason[d]):
                value = deseason[d]
                if weight >= 3 and current > 0:
                    # An odd day (strike, outage, unlisted holiday) moves the level only so far;
                    # "so far" scales with how much this queue's days usually vary.
                    estimate = current / weight
                    deviation = value / estimate - 1.0
                    limit = max(self.level_clip, self.level_clip_spread * spread)
                    value = estimate * (1.0 + min(max(deviation, -limit), limit))
                    spread = 0.9 * spread + 0.1 * min(abs(deviation), 1.0)
                current += value
                weight += 1.0
                clipped[d] = value
            level[d] = current / weight if weight > 0 else np.nan
        self._clipped = clipped
        return level

    def _level_and_slope(self, values: np.ndarray, normal: np.ndarray) -> tuple[float, float]:
        """Level at the origin and daily slope from a linear fit with exponentially decaying
        weights (no lag behind a trend); the slope is shrunk by its t-statistic, so noise does
        not pass for a trend."""
        keep = normal & np.isfinite(values)
        if not keep.any():
            return 0.0, 0.0
        age = (self.days[-1] - self.days).days.to_numpy().astype(float)[keep]
        z = values[keep]
        w = 0.5 ** (age / self.level_halflife_days) * (age < 8 * 7)
        if w.sum() <= 0 or (w > 0).sum() < 5:
            return float(np.average(z, weights=np.maximum(w, 1e-12))), 0.0
        x = -age
        mean_x, mean_z = np.average(x, weights=w), np.average(z, weights=w)
        sxx = np.sum(w * (x - mean_x) ** 2)
        slope = np.sum(w * (x - mean_x) * (z - mean_z)) / sxx if sxx > 0 else 0.0
        residual = z - (mean_z + slope * (x - mean_x))
        effective_n = w.sum() ** 2 / np.sum(w**2)
        sigma2 = np.sum(w * residual**2) / w.sum() * effective_n / max(effective_n - 2, 1)
        t2 = slope**2 * sxx / sigma2 if sigma2 > 0 else 0.0
        slope *= t2 / (t2 + self.trend_shrink)
        level = mean_z + slope * (0.0 - mean_x)
        return float(max(level, 0.0)), float(slope)

    def _special_days(self, kinds, totals, expected, matrix, usable) -> dict:
        """Ratio of observed to expected volume, and the intraday profile, per kind of day."""
        out = {}
        prior_expected = expected
        masks = {
            "holiday": kinds["holiday"].notna().to_numpy(),
            "eve": kinds["eve"].to_numpy(),
            "after": kinds["after"].to_numpy(),
        }
        for label in set(kinds["event"].dropna()):
            masks[f"event:{label}"] = (kinds["event"] == label).to_numpy()
        for kind, mask in masks.items():
            rows = mask & usable & np.isfinite(prior_expected) & (prior_expected > 0)
            if not rows.any():
                continue
            ratio = float(np.median(totals[rows] / prior_expected[rows]))
            raw = np.nan_to_num(matrix[rows]).sum(axis=0)
            profile = (
                self._smooth(raw / max(raw.sum(), 1e-12), np.ones(self.slots, bool))
                if rows.sum() >= 1
                else None
            )
            out[kind] = (ratio, profile, int(rows.sum()))
        return out

    def _period_factors(self, kinds, totals, expected, usable) -> dict:
        """Per column (``period``, ``after_period``): the ratio of observed to expected volume on
        its days that are no other kind of special day, as ``{label: factor}`` plus the factor of
        all labels together under ``None``. The pooled ratio is shrunk toward 1 and each label's
        toward the pooled one, by n / (n + ``period_shrink_days``); a column whose days never
        occur in the history is left out (no change)."""
        other = (
            kinds["holiday"].notna().to_numpy()
            | kinds["eve"].to_numpy()
            | kinds["after"].to_numpy()
            | kinds["event"].notna().to_numpy()
        )
        known = usable & ~other & np.isfinite(expected) & (expected > 0) & np.isfinite(totals)
        out = {}
        for column in ("period", "after_period"):
            labels = kinds[column].to_numpy(dtype=object)
            rows = known & kinds[column].notna().to_numpy()
            if not rows.any():
                continue
            ratio = totals[rows] / expected[rows]
            n = ratio.size
            pooled = 1.0 + n / (n + self.period_shrink_days) * (float(np.median(ratio)) - 1.0)
            factors: dict[str | None, float] = {None: pooled}
            for label in set(labels[rows]):
                mine = ratio[labels[rows] == label]
                weight = mine.size / (mine.size + self.period_shrink_days)
                factors[label] = pooled + weight * (float(np.median(mine)) - pooled)
            out[column] = (factors, n)
        return out

    def _yearly(self, deseason, normal) -> pd.Series | None:
        """Smoothed deseasonalised level by date, when more than a year of history exists."""
        if (self.days[-1] - self.days[0]).days < 400:
            return None
        series = pd.Series(np.where(normal, deseason, np.nan), index=self.days)
        return series.rolling("15D", center=True, min_periods=5).mean()

    def _year_ratio(self, days: pd.DatetimeIndex) -> np.ndarray:
        if self.yearly is None:
            return np.ones(days.size)
        base = self.yearly.reindex(
            [self.origin_day - pd.Timedelta(days=365)], method="nearest"
        ).to_numpy()[0]
        then = self.yearly.reindex(days - pd.Timedelta(days=364), method="nearest").to_numpy()
        ratio = then / base if np.isfinite(base) and base > 0 else np.ones(days.size)
        return np.clip(np.nan_to_num(ratio, nan=1.0), 0.5, 2.0)

    def _calibrate(self, y: pd.Series, calendar: Calendar | None) -> float:
        """Over-dispersion from a held-out week: refit without the last week and score it."""
        cut = y.index[-1] - WEEK
        if (y.index < cut).sum() < 3 * 7 * self.slots:
            return 0.05
        inner = copy.copy(self)  # the same settings, fitted on less
        inner.calibrate = False
        inner.fit(y[y.index < cut], calendar)
        held = y[y.index >= cut]
        return estimate_alpha(held.to_numpy(), inner.predict(held.index)["calls"].to_numpy())

    # -- forecasting

    def predict(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        dates = local_dates(index)
        days, day_of = np.unique(dates, return_inverse=True)
        days = pd.DatetimeIndex(days)
        weekday = days.day_of_week.to_numpy()
        kinds = self.calendar.day_kinds(days.to_numpy())
        ahead = (days - self.days[-1]).days.to_numpy().astype(float)
        damped = np.where(ahead <= 14, ahead, 14 + (1 - 0.97 ** (ahead - 14)) / 0.03)
        level = np.maximum(self.level + self.slope * damped, 0.0)
        daily = (
            level
            * self.weekday_factor[weekday]
            * self.month_factor[days.day.to_numpy()]
            * self._year_ratio(days)
        )
        profiles = self.profiles[weekday].copy()
        for kind in ("after", "eve", "holiday"):
            mask = kinds[kind].notna().to_numpy() if kind == "holiday" else kinds[kind].to_numpy()
            if not mask.any():
                continue
            if kind in self.special:
                ratio, profile, _n = self.special[kind]
                daily[mask] *= ratio
                profiles[mask] = profile
            elif kind == "holiday":
                daily[mask] *= self.default_holiday_factor
        plain = ~(
            kinds["holiday"].notna().to_numpy()
            | kinds["eve"].to_numpy()
            | kinds["after"].to_numpy()
        )
        for column, (factors, _n) in self.period_factors.items():
            labels = kinds[column]
            mask = plain & labels.notna().to_numpy()
            if mask.any():
                daily[mask] *= labels[mask].map(factors).fillna(factors[None]).to_numpy(float)
        for d, label in enumerate(kinds["event"]):
            if label is not None and f"event:{label}" in self.special:
                daily[d] *= self.special[f"event:{label}"][0]
        slot = np.minimum(slot_of_day(index, self.freq), self.slots - 1)
        mean = np.maximum(daily[day_of] * profiles[day_of, slot], 0.0)
        lo, hi = nb_band(mean, self.alpha)
        return pd.DataFrame({"calls": mean, "calls_p10": lo, "calls_p90": hi}, index=index)


MODELS = {
    "profile": ProfileModel,
    "seasonal_avg4": lambda: SeasonalAverage(4),
    "seasonal_naive": SeasonalNaive,
}


def make_model(name: str) -> Model:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]()
