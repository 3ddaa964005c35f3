"""The dispatcher: which available agent takes which waiting caller, decided in one place.

Waiting callers (open queue entries, and callbacks due to be dialled by an agent) are taken in
order of their *original* wait. Each goes to the available agent who ranks best for them
(:func:`rank`), the agent free longest among equals:

0. the queue's skill and the caller's language;
1. the queue's skill, another language: once the caller has waited the queue's
   ``overflow_after_s`` (the agent is told the caller's language);
2. an ``overflow_skills`` queue's agent who speaks the language, after the same wait;
3. an ``overflow_skills`` queue's agent in another language, after the same wait.

A pairing is claimed in the database (the agent from ``available`` to ``ringing`` and the
entry's ``offered_to``, each by a conditional UPDATE), so two workers or processes never offer one
caller to two agents nor two callers to one agent. The call is then connected through Twilio's
REST API (:func:`connect`): the caller's call is moved to ``/voice/connect`` (a queue of the
agent's own, which the agent line dials); for a callback the agent's call is moved to their next
step at once. An offer not taken within ``ring_timeout_s`` is withdrawn (:func:`withdraw_stale`):
the caller goes back to the queue, the agent is set not ready with reason ``missed``.

The dispatcher runs when a caller waits (each hold poll, after its answer is sent), when an
agent becomes available (the agent line), and every few seconds from the scheduler.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Flask, after_this_request, current_app
from sqlalchemy import ColumnElement, and_, false, func, or_, select, update
from sqlalchemy.orm import Session

from ivr import clock
from ivr.config import hotline_config
from ivr.config.schema import Agent, HotlineConfig, Queue
from ivr.store.agent_states import MISSED, set_state
from ivr.store.db import session_scope
from ivr.store.models import (
    AgentAccount,
    AgentSession,
    AgentStateChange,
    Callback,
    QueueEntry,
    waiting_entries,
)
from ivr.voice import callbacks
from ivr.voice.callbacks import public_base, refuse_uncallable
from ivr.voice.twilio_rest import redirect_call
from staffing import routing

log = logging.getLogger(__name__)

WRAP_UP_GRACE_S = 10
ROUNDS = 3  # connect attempts per dispatch: a failed REST call moves on to the next agent


def rank(agent: Agent, queue: Queue, language: str, waited_s: float) -> int | None:
    """How well ``agent`` suits a caller of ``queue`` in ``language`` who has waited
    ``waited_s``: 0 (best) to 3, or None if the agent may not take them (yet)
    (:func:`staffing.routing.rank`)."""
    return routing.rank(agent.skills, agent.languages, queue, language, waited_s)


@dataclass(frozen=True)
class Waiting:
    """A caller waiting for an agent: a queue entry or a callback due to be dialled."""

    kind: str  # "entry" | "callback"
    id: int
    queue: str
    language: str
    since: dt.datetime  # the original wait's start: the order, and the wait for overflow
    call_sid: str | None = None


@dataclass(frozen=True)
class Free:
    """An available agent: since when, and how they take calls."""

    agent: Agent
    since: dt.datetime
    channel: str  # "phone" | "browser"
    call_sid: str | None  # the agent line's call, for a phone agent


@dataclass(frozen=True)
class Offer:
    """A pairing the dispatcher claimed: connect it."""

    waiting: Waiting
    agent_id: str
    channel: str
    agent_call_sid: str | None
    rank: int


def pairings(
    waiting: Sequence[Waiting], free: Sequence[Free], cfg: HotlineConfig, now: dt.datetime
) -> list[tuple[Waiting, Free, int]]:
    """Who takes whom: oldest original wait first, each to the best-ranked agent left (the one
    free longest among equals). Callbacks go to phone agents only (the agent line dials them)."""
    left = list(free)
    out: list[tuple[Waiting, Free, int]] = []
    for item in sorted(waiting, key=lambda w: (w.since, w.kind == "callback", w.id)):
        if not left:
            break
        queue = cfg.queue(item.queue)
        waited = (now - item.since).total_seconds()
        best: tuple | None = None
        for index, candidate in enumerate(left):
            if item.kind == "callback" and candidate.channel != "phone":
                continue
            r = rank(candidate.agent, queue, item.language, waited)
            if r is None:
                continue
            key = (r, candidate.since, candidate.agent.id, index)
            if best is None or key < best:
                best = key
        if best is not None:
            out.append((item, left.pop(best[3]), best[0]))
    return out


def free_agents(session: Session, cfg: HotlineConfig) -> list[Free]:
    """Agents available now with an open session (and still in the configuration)."""
    known = {agent.id: agent for agent in cfg.agents}
    rows = session.execute(
        select(
            AgentAccount.agent_id,
            AgentAccount.state_since,
            AgentSession.channel,
            AgentSession.call_sid,
        )
        .join(
            AgentSession,
            and_(
                AgentSession.agent_id == AgentAccount.agent_id,
                AgentSession.logged_out_at.is_(None),
            ),
        )
        .where(AgentAccount.state == "available")
        .order_by(AgentSession.logged_in_at.desc())
    ).all()
    out: dict[str, Free] = {}
    for agent_id, since, channel, sid in rows:
        if agent_id in known and agent_id not in out:  # the latest session, if several
            out[agent_id] = Free(
                known[agent_id],
                since or dt.datetime.min.replace(tzinfo=dt.UTC),
                channel,
                sid if channel == "phone" else None,
            )
    return list(out.values())


def waiting_callers(
    session: Session,
    cfg: HotlineConfig,
    now: dt.datetime,
    takers: Sequence[Agent] | None = None,
) -> list[Waiting]:
    """Open queue entries not offered to anyone, and callbacks due for an agent. With ``takers``
    (the free agents), only the entries one of them may take now: with thousands on hold and
    none of them for the free agents (another language, before the overflow), the rest would
    be read and passed over at every run."""
    default = cfg.default_language.code
    queues = set(cfg.queue_ids())
    entries = session.execute(
        select(
            QueueEntry.id,
            QueueEntry.queue,
            QueueEntry.language,
            QueueEntry.original_entered_at,
            QueueEntry.call_sid,
        ).where(
            QueueEntry.queue.in_(queues) if takers is None else within_reach(cfg, takers, now),
            waiting_entries(),
            QueueEntry.offered_to.is_(None),
        )
    ).all()
    out = [
        Waiting("entry", id_, queue, language or default, since, sid)
        for id_, queue, language, since, sid in entries
    ]
    callbacks = session.scalars(
        select(Callback).where(
            Callback.queue.in_(queues),
            Callback.status == "pending",
            Callback.dial_by == "agent",
            Callback.due_at <= now,
        )
    ).all()
    out += [
        Waiting("callback", cb.id, cb.queue, cb.language or default, cb.original_entered_at)
        for cb in callbacks
        if not refuse_uncallable(session, cfg, cb)
    ]
    return out


def within_reach(
    cfg: HotlineConfig, takers: Sequence[Agent], now: dt.datetime
) -> ColumnElement[bool]:
    """The SQL condition of a queue entry one of ``takers`` may take now, as :func:`rank`
    decides: a queue's agents take its callers in their languages, and once a caller has waited
    the overflow they or the overflow queues' agents take any language."""
    language = func.coalesce(QueueEntry.language, cfg.default_language.code)
    conditions = []
    for queue in cfg.queues:
        own = [agent for agent in takers if queue.id in agent.skills]
        spoken = sorted({code for agent in own for code in agent.languages})
        reach = [language.in_(spoken)] if spoken else []
        helped = own or any(
            not set(agent.skills).isdisjoint(queue.overflow_skills) for agent in takers
        )
        if queue.overflow_after_s is not None and helped:
            since = now - dt.timedelta(seconds=queue.overflow_after_s)
            reach.append(QueueEntry.original_entered_at <= since)
        if reach:
            conditions.append(and_(QueueEntry.queue == queue.id, or_(*reach)))
    return or_(false(), *conditions)


def claim(session: Session, item: Waiting, free: Free, now: dt.datetime) -> bool:
    """Offer ``item`` to the agent, if both are still free (another worker may have paired
    either since they were read). Both rows change in the caller's transaction, or neither."""
    agent_id = free.agent.id
    took_agent = session.execute(
        update(AgentAccount)
        .where(AgentAccount.agent_id == agent_id, AgentAccount.state == "available")
        .values(
            state="ringing",
            state_since=now,
            state_reason=None,
            offer=f"{item.kind}:{item.id}",
            current_call_sid=item.call_sid,
        )
    ).rowcount
    if not took_agent:
        return False
    if item.kind == "entry":
        took_item = session.execute(
            update(QueueEntry)
            .where(
                QueueEntry.id == item.id,
                QueueEntry.offered_to.is_(None),
                QueueEntry.answered_at.is_(None),
                QueueEntry.result.is_(None),
            )
            .values(offered_to=agent_id, offered_at=now)
        ).rowcount
    else:
        took_item = callbacks.claim(session, item.id, agent_id, now)
    if not took_item:  # someone else has the caller: the agent stays available, as they were
        session.execute(
            update(AgentAccount)
            .where(AgentAccount.agent_id == agent_id)
            .values(state="available", state_since=free.since, offer=None, current_call_sid=None)
        )
        return False
    session.add(
        AgentStateChange(agent_id=agent_id, state="ringing", at=now, call_sid=item.call_sid)
    )
    return True


def dispatch(
    session: Session, cfg: HotlineConfig, now: dt.datetime, exclude: frozenset[str] = frozenset()
) -> list[Offer]:
    """Pair waiting callers with available agents and claim each pairing (in ``session``'s
    transaction: commit it before connecting the offers)."""
    free = [f for f in free_agents(session, cfg) if f.agent.id not in exclude]
    if not free:
        return []
    offers = []
    waiting = waiting_callers(session, cfg, now, [f.agent for f in free])
    for item, agent, rank_ in pairings(waiting, free, cfg, now):
        if claim(session, item, agent, now):
            offers.append(Offer(item, agent.agent.id, agent.channel, agent.call_sid, rank_))
    return offers


def connect(app: Flask, offer: Offer) -> None:
    """Connect a claimed pairing through Twilio (raises if the REST call fails): the caller's
    call to ``/voice/connect``; for a callback, the agent's call to their next step."""
    base = public_base(app)
    if offer.waiting.kind == "entry":
        url = f"{base}/voice/connect?entry={offer.waiting.id}&agent={offer.agent_id}"
        redirect_call(app, offer.waiting.call_sid, url)
    else:
        redirect_call(app, offer.agent_call_sid, f"{base}/voice/agent/next?agent={offer.agent_id}")


def release(
    session: Session, offer: Offer, now: dt.datetime, agent_state: str, reason: str | None = None
) -> None:
    """Undo a pairing: the caller waits again, unoffered; the agent goes to ``agent_state``."""
    if offer.waiting.kind == "entry":
        _give_back(session, offer.waiting.id, offer.agent_id)
    else:
        callbacks.unclaim(session, offer.waiting.id, offer.agent_id)
    set_state(session, offer.agent_id, agent_state, now, reason=reason, only_from=("ringing",))


def _now(app: Flask, given: dt.datetime | None) -> dt.datetime:
    """The line's clock now (``given`` only in tests that fix it): a claim or a withdrawal is
    stamped when it happens, not when a job was due."""
    if given is not None:
        return given
    with app.app_context():
        return clock.now()


def run(app: Flask, now: dt.datetime | None = None) -> list[Offer]:
    """One dispatch, connected: pairs, claims, connects. A pairing whose REST call fails is
    undone and the caller offered to the next agent (``ROUNDS`` times at most); the caller is
    never dropped. Returns the offers connected."""
    cfg = hotline_config(app)
    connected: list[Offer] = []
    excluded: set[str] = set()
    for _round in range(ROUNDS):
        with session_scope(app) as session:
            offers = dispatch(session, cfg, _now(app, now), frozenset(excluded))
        if not offers:
            break
        failed = []
        for offer in offers:
            try:
                connect(app, offer)
            except Exception:  # noqa: BLE001 - Twilio unreachable or the call gone: next agent
                log.exception("dispatch: connecting %s to %s failed", offer.waiting, offer.agent_id)
                failed.append(offer)
            else:
                connected.append(offer)
        if not failed:
            break
        with session_scope(app) as session:
            for offer in failed:
                release(session, offer, _now(app, now), "available")
                excluded.add(offer.agent_id)
    return connected


BROWSER_GRACE_S = 10  # a softphone's Dial rings ``ring_timeout_s`` from /voice/connect: its
# action decides; the sweep steps in only if that never comes
ORPHAN_OFFER_S = 5  # an offer whose agent no longer holds it is given back after this


def _give_back(session: Session, entry_id: int, agent_id: str) -> bool:
    """The caller offered to ``agent_id`` is no longer theirs (if still unanswered)."""
    return bool(
        session.execute(
            update(QueueEntry)
            .where(
                QueueEntry.id == entry_id,
                QueueEntry.offered_to == agent_id,
                QueueEntry.answered_at.is_(None),
                QueueEntry.result.is_(None),
            )
            .values(offered_to=None, offered_at=None)
        ).rowcount
    )


def withdraw_stale(app: Flask, now: dt.datetime | None = None) -> int:
    """The dispatcher's sweep. Offers not taken within ``ring_timeout_s`` (a softphone's: its
    Dial action decides, this only if it never comes): the agent is set not ready (``missed``),
    the caller goes back to their queue. Offers whose agent no longer holds them (logged out,
    hung up, removed): the caller goes back. A browser agent's wrap-up the page did not end, and a
    browser agent still on a call that is over: available again. Returns how many offers were
    withdrawn or given back."""
    cfg = hotline_config(app)
    now = _now(app, now)
    ring = dt.timedelta(seconds=cfg.line.agent_line.ring_timeout_s)
    back: list[tuple[int, str]] = []
    withdrawn = 0
    with session_scope(app) as session:
        channels = dict(
            session.execute(
                select(AgentSession.agent_id, AgentSession.channel).where(
                    AgentSession.logged_out_at.is_(None)
                )
            ).all()
        )
        stale = session.execute(
            select(AgentAccount.agent_id, AgentAccount.offer, AgentAccount.state_since).where(
                AgentAccount.state == "ringing", AgentAccount.state_since <= now - ring
            )
        ).all()
        for agent_id, offer, since in stale:
            grace = BROWSER_GRACE_S if channels.get(agent_id) == "browser" else 0
            if since > now - ring - dt.timedelta(seconds=grace):
                continue
            # first the agent (only if still ringing: a bridge may have just taken the call)
            if not set_state(
                session, agent_id, "not_ready", now, reason=MISSED, only_from=("ringing",)
            ):
                continue
            withdrawn += 1
            kind, _, ident = (offer or "").partition(":")
            if kind == "entry" and ident.isdigit():
                if _give_back(session, int(ident), agent_id):
                    sid = session.scalar(
                        select(QueueEntry.call_sid).where(QueueEntry.id == int(ident))
                    )
                    back.append((int(ident), sid))
            elif kind == "callback" and ident.isdigit():
                callbacks.unclaim(session, int(ident), agent_id)
            log.warning(
                "dispatch: %s did not take %s within %s s; not ready (missed)",
                agent_id,
                offer,
                cfg.line.agent_line.ring_timeout_s,
            )
        # offers whose agent left ``ringing`` another way than by answering
        holding = {
            agent_id: offer
            for agent_id, offer in session.execute(
                select(AgentAccount.agent_id, AgentAccount.offer).where(
                    AgentAccount.state == "ringing"
                )
            )
        }
        orphans = session.execute(
            select(QueueEntry.id, QueueEntry.offered_to, QueueEntry.call_sid).where(
                QueueEntry.offered_to.is_not(None),
                QueueEntry.answered_at.is_(None),
                QueueEntry.result.is_(None),
                QueueEntry.offered_at <= now - dt.timedelta(seconds=ORPHAN_OFFER_S),
            )
        ).all()
        for entry_id, agent_id, sid in orphans:
            if holding.get(agent_id) == f"entry:{entry_id}":
                continue
            if _give_back(session, entry_id, agent_id):
                withdrawn += 1
                back.append((entry_id, sid))
                log.warning(
                    "dispatch: %s no longer holds entry %s: back to its queue", agent_id, entry_id
                )
        # browser agents: a wrap-up the page did not end (closed, asleep), over after the
        # longest wrap-up of any queue; a call whose end never reached us (the phone line ends
        # its own)
        longest = max(q.wrap_up_s for q in cfg.queues) + WRAP_UP_GRACE_S
        browser = [a for a, channel in channels.items() if channel == "browser"]
        for agent_id, state, since, current in session.execute(
            select(
                AgentAccount.agent_id,
                AgentAccount.state,
                AgentAccount.state_since,
                AgentAccount.current_call_sid,
            ).where(
                AgentAccount.agent_id.in_(browser), AgentAccount.state.in_(("wrap_up", "on_call"))
            )
        ):
            if state == "wrap_up" and since <= now - dt.timedelta(seconds=longest):
                set_state(session, agent_id, "available", now, only_from=("wrap_up",))
            elif state == "on_call":
                ended = session.scalar(
                    select(QueueEntry.ended_at)
                    .where(QueueEntry.call_sid == current)
                    .order_by(QueueEntry.entered_at.desc())
                    .limit(1)
                )
                if current is None or (
                    ended is not None and ended <= now - dt.timedelta(seconds=WRAP_UP_GRACE_S)
                ):
                    set_state(session, agent_id, "available", now, only_from=("on_call",))
                    log.warning("dispatch: %s's call is over; available again", agent_id)
    base = public_base(app)
    for entry_id, sid in back:
        try:
            redirect_call(app, sid, f"{base}/voice/connect?entry={entry_id}")
        except Exception:  # noqa: BLE001 - the caller's call is gone: the orphan sweep closes it
            log.exception("dispatch: moving entry %s back to its queue failed", entry_id)
    return withdrawn


class AfterResponses:
    """The dispatcher runs after requests one at a time in this process, and no request's
    thread ever waits for another's run (a run may take seconds: Twilio's REST API, a database
    lock). A run asked for while one is under way is left to that one: it runs once more when
    it is done, so what the asking request changed is still dispatched, by a thread already
    busy with it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # held only to read and set the two fields below
        self._running = False
        self._again: Flask | None = None

    def run(self, app: Flask) -> None:
        with self._lock:
            if self._running:
                self._again = app
                return
            self._running = True
        next_: Flask | None = app
        try:
            while next_ is not None:
                try:
                    run(next_)
                except Exception:  # noqa: BLE001 - the scheduler's dispatch job runs it again
                    log.exception("dispatch after a request failed")
                with self._lock:
                    next_, self._again = self._again, None
                    self._running = next_ is not None
        except BaseException:  # the thread is stopped: later requests must still dispatch
            with self._lock:
                self._running, self._again = False, None
            raise


after_responses = AfterResponses()


def run_after_response(throttled: bool = False) -> None:
    """Run the dispatcher once this request's answer has been sent (the caller does not wait
    for Twilio's REST API). ``throttled`` (the hold loop, which a thousand callers on hold poll):
    not if this app started one less than ``DISPATCH_HOLD_GAP_S`` ago; the next poll, an agent
    becoming free or the scheduler's sweep catches up."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if throttled:
        now = time.monotonic()
        last = app.extensions.get("hotline.dispatch_started", 0.0)
        if now - last < app.config.get("DISPATCH_HOLD_GAP_S", 0.0):
            return
        app.extensions["hotline.dispatch_started"] = now

    @after_this_request
    def _later(response):
        response.call_on_close(lambda: after_responses.run(app))
        return response


def call_agent_after_response(agent_call_sid: str | None, agent_id: str, entry_id: int) -> None:
    """Once this request's answer is sent, move the phone agent's call on to dial the caller
    offered to them (who now waits in the agent's own queue)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    url = f"{public_base(app)}/voice/agent/next?agent={agent_id}&offer={entry_id}"

    def _move() -> None:
        try:
            redirect_call(app, agent_call_sid, url)
        except Exception:  # noqa: BLE001 - the offer rings out and goes to the next agent
            log.exception("dispatch: moving %s's line to their caller failed", agent_id)

    @after_this_request
    def _later(response):
        response.call_on_close(_move)
        return response
