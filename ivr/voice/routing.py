"""Where a caller goes next, as TwiML: into a queue (with the wait and action URLs), through
to the operator, or to leave a message."""

from __future__ import annotations

import datetime as dt

from flask import url_for
from twilio.twiml.voice_response import VoiceResponse

from ivr import clock
from ivr.config.schema import Language
from ivr.store import calllog
from ivr.store.db import get_session
from ivr.store.models import QueueEntry
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
    enqueued = event("enqueued", f"enqueued:{queue_id}:{step}", queue=queue_id)
    if enqueued:  # a retried webhook opens no second entry
        calllog.insert_ignore(
            session,
            QueueEntry,
            {
                "call_sid": sid,
                "queue": queue_id,
                "language": lang.code,
                "from_number": caller_number(),
                "entered_at": at,
                "original_entered_at": original_entered_at or at,
            },
        )
    calllog.update_call(session, sid, queue=queue_id, language=lang.code)
    return enqueue_verb(response, lang, queue_id, step)


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
    return record_message(response, lang, action, config().line.voicemail_max_s, "goodbye")
