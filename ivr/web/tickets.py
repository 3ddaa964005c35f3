"""Complaint tickets for ops and supervisors (agents' logins never reach them):
``/ops/tickets`` lists them, newest first, searchable by reference (exact or first digits) and
filtered by status; ``/ops/tickets/<reference>`` shows one with its call (time, queue, language,
the caller masked as on the agent desktop, the voicemail, the agent who took it), its notes and its
changes of status, and takes the changes: status (``open -> in_progress -> resolved``, reopen),
assignee and notes. Each change is committed with its audit row; a change of status is posted to
``tickets.webhook_url`` by the scheduler, never by the page (:mod:`ivr.jobs.ticket_posts`).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from ivr import clock
from ivr.config import hotline_config
from ivr.store import audit
from ivr.store import tickets as workflow
from ivr.store.db import get_session
from ivr.store.models import ComplaintTicket
from ivr.web.auth import check_csrf, current_user, login_required, username
from ivr.web.desktop import shown_number

bp = Blueprint("tickets", __name__, url_prefix="/ops/tickets")
LIMIT = 500


@bp.get("")
@login_required
def index():
    cfg = hotline_config()
    asked = {"q": request.args.get("q", ""), "status": request.args.get("status", "")}
    try:
        reference = workflow.reference_query(asked["q"])
        status = workflow.status_query(asked["status"])
    except workflow.TicketRefused as exc:
        page = render_template(
            "tickets.html",
            tickets=[],
            callers={},
            tz=cfg.tz,
            asked=asked,
            error=str(exc),
            **choices(),
        )
        return page, exc.status
    rows = workflow.search(get_session(), reference, status, LIMIT)
    callers = {t.reference: shown_number(cfg, t.from_number) or "unknown" for t in rows}
    return render_template(
        "tickets.html",
        tickets=rows,
        callers=callers,
        tz=cfg.tz,
        asked=asked,
        error=None,
        **choices(),
    )


def choices() -> dict:
    return {"statuses": workflow.STATUSES, "labels": workflow.LABELS}


def ticket_or_404(reference: str) -> ComplaintTicket:
    ticket = workflow.find(get_session(), reference)
    if ticket is None:
        abort(404)
    return ticket


def ticket_page(ticket: ComplaintTicket, error: str | None = None, status: int = 200, **typed):
    """The ticket's page; with ``error`` (and what was typed, to keep it) after a refused change."""
    cfg = hotline_config()
    session = get_session()
    found = workflow.ticket_call(session, ticket)
    call = found.call
    queue = call.queue if call else None
    page = render_template(
        "ticket.html",
        ticket=ticket,
        tz=cfg.tz,
        call=call,
        caller=shown_number(cfg, call.from_number if call else ticket.from_number) or "unknown",
        queue=queue,
        queue_name=cfg.queue(queue).names[cfg.line.default_language]
        if queue in cfg.queue_ids()
        else None,
        agent_id=found.agent_id,
        agent_name=found.agent_name,
        may_play=current_user.is_supervisor,
        next_statuses=workflow.NEXT.get(ticket.status, ()),
        assignable=workflow.assignable(cfg),
        notes=workflow.notes(session, ticket),
        history=workflow.history(session, ticket),
        error=error,
        typed=typed,
        **choices(),
    )
    return page, status


def refused(ticket_id: int, exc: workflow.TicketRefused, **typed):
    """Nothing of the refused change is kept; the page says why, with the status."""
    session = get_session()
    session.rollback()
    return ticket_page(session.get(ComplaintTicket, ticket_id), str(exc), exc.status, **typed)


@bp.get("/<reference>")
@login_required
def ticket(reference: str):
    return ticket_page(ticket_or_404(reference))


@bp.post("/<reference>/status")
@login_required
def status(reference: str):
    check_csrf()
    ticket = ticket_or_404(reference)
    old, new = ticket.status, request.form.get("status", "")
    note = request.form.get("note")
    session = get_session()
    try:
        change = workflow.change_status(
            session, hotline_config(), ticket, new, username(), clock.now(), note
        )
    except workflow.TicketRefused as exc:
        return refused(ticket.id, exc, status_note=note or "")
    detail = {"reference": reference, "from": old, "to": new, "change": change.id}
    audit.commit_with_audit(session, username(), "ticket.status", detail)
    return redirect(url_for("tickets.ticket", reference=reference), 303)


@bp.post("/<reference>/assignee")
@login_required
def assignee(reference: str):
    check_csrf()
    ticket = ticket_or_404(reference)
    old = ticket.assignee
    session = get_session()
    try:
        changed = workflow.assign(session, hotline_config(), ticket, request.form.get("assignee"))
    except workflow.TicketRefused as exc:
        return refused(ticket.id, exc)
    if changed:
        detail = {"reference": reference, "from": old, "to": ticket.assignee}
        audit.commit_with_audit(session, username(), "ticket.assignee", detail)
    return redirect(url_for("tickets.ticket", reference=reference), 303)


@bp.post("/<reference>/notes")
@login_required
def note(reference: str):
    check_csrf()
    ticket = ticket_or_404(reference)
    session = get_session()
    text = request.form.get("note")
    try:
        added = workflow.add_note(session, ticket, text, username(), clock.now())
    except workflow.TicketRefused as exc:
        return refused(ticket.id, exc, note=text or "")
    audit.commit_with_audit(
        session, username(), "ticket.note", {"reference": reference, "note": added.id}
    )
    return redirect(url_for("tickets.ticket", reference=reference), 303)
