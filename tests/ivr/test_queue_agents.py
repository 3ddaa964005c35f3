"""After <Enqueue>: hold announcements, callback offer, agents taking calls, callbacks, survey."""

from __future__ import annotations

import datetime as dt
import logging
import re
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.security import check_password_hash

from ivr.config import EXTENSION, hotline_config
from ivr.config.loader import load_config
from ivr.demo.twilio_sim import (
    FlaskTransport,
    HoldPress,
    Press,
    QueueOutcome,
    Recording,
    SimulatedCall,
)
from ivr.jobs.bodies import JOBS
from ivr.store.db import session_scope
from ivr.store.models import (
    AgentAccount,
    AgentSession,
    AgentStateChange,
    Callback,
    QueueEntry,
    Survey,
)
from ivr.voice import agents, dispatch, spool
from ivr.voice.agents import set_pin
from ivr.voice.callbacks import dial_due_callbacks
from ivr.voice.state import rounded_minutes

from .conftest import (
    OPEN_TIME,
    PUBLIC,
    TOKEN,
    due_callback,
    follow_redirects,
)

CFG = load_config()
AGENT_NUMBER = "+18005550199"


@pytest.fixture
def app(make_app, clock, fake_twilio):
    return make_app(CLOCK=clock, TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_HTTP_CLIENT=fake_twilio)


def with_pin(app, agent_id: str, pin: str = "2468") -> None:
    agent = next(a for a in CFG.agents if a.id == agent_id)
    with session_scope(app) as session:
        set_pin(session, agent, pin)


def log_in(app, agent_id: str) -> None:
    """An agent already logged in on some other call (for estimates)."""
    with_pin(app, agent_id)
    with session_scope(app) as session:
        session.add(
            AgentSession(
                agent_id=agent_id,
                call_sid=f"CAagent{agent_id}",
                logged_in_at=OPEN_TIME - dt.timedelta(hours=1),
            )
        )
        account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == agent_id))
        account.state = "available"


def enqueue(new_call, lang_key: str, queue_key: str, phone: str) -> SimulatedCall:
    """A caller who reaches a queue and waits there (Twilio has not posted a result)."""
    call = new_call(from_number=phone)
    call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    call.post(f"{PUBLIC}/voice/language?attempt=1&step=1", {"Digits": lang_key})
    root = call.post(f"{PUBLIC}/voice/menu?lang=x&attempt=1&step=2", {"Digits": queue_key})
    assert root.find("Enqueue") is not None
    return call


def agent_call(app, new_call) -> SimulatedCall:
    return new_call(from_number="+393339990000", to_number=AGENT_NUMBER)


def entry_of(app, call) -> QueueEntry:
    return entry_of_sid(app, call.call_sid)


def entry_of_sid(app, sid: str) -> QueueEntry:
    with session_scope(app) as session:
        return session.scalars(select(QueueEntry).where(QueueEntry.call_sid == sid)).one()


# --------------------------------------------------------------------------- hold


def test_full_call_with_hold_announcements_and_a_callback_request(app, new_call, events):
    log_in(app, "A010")  # one agent for orders: 2nd in line at 240 s AHT -> about 8 minutes
    call = new_call(
        from_number="+393471234567", queue_outcome=QueueOutcome(wait_polls=2, position=2)
    )
    call.ring([Press("1"), Press("1"), HoldPress("1")])
    texts = call.texts()
    assert "You are number 2 in the queue." in texts
    assert "Your expected wait is about 8 minutes." in texts
    assert "To leave the queue and be called back without losing your place, press 1." in texts
    assert call.queue_results == ["leave"]
    assert (
        texts[-1]
        == "Thank you. We will call you back on this number, keeping your place in the queue. Goodbye."
    )
    entry = entry_of(app, call)
    with session_scope(app) as session:
        callback = session.scalars(select(Callback)).one()
    assert (
        callback.phone,
        callback.language,
        callback.queue,
        callback.dial_by,
        callback.status,
    ) == ("+393471234567", "en", "orders", "agent", "pending")
    assert callback.original_entered_at == entry.original_entered_at
    assert entry.result == "leave"
    assert [d["reason"] for n, d in events(call.call_sid) if n == "callback_requested"] == [
        "long_wait"
    ]


def test_announcements_are_paced_and_estimates_never_rise(app, new_call, clock):
    log_in(app, "A010")
    log_in(app, "A001")
    call = enqueue(new_call, "1", "1", "+393470000001")
    wait = f"{PUBLIC}/voice/wait?lang=en&queue=orders&step=2"
    first = call.post(wait, {"QueuePosition": "4"})
    says = [s.text for s in first.iter("Say")]
    assert says[:2] == [
        "You are number 4 in the queue.",
        "Your expected wait is about 8 minutes.",
    ]  # 4 x 240 / 2
    again = call.post(wait, {"QueuePosition": "4"})
    assert [s.text for s in again.findall("Say")] == []  # not repeated within 60 s
    assert again.find("Play") is not None or again.find("Gather/Play") is not None
    # an agent logs out: the raw estimate doubles, but the caller was told 8 minutes
    with session_scope(app) as session:
        session.get(AgentAccount, 2).state = "offline"
    clock.at += dt.timedelta(seconds=61)
    later = call.post(wait, {"QueuePosition": "3"})
    assert [s.text for s in later.iter("Say")][:2] == [
        "You are number 3 in the queue.",
        "Your expected wait is about 8 minutes.",
    ]
    # the queue grew in front of the caller (a callback was put ahead): the estimate may rise
    clock.at += dt.timedelta(seconds=61)
    grown = call.post(wait, {"QueuePosition": "5"})
    assert "Your expected wait is about 20 minutes." in [s.text for s in grown.iter("Say")]


def test_estimate_uses_recent_answers_per_agent(app, new_call, clock):
    log_in(app, "A010")
    with session_scope(app) as session:  # 12 orders answered in the last half hour by 1 agent
        for i in range(12):
            at = OPEN_TIME - dt.timedelta(minutes=25 - 2 * i)
            session.add(
                QueueEntry(
                    call_sid=f"CAold{i}",
                    queue="orders",
                    entered_at=at,
                    original_entered_at=at,
                    answered_at=at,
                    result="bridged",
                )
            )
    call = enqueue(new_call, "1", "1", "+393470000002")
    root = call.post(f"{PUBLIC}/voice/wait?lang=en&queue=orders&step=2", {"QueuePosition": "6"})
    # 12 answers in 1 800 agent-seconds: one every 150 s; 6th in line: 900 s = 15 minutes
    assert "Your expected wait is about 15 minutes." in [s.text for s in root.iter("Say")]


def test_each_worker_reuses_the_queue_answer_rate_for_a_few_seconds(make_app, clock):
    """A thousand callers on hold poll the wait URL: the queue's rate is computed once per
    worker per HOLD_ESTIMATE_CACHE_S (2 s by default) of the line's clock, not once per poll;
    callers' positions still differ."""
    app = make_app(CLOCK=clock)

    def new_call(app):
        client = FlaskTransport(app.test_client(), PUBLIC)
        return lambda **kw: SimulatedCall(client, PUBLIC, TOKEN, queue_outcome=QueueOutcome(), **kw)

    log_in(app, "A010")
    first = enqueue(new_call(app), "1", "1", "+393470000011")
    wait = f"{PUBLIC}/voice/wait?lang=en&queue=orders&step=2"
    says = [s.text for s in first.post(wait, {"QueuePosition": "2"}).iter("Say")]
    assert "Your expected wait is about 8 minutes." in says  # 2 x 240 s / 1 agent
    log_in(app, "A001")  # a second agent: the cached rate is still one agent's
    second = enqueue(new_call(app), "1", "1", "+393470000012")
    says = [s.text for s in second.post(wait, {"QueuePosition": "2"}).iter("Say")]
    assert "Your expected wait is about 8 minutes." in says
    clock.at += dt.timedelta(seconds=2)  # the cached rate expires
    third = enqueue(new_call(app), "1", "1", "+393470000013")
    says = [s.text for s in third.post(wait, {"QueuePosition": "2"}).iter("Say")]
    assert "Your expected wait is about 4 minutes." in says  # 2 x 240 s / 2 agents


def test_the_estimate_counts_only_the_agents_who_may_take_the_caller(app, new_call):
    """Seven orders agents on line, two of them speak Polish: a Polish caller first in line waits
    for one of those two (240 s / 2: about 2 minutes), an English caller for any of the seven
    (about 34 s: very shortly); a Norwegian caller, with no Norwegian speaker on line, is told."""
    for agent in ("A001", "A003", "A004", "A005", "A009", "A010", "A012"):
        log_in(app, agent)
    polish = enqueue(new_call, "3", "1", "+48600000003")
    root = polish.post(f"{PUBLIC}/voice/wait?lang=pl&queue=orders&step=2", {"QueuePosition": "1"})
    assert [s.text for s in root.iter("Say")] == [
        "Twoje miejsce w kolejce: 1.",
        "Przewidywany czas oczekiwania to mniej więcej 2 minuty.",
    ]
    assert {s.get("voice") for s in root.iter("Say")} == {"Polly.Ewa"}
    english = enqueue(new_call, "1", "1", "+393470000004")
    root = english.post(f"{PUBLIC}/voice/wait?lang=en&queue=orders&step=2", {"QueuePosition": "1"})
    assert [s.text for s in root.iter("Say")] == [
        "You are number 1 in the queue.",
        "You will be answered very shortly.",
    ]
    assert root.find("Gather") is None  # no callback offer for a short wait
    norwegian = enqueue(new_call, "5", "1", "+4790000005")
    root = norwegian.post(
        f"{PUBLIC}/voice/wait?lang=nb&queue=orders&step=2", {"QueuePosition": "1"}
    )
    texts = [s.text for s in root.iter("Say")]
    assert texts[0] == "Ingen medarbeider som snakker ditt språk er ledig akkurat nå."


@pytest.mark.parametrize("seconds, minutes", [(30, 0), (61, 2), (600, 10), (601, 15), (1499, 25)])
def test_estimates_are_rounded_for_people(seconds, minutes):
    assert rounded_minutes(seconds) == minutes


def test_a_caller_abandoning_in_the_queue(app, new_call, events):
    call = new_call(queue_outcome=QueueOutcome(result="hangup", queue_time_s=48, wait_polls=2))
    call.ring([Press("1"), Press("3")])
    entry = entry_of(app, call)
    assert (entry.result, entry.wait_s, entry.answered_at) == ("hangup", 48.0, None)
    assert dict(events(call.call_sid))["queue_result"]["result"] == "hangup"


def close_orphans(app, now) -> str:
    return JOBS["close_orphan_waits"](app, now)


def test_a_wait_whose_queue_result_never_came_is_closed_once_the_call_is_over(
    app, new_call, clock, events
):
    """Twilio's queue result (the Enqueue action) never reached us: a minute after the call's
    final status the job closes the entry, so it is not "waiting" for ever nor offered to agents;
    a queue result that still comes writes Twilio's own figures."""
    call = enqueue(new_call, "1", "1", "+393470000020")
    clock.at += dt.timedelta(seconds=90)
    ended = clock.at
    call.status_callback("completed")
    assert close_orphans(app, ended + dt.timedelta(seconds=30)).startswith("closed 0 wait(s)")
    assert entry_of(app, call).result is None  # its queue result may still be on its way

    message = close_orphans(app, ended + dt.timedelta(seconds=61))
    assert message == "closed 1 wait(s) of ended calls, 0 of calls with no status for hours"
    entry = entry_of(app, call)
    assert (entry.result, entry.wait_s, entry.ended_at) == ("hangup", 90.0, ended)
    with session_scope(app) as session:
        assert dispatch.waiting_callers(session, hotline_config(app), ended) == []
    assert [d for n, d in events(call.call_sid) if n == "queue_closed_without_result"] == [
        {"queue": "orders", "result": "hangup"}
    ]
    assert close_orphans(app, ended + dt.timedelta(seconds=120)).startswith("closed 0 wait(s)")

    call.post(
        f"{PUBLIC}/voice/queue-result?lang=en&queue=orders&step=2",
        {"QueueResult": "hangup", "QueueTime": "88"},
    )
    assert (entry_of(app, call).result, entry_of(app, call).wait_s) == ("hangup", 88.0)


def test_an_answered_call_whose_queue_result_never_came_is_closed_as_bridged(app, new_call, clock):
    call = enqueue(new_call, "1", "1", "+393470000021")
    clock.at += dt.timedelta(seconds=15)
    call.post(f"{PUBLIC}/voice/agent/bridge?agent=A010&queue=orders", {"QueueResult": "bridged"})
    clock.at += dt.timedelta(minutes=4)
    ended = clock.at
    call.status_callback("completed")
    close_orphans(app, ended + dt.timedelta(minutes=1))
    entry = entry_of(app, call)
    assert (entry.result, entry.wait_s, entry.handle_s, entry.ended_at) == (
        "bridged",
        15.0,
        240.0,
        ended,
    )


def test_a_queue_result_timed_before_the_answer_stores_no_negative_times(app, new_call, clock):
    """A bridged queue result whose time is before the answer's (a request replayed from the
    spool with its original time, clocks of two hosts apart): no negative handle time."""
    call = enqueue(new_call, "1", "1", "+393470000023")
    clock.at += dt.timedelta(seconds=15)
    call.post(f"{PUBLIC}/voice/agent/bridge?agent=A010&queue=orders", {"QueueResult": "bridged"})
    clock.at -= dt.timedelta(seconds=40)
    call.post(
        f"{PUBLIC}/voice/queue-result?lang=en&queue=orders&step=2",
        {"QueueResult": "bridged", "QueueTime": "15"},
    )
    entry = entry_of(app, call)
    assert (entry.result, entry.wait_s, entry.handle_s) == ("bridged", 15.0, 0.0)


def test_a_wait_with_no_status_at_all_is_closed_only_after_the_longest_call(app, new_call, clock):
    call = enqueue(new_call, "1", "1", "+393470000022")
    call.status_callback("in-progress")  # not a final status
    entered = clock.at
    close_orphans(app, entered + dt.timedelta(hours=3))
    assert entry_of(app, call).result is None  # an hour-long wait is long, not over
    message = close_orphans(app, entered + dt.timedelta(hours=4, seconds=1))
    assert message.endswith("1 of calls with no status for hours")
    entry = entry_of(app, call)
    assert (entry.result, entry.wait_s) == ("unknown", None)
    assert entry.ended_at == entered + dt.timedelta(hours=4, seconds=1)


@pytest.mark.postgres
def test_orphan_waits_are_closed_on_postgresql_too(make_app, postgres_url):
    """The job's one statement (open entries joined to their call's last final status) on
    PostgreSQL: an ended call's wait is closed with its times, a live one is left."""
    from ivr.store.models import CallEvent

    app = make_app(DATABASE_URL=postgres_url)
    entered = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    ended = entered + dt.timedelta(seconds=42)
    with session_scope(app) as session:
        for sid in ("CAended", "CAlive"):
            session.add(
                QueueEntry(
                    call_sid=sid, queue="orders", language="en", entered_at=entered,
                    original_entered_at=entered,
                )
            )  # fmt: skip
        session.add(
            CallEvent(
                call_sid="CAended", event="call_completed", dedupe_key="call_completed", at=ended
            )
        )
    message = close_orphans(app, ended + dt.timedelta(minutes=2))
    assert message.startswith("closed 1 wait(s) of ended calls, 0 of")
    assert (entry_of_sid(app, "CAended").result, entry_of_sid(app, "CAended").wait_s) == (
        "hangup",
        42.0,
    )
    assert entry_of_sid(app, "CAended").ended_at == ended
    assert entry_of_sid(app, "CAlive").result is None


# --------------------------------------------------------------------------- agents


def test_agent_logs_in_and_takes_the_longest_waiting_caller_across_two_queues(
    app, new_call, clock, events, fake_twilio
):
    """The dispatcher offers the free agent the longest wait among their queues: it moves that
    caller into the agent's own queue, whose first wait moves the agent line on to dial it."""
    with_pin(app, "A009", "2468")  # Sarah: all four queues
    early = enqueue(new_call, "1", "3", "+393470000010")  # technical
    clock.at += dt.timedelta(minutes=1)
    late = enqueue(new_call, "1", "1", "+393470000011")  # orders, a minute later
    clock.at += dt.timedelta(minutes=1)

    agent = agent_call(app, new_call)
    welcome = agent.post(f"{PUBLIC}/voice/agent")
    assert welcome.find("Gather").get("finishOnKey") == "#"
    asks_pin = agent.post(f"{PUBLIC}/voice/agent/login?attempt=1", {"Digits": "9"})
    assert asks_pin.find("Gather").get("action") == "/voice/agent/pin?agent=A009&attempt=1"
    logged = agent.post(f"{PUBLIC}/voice/agent/pin?agent=A009&attempt=1", {"Digits": "2468"})
    assert logged.find("Say").text == "You are logged in, Sarah Mitchell."
    waiting = agent.post(f"{PUBLIC}/" + logged.find("Redirect").text.lstrip("/"))
    assert waiting.find("Gather/Say").text.startswith("No callers are waiting.")
    # the dispatcher ran once that answer was sent: the early caller is moved to the agent
    moved = follow_redirects(fake_twilio, early, late, agent)
    assert list(moved) == [early.call_sid]
    enqueue_ = moved[early.call_sid].find("Enqueue")
    assert enqueue_.text == "agent-A009"
    assert enqueue_.get("action") == "/voice/queue-result?lang=en&queue=technical&step=8"
    # Twilio plays the wait URL of that queue: music, and the agent's line is moved on
    music = early.post(f"{PUBLIC}" + enqueue_.get("waitUrl"), {"QueuePosition": "1"})
    assert music.find("Play") is not None and music.find("Say") is None
    first = follow_redirects(fake_twilio, early, late, agent)[agent.call_sid]
    queue = first.find("Dial/Queue")
    assert queue.text == "agent-A009"
    assert queue.get("url") == "/voice/agent/bridge?agent=A009&queue=technical"
    assert first.find("Say").text == "Next caller, from technical support."
    # Twilio plays the bridge URL to the dequeued caller
    bridged = early.post(
        f"{PUBLIC}/voice/agent/bridge?agent=A009&queue=technical", {"QueueResult": "bridged"}
    )
    assert bridged.find("Say").text == "You are now being connected to an agent."
    with session_scope(app) as session:
        assert (
            session.scalar(select(AgentAccount.state).where(AgentAccount.agent_id == "A009"))
            == "on_call"
        )
    clock.at += dt.timedelta(minutes=4)
    result = early.post(
        f"{PUBLIC}/voice/queue-result?lang=en&queue=technical&step=8",
        {"QueueResult": "bridged", "QueueTime": "120"},
    )
    assert result.find("Redirect").text == "/voice/survey?lang=en&queue=technical"
    entry = entry_of(app, early)
    assert entry.agent_id == "A009" and entry.handle_s == 240.0
    assert entry.answered_in_language is True
    after = agent.post(
        f"{PUBLIC}/voice/agent/after?agent=A009&kind=queue&queue=technical",
        {"DialCallStatus": "completed"},
    )
    assert after.find("Gather").get("timeout") == "30"  # technical's wrap-up
    assert "Wrap-up." in after.find("Gather/Say").text
    assert follow_redirects(fake_twilio, early, late, agent) == {}  # nobody offered in wrap-up
    agent.post(f"{PUBLIC}" + after.find("Gather").get("action"), {"Digits": "#"})
    moved = follow_redirects(fake_twilio, early, late, agent)
    assert moved[late.call_sid].find("Enqueue").text == "agent-A009"
    assert entry_of(app, late).answered_at is None
    assert "agent_logged_in" in [n for n, _ in events(agent.call_sid)]
    with session_scope(app) as session:
        states = session.scalars(
            select(AgentStateChange.state)
            .where(AgentStateChange.agent_id == "A009")
            .order_by(AgentStateChange.id)
        ).all()
    assert states == ["available", "ringing", "on_call", "wrap_up", "available", "ringing"]


def test_a_callback_with_an_older_place_goes_first_and_is_retried_when_unanswered(
    app, new_call, clock, fake_twilio
):
    with_pin(app, "A010")
    with session_scope(app) as session:
        session.add(
            due_callback(
                "CAcb1",
                "+393470000099",
                dial_by="agent",
                language="it",
                queue="orders",
                original=OPEN_TIME - dt.timedelta(minutes=30),
                due=OPEN_TIME - dt.timedelta(minutes=20),
            )
        )
    caller = enqueue(new_call, "2", "1", "+393470000012")
    agent = agent_call(app, new_call)
    agent.post(f"{PUBLIC}/voice/agent/pin?agent=A010&attempt=1", {"Digits": "2468"})
    agent.post(f"{PUBLIC}/voice/agent/next?agent=A010")
    # the dispatcher gave the agent the callback: their line is moved on to dial it
    first = follow_redirects(fake_twilio, caller, agent)[agent.call_sid]
    dial = first.find("Dial")
    assert dial.find("Number").text == "+393470000099"
    assert dial.get("callerId") == "+18005550100"
    with session_scope(app) as session:  # on the customer's call: its queue shows on /api/agents
        account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == "A010"))
        assert (account.state, account.current_call_sid) == ("on_call", "CAcb1")
    after = agent.post(
        f"{PUBLIC}/voice/agent/after?agent=A010&kind=callback&cb=1", {"DialCallStatus": "no-answer"}
    )
    with session_scope(app) as session:
        callback = session.get(Callback, 1)
        assert (callback.status, callback.attempts, callback.outcome) == ("pending", 1, "no-answer")
        assert callback.due_at == OPEN_TIME + dt.timedelta(seconds=600)
    agent.post(f"{PUBLIC}" + after.find("Gather").get("action"), {"Digits": "#"})
    moved = follow_redirects(fake_twilio, caller, agent)  # the callback is not due again yet
    assert moved[caller.call_sid].find("Enqueue").text == "agent-A010"


def test_agent_with_nothing_to_do_waits_and_logs_out_with_star(app, new_call):
    with_pin(app, "A002")
    agent = agent_call(app, new_call)
    agent.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=1", {"Digits": "2468"})
    idle = agent.post(f"{PUBLIC}/voice/agent/next?agent=A002")
    assert idle.find("Gather/Say").text.startswith("No callers are waiting.")
    assert idle.find("Redirect").text == "/voice/agent/next?agent=A002"
    out = agent.post(f"{PUBLIC}/voice/agent/next?agent=A002", {"Digits": "*"})
    assert out.find("Say").text == "You are logged out. Goodbye." and out.find("Hangup") is not None
    with session_scope(app) as session:
        assert (
            session.scalar(select(AgentAccount.state).where(AgentAccount.agent_id == "A002"))
            == "offline"
        )
        assert session.scalars(select(AgentSession)).one().logged_out_at is not None


def test_hanging_up_logs_the_agent_out(app, new_call):
    with_pin(app, "A002")
    agent = agent_call(app, new_call)
    agent.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=1", {"Digits": "2468"})
    agent.status_callback("completed")
    with session_scope(app) as session:
        assert (
            session.scalar(select(AgentAccount.state).where(AgentAccount.agent_id == "A002"))
            == "offline"
        )


def test_wrong_pin_and_unknown_agent(app, new_call):
    with_pin(app, "A002", "1357")
    agent = agent_call(app, new_call)
    unknown = agent.post(f"{PUBLIC}/voice/agent/login?attempt=1", {"Digits": "77"})
    assert unknown.find("Say").text == "That agent number or PIN is not right."
    for attempt in (1, 2):
        wrong = agent.post(
            f"{PUBLIC}/voice/agent/pin?agent=A002&attempt={attempt}", {"Digits": "0000"}
        )
        assert wrong.find("Say").text == "That agent number or PIN is not right."
    last = agent.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=3", {"Digits": "0000"})
    assert last.find("Hangup") is not None
    not_in = agent.post(f"{PUBLIC}/voice/agent/next?agent=A002")
    assert not_in.find("Hangup") is not None  # no session: nothing is dequeued


def test_five_wrong_pins_over_two_calls_lock_the_agent_for_a_quarter_of_an_hour(
    app, new_call, clock, caplog
):
    """Wrong PINs count per agent, not per call: hanging up after two does not start afresh."""
    with_pin(app, "A002", "1357")
    locked = (
        "This agent login is locked after too many wrong PINs. Try again in a quarter of an "
        "hour, or ask your supervisor."
    )
    first = agent_call(app, new_call)
    for attempt in (1, 2, 3):
        answer = first.post(
            f"{PUBLIC}/voice/agent/pin?agent=A002&attempt={attempt}", {"Digits": "0000"}
        )
        assert answer.find("Say").text == "That agent number or PIN is not right."
    assert answer.find("Hangup") is not None  # three on one call end that call
    second = agent_call(app, new_call)
    answer = second.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=1", {"Digits": "0000"})
    assert answer.find("Say").text == "That agent number or PIN is not right."
    with caplog.at_level(logging.WARNING, logger="ivr.voice.agents"):
        answer = second.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=2", {"Digits": "9999"})
    assert answer.find("Say").text == locked and answer.find("Hangup") is not None
    (warning,) = [r for r in caplog.records if "locked" in r.getMessage()]
    assert warning.levelno == logging.WARNING and "A002" in warning.getMessage()
    assert "9999" not in warning.getMessage() and "1357" not in warning.getMessage()

    clock.at += dt.timedelta(minutes=14, seconds=59)
    third = agent_call(app, new_call)
    refused = third.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=1", {"Digits": "1357"})
    assert refused.find("Say").text == locked and refused.find("Hangup") is not None
    assert third.post(f"{PUBLIC}/voice/agent/next?agent=A002").find("Hangup") is not None

    clock.at += dt.timedelta(seconds=1)
    fourth = agent_call(app, new_call)
    logged = fourth.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=1", {"Digits": "1357"})
    assert logged.find("Say").text.startswith("You are logged in")
    with session_scope(app) as session:
        account = session.scalars(select(AgentAccount).where(AgentAccount.agent_id == "A002")).one()
        assert (account.wrong_pins, account.locked_until) == (0, None)


def test_a_right_pin_clears_the_count_of_wrong_ones(app, new_call):
    with_pin(app, "A002", "1357")

    def wrong_three_times() -> None:
        call = agent_call(app, new_call)
        for attempt in (1, 2, 3):
            call.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt={attempt}", {"Digits": "0"})

    wrong_three_times()
    right = agent_call(app, new_call)
    right.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=1", {"Digits": "1357"})
    wrong_three_times()  # 3 since the right one: 6 in all, and no lock
    with session_scope(app) as session:
        account = session.scalars(select(AgentAccount).where(AgentAccount.agent_id == "A002")).one()
        assert account.wrong_pins == 3 and account.locked_until is None


@pytest.mark.parametrize(
    "failure",
    [RuntimeError("a bug"), OperationalError("SELECT", {}, Exception("database is locked"))],
    ids=["bug", "database"],
)
def test_an_agent_line_failure_apologises_and_never_enqueues_the_agent(
    app, new_call, monkeypatch, failure
):
    """Whatever fails on the agent line, the agent hears an apology and goes back to the agent
    line's start: never the callers' apology, never a caller queue, nothing spooled."""
    with_pin(app, "A002")
    agent = agent_call(app, new_call)
    agent.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=1", {"Digits": "2468"})

    def broken(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(agents, "set_state", broken)
    root = agent.post(f"{PUBLIC}/voice/agent/next?agent=A002")
    assert root.find("Say").text == "Sorry, something went wrong. Please log in again."
    assert root.find("Redirect").text == "/voice/agent"
    assert root.find(".//Enqueue") is None
    assert "connect you to an operator" not in ET.tostring(root, encoding="unicode")
    with session_scope(app) as session:
        assert not session.scalars(
            select(QueueEntry).where(QueueEntry.call_sid == agent.call_sid)
        ).all()
    assert spool.pending(app) == 0


def test_an_agent_removed_from_agents_csv_while_logged_in_is_logged_out(app, new_call, monkeypatch):
    with_pin(app, "A002")
    agent = agent_call(app, new_call)
    agent.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=1", {"Digits": "2468"})
    cfg = hotline_config(app)
    without = cfg.model_copy(update={"agents": [a for a in cfg.agents if a.id != "A002"]})
    monkeypatch.setitem(app.extensions, EXTENSION, without)
    root = agent.post(f"{PUBLIC}/voice/agent/next?agent=A002")
    assert root.find("Say").text == "You are logged out. Goodbye."
    assert root.find("Hangup") is not None and root.find(".//Enqueue") is None
    with session_scope(app) as session:
        assert session.scalars(select(AgentSession)).one().logged_out_at is not None


def test_set_pin_cli_stores_a_hash(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["agents", "set-pin", "A004", "--pin", "8642"])
    assert result.exit_code == 0, result.output
    assert "8642" not in result.output
    with session_scope(app) as session:
        stored = session.scalar(
            select(AgentAccount.pin_hash).where(AgentAccount.agent_id == "A004")
        )
    assert stored != "8642" and check_password_hash(stored, "8642")
    assert runner.invoke(args=["agents", "set-pin", "A004", "--pin", "12"]).exit_code == 1
    assert (
        "no agent 'Z999'"
        in runner.invoke(args=["agents", "set-pin", "Z999", "--pin", "1234"]).output
    )


# --------------------------------------------------------------------------- survey


def test_survey_after_the_agent_hangs_up(app, new_call):
    call = new_call(queue_outcome=QueueOutcome(caller_stays=True))
    call.ring(
        [
            Press("2"),
            Press("1"),
            Press("4"),
            Press("1"),
            Recording(url="https://api.twilio.com/rec/RE77", duration_s=9),
        ]
    )
    texts = call.texts()
    assert (
        "Grazie per averci chiamato. Quanto è soddisfatto del nostro servizio? Prema un tasto da 1, per niente soddisfatto, a 5, molto soddisfatto."
        in texts
    )
    assert texts[-1] == "Grazie per la sua opinione. Arrivederci."
    with session_scope(app) as session:
        survey = session.scalars(select(Survey)).one()
    assert (survey.score, survey.queue, survey.language, survey.comment_url) == (
        4,
        "orders",
        "it",
        "https://api.twilio.com/rec/RE77",
    )


def test_survey_re_asks_once_then_thanks(app, new_call):
    call = new_call(queue_outcome=QueueOutcome(caller_stays=True))
    call.ring([Press("1"), Press("1"), Press("9"), Press("0")])
    assert call.texts().count("Sorry, that is not a valid choice.") == 1
    assert call.texts()[-1] == "Thank you for your feedback. Goodbye."
    assert call.hung_up
    with session_scope(app) as session:
        assert session.scalars(select(Survey)).all() == []


def test_survey_score_without_comment(app, new_call):
    call = new_call(queue_outcome=QueueOutcome(caller_stays=True))
    call.ring([Press("1"), Press("4"), Press("5")])
    with session_scope(app) as session:
        survey = session.scalars(select(Survey)).one()
    assert (survey.score, survey.comment_url) == (5, None)


# --------------------------------------------------------------------------- callbacks dialled by the system


def test_callback_job_dials_retries_a_no_answer_and_queues_the_customer(
    app, new_call, clock, fake_twilio
):
    clock.at = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)  # Sunday: closed
    booked = new_call(from_number="+393471112223")
    booked.ring([Press("1"), Press("2")])
    with session_scope(app) as session:
        callback = session.scalars(select(Callback)).one()
    due = callback.due_at
    assert due == dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)
    assert dial_due_callbacks(app, now=due - dt.timedelta(minutes=1)) == []
    assert fake_twilio.requests == []

    assert dial_due_callbacks(app, now=due) == [1]
    method, uri, data = fake_twilio.requests[0]
    assert method == "POST" and re.search(r"/Accounts/AC1{32}/Calls\.json$", uri)
    assert data["To"] == "+393471112223" and data["From"] == "+18005550100"
    assert data["Url"] == f"{PUBLIC}/voice/callback/answer?cb=1"
    assert data["StatusCallback"] == f"{PUBLIC}/voice/callback/status?cb=1"
    assert dial_due_callbacks(app, now=due) == []  # already dialling: not placed twice

    clock.at = due
    first_sid = f"CA{1:032x}"
    status = SimulatedCall(
        booked.transport,
        PUBLIC,
        "test-auth-token",
        call_sid=first_sid,
        from_number="+18005550100",
        to_number="+393471112223",
    )
    status.post(f"{PUBLIC}/voice/callback/status?cb=1", {"CallStatus": "no-answer"})
    status.post(f"{PUBLIC}/voice/callback/status?cb=1", {"CallStatus": "no-answer"})  # duplicate
    with session_scope(app) as session:
        callback = session.get(Callback, 1)
        assert (callback.status, callback.attempts, callback.outcome) == ("pending", 1, "no-answer")
        assert callback.due_at == due + dt.timedelta(seconds=600)

    assert dial_due_callbacks(app, now=due + dt.timedelta(seconds=300)) == []
    clock.at = due + dt.timedelta(seconds=601)
    assert dial_due_callbacks(app, now=clock.at) == [1]
    assert len(fake_twilio.requests) == 2

    second_sid = f"CA{2:032x}"
    answered = SimulatedCall(
        booked.transport,
        PUBLIC,
        "test-auth-token",
        call_sid=second_sid,
        from_number="+18005550100",
        to_number="+393471112223",
    )
    root = answered.post(f"{PUBLIC}/voice/callback/answer?cb=1")
    assert root.find("Say").text.startswith("Hello, this is Hotline calling you back as you asked.")
    assert root.find("Enqueue").text == "general"
    answered.post(f"{PUBLIC}/voice/callback/status?cb=1", {"CallStatus": "completed"})
    with session_scope(app) as session:
        callback = session.get(Callback, 1)
        assert (callback.status, callback.attempts) == ("completed", 2)
        entry = session.scalars(select(QueueEntry).where(QueueEntry.call_sid == second_sid)).one()
        assert entry.original_entered_at == callback.original_entered_at  # keeps the original place
    # no queue result came for the called-back customer: the callback's final status ends the wait
    close_orphans(app, clock.at + dt.timedelta(seconds=61))
    assert (entry_of_sid(app, second_sid).result, entry_of_sid(app, second_sid).ended_at) == (
        "hangup",
        clock.at,
    )


def test_callbacks_give_up_after_the_configured_attempts(app, fake_twilio):
    with session_scope(app) as session:
        session.add(due_callback("CAx", "+393470000055"))
    now = OPEN_TIME
    client = app.test_client()
    from ivr.demo.twilio_sim import twilio_signature

    for attempt in range(1, 4):
        assert dial_due_callbacks(app, now=now) == [1]
        sid = f"CA{attempt:032x}"
        params = {"CallSid": sid, "CallStatus": "busy", "AccountSid": "AC"}
        url = f"{PUBLIC}/voice/callback/status?cb=1"
        client.post(
            "/voice/callback/status?cb=1",
            data=params,
            headers={"X-Twilio-Signature": twilio_signature("test-auth-token", url, params)},
        )
        now += dt.timedelta(seconds=601)
    with session_scope(app) as session:
        callback = session.get(Callback, 1)
    assert (callback.status, callback.attempts, callback.outcome) == ("failed", 3, "busy")
    assert dial_due_callbacks(app, now=now + dt.timedelta(hours=1)) == []


def test_a_dial_whose_outcome_never_comes_is_retried_after_the_longest_call(app, fake_twilio):
    """The status callback (or the agent's dial action) was lost: the callback must not stay
    "dialing" for ever, with the customer never called again."""
    dial_callbacks = JOBS["dial_callbacks"]
    with session_scope(app) as session:
        session.add(due_callback("CAz", "+393470000057"))
    assert dial_due_callbacks(app, now=OPEN_TIME) == [1]
    almost = OPEN_TIME + dt.timedelta(hours=4)
    assert dial_callbacks(app, almost) == "dialled 0 callback(s)"  # a long call: still dialling
    with session_scope(app) as session:
        assert session.get(Callback, 1).status == "dialing"
    later = almost + dt.timedelta(seconds=1)
    assert dial_callbacks(app, later) == (
        "dialled 0 callback(s); 1 dial(s) with no outcome for 4 h released"
    )
    with session_scope(app) as session:
        callback = session.get(Callback, 1)
        assert (callback.status, callback.outcome, callback.attempts) == ("pending", "unknown", 1)
        assert callback.due_at == later + dt.timedelta(seconds=600)  # the retry gap
    assert dial_due_callbacks(app, now=later + dt.timedelta(seconds=600)) == [1]
    assert len(fake_twilio.requests) == 2


def rfc2822(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def test_an_agent_whose_call_ended_unreported_is_logged_out_from_twilios_answer(
    app, new_call, fake_twilio, events
):
    """The agent's own call ended and its status callback was lost: the agent stays logged in
    (on the dashboard, in the hold estimates) until the job asks Twilio about the call."""
    check = JOBS["check_lost_calls"]
    log_in(app, "A010")  # on the call CAagentA010 since an hour before OPEN_TIME
    fake_twilio.calls["CAagentA010"] = {"status": "in-progress"}
    assert check(app, OPEN_TIME) == (
        "asked Twilio about 1 call(s): 0 agent(s) logged out, 0 callback dial(s) ended,"
        " 0 waiting caller(s)' call(s) ended"
    )
    ended = OPEN_TIME + dt.timedelta(minutes=5)
    with session_scope(app) as session:  # the agent was dialling a customer on that call
        dialling = due_callback("CAv", "+393470000059", dial_by="agent")
        dialling.status, dialling.agent_id, dialling.attempts = "dialing", "A010", 1
        dialling.last_attempt_at = OPEN_TIME
        session.add(dialling)
    fake_twilio.calls["CAagentA010"] = {
        "status": "completed",
        "end_time": rfc2822(ended),
        "duration": "3900",
    }
    assert check(app, OPEN_TIME + dt.timedelta(minutes=20)) == (
        "asked Twilio about 1 call(s): 1 agent(s) logged out, 1 callback dial(s) ended,"
        " 0 waiting caller(s)' call(s) ended"
    )
    with session_scope(app) as session:
        account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == "A010"))
        login = session.scalar(select(AgentSession).where(AgentSession.agent_id == "A010"))
        assert (account.state, login.logged_out_at) == ("offline", ended)
        callback = session.scalar(select(Callback))
        assert (callback.status, callback.outcome) == ("pending", "unknown")
    # the status callback comes after all: nothing changes, nothing is counted twice
    new_call(call_sid="CAagentA010", duration_s=3900).status_callback("completed")
    completed = [d for name, d in events("CAagentA010") if name == "call_completed"]
    assert completed == [{"status": "completed", "duration_s": 3900, "source": "twilio_api"}]
    with session_scope(app) as session:
        assert session.scalar(select(AgentSession.logged_out_at)) == ended
    assert check(app, OPEN_TIME + dt.timedelta(minutes=25)).startswith(
        "asked Twilio about 0 call(s)"
    )


def test_a_callback_dial_that_ended_unreported_is_settled_from_twilios_answer(
    app, fake_twilio, events
):
    check = JOBS["check_lost_calls"]
    with session_scope(app) as session:
        session.add(due_callback("CAw", "+393470000058"))
    assert dial_due_callbacks(app, now=OPEN_TIME) == [1]
    with session_scope(app) as session:
        sid = session.get(Callback, 1).dial_call_sid
    fake_twilio.calls[sid] = {"status": "no-answer"}
    young = OPEN_TIME + dt.timedelta(minutes=9)  # its status callback may still come
    assert check(app, young).startswith("asked Twilio about 0 call(s)")
    later = OPEN_TIME + dt.timedelta(minutes=11)
    assert check(app, later) == (
        "asked Twilio about 1 call(s): 0 agent(s) logged out, 1 callback dial(s) ended,"
        " 0 waiting caller(s)' call(s) ended"
    )
    with session_scope(app) as session:
        callback = session.get(Callback, 1)
        assert (callback.status, callback.outcome, callback.attempts) == ("pending", "no-answer", 1)
        assert callback.due_at == later + dt.timedelta(seconds=600)  # the retry gap
    # the lost status callback arrives late: the attempt is not counted twice
    from ivr.demo.twilio_sim import twilio_signature

    params = {"CallSid": sid, "CallStatus": "no-answer", "AccountSid": "AC"}
    url = f"{PUBLIC}/voice/callback/status?cb=1"
    app.test_client().post(
        "/voice/callback/status?cb=1",
        data=params,
        headers={"X-Twilio-Signature": twilio_signature(TOKEN, url, params)},
    )
    with session_scope(app) as session:
        callback = session.get(Callback, 1)
        assert (callback.status, callback.attempts, callback.due_at) == (
            "pending",
            1,
            later + dt.timedelta(seconds=600),
        )
    statuses = [detail for name, detail in events(sid) if name == "callback_status"]
    assert statuses == [{"callback": 1, "status": "no-answer", "source": "twilio_api"}]


def test_a_caller_whose_call_ended_unreported_in_a_queue_is_closed_from_twilios_answer(
    make_app, fake_twilio, clock, any_db_url
):
    """The caller hung up while our server was down: neither the queue result nor the status
    callback came, and the entry would count as waiting (on the dashboard, in front of agents)
    until close_orphan_waits gave up on it hours later."""
    app = make_app(
        CLOCK=clock,
        DATABASE_URL=any_db_url,
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_HTTP_CLIENT=fake_twilio,
    )

    def new_call(**kwargs) -> SimulatedCall:
        transport = FlaskTransport(app.test_client(), PUBLIC)
        return SimulatedCall(transport, PUBLIC, TOKEN, queue_outcome=QueueOutcome(), **kwargs)

    check = JOBS["check_lost_calls"]
    gone = enqueue(new_call, "1", "1", "+393470000024")
    still = enqueue(new_call, "1", "1", "+393470000025")
    entered = clock.at
    fake_twilio.calls[gone.call_sid] = {
        "status": "completed",
        "end_time": rfc2822(entered + dt.timedelta(minutes=3)),
        "duration": "200",
    }
    fake_twilio.calls[still.call_sid] = {"status": "in-progress"}
    assert check(app, entered + dt.timedelta(minutes=9)).startswith("asked Twilio about 0 call(s)")
    later = entered + dt.timedelta(minutes=11)
    assert check(app, later) == (
        "asked Twilio about 2 call(s): 0 agent(s) logged out, 0 callback dial(s) ended,"
        " 1 waiting caller(s)' call(s) ended"
    )
    closed = JOBS["close_orphan_waits"](app, later + dt.timedelta(minutes=1))
    assert closed == "closed 1 wait(s) of ended calls, 0 of calls with no status for hours"
    entry = entry_of(app, gone)
    assert (entry.result, entry.wait_s) == ("hangup", 180.0)
    assert entry_of(app, still).result is None
    assert check(app, later + dt.timedelta(minutes=5)).startswith("asked Twilio about 1 call(s)")


def test_calls_twilio_cannot_tell_about_change_nothing(app, make_app, clock, fake_twilio):
    log_in(app, "A010")  # fake_twilio knows nothing of CAagentA010: 404
    assert check_lost_calls_detail(app) == (
        "asked Twilio about 1 call(s): 0 agent(s) logged out, 0 callback dial(s) ended,"
        " 0 waiting caller(s)' call(s) ended;"
        " 1 could not be asked"
    )
    with session_scope(app) as session:
        assert session.scalar(select(AgentSession.logged_out_at)) is None
    # Twilio out of reach: one try, not one timeout per call; the next run asks again
    log_in(app, "A009")
    fake_twilio.unreachable = True
    asked = len(fake_twilio.requests)
    assert check_lost_calls_detail(app) == (
        "asked Twilio about 0 call(s): 0 agent(s) logged out, 0 callback dial(s) ended,"
        " 0 waiting caller(s)' call(s) ended;"
        " Twilio could not be reached: 2 call(s) not asked"
    )
    assert len(fake_twilio.requests) == asked + 1
    with session_scope(app) as session:
        assert session.scalars(select(AgentSession.logged_out_at)).all() == [None, None]
    demo = make_app(CLOCK=clock, TWILIO_ACCOUNT_SID="")
    assert check_lost_calls_detail(demo) == "no Twilio credentials: nothing asked"


def check_lost_calls_detail(app) -> str:
    return JOBS["check_lost_calls"](app, OPEN_TIME)


def test_without_credentials_the_dialler_logs_instead_of_failing(make_app, clock, caplog):
    app = make_app(CLOCK=clock, TWILIO_ACCOUNT_SID="")
    with session_scope(app) as session:
        session.add(due_callback("CAy", "+393470000056"))
    with caplog.at_level(logging.INFO, logger="ivr.voice.twilio_rest"):
        assert dial_due_callbacks(app, now=OPEN_TIME) == [1]
    assert "would dial +39*******056" in caplog.text
    assert "+393470000056" not in caplog.text


def test_callbacks_cli(app):
    result = app.test_cli_runner().invoke(args=["callbacks", "dial-due"])
    assert result.exit_code == 0 and "dialled 0 callback(s)" in result.output


def test_agents_list_cli(app):
    with_pin(app, "A001")
    output = app.test_cli_runner().invoke(args=["agents", "list"]).output
    assert re.search(r"A001\s+Giulia Rossi\s+offline", output)
    assert re.search(r"A002\s+Marco Bianchi\s+no PIN", output)
    assert CliRunner  # the group is also reachable through the hotline entry point
