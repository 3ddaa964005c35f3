"""Complaint tickets' status changes posted as JSON to ``tickets.webhook_url`` (the scheduler's
``post_ticket_changes`` job, every 15 s): the page that changes a ticket only stores the change as
pending (:mod:`ivr.store.tickets`), so no page waits for a post nor fails with it.

Each change is posted once, in order per ticket: a change is claimed (``posting``) before its post,
so a second scheduler process leaves it alone, and a later change of the same ticket waits while an
earlier one is not posted. A post that fails is logged and tried again at the next run, up to
``tickets.max_attempts`` times; then the change is marked ``failed`` and logged as an error. A claim
is stamped with the clock when it is made, and a run claims nothing more once it has run for
half of :data:`LEASE` (a slow receiver, a backlog): a change claimed and being posted is never
taken by another process. A claim left by a process that died is taken again after
:data:`LEASE` (that change may then be posted twice). Changes made while no webhook was
configured are never posted. Logs name the receiver by its host only (its URL may hold a
secret: :func:`ivr.jobs.webhooks.shown_url`).

The body: ``reference``, ``old_status``, ``new_status``, ``by``, ``at`` (ISO 8601 in the line's
time zone), ``assignee``, ``queue`` and ``line``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Flask
from sqlalchemy import and_, or_, select, update

from ivr import clock
from ivr.config import hotline_config
from ivr.config.schema import HotlineConfig
from ivr.jobs.webhooks import failure, post_json, shown_url
from ivr.store.db import session_scope
from ivr.store.models import ComplaintTicket, TicketStatusChange

log = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=5)  # far longer than one post may take (post_timeout_s <= 30)
CLAIMING = LEASE / 2  # a run claims nothing more after this long: the next run goes on
BATCH = 200  # changes looked at per run; the rest wait for the next
FAILURES_TO_STOP = 3  # failed posts in a row that end the run: the receiver is down


def body(change: TicketStatusChange, reference: str, cfg: HotlineConfig) -> dict[str, Any]:
    return {
        "reference": reference,
        "old_status": change.old_status,
        "new_status": change.new_status,
        "by": change.changed_by,
        "at": change.at.astimezone(cfg.tz).isoformat(),
        "assignee": change.assignee,
        "queue": change.queue,
        "line": cfg.line.name,
    }


def line_now(app: Flask) -> dt.datetime:
    with app.app_context():
        return clock.now()


def claim(app: Flask, change_id: int, now: dt.datetime) -> bool:
    """Mark the change as being posted by this run, from ``now`` (the clock as it claims); False
    when another run holds it."""
    with session_scope(app) as session:
        return (
            session.execute(
                update(TicketStatusChange)
                .where(
                    TicketStatusChange.id == change_id,
                    or_(
                        TicketStatusChange.post_state == "pending",
                        and_(
                            TicketStatusChange.post_state == "posting",
                            TicketStatusChange.attempted_at < now - LEASE,
                        ),
                    ),
                )
                .values(post_state="posting", attempted_at=now)
            ).rowcount
            == 1
        )


def post_pending(app: Flask) -> str:
    """Post the changes not yet posted, oldest first. Returns what happened, in words.

    Each claim and each post is stamped with the line's clock as it happens (not with the time
    the job was due)."""
    cfg = hotline_config(app)
    settings = cfg.line.tickets
    with session_scope(app) as session:
        rows = session.execute(
            select(TicketStatusChange, ComplaintTicket.reference)
            .join(ComplaintTicket, ComplaintTicket.id == TicketStatusChange.ticket_id)
            .where(TicketStatusChange.post_state.in_(("pending", "posting")))
            .order_by(TicketStatusChange.id)
            .limit(BATCH)
        ).all()
        work = [(c.id, c.ticket_id, body(c, reference, cfg)) for c, reference in rows]
    if not work:
        return "no ticket change to post"
    url = settings.webhook_url
    if url is None:
        return f"no tickets.webhook_url: {len(work)} ticket change(s) wait"
    receiver = shown_url(url)
    started = line_now(app)
    held: set[int] = set()  # tickets with an earlier change not posted: the rest of theirs wait
    posted = failed = gave_up = in_a_row = 0
    stopped = ""
    for change_id, ticket_id, payload in work:
        if ticket_id in held:
            continue
        now = line_now(app)
        if now - started >= CLAIMING:
            stopped = "; the run took long, the rest waits for the next"
            break
        if not claim(app, change_id, now):
            held.add(ticket_id)
            continue
        try:
            post_json(url, payload, settings.post_timeout_s, user_agent="hotline-tickets")
        except Exception as exc:  # noqa: BLE001 - any failure: logged, tried at the next run
            why = failure(exc, url)
            held.add(ticket_id)
            failed += 1
            in_a_row += 1
            with session_scope(app) as session:
                change = session.get(TicketStatusChange, change_id)
                change.post_attempts += 1
                change.post_error = why[:500]
                last = change.post_attempts >= settings.max_attempts
                change.post_state = "failed" if last else "pending"
                attempts = change.post_attempts
            where = f"ticket {payload['reference']} ({payload['old_status']} -> {payload['new_status']})"
            if last:
                gave_up += 1
                log.error(
                    "%s: posting to %s failed %d times (%s); given up",
                    where,
                    receiver,
                    attempts,
                    why,
                )
            else:
                log.warning("%s: posting to %s failed (%s); tried again", where, receiver, why)
            if in_a_row >= FAILURES_TO_STOP:
                break
            continue
        in_a_row = 0
        posted += 1
        with session_scope(app) as session:
            change = session.get(TicketStatusChange, change_id)
            change.post_state, change.posted_at, change.post_error = "posted", line_now(app), None
    return (
        f"{posted} ticket change(s) posted, {failed} post(s) failed"
        + (f", {gave_up} given up" if gave_up else "")
        + stopped
    )
