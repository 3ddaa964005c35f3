"""Plumbing shared by every Twilio-facing blueprint: settings, TwiML responses, the call's
parameters, idempotent events, and the guarantee that a caller never hears an application error."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request, url_for
from sqlalchemy.exc import DBAPIError
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from ivr import clock
from ivr.config import hotline_config
from ivr.config.hours import OpeningHours
from ivr.config.schema import AgentLineSettings, HotlineConfig, Language
from ivr.store import calllog
from ivr.store.db import (
    close_session,
    database_breaker,
    get_session,
    opened_session,
    retrying_stale,
    unreachable,
)
from ivr.voice import spool as spool_store
from ivr.voice.prompts import say, text

log = logging.getLogger(__name__)
FALLBACK_QUEUE = "general"
SECONDS_MAX = 86_400.0  # a duration or wait Twilio reports, at most one day (larger is clamped)
LONGEST_CALL = dt.timedelta(hours=4)  # Twilio's default limit on a call's length


def config() -> HotlineConfig:
    return hotline_config()


def opening_hours() -> OpeningHours:
    hours = current_app.extensions.get("hotline.hours")
    if hours is None:
        hours = current_app.extensions["hotline.hours"] = OpeningHours.from_config(config())
    return hours


def twiml(response: VoiceResponse) -> Response:
    return Response(str(response), status=200, mimetype="text/xml")


def arg_int(name: str, default: int) -> int:
    try:
        return max(1, min(int(request.args.get(name, default)), 10_000))
    except (TypeError, ValueError):
        return default


def form_number(name: str, default: float, low: float, high: float) -> float:
    """A number Twilio sends in the form (a position, seconds waited), within ``low``..``high``;
    ``default`` if it is missing, not a number, infinite or NaN."""
    try:
        value = float(request.form.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high) if math.isfinite(value) else default


def small_number(text: str) -> int | None:
    """``text`` as a number of at most 9 ASCII digits (an id, keys pressed), else None: no
    superscripts or other scripts' digits, nothing that overflows a column."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def arg_id(name: str) -> int | None:
    """A row id from our own action URL (``cb=17``), or None if it cannot be one."""
    return small_number(request.args.get(name, ""))


def call_sid() -> str:
    sid = request.form.get("CallSid", "")
    if not sid or len(sid) > 64:
        raise BadTwilioRequest("CallSid missing or malformed")
    return sid


def caller_number(field: str = "From") -> str | None:
    """The caller's (or with ``"To"`` the called) number, or None if it cannot be stored as one."""
    return calllog.stored_number(request.form.get(field))


def requested_queue() -> str:
    """The queue named in the URL, or ``general`` for anything else."""
    queue_id = request.args.get("queue", FALLBACK_QUEUE)
    return queue_id if queue_id in config().queue_ids() else FALLBACK_QUEUE


TRANSCRIBED_LANGUAGES = frozenset({"en"})  # what Twilio's <Record transcribe> understands


def record_message(
    response: VoiceResponse,
    lang: Language,
    action: str,
    max_length_s: int,
    closing: str,
    transcript: str | None = None,
) -> VoiceResponse:
    """``<Record>`` a message (hash ends it), then the closing words and hang up. ``transcript``
    (``voicemail`` or ``comment``): Twilio is asked for its text, where it can give one (English,
    ``line.transcribe_messages``), posted to ``/voice/transcript``."""
    wanted = (
        transcript is not None
        and lang.code in TRANSCRIBED_LANGUAGES
        and config().line.transcribe_messages
    )
    response.record(
        action=action,
        method="POST",
        max_length=max_length_s,
        finish_on_key="#",
        play_beep=True,
        timeout=5,
        transcribe=True if wanted else None,
        transcribe_callback=url_for("transcripts.transcript", kind=transcript) if wanted else None,
    )
    say(response, lang, text(lang, closing))
    response.hangup()
    return response


def caller_language() -> Language:
    return config().language(request.args.get("lang"))


class BadTwilioRequest(Exception):
    """A signed request without the parameters Twilio always sends."""


def apology(lang: Language) -> VoiceResponse:
    """Said when anything failed: apologise and put the caller through to ``general``."""
    response = VoiceResponse()
    say(response, lang, text(lang, "error_apology"))
    response.enqueue(
        FALLBACK_QUEUE,
        wait_url=url_for("hold.wait", lang=lang.code, queue=FALLBACK_QUEUE),
        wait_url_method="POST",
        action=url_for("hold.queue_result", lang=lang.code, queue=FALLBACK_QUEUE),
        method="POST",
    )
    return response


Answer = tuple[VoiceResponse, dict | None]  # the TwiML, and what it did to record (see spool)


def _answered(
    view: Callable[..., VoiceResponse],
    fallback: Callable[[], Answer],
    spool: bool,
    offline: Callable[[], Answer | None] | None = None,
) -> Callable[..., Response]:
    """Commit the view's writes and return its TwiML; on any failure, log it, roll back, and
    still return valid TwiML (nobody on the line hears an application error): ``offline()``
    from the configuration in memory when the database cannot be reached and it can answer,
    else ``fallback()``. Each gives the TwiML and the decision it carries out (the queue the caller
    is put in): that decision is written at once when the database takes it, else spooled and
    written by the replay, so the log holds what the caller heard, never what the failed view
    would have done. With ``spool``, a failed request that decided nothing is spooled to be run
    again (a status callback)."""

    def attempt(*args: Any, **kwargs: Any) -> VoiceResponse:
        result = view(*args, **kwargs)
        session = opened_session()
        if session is not None and session.in_transaction():
            session.commit()
        return result

    def answer_without(exc: BaseException | None) -> Response:
        """The fallback's answer: ``exc`` failed the view (None: the database is known to be
        unavailable, so the view was not tried)."""
        down = exc is None or (isinstance(exc, DBAPIError) and unreachable(exc))
        answer = _offline_answer(offline) if down and offline is not None else None
        response, decision = answer or fallback()
        app = current_app._get_current_object()
        at = clock.now()
        if isinstance(exc, DBAPIError) and not down:
            _keep(app, at, set_aside=True)  # refused for its data: for a person to look at
        if decision is not None:
            if down or not _record_now(decision):
                _keep(app, at, decision=decision)
        elif spool and down:
            _keep(app, at)
        return twiml(response)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        breaker = database_breaker()
        try:
            if not breaker.allows():  # the database failed moments ago: no thread waits on it
                call_sid()  # a request Twilio could not have sent is still refused (400)
                return answer_without(None)
            # a connection the database server dropped (it restarted): once more on a new one
            answered = twiml(retrying_stale(lambda: attempt(*args, **kwargs), close_session))
            breaker.succeeded()
            return answered
        except HTTPException:
            raise
        except BadTwilioRequest as exc:
            return Response(f"bad request: {exc}", status=400, mimetype="text/plain")
        except Exception as exc:
            log.exception("webhook %s failed; answered with the fallback", request.path)
            _roll_back()
            if isinstance(exc, DBAPIError) and unreachable(exc):
                breaker.failed()
            return answer_without(exc)

    if spool:  # the spool runs the view itself again: past the signature check (it passed when
        # the request came) and past this fallback (a failed replay must surface)
        setattr(wrapper, spool_store.REPLAYS, view)
    return wrapper


def _roll_back() -> None:
    try:
        get_session().rollback()
    except Exception:  # noqa: BLE001 - the database may be what failed
        log.exception("rollback failed")


def _offline_answer(offline: Callable[[], Answer | None]) -> Answer | None:
    try:
        return offline()
    except Exception:  # noqa: BLE001 - then the apology
        log.exception("webhook %s could not answer without the database", request.path)
        return None


def _record_now(decision: dict) -> bool:
    """Write what the fallback did (the caller's queue entry) in a transaction of its own; False
    if the database did not take it (it is then spooled)."""
    try:
        retrying_stale(lambda: _record_and_commit(decision), close_session)
        return True
    except Exception:  # noqa: BLE001 - spooled instead
        log.exception("could not record the fallback of %s; spooled", request.path)
        _roll_back()
        return False


def _record_and_commit(decision: dict) -> None:
    spool_store.record(decision)
    get_session().commit()


def _keep(app: Any, at: Any, **options: Any) -> None:
    try:
        spool_store.keep(app, at, **options)
    except Exception:  # noqa: BLE001 - never let the spool take the caller down
        log.exception("could not spool %s", request.path)


def _caller_fallback() -> Answer:
    """The apology, and the caller put through to ``general`` (their entry recorded)."""
    try:
        lang = caller_language()
    except Exception:  # noqa: BLE001 - even the config may be what failed
        return _bare_apology(), _fallback_decision(None)
    return apology(lang), _fallback_decision(lang)


def _fallback_decision(lang: Language | None) -> dict | None:
    """The apology's decision: the caller in ``general`` (None if not even the configuration
    can say in which language: nothing is recorded then)."""
    if lang is None:
        try:
            lang = config().default_language
        except Exception:  # noqa: BLE001
            return None
    step = small_number(request.args.get("step", "")) or 0
    return {
        "record": "enqueued",
        "queue": FALLBACK_QUEUE,
        "lang": lang.code,
        "step": step,
        "reason": "fallback",
    }


def safe_twiml(
    view: Callable[..., VoiceResponse] | None = None,
    *,
    offline: Callable[[], Answer | None] | None = None,
    spool: bool = True,
) -> Any:
    """A caller's webhook (``@safe_twiml`` or ``@safe_twiml(offline=..., spool=...)``): on any
    failure the caller hears an apology and is put through to ``general``, with their entry
    there recorded (at once, or by the spool's replay). While the database cannot be reached,
    ``offline()`` answers from the configuration in memory where it can: the caller goes where
    they chose. ``spool`` False: a request with nothing to record is not kept (a hold poll)."""

    def decorate(view: Callable[..., VoiceResponse]) -> Callable[..., Response]:
        return _answered(view, _caller_fallback, spool=spool, offline=offline)

    return decorate(view) if view is not None else decorate


def twilio_callback(view: Callable[..., VoiceResponse]) -> Callable[..., Response]:
    """A status callback (Twilio reports, nobody listens): on failure an empty answer, and the
    request spooled to run again when the database is back."""
    return _answered(view, lambda: (VoiceResponse(), None), spool=True)


def agent_fallback() -> Answer:
    """What an agent hears when the agent line failed: an apology, then the agent line's start
    again (never a caller queue, nothing recorded)."""
    try:
        words = config().line.agent_line.error
    except Exception:  # noqa: BLE001 - even the config may be what failed
        words = AgentLineSettings().error
    response = VoiceResponse()
    response.say(words)
    try:
        response.redirect(url_for("agent_line.welcome"), method="POST")
    except Exception:  # noqa: BLE001 - no URL to go back to: end the agent's call
        response.hangup()
    return response, None


def agent_twiml(view: Callable[..., VoiceResponse]) -> Callable[..., Response]:
    """An agent's webhook: on any failure the agent hears an apology and goes back to the agent
    line's start. Nothing is spooled: an agent's key press replayed later means nothing."""
    return _answered(view, agent_fallback, spool=False)


def _bare_apology() -> VoiceResponse:
    response = VoiceResponse()
    response.say("We are sorry, something went wrong. Please hold.")
    response.enqueue(FALLBACK_QUEUE)
    return response


def event(name: str, key: str | None = None, **detail: Any) -> bool:
    return calllog.record_event(get_session(), call_sid(), name, clock.now(), key, **detail)
