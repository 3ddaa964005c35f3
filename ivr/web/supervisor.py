"""Supervisors' pages: the week's roster (draft or published) with downloads, publishing, and
the audit log of changes made on the pages. The downloads (CSV, calendars) also take a bearer
token from ``HOTLINE_API_TOKENS``, for a system that fetches them."""

from __future__ import annotations

import datetime as dt
import io
import logging
import zipfile

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import delete, select, update

from ivr import clock, feedback
from ivr.config import hotline_config
from ivr.planning.drafts import latest_draft
from ivr.planning.forecast_view import forecast_view, newest_forecast
from ivr.planning.rosters import (
    WeekPlan,
    asked_beyond,
    assignment_row,
    plan_from_csv,
    roster_week,
    write_ics,
)
from ivr.store import audit
from ivr.store.db import get_session
from ivr.store.models import PlanDraft, RosterAssignment
from ivr.web.auth import check_csrf, export_auth, login_required, supervisors_only, username

log = logging.getLogger(__name__)

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


def latest_week(
    status: str | None = None, week: dt.date | None = None
) -> tuple[dt.date | None, str | None]:
    """The newest week with a roster (of ``status``, in ``week``), the published one first."""
    query = select(RosterAssignment.week_start, RosterAssignment.status).order_by(
        RosterAssignment.week_start.desc(), RosterAssignment.status.desc()
    )
    if status:
        query = query.where(RosterAssignment.status == status)
    if week:
        query = query.where(RosterAssignment.week_start == week)
    row = get_session().execute(query.limit(1)).first()
    return (row[0], row[1]) if row else (None, None)


def rows_for(week: dt.date, status: str) -> list[dict]:
    cfg = hotline_config()
    skills = {a.id: ";".join(a.skills) for a in cfg.agents}
    return [
        assignment_row(r, cfg.tz, skills.get(r.agent_id, ""))
        for r in get_session().scalars(
            select(RosterAssignment)
            .where(RosterAssignment.week_start == week, RosterAssignment.status == status)
            .order_by(RosterAssignment.agent_id, RosterAssignment.date)
        )
    ]


def chosen() -> tuple[dt.date | None, str]:
    status = request.args.get("status")
    week = request.args.get("week")
    if week:
        try:
            day = dt.date.fromisoformat(week)
        except ValueError:
            abort(400)
        # without a status: the published roster when there is one, else the draft
        return day, status or latest_week(week=day)[1] or "published"
    found, found_status = latest_week(status)
    return found, status or found_status or "draft"


def stored_plan(week: dt.date) -> WeekPlan | None:
    """The latest shift plan stored for the week (by the weekly job or the demo), or None if
    there is none or it cannot be read."""
    cfg = hotline_config()
    content = latest_draft(get_session(), "shifts", week)
    if content is None:
        return None
    try:
        return plan_from_csv(content, week, cfg)
    except (ValueError, KeyError) as exc:
        log.warning("the stored shift plan for the week of %s cannot be read: %s", week, exc)
        return None


def shift_keys(rows) -> set[tuple[str, str, dt.datetime, dt.datetime]]:
    """Roster rows as comparable (agent, date, start, end) keys, whatever zone they are in."""
    return {
        (
            r["agent"],
            r["date"],
            dt.datetime.fromisoformat(r["shift_start"]),
            dt.datetime.fromisoformat(r["shift_end"]),
        )
        for r in rows
    }


def stored_summary(week: dt.date, rows: list[dict]) -> dict:
    """What the roster shown was stored with (rosters.roster_summary: the rules it breaks, the
    planned shifts it leaves without an agent): the newest roster draft of the week with these
    very shifts, or {} when none matches (a roster stored before summaries were kept)."""
    import csv

    wanted = shift_keys(rows)
    drafts = get_session().scalars(
        select(PlanDraft)
        .where(PlanDraft.kind == "roster", PlanDraft.week_start == week)
        .order_by(PlanDraft.created_at.desc(), PlanDraft.id.desc())
        .limit(20)
    )
    for draft in drafts:
        summary = draft.summary or {}
        if summary.get("shifts") != len(rows):  # cannot hold these shifts: not read
            continue
        if shift_keys(csv.DictReader(io.StringIO(draft.content))) == wanted:
            return summary
    return {}


@bp.get("/roster")
@login_required
def roster():
    supervisors_only()
    cfg = hotline_config()
    week, status = chosen()
    if week is None:
        return render_template("roster.html", roster=None, week=None, status=None)
    rows = rows_for(week, status)
    plan = stored_plan(week)  # with the week's plan the page adds the coverage chart
    summary = stored_summary(week, rows)
    shown = roster_week(
        rows,
        cfg.agents,
        plan,
        week,
        f"Roster ({status}), week of {week}",
        summary.get("rules_broken_text", []),
        asked=asked_beyond(cfg, plan, cfg.agents),
        without_agent=[u["text"] for u in summary.get("unfilled_shifts", [])],
    )
    return render_template(
        "roster.html",
        roster=shown,
        week=week,
        status=status,
        publication=last_publication(get_session(), week),
    )


@bp.get("/roster.csv")
@export_auth
def roster_csv():
    week, status = chosen()
    if week is None:
        abort(404)
    buffer = io.StringIO()
    import csv

    writer = csv.DictWriter(
        buffer,
        fieldnames=["agent", "date", "shift_start", "shift_end", "break_start", "queue_skills"],
    )
    writer.writeheader()
    writer.writerows(rows_for(week, status))
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=roster-{week}.csv"},
    )


@bp.get("/roster-ics.zip")
@export_auth
def roster_ics():
    week, status = chosen()
    if week is None:
        abort(404)
    cfg = hotline_config()
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        files = write_ics(rows_for(week, status), cfg.agents, folder, cfg.line.name, cfg.tz)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in files:
                archive.write(path, Path(path).name)
    return Response(
        buffer.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=roster-{week}-ics.zip"},
    )


@bp.post("/roster/publish")
@login_required
def publish():
    supervisors_only()
    check_csrf()
    try:
        week = dt.date.fromisoformat(request.form.get("week", ""))
    except ValueError:
        abort(400)
    db = get_session()
    before = shift_keys_of(db, week, "published")
    after = shift_keys_of(db, week, "draft")
    if not after:
        return render_template(
            "message.html", message=f"No draft roster for the week of {week}."
        ), 404
    replaced = db.execute(
        delete(RosterAssignment).where(
            RosterAssignment.week_start == week, RosterAssignment.status == "published"
        )
    ).rowcount
    published = db.execute(
        update(RosterAssignment)
        .where(RosterAssignment.week_start == week, RosterAssignment.status == "draft")
        .values(status="published")
    ).rowcount
    now = clock.now()
    draft = db.scalar(
        select(PlanDraft)
        .where(PlanDraft.kind == "roster", PlanDraft.week_start == week)
        .order_by(PlanDraft.created_at.desc(), PlanDraft.id.desc())
        .limit(1)
    )
    if draft is not None:
        draft.status, draft.published_at, draft.published_by = "published", now, username()
    added = sorted(after - before)
    removed = sorted(before - after)
    audit.commit_with_audit(
        db,
        username(),
        "roster.publish",
        {
            "week": week.isoformat(),
            "shifts": published,
            "replaced_shifts": replaced,
            # against the week's previous publication: shifts as [agent, start, end] (ISO, UTC)
            "added": [list(k) for k in added],
            "removed": [list(k) for k in removed],
        },
    )
    return redirect(url_for("supervisor.roster", week=week.isoformat(), status="published"))


def shift_keys_of(db, week: dt.date, status: str) -> set[tuple[str, str, str]]:
    """The week's shifts of this status as (agent, start, end), start and end ISO in UTC."""
    return {
        (r.agent_id, r.shift_start.astimezone(dt.UTC).isoformat(),
         r.shift_end.astimezone(dt.UTC).isoformat())
        for r in db.scalars(
            select(RosterAssignment).where(
                RosterAssignment.week_start == week, RosterAssignment.status == status
            )
        )
    }  # fmt: skip


def last_publication(db, week: dt.date) -> dict | None:
    """Who published the week last, when, and what changed against the publication before."""
    from ivr.store.models import AuditEntry

    cfg = hotline_config()
    for entry in db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "roster.publish")
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(500)
    ):
        detail = entry.detail or {}
        if detail.get("week") != week.isoformat():
            continue

        def shown(keys):
            return [
                f"{agent} {dt.datetime.fromisoformat(start).astimezone(cfg.tz):%a %d %H:%M}–"
                f"{dt.datetime.fromisoformat(end).astimezone(cfg.tz):%H:%M}"
                for agent, start, end in keys
            ]

        return {
            "by": entry.username,
            "at": entry.at.astimezone(cfg.tz),
            "added": shown(detail.get("added", [])),
            "removed": shown(detail.get("removed", [])),
        }
    return None


AUDIT_PAGE = 100  # rows on a page of the audit log


@bp.get("/audit")
@login_required
def audit_log():
    """Who changed what through the pages, newest first, a page at a time."""
    supervisors_only()
    page = request.args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= 10_000:
        abort(400)
    page_no = int(page)
    rows = audit.recent(get_session(), AUDIT_PAGE + 1, (page_no - 1) * AUDIT_PAGE)
    return render_template(
        "audit.html",
        entries=rows[:AUDIT_PAGE],
        page=page_no,
        more=len(rows) > AUDIT_PAGE,
        tz=hotline_config().tz,
    )


@bp.get("/csat")
@login_required
def csat():
    """Customer satisfaction per queue, per agent and per week, with the comments behind low
    scores (``ivr/feedback.py``)."""
    supervisors_only()
    cfg = hotline_config()
    body = feedback.report(get_session(), cfg, clock.now())
    names = {q.id: q.names[cfg.line.default_language] for q in cfg.queues}
    return render_template("csat.html", report=body, names=names)


@bp.get("/csat.csv")
@export_auth
def csat_csv():
    body = feedback.report(get_session(), hotline_config(), clock.now())
    buffer = io.StringIO()
    import csv

    writer = csv.DictWriter(buffer, fieldnames=feedback.CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(feedback.csv_rows(body))
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=csat.csv"},
    )


@bp.get("/forecast")
@login_required
def forecast():
    """The stored forecast by day and queue, with its band, AHT, last year's same weekdays and
    the special days, and the total per interval as a chart."""
    supervisors_only()
    cfg = hotline_config()
    view = forecast_view(get_session(), cfg)
    names = {q.id: q.names[cfg.line.default_language] for q in cfg.queues}
    return render_template("forecast.html", view=view, names=names, queues=cfg.queue_ids())


@bp.get("/forecast.csv")
@export_auth
def forecast_csv():
    draft = newest_forecast(get_session())
    if draft is None:
        abort(404)
    return Response(
        draft.content,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=forecast-{draft.week_start}.csv"},
    )
