"""Retention: what the line stops keeping once its time is up (the nightly ``retention`` job).

- **Recordings** (voicemails, survey comments) older than ``scheduler.keep_recordings_days`` are
  deleted at Twilio (``DELETE /2010-04-01/Accounts/<AccountSid>/Recordings/<RecordingSid>.json``
  through :func:`ivr.voice.twilio_rest.rest_client`). The stored link is forgotten only once Twilio
  has confirmed (204) or says it no longer has the recording (404); any other answer keeps the link
  for the next run and is logged. When Twilio cannot be reached the run stops asking (the rest
  would wait for the same timeout) and keeps every link. Without credentials nothing is deleted
  and every link is kept. A recording's address is the URL Twilio posted with it (all the line
  stores), so the account and the recording SID are read from that URL.
- **Caller numbers** older than ``scheduler.keep_numbers_days`` are blanked (``NULL``, as a withheld
  number is stored) on calls (the called number too on outbound calls: it is the customer's),
  queue entries, callbacks that are over, complaint tickets and ``call_started`` events; callers
  whose remembered language was last used before then are forgotten. Blanked rather than hashed:
  phone numbers are few enough to be recovered from any hash by trying them all. The rows
  stay, so every count of the statistics stays as it was.
- **Call events** older than ``scheduler.keep_events_days`` are deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import ColumnElement, case, delete, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from ivr.config import hotline_config
from ivr.store.db import session_scope
from ivr.store.models import Call, Callback, Caller, CallEvent, ComplaintTicket, QueueEntry, Survey
from ivr.voice.twilio_rest import TWILIO_API, rest_client

log = logging.getLogger(__name__)
RECORDING_URL = re.compile(
    re.escape(TWILIO_API)
    + r"/2010-04-01/Accounts/(?P<account>AC[0-9A-Za-z]*)/Recordings/(?P<sid>RE[0-9A-Za-z]+)"
    + r"(?:\.(?:json|mp3|wav))?"
)
OPEN_CALLBACKS = ("pending", "dialing")  # still to be dialled: they keep their number
EVENTS_BATCH = 5000  # call_started events read and blanked at a time


@dataclass(frozen=True)
class RecordingLink:
    """Where a kind of recording's link is stored, the time that starts its keeping period, and
    its transcript (forgotten with the link)."""

    kind: str
    link: InstrumentedAttribute
    at: InstrumentedAttribute
    transcript: InstrumentedAttribute


RECORDING_LINKS = (
    RecordingLink("voicemail", Call.voicemail_url, Call.started_at, Call.voicemail_transcript),
    RecordingLink(
        "survey comment", Survey.comment_url, Survey.created_at, Survey.comment_transcript
    ),
)


@dataclass(frozen=True)
class StoredRecording:
    """One recording link past its keeping time."""

    where: RecordingLink
    row_id: int
    call_sid: str
    url: str


@dataclass
class RecordingsDeleted:
    """What became of the recordings past their keeping time."""

    deleted: int = 0  # Twilio confirmed, or no longer had them: their links are forgotten
    already_gone: int = 0  # of ``deleted``: Twilio answered 404
    kept: int = 0  # Twilio refused, or was not asked: their links stay for the next run
    unreachable: bool = False  # the run stopped asking: Twilio could not be reached
    no_credentials: bool = False


@dataclass
class NumbersRemoved:
    """Rows whose caller number was blanked, per kind; ``callers``: remembered callers deleted."""

    calls: int = 0
    queue_entries: int = 0
    callbacks: int = 0
    tickets: int = 0
    events: int = 0
    callers: int = 0


@dataclass
class RetentionReport:
    """One run of the job; ``str()`` is the line stored with the job run."""

    recordings: RecordingsDeleted
    numbers: NumbersRemoved
    events_deleted: int

    def __str__(self) -> str:
        return "; ".join(
            [recordings_line(self.recordings), numbers_line(self.numbers)]
            + [f"deleted {counted(self.events_deleted, 'call event')}"]
        )


def counted(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def recordings_line(done: RecordingsDeleted) -> str:
    if not done.deleted and not done.kept:
        return "no recording to delete"
    if done.no_credentials:
        return f"no Twilio credentials: {counted(done.kept, 'recording')} kept, none deleted"
    line = f"deleted {counted(done.deleted, 'recording')} at Twilio"
    if done.already_gone:
        line += f" ({done.already_gone} already gone)"
    if done.kept:
        line += f", {done.kept} failed and kept for the next run"
    if done.unreachable:
        line += " (Twilio could not be reached)"
    return line


def numbers_line(removed: NumbersRemoved) -> str:
    where = [
        counted(n, one, many)
        for n, one, many in (
            (removed.calls, "call", None),
            (removed.queue_entries, "queue entry", "queue entries"),
            (removed.callbacks, "callback", None),
            (removed.tickets, "ticket", None),
            (removed.events, "call event", None),
        )
        if n
    ]
    line = (
        "caller numbers removed from " + ", ".join(where) if where else "no caller number to remove"
    )
    if removed.callers:
        line += f"; {counted(removed.callers, 'remembered caller')} forgotten"
    return line


def apply_retention(app: Flask, now: dt.datetime) -> RetentionReport:
    """The ``retention`` job: caller numbers and call events past their keeping time removed
    (each in one transaction), then recordings deleted at Twilio one by one."""
    settings = hotline_config(app).line.scheduler
    with session_scope(app) as session:
        events = delete_events(session, now - dt.timedelta(days=settings.keep_events_days))
    with session_scope(app) as session:
        numbers = remove_numbers(session, now - dt.timedelta(days=settings.keep_numbers_days))
    recordings = delete_recordings(app, now - dt.timedelta(days=settings.keep_recordings_days))
    return RetentionReport(recordings, numbers, events)


def delete_events(session: Session, before: dt.datetime) -> int:
    return session.execute(delete(CallEvent).where(CallEvent.at < before)).rowcount


# --------------------------------------------------------------------------- caller numbers


def remove_numbers(session: Session, before: dt.datetime) -> NumbersRemoved:
    """Blank the numbers stored before ``before`` (see the module's docstring)."""
    outbound = Call.direction.like("outbound%")
    no_sync = {"synchronize_session": False}
    calls = session.execute(
        update(Call)
        .where(
            Call.started_at < before,
            or_(Call.from_number.is_not(None), outbound & Call.to_number.is_not(None)),
        )
        .values(from_number=None, to_number=case((outbound, None), else_=Call.to_number)),
        execution_options=no_sync,
    ).rowcount
    entries = session.execute(
        update(QueueEntry)
        .where(QueueEntry.entered_at < before, QueueEntry.from_number.is_not(None))
        .values(from_number=None),
        execution_options=no_sync,
    ).rowcount
    callbacks = session.execute(
        update(Callback)
        .where(
            Callback.requested_at < before,
            Callback.status.not_in(OPEN_CALLBACKS),
            Callback.phone.is_not(None),
        )
        .values(phone=None),
        execution_options=no_sync,
    ).rowcount
    tickets = session.execute(
        update(ComplaintTicket)
        .where(ComplaintTicket.created_at < before, ComplaintTicket.from_number.is_not(None))
        .values(from_number=None),
        execution_options=no_sync,
    ).rowcount
    callers = session.execute(
        delete(Caller).where(Caller.last_seen_at < before), execution_options=no_sync
    ).rowcount
    return NumbersRemoved(
        calls, entries, callbacks, tickets, blank_event_numbers(session, before), callers
    )


def event_has_number() -> ColumnElement[bool]:
    return or_(
        CallEvent.detail["from"].as_string().is_not(None),
        CallEvent.detail["to"].as_string().is_not(None),
    )


def blank_event_numbers(session: Session, before: dt.datetime) -> int:
    """``from`` and ``to`` of the ``call_started`` events before ``before`` set to None."""
    blanked = 0
    query = (
        select(CallEvent.id, CallEvent.detail)
        .where(CallEvent.event == "call_started", CallEvent.at < before, event_has_number())
        .limit(EVENTS_BATCH)
    )
    while rows := session.execute(query).all():
        session.execute(
            update(CallEvent),
            [
                {"id": row_id, "detail": {**detail, "from": None, "to": None}}
                for row_id, detail in rows
            ],
        )
        blanked += len(rows)
    return blanked


# --------------------------------------------------------------------------- recordings


def recordings_due(app: Flask, before: dt.datetime) -> list[StoredRecording]:
    """The recording links stored before ``before``, oldest first."""
    due = []
    with session_scope(app) as session:
        for where in RECORDING_LINKS:
            model = where.link.class_
            rows = session.execute(
                select(model.id, model.call_sid, where.link)
                .where(where.at < before, where.link.is_not(None))
                .order_by(where.at)
            ).all()
            due += [StoredRecording(where, *row) for row in rows]
    return due


def delete_at_twilio(client: Client, recording: StoredRecording) -> bool | None:
    """Delete the recording at Twilio: True once deleted, False if Twilio no longer had it,
    None if it could not be deleted (logged). Raises ``OSError`` if Twilio could not be reached."""
    address = RECORDING_URL.fullmatch(recording.url)
    if address is None:
        log.warning(
            "%s of call %s: its link is not a Twilio recording's; kept",
            recording.where.kind,
            recording.call_sid,
        )
        return None
    try:
        client.api.v2010.accounts(address["account"]).recordings(address["sid"]).delete()
    except TwilioException as exc:
        status = getattr(exc, "status", None)
        if status == 404:
            return False
        log.warning(  # the status and Twilio's error code only: never the request's credentials
            "%s %s of call %s: Twilio answered %s (code %s) to its deletion; kept for the next run",
            recording.where.kind,
            address["sid"],
            recording.call_sid,
            status,
            getattr(exc, "code", None),
        )
        return None
    return True


def forget_link(app: Flask, recording: StoredRecording) -> None:
    link = recording.where.link
    with session_scope(app) as session:
        session.execute(
            update(link.class_)
            .where(link.class_.id == recording.row_id, link == recording.url)
            .values({link.key: None, recording.where.transcript.key: None}),
            execution_options={"synchronize_session": False},
        )


def delete_recordings(app: Flask, before: dt.datetime) -> RecordingsDeleted:
    """Delete at Twilio the recordings stored before ``before``; each link is forgotten in its
    own transaction right after Twilio's answer, so a run cut short loses no confirmed work."""
    due = recordings_due(app, before)
    done = RecordingsDeleted()
    client = rest_client(app)
    if client is None:
        if due:
            log.warning("no Twilio credentials: %d recording(s) past their time kept", len(due))
        return RecordingsDeleted(kept=len(due), no_credentials=True)
    for asked, recording in enumerate(due):
        try:
            deleted = delete_at_twilio(client, recording)
        except OSError as exc:
            log.warning("Twilio could not be reached to delete recordings: %s", exc)
            done.kept += len(due) - asked
            done.unreachable = True
            break
        if deleted is None:
            done.kept += 1
            continue
        forget_link(app, recording)
        done.deleted += 1
        if not deleted:
            done.already_gone += 1
    return done
