"""Weekly rosters of named agents for the line: config and shift plan in, roster out.

Hard rules (from config): skills and languages on duty at every hour the line is open and the
plan has people on duty, contract hours, one shift a day, minimum rest (across the week boundary
too, from last week's roster), maximum consecutive days (counting last week), two consecutive days
off, unavailable days, no work on a day the line is closed. Soft: the plan's shifts filled first
(each weighed by its paid hours and the share of the team it leaves short), then requests, the
same start time through the week, weekends and nights shared over the last four weeks, hours near
the contract. Agents' approved requests (``ivr.planning.agent_requests``) add hard days off and soft
requests.

Cells a supervisor locked (``ivr.planning.roster_edits`` makes the roster page's changes) are kept
by every solve; the stored rosters are read back by :func:`week_roster` (published, else draft),
:func:`newest_roster_week` and :func:`roster_weeks`, the week's stored shift plan by
:func:`stored_shift_plan`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ivr import clock
from ivr.config import hotline_config
from ivr.config.hours import MIDNIGHT, OpeningHours
from ivr.config.schema import Agent, HotlineConfig
from ivr.planning.agent_requests import roster_inputs
from ivr.planning.drafts import latest, save_draft
from ivr.planning.team import (
    beyond,
    contract_minutes,
    minutes,
    not_rest_days,
    team_limits,
    unavailable_days,
)
from ivr.store.db import session_scope
from ivr.store.models import PlanDraft, RosterAssignment, RosterLock
from staffing.rostering import (
    AttributeCover,
    Cover,
    Infeasible,
    NoRosterInTime,
    Request,
    RosterProblem,
    RosterResult,
    RosterShift,
    Staff,
    Violation,
    solve,
)

NIGHT_START, NIGHT_END = 22 * 60, 6 * 60
MINUTES_A_DAY = 24 * 60


@dataclass
class WeekPlan:
    week_start: dt.date
    shifts: dict[str, RosterShift]
    covers: list[Cover]
    details: dict[
        str, tuple[int, int, int | None]
    ]  # shift id -> start, end, break offset (minutes)


def read_plan(
    path: str | Path | io.StringIO, week_start: dt.date, name: str | None = None
) -> pd.DataFrame:
    """The week's rows of a shift plan CSV (``name`` it in errors when ``path`` is a buffer)."""
    name = name or str(path)
    plan = pd.read_csv(path, dtype={"break_start": str})
    needed = {"date", "shift_start", "shift_end", "agents"}
    missing = needed - set(plan.columns)
    if missing:
        raise ValueError(f"{name}:1: missing column(s) {', '.join(sorted(missing))}")
    plan["date"] = pd.to_datetime(plan["date"]).dt.date
    week = plan[(plan["date"] >= week_start) & (plan["date"] < week_start + dt.timedelta(days=7))]
    if week.empty:
        raise ValueError(f"{name}: no shifts in the week of {week_start}")
    return week


def week_plan(
    plan: pd.DataFrame, week_start: dt.date, cfg: HotlineConfig, *, by_team_share: bool = True
) -> WeekPlan:
    """The week's shifts and covers. A planned shift left without an agent costs its paid hours
    times the shortage weight and, with ``by_team_share``, times the share of the team it leaves
    short (:func:`team_share`): one agent missing of the two planned on a Saturday morning costs
    the callers far more than one of thirty on a Monday afternoon."""
    rest = int(cfg.staffing.rest.min_rest_h * 60)
    w = cfg.staffing.weights
    shifts: dict[str, RosterShift] = {}
    details = {}
    covers = []
    for row in plan.itertuples():
        start = dt.datetime.fromisoformat(row.shift_start)
        end = dt.datetime.fromisoformat(row.shift_end)
        day0 = dt.datetime.combine(row.date, dt.time(0), tzinfo=start.tzinfo)
        start_min = int(
            (start.replace(tzinfo=None) - day0.replace(tzinfo=None)).total_seconds() // 60
        )
        end_min = start_min + int((end - start).total_seconds() // 60)
        brk = getattr(row, "break_start", None)
        brk_min = (
            int((dt.datetime.fromisoformat(brk) - start).total_seconds() // 60)
            if isinstance(brk, str) and brk
            else None
        )
        # variants that differ only in where the break falls are one shift for rostering (same
        # duty and rest); the roster shows the plan's first break for it
        sid = f"{start_min // 60:02d}:{start_min % 60:02d}-{(end_min // 60) % 24:02d}:{end_min % 60:02d}"
        paid = int(round(float(getattr(row, "paid_hours", (end_min - start_min) / 60)) * 60))
        night = start_min >= NIGHT_START or end_min > 24 * 60 + NIGHT_END // 2
        shifts.setdefault(sid, RosterShift(sid, paid, start_min, end_min, frozenset(), night))
        details.setdefault(sid, (start_min, end_min, brk_min))
        day = (row.date - week_start).days
        covers.append(
            Cover(day, sid, int(row.agents), int(w.shortage * paid / 60), int(w.excess * paid / 60))
        )
    merged: dict[tuple[int, str], Cover] = {}
    for c in covers:
        key = (c.day, c.shift)
        merged[key] = (
            Cover(
                c.day,
                c.shift,
                merged[key].requirement + c.requirement,
                c.under_weight,
                c.over_weight,
            )
            if key in merged
            else c
        )
    if by_team_share:
        share = team_share(list(merged.values()), shifts)
        merged = {
            key: Cover(
                c.day, c.shift, c.requirement, max(round(c.under_weight * f), 1), c.over_weight
            )
            for (key, c), f in zip(merged.items(), share, strict=True)
        }
    return WeekPlan(week_start, with_rest(shifts, rest), list(merged.values()), details)


def with_rest(shifts: dict[str, RosterShift], rest_min: int) -> dict[str, RosterShift]:
    """The shifts, each forbidding the next day's shifts that start less than ``rest_min``
    minutes after it ends."""
    return {
        sid: replace(
            s,
            forbidden_next=frozenset(
                o.id for o in shifts.values() if 24 * 60 + o.start_min - s.end_min < rest_min
            ),
        )
        for sid, s in shifts.items()
    }


def team_share(covers: list[Cover], shifts: dict[str, RosterShift]) -> np.ndarray:
    """Per cover: the agents the plan has on duty on average over the week (over the minutes
    anyone is on duty), divided by those it has on duty on average while the cover's shift runs
    (the shift's own agents included). 1 for a shift at the week's usual strength, 5 for one
    planned when a fifth as many are on duty, 1 for a cover with nobody planned."""
    if not covers:
        return np.ones(0)
    start = np.array([c.day * MINUTES_A_DAY + shifts[c.shift].start_min for c in covers])
    end = np.array([c.day * MINUTES_A_DAY + shifts[c.shift].end_min for c in covers])
    agents = np.array([max(c.requirement, 0) for c in covers], dtype=float)
    change = np.zeros(int(end.max()) + 1)
    np.add.at(change, start, agents)
    np.add.at(change, end, -agents)
    on_duty = np.cumsum(change)[:-1]  # agents on duty in each minute of the week (and beyond)
    if not (on_duty > 0).any():
        return np.ones(len(covers))
    usual = on_duty[on_duty > 0].mean()
    total = np.concatenate([[0.0], np.cumsum(on_duty)])
    during = (total[end] - total[start]) / np.maximum(end - start, 1)
    return np.where((agents > 0) & (during > 0), usual / np.maximum(during, 1e-9), 1.0)


@dataclass
class AgentHistory:
    """An agent's recent published rosters, as the next week's rules need them."""

    dates: set[dt.date] = field(default_factory=set)  # days worked in the last four weeks
    last_end: dt.datetime | None = None  # the end of their last shift (for the rest rule)
    weekends: set[dt.date] = field(default_factory=set)  # the Saturdays of weekends worked
    nights: int = 0  # night shifts worked
    streak: int = 0  # days worked in a row up to the week's start


def history(session: Session, week_start: dt.date, tz) -> dict[str, AgentHistory]:
    """From published rosters: last week's final shift and streak, weekends and nights lately."""
    rows = session.scalars(
        select(RosterAssignment).where(
            RosterAssignment.status == "published",
            RosterAssignment.date < week_start,
            RosterAssignment.date >= week_start - dt.timedelta(days=28),
        )
    ).all()
    out: dict[str, AgentHistory] = {}
    for r in rows:
        info = out.setdefault(r.agent_id, AgentHistory())
        info.dates.add(r.date)
        end = r.shift_end.astimezone(tz)
        if info.last_end is None or end > info.last_end:
            info.last_end = end
        if r.date.weekday() >= 5:
            info.weekends.add(r.date - dt.timedelta(days=r.date.weekday() - 5))
        local = r.shift_start.astimezone(tz)
        if local.hour * 60 + local.minute >= NIGHT_START:
            info.nights += 1
    for info in out.values():
        day = week_start - dt.timedelta(days=1)
        while day in info.dates:
            info.streak, day = info.streak + 1, day - dt.timedelta(days=1)
    return out


def open_checkpoints(cfg: HotlineConfig, week_start: dt.date) -> dict[int, list[int]]:
    """Per day of the week: the hours (minute of day) the line is open, from hours.yaml (none
    on a holiday or closure)."""

    hours = OpeningHours.from_config(cfg)
    out = {}
    for d in range(7):
        points = []
        for start, end in hours.wall_ranges(week_start + dt.timedelta(days=d)):
            first = minutes(start)
            last = 24 * 60 if end == MIDNIGHT else minutes(end)
            points += list(range(first, last, 60))
        out[d] = points
    return out


def build_problem(
    cfg: HotlineConfig,
    plan: WeekPlan,
    agents: list[Agent],
    prior: dict[str, AgentHistory],
    requests: list[Request],
    requirements: pd.DataFrame | None = None,
    *,
    time_off: dict[str, set[int]] | None = None,
    fixed: dict[tuple[str, int], str | None] | None = None,
) -> RosterProblem:
    """The week's roster problem. ``time_off``: per agent, days (0-6) of approved time off, hard
    days off like their unavailable days; ``fixed``: cells locked to a shift id or off (None),
    kept by every solver path."""
    rest = int(cfg.staffing.rest.min_rest_h * 60)
    time_off = time_off or {}
    checkpoints = open_checkpoints(cfg, plan.week_start)
    # nobody works a day the line is closed (no hours, a holiday or a closure), although such a
    # day has no planned shift whose cover an extra agent would spoil: a rule nothing relaxes
    closed = frozenset(d for d in range(7) if not checkpoints.get(d))
    staff = []
    for a in agents:
        low, high = contract_minutes(cfg, a, plan.week_start)
        info = prior.get(a.id, AgentHistory())
        forbidden = frozenset()
        if info.last_end is not None:
            last_end = info.last_end
            day0 = dt.datetime.combine(plan.week_start, dt.time(0), tzinfo=cfg.tz)
            forbidden = frozenset(
                sid
                for sid, s in plan.shifts.items()
                if (day0 + dt.timedelta(minutes=s.start_min) - last_end).total_seconds() / 60 < rest
            )
        staff.append(
            Staff(
                id=a.id,
                max_minutes=high,
                min_minutes=low,
                max_consecutive=cfg.staffing.rest.max_consecutive_days,
                days_off=(unavailable_days(a, plan.week_start) | time_off.get(a.id, set()))
                - closed,
                attributes=frozenset(
                    {f"skill:{s}" for s in a.skills} | {f"lang:{lang}" for lang in a.languages}
                ),
                target_minutes=(low + high) // 2,
                prior_streak=info.streak,
                prior_forbidden=forbidden,
                prior_weekends=len(info.weekends),
                prior_nights=info.nights,
            )  # fmt: skip
        )
    attribute_covers = []
    on_duty_days = {c.day for c in plan.covers if c.requirement > 0}
    queue_needs = (
        _queue_needs(requirements, plan.week_start, cfg) if requirements is not None else {}
    )
    for d in sorted(on_duty_days):
        date = plan.week_start + dt.timedelta(days=d)
        for minute in checkpoints.get(d, []):
            duty = frozenset(
                sid
                for sid, s in plan.shifts.items()
                if s.start_min <= minute < s.end_min
                and any(c.day == d and c.shift == sid and c.requirement for c in plan.covers)
            )
            if not duty:
                continue
            day_name, clock = f"{date:%A %Y-%m-%d}", f"{minute // 60:02d}:{minute % 60:02d}"
            for lang in cfg.line.languages:
                attribute_covers.append(
                    AttributeCover(
                        d,
                        duty,
                        f"lang:{lang}",
                        1,
                        f"needs 1 {cfg.language(lang).name} speaker on duty",
                        time=clock,
                        day_name=day_name,
                    )
                )
            for q in cfg.queues:
                need = queue_needs.get((d, minute, q.id), 1)
                if need:
                    attribute_covers.append(
                        AttributeCover(
                            d,
                            duty,
                            f"skill:{q.id}",
                            need,
                            f"needs {need} agent(s) for {q.names[cfg.line.default_language]}",
                            time=clock,
                            day_name=day_name,
                        )
                    )
    weekends = [
        tuple(d for d in range(7) if (plan.week_start + dt.timedelta(days=d)).weekday() >= 5)
    ]
    return RosterProblem(
        days=7, shifts=list(plan.shifts.values()), staff=staff, covers=plan.covers, requests=requests, attribute_covers=attribute_covers,
        weekends=weekends, two_days_off_in_a_row=cfg.staffing.rest.min_consecutive_days_off >= 2, stability_weight=20,
        fairness_weight=10, contract_weight=1, closed_days=closed,
        not_rest_days=frozenset(not_rest_days(cfg, plan.week_start)), fixed=dict(fixed or {}),
    )  # fmt: skip


def _queue_needs(requirements: pd.DataFrame, week_start: dt.date, cfg: HotlineConfig) -> dict:
    out = {}
    table = requirements[requirements["queue"].isin(cfg.queue_ids())].copy()
    times = pd.to_datetime(table["interval_start"], utc=True).dt.tz_convert(cfg.tz)
    table["day"] = [(t.date() - week_start).days for t in times]
    table["minute"] = [(t.hour * 60 + t.minute) // 60 * 60 for t in times]
    for (day, minute, queue), agents in (
        table.groupby(["day", "minute", "queue"])["agents"].max().items()
    ):
        out[(int(day), int(minute), queue)] = int(min(agents, 1) if agents else 0)
    return out


def summarise(violations: list[Violation]) -> list[str]:
    """The violations as lines, a cover missed at several times of a day on one: "Friday
    2026-11-27 18:00: needs X" and the same at 19:00 make "Friday 2026-11-27: needs X at 18:00,
    19:00"."""
    grouped: dict[tuple[str, str], list[str]] = {}
    others = []
    for v in violations:
        if v.day_name and v.time:
            grouped.setdefault((v.day_name, v.detail), []).append(v.time)
        else:
            others.append(str(v))
    return [
        f"{day}: {what} at {', '.join(times)}" for (day, what), times in grouped.items()
    ] + others


def read_requests(path: str | Path, week_start: dt.date, plan: WeekPlan) -> list[Request]:
    """``agent,date,request,weight``: request is ``off`` or a start time ``HH:MM``."""
    out = []
    with Path(path).open(newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            day = (dt.date.fromisoformat(row["date"]) - week_start).days
            if not 0 <= day < 7:
                continue
            weight = int(row.get("weight") or 10)
            wanted = row["request"].strip()
            if wanted == "off":
                out.append(Request(row["agent"], day, None, False, weight))
            else:
                for sid in plan.shifts:
                    if sid.startswith(wanted):
                        out.append(Request(row["agent"], day, sid, True, weight))
    return out


def roster_rows(plan: WeekPlan, result: RosterResult, agents: list[Agent], tz) -> list[dict]:
    by_id = {a.id: a for a in agents}
    rows = []
    for (agent_id, day), sid in sorted(
        result.assignment.items(), key=lambda kv: (kv[0][0], kv[0][1])
    ):
        date = plan.week_start + dt.timedelta(days=day)
        start_min, end_min, brk = plan.details[sid]
        midnight = dt.datetime.combine(date, dt.time(0), tzinfo=tz)
        start = (midnight + dt.timedelta(minutes=start_min)).astimezone(tz)
        end = (start + dt.timedelta(minutes=end_min - start_min)).astimezone(tz)
        rows.append(
            {
                "agent": agent_id,
                "date": date.isoformat(),
                "shift_start": start.isoformat(),
                "shift_end": end.isoformat(),
                "break_start": (start + dt.timedelta(minutes=brk)).astimezone(tz).isoformat()
                if brk is not None
                else "",
                "queue_skills": ";".join(by_id[agent_id].skills),
            }
        )
    return rows


ROSTER_COLUMNS = ["agent", "date", "shift_start", "shift_end", "break_start", "queue_skills"]


def assignment_row(assignment: RosterAssignment, tz: dt.tzinfo, skills: str) -> dict:
    """A stored shift as a roster row (:data:`ROSTER_COLUMNS`), its times in ``tz``."""
    return {
        "agent": assignment.agent_id,
        "date": assignment.date.isoformat(),
        "shift_start": assignment.shift_start.astimezone(tz).isoformat(),
        "shift_end": assignment.shift_end.astimezone(tz).isoformat(),
        "break_start": assignment.break_start.astimezone(tz).isoformat()
        if assignment.break_start
        else "",
        "queue_skills": skills,
    }


def write_csv(rows: list[dict], path: str | Path) -> None:
    with Path(path).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ROSTER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def agent_calendar(
    rows: list[dict],
    agent: Agent,
    line_name: str,
    tz: dt.tzinfo,
    *,
    stamp: dt.datetime | None = None,
    sequence: int | dict[str, int] = 0,
) -> bytes:
    """An agent's shifts among ``rows`` as one iCalendar file (RFC 5545). Each shift is an event
    whose UID stays the same for the agent, date and shift times however often the roster is
    exported, with its times in the line's zone (``tz``, a VTIMEZONE in the file). ``stamp``
    (DTSTAMP, default now) is the same for every event; ``sequence`` (SEQUENCE) too, or per date
    (a dict of ISO dates). A row with ``cancelled`` true is a shift a republished roster removed
    (STATUS:CANCELLED, so a calendar that had it drops it)."""
    from icalendar import Calendar, Event

    stamp = (stamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    cal = Calendar()
    cal.add("prodid", f"-//{line_name}//roster//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("name", f"{line_name} – {agent.name}")
    cal.add("x-wr-calname", f"{line_name} – {agent.name}")
    cal.add("x-wr-timezone", str(tz))
    for row in rows:
        if row["agent"] != agent.id:
            continue
        start = dt.datetime.fromisoformat(row["shift_start"]).astimezone(tz)
        end = dt.datetime.fromisoformat(row["shift_end"]).astimezone(tz)
        event = Event()
        event.add("uid", f"{agent.id}-{row['date']}-{start:%H%M}-{end:%H%M}@hotline")
        event.add("dtstamp", stamp)
        event.add(
            "sequence", sequence.get(row["date"], 0) if isinstance(sequence, dict) else sequence
        )
        event.add("summary", f"{line_name} shift ({row['queue_skills'].replace(';', ', ')})")
        event.add("dtstart", start)
        event.add("dtend", end)
        if row.get("cancelled"):
            event.add("status", "CANCELLED")
        if row["break_start"]:
            event.add("description", f"Unpaid break from {row['break_start'][11:16]}")
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def write_ics(
    rows: list[dict],
    agents: list[Agent],
    folder: str | Path,
    line_name: str,
    tz: dt.tzinfo,
    *,
    stamp: dt.datetime | None = None,
    sequence: int = 0,
) -> list[Path]:
    """One iCalendar file per agent (:func:`agent_calendar`), named after the agent."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for agent in agents:
        path = folder / f"{agent.id}.ics"
        path.write_bytes(agent_calendar(rows, agent, line_name, tz, stamp=stamp, sequence=sequence))
        written.append(path)
    return written


def rostered_on(plan: WeekPlan, rows: list[dict]) -> Counter[tuple[int, str]]:
    """Roster rows counted per (day of the week, shift id ``HH:MM-HH:MM``), as the plan's covers
    name them."""
    return Counter(
        (
            (dt.date.fromisoformat(r["date"]) - plan.week_start).days,
            f"{r['shift_start'][11:16]}-{r['shift_end'][11:16]}",
        )
        for r in rows
    )


def unfilled(plan: WeekPlan, rows: list[dict]) -> int:
    """Planned shifts with no agent: per day and shift, what the plan asks for beyond the agents
    rostered on that very shift."""
    assigned = rostered_on(plan, rows)
    return sum(max(c.requirement - assigned.get((c.day, c.shift), 0), 0) for c in plan.covers)


def unfilled_shifts(
    plan: WeekPlan, rows: list[dict], cfg: HotlineConfig, agents: list[Agent]
) -> list[dict]:
    """Each planned shift with agents missing: ``date``, ``shift`` (``HH:MM-HH:MM``),
    ``planned``, ``rostered``, ``missing`` and the ``reason`` in words: more shifts planned that
    day than agents can work it (team limits, as the planner counts them), or none of those
    who can was free to take it within their rules."""
    assigned = rostered_on(plan, rows)
    limits = team_limits(cfg.model_copy(update={"agents": agents}), plan.week_start)
    planned_on = {d: sum(c.requirement for c in plan.covers if c.day == d) for d in range(7)}
    out = []
    for c in sorted(plan.covers, key=lambda c: (c.day, plan.shifts[c.shift].start_min, c.shift)):
        missing = c.requirement - assigned.get((c.day, c.shift), 0)
        if missing <= 0:
            continue
        date = plan.week_start + dt.timedelta(days=c.day)
        can = limits.per_day[c.day] if limits else 0
        if planned_on[c.day] > can:
            reason = f"{planned_on[c.day]} shifts planned on {date:%A}, and {can} agents can work that day"
        else:
            reason = (
                "every agent who could take it is at their contract hours, resting, on another"
                " shift or off that day"
            )
        out.append(
            {
                "date": date.isoformat(),
                "shift": c.shift,
                "planned": c.requirement,
                "rostered": assigned.get((c.day, c.shift), 0),
                "missing": missing,
                "reason": reason,
                "text": f"{date:%A %Y-%m-%d} {c.shift}: {missing} of {c.requirement} without an"
                f" agent ({reason})",
            }
        )
    return out


def violation_record(violation: Violation, week_start: dt.date) -> dict:
    """A rule the roster breaks as JSON (the CLI's and the stored draft's ``rules_broken``):
    ``date`` is the day of the week it falls on (None for the week as a whole)."""
    day = violation.day
    return {
        "agent": violation.agent,
        "date": (week_start + dt.timedelta(days=day)).isoformat() if day is not None else None,
        "time": violation.time,
        "rule": violation.rule,
        "detail": violation.detail,
        "text": str(violation),
    }


def plan_from_csv(content: str, week_start: dt.date, cfg: HotlineConfig) -> WeekPlan:
    """A stored shift plan (its CSV text) as the week's plan."""
    return week_plan(
        read_plan(io.StringIO(content), week_start, "the stored plan"), week_start, cfg
    )


def asked_beyond(cfg: HotlineConfig, plan: WeekPlan | None, agents: list[Agent]) -> list[str]:
    """What the week's plan asks beyond what these agents can work (planning.beyond), in words."""
    limits = (
        team_limits(cfg.model_copy(update={"agents": agents}), plan.week_start) if plan else None
    )
    if limits is None or not plan.covers:
        return []
    table = pd.DataFrame(
        {
            "date": [plan.week_start + dt.timedelta(days=c.day) for c in plan.covers],
            "agents": [c.requirement for c in plan.covers],
            "paid_hours": [plan.shifts[c.shift].minutes / 60 for c in plan.covers],
        }
    )
    return beyond(limits, table, plan.week_start)


@dataclass(frozen=True)
class AgentWeek:
    id: str
    name: str
    cells: list[str]  # per day: "09:00–17:00" or ""
    hours: float  # hours on shift in the week
    locked: list[bool] = field(default_factory=list)  # per day: a supervisor locked the cell
    preferences: tuple[int, int] | None = None  # approved preferences (honoured, asked)


@dataclass(frozen=True)
class RosterWeek:
    """What a roster week shows (the supervisor page and the ``--html`` file render it with
    the ``_roster_week.html`` template): agents x days, shifts planned vs rostered per day, what
    the plan asks beyond the agents, and the rules that could not all be kept."""

    title: str
    days: list[dt.date]
    agents: list[AgentWeek]
    planned: list[int] | None  # shifts in the plan per day (None: no plan to compare with)
    rostered: list[int]
    missing: int  # planned shifts with no agent
    asked: list[str]  # what the plan asks beyond what the agents can work
    violations: list[str]
    unfilled: list[str] = field(default_factory=list)  # each planned shift without an agent

    @property
    def peak(self) -> int:
        return max([*(self.planned or []), *self.rostered, 1])

    @property
    def preferences_asked(self) -> bool:
        """Whether any agent shown has approved preferences this week."""
        return any(a.preferences for a in self.agents)


def roster_week(
    rows: list[dict],
    agents: list[Agent],
    plan: WeekPlan | None,
    week_start: dt.date,
    title: str,
    violations: list[str] | None = None,
    asked: list[str] | None = None,
    without_agent: list[str] | None = None,
    *,
    locked: set[tuple[str, dt.date]] | None = None,
    honoured: dict[str, tuple[int, int]] | None = None,
) -> RosterWeek:
    """The roster week to show; ``asked``: what the plan asks beyond what the agents can work
    (:func:`asked_beyond`); ``without_agent``: each planned shift without an agent
    (:func:`unfilled_shifts`' ``text``); ``locked``: the (agent, date) cells locked;
    ``honoured``: per agent, approved preferences (honoured, asked). Agents in the rows but not
    in ``agents`` (no longer in agents.csv) are shown too, by id."""
    locked, honoured = locked or set(), honoured or {}
    known = {a.id for a in agents}
    gone = sorted({r["agent"] for r in rows} - known)
    shown = [
        *agents,
        *(SimpleNamespace(id=agent_id, name="(not in agents.csv)") for agent_id in gone),
    ]
    days = [week_start + dt.timedelta(days=d) for d in range(7)]
    cells = {
        (r["agent"], r["date"]): f"{r['shift_start'][11:16]}–{r['shift_end'][11:16]}" for r in rows
    }
    hours: dict[str, float] = {}
    for r in rows:
        span = dt.datetime.fromisoformat(r["shift_end"]) - dt.datetime.fromisoformat(
            r["shift_start"]
        )
        hours[r["agent"]] = hours.get(r["agent"], 0.0) + span.total_seconds() / 3600
    return RosterWeek(
        title=title,
        days=days,
        agents=[
            AgentWeek(
                a.id,
                a.name,
                [cells.get((a.id, d.isoformat()), "") for d in days],
                hours.get(a.id, 0),
                [(a.id, d) in locked for d in days],
                honoured.get(a.id),
            )
            for a in shown
        ],
        planned=[sum(c.requirement for c in plan.covers if c.day == d) for d in range(7)]
        if plan
        else None,
        rostered=[sum(1 for r in rows if r["date"] == day.isoformat()) for day in days],
        missing=unfilled(plan, rows) if plan else 0,
        asked=list(asked or []),
        violations=list(violations or []),
        unfilled=list(without_agent or []),
    )


def roster_file(app: Flask, week: RosterWeek) -> str:
    """The roster week as a standalone HTML file (the CLI's ``--html``, the drafts' roster.html),
    from the app's templates."""
    return app.jinja_env.get_template("roster_file.html").render(roster=week)


def store(session: Session, rows: list[dict], week_start: dt.date, status: str) -> None:
    session.execute(
        delete(RosterAssignment).where(
            RosterAssignment.week_start == week_start, RosterAssignment.status == status
        )
    )
    for r in rows:
        session.add(
            RosterAssignment(
                week_start=week_start,
                agent_id=r["agent"],
                date=dt.date.fromisoformat(r["date"]),
                shift_start=dt.datetime.fromisoformat(r["shift_start"]),
                shift_end=dt.datetime.fromisoformat(r["shift_end"]),
                break_start=dt.datetime.fromisoformat(r["break_start"])
                if r["break_start"]
                else None,
                status=status,
            )  # fmt: skip
        )


class NoRoster(RuntimeError):
    """No roster was found in the time given: nothing is stored (the week's previous draft
    stays) and the command or job fails."""


def make_roster(
    cfg: HotlineConfig,
    session: Session,
    plan_table: pd.DataFrame,
    week_start: dt.date,
    agents: list[Agent],
    *,
    time_limit_s: float = 30.0,
    requests: list[Request] | None = None,
    requirements: pd.DataFrame | None = None,
    best_effort: bool = False,
    by_team_share: bool = True,
    fixed: dict[tuple[str, int], str | None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[WeekPlan, RosterResult, list[dict]]:
    """The week's roster of ``agents`` for the plan, with the agents' approved requests
    (:func:`ivr.planning.agent_requests.roster_inputs`: time off as hard days off, preferences as soft
    requests besides ``requests``) and the cells ``fixed`` (locked: (agent, day) -> shift id or
    None for off). ``best_effort``: a week no roster keeps every rule of gets the roster breaking
    the fewest, unless locked cells make it break more than it would without them
    (:class:`LocksBreakRules`). ``on_stage`` hears the solver's stages."""
    plan = week_plan(plan_table, week_start, cfg, by_team_share=by_team_share)
    time_off, preferences = roster_inputs(
        session, week_start, [a.id for a in agents], list(plan.shifts)
    )
    problem = build_problem(
        cfg, plan, agents, history(session, week_start, cfg.tz), [*(requests or []), *preferences],
        requirements, time_off=time_off, fixed=fixed,
    )  # fmt: skip
    if not best_effort:
        result = solve(problem, time_limit_s, on_stage=on_stage)
    else:
        # best effort: the rules as they are first (a feasible week is solved far better so: the
        # relaxed model starts from nobody working, without the column-generation dive), and
        # only if they cannot all be kept, the relaxed model's roster that explains why
        try:
            result = solve(problem, time_limit_s, on_stage=on_stage)
        except Infeasible as exc:
            if problem.fixed_cells():
                refuse_locks_that_break_rules(problem, exc, plan.week_start, time_limit_s, on_stage)
            if exc.roster is None:
                raise NoRoster(
                    "no roster keeps every rule, and none breaking the fewest was found in"
                    f" {time_limit_s:g} s: " + "; ".join(summarise(exc.violations))
                ) from exc
            result = exc.roster
        except NoRosterInTime as exc:
            if exc.roster is None:
                raise NoRoster(f"{exc}; try a longer time limit") from exc
            result = exc.roster  # the closest found, with the rules it breaks
        except RuntimeError as exc:
            raise NoRoster(
                f"no roster found in {time_limit_s:g} s ({exc}); try a longer time limit"
            ) from exc
    return plan, result, roster_rows(plan, result, agents, cfg.tz)


def roster_summary(
    plan: WeekPlan,
    result: RosterResult,
    rows: list[dict],
    cfg: HotlineConfig,
    agents: list[Agent],
) -> dict:
    """What a roster draft is stored with and its list shows: status, shifts, the planned
    shifts without an agent and the rules broken, each with agent, day and reason."""
    without_agent = unfilled_shifts(plan, rows, cfg, agents)
    return {
        "status": result.status.lower(),
        "gap": round(result.gap, 4),
        "shifts": len(rows),
        "agents": len(agents),
        "unfilled": sum(shift["missing"] for shift in without_agent),
        "unfilled_shifts": without_agent,
        "rules_broken": [violation_record(v, plan.week_start) for v in result.violations],
        "rules_broken_text": summarise(result.violations),
        "asked_beyond_team": asked_beyond(cfg, plan, agents),
    }


def save_roster_draft(
    session: Session,
    rows: list[dict],
    summary: dict,
    week_start: dt.date,
    status: str,
    at: dt.datetime,
) -> None:
    """Store a roster as the week's ``status`` (draft or published) with, as a ``roster`` plan
    draft, its CSV and :func:`roster_summary`; the supervisor page shows them."""
    if not rows and summary.get("unfilled"):
        raise NoRoster("an empty roster is never stored")
    store(session, rows, week_start, status)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ROSTER_COLUMNS)
    writer.writeheader()
    writer.writerows({k: r.get(k, "") for k in ROSTER_COLUMNS} for r in rows)
    save_draft(session, "roster", week_start, buffer.getvalue(), summary, at)


def draft_roster(app, out_dir: Path, progress: Callable[[str], None], time_limit_s: float):
    """The demo's and the weekly job's roster draft from the latest plan file, keeping the
    week's locked cells. When no roster is found in time (:class:`NoRoster`, or
    :class:`LocksBreakRules`) nothing is stored or written: the week's previous draft stays, and
    the error propagates (the job fails, the demo says so)."""

    cfg = hotline_config(app)
    plan_path = out_dir / "plan.csv"
    table = pd.read_csv(plan_path, dtype={"break_start": str})
    week_start = dt.date.fromisoformat(str(table["date"].min()))
    with session_scope(app) as session:
        plan, result, rows = make_roster(
            cfg,
            session,
            read_plan(plan_path, week_start),
            week_start,
            cfg.agents,
            time_limit_s=time_limit_s,
            best_effort=True,
            fixed=locks_of(session, week_start),
        )
        summary = roster_summary(plan, result, rows, cfg, cfg.agents)
        save_roster_draft(session, rows, summary, week_start, "draft", clock.now())
    write_csv(rows, out_dir / "roster.csv")
    write_ics(rows, cfg.agents, out_dir / "ics", cfg.line.name, cfg.tz)
    week = roster_week(
        rows,
        cfg.agents,
        plan,
        week_start,
        f"Roster draft, week of {week_start}",
        summary["rules_broken_text"],
        summary["asked_beyond_team"],
        [u["text"] for u in summary["unfilled_shifts"]],
    )
    (out_dir / "roster.html").write_text(roster_file(app, week))
    progress(
        f"roster draft: {len(rows)} shifts for {len(cfg.agents)} agents,"
        f" {summary['unfilled']} planned shift(s) with no agent,"
        f" {len(result.violations)} rule(s) broken -> roster.csv, roster.html, ics/"
    )
    for line in summary["rules_broken_text"]:
        progress(f"  rule broken: {line}")
    return rows


# --------------------------------------------------------------------------- locked cells
# Cells a supervisor locked on the roster page (``ivr.planning.roster_edits``) hold in every solve
# of the week: the weekly job's, the CLI's and the page's own.


def locks_of(session: Session, week_start: dt.date) -> dict[tuple[str, int], str | None]:
    """The week's locked cells: (agent, day of the week) -> shift id, or None for off."""
    return {
        (lock.agent_id, (lock.date - week_start).days): lock.shift
        for lock in session.scalars(select(RosterLock).where(RosterLock.week_start == week_start))
    }


class LocksBreakRules(NoRoster):
    """The locked cells make the week break rules it keeps (or breaks fewer of) without them:
    nothing is stored. ``violations``: the rules, each with its agent."""

    def __init__(self, message: str, violations: list[Violation]):
        super().__init__(message)
        self.violations = violations


def refuse_locks_that_break_rules(
    problem: RosterProblem,
    exc: Infeasible,
    week_start: dt.date,
    time_limit_s: float,
    on_stage: Callable[[str], None] | None = None,
) -> None:
    """A week with locked cells that no roster keeps every rule of: the roster breaking the
    fewest rules is fine when the week without its locks breaks as many (the locks are not why);
    otherwise :class:`LocksBreakRules` names the rules the locks add."""
    if exc.roster is not None:
        if on_stage:
            on_stage("checking the week without its locks")
        try:
            free = solve(replace(problem, fixed={}), time_limit_s, relax=True).violations
        except RuntimeError:
            free = None
        if free is not None and len(exc.violations) <= len(free):
            return
        added = new_violations(free or [], exc.violations) or exc.violations
    else:  # a lock no roster can keep (a shift the plan lacks, a closed day), or no explanation
        added = exc.violations
    raise LocksBreakRules(
        "the locked cells make the week break rules it keeps without them (nothing stored;"
        " unlock a cell of these agents and solve again):\n"
        + "\n".join(explain(added, week_start)),
        added,
    )


def _rule_key(v: Violation) -> tuple:
    return (v.rule, v.agent, v.day, v.time)


def new_violations(before: list[Violation], after: list[Violation]) -> list[Violation]:
    """The violations of ``after`` beyond those of ``before``, matched by rule, agent, day and
    time: a rule an agent already broke, broken a little more, is not a new one."""
    have = Counter(_rule_key(v) for v in before)
    out = []
    for v in after:
        if have[_rule_key(v)]:
            have[_rule_key(v)] -= 1
        else:
            out.append(v)
    return out


def explain(violations: list[Violation], week_start: dt.date) -> list[str]:
    """Rules broken as lines for people, each naming its rule, then the agent (or the moment)
    and the day: "rest: A003: 07:00-15:00 after 14:00-22:00 on day 0 (Tue 24 Nov)"; a cover
    missed at several times of a day on one line (:func:`summarise`)."""
    out, covers = [], []
    for v in violations:
        if v.day_name and v.time:
            covers.append(v)
        else:
            when = (
                f" ({week_start + dt.timedelta(days=v.day):%a %d %b})" if v.day is not None else ""
            )
            out.append(f"{v.rule}: {v}{when}")
    for rule in dict.fromkeys(v.rule for v in covers):
        out += [f"{rule}: {line}" for line in summarise([v for v in covers if v.rule == rule])]
    return out


# --------------------------------------------------------------------------- stored rosters


def week_roster(
    session: Session, week_start: dt.date, statuses: tuple[str, ...] = ("published", "draft")
) -> tuple[str | None, list[RosterAssignment]]:
    """The week's stored roster of the first of ``statuses`` (``draft``, ``published``) it has,
    by agent and day, with that status: by default the published roster if there is one, else
    the draft. ``(None, [])`` when the week has none of them."""
    for status in statuses:
        rows = session.scalars(
            select(RosterAssignment)
            .where(RosterAssignment.week_start == week_start, RosterAssignment.status == status)
            .order_by(RosterAssignment.agent_id, RosterAssignment.date)
        ).all()
        if rows:
            return status, list(rows)
    return None, []


def rows_of(assignments: list[RosterAssignment], cfg: HotlineConfig) -> list[dict]:
    """Stored shifts as roster rows (:func:`assignment_row`), each with its agent's skills."""
    skills = {a.id: ";".join(a.skills) for a in cfg.agents}
    return [assignment_row(r, cfg.tz, skills.get(r.agent_id, "")) for r in assignments]


def newest_roster_week(session: Session, status: str | None = None) -> dt.date | None:
    """The newest week with a roster (of ``status``: draft or published; by default either)."""
    query = select(func.max(RosterAssignment.week_start))
    if status is not None:
        query = query.where(RosterAssignment.status == status)
    return session.scalar(query)


def roster_weeks(session: Session, limit: int = 26) -> list[tuple[dt.date, list[str]]]:
    """The newest weeks with a roster, each with its statuses (draft, published)."""
    weeks: dict[dt.date, list[str]] = {}
    for week_start, status in session.execute(
        select(RosterAssignment.week_start, RosterAssignment.status)
        .distinct()
        .order_by(RosterAssignment.week_start.desc(), RosterAssignment.status)
    ):
        if week_start not in weeks and len(weeks) == limit:
            break
        weeks.setdefault(week_start, []).append(status)
    return list(weeks.items())


def stored_shift_plan(session: Session, week_start: dt.date) -> PlanDraft | None:
    """The newest shift plan stored for the week (by ``hotline shifts``, the weekly job or the
    demo; its CSV is ``content``), or None."""
    return latest(session, "shifts", week_start)
