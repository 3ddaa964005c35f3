"""Where the dispatcher moves a caller it has paired with an agent (``/voice/connect``).

The caller's call is redirected here by the REST API, out of their queue.

- A phone agent: the caller waits in a Twilio queue of that agent's own (``agent-<id>``, hold
  music, the same queue result as before) and the agent line, moved on by the caller's first
  wait there, dials it: the agent gets exactly the caller the dispatcher chose, never whoever is
  at the front of the queue.
- A browser agent (the agent desktop): the caller's call dials the agent's softphone
  (``<Dial><Client>``, ringing for ``ring_timeout_s``, with the screen-pop fields as custom
  parameters). ``/voice/connect/answered`` runs on the agent's leg when they accept;
  ``/voice/connect/result`` (the Dial's action) ends the call for the caller (the survey) or,
  if the agent did not answer, sets them not ready (``missed``) and puts the caller back.

An offer that is gone (withdrawn, or ``agent`` not given) puts the caller back into their queue,
keeping their original place.
"""

from __future__ import annotations

from flask import Blueprint, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Dial, VoiceResponse

from ivr import clock
from ivr.store import calllog
from ivr.store.agent_states import MISSED, set_state
from ivr.store.db import get_session
from ivr.store.models import AgentAccount, AgentSession, QueueEntry
from ivr.voice import dispatch
from ivr.voice.routing import enqueue_verb
from ivr.voice.signatures import twilio_signed
from ivr.voice.state import FINAL_STATUSES, bridged_times, mark_answered
from ivr.voice.webhook import agent_twiml, arg_id, config, event, safe_twiml

bp = Blueprint("connect", __name__, url_prefix="/voice")
STEP = 8  # the queue result's step after a dispatch (operator fallbacks count from here)


def agent_queue(agent_id: str) -> str:
    """The Twilio queue a phone agent's offered caller waits in."""
    return f"agent-{agent_id}"


@bp.post("/connect")
@twilio_signed
@safe_twiml
def connect() -> VoiceResponse:
    cfg = config()
    session = get_session()
    entry_id = arg_id("entry")
    entry = None if entry_id is None else session.get(QueueEntry, entry_id)
    response = VoiceResponse()
    if entry is None or entry.result is not None:
        response.hangup()  # not a caller we know to be waiting: nothing to connect
        return response
    lang = cfg.language(entry.language)
    agent_id = request.args.get("agent", "")[:32]
    if (
        agent_id
        and entry.offered_to == agent_id
        and entry.answered_at is None
        and holds_offer(session, agent_id, entry.id)
    ):
        event("offered", f"offered:{entry.id}:{agent_id}", queue=entry.queue, agent=agent_id)
        if agent_channel(session, agent_id) == "browser":
            return dial_softphone(response, entry, agent_id)
        response.enqueue(
            agent_queue(agent_id),
            wait_url=url_for(
                "hold.wait", lang=lang.code, queue=entry.queue, step=STEP, agent=agent_id
            ),
            wait_url_method="POST",
            action=url_for("hold.queue_result", lang=lang.code, queue=entry.queue, step=STEP),
            method="POST",
        )
        return response
    if (
        entry.offered_to is not None
        and entry.answered_at is None
        and not holds_offer(session, entry.offered_to, entry.id)
    ):
        entry.offered_to, entry.offered_at = None, None  # the agent let go meanwhile
    return back_to_queue(response, entry)


def holds_offer(session: Session, agent_id: str, entry_id: int) -> bool:
    """The agent is still ringing with this caller offered (not logged out meanwhile)."""
    return (
        session.scalar(
            select(AgentAccount.offer).where(
                AgentAccount.agent_id == agent_id, AgentAccount.state == "ringing"
            )
        )
        == f"entry:{entry_id}"
    )


def back_to_queue(response: VoiceResponse, entry: QueueEntry) -> VoiceResponse:
    """The caller into their queue again, keeping their original place."""
    lang = config().language(entry.language)
    event("requeued", f"requeued:{entry.id}:{clock.now().isoformat()}", queue=entry.queue)
    return enqueue_verb(response, lang, entry.queue, STEP)


def agent_channel(session: Session, agent_id: str) -> str | None:
    """How the agent takes calls now: "phone", "browser", or None if not logged in."""
    return session.scalar(
        select(AgentSession.channel)
        .where(AgentSession.agent_id == agent_id, AgentSession.logged_out_at.is_(None))
        .order_by(AgentSession.logged_in_at.desc())
        .limit(1)
    )


def dial_softphone(response: VoiceResponse, entry: QueueEntry, agent_id: str) -> VoiceResponse:
    """Ring the agent's softphone from the caller's call, with the screen-pop fields."""
    cfg = config()
    lang = cfg.language(entry.language)
    dial = Dial(
        timeout=cfg.line.agent_line.ring_timeout_s,
        action=url_for("connect.result", entry=entry.id, agent=agent_id),
        method="POST",
        answer_on_bridge=True,
    )
    client = dial.client(
        url=url_for("connect.answered", entry=entry.id, agent=agent_id), method="POST"
    )
    client.identity(agent_id)
    client.parameter(name="entry", value=str(entry.id))
    client.parameter(name="queue", value=entry.queue)
    client.parameter(name="language", value=lang.code)
    response.append(dial)
    return response


@bp.post("/connect/answered")
@twilio_signed
@agent_twiml
def answered() -> VoiceResponse:
    """Run on the agent's leg when they accept the call in the browser: the caller is answered."""
    cfg = config()
    session = get_session()
    entry_id = arg_id("entry")
    entry = None if entry_id is None else session.get(QueueEntry, entry_id)
    agent_id = request.args.get("agent", "")[:32]
    response = VoiceResponse()
    if entry is not None and entry.answered_at is None and entry.offered_to == agent_id:
        mark_answered(session, cfg, entry, agent_id, entry.call_sid, clock.now())
        calllog.record_event(
            session,
            entry.call_sid,
            "answered",
            clock.now(),
            f"answered:{entry.id}",
            queue=entry.queue,
            agent=agent_id,
        )
    return response


@bp.post("/connect/result")
@twilio_signed
@safe_twiml
def result() -> VoiceResponse:
    """The caller's dial of the softphone ended: the survey after a call, or back to the queue
    if the agent did not answer (the agent is then not ready, reason ``missed``)."""
    cfg = config()
    session = get_session()
    now = clock.now()
    entry_id = arg_id("entry")
    entry = None if entry_id is None else session.get(QueueEntry, entry_id)
    agent_id = request.args.get("agent", "")[:32]
    status = request.form.get("DialCallStatus", "failed")[:32]
    response = VoiceResponse()
    if entry is None:
        response.hangup()
        return response
    lang = cfg.language(entry.language)
    if entry.answered_at is not None:
        if entry.result is None:
            times = bridged_times(entry, now)
            entry.result, entry.ended_at = "bridged", now
            entry.wait_s, entry.handle_s = times["wait_s"], times["handle_s"]
            event(
                "queue_result",
                f"queue_result:{entry.queue}:{entry.id}",
                queue=entry.queue,
                result="bridged",
                wait_s=times["wait_s"],
            )
        set_state(session, agent_id, "wrap_up", now, entry.call_sid, only_from=("on_call",))
        response.redirect(
            url_for("survey.question_view", lang=lang.code, queue=entry.queue), method="POST"
        )
        return response
    if entry.offered_to == agent_id:
        entry.offered_to, entry.offered_at = None, None
    if request.form.get("CallStatus") in FINAL_STATUSES:
        # the caller hung up while the softphone rang: not the agent's miss, and no one waits
        set_state(session, agent_id, "available", now, only_from=("ringing",))
        if entry.result is None:
            entry.result, entry.ended_at = "hangup", now
            entry.wait_s = max((now - entry.entered_at).total_seconds(), 0.0)
            event("queue_result", f"queue_result:{entry.queue}:{entry.id}", queue=entry.queue,
                  result="hangup", wait_s=entry.wait_s)  # fmt: skip
        dispatch.run_after_response()  # the agent is free for the next caller
        response.hangup()
        return response
    event("offer_missed", f"offer_missed:{entry.id}:{agent_id}", agent=agent_id, status=status)
    set_state(session, agent_id, "not_ready", now, reason=MISSED, only_from=("ringing",))
    dispatch.run_after_response()  # the next agent
    return back_to_queue(response, entry)
