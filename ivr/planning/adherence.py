"""Adherence: each agent's day held against their published shifts, from the states they were in
(``agent_state_changes``).

Per agent and day (the line's time zone; a DST day has 23 or 25 hours), to the second:

- ``scheduled_min``: the published shift's minutes, break included (on a day under way, up to
  now).
- ``adherent_min``: of those, the minutes the agent did what the schedule said: outside the break a
  working state (``available``, ``ringing``, ``on_call``, ``wrap_up``), inside the break not ready
  for one of ``adherence.break_reasons`` (``break``, ``lunch``).
- ``adherence``: adherent ÷ scheduled.
- ``worked_min``: minutes in a working state at any time of the day, in a shift or not.
- ``conformance``: worked ÷ the day's shifts' minutes less their breaks (the time the agent was to
  work that day; the same on each of the agent's rows).
- ``late_start_min``: from the shift's start to the first working moment in it, when that is more
  than ``adherence.grace_min``; ``early_end_min`` likewise before the shift's end; ``absent``: not
  a working second in a scheduled shift.
- ``break_outside_min``: minutes not ready for a break reason inside the shift but outside its
  scheduled break (a break taken at another time).

The published roster's break has the length of its shift template's unpaid break.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.config.schema import HotlineConfig
from ivr.stats import local_midnight
from ivr.store.agent_states import WORKING
from ivr.store.models import AgentStateChange, RosterAssignment

COLUMNS = [
    "agent", "name", "date", "shift", "scheduled_min", "adherent_min", "adherence",
    "worked_min", "conformance", "late_start_min", "early_end_min", "absent",
    "break_outside_min",
]  # fmt: skip


@dataclass(frozen=True)
class Shift:
    start: dt.datetime
    end: dt.datetime
    break_start: dt.datetime | None
    break_end: dt.datetime | None


def break_minutes(cfg: HotlineConfig, shift_minutes: float) -> int:
    """The unpaid break of the shift template a shift of this length comes from (the longest
    template break when several fit, 0 when none has one)."""
    fits = [
        t.unpaid_break.length_min
        for t in cfg.staffing.shift_templates
        if t.unpaid_break and t.length_min_min <= shift_minutes <= t.length_max_min
    ]
    every = [t.unpaid_break.length_min for t in cfg.staffing.shift_templates if t.unpaid_break]
    return max(fits or every or [0])


def day_bounds(cfg: HotlineConfig, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The day's first and last instants, in UTC: their difference is 23 or 25 hours on a DST
    day (aware datetimes that share a zone subtract as wall clocks)."""
    start, end = local_midnight(cfg, day), local_midnight(cfg, day + dt.timedelta(days=1))
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def published_shifts(session: Session, cfg: HotlineConfig, day: dt.date) -> dict[str, list[Shift]]:
    rows = session.scalars(
        select(RosterAssignment)
        .where(RosterAssignment.date == day, RosterAssignment.status == "published")
        .order_by(RosterAssignment.agent_id, RosterAssignment.shift_start)
    ).all()
    out: dict[str, list[Shift]] = {}
    for row in rows:
        length = (row.shift_end - row.shift_start).total_seconds() / 60
        brk = row.break_start
        brk_end = brk + dt.timedelta(minutes=break_minutes(cfg, length)) if brk else None
        out.setdefault(row.agent_id, []).append(Shift(row.shift_start, row.shift_end, brk, brk_end))
    return out


def state_seconds(
    session: Session, agent_ids: list[str], start: dt.datetime, end: dt.datetime
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per agent, for every second of [start, end): whether they were working, and whether they
    were not ready (code 2: for a break reason, 1: any other reason) — as arrays."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if not agent_ids:
        return out
    rows = session.execute(
        select(
            AgentStateChange.agent_id,
            AgentStateChange.state,
            AgentStateChange.reason,
            AgentStateChange.at,
        )
        .where(AgentStateChange.agent_id.in_(agent_ids), AgentStateChange.at < end)
        .order_by(AgentStateChange.agent_id, AgentStateChange.at, AgentStateChange.id)
    ).all()
    length = int((end - start).total_seconds())
    by_agent: dict[str, list] = {}
    for agent_id, state, reason, at in rows:
        by_agent.setdefault(agent_id, []).append((state, reason, at))
    for agent_id in agent_ids:
        changes = by_agent.get(agent_id, [])
        working = np.zeros(length, dtype=bool)
        reasons = np.full(length, "", dtype=object)
        if changes:
            at = np.array([max((c[2] - start).total_seconds(), 0.0) for c in changes])
            bounds = np.ceil(at).astype(int).clip(0, length)
            stops = np.append(bounds[1:], length)
            for (state, reason, _), a, b in zip(changes, bounds, stops, strict=True):
                if b <= a:
                    continue
                if state in WORKING:
                    working[a:b] = True
                elif state == "not_ready":
                    reasons[a:b] = reason or "other"
        out[agent_id] = (working, reasons)
    return out


def _mask(length: int, start: dt.datetime, a: dt.datetime | None, b: dt.datetime | None):
    mask = np.zeros(length, dtype=bool)
    if a is None or b is None:
        return mask
    i = int(max((a - start).total_seconds(), 0))
    j = int(min((b - start).total_seconds(), length))
    if j > i:
        mask[i:j] = True
    return mask


def day_adherence(
    session: Session, cfg: HotlineConfig, day: dt.date, now: dt.datetime | None = None
) -> pd.DataFrame:
    """One row per published shift of ``day`` (columns :data:`COLUMNS`); a day still under way
    counts up to ``now``."""
    start, end = day_bounds(cfg, day)
    if now is not None:
        end = min(end, max(now, start))
    shifts = published_shifts(session, cfg, day)
    seconds = state_seconds(session, list(shifts), start, end)
    names = {a.id: a.name for a in cfg.agents}
    allowed = np.array(cfg.line.adherence.break_reasons, dtype=object)
    grace = cfg.line.adherence.grace_min * 60
    length = int((end - start).total_seconds())
    rows = []
    for agent_id, agent_shifts in shifts.items():
        working, reasons = seconds[agent_id]
        on_break_reason = np.isin(reasons, allowed)
        worked = int(working.sum())
        to_work = sum(  # the day's shifts less their breaks: what the agent was to work
            int(_mask(length, start, s.start, min(s.end, end)).sum())
            - int(
                (
                    _mask(length, start, s.break_start, s.break_end)
                    & _mask(length, start, s.start, min(s.end, end))
                ).sum()
            )
            for s in agent_shifts
        )
        for shift in agent_shifts:
            in_shift = _mask(length, start, shift.start, min(shift.end, end))
            in_break = _mask(length, start, shift.break_start, shift.break_end) & in_shift
            scheduled = int(in_shift.sum())  # up to ``now`` on a day under way
            adherent = int((in_shift & ~in_break & working).sum()) + int(
                (in_break & on_break_reason).sum()
            )
            working_in_shift = np.flatnonzero(in_shift & working)
            shift_from = (shift.start - start).total_seconds()
            shift_to = (shift.end - start).total_seconds()
            absent = len(working_in_shift) == 0 and shift.start < end
            late = early = 0.0
            if len(working_in_shift):
                late = max(working_in_shift[0] - shift_from, 0.0)
                if shift.end <= end:
                    early = max(shift_to - (working_in_shift[-1] + 1), 0.0)
            rows.append(
                {
                    "agent": agent_id,
                    "name": names.get(agent_id, agent_id),
                    "date": day.isoformat(),
                    "shift": f"{shift.start.astimezone(cfg.tz):%H:%M}-"
                    f"{shift.end.astimezone(cfg.tz):%H:%M}",
                    "scheduled_min": round(scheduled / 60, 1),
                    "adherent_min": round(adherent / 60, 1),
                    "adherence": round(adherent / scheduled, 4) if scheduled else None,
                    "worked_min": round(worked / 60, 1),
                    "conformance": round(worked / to_work, 4) if to_work > 0 else None,
                    "late_start_min": round(late / 60, 1) if late > grace else 0.0,
                    "early_end_min": round(early / 60, 1) if early > grace else 0.0,
                    "absent": bool(absent),
                    "break_outside_min": round(
                        int((in_shift & ~in_break & on_break_reason).sum()) / 60, 1
                    ),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def out_of_adherence_now(
    session: Session, cfg: HotlineConfig, now: dt.datetime
) -> list[dict[str, str]]:
    """Agents whose state at ``now`` (the state log's last change) is not what their published
    shift says: scheduled to work but not working, or on their scheduled break but working or
    away."""
    day = now.astimezone(cfg.tz).date()
    latest = (
        select(func.max(AgentStateChange.id))
        .where(AgentStateChange.at <= now)
        .group_by(AgentStateChange.agent_id)
    )
    states = {
        agent_id: (state, reason)
        for agent_id, state, reason in session.execute(
            select(
                AgentStateChange.agent_id, AgentStateChange.state, AgentStateChange.reason
            ).where(AgentStateChange.id.in_(latest))
        )
    }
    names = {a.id: a.name for a in cfg.agents}
    out = []
    for agent_id, agent_shifts in published_shifts(session, cfg, day).items():
        for shift in agent_shifts:
            if not shift.start <= now < shift.end:
                continue
            state, reason = states.get(agent_id, ("offline", None))
            on_break = shift.break_start is not None and shift.break_start <= now < shift.break_end
            if on_break:
                ok = state == "not_ready" and reason in cfg.line.adherence.break_reasons
                expected = "on break"
            else:
                ok = state in WORKING
                expected = "working"
            if not ok:
                shown = state if state != "not_ready" else f"not ready ({reason})"
                out.append(
                    {
                        "agent": agent_id,
                        "name": names.get(agent_id, agent_id),
                        "expected": expected,
                        "state": shown.replace("_", " "),
                    }
                )
    return out
