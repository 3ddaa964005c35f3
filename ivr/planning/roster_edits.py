"""The roster page's changes to a week (``ivr.web.roster``): a cell of the draft edited (refused
when it newly breaks a hard rule), a cell locked to what the draft has there (kept by every solve,
``rosters.locks_of``), and the week solved again keeping its locks (:func:`resolve_week`, run as a
background task).

Every change is to the week's draft (a week with only a publication starts a draft from it), never
to a week that is over. The draft has a version (:func:`draft_version`: the newest roster stored for
the week); a change asked for against a version that is no longer the week's is refused
(:class:`DraftChanged`), and so is a re-solve's roster when the draft changed while it was solved:
no change silently undoes another.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from collections.abc import Callable

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr import clock
from ivr.config import hotline_config
from ivr.config.schema import Agent, HotlineConfig
from ivr.planning.agent_requests import roster_inputs
from ivr.planning.rosters import (
    NIGHT_END,
    NIGHT_START,
    NoRoster,
    WeekPlan,
    build_problem,
    history,
    locks_of,
    make_roster,
    new_violations,
    plan_from_csv,
    read_plan,
    roster_rows,
    roster_summary,
    rows_of,
    save_roster_draft,
    stored_shift_plan,
    week_roster,
    with_rest,
)
from ivr.store import audit
from ivr.store.db import session_scope
from ivr.store.models import PlanDraft, RosterLock
from staffing.rostering import RosterProblem, RosterResult, RosterShift, Violation, check

log = logging.getLogger(__name__)

RESOLVE_KIND = "roster_resolve"  # the re-solve's background task kind (ivr.jobs.tasks)


class RosterRefused(ValueError):
    """A change of a week's roster that is refused; the message says why. ``violations``: the
    hard rules it would newly break (empty when the change itself is wrong: a past week, an agent
    not in agents.csv, a shift the week does not have)."""

    def __init__(self, message: str, violations: list[Violation] | None = None):
        super().__init__(message)
        self.violations = list(violations or [])


class DraftChanged(RosterRefused):
    """The week's draft is no longer the one the change was asked against (another supervisor's
    change, a solve, a cell changed since the page showed it): nothing is stored."""


def week_is_past(cfg: HotlineConfig, week_start: dt.date, now: dt.datetime) -> bool:
    """Whether the week ended before today (in the line's time zone)."""
    return week_start + dt.timedelta(days=6) < now.astimezone(cfg.tz).date()


def refuse_past(cfg: HotlineConfig, week_start: dt.date, now: dt.datetime) -> None:
    if week_is_past(cfg, week_start, now):
        raise RosterRefused(
            f"week: the week of {week_start} ended on {week_start + dt.timedelta(days=6)};"
            " a past week's roster is not changed"
        )


# --------------------------------------------------------------------------- the draft's version


def draft_version(session: Session, week_start: dt.date) -> int:
    """The version of the week's draft: the id of the newest roster stored for the week (every
    roster stored, edited or solved, is also a ``roster`` plan draft), 0 before the first."""
    return (
        session.scalar(
            select(func.max(PlanDraft.id)).where(
                PlanDraft.kind == "roster", PlanDraft.week_start == week_start
            )
        )
        or 0
    )


def refuse_changed(session: Session, week_start: dt.date, version: int) -> None:
    """:class:`DraftChanged` unless the week's draft is still at ``version``."""
    if draft_version(session, week_start) != version:
        raise DraftChanged(
            "the draft changed since the page was loaded: reload the page and make the change"
            " again (nothing was changed)"
        )


def store_draft(
    session: Session,
    rows: list[dict],
    summary: dict,
    week_start: dt.date,
    version: int,
    at: dt.datetime,
    changed: str,
) -> None:
    """Store ``rows`` as the week's draft if the draft is still at ``version``, else
    :class:`DraftChanged` (``changed`` words it). Checked again once written, so that of two
    changes stored at once against one version, the second sees the first's."""
    if draft_version(session, week_start) != version:
        raise DraftChanged(changed)
    save_roster_draft(session, rows, summary, week_start, "draft", at)
    session.flush()
    newer = session.scalar(
        select(func.count()).where(
            PlanDraft.kind == "roster", PlanDraft.week_start == week_start, PlanDraft.id > version
        )
    )
    if newer != 1:
        raise DraftChanged(changed)


# --------------------------------------------------------------------------- the week to change


def draft_rows(session: Session, cfg: HotlineConfig, week_start: dt.date) -> list[dict]:
    """The week's draft as roster rows; without one, its publication (the start of the next
    draft)."""
    return rows_of(week_roster(session, week_start, ("draft", "published"))[1], cfg)


def stored_week_plan(session: Session, cfg: HotlineConfig, week_start: dt.date) -> WeekPlan | None:
    """The week's stored shift plan (``rosters.stored_shift_plan``) as the week's plan, or None
    when there is none or it cannot be read (logged)."""
    draft = stored_shift_plan(session, week_start)
    if draft is None:
        return None
    try:
        return plan_from_csv(draft.content, week_start, cfg)
    except (ValueError, KeyError) as exc:
        log.warning("the stored shift plan for the week of %s cannot be read: %s", week_start, exc)
        return None


def shift_of(row: dict) -> str:
    """A roster row's shift id as the plan names it: ``HH:MM-HH:MM`` in the line's time."""
    return f"{row['shift_start'][11:16]}-{row['shift_end'][11:16]}"


def with_rostered_shifts(
    cfg: HotlineConfig, plan: WeekPlan | None, rows: list[dict], week_start: dt.date
) -> WeekPlan:
    """The week's plan (without one: no covers) with, besides its own shifts, those rostered in
    ``rows`` it lacks (a shift not in the plan is paid its length less the longest unpaid break
    of the shift templates, when it has a break)."""
    shifts = dict(plan.shifts) if plan else {}
    details = dict(plan.details) if plan else {}
    unpaid = max(
        (t.unpaid_break.length_min for t in cfg.staffing.shift_templates if t.unpaid_break),
        default=0,
    )
    for r in rows:
        sid = shift_of(r)
        if sid in shifts:
            continue
        start = dt.datetime.fromisoformat(r["shift_start"])
        end = dt.datetime.fromisoformat(r["shift_end"])
        start_min = start.hour * 60 + start.minute
        end_min = start_min + int((end - start).total_seconds() // 60)
        brk = (
            int((dt.datetime.fromisoformat(r["break_start"]) - start).total_seconds() // 60)
            if r["break_start"]
            else None
        )
        paid = end_min - start_min - (unpaid if brk is not None else 0)
        night = start_min >= NIGHT_START or end_min > 24 * 60 + NIGHT_END // 2
        shifts[sid] = RosterShift(sid, paid, start_min, end_min, frozenset(), night)
        details[sid] = (start_min, end_min, brk)
    rest = int(cfg.staffing.rest.min_rest_h * 60)
    covers = list(plan.covers) if plan else []
    return WeekPlan(week_start, with_rest(shifts, rest), covers, details)


def assignment_of(
    rows: list[dict], week_start: dt.date, agent_ids: set[str]
) -> dict[tuple[str, int], str]:
    """Roster rows of ``agent_ids`` as the solver's (agent, day of the week) -> shift id."""
    return {
        (r["agent"], (dt.date.fromisoformat(r["date"]) - week_start).days): shift_of(r)
        for r in rows
        if r["agent"] in agent_ids
    }


def week_problem(
    session: Session, cfg: HotlineConfig, plan: WeekPlan, agents: list[Agent]
) -> RosterProblem:
    """The week's rules as the solver sees them (last weeks' rosters, approved time off, the
    locked cells), to check a roster against."""
    time_off, _preferences = roster_inputs(
        session, plan.week_start, [a.id for a in agents], list(plan.shifts)
    )
    return build_problem(
        cfg,
        plan,
        agents,
        history(session, plan.week_start, cfg.tz),
        [],
        time_off=time_off,
        fixed=locks_of(session, plan.week_start),
    )


def _refuse_cell(cfg: HotlineConfig, week_start: dt.date, agent_id: str, day: dt.date) -> None:
    if agent_id not in {a.id for a in cfg.agents}:
        raise RosterRefused(f"agent: {agent_id[:40]!r} is not in agents.csv")
    if not 0 <= (day - week_start).days < 7:
        raise RosterRefused(f"date: {day} is not in the week of {week_start}")


# --------------------------------------------------------------------------- the changes


def edit_cell(
    session: Session,
    cfg: HotlineConfig,
    week_start: dt.date,
    agent_id: str,
    day: dt.date,
    shift: str | None,
    version: int,
    now: dt.datetime,
) -> dict | None:
    """Set ``agent_id``'s ``day`` of the week's draft to ``shift`` (None: off) and store the
    draft with its summary (``rosters.roster_summary``: the rules it breaks, the planned shifts
    without an agent), read against the week's stored shift plan if any. Returns what changed
    (for the audit), None when the cell already was so. Raises :class:`DraftChanged` when the
    draft is no longer at ``version`` (the one the page showed), :class:`RosterRefused` for a
    past week, an agent not in agents.csv, a day outside the week, a shift the week does not
    have, or a change that breaks a hard rule the draft kept (a locked cell among them)."""
    refuse_past(cfg, week_start, now)
    _refuse_cell(cfg, week_start, agent_id, day)
    refuse_changed(session, week_start, version)
    agents = {a.id: a for a in cfg.agents}
    rows = draft_rows(session, cfg, week_start)
    week = with_rostered_shifts(cfg, stored_week_plan(session, cfg, week_start), rows, week_start)
    if shift is not None and shift not in week.shifts:
        raise RosterRefused(
            f"shift: {shift[:40]!r} is not a shift of the week (those are"
            f" {', '.join(sorted(week.shifts)) or 'none'})"
        )
    d = (day - week_start).days
    before = assignment_of(rows, week_start, set(agents))
    was = before.get((agent_id, d))
    if was == shift:
        return None
    after = {key: sid for key, sid in before.items() if key != (agent_id, d)}
    if shift is not None:
        after[agent_id, d] = shift
    problem = week_problem(session, cfg, week, cfg.agents)
    broken = check(problem, after)
    added = new_violations(check(problem, before), broken)
    if added:
        raise RosterRefused(
            f"{agent_id} {'off' if shift is None else shift} on {day:%a %d %b} breaks"
            f" {'a rule' if len(added) == 1 else 'rules'} the draft keeps; nothing changed",
            added,
        )
    kept = [r for r in rows if (r["agent"], r["date"]) != (agent_id, day.isoformat())]
    if shift is not None:
        one = RosterResult({(agent_id, d): shift}, "EDITED", 0.0, 0.0, 0.0)
        kept += roster_rows(week, one, [agents[agent_id]], cfg.tz)
    kept.sort(key=lambda r: (r["agent"], r["date"]))
    result = RosterResult(after, "EDITED", 0.0, 0.0, 0.0, broken)
    store_draft(
        session,
        kept,
        roster_summary(week, result, kept, cfg, cfg.agents),
        week_start,
        version,
        now,
        "the draft changed while the change was saved: reload the page and make the change"
        " again (nothing was changed)",
    )
    return {
        "week": week_start.isoformat(),
        "agent": agent_id,
        "date": day.isoformat(),
        "before": was,
        "after": shift,
        "rules_broken": len(broken),
    }


def lock_cell(
    session: Session,
    cfg: HotlineConfig,
    week_start: dt.date,
    agent_id: str,
    day: dt.date,
    lock: bool,
    shown: str | None,
    version: int,
    by: str,
    now: dt.datetime,
) -> dict | None:
    """Lock ``agent_id``'s ``day`` to what the week's draft has there (a shift, or off), or
    unlock it. ``shown``: the cell's shift as the page showed it (None: off); a lock is refused
    (:class:`DraftChanged`) when the draft is no longer at ``version`` or has another shift
    there, so that what is locked is what the supervisor saw. Returns what changed (for the
    audit), None when it already was so. Raises :class:`RosterRefused` for a past week, an agent
    not in agents.csv or a day outside the week."""
    refuse_past(cfg, week_start, now)
    _refuse_cell(cfg, week_start, agent_id, day)
    found = session.scalar(
        select(RosterLock).where(
            RosterLock.week_start == week_start,
            RosterLock.agent_id == agent_id,
            RosterLock.date == day,
        )
    )
    detail = {"week": week_start.isoformat(), "agent": agent_id, "date": day.isoformat()}
    if not lock:
        if found is None:
            return None
        session.delete(found)
        return {**detail, "shift": found.shift}
    if found is not None:
        return None
    refuse_changed(session, week_start, version)
    rows = draft_rows(session, cfg, week_start)
    shift = assignment_of(rows, week_start, {agent_id}).get((agent_id, (day - week_start).days))
    if shift != shown:
        raise DraftChanged(
            f"lock: the draft has {agent_id} {shift or 'off'} on {day:%a %d %b}, not"
            f" {shown or 'off'} as the form showed; pick the cell in the table (or reload the"
            " page) and lock it again"
        )
    session.add(
        RosterLock(
            week_start=week_start,
            agent_id=agent_id,
            date=day,
            shift=shift,
            locked_by=by,
            locked_at=now,
        )
    )
    return {**detail, "shift": shift}


def resolve_week(
    app: Flask,
    week_start: dt.date,
    time_limit_s: float,
    by: str,
    on_stage: Callable[[str], None] | None = None,
) -> dict:
    """The week solved again from its stored shift plan within ``time_limit_s``, keeping every
    locked cell, stored as its draft (and audited as ``by``'s), unless the draft or its locks
    changed while it was solved; what it stored, for the task's result. ``on_stage`` hears the
    solver's stages. Raises :class:`RosterRefused` (nothing stored) for a past week, a week
    without a stored plan, locked cells that make the week break rules (``rosters.
    LocksBreakRules``) or no roster in time, and :class:`DraftChanged` when the draft changed
    meanwhile."""
    cfg = hotline_config(app)
    started = time.monotonic()
    with session_scope(app) as session:
        refuse_past(cfg, week_start, clock.now())
        stored = stored_shift_plan(session, week_start)
        if stored is None:
            raise RosterRefused(
                f"no shift plan is stored for the week of {week_start}: solving needs one"
                " (`hotline shifts` or the weekly job stores it)"
            )
        version = draft_version(session, week_start)
        locks = locks_of(session, week_start)
        try:
            plan, result, rows = make_roster(
                cfg,
                session,
                read_plan(io.StringIO(stored.content), week_start, "the stored shift plan"),
                week_start,
                cfg.agents,
                time_limit_s=time_limit_s,
                best_effort=True,
                fixed=locks,
                on_stage=on_stage,
            )
        except NoRoster as exc:
            raise RosterRefused(str(exc)) from exc
        summary = roster_summary(plan, result, rows, cfg, cfg.agents)
    changed = (
        f"the draft of the week of {week_start} changed while it was solved again (an edit, a"
        " lock or another solve): nothing stored; solve again to start from the draft as it is"
    )
    with session_scope(app) as session:
        if locks_of(session, week_start) != locks:
            raise DraftChanged(changed)
        store_draft(session, rows, summary, week_start, version, clock.now(), changed)
        outcome = {
            "week": week_start.isoformat(),
            "shifts": len(rows),
            "locks_kept": len(locks),
            "status": summary["status"],
            "rules_broken": summary["rules_broken_text"],
            "unfilled": summary["unfilled"],
            "unfilled_shifts": [u["text"] for u in summary["unfilled_shifts"]],
            "seconds": round(time.monotonic() - started, 1),
        }
        audit.commit_with_audit(
            session,
            by,
            "roster.resolve",
            {k: outcome[k] for k in ("week", "shifts", "locks_kept", "unfilled")}
            | {"rules_broken": len(summary["rules_broken"])},
        )
    return outcome
