"""Ops views: live and historical queue figures on a web page and a JSON API.

``GET /api/queues`` (today in the line's time zone, or ``?since=&until=``) and
``GET /api/queues/<queue>/intervals?freq=30min&since=&until=``; pages ``/ops`` (cards that
refresh themselves and today's intervals as a chart) and ``/ops/abandoned``. The complaint
tickets' pages are in :mod:`ivr.web.tickets`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from ivr import clock, stats
from ivr.config import hotline_config, last_good
from ivr.config.schema import HotlineConfig
from ivr.jobs import alerts
from ivr.jobs.scheduler import job_overview
from ivr.planning import intraday
from ivr.planning.adherence import day_adherence, out_of_adherence_now
from ivr.store.db import get_session
from ivr.store.models import Callback, QueueEntry, waiting_entries
from ivr.web.auth import api_auth, login_required

bp = Blueprint("ops", __name__)

FREQS = {"15min", "30min", "1h", "60min"}


def config() -> HotlineConfig:
    return hotline_config()


def limits() -> stats.Limits:
    """The most one request may ask for (``HOTLINE_API_MAX_DAYS``, ``HOTLINE_API_MAX_INTERVALS``)."""
    return stats.Limits.of_app(current_app.config)


def requested_window() -> stats.Window:
    """The ``since``/``until`` window of the request (default: today); raises
    :class:`stats.WindowRefused`."""
    cfg = config()
    return stats.parse_window(
        cfg,
        request.args.get("since"),
        request.args.get("until"),
        stats.local_day(cfg, clock.now()),
        one_day_from_since=True,
        limits=limits(),
    )


def error(message: str, status: int = 400, parameter: str | None = None):
    body = {"error": message} | ({"parameter": parameter} if parameter else {})
    response = jsonify(body)
    response.status_code = status
    return response


def refused(exc: stats.WindowRefused):
    return error(str(exc), parameter=exc.parameter)


def jsonable(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    if "interval_start" in out:
        out["interval_start"] = [t.isoformat() for t in frame["interval_start"]]
    return out.to_dict(orient="records")


@bp.get("/api/queues")
@api_auth
def api_queues():
    try:
        window = requested_window()
    except stats.WindowRefused as exc:
        return refused(exc)
    cfg = config()
    now = clock.now()
    return jsonify(stats.queues_report(get_session(), cfg, window, now))


@bp.get("/api/queues/<queue>/intervals")
@api_auth
def api_intervals(queue: str):
    cfg = config()
    if queue not in cfg.queue_ids():
        return error("unknown queue", 404)
    freq = request.args.get("freq", "30min")
    if freq not in FREQS:
        return error(f"freq must be one of {', '.join(sorted(FREQS))}", parameter="freq")
    try:
        window = requested_window()
        stats.check_intervals(window, pd.Timedelta(freq), limits())
    except stats.WindowRefused as exc:
        return refused(exc)
    table = stats.interval_stats(get_session(), cfg, window, pd.Timedelta(freq), queue)
    return jsonify(
        {
            "queue": queue,
            "freq": freq,
            "window": window.as_json(cfg.line.timezone),
            "intervals": jsonable(table.drop(columns="queue")),
        }
    )


@bp.get("/")
def home():
    """The site's root: the queues dashboard (which asks for a login first)."""
    return redirect(url_for("ops.dashboard"))


@bp.get("/ops")
@login_required
def dashboard():
    cfg = config()
    return render_template(
        "ops.html",
        queues=cfg.queues,
        lang=cfg.line.default_language,
        line=cfg.line,
        config_problems=last_good.problems_on_disk(current_app.config["CONFIG_DIR"]),
        out_of_adherence=out_of_adherence_now(get_session(), cfg, clock.now()),
        line_target=min(q.service_level.target for q in cfg.queues),
    )


@bp.get("/ops/abandoned")
@login_required
def abandoned():
    cfg = config()
    try:
        window = requested_window()
    except stats.WindowRefused as exc:
        return render_template("message.html", message=str(exc)), 400
    rows = (
        get_session()
        .scalars(
            select(QueueEntry)
            .where(
                QueueEntry.result == "hangup",
                QueueEntry.entered_at >= window.since,
                QueueEntry.entered_at < window.until,
            )
            .order_by(QueueEntry.entered_at.desc())
            .limit(1000)
        )
        .all()
    )
    calls = [
        {
            "at": row.entered_at.astimezone(cfg.tz),
            "queue": row.queue,
            "from_number": row.from_number or "unknown",
            "wait_s": row.wait_s or 0.0,
            "short": (row.wait_s or 0.0) < cfg.line.short_abandon_s,
        }
        for row in rows
    ]
    return render_template(
        "abandoned.html", calls=calls, window=window, tz=cfg.tz, short_s=cfg.line.short_abandon_s
    )


@bp.get("/ops/jobs")
@login_required
def jobs():
    return render_template(
        "jobs.html",
        jobs=job_overview(current_app._get_current_object(), clock.now()),
        tz=config().tz,
    )


def requested_day(cfg: HotlineConfig) -> dt.date:
    text = request.args.get("date")
    if not text:
        return clock.now().astimezone(cfg.tz).date()
    return dt.date.fromisoformat(text)


@bp.get("/ops/adherence")
@login_required
def adherence():
    """Each agent's day against their published shifts, and who is out of adherence now."""
    cfg = config()
    try:
        day = requested_day(cfg)
    except ValueError:
        return render_template("message.html", message="date must be YYYY-MM-DD"), 400
    now = clock.now()
    session = get_session()
    table = day_adherence(session, cfg, day, now)
    today = now.astimezone(cfg.tz).date()
    return render_template(
        "adherence.html",
        day=day,
        rows=table.to_dict(orient="records"),
        now_out=out_of_adherence_now(session, cfg, now) if day == today else [],
        is_today=day == today,
    )


@bp.get("/ops/adherence.csv")
@login_required
def adherence_csv():
    cfg = config()
    try:
        day = requested_day(cfg)
    except ValueError:
        return error("date must be YYYY-MM-DD", parameter="date")
    table = day_adherence(get_session(), cfg, day, clock.now())
    return Response(
        table.to_csv(index=False),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=adherence-{day}.csv"},
    )


@bp.get("/api/intraday")
@api_auth
def api_intraday():
    """The rest of today: agents needed against agents on line and rostered, per queue and
    interval, and the shortages in words."""
    cfg = config()
    now = clock.now()
    session = get_session()
    found = intraday.todays_forecast(session, cfg, now)
    table = local_times(intraday.outlook(session, cfg, now), cfg)
    return jsonify(
        {
            "as_of": now.astimezone(cfg.tz).isoformat(),
            "forecast": found[1] if found else None,
            "intervals": jsonable(table),
            "shortages": intraday.shortages(cfg, table),
            "shortages_rostered": intraday.shortages(cfg, table, "short_rostered"),
            "today": jsonable(local_times(intraday.today_series(session, cfg, now), cfg)),
            "alerts": [
                {
                    "alert": a.key,
                    "message": a.message,
                    "raised_at": a.raised_at.astimezone(cfg.tz).isoformat(),
                }
                for a in alerts.active(session)
            ],
            "waiting": waiting_now(session, cfg, now),
            "callbacks_pending": pending_callbacks(session, cfg),
        }
    )


def local_times(table: pd.DataFrame, cfg: HotlineConfig) -> pd.DataFrame:
    """``interval_start`` in the line's time zone (what the page shows as time of day)."""
    if len(table):
        table = table.assign(interval_start=table["interval_start"].dt.tz_convert(cfg.tz))
    return table


def waiting_now(session, cfg: HotlineConfig, now) -> list[dict[str, Any]]:
    """Callers waiting now, longest first: queue, language, seconds waited (from their original
    entry), whether a callback brought them back, and the agent offered them if any."""
    rows = session.execute(
        select(
            QueueEntry.queue,
            QueueEntry.language,
            QueueEntry.entered_at,
            QueueEntry.original_entered_at,
            QueueEntry.offered_to,
        )
        .where(
            waiting_entries(),
        )
        .order_by(QueueEntry.original_entered_at)
        .limit(200)
    ).all()
    default = cfg.line.default_language
    return [
        {
            "queue": queue,
            "language": language or default,
            "waited_s": round((now - original).total_seconds()),
            "callback": original < entered - dt.timedelta(seconds=1),
            "offered_to": offered_to,
        }
        for queue, language, entered, original, offered_to in rows
    ]


def pending_callbacks(session, cfg: HotlineConfig) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            Callback.queue, Callback.language, Callback.due_at, Callback.attempts, Callback.status
        )
        .where(Callback.status.in_(("pending", "dialing")))
        .order_by(Callback.original_entered_at)
        .limit(200)
    ).all()
    return [
        {
            "queue": queue,
            "language": language,
            "due_at": due.astimezone(cfg.tz).isoformat(),
            "attempts": attempts,
            "status": status,
        }
        for queue, language, due, attempts, status in rows
    ]
