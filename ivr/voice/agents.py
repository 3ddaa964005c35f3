"""Agents take calls by phone: a second Twilio number whose webhook is ``/voice/agent``.

The agent keys in their agent number (the digits of their id: A007 is 7) and PIN, and is then
connected to the next caller among the queues of their skills: the longest *original* wait first,
callbacks included. A live caller is dequeued with ``<Dial><Queue>`` (Twilio takes the front of
that queue, which is its longest waiting caller); a callback is dialled from the agent's own leg
with ``<Dial><Number>``. ``*`` logs the agent out; hanging up does too.

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
from ivr.store.db import get_session
from ivr.store.models import AgentAccount, AgentSession, Callback
from ivr.voice.callbacks import claim, record_attempt, refuse_uncallable
from ivr.voice.prompts import say, text
from ivr.voice.signatures import twilio_signed
from ivr.voice.state import (
    current_entry,
    due_agent_callbacks,
    end_sessions_for_call,
    set_state,
    waiting_front,
)
from ivr.voice.webhook import agent_twiml, arg_id, arg_int, call_sid, config, event, small_number

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
    if calllog.insert_ignore(
        session, AgentSession, {"agent_id": agent_id, "call_sid": sid, "logged_in_at": now}
    ):
        set_state(session, agent_id, "idle", now)
        event("agent_logged_in", agent=agent_id)
    response = VoiceResponse()
    speak(response, settings.logged_in.format(name=account.name or agent_id))
    response.redirect(url_for("agent_line.next_call", agent=agent_id), method="POST")
    return response


@bp.post("/next")
@twilio_signed
@agent_twiml
def next_call() -> VoiceResponse:
    """Connect the agent to the longest original wait among their queues, or wait for one."""
    cfg = config()
    settings = cfg.line.agent_line
    agent_id = request.args.get("agent", "")
    session = get_session()
    sid = call_sid()
    now = clock.now()
    if open_session(session, agent_id, sid) is None:
        return goodbye(settings.logged_out)
    if request.form.get("Digits", "").strip() == "*":
        end_sessions_for_call(session, sid, now)
        event("agent_logged_out", f"agent_logged_out:{agent_id}", agent=agent_id)
        return goodbye(settings.logged_out)
    agent = next((a for a in cfg.agents if a.id == agent_id), None)
    if agent is None:  # removed from agents.csv while logged in
        end_sessions_for_call(session, sid, now)
        event("agent_logged_out", f"agent_logged_out:{agent_id}", agent=agent_id)
        return goodbye(settings.logged_out)
    skills = set(agent.skills)
    waiting = waiting_front(session, skills)
    callbacks = [
        cb
        for cb in due_agent_callbacks(session, skills, now)
        if not refuse_uncallable(session, cfg, cb)
    ]
    default = cfg.default_language.code
    candidates = [(entry.original_entered_at, 0, "queue", entry) for entry in waiting[:1]]
    candidates += [(cb.original_entered_at, 1, "callback", cb) for cb in callbacks[:1]]
    for _when, _order, kind, item in sorted(candidates, key=lambda c: (c[0], c[1])):
        if kind == "queue":
            set_state(session, agent_id, "on_call", now)
            response = VoiceResponse()
            speak(response, settings.next_caller.format(queue=cfg.queue(item.queue).names[default]))
            dial = Dial(
                action=url_for("agent_line.after", agent=agent_id, kind="queue", queue=item.queue),
                method="POST",
            )
            dial.queue(
                item.queue,
                url=url_for("agent_line.bridge", agent=agent_id, queue=item.queue),
                method="POST",
            )
            response.append(dial)
            return response
        if claim(session, item, agent_id, now):
            set_state(session, agent_id, "on_call", now)
            event(
                "callback_dialled",
                f"callback_dialled:{item.id}:{item.attempts + 1}",
                callback=item.id,
                agent=agent_id,
            )
            response = VoiceResponse()
            speak(response, settings.callback.format(queue=cfg.queue(item.queue).names[default]))
            dial = Dial(
                action=url_for("agent_line.after", agent=agent_id, kind="callback", cb=item.id),
                method="POST",
                caller_id=cfg.line.phone_number,
            )
            dial.number(item.phone)
            response.append(dial)
            return response
    set_state(session, agent_id, "idle", now)
    response = VoiceResponse()
    action = url_for("agent_line.next_call", agent=agent_id)
    gather = response.gather(
        input="dtmf", num_digits=1, timeout=settings.wait_poll_s, action=action, method="POST"
    )
    speak(gather, settings.waiting)
    response.redirect(action, method="POST")
    return response


@bp.post("/bridge")
@twilio_signed
@agent_twiml
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
        entry.answered_at = clock.now()
        entry.agent_id = agent_id
        session.execute(
            update(AgentAccount)
            .where(AgentAccount.agent_id == agent_id)
            .values(current_call_sid=sid)
        )
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
    if open_session(session, agent_id, call_sid()) is not None:
        set_state(session, agent_id, "idle", now)
    response = VoiceResponse()
    speak(response, cfg.line.agent_line.call_ended)
    response.redirect(url_for("agent_line.next_call", agent=agent_id), method="POST")
    return response
