"""Agents' calendars as feeds: ``/calendar/<agent>/<token>.ics``, the agent's published shifts
(the last five weeks and every week ahead) as one RFC 5545 calendar a phone or mail client
subscribes to.

The token is an HMAC of the agent's id and their feed's version under the app's secret key
(``HOTLINE_SECRET_KEY``): nothing secret is stored, the desk can show the link at any time, and a
supervisor rotates it on ``/supervisor/calendars`` (the version goes up; the old link answers 404,
as does any wrong token). Each shift's SEQUENCE is the number of times its week was published
before the last time, so a client replaces a shift a republished roster changed; a shift a
republication removed stays in the feed as CANCELLED (from the publish's audit record).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for
from sqlalchemy import select

from ivr import clock
from ivr.config import hotline_config
from ivr.planning.rosters import agent_calendar, assignment_row
from ivr.store import audit
from ivr.store.db import get_session
from ivr.store.models import AuditEntry, CalendarFeed, RosterAssignment
from ivr.web.auth import check_csrf, login_required, supervisors_only, username

bp = Blueprint("calendars", __name__)
PAST_WEEKS = 5


def feed_version(session, agent_id: str) -> int:
    return (
        session.scalar(select(CalendarFeed.version).where(CalendarFeed.agent_id == agent_id)) or 0
    )


def feed_token(agent_id: str, version: int) -> str:
    key = str(current_app.secret_key).encode()
    message = f"calendar:{agent_id}:{version}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def feed_url(session, agent_id: str) -> str:
    """The agent's calendar feed, absolute (under ``HOTLINE_PUBLIC_URL`` when one is set)."""
    token = feed_token(agent_id, feed_version(session, agent_id))
    base = (current_app.config.get("HOTLINE_PUBLIC_URL") or "").rstrip("/")
    if base:
        return base + url_for("calendars.feed", agent=agent_id, token=token)
    return url_for("calendars.feed", agent=agent_id, token=token, _external=True)


def publications(session, agent: str) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    """How many times each week (ISO Monday) was published, and the agent's shifts a
    republication removed: (week, start, end)."""
    counts: dict[str, int] = {}
    removed: list[tuple[str, str, str]] = []
    for detail in session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "roster.publish")
    ):
        week = (detail or {}).get("week")
        if week:
            counts[week] = counts.get(week, 0) + 1
            removed += [(week, s, e) for a, s, e in detail.get("removed", []) if a == agent]
    return counts, removed


@bp.get("/calendar/<agent>/<token>.ics")
def feed(agent: str, token: str) -> Response:
    cfg = hotline_config()
    known = next((a for a in cfg.agents if a.id == agent), None)
    session = get_session()
    if known is None or not hmac.compare_digest(
        token.encode(), feed_token(agent, feed_version(session, agent)).encode()
    ):
        abort(404)
    today = clock.now().astimezone(cfg.tz).date()
    since = today - dt.timedelta(weeks=PAST_WEEKS)
    shifts = session.scalars(
        select(RosterAssignment)
        .where(
            RosterAssignment.agent_id == agent,
            RosterAssignment.status == "published",
            RosterAssignment.date >= since,
        )
        .order_by(RosterAssignment.shift_start)
    ).all()
    published, removed = publications(session, agent)
    rows, sequence = [], {}
    for shift in shifts:
        rows.append(assignment_row(shift, cfg.tz, ";".join(known.skills)))
        sequence[shift.date.isoformat()] = max(
            published.get(shift.week_start.isoformat(), 1) - 1, 0
        )
    kept = {(r["shift_start"], r["shift_end"]) for r in rows}
    for week, start, end in removed:  # shifts republished rosters took away: cancelled
        begin = dt.datetime.fromisoformat(start).astimezone(cfg.tz)
        finish = dt.datetime.fromisoformat(end).astimezone(cfg.tz)
        if begin.date() < since or (begin.isoformat(), finish.isoformat()) in kept:
            continue
        rows.append(
            {
                "agent": agent,
                "date": begin.date().isoformat(),
                "shift_start": begin.isoformat(),
                "shift_end": finish.isoformat(),
                "break_start": "",
                "queue_skills": ";".join(known.skills),
                "cancelled": True,
            }
        )
        sequence.setdefault(begin.date().isoformat(), max(published.get(week, 1) - 1, 1))
    body = agent_calendar(rows, known, cfg.line.name, cfg.tz, stamp=clock.now(), sequence=sequence)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Cache-Control": "private, max-age=300", "Content-Disposition": "inline"},
    )


@bp.get("/supervisor/calendars")
@login_required
def calendars_page():
    supervisors_only()
    cfg = hotline_config()
    session = get_session()
    feeds = {f.agent_id: f for f in session.scalars(select(CalendarFeed))}
    rows = [
        {
            "agent": a,
            "url": feed_url(session, a.id),
            "rotated_at": feeds[a.id].rotated_at.astimezone(cfg.tz) if a.id in feeds
            and feeds[a.id].rotated_at else None,
            "rotated_by": feeds[a.id].rotated_by if a.id in feeds else None,
        }
        for a in cfg.agents
    ]  # fmt: skip
    return render_template("calendars.html", rows=rows)


@bp.post("/supervisor/calendars/<agent>/rotate")
@login_required
def rotate(agent: str):
    supervisors_only()
    check_csrf()
    cfg = hotline_config()
    if agent not in {a.id for a in cfg.agents}:
        abort(404)
    session = get_session()
    row = session.scalar(select(CalendarFeed).where(CalendarFeed.agent_id == agent))
    if row is None:
        row = CalendarFeed(agent_id=agent, version=0)
        session.add(row)
    row.version = (row.version or 0) + 1
    row.rotated_at, row.rotated_by = clock.now(), username()
    audit.commit_with_audit(session, username(), "calendar.rotate", {"agent": agent})
    return redirect(url_for("calendars.calendars_page") + f"#feed-{agent}")
