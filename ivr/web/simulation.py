"""A week's plan checked by simulation from the supervisor's pages: ``POST /supervisor/simulate``
(the button of ``_simulate_button.html`` on the plan and roster pages) starts the check in the
background (:mod:`ivr.planning.plan_check`, task kind ``simulate_plan``) and leads to
``/supervisor/simulation/<task_id>``: its progress, then the intervals that miss their target, a
chart of the service level with its confidence band against the target, and the table."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from ivr.config import hotline_config
from ivr.jobs.tasks import recent, submit, task_json
from ivr.planning.plan_check import (
    DEFAULT_REPLICATIONS,
    KIND,
    SOURCES,
    PlanCheckError,
    roster_rows,
    run_task,
    week_to_check,
)
from ivr.store.db import get_session
from ivr.store.models import BackgroundTask
from ivr.web.auth import check_csrf, login_required, supervisors_only, username

bp = Blueprint("simulation", __name__, url_prefix="/supervisor")
EARLIER_SHOWN = 10


def refused(message: str, code: int = 400):
    return render_template("message.html", message=message), code


@bp.post("/simulate")
@login_required
def simulate():
    """Start a check of the week's roster (``week``: its Monday, default the newest week with a
    roster; ``source``: published or draft, default the published one if any)."""
    supervisors_only()
    check_csrf()
    text = request.form.get("week", "").strip()
    source = request.form.get("source", "").strip() or None
    try:
        week = dt.date.fromisoformat(text) if text else None
    except ValueError:
        return refused(f"week: {text[:20]!r} is not a date (YYYY-MM-DD).")
    if source is not None and source not in SOURCES:
        return refused(f"source: {source[:20]!r} is neither published nor draft.")
    db = get_session()
    try:  # what can be refused at once is, before a task is stored
        week = week_to_check(db, week)
        roster_rows(db, week, source)
    except PlanCheckError as exc:
        return refused(f"{exc.field}: {exc}")
    db.commit()  # the read ends here: the task writes its row in a session of its own
    params = {
        "week": week.isoformat(),
        "source": source,
        "replications": DEFAULT_REPLICATIONS,
        "seed": 0,
        "forecast_band": request.form.get("forecast_band") == "1",
    }
    task_id = submit(
        current_app._get_current_object(), kind=KIND, params=params, by=username(), run=run_task
    )
    return redirect(url_for("simulation.result", task_id=task_id))


@bp.get("/simulation/<int:task_id>")
@login_required
def result(task_id: int):
    """The check's progress while it runs (the page polls the task), then its figures."""
    supervisors_only()
    db = get_session()
    task = db.get(BackgroundTask, task_id)
    if task is None or task.kind != KIND:
        abort(404)
    shown = task_json(task)
    earlier = [task_json(t) for t in recent(db, KIND, EARLIER_SHOWN) if t.id != task_id]
    cfg = hotline_config()
    return render_template(
        "simulation.html",
        task=shown,
        result=shown["result"] if shown["status"] == "done" else None,
        queues=cfg.queue_ids(),
        earlier=earlier,
    )
