"""The rest of today: agents the forecast calls need against the agents on line and the agents
the published roster puts on shift, per queue and interval, and the shortages an ops lead acts on
("short by 3 agents from 14:00 to 15:30 in orders").

Today's calls are the newest stored forecast that covers today: an intraday reforecast (draft
kind ``intraday``) when one was made today, else the day-ahead forecast (``forecast``). Agents
required come from :func:`ivr.planning.pipeline.requirement_table`, exactly as
``hotline requirements`` computes them: ``required`` (on the phones, Erlang C with each queue's
AHT and target) is held against the agents on line now (logged in, in a working state, with the
queue's skill); ``scheduled`` (required after shrinkage) against the agents the published roster
has on shift then (not on their break, with the skill). An agent counts in every queue of their
skills; the ``total`` rows count each agent once.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecasts.intraday import fit_recent, reforecast
from ivr import stats
from ivr.config.schema import HotlineConfig
from ivr.planning.adherence import break_minutes
from ivr.planning.drafts import forecast_rows
from ivr.planning.pipeline import history_from_table, line_calendar, requirement_table
from ivr.store.agent_states import WORKING
from ivr.store.importer import first_entry
from ivr.store.models import AgentAccount, RosterAssignment

COLUMNS = [
    "queue", "interval_start", "calls", "required", "on_line", "short_on_line",
    "scheduled", "rostered", "short_rostered",
]  # fmt: skip


def today_bounds(cfg: HotlineConfig, now: dt.datetime) -> tuple[pd.Timestamp, pd.Timestamp]:
    today = stats.local_day(cfg, now)
    return pd.Timestamp(today.since), pd.Timestamp(today.until)


def todays_forecast(
    session: Session, cfg: HotlineConfig, now: dt.datetime
) -> tuple[pd.DataFrame, str] | None:
    """Today's rows of the newest stored forecast covering today, and its kind; None if none."""
    for kind in ("intraday", "forecast"):
        rows = stored_forecast(session, cfg, now, kind)
        if rows is not None:
            rows = rows[rows["queue"].isin(cfg.queue_ids())]
            if len(rows):
                return rows.reset_index(drop=True), kind
    return None


def rostered_per_interval(
    session: Session, cfg: HotlineConfig, starts: pd.DatetimeIndex, day: dt.date
) -> pd.DataFrame:
    """Agents of the published roster on shift (not on break) at each interval start: a column
    per queue (agents with the skill) and ``total``."""
    skills = {a.id: set(a.skills) for a in cfg.agents}
    shifts = session.scalars(
        select(RosterAssignment).where(
            RosterAssignment.date == day, RosterAssignment.status == "published"
        )
    ).all()
    at = starts.tz_convert("UTC").tz_localize(None).to_numpy()
    out = pd.DataFrame(0, index=starts, columns=[*cfg.queue_ids(), "total"])
    for shift in shifts:
        begin = np.datetime64(shift.shift_start.astimezone(dt.UTC).replace(tzinfo=None))
        end = np.datetime64(shift.shift_end.astimezone(dt.UTC).replace(tzinfo=None))
        on = (at >= begin) & (at < end)
        if shift.break_start is not None:
            length = (shift.shift_end - shift.shift_start).total_seconds() / 60
            b0 = np.datetime64(shift.break_start.astimezone(dt.UTC).replace(tzinfo=None))
            b1 = b0 + np.timedelta64(break_minutes(cfg, length), "m")
            on &= ~((at >= b0) & (at < b1))
        out["total"] += on
        for queue in skills.get(shift.agent_id, ()):
            if queue in out:
                out[queue] += on
    return out


def on_line_now(session: Session, cfg: HotlineConfig) -> dict[str, int]:
    """Agents logged in and working now, per queue of their skills, and in ``total``."""
    working = set(
        session.scalars(select(AgentAccount.agent_id).where(AgentAccount.state.in_(WORKING)))
    )
    counts = {q: 0 for q in cfg.queue_ids()}
    for agent in cfg.agents:
        if agent.id in working:
            for queue in agent.skills:
                if queue in counts:
                    counts[queue] += 1
    counts["total"] = len(working & {a.id for a in cfg.agents})
    return counts


def outlook(session: Session, cfg: HotlineConfig, now: dt.datetime) -> pd.DataFrame:
    """Today's intervals from the one under way to the end of the day (:data:`COLUMNS`); empty
    when no stored forecast covers today."""
    found = todays_forecast(session, cfg, now)
    if found is None:
        return pd.DataFrame(columns=COLUMNS)
    table, _kind = found
    current = pd.Timestamp(now).tz_convert("UTC")
    freq = pd.Timedelta(table["interval_start"].sort_values().diff().min() or "30min")
    table = table[table["interval_start"] + freq > current]
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    needs = requirement_table(cfg, table)
    needs = needs[needs["queue"].isin([*cfg.queue_ids(), "total"])]
    needs["interval_start"] = pd.to_datetime(needs["interval_start"], utc=True)
    starts = pd.DatetimeIndex(sorted(needs["interval_start"].unique())).tz_convert(cfg.tz)
    day = now.astimezone(cfg.tz).date()
    rostered = rostered_per_interval(session, cfg, starts, day)
    rostered.index = rostered.index.tz_convert("UTC")
    live = on_line_now(session, cfg)
    out = needs.rename(columns={"agents": "required", "agents_scheduled": "scheduled"})
    out["on_line"] = out["queue"].map(live).fillna(0).astype(int)
    out["rostered"] = [
        int(rostered.at[t, q]) if t in rostered.index else 0
        for t, q in zip(out["interval_start"], out["queue"], strict=True)
    ]
    out["short_on_line"] = (out["required"] - out["on_line"]).clip(lower=0).astype(int)
    out["short_rostered"] = (out["scheduled"] - out["rostered"]).clip(lower=0).astype(int)
    out["required"] = out["required"].astype(int)
    out["scheduled"] = out["scheduled"].astype(int)
    out["calls"] = out["calls"].astype(float).round(1)
    return out[COLUMNS].sort_values(["queue", "interval_start"]).reset_index(drop=True)


def shortages(cfg: HotlineConfig, table: pd.DataFrame, column: str = "short_on_line") -> list[str]:
    """Runs of consecutive intervals short of agents, per queue, as sentences: "short by 3
    agents from 14:00 to 15:30 in orders" (the largest shortage of the run)."""
    out: list[str] = []
    if table.empty:
        return out
    freq = pd.Timedelta(
        table["interval_start"].drop_duplicates().sort_values().diff().min() or "30min"
    )
    default = cfg.line.default_language
    names = {q.id: q.names[default] for q in cfg.queues} | {"total": "all queues"}
    for queue, rows in table.sort_values("interval_start").groupby("queue", sort=False):
        short = rows[rows[column] > 0]
        if short.empty:
            continue
        run_id = (short["interval_start"].diff() != freq).cumsum()
        for _, run in short.groupby(run_id):
            first = run["interval_start"].iloc[0].tz_convert(cfg.tz)
            last = run["interval_start"].iloc[-1].tz_convert(cfg.tz) + freq
            most = int(run[column].max())
            agents = "agent" if most == 1 else "agents"
            out.append(
                f"short by {most} {agents} from {first:%H:%M} to {last:%H:%M} in "
                f"{names.get(queue, queue)}"
            )
    return out


def stored_forecast(
    session: Session, cfg: HotlineConfig, now: dt.datetime, kind: Literal["forecast", "intraday"]
) -> pd.DataFrame | None:
    """Today's rows of the newest stored draft of ``kind`` with rows today (``forecast``: the
    day-ahead forecast; ``intraday``: today's reforecast)."""
    start, end = today_bounds(cfg, now)
    found = forecast_rows(session, kind, start, end)
    return None if found is None else found[1]


SERIES = [
    "queue", "interval_start", "actual", "service_level", "day_ahead", "day_ahead_p10",
    "day_ahead_p90", "reforecast", "reforecast_p10", "reforecast_p90",
]  # fmt: skip


def today_series(session: Session, cfg: HotlineConfig, now: dt.datetime) -> pd.DataFrame:
    """Every interval of today, per queue and in ``total``: calls offered so far (``actual``,
    none after now), the service level, and the day-ahead forecast and today's reforecast with
    their bands (:data:`SERIES`)."""
    freq = pd.Timedelta("30min")
    figures = stats.interval_stats(session, cfg, stats.local_day(cfg, now), freq)
    figures["interval_start"] = pd.to_datetime(figures["interval_start"], utc=True)
    actual = figures[["queue", "interval_start", "offered", "answered", "abandoned"]].copy()
    plus_abandoned = cfg.line.service_level_formula == "answered_plus_abandoned"

    def base(frame: pd.DataFrame) -> pd.Series:
        return frame["answered"] + frame["abandoned"] if plus_abandoned else frame["answered"]

    # answered within the target, back from each queue's service level, to pool the total's
    actual["within"] = (figures["service_level"].astype(float) * base(figures)).fillna(0.0)
    total = actual.groupby("interval_start", as_index=False)[
        ["offered", "answered", "abandoned", "within"]
    ].sum()
    total.insert(0, "queue", "total")
    actual = pd.concat([actual, total], ignore_index=True)
    counted = base(actual)
    actual["service_level"] = (actual["within"] / counted.where(counted > 0)).round(4)
    future = actual["interval_start"] >= pd.Timestamp(now).tz_convert("UTC")
    actual["actual"] = actual["offered"].astype(float).where(~future)
    out = actual[["queue", "interval_start", "actual", "service_level"]]
    for kind, name in (("forecast", "day_ahead"), ("intraday", "reforecast")):
        rows = stored_forecast(session, cfg, now, kind)
        columns = [name, f"{name}_p10", f"{name}_p90"]
        if rows is None:
            for column in columns:
                out = out.assign(**{column: np.nan})
            continue
        picked = rows[rows["queue"].isin(cfg.queue_ids())].copy()
        for band in ("calls_p10", "calls_p90"):
            if band not in picked:
                picked[band] = picked["calls"]
        picked = picked[["queue", "interval_start", "calls", "calls_p10", "calls_p90"]]
        summed = picked.groupby("interval_start", as_index=False)[
            ["calls", "calls_p10", "calls_p90"]
        ].sum()  # the band of the total is wider than this; an ops view, not a planning input
        summed.insert(0, "queue", "total")
        picked = pd.concat([picked, summed], ignore_index=True)
        picked.columns = ["queue", "interval_start", *columns]
        out = out.merge(picked, on=["queue", "interval_start"], how="left")
    return out[SERIES].sort_values(["queue", "interval_start"]).reset_index(drop=True)


FIT_WEEKS = 8  # the prior is fitted on this many weeks of the call log before today


def reforecast_today(
    session: Session,
    cfg: HotlineConfig,
    now: dt.datetime,
    freq: str = "30min",
    priors: dict | None = None,
) -> pd.DataFrame | None:
    """Today's reforecast from the call log so far (whole intervals up to ``now``) and the
    day-ahead forecast stored for today: the rest of the day per queue and interval with its band
    (``forecasts.intraday.reforecast``). The prior is fitted once a day on the log's last
    :data:`FIT_WEEKS` weeks before today (``fit_recent``; the default prior with too few days) and
    kept in ``priors`` (a dict the caller keeps between runs) for the day's later runs. None when
    no day-ahead forecast covers today or the log holds no call."""
    from ivr import stats

    day_ahead = stored_forecast(session, cfg, now, "forecast")
    first = first_entry(session)
    if day_ahead is None or first is None:
        return None
    step = pd.Timedelta(freq)
    cut = pd.Timestamp(now).tz_convert("UTC").floor(step).to_pydatetime()
    start = stats.local_day(cfg, min(first, cut)).since
    table = stats.history_table(session, cfg, stats.Window(start, cut), step)
    if table.empty:
        return None
    history = history_from_table(cfg, table, freq)
    day_ahead = day_ahead[day_ahead["queue"].isin(history.queues)].copy()
    for band in ("calls_p10", "calls_p90"):
        if band not in day_ahead:
            day_ahead[band] = day_ahead["calls"]
    day_ahead["interval_start"] = day_ahead["interval_start"].dt.tz_convert(cfg.tz)
    moment = pd.Timestamp(now).tz_convert(cfg.tz)
    priors = priors if priors is not None else {}
    day = moment.date()
    if priors.get("day") != day:
        priors.update(day=day, params=fit_recent(history, moment, FIT_WEEKS, line_calendar(cfg)))
    return reforecast(history, day_ahead, moment, priors["params"])
