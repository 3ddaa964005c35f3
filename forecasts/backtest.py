"""Rolling-origin backtests: refit at each weekly origin, forecast the next horizon, score it.

Scores (on observed intervals only; a missing interval is not a zero):
MAE, RMSE, WAPE = sum|error| / sum(actual) (the data has zeros, so no plain MAPE), the same WAPE
after summing both to hours, coverage of the p10-p90 band, and fit + forecast time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calendar import Calendar
from .history import History, regular_grid
from .models import Model


@dataclass
class OriginResult:
    model: str
    queue: str
    origin: pd.Timestamp
    actual: pd.Series
    forecast: pd.DataFrame
    seconds: float


def origins(history: History, count: int, horizon: pd.Timedelta) -> list[pd.Timestamp]:
    """The last ``count`` weekly origins whose horizon fits inside the history."""
    last = history.end - horizon
    return [last - pd.Timedelta(days=7 * k) for k in range(count - 1, -1, -1)]


def run(
    history: History,
    models: Iterable[Callable[[], Model]],
    *,
    count: int,
    horizon: pd.Timedelta,
    calendar: Calendar | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[OriginResult]:
    results = []
    factories = list(models)
    cut_points = origins(history, count, horizon)
    for i, origin in enumerate(cut_points, start=1):
        train = history.before(origin)
        target = regular_grid(origin, origin + horizon, history.freq)
        for queue in history.queues:
            actual = history.calls[queue].reindex(target)
            for factory in factories:
                started = time.perf_counter()
                model = factory().fit(train.calls[queue], calendar)
                forecast = model.predict(target)
                seconds = time.perf_counter() - started
                results.append(OriginResult(model.name, queue, origin, actual, forecast, seconds))
        if progress:
            progress(f"origin {i}/{len(cut_points)} ({origin:%Y-%m-%d %H:%M}) done")
    return results


def score(results: list[OriginResult], by: tuple[str, ...] = ("model",)) -> pd.DataFrame:
    rows = []
    for r in results:
        seen = r.actual.notna().to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "model": r.model,
                    "queue": r.queue,
                    "origin": r.origin,
                    "interval_start": r.actual.index[seen],
                    "actual": r.actual.to_numpy()[seen],
                    "calls": r.forecast["calls"].to_numpy()[seen],
                    "p10": r.forecast["calls_p10"].to_numpy()[seen],
                    "p90": r.forecast["calls_p90"].to_numpy()[seen],
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    timing = pd.DataFrame(
        [
            {"model": r.model, "queue": r.queue, "origin": r.origin, "seconds": r.seconds}
            for r in results
        ]
    )
    out = []
    for key, part in frame.groupby(list(by), sort=False):
        error = part["calls"] - part["actual"]
        hours = (
            part.assign(hour=part["interval_start"].dt.floor("h"))
            .groupby(["queue", "origin", "hour"])[["actual", "calls"]]
            .sum()
        )
        key = key if isinstance(key, tuple) else (key,)
        times = timing.merge(pd.DataFrame([dict(zip(by, key, strict=True))]), on=list(by))[
            "seconds"
        ]
        total = part["actual"].sum()
        out.append(
            {
                **dict(zip(by, key, strict=True)),
                "mae": float(error.abs().mean()),
                "rmse": float(np.sqrt((error**2).mean())),
                "wape": float(error.abs().sum() / total) if total else np.nan,
                "wape_hourly": float(
                    (hours["calls"] - hours["actual"]).abs().sum() / hours["actual"].sum()
                )
                if total
                else np.nan,
                "coverage_p10_p90": float(
                    ((part["actual"] >= part["p10"]) & (part["actual"] <= part["p90"])).mean()
                ),
                "fit_s_per_origin": float(times.mean()),
                "intervals": int(len(part)),
            }
        )
    return pd.DataFrame(out)
