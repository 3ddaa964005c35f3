"""Where a caller goes next, as TwiML: into a queue (with the wait and action URLs), through
to the operator, or to leave a message."""

from __future__ import annotations

import datetime as dt

from flask import request, url_for
from twilio.twiml.voice_response import VoiceResponse

from ivr import clock
from ivr.config.schema import Language
from ivr.store import calllog
from ivr.store.db import get_session
from ivr.store.models import QueueEntry
from ivr.voice import spool
from ivr.voice.prompts import say, spoken_digits, text
from ivr.voice.webhook import (
    FALLBACK_QUEUE,
    call_sid,
    caller_number,
    config,
    event,
    record_message,
)


def enqueue(
    response: VoiceResponse,
    lang: Language,
    queue_id: str,
    step: int,
    original_entered_at: dt.datetime | None = None,
) -> VoiceResponse:
    """Put the caller into a queue and open their queue entry (once per step).

    ``original_entered_at`` keeps a called-back customer's place: agents take the longest
    original wait first."""
    cfg = config()
    session = get_session()
    at = clock.now()
    sid = call_sid()
    queue = cfg.queue(queue_id)
    if queue.opens_ticket and original_entered_at is None:
        ticket = calllog.complaint_ticket(session, sid, caller_number(), lang.code, at)
        event("ticket_opened", reference=ticket.reference, queue=queue_id)
        digits = spoken_digits(ticket.reference)
        say(response, lang, text(lang, "complaint_reference", digits=digits))
    say(response, lang, text(lang, "connecting", queue=queue.names[lang.code]))
    open_entry(lang.code, queue_id, step, original_entered_at)
    return enqueue_verb(response, lang, queue_id, step)


def open_entry(
    lang: str, queue_id: str, step: int, original_entered_at: dt.datetime | None = None
) -> None:
    """Record the caller put into this queue: the ``enqueued`` event and their queue entry (once
    per queue and step: a retried webhook opens no second entry), and the call's queue."""
    session = get_session()
    at = clock.now()
    sid = call_sid()
    if event("enqueued", f"enqueued:{queue_id}:{step}", queue=queue_id):
        calllog.insert_ignore(
            session,
            QueueEntry,
            {
                "call_sid": sid,
                "queue": queue_id,
                "language": lang,
                "from_number": caller_number(),
                "entered_at": at,
                "original_entered_at": original_entered_at or at,
            },
        )
    calllog.update_call(session, sid, queue=queue_id, language=lang)


@spool.recorder("enqueued")
def record_enqueued(decision: dict) -> None:
    """A caller put into a queue by a fallback (``reason`` ``fallback``: the apology) or by the
    menu while the database was down (``menu_choice``): the call, why, and their entry."""
    calllog.ensure_call(get_session(), request.form, clock.now())
    if request.endpoint == "voice.incoming":  # the call's first webhook: it did ring
        event("call_started", **{"from": caller_number(), "to": caller_number("To")})
    queue_id, step = decision["queue"], decision["step"]
    if decision["reason"] == "menu_choice":
        event(
            "menu_choice",
            f"menu_choice:{step}",
            queue=queue_id,
            how=decision.get("how"),
            option=decision.get("option"),
        )
    else:
        event("fallback_to_queue", f"fallback_to_queue:{request.path}:{step}", queue=queue_id)
    open_entry(decision["lang"], queue_id, step)


def enqueue_verb(
    response: VoiceResponse, lang: Language, queue_id: str, step: int
) -> VoiceResponse:
    """The ``<Enqueue>`` into this queue, with the hold loop and the queue result as its URLs."""
    response.enqueue(
        queue_id,
        wait_url=url_for("hold.wait", lang=lang.code, queue=queue_id, step=step),
        wait_url_method="POST",
        action=url_for("hold.queue_result", lang=lang.code, queue=queue_id, step=step),
        method="POST",
    )
    return response


def to_operator(lang: Language, step: int, reason: str) -> VoiceResponse:
    event("fallback_to_operator", f"fallback:{step}", reason=reason)
    response = VoiceResponse()
    say(response, lang, text(lang, "to_operator"))
    return enqueue(response, lang, FALLBACK_QUEUE, step)


def voicemail_prompt(lang: Language, step: int, preface: str | None = None) -> VoiceResponse:
    event("voicemail_started", f"voicemail_started:{step}")
    response = VoiceResponse()
    if preface:
        say(response, lang, preface)
    say(response, lang, text(lang, "voicemail_prompt"))
    action = url_for("voice.voicemail", lang=lang.code)
    return record_message(
        response, lang, action, config().line.voicemail_max_s, "goodbye", transcript="voicemail"
    )
