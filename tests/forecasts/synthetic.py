"""Synthetic call histories with a known shape, for the forecast tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

WEEKDAY = np.array([1.2, 1.1, 1.0, 1.0, 0.9, 0.5, 0.3])


def profile(hours: np.ndarray) -> np.ndarray:
    """A morning and an afternoon peak, nothing at night."""
    shape = np.exp(-((hours - 10) ** 2) / 3) + 0.7 * np.exp(-((hours - 15) ** 2) / 4)
    return np.where((hours >= 7) & (hours < 21), shape, 0.0)


def expected_calls(
    index: pd.DatetimeIndex,
    daily: float = 2000.0,
    trend_per_week: float = 0.0,
    holidays: dict[dt.date, float] | None = None,
) -> np.ndarray:
    """Expected calls per interval: level x weekday x intraday profile (x holiday factor)."""
    wall = index.tz_localize(None) if index.tz is not None else index
    hours = (wall.hour + wall.minute / 60).to_numpy()
    freq_h = (index[1] - index[0]).total_seconds() / 3600
    per_day = profile(np.arange(0, 24, freq_h))
    share = profile(hours) / per_day.sum()
    weeks = ((wall - wall[0]).days.to_numpy()) / 7
    level = daily * (1 + trend_per_week * weeks)
    factor = np.ones(len(index))
    for day, ratio in (holidays or {}).items():
        factor[wall.normalize().date == day] = ratio
    return level * WEEKDAY[wall.day_of_week] * share * factor


def history_frame(index: pd.DatetimeIndex, seed: int = 0, **kwargs) -> pd.Series:
    mean = expected_calls(index, **kwargs)
    return pd.Series(np.random.default_rng(seed).poisson(mean).astype(float), index=index)
