"""Calls whose final status never reached us, asked of Twilio.

Twilio posts a call's final status to its status callback once. If that request is lost (a
network fault, our server restarting, a worker killed mid-request), an agent whose own call has
ended stays logged in (the dashboard shows them, hold estimates count them), and a callback whose
call has ended stays "dialing" until ``release_stale_dials`` gives up on it hours later. A caller
who hung up while both their queue result and their status callback were lost (our server was
down for that minute) stays "waiting" on the dashboard, and in front of agents, until
``close_orphan_waits`` gives up on the entry hours later; once the call's final status is stored,
that job closes the entry within a minute or two.

The ``check_lost_calls`` job asks Twilio's REST API about those calls once they are older than
``CHECK_AFTER`` and applies a final status as the status callback would have: the same events
with the same keys, so a status callback that still comes changes nothing, and a call this job
has ended is not ended twice. Without Twilio credentials (the demo) it asks nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from ivr import clock
from ivr.config import hotline_config
from ivr.store import calllog
from ivr.store.db import session_scope
from ivr.store.models import AgentSession, Callback, CallEvent, QueueEntry
from ivr.voice.callbacks import record_attempt, status_event_key
from ivr.voice.state import FINAL_STATUS_EVENTS, FINAL_STATUSES, end_sessions_for_call
from ivr.voice.twilio_rest import rest_client
from ivr.voice.webhook import SECONDS_MAX

log = logging.getLogger(__name__)
CHECK_AFTER = dt.timedelta(minutes=10)  # a younger call is left to its status callback
WAITS_ASKED = 200  # waiting callers' calls asked about per run at most (the longest waits)


@dataclass(frozen=True)
class CallState:
    """What Twilio says about one call."""

    status: str
    ended_at: dt.datetime | None
    duration_s: int


def ask_twilio(client: Client, sid: str) -> CallState | None:
    """Twilio's view of the call ``sid``, or None if Twilio would not tell (not found, refused;
    logged). Raises ``OSError`` if Twilio could not be reached (or timed out)."""
    try:
        call = client.calls(sid).fetch()
    except TwilioException as exc:
        log.warning("could not ask Twilio about call %s: %s", sid, exc)
        return None
    try:
        duration = int(min(max(float(call.duration or 0), 0.0), SECONDS_MAX))
    except (TypeError, ValueError):
        duration = 0
    ended = call.end_time if isinstance(call.end_time, dt.datetime) else None
    return CallState(str(call.status or "")[:32], ended, duration)


def _store_final_status(session: Session, sid: str, state: CallState, at: dt.datetime) -> bool:
    """The call's ``call_completed`` event and figures, as the number's status callback stores
    them (same event key); False if they were stored already."""
    new = calllog.record_event(
        session,
        sid,
        "call_completed",
        at,
        status=state.status,
        duration_s=state.duration_s,
        source="twilio_api",
    )
    if new:
        calllog.update_call(
            session, sid, status=state.status, ended_at=at, duration_s=state.duration_s
        )
    return bool(new)


def _end_agent_call(app: Flask, sid: str, state: CallState, now: dt.datetime) -> int | None:
    """The agent's own call ``sid`` is over: as its status callback would (the call's event and
    figures, the agent logged out at its end); a callback the agent was dialling on that call
    counts as an attempt with outcome ``unknown`` (its dial action never came either). Returns
    how many such callbacks, or None if the call was ended meanwhile."""
    with session_scope(app) as session:
        login = session.execute(
            select(AgentSession.agent_id, AgentSession.logged_in_at).where(
                AgentSession.call_sid == sid, AgentSession.logged_out_at.is_(None)
            )
        ).first()
        if login is None:
            return None
        agent_id, opened = login
        at = min(max(state.ended_at or now, opened), now)  # within the session, never ahead
        _store_final_status(session, sid, state, at)
        end_sessions_for_call(session, sid, at)
        dialling = session.scalars(
            select(Callback).where(
                Callback.status == "dialing",
                Callback.agent_id == agent_id,
                Callback.dial_call_sid.is_(None),  # dialled on the agent's call, not by us
            )
        ).all()
        for callback in dialling:
            record_attempt(session, hotline_config(app), callback, "unknown", now)
    return len(dialling)


def _end_caller_call(app: Flask, sid: str, state: CallState, now: dt.datetime) -> bool:
    """A waiting caller's call ``sid`` is over: store its final status as the status callback
    would (``close_orphan_waits`` then closes the entry at the call's end). False if the status
    came meanwhile."""
    with session_scope(app) as session:
        return _store_final_status(session, sid, state, min(state.ended_at or now, now))


def _end_dial(app: Flask, callback_id: int, sid: str, state: CallState, now: dt.datetime) -> bool:
    """The callback's call ``sid`` is over: as its status callback would. False if its outcome
    came meanwhile."""
    with session_scope(app) as session:
        callback = session.get(Callback, callback_id)
        if callback is None or callback.status != "dialing" or callback.dial_call_sid != sid:
            return False
        if calllog.record_event(
            session,
            sid,
            "callback_status",
            now,
            status_event_key(callback),
            callback=callback.id,
            status=state.status,
            source="twilio_api",
        ):
            record_attempt(session, hotline_config(app), callback, state.status, now)
    return True


def check_lost_calls(app: Flask, now: dt.datetime | None = None) -> str:
    """The scheduled job: ask Twilio about agents' calls, callback dials and waiting callers'
    calls older than ``CHECK_AFTER`` that have no final status yet, and end those Twilio says are
    over."""
    client = rest_client(app)
    if client is None:
        return "no Twilio credentials: nothing asked"
    with app.app_context():
        now = now or clock.now()
    before = now - CHECK_AFTER
    with session_scope(app) as session:
        agent_calls = session.scalars(
            select(AgentSession.call_sid).where(
                AgentSession.logged_out_at.is_(None), AgentSession.logged_in_at < before
            )
        ).all()
        dials = session.execute(
            select(Callback.id, Callback.dial_call_sid).where(
                Callback.status == "dialing",
                Callback.dial_call_sid.is_not(None),
                Callback.last_attempt_at < before,
            )
        ).all()
        ended = select(CallEvent.call_sid).where(CallEvent.event.in_(FINAL_STATUS_EVENTS))
        waits = session.scalars(
            select(QueueEntry.call_sid)
            .where(
                QueueEntry.result.is_(None),
                QueueEntry.ended_at.is_(None),
                QueueEntry.entered_at < before,
                QueueEntry.call_sid.not_in(ended),
                QueueEntry.call_sid.not_in([sid for _id, sid in dials]),
            )
            .group_by(QueueEntry.call_sid)
            .order_by(func.min(QueueEntry.entered_at))
            .limit(WAITS_ASKED)
        ).all()
    calls: list[tuple[str, str | int]] = (  # the call, and "agent", "caller" or a callback id
        [(sid, "agent") for sid in agent_calls]
        + [(sid, callback_id) for callback_id, sid in dials]
        + [(sid, "caller") for sid in waits]
    )
    agents = callbacks = callers = unanswered = 0
    unreached, asked = "", len(calls)
    for number, (sid, kind) in enumerate(calls):
        try:
            state = ask_twilio(client, sid)
        except OSError as exc:  # the rest would wait for the same timeout: left to the next run
            log.warning("Twilio could not be reached: %s", exc)
            asked = number
            unreached = f"; Twilio could not be reached: {len(calls) - asked} call(s) not asked"
            break
        if state is None:
            unanswered += 1
        elif state.status not in FINAL_STATUSES:
            continue
        elif kind == "caller":
            if _end_caller_call(app, sid, state, now):
                log.warning("caller's call %s had ended (%s) in a queue", sid, state.status)
                callers += 1
        elif kind == "agent":
            released = _end_agent_call(app, sid, state, now)
            if released is not None:
                log.warning(
                    "agent call %s had ended (%s); its status never came", sid, state.status
                )
                agents += 1
                callbacks += released
        elif _end_dial(app, kind, sid, state, now):
            log.warning("callback %s: its call had ended (%s)", kind, state.status)
            callbacks += 1
    detail = (
        f"asked Twilio about {asked} call(s): {agents} agent(s) logged out, {callbacks}"
        f" callback dial(s) ended, {callers} waiting caller(s)' call(s) ended"
    )
    return detail + (f"; {unanswered} could not be asked" if unanswered else "") + unreached
