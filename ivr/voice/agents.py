"""Agents take calls by phone: a second Twilio number whose webhook is ``/voice/agent``.

The agent keys in their agent number (the digits of their id: A007 is 7) and PIN, and is then
available. Which caller they take is the dispatcher's choice (``ivr.voice.dispatch``: skill and
language, longest original wait first, callbacks included), never whoever polls first: the
dispatcher moves the caller into a Twilio queue of the agent's own and the agent's call to
``<Dial><Queue>`` it; a callback is dialled from the agent's own leg with ``<Dial><Number>``.
After each call the agent is in wrap-up for the queue's ``wrap_up_s`` (a key ends it). ``0`` is
not ready, ``1`` ready again; ``*`` logs the agent out; hanging up does too.

Wrong PINs count per agent over every call: ``lock_after_wrong_pins`` of them (line.yaml's
``agent_line``, default 5) lock the agent's phone login for ``lock_minutes`` (default 15), right PIN
or not; the lock is kept in the ``agents`` table, so every worker and every call sees it.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, request, url_for
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Dial, VoiceResponse
from werkzeug.security import check_password_hash, generate_password_hash

from ivr import clock
from ivr.config.schema import Agent, AgentLineSettings, HotlineConfig, agent_number
from ivr.store import calllog
from ivr.store.agent_states import set_state
from ivr.store.db import get_session
from ivr.store.models import AgentAccount, AgentSession, Callback, QueueEntry
from ivr.voice import dispatch
from ivr.voice.callbacks import record_attempt
from ivr.voice.connect import agent_queue
from ivr.voice.prompts import say, text
from ivr.voice.signatures import twilio_signed
from ivr.voice.state import current_entry, end_sessions_for_call, mark_answered
from ivr.voice.webhook import (
    agent_twiml,
    arg_id,
    arg_int,
    call_sid,
    config,
    event,
    safe_twiml,
    small_number,
)

log = logging.getLogger(__name__)
bp = Blueprint("agent_line", __name__, url_prefix="/voice/agent")


def agent_by_digits(cfg: HotlineConfig, digits: str) -> Agent | None:
    """The agent whose id's digits make this number (A007 <- "7", "07" or "007")."""
    wanted = small_number(digits)
    if wanted is None:
        return None
    for agent in cfg.agents:
        if agent_number(agent.id) == wanted:
            return agent
    return None


def speak(response, words: str) -> None:
    lang = config().default_language
    say(response, lang, words)


def hash_pin(pin: str) -> str:
    return generate_password_hash(pin)


def set_pin(session: Session, agent: Agent, pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("a PIN is 4 to 12 digits")
    account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == agent.id))
    if account is None:
        session.add(
            AgentAccount(
                agent_id=agent.id, name=agent.name, pin_hash=hash_pin(pin), state="offline"
            )
        )
    else:
        account.pin_hash = hash_pin(pin)
        account.name = agent.name


def open_session(session: Session, agent_id: str, sid: str) -> AgentSession | None:
    return session.scalar(
        select(AgentSession).where(
            AgentSession.agent_id == agent_id,
            AgentSession.call_sid == sid,
            AgentSession.logged_out_at.is_(None),
        )
    )


def ask(prompt: str, action: str) -> VoiceResponse:
    response = VoiceResponse()
    gather = response.gather(
        input="dtmf", finish_on_key="#", timeout=10, action=action, method="POST"
    )
    speak(gather, prompt)
    response.redirect(action, method="POST")
    return response


def goodbye(words: str) -> VoiceResponse:
    response = VoiceResponse()
    speak(response, words)
    response.hangup()
    return response


@bp.post("")
@twilio_signed
@agent_twiml
def welcome() -> VoiceResponse:
    call_sid()
    return ask(config().line.agent_line.welcome, url_for("agent_line.login", attempt=1))


@bp.post("/login")
@twilio_signed
@agent_twiml
def login() -> VoiceResponse:
    settings = config().line.agent_line
    attempt = arg_int("attempt", 1)
    agent = agent_by_digits(config(), request.form.get("Digits", "").strip())
    if agent is None:
        if attempt >= settings.max_pin_attempts:
            return goodbye(settings.wrong)
        return _prefixed(
            settings.wrong, ask(settings.welcome, url_for("agent_line.login", attempt=attempt + 1))
        )
    return ask(settings.pin, url_for("agent_line.pin", agent=agent.id, attempt=attempt))


def locked(account: AgentAccount, now: dt.datetime) -> bool:
    """The agent's phone login is locked (too many wrong PINs, not long ago)."""
    return account.locked_until is not None and now < account.locked_until


def count_wrong_pin(
    session: Session, account: AgentAccount, settings: AgentLineSettings, now: dt.datetime
) -> bool:
    """Count a wrong PIN for the agent (over every call since the last right PIN); True if it
    locks the agent's login. A lock that has run out starts the count afresh."""
    if account.locked_until is not None:
        session.execute(
            update(AgentAccount)
            .where(AgentAccount.id == account.id)
            .values(wrong_pins=0, locked_until=None)
        )
    # one UPDATE: two calls keying wrong PINs at once both count
    session.execute(
        update(AgentAccount)
        .where(AgentAccount.id == account.id)
        .values(wrong_pins=AgentAccount.wrong_pins + 1)
    )
    session.refresh(account)
    if account.wrong_pins < settings.lock_after_wrong_pins:
        return False
    account.locked_until = now + dt.timedelta(minutes=settings.lock_minutes)
    account.wrong_pins = 0
    log.warning(
        "agent line: %s's login locked until %s after %d wrong PINs",
        account.agent_id,
        account.locked_until.isoformat(),
        settings.lock_after_wrong_pins,
    )
    return True


def _prefixed(words: str, response: VoiceResponse) -> VoiceResponse:
    out = VoiceResponse()
    speak(out, words)
    for verb in response.verbs:
        out.append(verb)
    return out


@bp.post("/pin")
@twilio_signed
@agent_twiml
def pin() -> VoiceResponse:
    cfg = config()
    settings = cfg.line.agent_line
    attempt = arg_int("attempt", 1)
    agent_id = request.args.get("agent", "")
    session = get_session()
    account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == agent_id))
    entered = request.form.get("Digits", "").strip()
    now = clock.now()
    if account is not None and locked(account, now):
        event("agent_login_locked", f"agent_login_locked:{attempt}", agent=agent_id)
        return goodbye(settings.locked)
    if (
        account is None
        or not account.pin_hash
        or not entered
        or not check_password_hash(account.pin_hash, entered)
    ):
        event("agent_login_failed", f"agent_login_failed:{attempt}", agent=agent_id)
        if account is not None and count_wrong_pin(session, account, settings, now):
            return goodbye(settings.locked)
        if attempt >= settings.max_pin_attempts:
            return goodbye(settings.wrong)
        return _prefixed(
            settings.wrong, ask(settings.welcome, url_for("agent_line.login", attempt=attempt + 1))
        )
    if account.wrong_pins or account.locked_until is not None:
        account.wrong_pins = 0
        account.locked_until = None
    sid = call_sid()
    if account.state in ("ringing", "on_call") and open_session(session, agent_id, sid) is None:
        return goodbye(settings.busy_elsewhere)  # on a call on another device: not now
    if calllog.insert_ignore(
        session, AgentSession, {"agent_id": agent_id, "call_sid": sid, "logged_in_at": now}
    ):
        # the newest login wins: a session in the browser (or an earlier call) is ended
        session.execute(
            update(AgentSession)
            .where(
                AgentSession.agent_id == agent_id,
                AgentSession.logged_out_at.is_(None),
                AgentSession.call_sid != sid,
            )
            .values(logged_out_at=now)
        )
        set_state(session, agent_id, "available", now)
        event("agent_logged_in", agent=agent_id)
    response = VoiceResponse()
    speak(response, settings.logged_in.format(name=account.name or agent_id))
    response.redirect(url_for("agent_line.next_call", agent=agent_id), method="POST")
    return response


def agent_call_ended(session: Session, agent_id: str, sid: str, now: dt.datetime) -> None:
    end_sessions_for_call(session, sid, now)
    event("agent_logged_out", f"agent_logged_out:{agent_id}", agent=agent_id)


def waiting_loop(agent_id: str, words: str, timeout_s: int) -> VoiceResponse:
    """Wait on the line (the dispatcher moves the call on when it offers one): a key, or the
    timeout, comes back to :func:`next_call`."""
    response = VoiceResponse()
    action = url_for("agent_line.next_call", agent=agent_id)
    gather = response.gather(
        input="dtmf", num_digits=1, timeout=timeout_s, action=action, method="POST"
    )
    speak(gather, words)
    response.redirect(action, method="POST")
    return response


@bp.post("/next")
@twilio_signed
@agent_twiml
def next_call() -> VoiceResponse:
    """The agent line between calls: take the call the dispatcher offered, or wait for one.

    Keys: ``*`` logs out, ``0`` is not ready (the first configured reason), ``1`` ready again.
    The pairing is the dispatcher's: an agent who comes here first takes nobody it did not
    offer them."""
    cfg = config()
    settings = cfg.line.agent_line
    agent_id = request.args.get("agent", "")
    session = get_session()
    sid = call_sid()
    now = clock.now()
    if open_session(session, agent_id, sid) is None:
        return goodbye(settings.logged_out)
    digits = request.form.get("Digits", "").strip()
    agent = next((a for a in cfg.agents if a.id == agent_id), None)
    if digits == "*" or agent is None:  # logged out, or removed from agents.csv while logged in
        agent_call_ended(session, agent_id, sid, now)
        return goodbye(settings.logged_out)
    account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == agent_id))
    state = account.state
    if state == "ringing" and account.offer:
        kind, _, ident = account.offer.partition(":")
        if kind == "entry" and request.args.get("offer") == ident:
            return take_caller(session, cfg, agent, int(ident), now)
        if kind == "callback":
            return dial_callback(session, cfg, agent, int(ident), sid, now)
        return waiting_loop(agent_id, "", 2)  # the caller is on the way
    if digits == "0" and state in ("available", "wrap_up"):
        reason = settings.not_ready_reasons[0]
        set_state(session, agent_id, "not_ready", now, reason=reason)
        state = "not_ready"
    elif state == "not_ready" and digits == "1":
        state = "available"
    elif state in ("wrap_up", "on_call", "offline"):
        state = "available"  # wrap-up over (a key or its time), or a call that never ended
    if state == "not_ready":
        reason = account.state_reason or settings.not_ready_reasons[0]
        return waiting_loop(
            agent_id, settings.not_ready.format(reason=reason), settings.wait_poll_s
        )
    set_state(session, agent_id, "available", now)
    dispatch.run_after_response()  # an agent is free: is a caller waiting for them?
    return waiting_loop(agent_id, settings.waiting, settings.wait_poll_s)


def take_caller(
    session: Session, cfg: HotlineConfig, agent: Agent, entry_id: int, now: dt.datetime
) -> VoiceResponse:
    """Dial the caller the dispatcher offered, from the queue of the agent's own they wait in."""
    settings = cfg.line.agent_line
    entry = session.get(QueueEntry, entry_id)
    if (
        entry is None
        or entry.offered_to != agent.id
        or entry.answered_at is not None
        or entry.result is not None  # the caller hung up in the agent's queue
    ):
        set_state(session, agent.id, "available", now, only_from=("ringing",))
        dispatch.run_after_response()
        return waiting_loop(agent.id, settings.waiting, settings.wait_poll_s)
    default = cfg.default_language.code
    queue_name = cfg.queue(entry.queue).names[default]
    language = entry.language or default
    response = VoiceResponse()
    if language in agent.languages:
        speak(response, settings.next_caller.format(queue=queue_name))
    else:  # an overflow: the agent is told the caller's language
        speak(
            response,
            settings.next_caller_language.format(
                queue=queue_name, language=cfg.language(language).name
            ),
        )
    dial = Dial(
        action=url_for("agent_line.after", agent=agent.id, kind="queue", queue=entry.queue),
        method="POST",
    )
    dial.queue(
        agent_queue(agent.id),
        url=url_for("agent_line.bridge", agent=agent.id, queue=entry.queue),
        method="POST",
    )
    response.append(dial)
    return response


def dial_callback(
    session: Session,
    cfg: HotlineConfig,
    agent: Agent,
    callback_id: int,
    sid: str,
    now: dt.datetime,
) -> VoiceResponse:
    """Dial the customer of the callback the dispatcher gave the agent."""
    settings = cfg.line.agent_line
    item = session.get(Callback, callback_id)
    if item is None or item.status != "dialing" or item.agent_id != agent.id:
        set_state(session, agent.id, "available", now, only_from=("ringing",))
        return waiting_loop(agent.id, settings.waiting, settings.wait_poll_s)
    set_state(session, agent.id, "on_call", now, item.call_sid)  # the customer's first call
    event(
        "callback_dialled",
        f"callback_dialled:{item.id}:{item.attempts}",
        callback=item.id,
        agent=agent.id,
    )
    response = VoiceResponse()
    default = cfg.default_language.code
    speak(response, settings.callback.format(queue=cfg.queue(item.queue).names[default]))
    dial = Dial(
        action=url_for("agent_line.after", agent=agent.id, kind="callback", cb=item.id),
        method="POST",
        caller_id=cfg.line.phone_number,
    )
    dial.number(item.phone)
    response.append(dial)
    return response


@bp.post("/bridge")
@twilio_signed
@safe_twiml  # played on the caller's leg: a failure is the callers' apology, never the agent line
def bridge() -> VoiceResponse:
    """Played to the dequeued *caller* just before the agent is bridged: they are answered now."""
    cfg = config()
    session = get_session()
    sid = call_sid()
    agent_id = request.args.get("agent", "")[:32]
    queue_id = request.args.get("queue", "")
    entry = current_entry(session, sid, queue_id)
    response = VoiceResponse()
    lang = cfg.language(entry.language if entry else None)
    if entry is not None and entry.answered_at is None:
        mark_answered(session, cfg, entry, agent_id, sid, clock.now())
        event("answered", f"answered:{entry.id}", queue=queue_id, agent=agent_id)
    say(response, lang, text(lang, "agent_connecting"))
    return response


@bp.post("/after")
@twilio_signed
@agent_twiml
def after() -> VoiceResponse:
    """The agent's call ended (or a callback was not answered): record it, then the next one."""
    cfg = config()
    session = get_session()
    agent_id = request.args.get("agent", "")
    now = clock.now()
    callback = None
    if request.args.get("kind") == "callback":
        callback_id = arg_id("cb")
        callback = None if callback_id is None else session.get(Callback, callback_id)
        if callback is not None:
            status = request.form.get("DialCallStatus", "failed")[:32]
            record_attempt(session, cfg, callback, status, now)
            event(
                "callback_status",
                f"callback_status:{callback.id}:{callback.attempts}",
                callback=callback.id,
                status=status,
            )
    queue_id = request.args.get("queue") or (callback.queue if callback is not None else None)
    wrap_up_s = cfg.queue(queue_id).wrap_up_s if queue_id in cfg.queue_ids() else 0
    settings = cfg.line.agent_line
    if open_session(session, agent_id, call_sid()) is None:
        return goodbye(settings.logged_out)
    if wrap_up_s <= 0:
        set_state(session, agent_id, "available", now)
        dispatch.run_after_response()
        return waiting_loop(agent_id, settings.call_ended, settings.wait_poll_s)
    talked_to = session.scalar(
        select(AgentAccount.current_call_sid).where(AgentAccount.agent_id == agent_id)
    )
    set_state(session, agent_id, "wrap_up", now, talked_to)  # the call stays on the desk
    return waiting_loop(agent_id, f"{settings.call_ended} {settings.wrap_up}", wrap_up_s)
