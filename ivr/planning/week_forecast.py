"""The forecast a week is planned from: the newest stored forecast that covers it (else the newest
with calls in it), or, with none stored, one from the call log as the weekly job makes it; on the
full grid of the week's intervals, as a plan reads it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from ivr.config.schema import HotlineConfig
from ivr.planning.drafts import forecast_rows
from ivr.planning.pipeline import CALL_COLUMNS, history_from_log, line_forecast, week_grid, week_of
from ivr.stats import local_midnight
from staffing.requirements import interval_seconds


@dataclass
class WeekForecast:
    """The forecast of a week: every queue and interval of it (intervals it lacks as no
    calls), where it came from, and on how many of the week's days it has rows."""

    table: pd.DataFrame
    source: str
    days: int


def whole_week(cfg: HotlineConfig, table: pd.DataFrame, week: dt.date) -> WeekForecast | None:
    """The week's rows of a forecast table on the full grid of its intervals, or None when it
    has none in the week."""
    table = table[table["queue"].isin(cfg.queue_ids())].copy()
    table["interval_start"] = pd.to_datetime(table["interval_start"], utc=True)
    if table["interval_start"].nunique() < 2:
        return None
    step = pd.Timedelta(seconds=interval_seconds(table))
    part = week_of(cfg, table, week)
    if part.empty:
        return None
    grid = week_grid(cfg, week, step)
    index = pd.MultiIndex.from_product([cfg.queue_ids(), grid], names=["queue", "interval_start"])
    full = part.drop_duplicates(["queue", "interval_start"]).set_index(["queue", "interval_start"])
    full = full.reindex(index).reset_index()
    for column in CALL_COLUMNS:
        if column in full:
            full[column] = full[column].fillna(0.0)
    days = part["interval_start"].dt.tz_convert(cfg.tz).dt.date.nunique()
    return WeekForecast(full, "", int(days))


def stored_week_forecast(
    session: Session, cfg: HotlineConfig, week: dt.date
) -> WeekForecast | None:
    """The newest stored forecast that covers the week, else the newest with rows in it
    (:func:`ivr.planning.drafts.forecast_rows`); None when no stored forecast has the week."""
    start, end = local_midnight(cfg, week), local_midnight(cfg, week + dt.timedelta(days=7))
    found = forecast_rows(session, "forecast", start, end, whole=True, queues=cfg.queue_ids())
    if found is None:
        return None
    draft, rows = found
    try:
        forecast = whole_week(cfg, rows, week)
    except ValueError:  # one interval: its length cannot be told
        return None
    if forecast is not None:
        forecast.source = (
            f"the forecast stored {draft.created_at.astimezone(cfg.tz):%Y-%m-%d %H:%M}"
        )
    return forecast


def log_week_forecast(cfg: HotlineConfig, week: dt.date) -> WeekForecast:
    """A forecast of the week from the call log, as the weekly job makes it (in an app
    context); a ValueError when there is nothing to forecast it from."""
    history = history_from_log(cfg)
    if history is None:
        raise ValueError(
            "no stored forecast covers the week and there are no calls to forecast it from"
        )
    end = local_midnight(cfg, week + dt.timedelta(days=7))
    if end <= history.end:
        raise ValueError(f"the week of {week} is over: there is nothing left to forecast")
    found = whole_week(cfg, line_forecast(cfg, history, end - history.end), week)
    if found is None:
        raise ValueError(f"the forecast from the call log has no intervals in the week of {week}")
    found.source = f"a forecast from the call log up to {history.end:%Y-%m-%d %H:%M}"
    return found
