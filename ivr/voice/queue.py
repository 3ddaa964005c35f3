"""The wait in queue (the Enqueue ``waitUrl``): position, the estimate, hold music and the
callback offer; the callback key; and how the wait ended (the Enqueue ``action``)."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from sqlalchemy import select
from twilio.twiml.voice_response import VoiceResponse

from ivr import clock
from ivr.config.schema import Language
from ivr.store import calllog
from ivr.store.db import get_session
from ivr.store.models import AgentAccount, AgentSession, QueueEntry
from ivr.voice import callbacks, dispatch, spool
from ivr.voice.prompts import minutes_phrase, say, text
from ivr.voice.routing import to_operator, voicemail_prompt
from ivr.voice.signatures import twilio_signed
from ivr.voice.state import (
    bridged_times,
    current_entry,
    entry_state,
    estimate_wait_s,
    line_now,
    rounded_minutes,
    speakers_on_line,
)
from ivr.voice.webhook import (
    FALLBACK_QUEUE,
    SECONDS_MAX,
    Answer,
    arg_int,
    call_sid,
    caller_language,
    caller_number,
    config,
    event,
    form_number,
    requested_queue,
    safe_twiml,
)

bp = Blueprint("hold", __name__, url_prefix="/voice")
POSITION_MAX = 100_000  # a queue position Twilio sends, at most (anything larger is clamped)


def hold_music() -> Answer:
    """The hold loop while the database is down: the caller keeps their place, with music."""
    response = VoiceResponse()
    response.play(config().line.hold.music_url)
    return response, None


@bp.post("/wait")
@twilio_signed
@safe_twiml(offline=hold_music, spool=False)
def wait() -> VoiceResponse:
    """The Enqueue ``waitUrl``: Twilio requests it again each time the document finishes."""
    cfg = config()
    lang = caller_language()
    queue_id = requested_queue()
    if request.args.get("agent"):
        return wait_for_agent(request.args["agent"][:32], queue_id)
    session = get_session()
    now = clock.now()
    response = VoiceResponse()
    position = int(form_number("QueuePosition", 1, 1, POSITION_MAX))
    entry = entry_state(session, call_sid(), queue_id)
    due = (
        entry is None
        or entry.last_announced_at is None
        or (now - entry.last_announced_at).total_seconds() >= cfg.line.hold.announce_every_s
    )
    waited = (now - entry.original_entered_at).total_seconds() if entry is not None else 0.0
    estimate = estimate_wait_s(session, cfg, queue_id, position, now, lang.code, waited)
    if line_now(session, now).working:  # nobody working, nobody free: an agent's start dispatches
        dispatch.run_after_response(throttled=True)  # a caller waits: is an agent free for them?
    if estimate is None:
        # nobody logged in with the skill: Twilio's own average is better than nothing
        average = form_number("AvgQueueTime", 0.0, 0.0, SECONDS_MAX)
        estimate = average * position if average > 0 else None
    if estimate is not None and entry is not None and entry.last_estimate_s is not None:
        grew = entry.last_position is not None and position > entry.last_position
        if not grew:
            estimate = min(estimate, entry.last_estimate_s)
    if due:
        if not speakers_on_line(session, cfg, queue_id, lang.code, now):
            say(response, lang, text(lang, "hold_no_language_agent"))
        say(response, lang, text(lang, "hold_position", position=position))
        if estimate is not None:
            minutes = rounded_minutes(estimate)
            words = (
                text(lang, "hold_wait_short")
                if minutes == 0
                else text(lang, "hold_wait", minutes=minutes_phrase(lang, minutes))
            )
            say(response, lang, words)
        if entry is not None:
            calllog.update_row(
                session,
                QueueEntry.__table__,
                entry,
                last_announced_at=now,
                last_estimate_s=estimate,
                last_position=position,
            )
    queue = cfg.queue(queue_id)
    offer = (
        estimate is not None
        and estimate > queue.max_wait_before_callback_s
        and callbacks.callable_number(cfg, caller_number())
    )
    if offer:
        gather = response.gather(
            input="dtmf",
            num_digits=1,
            timeout=1,
            action=url_for("hold.hold_key", lang=lang.code, queue=queue_id),
            method="POST",
        )
        say(gather, lang, text(lang, "callback_offer", key=cfg.line.hold.callback_key))
        gather.play(cfg.line.hold.music_url)
    else:
        response.play(cfg.line.hold.music_url)
    return response


def wait_for_agent(agent_id: str, queue_id: str) -> VoiceResponse:
    """The hold loop of a caller the dispatcher moved to a phone agent's own queue: music, and
    (once) the agent line moved on to dial this very caller."""
    cfg = config()
    session = get_session()
    entry = entry_state(session, call_sid(), queue_id)
    if entry is not None and entry.answered_at is None and entry.offered_to == agent_id:
        offer = session.execute(
            select(AgentAccount.state, AgentAccount.offer, AgentSession.call_sid)
            .join(AgentSession, AgentSession.agent_id == AgentAccount.agent_id)
            .where(
                AgentAccount.agent_id == agent_id,
                AgentSession.logged_out_at.is_(None),
                AgentSession.channel == "phone",
            )
        ).first()
        if offer is not None and offer.state == "ringing" and offer.offer == f"entry:{entry.id}":
            dispatch.call_agent_after_response(offer.call_sid, agent_id, entry.id)
    response = VoiceResponse()
    response.play(cfg.line.hold.music_url)
    return response


@bp.post("/hold-key")
@twilio_signed
@safe_twiml
def hold_key() -> VoiceResponse:
    """A key pressed during hold music: the callback key leaves the queue, keeping the place; a
    caller the line may not call back hears why and stays in the queue."""
    cfg = config()
    lang = caller_language()
    queue_id = request.args.get("queue", FALLBACK_QUEUE)
    response = VoiceResponse()
    phone = caller_number()
    if (
        request.form.get("Digits", "").strip() != cfg.line.hold.callback_key
        or queue_id not in cfg.queue_ids()
    ):
        response.play(cfg.line.hold.music_url)
        return response
    if not callbacks.callable_number(cfg, phone):
        event("callback_refused", reason="long_wait", queue=queue_id)
        say(response, lang, text(lang, "callback_number_refused"))
        response.play(cfg.line.hold.music_url)
        return response
    session = get_session()
    sid = call_sid()
    now = clock.now()
    entry = current_entry(session, sid, queue_id)
    original = entry.original_entered_at if entry is not None else now
    callbacks.book(session, sid, phone, lang.code, queue_id, original, now, now, dial_by="agent")
    event("callback_requested", reason="long_wait", queue=queue_id)
    response.leave()
    return response


def after_the_wait(lang: Language, queue_id: str, result: str) -> VoiceResponse | None:
    """What the caller hears when the wait ended: the survey after an agent, the callback
    confirmed, or goodbye; None when the queue failed them (the caller is routed on)."""
    response = VoiceResponse()
    if result == "redirected":
        return response  # the dispatcher moved the caller on: Twilio runs that TwiML instead
    if result == "bridged":
        response.redirect(
            url_for("survey.question_view", lang=lang.code, queue=queue_id), method="POST"
        )
    elif result == "leave":
        say(response, lang, text(lang, "callback_confirmed"))
        response.hangup()
    elif result == "hangup":
        response.hangup()
    else:
        return None
    return response


def queue_result_without_database() -> Answer | None:
    """How the wait ended, while the database is down (the spool records it later): the survey
    after an agent, the callback confirmed, or goodbye; None for a failed queue."""
    decision = queue_result_decision()
    response = after_the_wait(caller_language(), decision["queue"], decision["result"])
    return None if response is None else (response, decision)


def queue_result_decision() -> dict:
    """How Twilio says the caller's wait ended, as the decision the queue result records."""
    return {
        "record": "queue_result",
        "queue": requested_queue(),
        "result": request.form.get("QueueResult", "unknown")[:32],
        "wait_s": form_number("QueueTime", 0.0, 0.0, SECONDS_MAX),
    }


@spool.recorder("queue_result")
def record_queue_result(decision: dict) -> None:
    """How the caller's wait in a queue ended: the event, and their entry's result, end and times
    (once: a retried webhook changes nothing)."""
    queue_id, result, waited = decision["queue"], decision["result"], decision["wait_s"]
    session = get_session()
    now = clock.now()
    entry = entry_state(session, call_sid(), queue_id)
    key = f"queue_result:{queue_id}:{entry.id if entry else 0}"
    if result == "redirected":  # one wait may be moved on more than once, then end for good
        key += f":redirected:{now.isoformat()}"
    new = event("queue_result", key, queue=queue_id, result=result, wait_s=waited)
    if entry is not None and result != "redirected":  # moved on by the dispatcher: still open
        if result == "bridged" and entry.answered_at is not None:
            times = bridged_times(entry, now)
        else:
            times = {"wait_s": waited}
        calllog.update_row(
            session, QueueEntry.__table__, entry, new, result=result, ended_at=now, **times
        )


@bp.post("/queue-result")
@twilio_signed
@safe_twiml(offline=queue_result_without_database)
def queue_result() -> VoiceResponse:
    """The Enqueue ``action``: how the wait ended, and what the caller hears next."""
    lang = caller_language()
    decision = queue_result_decision()
    queue_id, result = decision["queue"], decision["result"]
    record_queue_result(decision)
    response = after_the_wait(lang, queue_id, result)
    if response is None:
        # queue-full, error, system-error...: try the operator queue, else take a message.
        step = arg_int("step", 1) + 1
        return (
            to_operator(lang, step, reason=f"queue_{result}")
            if queue_id != FALLBACK_QUEUE
            else voicemail_prompt(lang, step)
        )
    return response
