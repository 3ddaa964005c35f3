"""Complaint tickets' workflow: status, assignee and notes, as ops and supervisors work them.

A ticket opens with its call (:func:`ivr.store.calllog.complaint_ticket`) and then moves
``open -> in_progress -> resolved``; a resolved ticket may be reopened (``resolved -> open``);
every other change of status is refused. Each change of status is kept as a
:class:`TicketStatusChange`, pending a post to ``tickets.webhook_url`` when one is configured
(the post itself is the scheduler's: :mod:`ivr.jobs.ticket_posts`). The assignee is an ops or
supervisor login of ``users.yaml`` (the people who work tickets; agents' logins never see them).

The functions here change the session and leave the commit, with its audit row, to the caller;
a refused change raises :class:`TicketRefused` before anything is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.config.schema import HotlineConfig
from ivr.store.models import (
    AgentAccount,
    Call,
    ComplaintTicket,
    QueueEntry,
    TicketNote,
    TicketStatusChange,
)

STATUSES = ("open", "in_progress", "resolved")
NEXT = {"open": ("in_progress",), "in_progress": ("resolved",), "resolved": ("open",)}
LABELS = {"open": "open", "in_progress": "in progress", "resolved": "resolved"}
NOTE_MAX_CHARS = 4000
REFERENCE_MAX_CHARS = 16
WORKER_ROLES = ("ops", "supervisor")


class TicketRefused(ValueError):
    """A change or a search refused: the message names the field; ``status`` is the HTTP status
    that says why (400: bad input, 409: not possible from the ticket's present state)."""

    def __init__(self, message: str, field: str, status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class TicketCall:
    """What is stored about a ticket's call: the call (None if its row is gone), and the agent
    who answered it (id and name), if one did."""

    call: Call | None
    agent_id: str | None
    agent_name: str | None


def find(session: Session, reference: str) -> ComplaintTicket | None:
    return session.scalar(select(ComplaintTicket).where(ComplaintTicket.reference == reference))


def reference_query(text: str | None) -> str:
    """The reference (or its first digits) a search asks for, spaces removed; "" for none."""
    wanted = "".join((text or "").split())
    if not wanted:
        return ""
    if not wanted.isascii() or not wanted.isdigit() or len(wanted) > REFERENCE_MAX_CHARS:
        raise TicketRefused(
            f"reference: {text!r} is not a reference or its first digits (digits only, "
            f"at most {REFERENCE_MAX_CHARS})",
            "q",
        )
    return wanted


def status_query(text: str | None) -> str | None:
    """The status a search filters on, None for any."""
    if not text:
        return None
    if text not in STATUSES:
        raise TicketRefused(f"status: {text!r} is not one of {', '.join(STATUSES)}", "status")
    return text


def search(
    session: Session, reference: str = "", status: str | None = None, limit: int = 500
) -> list[ComplaintTicket]:
    """Tickets whose reference is ``reference`` or starts with it, of ``status`` if given,
    newest first. ``reference`` is digits only (:func:`reference_query`)."""
    query = select(ComplaintTicket)
    if reference:
        query = query.where(ComplaintTicket.reference.startswith(reference, autoescape=True))
    if status:
        query = query.where(ComplaintTicket.status == status)
    order = (ComplaintTicket.created_at.desc(), ComplaintTicket.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def assignable(cfg: HotlineConfig) -> list[str]:
    """The logins a ticket may be assigned to: enabled ops and supervisors of users.yaml."""
    return sorted(u.username for u in cfg.users if u.role in WORKER_ROLES and not u.disabled)


def ticket_call(session: Session, ticket: ComplaintTicket) -> TicketCall:
    call = session.scalar(select(Call).where(Call.call_sid == ticket.call_sid))
    agent_id = session.scalar(
        select(QueueEntry.agent_id)
        .where(
            QueueEntry.call_sid == ticket.call_sid,
            QueueEntry.answered_at.is_not(None),
            QueueEntry.agent_id.is_not(None),
        )
        .order_by(QueueEntry.answered_at.desc())
        .limit(1)
    )
    agent_name = (
        session.scalar(select(AgentAccount.name).where(AgentAccount.agent_id == agent_id))
        if agent_id
        else None
    )
    return TicketCall(call, agent_id, agent_name)


def clean_note(text: str | None, required: bool) -> str | None:
    """The note's text, stripped; None for an empty optional note."""
    note = (text or "").strip()
    if not note:
        if required:
            raise TicketRefused("note: write something before adding a note", "note")
        return None
    if len(note) > NOTE_MAX_CHARS:
        raise TicketRefused(
            f"note: {len(note)} characters, at most {NOTE_MAX_CHARS} are kept", "note"
        )
    return note


def add_note(
    session: Session, ticket: ComplaintTicket, text: str | None, by: str, now: dt.datetime
) -> TicketNote:
    note = TicketNote(ticket_id=ticket.id, author=by, at=now, text=clean_note(text, True))
    session.add(note)
    session.flush()
    return note


def change_status(
    session: Session,
    cfg: HotlineConfig,
    ticket: ComplaintTicket,
    new_status: str,
    by: str,
    now: dt.datetime,
    note: str | None = None,
) -> TicketStatusChange:
    """Move the ticket to ``new_status`` (with an optional note), and keep the change, pending a
    post when ``tickets.webhook_url`` is set. Refused (nothing written): an unknown status (400),
    a change the workflow does not allow, or a ticket changed meanwhile (409)."""
    if new_status not in STATUSES:
        raise TicketRefused(f"status: {new_status!r} is not one of {', '.join(STATUSES)}", "status")
    old = ticket.status
    if new_status not in NEXT.get(old, ()):
        allowed = " or ".join(LABELS[s] for s in NEXT.get(old, ()))
        raise TicketRefused(
            f"status: a ticket {LABELS.get(old, old)} cannot become {LABELS[new_status]}"
            + (f"; it can only become {allowed}" if allowed else ""),
            "status",
            409,
        )
    text = clean_note(note, required=False)
    moved = session.execute(
        update(ComplaintTicket)
        .where(ComplaintTicket.id == ticket.id, ComplaintTicket.status == old)
        .values(status=new_status)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if moved != 1:
        raise TicketRefused(
            "status: the ticket was changed by someone else meanwhile; look again", "status", 409
        )
    queue = session.scalar(select(Call.queue).where(Call.call_sid == ticket.call_sid))
    change = TicketStatusChange(
        ticket_id=ticket.id,
        old_status=old,
        new_status=new_status,
        changed_by=by,
        at=now,
        assignee=ticket.assignee,
        queue=queue,
        post_state="pending" if cfg.line.tickets.webhook_url else None,
        post_attempts=0,
    )
    session.add(change)
    if text is not None:
        session.add(TicketNote(ticket_id=ticket.id, author=by, at=now, text=text))
    session.flush()
    return change


def assign(
    session: Session, cfg: HotlineConfig, ticket: ComplaintTicket, assignee: str | None
) -> bool:
    """Give the ticket to ``assignee`` (None or "": to nobody); False when nothing changes."""
    wanted = (assignee or "").strip() or None
    if wanted is not None and wanted not in assignable(cfg):
        raise TicketRefused(
            f"assignee: {wanted!r} is not an enabled ops or supervisor login in users.yaml",
            "assignee",
        )
    if wanted == ticket.assignee:
        return False
    ticket.assignee = wanted
    session.flush()
    return True


def notes(session: Session, ticket: ComplaintTicket) -> list[TicketNote]:
    """The ticket's notes, oldest first."""
    query = select(TicketNote).where(TicketNote.ticket_id == ticket.id)
    return list(session.scalars(query.order_by(TicketNote.at, TicketNote.id)))


def history(session: Session, ticket: ComplaintTicket) -> list[TicketStatusChange]:
    """The ticket's changes of status, oldest first."""
    query = select(TicketStatusChange).where(TicketStatusChange.ticket_id == ticket.id)
    return list(session.scalars(query.order_by(TicketStatusChange.at, TicketStatusChange.id)))
