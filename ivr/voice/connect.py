"""Where the dispatcher moves a caller it has paired with an agent (``/voice/connect``).

The caller's call is redirected here by the REST API, out of their queue. For a phone agent the
caller waits in a Twilio queue of that agent's own (``agent-<id>``, hold music, the same queue
result as before) and the agent line, moved on by the caller's first wait there, dials it: the
agent gets exactly the caller the dispatcher chose, never whoever is at the front of the queue.
An offer that is gone (withdrawn, or ``agent`` not given) puts the caller back into their queue,
keeping their original place.
"""

from __future__ import annotations

from flask import Blueprint, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from ivr import clock
from ivr.store.db import get_session
from ivr.store.models import QueueEntry
from ivr.voice.routing import enqueue_verb
from ivr.voice.signatures import twilio_signed
from ivr.voice.webhook import arg_id, config, event, safe_twiml

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
    if agent_id and entry.offered_to == agent_id and entry.answered_at is None:
        event("offered", f"offered:{entry.id}:{agent_id}", queue=entry.queue, agent=agent_id)
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
    event("requeued", f"requeued:{entry.id}:{clock.now().isoformat()}", queue=entry.queue)
    return enqueue_verb(response, lang, entry.queue, STEP)
