"""Agents' live states as JSON: ``GET /api/agents``, and ``POST /api/agents/<id>/state`` to set
an agent ready or not ready (a supervisor's token or login; the agent desktop uses the same).

Each agent of ``agents.csv``: ``id``, ``name``, ``state`` (``offline``, ``available``,
``ringing``, ``on_call``, ``wrap_up``, ``not_ready``), ``reason`` (why not ready), ``since``
(ISO time of the last change, line's time zone), ``queue`` and ``call_sid`` (the call offered or
taken, if any), ``languages`` and ``skills``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from ivr import clock
from ivr.config import hotline_config
from ivr.store.agent_states import current_entry, described, set_state
from ivr.store.audit import commit_with_audit
from ivr.store.db import get_session
from ivr.store.models import AgentAccount, Callback
from ivr.voice import dispatch
from ivr.web.auth import api_auth

bp = Blueprint("agents_api", __name__)

SETTABLE = ("available", "not_ready")  # what a person may set; the line sets the rest
FROM = ("available", "wrap_up", "not_ready")  # ...from these (not offline, not on a call)


def _call_queue(session, account: AgentAccount) -> str | None:
    """The queue of the call the agent is offered or on: a callback's, or its queue entry's."""
    kind, _, ident = (account.offer or "").partition(":")
    if kind == "callback" and ident.isdigit():
        return session.scalar(select(Callback.queue).where(Callback.id == int(ident)))
    entry = current_entry(session, account)
    return entry.queue if entry is not None else None


def agents_report() -> list[dict[str, Any]]:
    cfg = hotline_config()
    session = get_session()
    accounts = {a.agent_id: a for a in session.scalars(select(AgentAccount))}
    out = []
    for agent in cfg.agents:
        account = accounts.get(agent.id)
        shown = described(account, cfg.tz)
        busy = shown["state"] in ("ringing", "on_call", "wrap_up")
        out.append(
            {
                "id": agent.id,
                "name": agent.name,
                **shown,
                "queue": _call_queue(session, account) if busy else None,
                "call_sid": account.current_call_sid if busy else None,
                "languages": list(agent.languages),
                "skills": list(agent.skills),
            }
        )
    return out


@bp.get("/api/agents")
@api_auth
def api_agents():
    return jsonify(agents_report())


def _error(message: str, status: int, parameter: str | None = None):
    body = {"error": message}
    if parameter:
        body["parameter"] = parameter
    return jsonify(body), status


@bp.post("/api/agents/<agent>/state")
@api_auth
def api_agent_state(agent: str):
    """``{"state": "available"}`` or ``{"state": "not_ready", "reason": "lunch"}``."""
    agent_id = agent
    cfg = hotline_config()
    if agent_id not in {a.id for a in cfg.agents}:
        return _error(f"unknown agent {agent_id!r}", 404)
    body = request.get_json(silent=True) or {}
    state = body.get("state")
    if state not in SETTABLE:
        return _error(f"state must be one of {', '.join(SETTABLE)}", 400, "state")
    reason = body.get("reason")
    reasons = cfg.line.agent_line.not_ready_reasons
    if state == "not_ready" and reason not in reasons:
        return _error(f"reason must be one of {', '.join(reasons)}", 400, "reason")
    session = get_session()
    account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == agent_id))
    current = account.state if account else "offline"
    if current not in FROM:
        return _error(f"{agent_id} is {current}: their state cannot be set now", 409, "state")
    now = clock.now()
    if not set_state(session, agent_id, state, now, reason=reason, only_from=FROM):
        return _error(f"{agent_id}'s state changed meanwhile", 409, "state")
    who = current_user.username if current_user.is_authenticated else "api token"
    detail = {"agent": agent_id, "state": state, "reason": reason}
    commit_with_audit(session, who, "agent.state", detail)
    if state == "available":
        dispatch.run_after_response()  # a free agent: is a caller waiting for them?
    return jsonify(next(a for a in agents_report() if a["id"] == agent_id))
