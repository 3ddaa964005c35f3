"""Agents' requests on the supervisors' side (``/supervisor/requests``): the list by week and
status, a form to enter time off or a preference for an agent, and each pending request approved
or refused with a note. Every change is audited. Agents enter their own on the desk
(:mod:`ivr.web.desktop`); what a request is and how the roster takes it:
:mod:`ivr.planning.agent_requests`.

A week shown starts on a Monday, unless a roster is stored for a week starting on another day:
then the week shown is the roster's (its requests and the preferences it honours line up with
its days)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import func, select

from ivr import clock
from ivr.config import hotline_config
from ivr.planning import agent_requests, rosters
from ivr.store import audit
from ivr.store.db import get_session
from ivr.store.models import RosterAssignment
from ivr.web.auth import check_csrf, login_required, supervisors_only, username

bp = Blueprint("requests", __name__, url_prefix="/supervisor/requests")
SHOWN = (*agent_requests.STATUSES, "all")


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def filters(values) -> tuple[str, dt.date | None]:
    """The list's status (default pending) and the day whose week is asked for (None: every
    request not yet over)."""
    status = values.get("status") or "pending"
    if status not in SHOWN:
        abort(400)
    week = values.get("week")
    if not week:
        return status, None
    try:
        return status, dt.date.fromisoformat(week)
    except ValueError:
        abort(400)


def shown_week(session, day: dt.date) -> dt.date:
    """The first day of the week shown for ``day``: the start of the stored roster whose week
    holds it (the latest such start), else its Monday."""
    stored = session.scalar(
        select(func.max(RosterAssignment.week_start)).where(
            RosterAssignment.week_start <= day,
            RosterAssignment.week_start > day - dt.timedelta(days=7),
        )
    )
    return stored or monday(day)


def page(error: str | None = None, form: dict | None = None, status_code: int = 200):
    cfg = hotline_config()
    session = get_session()
    status, day = filters(request.values)
    week = shown_week(session, day) if day else None
    now = clock.now()
    today = agent_requests.today(cfg, now)
    rows = agent_requests.listed(
        session,
        status=None if status == "all" else status,
        week_start=week,
        ending_from=None if week else today,
    )
    honoured, roster_status = None, None
    if week is not None:
        roster_status, stored = rosters.week_roster(session, week)
        roster = rosters.rows_of(stored, cfg)
        if roster_status is not None:
            honoured = agent_requests.honoured(session, week, roster)
    names = {a.id: a.name for a in cfg.agents}
    return render_template(
        "requests.html",
        requests=[(r, agent_requests.describe(r)) for r in rows],
        names=names,
        agents=cfg.agents,
        kinds=agent_requests.KIND_NAMES,
        starts=agent_requests.shift_starts(cfg),
        statuses=SHOWN,
        status=status,
        week=week,
        prev_week=week - dt.timedelta(days=7) if week else None,
        next_week=week + dt.timedelta(days=7) if week else None,
        today=today,
        honoured=honoured,
        roster_status=roster_status,
        error=error,
        form=form or {},
        tz=cfg.tz,
    ), status_code


@bp.get("")
@login_required
def requests_page():
    supervisors_only()
    return page()


@bp.post("")
@login_required
def enter():
    """A request entered by a supervisor for an agent: pending, like an agent's own."""
    supervisors_only()
    check_csrf()
    cfg = hotline_config()
    session = get_session()
    try:
        new = agent_requests.NewRequest.from_form(request.form)
        row = agent_requests.create(session, cfg, new, username(), clock.now())
    except agent_requests.RequestError as exc:
        session.rollback()
        return page(str(exc), request.form.to_dict(), 400)
    audit.commit_with_audit(session, username(), "request.create", agent_requests.audit_detail(row))
    return redirect(
        url_for("requests.requests_page", week=shown_week(session, row.start_date).isoformat())
        + f"#request-{row.id}"
    )


@bp.post("/<int:request_id>/decide")
@login_required
def decide(request_id: int):
    """``decision`` approve or refuse, with an optional ``decision_note``."""
    supervisors_only()
    check_csrf()
    session = get_session()
    decision = request.form.get("decision", "")
    if decision not in agent_requests.DECISIONS:
        return page("decision: must be approve or refuse", status_code=400)
    try:
        row = agent_requests.decide(
            session,
            request_id,
            decision,
            username(),
            clock.now(),
            request.form.get("decision_note"),
        )
    except LookupError:
        abort(404)
    except agent_requests.RequestError as exc:
        session.rollback()
        return page(str(exc), status_code=409 if exc.field == "decision" else 400)
    audit.commit_with_audit(
        session, username(), f"request.{decision}", agent_requests.audit_detail(row)
    )
    status, week = filters(request.form)
    return redirect(
        url_for("requests.requests_page", status=status, week=week.isoformat() if week else None)
    )
