"""The dispatcher: callers offered to agents by skill and language, with overflow; one pairing
per caller and per agent across workers; offers that ring out or fail move on."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from ivr.config import hotline_config
from ivr.config.loader import load_config
from ivr.store.agent_states import set_state
from ivr.store.db import session_scope
from ivr.store.models import AgentAccount, AgentSession, AgentStateChange, QueueEntry
from ivr.voice import dispatch
from ivr.voice.agents import set_pin
from ivr.voice.dispatch import Free, Waiting, pairings, rank
from staffing import routing

from .conftest import OPEN_TIME, PUBLIC, follow_redirects

CFG = load_config()
AGENTS = {agent.id: agent for agent in CFG.agents}
ORDERS = CFG.queue("orders")  # overflow after 60 s by default


@pytest.fixture
def app(make_app, clock, fake_twilio):
    return make_app(CLOCK=clock, TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_HTTP_CLIENT=fake_twilio)


def on_line(app, agent_id: str, free_since: dt.datetime, sid: str | None = None) -> str:
    """The agent logged in on the agent line and available since ``free_since``."""
    sid = sid or f"CAagent{agent_id}"
    with session_scope(app) as session:
        set_pin(session, AGENTS[agent_id], "2468")
        session.flush()
        session.add(AgentSession(agent_id=agent_id, call_sid=sid, logged_in_at=free_since))
        set_state(session, agent_id, "available", free_since)
    # each worker's snapshot of the line is HOLD_ESTIMATE_CACHE_S old at most; the tests' clock
    # stands still: the next poll reads the line afresh
    app.extensions.pop("hotline.line_now", None)
    return sid


def caller(new_call, lang_key: str, queue_key: str, phone: str):
    call = new_call(from_number=phone)
    call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    menu = call.post(f"{PUBLIC}/voice/language?attempt=1&step=1", {"Digits": lang_key})
    call.post(f"{PUBLIC}{menu.find('Gather').get('action')}", {"Digits": queue_key})
    return call


def hold(call, lang: str, queue: str = "orders"):
    return call.post(
        f"{PUBLIC}/voice/wait?lang={lang}&queue={queue}&step=2", {"QueuePosition": "1"}
    )


def offered(app) -> dict[str, str | None]:
    with session_scope(app) as session:
        return dict(session.execute(select(QueueEntry.call_sid, QueueEntry.offered_to)).all())


def state_of(app, agent_id: str) -> tuple[str, str | None]:
    with session_scope(app) as session:
        row = session.execute(
            select(AgentAccount.state, AgentAccount.state_reason).where(
                AgentAccount.agent_id == agent_id
            )
        ).one()
    return row.state, row.state_reason


# --------------------------------------------------------------------------- ranking


def test_rank_prefers_skill_and_language_and_lets_others_in_after_the_overflow_wait():
    italian, english_only, polish = AGENTS["A010"], AGENTS["A034"], AGENTS["A003"]
    assert rank(italian, ORDERS, "it", 0) == routing.LANGUAGE
    assert rank(english_only, ORDERS, "it", 59) is None
    assert rank(english_only, ORDERS, "it", 60) == routing.OVERFLOW
    assert rank(polish, ORDERS, "pl", 0) == routing.LANGUAGE
    never = ORDERS.model_copy(update={"overflow_after_s": None})
    assert rank(english_only, never, "it", 86_400) is None
    blind = ORDERS.model_copy(update={"overflow_after_s": 0.0})
    assert rank(english_only, blind, "it", 0) == routing.OVERFLOW
    technical_only = AGENTS["A002"]  # technical and general
    assert rank(technical_only, ORDERS, "it", 600) is None
    shared = ORDERS.model_copy(update={"overflow_skills": ["technical"]})
    assert rank(technical_only, shared, "it", 59) is None
    assert rank(technical_only, shared, "it", 60) == routing.OTHER_QUEUE_LANGUAGE
    assert rank(AGENTS["A008"], shared, "it", 60) == routing.OTHER_QUEUE  # nb, en


def test_pairings_take_the_oldest_wait_first_each_to_the_best_agent_left():
    t0 = OPEN_TIME
    free = [
        Free(AGENTS["A034"], t0 - dt.timedelta(minutes=30), "phone", "CAa"),  # en, free longest
        Free(AGENTS["A010"], t0 - dt.timedelta(minutes=1), "phone", "CAb"),  # it, en
    ]
    waiting = [
        Waiting("entry", 2, "orders", "en", t0 - dt.timedelta(seconds=10), "CA2"),
        Waiting("entry", 1, "orders", "it", t0 - dt.timedelta(seconds=20), "CA1"),
    ]
    pairs = pairings(waiting, free, CFG, t0)
    assert [(w.id, f.agent.id, r) for w, f, r in pairs] == [(1, "A010", 0), (2, "A034", 0)]


# --------------------------------------------------------------------------- through the line


def test_an_italian_caller_goes_to_the_italian_speaker_though_an_english_only_agent_is_free_longer(
    app, new_call, clock, fake_twilio
):
    on_line(app, "A034", OPEN_TIME - dt.timedelta(hours=1))  # English only, free for an hour
    on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=1))  # speaks Italian
    call = caller(new_call, "2", "1", "+393470000100")  # Italian, orders
    hold(call, "it")
    assert offered(app) == {call.call_sid: "A010"}
    moved = follow_redirects(fake_twilio, call)
    assert moved[call.call_sid].find("Enqueue").text == "agent-A010"
    assert state_of(app, "A010") == ("ringing", None)
    assert state_of(app, "A034") == ("available", None)


def test_after_the_overflow_wait_the_english_only_agent_may_take_the_italian_caller(
    app, new_call, clock, fake_twilio
):
    sid = on_line(app, "A034", OPEN_TIME - dt.timedelta(hours=1))
    call = caller(new_call, "2", "1", "+393470000101")
    hold(call, "it")
    assert offered(app) == {call.call_sid: None}  # nobody who speaks Italian: the caller waits
    assert fake_twilio.redirects() == []
    clock.at += dt.timedelta(seconds=ORDERS.overflow_after_s)
    hold(call, "it")
    assert offered(app) == {call.call_sid: "A034"}
    moved = follow_redirects(fake_twilio, call)
    wait_url = moved[call.call_sid].find("Enqueue").get("waitUrl")
    call.post(f"{PUBLIC}{wait_url}", {"QueuePosition": "1"})  # the agent's line is moved on
    (agent_sid, url), *_ = fake_twilio.redirects()
    assert agent_sid == sid
    agent = new_call(from_number="+393339990000", to_number="+18005550199", call_sid=sid)
    root = agent.post(url)
    assert root.find("Say").text == "Next caller, from orders, speaks Italiano."
    call.post(f"{PUBLIC}/voice/agent/bridge?agent=A034&queue=orders", {"QueueResult": "bridged"})
    with session_scope(app) as session:
        entry = session.scalars(select(QueueEntry)).one()
    assert entry.agent_id == "A034" and entry.answered_in_language is False


def test_a_phone_agent_who_polls_first_does_not_take_a_caller_they_may_not_take(
    app, new_call, clock, fake_twilio
):
    sid = on_line(app, "A034", OPEN_TIME - dt.timedelta(hours=1))
    agent = new_call(from_number="+393339990000", to_number="+18005550199", call_sid=sid)
    call = caller(new_call, "2", "1", "+393470000102")  # Italian
    hold(call, "it")
    polled = agent.post(f"{PUBLIC}/voice/agent/next?agent=A034")
    assert polled.find("Dial") is None  # the waiting loop, no caller
    assert polled.find("Gather/Say").text.startswith("No callers are waiting.")
    # even asking for that caller's entry by URL gets the agent nothing
    with session_scope(app) as session:
        entry_id = session.scalars(select(QueueEntry.id)).one()
    forged = agent.post(f"{PUBLIC}/voice/agent/next?agent=A034&offer={entry_id}")
    assert forged.find("Dial") is None
    assert offered(app) == {call.call_sid: None}
    assert [s for s, _ in fake_twilio.redirects()] == []


def test_a_missed_offer_moves_on_and_the_agent_is_not_ready(app, new_call, clock, fake_twilio):
    on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=5))
    on_line(app, "A012", OPEN_TIME - dt.timedelta(minutes=1))
    call = caller(new_call, "2", "1", "+393470000103")
    hold(call, "it")
    assert offered(app) == {call.call_sid: "A010"}  # free longer
    follow_redirects(fake_twilio, call)
    clock.at += dt.timedelta(seconds=CFG.line.agent_line.ring_timeout_s - 1)
    assert dispatch.withdraw_stale(app) == 0
    clock.at += dt.timedelta(seconds=1)
    assert dispatch.withdraw_stale(app) == 1
    assert state_of(app, "A010") == ("not_ready", "missed")
    assert offered(app) == {call.call_sid: None}
    back = follow_redirects(fake_twilio, call)[call.call_sid]
    assert back.find("Enqueue").text == "orders"  # back in the queue, the place kept
    offers = dispatch.run(app)
    assert [(o.waiting.call_sid, o.agent_id) for o in offers] == [(call.call_sid, "A012")]
    with session_scope(app) as session:
        log = session.execute(
            select(AgentStateChange.state, AgentStateChange.reason)
            .where(AgentStateChange.agent_id == "A010")
            .order_by(AgentStateChange.id)
        ).all()
    assert [tuple(r) for r in log] == [
        ("available", None),
        ("ringing", None),
        ("not_ready", "missed"),
    ]


def test_a_failed_rest_call_leaves_the_caller_waiting_and_tries_the_next_agent(
    app, new_call, clock, fake_twilio
):
    on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=5))
    on_line(app, "A012", OPEN_TIME - dt.timedelta(minutes=1))
    call = caller(new_call, "2", "1", "+393470000104")
    original = fake_twilio.request
    failures = []

    def first_fails(method, uri, *args, **kwargs):
        if not failures:
            failures.append(uri)
            raise ConnectionError("connection reset")
        return original(method, uri, *args, **kwargs)

    fake_twilio.request = first_fails
    hold(call, "it")
    assert len(failures) == 1
    assert offered(app) == {call.call_sid: "A012"}
    assert state_of(app, "A010") == ("available", None)
    fake_twilio.unreachable = True  # Twilio down: nobody is offered, the caller keeps waiting
    with session_scope(app) as session:
        session.execute(QueueEntry.__table__.update().values(offered_to=None, offered_at=None))
        set_state(session, "A012", "available", OPEN_TIME)
    assert dispatch.run(app) == []
    assert offered(app) == {call.call_sid: None}
    with session_scope(app) as session:
        assert session.scalars(select(QueueEntry.result)).one() is None


@pytest.fixture
def db_app(make_app, clock, any_db_url):
    return make_app(CLOCK=clock, DATABASE_URL=any_db_url)


def test_two_workers_never_offer_one_caller_to_two_agents(db_app, clock):
    """Two dispatchers at once (two threads, two connections) on the same waiting callers and
    agents: every caller offered once at most, every agent given one caller at most."""
    app = db_app
    cfg = hotline_config(app)
    agents = ["A001", "A010", "A012", "A015", "A016", "A017"]
    for index, agent_id in enumerate(agents):
        on_line(app, agent_id, OPEN_TIME - dt.timedelta(minutes=index + 1))
    with session_scope(app) as session:
        for n in range(4):
            at = OPEN_TIME - dt.timedelta(seconds=10 * n)
            session.add(
                QueueEntry(
                    call_sid=f"CAwait{n}",
                    queue="orders",
                    language="it",
                    entered_at=at,
                    original_entered_at=at,
                )
            )
    barrier = threading.Barrier(2)
    results: list[list] = []
    errors: list[BaseException] = []

    def worker():
        try:
            with session_scope(app) as session:
                free = dispatch.free_agents(session, cfg)
                waiting = dispatch.waiting_callers(session, cfg, clock.at)
                barrier.wait(timeout=10)  # both have read the same free agents and callers
                offers = []
                for item, agent, _rank in pairings(waiting, free, cfg, clock.at):
                    if dispatch.claim(session, item, agent, clock.at):
                        offers.append((item.call_sid, agent.agent.id))
            results.append(offers)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    claimed = [pair for offers in results for pair in offers]
    assert len(claimed) == 4  # each caller once: the second worker found them taken
    assert len({sid for sid, _ in claimed}) == 4
    assert len({agent for _, agent in claimed}) == 4
    with session_scope(app) as session:
        ringing = session.scalars(
            select(AgentAccount.agent_id).where(AgentAccount.state == "ringing")
        ).all()
        rows = session.execute(select(QueueEntry.call_sid, QueueEntry.offered_to)).all()
    assert sorted(ringing) == sorted(agent for _, agent in claimed)
    assert dict(rows) == dict(claimed)


def test_hold_polls_start_the_dispatcher_at_most_once_per_gap(
    make_app, clock, fake_twilio, new_call
):
    """A thousand callers on hold poll: within ``DISPATCH_HOLD_GAP_S`` of one hold poll's
    dispatch, the next poll starts none (an agent's own events always do)."""
    import time

    app = make_app(
        CLOCK=clock,
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_HTTP_CLIENT=fake_twilio,
        DISPATCH_HOLD_GAP_S=0.3,
    )
    from ivr.demo.twilio_sim import FlaskTransport, SimulatedCall

    from .conftest import TOKEN

    def call(phone):
        made = SimulatedCall(FlaskTransport(app.test_client(), PUBLIC), PUBLIC, TOKEN,
                             from_number=phone)  # fmt: skip
        return caller(lambda **kw: made, "2", "1", phone)

    on_line(app, "A001", OPEN_TIME - dt.timedelta(minutes=5))  # someone works (else no
    with session_scope(app) as session:  # poll dispatches), and is on a call: nobody free
        set_state(session, "A001", "on_call", OPEN_TIME - dt.timedelta(minutes=2), "CAelsewhere")
    first = call("+393470000301")
    hold(first, "it")  # dispatches: nobody free
    on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=1))  # free, without an event of its own
    hold(first, "it")  # within the gap: no dispatch
    assert offered(app) == {first.call_sid: None}
    time.sleep(0.35)
    hold(first, "it")
    assert offered(app) == {first.call_sid: "A010"}


# --------------------------------------------------------------------------- nobody left behind


def test_a_phone_agent_who_hangs_up_while_offered_a_caller_gives_the_caller_back(
    app, new_call, clock, fake_twilio
):
    """The agent's line ends while their caller waits in the agent's own queue: the sweep puts
    the caller back in their queue and the next agent gets them."""
    sid = on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=5))
    on_line(app, "A012", OPEN_TIME - dt.timedelta(minutes=1))
    call = caller(new_call, "2", "1", "+393470000110")
    with session_scope(app) as session:  # A012 is busy for now
        set_state(session, "A012", "not_ready", OPEN_TIME, reason="break")
    hold(call, "it")
    assert offered(app) == {call.call_sid: "A010"}
    moved = follow_redirects(fake_twilio, call)[call.call_sid]
    assert moved.find("Enqueue").text == "agent-A010"
    agent = new_call(from_number="+393339990000", to_number="+18005550199", call_sid=sid)
    agent.status_callback("completed")  # the agent hung up: logged out
    assert state_of(app, "A010") == ("offline", None)
    clock.at += dt.timedelta(seconds=dispatch.ORPHAN_OFFER_S)
    assert dispatch.withdraw_stale(app) == 1
    assert offered(app) == {call.call_sid: None}
    back = follow_redirects(fake_twilio, call)[call.call_sid]
    assert back.find("Enqueue").text == "orders"
    with session_scope(app) as session:
        set_state(session, "A012", "available", clock.at)
    assert [o.agent_id for o in dispatch.run(app)] == ["A012"]


def test_the_sweep_never_takes_a_caller_an_agent_has_just_answered(
    app, new_call, clock, fake_twilio
):
    on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=5))
    call = caller(new_call, "2", "1", "+393470000111")
    hold(call, "it")
    follow_redirects(fake_twilio, call)
    clock.at += dt.timedelta(seconds=CFG.line.agent_line.ring_timeout_s + 5)
    call.post(f"{PUBLIC}/voice/agent/bridge?agent=A010&queue=orders", {})  # answered at last
    assert dispatch.withdraw_stale(app) == 0
    assert state_of(app, "A010") == ("on_call", None)
    assert fake_twilio.redirects() == []  # the caller stays with the agent


def test_a_caller_who_hangs_up_while_the_softphone_rings_is_no_agents_miss(
    app, new_call, clock, fake_twilio
):
    on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=5))
    with session_scope(app) as session:
        session.execute(AgentSession.__table__.update().values(channel="browser"))
    call = caller(new_call, "2", "1", "+393470000112")
    hold(call, "it")
    dial = follow_redirects(fake_twilio, call)[call.call_sid].find("Dial")
    assert dial.find("Client/Identity").text == "A010"
    gone = call.post(
        f"{PUBLIC}{dial.get('action')}", {"DialCallStatus": "no-answer", "CallStatus": "completed"}
    )
    assert gone.find("Hangup") is not None
    assert state_of(app, "A010") == ("available", None)
    with session_scope(app) as session:
        entry = session.scalars(select(QueueEntry)).one()
    assert (entry.result, entry.offered_to) == ("hangup", None)
    assert dispatch.run(app) == []  # nobody is offered a caller who has gone


def test_a_browser_agent_whose_call_end_never_came_is_freed(app, clock):
    on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=30))
    with session_scope(app) as session:
        session.execute(AgentSession.__table__.update().values(channel="browser"))
        session.add(
            QueueEntry(call_sid="CAlong", queue="orders", language="it",
                       entered_at=OPEN_TIME - dt.timedelta(minutes=20),
                       original_entered_at=OPEN_TIME - dt.timedelta(minutes=20),
                       answered_at=OPEN_TIME - dt.timedelta(minutes=19), agent_id="A010")
        )  # fmt: skip
        set_state(session, "A010", "on_call", OPEN_TIME - dt.timedelta(minutes=19), "CAlong")
    dispatch.withdraw_stale(app)
    assert state_of(app, "A010") == ("on_call", None)  # the call may still be going on
    with session_scope(app) as session:  # the orphan sweep closed it: the call is over
        session.execute(
            QueueEntry.__table__.update().values(
                result="bridged", ended_at=OPEN_TIME - dt.timedelta(minutes=2)
            )
        )
    dispatch.withdraw_stale(app)
    assert state_of(app, "A010") == ("available", None)
