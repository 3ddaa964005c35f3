"""Callers' webhooks: from ringing, through language and menu, to the right queue.

Twilio posts to these routes and follows the TwiML they return. State that must survive between
requests travels in the action URLs Twilio is given (language, failed attempts, step number);
Twilio signs those URLs, so a caller cannot alter them. ``step`` numbers each menu rendering, so
that a retried webhook (same URL, same step) writes no event twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from ivr import clock
from ivr.config.schema import Language
from ivr.store import calllog
from ivr.store.db import get_session
from ivr.voice import callbacks
from ivr.voice.prompts import opening_phrase, say, text
from ivr.voice.routing import enqueue, enqueue_verb, to_operator, voicemail_prompt
from ivr.voice.signatures import twilio_signed
from ivr.voice.speech import hints, match_queue
from ivr.voice.state import FINAL_STATUSES, end_sessions_for_call
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
    opening_hours,
    safe_twiml,
    twilio_callback,
)

bp = Blueprint("voice", __name__, url_prefix="/voice")


# --------------------------------------------------------------------------- TwiML builders


def language_menu(attempt: int, step: int, preface: str | None = None) -> VoiceResponse:
    """Offer every language, each announced in its own language and voice."""
    cfg = config()
    default = cfg.default_language
    response = VoiceResponse()
    if preface:
        say(response, default, preface)
    action = url_for("voice.language", attempt=attempt, step=step)
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        action=action,
        method="POST",
        timeout=cfg.line.menu.gather_timeout_s,
    )
    if attempt == 1:
        say(gather, default, text(default, "welcome", line_name=cfg.line.name))
    for lang in cfg.languages:
        say(gather, lang, text(lang, "language_offer", key=lang.key))
    response.redirect(action, method="POST")
    return response


def main_menu(
    lang: Language, attempt: int, step: int, preface: str | None = None, welcome_back: bool = False
) -> VoiceResponse:
    cfg = config()
    menu = cfg.line.menu
    response = VoiceResponse()
    if preface:
        say(response, lang, preface)
    action = url_for("voice.menu", lang=lang.code, attempt=attempt, step=step)
    options: dict[str, Any] = {
        "input": "dtmf speech" if menu.speech else "dtmf",
        "num_digits": 1,
        "action": action,
        "method": "POST",
        "timeout": menu.gather_timeout_s,
    }
    if menu.speech:
        options.update(language=lang.say_language, hints=hints(lang), speech_timeout="auto")
    gather = response.gather(**options)
    if welcome_back:
        say(
            gather,
            lang,
            text(lang, "welcome_back", line_name=cfg.line.name, key=menu.change_language_key),
        )
    for queue in cfg.queues:
        say(gather, lang, text(lang, "menu_option", queue=queue.names[lang.code], key=queue.key))
    say(gather, lang, text(lang, "operator_option", key=menu.operator_key))
    say(gather, lang, text(lang, "repeat_option", key=menu.repeat_key))
    if menu.speech:
        say(gather, lang, text(lang, "menu_speech_hint"))
    response.redirect(action, method="POST")
    return response


def closed_menu(
    lang: Language, at: dt.datetime, attempt: int, step: int, preface: str | None = None
) -> VoiceResponse:
    cfg = config()
    hours = opening_hours()
    response = VoiceResponse()
    if preface:
        say(response, lang, preface)
    if attempt == 1:
        opening = hours.next_opening(at)
        reason = hours.closure_reason(at.astimezone(cfg.tz).date()) or "outside_hours"
        event("closed", reason=reason, next_opening=opening.isoformat() if opening else None)
        if opening is not None:
            say(response, lang, text(lang, "closed", when=opening_phrase(lang, opening, at)))
    action = url_for("voice.closed", lang=lang.code, attempt=attempt, step=step)
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        action=action,
        method="POST",
        timeout=cfg.line.menu.gather_timeout_s,
    )
    offer = callbacks.callable_number(cfg, caller_number())  # the callback, pressing 2
    say(gather, lang, text(lang, "closed_options" if offer else "closed_options_no_callback"))
    response.redirect(action, method="POST")
    return response


def after_language(lang: Language, step: int, remembered: bool = False) -> VoiceResponse:
    at = clock.now()
    always_open = current_app.config.get(
        "ALWAYS_OPEN"
    )  # the demo's setting: callers reach queues at night
    if not always_open and not opening_hours().is_open(at):
        return closed_menu(lang, at, attempt=1, step=step)
    return main_menu(lang, attempt=1, step=step, welcome_back=remembered)


# --------------------------------------------------------------------------- routes


def ask_again(
    stage: str,
    lang: Language,
    step: int,
    attempt: int,
    digits: str,
    speech: str | None = None,
    *,
    again: Callable[[str], VoiceResponse],
    give_up: Callable[[], VoiceResponse],
) -> VoiceResponse:
    """Keys or words that chose nothing: record them (once per step), then ask ``again`` with
    the reason said first, or after the line's last attempt ``give_up``."""
    reason = "invalid_input" if (digits or speech) else "no_input"
    detail: dict[str, Any] = {"stage": stage, "reason": reason, "digits": digits[:32] or None}
    if speech is not None:
        detail["speech"] = speech[:200] or None
    event("invalid_input", f"invalid_input:{stage}:{step}", **detail)
    if attempt >= config().line.menu.max_attempts:
        return give_up()
    return again(text(lang, reason))


@bp.post("/incoming")
@twilio_signed
@safe_twiml
def incoming() -> VoiceResponse:
    """The number's Voice webhook: a new call rings."""
    cfg = config()
    session = get_session()
    at = clock.now()
    calllog.ensure_call(session, request.form, at)
    event("call_started", **{"from": caller_number(), "to": caller_number("To")})
    known = calllog.remembered_language(session, caller_number())
    if known in {lang.code for lang in cfg.languages}:
        lang = cfg.language(known)
        event("language_chosen", "language_chosen:0", language=lang.code, how="remembered")
        calllog.update_call(session, call_sid(), language=lang.code)
        return after_language(lang, step=1, remembered=True)
    return language_menu(attempt=1, step=1)


@bp.post("/language")
@twilio_signed
@safe_twiml
def language() -> VoiceResponse:
    cfg = config()
    attempt, step = arg_int("attempt", 1), arg_int("step", 1)
    digits = request.form.get("Digits", "").strip()
    chosen = next((lang for lang in cfg.languages if lang.key == digits), None)
    if chosen is not None:
        session = get_session()
        event("language_chosen", f"language_chosen:{step}", language=chosen.code, how="dtmf")
        calllog.remember_language(session, caller_number(), chosen.code, clock.now())
        calllog.update_call(session, call_sid(), language=chosen.code)
        return after_language(chosen, step=step + 1)
    default = cfg.default_language
    return ask_again(
        "language",
        default,
        step,
        attempt,
        digits,
        again=lambda reason: language_menu(attempt + 1, step + 1, preface=reason),
        give_up=lambda: to_operator(default, step + 1, reason="language"),
    )


def menu_choice(lang: Language) -> tuple[str | None, str | None, str | None]:
    """The queue the caller chose in the main menu, how (``dtmf`` or ``speech``) and the option:
    (None, ...) when the keys or words name no queue."""
    keys = config().line.menu
    digits = request.form.get("Digits", "").strip()
    speech = request.form.get("SpeechResult", "").strip()
    try:
        confidence = float(request.form.get("Confidence", "1"))
    except ValueError:
        confidence = 0.0
    if digits == keys.operator_key:
        return FALLBACK_QUEUE, "dtmf", "operator"
    if digits:
        queue_id = next((q.id for q in config().queues if q.key == digits), None)
        return queue_id, "dtmf", queue_id
    if speech and confidence >= keys.speech_min_confidence:
        queue_id = match_queue(lang, speech)
        return queue_id, "speech", queue_id
    return None, None, None


def menu_without_database() -> Answer | None:
    """The menu while the database is down: the caller still goes to the queue they chose (the
    spool records the choice and their entry when the database is back; a complaint gets no
    reference, since none could be given); None if they chose none."""
    lang = caller_language()
    queue_id, how, option = menu_choice(lang)
    if queue_id is None:
        return None
    step = arg_int("step", 1)
    response = VoiceResponse()
    say(response, lang, text(lang, "connecting", queue=config().queue(queue_id).names[lang.code]))
    decision = {
        "record": "enqueued",
        "queue": queue_id,
        "lang": lang.code,
        "step": step,
        "reason": "menu_choice",
        "how": how,
        "option": option,
    }
    return enqueue_verb(response, lang, queue_id, step), decision


@bp.post("/menu")
@twilio_signed
@safe_twiml(offline=menu_without_database)
def menu() -> VoiceResponse:
    cfg = config()
    lang = caller_language()
    keys = cfg.line.menu
    attempt, step = arg_int("attempt", 1), arg_int("step", 1)
    digits = request.form.get("Digits", "").strip()
    speech = request.form.get("SpeechResult", "").strip()

    if digits == keys.repeat_key:
        event("menu_repeat", f"menu_repeat:{step}")
        return main_menu(lang, attempt, step + 1)
    if digits == keys.change_language_key:
        event("language_change", f"language_change:{step}", previous=lang.code)
        return language_menu(attempt=1, step=step + 1)

    queue_id, how, option = menu_choice(lang)
    if queue_id is not None:
        event(
            "menu_choice",
            f"menu_choice:{step}",
            queue=queue_id,
            how=how,
            option=option,
            speech=speech[:200] or None,
        )
        return enqueue(VoiceResponse(), lang, queue_id, step)

    return ask_again(
        "menu",
        lang,
        step,
        attempt,
        digits,
        speech,
        again=lambda reason: main_menu(lang, attempt + 1, step + 1, preface=reason),
        give_up=lambda: to_operator(lang, step + 1, reason="menu"),
    )


@bp.post("/closed")
@twilio_signed
@safe_twiml
def closed() -> VoiceResponse:
    """Outside hours: leave a voicemail (1) or book a callback for opening time (2). A number
    the line may not call back is not offered the callback; asking for it anyway, the caller
    hears why and may leave a message instead."""
    lang = caller_language()
    attempt, step = arg_int("attempt", 1), arg_int("step", 1)
    digits = request.form.get("Digits", "").strip()
    phone = caller_number()
    if digits == "2" and not callbacks.callable_number(config(), phone):
        event("callback_refused", f"callback_refused:{step}", reason="closed")
        return voicemail_prompt(lang, step, preface=text(lang, "callback_number_refused"))
    if digits == "2":
        at = clock.now()
        opening = opening_hours().next_opening(at)
        if opening is not None:
            sid = call_sid()
            callbacks.book(get_session(), sid, phone, lang.code, FALLBACK_QUEUE, at, at, opening)
            event("callback_requested", reason="closed", due_at=opening.isoformat())
            response = VoiceResponse()
            say(
                response,
                lang,
                text(lang, "callback_booked", when=opening_phrase(lang, opening, at)),
            )
            response.hangup()
            return response
    if digits == "1":
        return voicemail_prompt(lang, step)
    return ask_again(
        "closed",
        lang,
        step,
        attempt,
        digits,
        again=lambda reason: closed_menu(lang, clock.now(), attempt + 1, step + 1, preface=reason),
        # a caller who cannot or does not choose is not hung up on: they may leave a message
        give_up=lambda: voicemail_prompt(lang, step),
    )


@bp.post("/voicemail")
@twilio_signed
@safe_twiml
def voicemail() -> VoiceResponse:
    lang = caller_language()
    url = request.form.get("RecordingUrl", "")[:2000] or None
    duration = int(form_number("RecordingDuration", 0, 0, SECONDS_MAX))
    if url:
        calllog.update_call(
            get_session(), call_sid(), voicemail_url=url, voicemail_duration_s=duration
        )
        event("voicemail", url=url, duration_s=duration)
    response = VoiceResponse()
    say(response, lang, text(lang, "voicemail_thanks"))
    response.hangup()
    return response


@bp.post("/status")
@twilio_signed
@twilio_callback
def status() -> VoiceResponse:
    """The number's status callback: final call status and duration."""
    session = get_session()
    at = clock.now()
    calllog.ensure_call(session, request.form, at)
    state = request.form.get("CallStatus", "")[:32]
    duration = int(form_number("CallDuration", 0, 0, SECONDS_MAX))
    if state in FINAL_STATUSES:
        if event("call_completed", status=state, duration_s=duration):
            calllog.update_call(session, call_sid(), status=state, ended_at=at, duration_s=duration)

        end_sessions_for_call(session, call_sid(), at)
    else:
        event("call_status", f"call_status:{state}", status=state)
    return VoiceResponse()
