"""Agents' states, kept on ``agents`` (the state now) and in ``agent_state_changes`` (every
change, with its time: occupancy, not-ready and adherence reports read it).

- ``offline``: not logged in.
- ``available``: logged in and free: the dispatcher may offer them a call.
- ``ringing``: offered a call (``agents.offer`` says which), not yet answered.
- ``on_call``: talking to a caller (or dialling a callback).
- ``wrap_up``: after every call, for the queue's ``wrap_up_s`` or until the agent ends it.
- ``not_ready``: logged in, taking no calls, with a reason (``break``, ``lunch``..., or
  ``missed``: a call offered and not answered in time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.store.models import AgentAccount, AgentStateChange, QueueEntry

STATES = ("offline", "available", "ringing", "on_call", "wrap_up", "not_ready")
LOGGED_IN = ("available", "ringing", "on_call", "wrap_up", "not_ready")
WORKING = ("available", "ringing", "on_call", "wrap_up")  # logged in and ready for calls
MISSED = "missed"  # the not-ready reason of an agent who let an offered call ring out


def set_state(
    session: Session,
    agent_id: str,
    state: str,
    now: dt.datetime,
    current: str | None = None,
    *,
    reason: str | None = None,
    only_from: tuple[str, ...] | None = None,
) -> bool:
    """Put the agent in ``state`` (with ``reason`` when not ready; ``current``: the call they are
    on). ``only_from``: only if they are in one of these states now. A change of state or reason
    is logged with its time; setting the state they are already in logs nothing. Any offer the
    agent had is withdrawn unless the new state is ``ringing``. True if the agent is now so."""
    if state not in STATES:
        raise ValueError(f"unknown agent state {state!r}")
    account = session.execute(
        select(AgentAccount.state, AgentAccount.state_reason).where(
            AgentAccount.agent_id == agent_id
        )
    ).first()
    if account is None:
        return False
    if only_from is not None and account.state not in only_from:
        return False
    reason = reason if state == "not_ready" else None
    changed = (account.state, account.state_reason) != (state, reason)
    values = {"state": state, "state_reason": reason, "current_call_sid": current}
    if state != "ringing":
        values["offer"] = None
    if changed:
        values["state_since"] = now
    statement = update(AgentAccount).where(AgentAccount.agent_id == agent_id)
    if only_from is not None:
        statement = statement.where(AgentAccount.state.in_(only_from))
    if not session.execute(statement.values(**values)).rowcount:
        return False
    if changed:
        session.add(
            AgentStateChange(
                agent_id=agent_id, state=state, reason=reason, at=now, call_sid=current
            )
        )
        session.flush()
    return True


def described(account: AgentAccount | None, tz: ZoneInfo) -> dict[str, Any]:
    """``state``, ``reason`` and ``since`` (ISO, in ``tz``) of an agent's account (offline if
    they have none), as the API and the agent desktop show them."""
    if account is None:
        return {"state": "offline", "reason": None, "since": None}
    since = account.state_since.astimezone(tz).isoformat() if account.state_since else None
    return {"state": account.state, "reason": account.state_reason, "since": since}


def current_entry(session: Session, account: AgentAccount | None) -> QueueEntry | None:
    """The queue entry of the call the agent is offered, on, or wrapping up, if any."""
    if account is None or account.state not in ("ringing", "on_call", "wrap_up"):
        return None
    kind, _, ident = (account.offer or "").partition(":")
    if kind == "entry" and ident.isdigit():
        return session.get(QueueEntry, int(ident))
    if account.current_call_sid:
        return session.scalar(
            select(QueueEntry)
            .where(QueueEntry.call_sid == account.current_call_sid)
            .order_by(QueueEntry.entered_at.desc())
            .limit(1)
        )
    return None
