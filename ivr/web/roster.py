"""The roster page, ``/supervisor/roster``: the week's roster (published or draft) with the weeks
around it, its downloads (CSV, calendars; also with a bearer token from ``HOTLINE_API_TOKENS``,
for a system that fetches them), publishing, and on the draft of a week not over, its changes
(``ivr.planning.roster_edits``): a cell edited, a cell locked or unlocked, the week solved again
in the background.

Every change goes to the week's draft (a week with only a publication starts a draft from it), is
refused for a week that is over, when it newly breaks a hard rule (the page says which rule and
which agent), when the draft changed since the page showed it, and while the week is being solved
again; each one is written to the audit log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import tempfile
import zipfile
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ivr import clock
from ivr.config import hotline_config
from ivr.jobs.tasks import Progress, recent, status_of, submit, task_json, ticking, wall_now
from ivr.planning import roster_edits, rosters
from ivr.planning.agent_requests import honoured
from ivr.store import audit
from ivr.store.db import get_session
from ivr.store.models import AuditEntry, PlanDraft, RosterAssignment
from ivr.web.auth import check_csrf, export_auth, login_required, supervisors_only, username

log = logging.getLogger(__name__)
bp = Blueprint("roster", __name__, url_prefix="/supervisor")
MAX_TIME_LIMIT_S = 600
STATUSES = ("published", "draft")


# --------------------------------------------------------------------------- reading the week


def rows_for(week: dt.date, status: str) -> list[dict]:
    """The week's stored roster of ``status`` as rows."""
    return rosters.rows_of(rosters.week_roster(get_session(), week, (status,))[1], hotline_config())


def chosen() -> tuple[dt.date | None, str]:
    """The week and status the request asks for (``week``, ``status``), else the newest week;
    without a status, its published roster when there is one, else the draft."""
    db = get_session()
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        abort(400)
    week = request.args.get("week")
    if week:
        try:
            day = dt.date.fromisoformat(week)
        except ValueError:
            abort(400)
        return day, status or rosters.week_roster(db, day)[0] or "published"
    found = rosters.newest_roster_week(db, status)
    if found is None:
        return None, status or "draft"
    return found, status or rosters.week_roster(db, found)[0] or "draft"


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


def last_publication(db, week: dt.date) -> dict | None:
    """Who published the week last, when, and what changed against the publication before."""
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


def newest_resolve(db, week: dt.date) -> dict | None:
    """The newest re-solve of the week (ivr.jobs.tasks' JSON, with its error line by line), or
    None."""
    for task in recent(db, roster_edits.RESOLVE_KIND, 50):
        if (task.params or {}).get("week") == week.isoformat():
            shown = task_json(task)
            shown["error_lines"] = [line for line in (shown["error"] or "").splitlines() if line]
            return shown
    return None


def resolve_under_way(db, week: dt.date) -> int | None:
    """The id of a re-solve of the week queued or running (one no worker refreshes any more
    is not), or None."""
    now = wall_now()
    for task in recent(db, roster_edits.RESOLVE_KIND, 50):
        if (task.params or {}).get("week") == week.isoformat() and status_of(task, now)[0] in (
            "queued",
            "running",
        ):
            return task.id
    return None


# --------------------------------------------------------------------------- the page


def roster_page(
    week: dt.date | None,
    status: str,
    *,
    error: str | None = None,
    refused: list[str] | None = None,
    notice: str | None = None,
    code: int = 200,
):
    """The roster page for ``week`` (``status``: draft or published): the roster, the weeks
    around it, and on the draft of a week not over, the edit, lock and re-solve forms (the draft
    of a week with only a publication is that publication, until the first change); ``error``
    and ``refused`` (the rules a refused change breaks) say why a change was refused."""
    cfg = hotline_config()
    db = get_session()
    weeks = rosters.roster_weeks(db)
    if week is None:
        return render_template("roster.html", roster=None, week=None, status=None, weeks=weeks)
    drafted = rosters.week_roster(db, week, ("draft",))[0] is not None
    on_draft = status == "draft"
    found, assignments = rosters.week_roster(
        db, week, ("draft", "published") if on_draft else (status,)
    )
    rows = rosters.rows_of(assignments, cfg)
    plan = roster_edits.stored_week_plan(db, cfg, week)  # with it the page charts the cover
    summary = stored_summary(week, rows)
    locks = rosters.locks_of(db, week)
    title = f"Roster ({status}), week of {week}"
    if on_draft and found == "published":
        title = f"Roster (draft, from the published roster), week of {week}"
    shown = rosters.roster_week(
        rows,
        cfg.agents,
        plan,
        week,
        title,
        summary.get("rules_broken_text", []),
        asked=rosters.asked_beyond(cfg, plan, cfg.agents),
        without_agent=[u["text"] for u in summary.get("unfilled_shifts", [])],
        locked={(agent, week + dt.timedelta(days=day)) for agent, day in locks},
        honoured=honoured(db, week, rows),
    )
    editable = not roster_edits.week_is_past(cfg, week, clock.now())
    changing = editable and on_draft
    shifts = roster_edits.with_rostered_shifts(cfg, plan, rows if changing else [], week).shifts
    return render_template(
        "roster.html",
        roster=shown,
        week=week,
        status=status,
        shown_status=found or status,  # what the downloads and the simulation read
        weeks=weeks,
        previous=week - dt.timedelta(days=7),
        next=week + dt.timedelta(days=7),
        publication=last_publication(db, week),
        editable=editable,
        changing=changing,
        drafted=drafted,
        version=roster_edits.draft_version(db, week),
        agents=cfg.agents,
        shifts=sorted(shifts, key=lambda sid: (shifts[sid].start_min, sid)),
        locks=[
            f"{agent} {week + dt.timedelta(days=day):%a %d %b}: {shift or 'off'}"
            for (agent, day), shift in sorted(locks.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        ],
        has_plan=plan is not None,
        task=newest_resolve(db, week),
        time_limit_s=cfg.line.scheduler.plan_time_limit_s,
        error=error,
        refused=refused or [],
        notice=notice,
    ), code


@bp.get("/roster")
@login_required
def roster():
    """The week's roster (``week``, ``status``), with the weeks around it and, on the draft of a
    week not over, its edits, locks and re-solve."""
    supervisors_only()
    week, status = chosen()
    return roster_page(week, status)


# --------------------------------------------------------------------------- downloads


@bp.get("/roster.csv")
@export_auth
def roster_csv():
    week, status = chosen()
    if week is None:
        abort(404)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=rosters.ROSTER_COLUMNS)
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
    with tempfile.TemporaryDirectory() as folder:
        files = rosters.write_ics(rows_for(week, status), cfg.agents, folder, cfg.line.name, cfg.tz)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in files:
                archive.write(path, Path(path).name)
    return Response(
        buffer.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=roster-{week}-ics.zip"},
    )


# --------------------------------------------------------------------------- publishing


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
    return redirect(url_for("roster.roster", week=week.isoformat(), status="published"))


def shift_keys_of(db, week: dt.date, status: str) -> set[tuple[str, str, str]]:
    """The week's shifts of this status as (agent, start, end), start and end ISO in UTC."""
    return {
        (r.agent_id, r.shift_start.astimezone(dt.UTC).isoformat(),
         r.shift_end.astimezone(dt.UTC).isoformat())
        for r in rosters.week_roster(db, week, (status,))[1]
    }  # fmt: skip


# --------------------------------------------------------------------------- changes


def _week() -> dt.date:
    """The form's week (a Monday, ISO); a bad one is answered 400."""
    try:
        return dt.date.fromisoformat(request.form.get("week", ""))
    except ValueError:
        abort(400)


def _cell() -> tuple[str, dt.date]:
    """The form's agent and date."""
    text = request.form.get("date", "")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise roster_edits.RosterRefused(
            f"date: {text[:40]!r} is not a date (YYYY-MM-DD)"
        ) from None
    return request.form.get("agent", "").strip(), day


def _version() -> int:
    """The version of the draft the form was shown with."""
    text = request.form.get("version", "")
    if not text.isdigit():
        raise roster_edits.RosterRefused(
            f"version: {text[:20]!r} is not the draft's version; reload the page"
        )
    return int(text)


def _refused(week: dt.date, exc: roster_edits.RosterRefused):
    """The draft's page again, saying why the change was refused: 409 for the rules it would
    break or a draft that changed meanwhile, 400 for a wrong field (the message names it)."""
    conflict = bool(exc.violations) or isinstance(exc, roster_edits.DraftChanged)
    return roster_page(
        week,
        "draft",
        error=str(exc),
        refused=rosters.explain(exc.violations, week),
        code=409 if conflict else 400,
    )


def _while_solving(week: dt.date):
    """The page refusing a change while the week is being solved again, or None."""
    task_id = resolve_under_way(get_session(), week)
    if task_id is None:
        return None
    return roster_page(
        week,
        "draft",
        error=f"the week of {week} is being solved again (task {task_id}): its draft is"
        " changed when the solve ends",
        code=409,
    )


def _at_once(week: dt.date):
    """The page refusing a change stored at the same moment as another of the same cells."""
    get_session().rollback()
    return _refused(
        week,
        roster_edits.DraftChanged(
            "the draft changed since the page was loaded: reload the page (another change of"
            " the week was saved at the same moment; nothing was changed)"
        ),
    )


@bp.post("/roster/edit")
@login_required
def edit():
    """One cell of the week's draft set to a shift (``shift``) or off (``shift`` empty), against
    the draft's ``version`` the page showed."""
    supervisors_only()
    check_csrf()
    week, db = _week(), get_session()
    solving = _while_solving(week)
    if solving is not None:
        return solving
    try:
        agent, day = _cell()
        shift = request.form.get("shift", "").strip() or None
        changed = roster_edits.edit_cell(
            db, hotline_config(), week, agent, day, shift, _version(), clock.now()
        )
        if changed is None:
            return roster_page(week, "draft", notice="Nothing changed: the cell already was so.")
        audit.commit_with_audit(db, username(), "roster.edit", changed)
    except roster_edits.RosterRefused as exc:
        db.rollback()
        return _refused(week, exc)
    except IntegrityError:
        return _at_once(week)
    return redirect(url_for("roster.roster", week=week.isoformat(), status="draft"))


@bp.post("/roster/lock")
@login_required
def lock():
    """One cell locked to what the draft has there (``lock=lock``; ``shift`` the cell's shift as
    the page showed it, empty for off), or unlocked (``unlock``)."""
    supervisors_only()
    check_csrf()
    week, db = _week(), get_session()
    action = request.form.get("lock", "lock")
    solving = _while_solving(week)
    if solving is not None:
        return solving
    try:
        if action not in ("lock", "unlock"):
            raise roster_edits.RosterRefused("lock: must be lock or unlock")
        agent, day = _cell()
        changed = roster_edits.lock_cell(
            db,
            hotline_config(),
            week,
            agent,
            day,
            action == "lock",
            request.form.get("shift", "").strip() or None,
            _version(),
            username(),
            clock.now(),
        )
        if changed is None:
            return roster_page(
                week, "draft", notice=f"Nothing changed: the cell was already {action}ed."
            )
        audit.commit_with_audit(db, username(), f"roster.{action}", changed)
    except roster_edits.RosterRefused as exc:
        db.rollback()
        return _refused(week, exc)
    except IntegrityError:
        return _at_once(week)
    return redirect(url_for("roster.roster", week=week.isoformat(), status="draft"))


def run_resolve(app: Flask, params: dict, progress: Progress) -> dict:
    """The re-solve as a background task (kind ``roster_edits.RESOLVE_KIND``; ``params``:
    ``week``, ``time_limit_s``, ``by``): ``roster_edits.resolve_week``, its progress every second
    the time spent against the limit, with the solver's stage."""
    try:
        week = dt.date.fromisoformat(str(params.get("week")))
    except ValueError:
        raise ValueError(f"week: {str(params.get('week'))[:40]!r} is not a date") from None
    limit_s = float(params.get("time_limit_s") or 30.0)
    stage = ["preparing"]
    with ticking(progress, limit_s, lambda spent: f"{stage[0]}: {spent:.0f} s of {limit_s:g} s"):
        return roster_edits.resolve_week(
            app,
            week,
            limit_s,
            str(params.get("by") or "?"),
            on_stage=lambda name: stage.__setitem__(0, name),
        )


@bp.post("/roster/resolve")
@login_required
def resolve():
    """The week solved again in the background (keeping its locked cells); the page follows the
    task's progress and shows the new draft when it is done."""
    supervisors_only()
    check_csrf()
    cfg = hotline_config()
    week, db = _week(), get_session()
    text = request.form.get("time_limit_s", "").strip()
    try:
        limit_s = float(text) if text else cfg.line.scheduler.plan_time_limit_s
        if not 1 <= limit_s <= MAX_TIME_LIMIT_S:
            raise ValueError
    except ValueError:
        return _refused(
            week,
            roster_edits.RosterRefused(
                f"time limit: {text[:20]!r} is not a number of seconds from 1 to {MAX_TIME_LIMIT_S}"
            ),
        )
    try:
        roster_edits.refuse_past(cfg, week, clock.now())
    except roster_edits.RosterRefused as exc:
        return _refused(week, exc)
    running = resolve_under_way(db, week)
    if running is not None:
        return roster_page(
            week,
            "draft",
            error=f"a solve of the week of {week} is already under way (task {running})",
            code=409,
        )
    if rosters.stored_shift_plan(db, week) is None:
        return _refused(
            week,
            roster_edits.RosterRefused(
                f"week: no shift plan is stored for the week of {week}; solving needs one"
                " (`hotline shifts` or the weekly job stores it)"
            ),
        )
    db.commit()  # the read ends here: the task works in sessions of its own
    submit(
        current_app._get_current_object(),
        kind=roster_edits.RESOLVE_KIND,
        params={"week": week.isoformat(), "time_limit_s": limit_s, "by": username()},
        by=username(),
        run=run_resolve,
    )
    return redirect(url_for("roster.roster", week=week.isoformat(), status="draft"))
