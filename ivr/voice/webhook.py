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
from ivr.store.db import close_session, get_session, opened_session, retrying_stale, unreachable
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


def record_message(
    response: VoiceResponse, lang: Language, action: str, max_length_s: int, closing: str
) -> VoiceResponse:
    """``<Record>`` a message (hash ends it), then the closing words and hang up."""
    response.record(
        action=action,
        method="POST",
        max_length=max_length_s,
        finish_on_key="#",
        play_beep=True,
        timeout=5,
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


def _answered(
    view: Callable[..., VoiceResponse],
    fallback: Callable[[], VoiceResponse],
    spool: bool,
    offline: Callable[[], VoiceResponse | None] | None = None,
) -> Callable[..., Response]:
    """Commit the view's writes and return its TwiML; on any failure, log it, roll back, and
    still return valid TwiML: ``fallback()`` (nobody on the line hears an application error).
    With ``spool``, a request that failed because the database is down is kept for replay;
    ``offline()`` then answers from the configuration in memory where it can (None: it cannot)."""

    def attempt(*args: Any, **kwargs: Any) -> VoiceResponse:
        result = view(*args, **kwargs)
        session = opened_session()
        if session is not None and session.in_transaction():
            session.commit()
        return result

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            # a connection the database server dropped (it restarted): once more on a new one
            return twiml(retrying_stale(lambda: attempt(*args, **kwargs), close_session))
        except HTTPException:
            raise
        except BadTwilioRequest as exc:
            return Response(f"bad request: {exc}", status=400, mimetype="text/plain")
        except Exception as exc:
            log.exception("webhook %s failed; answered with the fallback", request.path)
            try:
                get_session().rollback()
            except Exception:  # noqa: BLE001 - the database may be what failed
                log.exception("rollback failed")
            if spool and isinstance(exc, DBAPIError):
                try:  # the database is down: keep the request, replay it when it is back; if
                    # it refused the data, keep it aside (it would be refused every time)
                    spool_store.keep(
                        current_app._get_current_object(),
                        clock.now(),
                        set_aside=not unreachable(exc),
                    )
                except Exception:  # noqa: BLE001 - never let the spool take the caller down
                    log.exception("could not spool %s", request.path)
            if offline is not None and isinstance(exc, DBAPIError) and unreachable(exc):
                try:
                    answer = offline()
                except Exception:  # noqa: BLE001 - then the apology
                    log.exception("webhook %s could not answer without the database", request.path)
                    answer = None
                if answer is not None:
                    return twiml(answer)
            return twiml(fallback())

    if spool:  # the spool replays the view itself: past the signature check (it passed when
        # the request came) and past this fallback (a failed replay must surface)
        setattr(wrapper, spool_store.REPLAYS, view)
    return wrapper


def _caller_fallback() -> VoiceResponse:
    try:
        lang = caller_language()
    except Exception:  # noqa: BLE001 - even the config may be what failed
        return _bare_apology()
    return apology(lang)


def safe_twiml(
    view: Callable[..., VoiceResponse] | None = None,
    *,
    offline: Callable[[], VoiceResponse | None] | None = None,
    spool: bool = True,
) -> Any:
    """A caller's webhook (``@safe_twiml`` or ``@safe_twiml(offline=..., spool=...)``): on any
    failure the caller hears an apology and is put through to ``general``. A request the database
    could not take is spooled for replay (unless ``spool`` is False: a hold poll replayed later
    means nothing), and answered by ``offline()`` from the configuration in memory where it can:
    the caller goes where they chose while the database is down."""

    def decorate(view: Callable[..., VoiceResponse]) -> Callable[..., Response]:
        return _answered(view, _caller_fallback, spool=spool, offline=offline)

    return decorate(view) if view is not None else decorate


def agent_fallback() -> VoiceResponse:
    """What an agent hears when the agent line failed: an apology, then the agent line's start
    again (never a caller queue)."""
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
    return response


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
