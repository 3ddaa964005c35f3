"""Queue statistics from the call log, exactly as defined in the README.

Window figures count calls by the interval they *entered the queue*, in the line's time zone;
"now" figures use the calls waiting now. A called-back customer's second entry (queued with an
older original entry time) is not offered twice: it counts in ``callbacks_completed``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.config.schema import HotlineConfig
from ivr.store.models import (
    AgentAccount,
    Callback,
    ComplaintTicket,
    QueueEntry,
    Survey,
    waiting_entries,
)

INTERVAL_FIELDS = [
    "interval_start", "offered", "answered", "abandoned", "short_abandoned", "service_level",
    "asa_s", "aht_s", "abandon_rate", "csat", "surveys", "callbacks_requested",
]  # fmt: skip


@dataclass(frozen=True)
class Window:
    since: dt.datetime
    until: dt.datetime

    def as_json(self, tz: str) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "timezone": tz}


def local_midnight(cfg: HotlineConfig, day: dt.date) -> dt.datetime:
    """The start of ``day`` in the line's time zone."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=cfg.tz)


def local_day(cfg: HotlineConfig, now: dt.datetime) -> Window:
    """Today in the line's time zone (23 or 25 hours on DST days)."""
    today = now.astimezone(cfg.tz).date()
    return Window(local_midnight(cfg, today), local_midnight(cfg, today + dt.timedelta(days=1)))


# a date further from now is a typing mistake, and one near the calendar's ends overflows
YEARS_AROUND_NOW = 50


@dataclass(frozen=True)
class Limits:
    """How much one statistics request may ask for: a window of at most ``max_days`` days and,
    per interval, at most ``max_intervals`` intervals (settings ``HOTLINE_API_MAX_DAYS`` and
    ``HOTLINE_API_MAX_INTERVALS``)."""

    max_days: int
    max_intervals: int

    @classmethod
    def of_app(cls, config: Mapping[str, Any]) -> Limits:
        """The limits an app was configured with (``API_MAX_DAYS``, ``API_MAX_INTERVALS``)."""
        return cls(config["API_MAX_DAYS"], config["API_MAX_INTERVALS"])


class WindowRefused(ValueError):
    """A window or interval count the statistics refuse; ``parameter`` names the request
    parameter to change."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


def parse_moment(text: str, cfg: HotlineConfig, end_of_day: bool = False) -> dt.datetime:
    """ISO date or datetime; naive values are the line's local time. A bare date given as the
    end of a window means the end of that day."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            day = day + dt.timedelta(days=1) if end_of_day else day
            return local_midnight(cfg, day)
        moment = dt.datetime.fromisoformat(value)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{text!r} is not an ISO date or date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=cfg.tz)


def _within_years(
    parameter: str, text: str, cfg: HotlineConfig, now: dt.datetime, end_of_day: bool = False
) -> dt.datetime:
    """``text`` parsed, if it falls in the ``YEARS_AROUND_NOW`` years either side of ``now``'s
    year (in the line's time zone)."""
    try:
        moment = parse_moment(text, cfg)  # a bare date's start: its end may overflow
    except ValueError as exc:
        raise WindowRefused(parameter, f"{parameter}: {exc}") from exc
    year = now.astimezone(cfg.tz).year
    first, last = year - YEARS_AROUND_NOW, year + YEARS_AROUND_NOW
    earliest, after = local_midnight(cfg, dt.date(first, 1, 1)), dt.date(last + 1, 1, 1)
    if not earliest <= moment < local_midnight(cfg, after):
        raise WindowRefused(
            parameter,
            f"{parameter}={text.strip()} is out of range: dates must fall in the years "
            f"{first} to {last} ({YEARS_AROUND_NOW} years either side of this year)",
        )
    return parse_moment(text, cfg, end_of_day) if end_of_day else moment


def parse_window(
    cfg: HotlineConfig,
    since: str | None,
    until: str | None,
    default: Window,
    one_day_from_since: bool = False,
    limits: Limits | None = None,
) -> Window:
    """A window from optional ISO texts. Missing ends come from ``default``; with
    ``one_day_from_since`` a lone ``since`` spans as long as ``default`` does. Dates outside the
    ``YEARS_AROUND_NOW`` years either side of the default's end (today, for every caller), and
    with ``limits`` a window longer than ``limits.max_days``, raise :class:`WindowRefused` (a
    ValueError) before anything is computed."""
    now = default.until
    start = _within_years("since", since, cfg, now) if since else default.since
    if until:
        end = _within_years("until", until, cfg, now, end_of_day=True)
    elif since and one_day_from_since:
        end = start + (default.until - default.since)
    else:
        end = default.until
    if end <= start:
        raise WindowRefused("until", "until must be after since")
    window = Window(start, end)
    if limits is not None and end - start > dt.timedelta(days=limits.max_days):
        days = (end - start) / dt.timedelta(days=1)
        raise WindowRefused(
            "until" if until else "since",
            f"the window from {start.isoformat()} to {end.isoformat()} is {days:g} days; a window "
            f"is at most {limits.max_days} days: ask for a later since or an earlier until",
        )
    return window


def check_intervals(window: Window, freq: pd.Timedelta, limits: Limits) -> int:
    """How many intervals of ``freq`` the window holds; :class:`WindowRefused` (naming ``freq``)
    when that is not a positive length or the count is over ``limits.max_intervals``."""
    if freq <= pd.Timedelta(0):
        raise WindowRefused("freq", "freq must be a positive length of time")
    count = math.ceil((window.until - window.since) / freq.to_pytimedelta())
    if count > limits.max_intervals:
        fits = freq.to_pytimedelta() * limits.max_intervals
        raise WindowRefused(
            "freq",
            f"{count} intervals of {freq.total_seconds() / 60:g} minutes in the window; at most "
            f"{limits.max_intervals} per request: ask for a window of at most "
            f"{fits / dt.timedelta(days=1):g} days at this freq, or a longer freq",
        )
    return count


def _entries(session: Session, window: Window) -> pd.DataFrame:
    rows = session.execute(
        select(
            QueueEntry.queue,
            QueueEntry.entered_at,
            QueueEntry.original_entered_at,
            QueueEntry.result,
            QueueEntry.wait_s,
            QueueEntry.answered_at,
            QueueEntry.handle_s,
            QueueEntry.language,
            QueueEntry.answered_in_language,
        ).where(QueueEntry.entered_at >= window.since, QueueEntry.entered_at < window.until)
    ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "queue",
            "entered_at",
            "original_entered_at",
            "result",
            "wait_s",
            "answered_at",
            "handle_s",
            "language",
            "answered_in_language",
        ],
    )
    if frame.empty:
        return frame
    for column in ("entered_at", "original_entered_at", "answered_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _classify(frame: pd.DataFrame, cfg: HotlineConfig) -> pd.DataFrame:
    """Per entry: offered / answered / abandoned / short-abandoned flags, wait and handle time."""
    if frame.empty:
        return _empty()
    out = frame.copy()
    requeued = out["original_entered_at"] < out["entered_at"] - pd.Timedelta(seconds=1)
    out["offered"] = ~requeued
    answered = out["answered_at"].notna() | (out["result"] == "bridged")
    out["bridged"] = answered  # a called-back customer's second entry too
    out["answered"] = answered & out["offered"]
    # Twilio reports the wait (QueueTime) when the call leaves the queue's bridge; a call an agent
    # is still talking to has waited from entering the queue to the answer
    answered_after = (out["answered_at"] - out["entered_at"]).dt.total_seconds()
    wait = out["wait_s"].astype(float).fillna(answered_after.where(answered))
    hung_up = (out["result"] == "hangup") & out["offered"]
    short = hung_up & (wait.fillna(0) < cfg.line.short_abandon_s)
    out["short_abandoned"] = short
    out["abandoned"] = hung_up & ~short
    target = (
        out["queue"].map({q.id: q.service_level.answer_time_s for q in cfg.queues}).astype(float)
    )
    out["within"] = out["answered"] & (wait.fillna(np.inf) <= target)
    out["wait"] = wait
    out["handle"] = out["handle_s"].astype(float)
    return out


def _rates(group: pd.DataFrame, formula: str) -> dict:
    answered = int(group["answered"].sum())
    abandoned = int(group["abandoned"].sum())
    offered = int(group["offered"].sum())
    short = int(group["short_abandoned"].sum())
    within = int(group["within"].sum())
    base = answered + abandoned if formula == "answered_plus_abandoned" else answered
    answered_rows = group[group["answered"]]
    waits = answered_rows["wait"].dropna()  # an unknown wait is not a wait of 0 s
    handled = answered_rows["handle"].dropna()
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": short,
        "service_level": round(within / base, 4) if base else None,
        "asa_s": round(float(waits.mean()), 1) if len(waits) else None,
        "aht_s": round(float(handled.mean()), 1) if len(handled) else None,
        "abandon_rate": round(abandoned / (offered - short), 4) if offered - short > 0 else None,
    }


def _first_entries():
    """Each call's first entry time per queue: surveys and callbacks belong to that interval."""
    return (
        select(
            QueueEntry.call_sid,
            QueueEntry.queue,
            func.min(QueueEntry.original_entered_at).label("entered_at"),
        )
        .group_by(QueueEntry.call_sid, QueueEntry.queue)
        .subquery()
    )


def _surveys(session: Session, window: Window) -> pd.DataFrame:
    first = _first_entries()
    rows = session.execute(
        select(Survey.queue, first.c.entered_at, Survey.score)
        .join(first, (first.c.call_sid == Survey.call_sid) & (first.c.queue == Survey.queue))
        .where(
            first.c.entered_at >= window.since,
            first.c.entered_at < window.until,
            Survey.score.is_not(None),
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["queue", "at", "score"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def _callbacks(session: Session, window: Window) -> pd.DataFrame:
    rows = session.execute(
        select(Callback.queue, Callback.original_entered_at, Callback.status).where(
            Callback.original_entered_at >= window.since,
            Callback.original_entered_at < window.until,
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["queue", "at", "status"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def queue_stats(
    session: Session, cfg: HotlineConfig, window: Window, now: dt.datetime
) -> list[dict]:
    """One dict per queue with every figure of the README's definitions."""
    classified = _classify(_entries(session, window), cfg)
    waiting_rows = session.execute(
        select(QueueEntry.queue, func.count(), func.min(QueueEntry.entered_at))
        .where(
            waiting_entries(),
        )
        .group_by(QueueEntry.queue)
    ).all()
    waiting = {q: (n, first) for q, n, first in waiting_rows}
    survey_rows = _surveys(session, window)
    callback_rows = _callbacks(session, window)
    pending = dict(
        session.execute(
            select(Callback.queue, func.count())
            .where(Callback.status.in_(("pending", "dialing")))
            .group_by(Callback.queue)
        ).all()
    )
    states = dict(session.execute(select(AgentAccount.agent_id, AgentAccount.state)).all())
    tickets = session.scalar(
        select(func.count())
        .select_from(ComplaintTicket)
        .where(
            ComplaintTicket.created_at >= window.since, ComplaintTicket.created_at < window.until
        )
    )
    out = []
    for queue in cfg.queues:
        figures = _rates(
            classified[classified["queue"] == queue.id], cfg.line.service_level_formula
        )
        count, first = waiting.get(queue.id, (0, None))
        skilled = [a.id for a in cfg.agents if queue.id in a.skills]
        scores = survey_rows.loc[survey_rows["queue"] == queue.id, "score"]
        mine = callback_rows[callback_rows["queue"] == queue.id]
        out.append(
            {
                "queue": queue.id,
                "name": queue.names[cfg.line.default_language],
                "waiting": int(count),
                "longest_wait_s": round((now - first).total_seconds(), 1)
                if first is not None
                else 0.0,
                **figures,
                "service_level_target": queue.service_level.target,
                "answer_time_s": queue.service_level.answer_time_s,
                "csat": round(float(scores.mean()), 2) if len(scores) else None,
                "surveys": int(len(scores)),
                "callbacks_requested": int(len(mine)),
                "callbacks_completed": int((mine["status"] == "completed").sum()),
                "callbacks_pending": int(pending.get(queue.id, 0)),
                "agents_logged_in": sum(states.get(a, "offline") != "offline" for a in skilled),
                "agents_busy": sum(states.get(a) == "on_call" for a in skilled),
                "agents_available": sum(states.get(a) == "available" for a in skilled),
                "agents_ringing": sum(states.get(a) == "ringing" for a in skilled),
                "agents_wrap_up": sum(states.get(a) == "wrap_up" for a in skilled),
                "agents_not_ready": sum(states.get(a) == "not_ready" for a in skilled),
                "tickets_opened": int(tickets) if queue.opens_ticket else 0,
            }
        )
    return out


def queues_report(
    session: Session, cfg: HotlineConfig, window: Window, now: dt.datetime
) -> dict[str, Any]:
    """The body of ``GET /api/queues`` and of ``hotline stats --format json``: ``as_of`` (the
    line's time zone), ``window`` and ``queues`` (:func:`queue_stats`)."""
    return {
        "as_of": now.astimezone(cfg.tz).isoformat(),
        "window": window.as_json(cfg.line.timezone),
        "queues": queue_stats(session, cfg, window, now),
        "languages": language_stats(session, cfg, window),
    }


def language_stats(session: Session, cfg: HotlineConfig, window: Window) -> list[dict]:
    """One dict per language of the line, over every queue: ``offered``, ``answered``,
    ``answered_in_language`` (by an agent who speaks it), its share of the answered, and the
    service level and ASA as :func:`queue_stats` computes them."""
    classified = _classify(_entries(session, window), cfg)
    if "language" not in classified:
        classified = classified.assign(language=None, answered_in_language=None)
    language = classified["language"].fillna(cfg.line.default_language)
    out = []
    for code in cfg.line.languages:
        group = classified[language == code]
        in_language = int((group["answered"] & group["answered_in_language"].eq(True)).sum())
        figures = _rates(group, cfg.line.service_level_formula)
        out.append(
            {
                "language": code,
                "offered": figures["offered"],
                "answered": figures["answered"],
                "answered_in_language": in_language,
                "in_language_share": round(in_language / figures["answered"], 4)
                if figures["answered"]
                else None,
                "service_level": figures["service_level"],
                "asa_s": figures["asa_s"],
                "abandoned": figures["abandoned"],
            }
        )
    return out


def _empty() -> pd.DataFrame:
    flags = {
        c: pd.Series(dtype=bool)
        for c in ("offered", "bridged", "answered", "abandoned", "short_abandoned", "within")
    }
    return pd.DataFrame(
        {
            "queue": pd.Series(dtype=object),
            "result": pd.Series(dtype=object),
            "entered_at": pd.Series(dtype="datetime64[ns, UTC]"),
        }
        | flags
        | {"wait": pd.Series(dtype=float), "handle": pd.Series(dtype=float)}
    )


def interval_starts(window: Window, freq: pd.Timedelta, tz) -> pd.DatetimeIndex:
    """Every interval of the window (absolute steps, so DST days have 46 or 50 half hours)."""
    return pd.date_range(
        pd.Timestamp(window.since).tz_convert(tz),
        pd.Timestamp(window.until).tz_convert(tz),
        freq=freq,
        inclusive="left",
    )


def bucket(times: pd.Series, freq: pd.Timedelta, tz) -> pd.Series:
    """The start of the local interval each time falls in (a repeated DST hour stays apart)."""
    local = times.dt.tz_convert(tz)
    wall = local.dt.tz_localize(None)
    return local - (wall - wall.dt.floor(freq))


def interval_stats(
    session: Session,
    cfg: HotlineConfig,
    window: Window,
    freq: pd.Timedelta,
    queue: str | None = None,
) -> pd.DataFrame:
    """Per interval (rows) and queue: the window figures. Intervals with no calls have zeros."""
    classified = _classify(_entries(session, window), cfg)
    queues = [queue] if queue else cfg.queue_ids()
    starts = interval_starts(window, freq, cfg.tz)
    frames = []
    survey_rows = _surveys(session, window)
    callback_rows = _callbacks(session, window)
    for q in queues:
        part = classified[classified["queue"] == q]
        part = part.assign(interval_start=bucket(part["entered_at"], freq, cfg.tz))
        grouped = {
            key: _rates(group, cfg.line.service_level_formula)
            for key, group in part.groupby("interval_start")
        }
        empty = _rates(_empty(), cfg.line.service_level_formula)
        rows = pd.DataFrame([{"interval_start": t, **grouped.get(t, empty)} for t in starts])
        for extra, source in (("surveys", survey_rows), ("callbacks_requested", callback_rows)):
            mine = source[source["queue"] == q]
            counts = bucket(mine["at"], freq, cfg.tz).value_counts()
            rows[extra] = rows["interval_start"].map(counts).fillna(0).astype(int)
        mine = survey_rows[survey_rows["queue"] == q]
        csat = mine.assign(b=bucket(mine["at"], freq, cfg.tz)).groupby("b")["score"].mean()
        rows["csat"] = rows["interval_start"].map(csat).round(2)
        rows.insert(0, "queue", q)
        frames.append(rows)
    table = pd.concat(frames, ignore_index=True)
    return table[["queue", *INTERVAL_FIELDS]]


def history_table(
    session: Session, cfg: HotlineConfig, window: Window, freq: pd.Timedelta
) -> pd.DataFrame:
    """What forecasting needs: one row per interval, the calls agents had to take per queue and
    ``<queue>_aht_s``.

    Those are the offered calls, with callbacks counted when they were handled: a caller who
    left the queue for a callback counts once, in the interval the callback was answered and
    queued (with its handle time), not where they left. A callback booked while the line was
    closed has no first entry and counts at the opening it was dialled at."""
    classified = _classify(_entries(session, window), cfg)
    starts = interval_starts(window, freq, cfg.tz)
    table = pd.DataFrame({"interval_start": starts})
    classified = classified.assign(interval_start=bucket(classified["entered_at"], freq, cfg.tz))
    work = ~(classified["offered"] & (classified["result"] == "leave"))  # all but those who left
    for q in cfg.queue_ids():
        part = classified[(classified["queue"] == q) & work]
        offered = part.groupby("interval_start").size()
        aht = part[part["bridged"]].groupby("interval_start")["handle"].mean()
        table[q] = table["interval_start"].map(offered).fillna(0).astype(int)
        table[f"{q}_aht_s"] = table["interval_start"].map(aht).round(1)
    return table
