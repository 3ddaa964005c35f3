"""From history to a forecast table: one row per queue and interval, starting where history ends.

Output columns: ``queue, interval_start, calls, calls_p10, calls_p90`` and ``aht_s`` when an AHT
is known (from the history's ``<queue>_aht_s`` columns, else the configured default).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .aht import forecast_aht
from .calendar import Calendar
from .history import History, local_dates, regular_grid
from .models import make_model

COLUMNS = ["queue", "interval_start", "calls", "calls_p10", "calls_p90"]


def parse_duration(text: str) -> pd.Timedelta:
    """'7d', '2w', '12h', '90min' -> Timedelta."""
    match = re.fullmatch(r"\s*(\d+)\s*(w|d|h|min|m)\s*", text or "")
    if not match:
        raise ValueError(f"duration {text!r}: use a number and w, d, h or min (e.g. 7d)")
    number, unit = int(match.group(1)), match.group(2)
    if number <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return pd.Timedelta(
        **{
            {"w": "weeks", "d": "days", "h": "hours", "min": "minutes", "m": "minutes"}[
                unit
            ]: number
        }
    )


def forecast(
    history: History,
    horizon: pd.Timedelta,
    *,
    model: str = "profile",
    calendar: Calendar | None = None,
    default_aht_s: Mapping[str, float] | float | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Forecast every queue of ``history`` for ``horizon`` from the first interval after it."""
    index = regular_grid(history.end, history.end + horizon, history.freq)
    parts = []
    for number, queue in enumerate(history.queues, start=1):
        fitted = make_model(model).fit(history.calls[queue], calendar)
        frame = fitted.predict(index).reset_index(names="interval_start")
        frame.insert(0, "queue", queue)
        default = default_aht_s.get(queue) if isinstance(default_aht_s, Mapping) else default_aht_s
        if history.aht_s[queue].notna().any() or default is not None:
            frame["aht_s"] = forecast_aht(
                history.calls[queue],
                history.aht_s[queue],
                index,
                default if default is not None else np.nan,
            )
        parts.append(frame)
        if progress:
            progress(f"forecast {number}/{len(history.queues)}: {queue}")
    out = pd.concat(parts, ignore_index=True)
    columns = COLUMNS + (["aht_s"] if "aht_s" in out else [])
    return out[columns]


def daily_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Calls per queue and local day (with the band summed as a rough range)."""
    day = local_dates(pd.DatetimeIndex(table["interval_start"]))
    summary = (
        table.assign(day=pd.DatetimeIndex(day).date)
        .groupby(["queue", "day"])[["calls", "calls_p10", "calls_p90"]]
        .sum()
    )
    return summary.round(0).astype(int)


def write_csv(table: pd.DataFrame, path: str) -> None:
    """CSV with ISO timestamps (with offset when the times are zoned) and rounded numbers."""
    out = table.copy()
    out["interval_start"] = pd.DatetimeIndex(out["interval_start"]).map(lambda t: t.isoformat())
    for column in ("calls", "calls_p10", "calls_p90"):
        out[column] = out[column].round(3)
    if "aht_s" in out:
        out["aht_s"] = out["aht_s"].round(1)
    out.to_csv(path, index=False)
