"""What the voice routes share and none of them owns: callers' queue entries and the wait
estimate, the agents' state and sessions, and the orphan waits closed once a call is over.

The estimate comes from the line's own recent history: the queue's answers per logged-in agent
over the last half hour, times the agents logged in now with that skill (before there is history:
agents over AHT). It is rounded to what a person understands and never rises between two
announcements to the same caller unless the queue really grew in front of them.

No routes live here, so every route module may import it.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Row, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from ivr.config.schema import HotlineConfig
from ivr.store import calllog
from ivr.store.agent_states import WORKING, set_state
from ivr.store.models import AgentAccount, AgentSession, CallEvent, QueueEntry
from ivr.voice.dispatch import rank
from ivr.voice.webhook import LONGEST_CALL
from staffing.routing import overflowed

FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}

RATE_WINDOW = dt.timedelta(minutes=30)


# the configuration the eligible agents were worked out for, and them by (queue, language,
# overflowed): they change only with the configuration (a reload is a new object)
_eligible: tuple[HotlineConfig | None, dict[tuple, frozenset[str]]] = (None, {})


def eligible_agents(
    cfg: HotlineConfig, queue_id: str, language: str | None = None, waited_s: float = 0.0
) -> frozenset[str]:
    """The agents who may take a caller of this queue in ``language`` (None: any language) after
    ``waited_s`` of wait, as the dispatcher ranks them. The wait matters only as overflowed or
    not, so each answer is worked out once per configuration (every hold poll asks)."""
    global _eligible
    queue = cfg.queue(queue_id)
    key = (queue_id, language, language is not None and overflowed(queue, waited_s))
    known, answers = _eligible
    if known is not cfg:
        answers = {}
        _eligible = (cfg, answers)
    found = answers.get(key)
    if found is None:
        if language is None:
            found = frozenset(agent.id for agent in cfg.agents if queue_id in agent.skills)
        else:
            found = frozenset(
                a.id for a in cfg.agents if rank(a, queue, language, waited_s) is not None
            )
        answers[key] = found
    return found


def estimate_wait_s(
    session: Session,
    cfg: HotlineConfig,
    queue_id: str,
    position: int,
    now: dt.datetime,
    language: str | None = None,
    waited_s: float = 0.0,
) -> float | None:
    """Expected seconds until a caller at ``position`` is answered, or None if no agent who may
    take them (:func:`eligible_agents`) is on line (as :func:`line_now` read the line)."""
    eligible = eligible_agents(cfg, queue_id, language, waited_s)
    rate = line_now(session, now).answer_rate(cfg, queue_id, eligible)
    return None if rate is None else position / rate


def speakers_on_line(
    session: Session, cfg: HotlineConfig, queue_id: str, language: str, now: dt.datetime
) -> bool:
    """Some agent of this queue who speaks ``language`` is logged in and working (as
    :func:`line_now` read the line: the same agents the estimate counts)."""
    speakers = eligible_agents(cfg, queue_id, language, 0.0)
    return not speakers.isdisjoint(line_now(session, now).working)


def line_now(session: Session, now: dt.datetime) -> LineNow:
    """The line as the hold loop sees it. A thousand callers on hold poll, each queue, language
    and overflow with agents of its own: each worker reads the line once per
    ``HOLD_ESTIMATE_CACHE_S`` seconds of the line's clock (0: at every poll) and works every
    estimate and announcement out of that."""
    ttl = dt.timedelta(seconds=current_app.config.get("HOLD_ESTIMATE_CACHE_S", 0))
    line = current_app.extensions.get("hotline.line_now")
    if line is None or not dt.timedelta(0) <= now - line.at < ttl:
        line = current_app.extensions["hotline.line_now"] = LineNow.read(session, now)
    return line


@functools.cache
def _working_statement() -> Select:
    return select(AgentAccount.agent_id).where(AgentAccount.state.in_(WORKING))


@dataclass(frozen=True)
class LineNow:
    """The line read at ``at``, what the hold loop's estimates and announcements are worked out
    of: the agents logged in and working, and over the ``RATE_WINDOW`` before, each queue's
    answers and each agent's seconds logged in (both left empty while nobody works: no rate is
    asked of them then)."""

    at: dt.datetime
    working: frozenset[str]
    answered: dict[str, int]  # by queue
    agent_seconds: dict[str, float]  # by agent

    @classmethod
    def read(cls, session: Session, now: dt.datetime) -> LineNow:
        working = frozenset(session.scalars(_working_statement()).all())
        if not working:
            return cls(now, working, {}, {})
        since = now - RATE_WINDOW
        answered = session.execute(
            select(QueueEntry.queue, func.count())
            .where(QueueEntry.answered_at >= since)
            .group_by(QueueEntry.queue)
        ).all()
        seconds: dict[str, float] = {}
        for agent_id, start, end in session.execute(
            select(
                AgentSession.agent_id, AgentSession.logged_in_at, AgentSession.logged_out_at
            ).where(or_(AgentSession.logged_out_at.is_(None), AgentSession.logged_out_at >= since))
        ):
            logged = max(((end or now) - max(start, since)).total_seconds(), 0.0)
            seconds[agent_id] = seconds.get(agent_id, 0.0) + logged
        return cls(now, working, dict(answered), seconds)

    def answer_rate(
        self, cfg: HotlineConfig, queue_id: str, eligible: frozenset[str]
    ) -> float | None:
        """Calls per second the ``eligible`` agents on line answer, or None if none of them is
        on: the queue's answers per second of an eligible agent logged in, times those on line
        (before three answers: those on line over the queue's AHT)."""
        on_line = len(eligible & self.working)
        if not on_line:
            return None
        answered = self.answered.get(queue_id, 0)
        agent_seconds = sum(self.agent_seconds.get(agent_id, 0.0) for agent_id in eligible)
        if answered >= 3 and agent_seconds > 0:
            return answered / agent_seconds * on_line
        return on_line / cfg.queue(queue_id).aht_s


def rounded_minutes(seconds: float) -> int:
    """0 for under a minute, whole minutes up to 10, then steps of 5."""
    if seconds < 60:
        return 0
    minutes = math.ceil(seconds / 60)
    return minutes if minutes <= 10 else 5 * math.ceil(minutes / 5)


def _latest_entry(*columns: Any) -> Select:
    """SELECT these columns (or the entity) of a caller's latest entry in a queue (parameters
    ``sid`` and ``queue``)."""
    entries = QueueEntry.__table__
    return (
        select(*columns)
        .where(entries.c.call_sid == bindparam("sid"), entries.c.queue == bindparam("queue"))
        .order_by(entries.c.entered_at.desc())
        .limit(1)
    )


@functools.cache
def _current_entry_statement() -> Select:
    return _latest_entry(QueueEntry)


def current_entry(session: Session, sid: str, queue_id: str) -> QueueEntry | None:
    """The caller's latest entry in this queue, as an ORM object the request may change (the
    agent line, the callback key); the hold loop and the queue result read :func:`entry_state`."""
    return session.scalars(_current_entry_statement(), {"sid": sid, "queue": queue_id}).first()


@functools.cache
def _entry_state_statement() -> Select:
    entries = QueueEntry.__table__
    return _latest_entry(
        entries.c.id,
        entries.c.call_sid,
        entries.c.entered_at,
        entries.c.answered_at,
        entries.c.last_announced_at,
        entries.c.last_estimate_s,
        entries.c.last_position,
        entries.c.original_entered_at,
        entries.c.offered_to,
    )


def entry_state(session: Session, sid: str, queue_id: str) -> Row | None:
    """What the hold loop and the queue result read of the caller's latest entry in this queue:
    a plain row, read without the ORM (a thousand callers on hold poll this)."""
    return session.execute(_entry_state_statement(), {"sid": sid, "queue": queue_id}).first()


def mark_answered(
    session: Session,
    cfg: HotlineConfig,
    entry: QueueEntry,
    agent_id: str,
    sid: str,
    now: dt.datetime,
) -> None:
    """An agent took this caller now: the entry's answer (and whether in the caller's
    language), the agent on the call."""
    entry.answered_at = now
    entry.agent_id = agent_id
    agent = next((a for a in cfg.agents if a.id == agent_id), None)
    language = entry.language or cfg.default_language.code
    entry.answered_in_language = agent is not None and language in agent.languages
    set_state(session, agent_id, "on_call", now, sid)


def bridged_times(entry: Any, end: dt.datetime) -> dict[str, float]:
    """An answered entry's wait (until an agent took it) and handle time (until ``end``), in
    seconds, never negative."""
    return {
        "wait_s": max((entry.answered_at - entry.entered_at).total_seconds(), 0.0),
        "handle_s": max((end - entry.answered_at).total_seconds(), 0.0),
    }


ORPHAN_GRACE = dt.timedelta(seconds=60)  # a queue result comes within this of the call's end
FINAL_STATUS_EVENTS = ("call_completed", "callback_status")  # the status callbacks' events


def close_orphan_waits(session: Session, now: dt.datetime) -> dict[str, int]:
    """Close the queue entries Twilio's queue result (the Enqueue ``action``) never closed.

    That request can fail to reach us (a network fault, a restart). Left open, the entry would
    count as waiting for ever: on the dashboard, in the statistics, and at the front of the queue
    for agents, who would be sent to wait on an empty queue ahead of any due callback.

    - The call's final status came (the number's or a callback's status callback) at least
      ``ORPHAN_GRACE`` ago: the wait ended with the call. Not answered: a hang-up after its wait
      until then; answered: bridged, handled until then.
    - No status either, and the entry is older than ``LONGEST_CALL``: the call is over, how is
      unknown (result ``unknown``, no wait).

    Each closed entry gets a ``queue_closed_without_result`` event. A queue result that still
    comes writes Twilio's own figures over these. Returns how many entries of each kind."""
    is_open = and_(QueueEntry.result.is_(None), QueueEntry.ended_at.is_(None))
    ended = (  # each open entry's call: when its final status came
        select(CallEvent.call_sid, func.max(CallEvent.at).label("at"))
        .where(
            CallEvent.event.in_(FINAL_STATUS_EVENTS),
            CallEvent.call_sid.in_(select(QueueEntry.call_sid).where(is_open)),
        )
        .group_by(CallEvent.call_sid)
        .subquery()
    )
    rows = session.execute(
        select(QueueEntry, ended.c.at)
        .outerjoin(ended, ended.c.call_sid == QueueEntry.call_sid)
        .where(is_open)
    ).all()
    closed = {"call_ended": 0, "unknown": 0}
    for entry, end in rows:
        if end is not None and end < entry.entered_at:  # not this wait's call (a reused CallSid)
            end = None
        if end is not None and end <= now - ORPHAN_GRACE:
            if entry.answered_at is None:
                entry.result = "hangup"
                entry.wait_s = max((end - entry.entered_at).total_seconds(), 0.0)
            else:
                entry.result = "bridged"
                times = bridged_times(entry, end)
                entry.wait_s, entry.handle_s = times["wait_s"], times["handle_s"]
            entry.ended_at = end
            closed["call_ended"] += 1
        elif end is None and entry.entered_at <= now - LONGEST_CALL:
            entry.result, entry.ended_at = "unknown", now
            closed["unknown"] += 1
        else:
            continue
        calllog.record_event(
            session,
            entry.call_sid,
            "queue_closed_without_result",
            now,
            f"queue_closed_without_result:{entry.id}",
            queue=entry.queue,
            result=entry.result,
        )
    return closed


def end_sessions_for_call(session: Session, sid: str, now: dt.datetime) -> None:
    """The agent's own call ended: log them out."""
    for open_ in session.scalars(
        select(AgentSession).where(
            AgentSession.call_sid == sid, AgentSession.logged_out_at.is_(None)
        )
    ):
        open_.logged_out_at = now
        set_state(session, open_.agent_id, "offline", now)
