"""What a supervisor reads of the stored forecast (``/supervisor/forecast``): the newest forecast
draft per day and queue (calls with their band, AHT), each day beside the same weekday 52 weeks
earlier in the call log where it holds one, special days and festival periods marked, and the
intervals of the total for the chart."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import stats
from ivr.config.schema import HotlineConfig
from ivr.planning.pipeline import line_calendar
from ivr.store.models import PlanDraft

LAST_YEAR = dt.timedelta(weeks=52)  # the same weekday a year before


def newest_forecast(session: Session) -> PlanDraft | None:
    return session.scalar(
        select(PlanDraft)
        .where(PlanDraft.kind == "forecast")
        .order_by(PlanDraft.created_at.desc(), PlanDraft.id.desc())
        .limit(1)
    )


def offered_per_day(
    session: Session, cfg: HotlineConfig, days: list[dt.date]
) -> dict[tuple[dt.date, str], int]:
    """Calls offered per local day and queue in the call log, for these days (as the statistics
    count them: a called-back customer's second entry is not offered again)."""
    if not days:
        return {}
    window = stats.Window(
        stats.local_midnight(cfg, min(days)),
        stats.local_midnight(cfg, max(days) + dt.timedelta(days=1)),
    )
    table = stats.interval_stats(session, cfg, window, pd.Timedelta("30min"))
    table["day"] = pd.to_datetime(table["interval_start"], utc=True).dt.tz_convert(cfg.tz).dt.date
    counts = table[table["day"].isin(set(days))].groupby(["day", "queue"])["offered"].sum()
    return {(day, queue): int(n) for (day, queue), n in counts.items() if n}


def forecast_view(session: Session, cfg: HotlineConfig) -> dict[str, Any] | None:
    """None when no forecast is stored; else ``made_at``, ``days`` (per day: date, weekday,
    special, per queue and total calls/p10/p90/AHT, last year's calls) and ``intervals`` (the
    total per interval with its band, for the chart)."""
    draft = newest_forecast(session)
    if draft is None:
        return None
    table = pd.read_csv(io.StringIO(draft.content))
    table["interval_start"] = pd.to_datetime(table["interval_start"], utc=True)
    table = table[table["queue"].isin(cfg.queue_ids())]
    for band in ("calls_p10", "calls_p90"):
        if band not in table:
            table[band] = table["calls"]
    if "aht_s" not in table:
        table["aht_s"] = np.nan
    local = table["interval_start"].dt.tz_convert(cfg.tz)
    table["day"] = local.dt.date
    table["handled_s"] = table["calls"] * table["aht_s"]
    daily = table.groupby(["day", "queue"])[["calls", "calls_p10", "calls_p90", "handled_s"]].sum()
    days = sorted(table["day"].unique())
    kinds = line_calendar(cfg).day_kinds(np.array(days, dtype="datetime64[D]"))
    before = offered_per_day(session, cfg, [d - LAST_YEAR for d in days])
    out_days = []
    for day, kind in zip(days, kinds.itertuples(), strict=True):
        holiday = kind.holiday if isinstance(kind.holiday, str) else None
        special = (
            holiday
            or ("eve of a holiday" if kind.eve else None)
            or ("day after a holiday" if kind.after else None)
        )
        period = getattr(kind, "period", None)
        if not special and isinstance(period, str):
            special = f"{period} period"
        queues = {}
        for queue in cfg.queue_ids():
            if (day, queue) not in daily.index:
                continue
            row = daily.loc[(day, queue)]
            queues[queue] = {
                "calls": round(float(row["calls"]), 1),
                "p10": round(float(row["calls_p10"]), 1),
                "p90": round(float(row["calls_p90"]), 1),
                "aht_s": round(float(row["handled_s"] / row["calls"]), 0)
                if row["calls"] > 0 and row["handled_s"] > 0
                else None,
                "last_year": before.get((day - LAST_YEAR, queue)),
            }
        total_last_year = [q["last_year"] for q in queues.values() if q["last_year"] is not None]
        out_days.append(
            {
                "date": day.isoformat(),
                "weekday": day.strftime("%a"),
                "special": special,
                "queues": queues,
                "calls": round(sum(q["calls"] for q in queues.values()), 1),
                "p10": round(sum(q["p10"] for q in queues.values()), 1),
                "p90": round(sum(q["p90"] for q in queues.values()), 1),
                "last_year": sum(total_last_year) if total_last_year else None,
            }
        )
    total = table.groupby("interval_start")[["calls", "calls_p10", "calls_p90"]].sum()
    intervals = [
        {
            "at": t.tz_convert(cfg.tz).strftime("%a %d %H:%M"),
            "calls": round(float(r.calls), 1),
            "p10": round(float(r.calls_p10), 1),
            "p90": round(float(r.calls_p90), 1),
        }
        for t, r in total.iterrows()
    ]
    return {
        "made_at": draft.created_at.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M"),
        "days": out_days,
        "intervals": intervals,
    }
