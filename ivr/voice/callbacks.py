"""Callbacks, all of their life: booked (out of hours, or from the queue keeping the caller's
place), claimed by a free agent (whose own leg dials them: see :mod:`ivr.voice.agents`) or
placed by the system through the Twilio REST client when due, and their outcomes: an answered
callback is queued with the customer's original place; busy or unanswered ones are retried
after a gap, up to the configured number of attempts; dials whose outcome never came are
released. Only callable numbers (:func:`callable_number`) are booked or dialled.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from flask import Blueprint, Flask, request
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from ivr import clock
from ivr.config import hotline_config
from ivr.config.schema import HotlineConfig
from ivr.store import calllog
from ivr.store.db import get_session, session_scope
from ivr.store.models import Callback
from ivr.voice.prompts import say, text
from ivr.voice.routing import enqueue
from ivr.voice.signatures import twilio_signed
from ivr.voice.twilio_rest import place_call
from ivr.voice.webhook import (
    LONGEST_CALL,
    arg_id,
    call_sid,
    config,
    event,
    safe_twiml,
    twilio_callback,
)

log = logging.getLogger(__name__)
bp = Blueprint("callbacks", __name__, url_prefix="/voice/callback")
E164 = re.compile(r"\+[1-9][0-9]{7,14}")  # a +, then 8 to 15 digits


def callable_number(cfg: HotlineConfig, phone: str | None) -> bool:
    """A number the line may call back: E.164 (a +, then 8 to 15 digits, the first 1-9),
    starting with one of ``callbacks.allow_prefixes`` (if any are listed) and with none of
    ``callbacks.deny_prefixes``. A withheld or malformed caller id is not callable."""
    if not phone or not E164.fullmatch(phone):
        return False
    rules = cfg.line.callbacks
    allowed = not rules.allow_prefixes or phone.startswith(tuple(rules.allow_prefixes))
    return allowed and not phone.startswith(tuple(rules.deny_prefixes))


def refuse_uncallable(session: Session, cfg: HotlineConfig, callback: Callback) -> bool:
    """True, having failed it with outcome ``refused_number`` (never dialled), if a pending
    callback's number may not be called: one booked before the rule, or since denied."""
    if callable_number(cfg, callback.phone):
        return False
    refused = session.execute(
        update(Callback)
        .where(Callback.id == callback.id, Callback.status == "pending")
        .values(status="failed", outcome="refused_number")
    ).rowcount
    if refused:
        log.warning("callback %s: its number may not be called; failed, not dialled", callback.id)
    return True


def book(
    session: Session,
    call_sid: str,
    phone: str,
    language: str,
    queue: str,
    original_entered_at: dt.datetime,
    requested_at: dt.datetime,
    due_at: dt.datetime,
    dial_by: str = "system",
) -> bool:
    """Book the call's callback (once: a retried request books nothing more; False then).
    ``dial_by``: ``agent`` (a free agent dials it from their own leg) or ``system`` (the dialler
    job)."""
    return calllog.insert_ignore(
        session,
        Callback,
        {
            "call_sid": call_sid,
            "phone": phone,
            "language": language,
            "queue": queue,
            "original_entered_at": original_entered_at,
            "requested_at": requested_at,
            "due_at": due_at,
            "status": "pending",
            "attempts": 0,
            "dial_by": dial_by,
        },
    )


def claim(session: Session, callback_id: int, agent_id: str, now: dt.datetime) -> bool:
    """The agent takes this pending callback to dial it now; False if someone else did first."""
    return bool(
        session.execute(
            update(Callback)
            .where(Callback.id == callback_id, Callback.status == "pending")
            .values(
                status="dialing",
                agent_id=agent_id,
                attempts=Callback.attempts + 1,
                last_attempt_at=now,
            )
        ).rowcount
    )


def unclaim(session: Session, callback_id: int, agent_id: str) -> None:
    """Give back a callback the agent claimed and never dialled (the offer was withdrawn): pending
    again, the attempt not counted."""
    session.execute(
        update(Callback)
        .where(
            Callback.id == callback_id,
            Callback.status == "dialing",
            Callback.agent_id == agent_id,
        )
        .values(status="pending", agent_id=None, attempts=Callback.attempts - 1)
    )


def record_attempt(
    session: Session, cfg: HotlineConfig, callback: Callback, status: str, now: dt.datetime
) -> None:
    """The outcome of one dial: done, retry after the gap, or give up after the last attempt."""
    if callback.status not in ("dialing",):
        return  # a duplicate or late callback changes nothing
    callback.outcome = status
    if status in ("completed", "answered"):
        callback.status = "completed"
    elif callback.attempts >= cfg.line.callbacks.max_attempts:
        callback.status = "failed"
    else:
        callback.status = "pending"
        callback.due_at = now + dt.timedelta(seconds=cfg.line.callbacks.retry_gap_s)


def status_event_key(callback: Callback) -> str:
    """The key of the ``callback_status`` event of a system callback's current dial: its status
    callback and ``check_lost_calls`` store it once between them."""
    return f"callback_status:{callback.attempts}"


def release_stale_dials(app: Flask, now: dt.datetime | None = None) -> int:
    """Callbacks still "dialing" longer than any call can last: their outcome (the status
    callback, or the agent's dial action) never came. Each counts as an attempt with outcome
    ``unknown``: dialled again after the retry gap, or failed after the last attempt, instead of
    waiting for ever. Returns how many were released."""
    cfg: HotlineConfig = hotline_config(app)
    with app.app_context():
        now = now or clock.now()
    with session_scope(app) as session:
        stale = session.scalars(
            select(Callback).where(
                Callback.status == "dialing", Callback.last_attempt_at < now - LONGEST_CALL
            )
        ).all()
        for callback in stale:
            log.warning(
                "callback %s: no outcome of its dial at %s", callback.id, callback.last_attempt_at
            )
            record_attempt(session, cfg, callback, "unknown", now)
    return len(stale)


def public_base(app: Flask) -> str:
    return (app.config.get("HOTLINE_PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")


def dial_due_callbacks(app: Flask, now: dt.datetime | None = None) -> list[int]:
    """The scheduled job: place every due system callback once. Returns the callbacks dialled."""
    cfg: HotlineConfig = hotline_config(app)
    with app.app_context():
        now = now or clock.now()
    dialled = []
    with session_scope(app) as session:
        due = session.scalars(
            select(Callback.id)
            .where(
                Callback.status == "pending", Callback.dial_by == "system", Callback.due_at <= now
            )
            .order_by(Callback.original_entered_at)
        ).all()
    for callback_id in due:
        with session_scope(app) as session:
            callback = session.get(Callback, callback_id)
            if callback is None or refuse_uncallable(session, cfg, callback):
                continue
            claimed = session.execute(
                update(Callback)
                .where(Callback.id == callback_id, Callback.status == "pending")
                .values(status="dialing", attempts=Callback.attempts + 1, last_attempt_at=now)
            ).rowcount
            if not claimed:
                continue  # another scheduler took it
            phone = callback.phone
        base = public_base(app)
        try:
            sid = place_call(
                app,
                to=phone,
                from_=cfg.line.phone_number,
                url=f"{base}/voice/callback/answer?cb={callback_id}",
                status_callback=f"{base}/voice/callback/status?cb={callback_id}",
            )
        except Exception:  # noqa: BLE001 - a failed dial is an attempt like any other
            log.exception("placing callback %s failed", callback_id)
            with session_scope(app) as session:
                record_attempt(session, cfg, session.get(Callback, callback_id), "failed", now)
            continue
        with session_scope(app) as session:
            session.get(Callback, callback_id).dial_call_sid = sid
        dialled.append(callback_id)
    return dialled


def callback_from_args(session: Session) -> Callback | None:
    callback_id = arg_id("cb")
    return None if callback_id is None else session.get(Callback, callback_id)


@bp.post("/answer")
@twilio_signed
@safe_twiml
def answer() -> VoiceResponse:
    """The customer picked up our callback: greet them and queue them with their original place."""
    cfg = config()
    session = get_session()
    callback = callback_from_args(session)
    response = VoiceResponse()
    if callback is None:
        response.hangup()
        return response
    lang = cfg.language(callback.language)
    event("callback_answered", callback=callback.id, queue=callback.queue)
    say(response, lang, text(lang, "callback_greeting", line_name=cfg.line.name))
    return enqueue(
        response, lang, callback.queue, step=1, original_entered_at=callback.original_entered_at
    )


@bp.post("/status")
@twilio_signed
@twilio_callback
def status() -> VoiceResponse:
    """Twilio's final status of a callback we placed."""
    session = get_session()
    callback = callback_from_args(session)
    if callback is not None and request.form.get("CallSid") == callback.dial_call_sid:
        state = request.form.get("CallStatus", "")[:32]
        if event(
            "callback_status",
            status_event_key(callback),
            callback=callback.id,
            status=state,
        ):
            record_attempt(session, hotline_config(), callback, state, clock.now())
    call_sid()
    return VoiceResponse()
