"""Supervisors' pages: the audit log of changes made on the pages, customer satisfaction and the
stored forecast (the roster page is ``ivr.web.roster``). The downloads (CSV) also take a bearer
token from ``HOTLINE_API_TOKENS``, for a system that fetches them."""

from __future__ import annotations

import io

from flask import Blueprint, Response, abort, render_template, request

from ivr import clock, feedback
from ivr.config import hotline_config
from ivr.planning.forecast_view import forecast_view, newest_forecast
from ivr.store import audit
from ivr.store.db import get_session
from ivr.web.auth import export_auth, login_required, supervisors_only

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
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
