"""Average handling time forecast per interval, from history weighted by call volume."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .history import slot_of_day


def forecast_aht(
    calls: pd.Series,
    aht_s: pd.Series,
    index: pd.DatetimeIndex,
    default_s: float,
    weeks: int = 8,
    shrink_calls: float = 30.0,
) -> np.ndarray:
    """Volume-weighted AHT of the same weekday and time of day over the last ``weeks`` weeks,
    shrunk toward the queue's recent overall AHT where few calls back it, and ``default_s``
    (the configured AHT) where the history has none."""
    freq = calls.index[1] - calls.index[0]
    recent = calls.index >= calls.index[-1] - pd.Timedelta(weeks=weeks)
    volume = calls[recent].where(aht_s[recent].notna(), 0.0).fillna(0.0)
    work = (aht_s[recent].fillna(0.0) * volume).to_numpy()
    if volume.sum() <= 0:
        return np.full(len(index), float(default_s))
    overall = work.sum() / volume.sum()
    hist_idx = calls.index[recent]
    key = hist_idx.day_of_week.to_numpy() * 10_000 + slot_of_day(hist_idx, freq)
    work_by = pd.Series(work).groupby(key).sum()
    volume_by = pd.Series(volume.to_numpy()).groupby(key).sum()
    target = index.day_of_week.to_numpy() * 10_000 + slot_of_day(index, freq)
    w = volume_by.reindex(target).fillna(0.0).to_numpy()
    s = work_by.reindex(target).fillna(0.0).to_numpy()
    return (s + shrink_calls * overall) / (w + shrink_calls)
