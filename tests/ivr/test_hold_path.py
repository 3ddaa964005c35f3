"""The hold loop under load: a hold poll never waits for a dispatch under way (and what it asked
for is still dispatched), the agents who may take a caller follow the configuration, the
announcements follow the line as the estimate reads it, and the dispatcher reads only the waiting
callers the free agents may take."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
from sqlalchemy import select

from ivr.config import EXTENSION, hotline_config
from ivr.config.loader import load_config
from ivr.store.agent_states import set_state
from ivr.store.db import session_scope
from ivr.store.models import AgentSession, QueueEntry
from ivr.voice import dispatch
from ivr.voice.agents import set_pin
from ivr.voice.dispatch import Free, pairings, rank
from ivr.voice.state import eligible_agents

from .conftest import OPEN_TIME, PUBLIC

CFG = load_config()
AGENTS = {agent.id: agent for agent in CFG.agents}
GUARD_S = 30  # only so that a regression fails instead of hanging: never reached when it works


@pytest.fixture
def app(make_app, clock, fake_twilio):
    return make_app(CLOCK=clock, TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_HTTP_CLIENT=fake_twilio)


def on_line(app, agent_id: str, state: str = "available") -> None:
    """The agent logged in on the agent line (available unless ``state`` says otherwise)."""
    since = OPEN_TIME - dt.timedelta(minutes=5)
    with session_scope(app) as session:
        set_pin(session, AGENTS[agent_id], "2468")
        session.flush()
        session.add(
            AgentSession(agent_id=agent_id, call_sid=f"CAagent{agent_id}", logged_in_at=since)
        )
        set_state(session, agent_id, state, since)
    # each worker's snapshot of the line is HOLD_ESTIMATE_CACHE_S old at most; the tests' clock
    # stands still: the next poll reads the line afresh
    app.extensions.pop("hotline.line_now", None)


def caller(new_call, lang_key: str, phone: str):
    """A caller in the orders queue, in the language of ``lang_key``."""
    call = new_call(from_number=phone)
    call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    menu = call.post(f"{PUBLIC}/voice/language?attempt=1&step=1", {"Digits": lang_key})
    call.post(f"{PUBLIC}{menu.find('Gather').get('action')}", {"Digits": "1"})
    return call


def hold(call, lang: str):
    return call.post(f"{PUBLIC}/voice/wait?lang={lang}&queue=orders&step=2", {"QueuePosition": "1"})


def offered(app) -> dict[str, str | None]:
    with session_scope(app) as session:
        return dict(session.execute(select(QueueEntry.call_sid, QueueEntry.offered_to)).all())


def in_thread(work) -> tuple[threading.Thread, threading.Event]:
    """``work()`` in a thread of its own (a server thread); the event is set once it is done."""
    done = threading.Event()

    def target() -> None:
        work()
        done.set()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, done


def test_a_hold_poll_never_waits_for_a_dispatch_under_way(app, new_call, monkeypatch):
    """A dispatch can take seconds (Twilio's REST API, a database lock): hold polls meanwhile
    are answered and their threads are free at once; the run under way runs once more for them,
    in its own thread, however many asked."""
    real_run = dispatch.run
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow_run(app_, now=None):
        runs.append(threading.current_thread().name)
        if len(runs) == 1:
            started.set()
            assert release.wait(GUARD_S)
        return real_run(app_, now)

    monkeypatch.setattr(dispatch, "run", slow_run)
    on_line(app, "A001", "on_call")  # someone works (else no poll dispatches), nobody is free
    first = caller(new_call, "2", "+393470000401")
    second = caller(new_call, "2", "+393470000402")
    slow, _ = in_thread(lambda: hold(first, "it"))
    try:
        assert started.wait(GUARD_S)
        answers = []
        _, done = in_thread(lambda: answers.extend([hold(second, "it"), hold(first, "it")]))
        assert done.wait(GUARD_S), "a hold poll waited for the dispatch under way"
        assert [answer.find(".//Play") is not None for answer in answers] == [True, True]
        assert len(runs) == 1  # nothing ran in the polls' thread
    finally:
        release.set()
        slow.join(GUARD_S)
    assert runs == [slow.name, slow.name]  # the two asks: one more run, by the busy thread


def test_with_nobody_working_a_hold_poll_starts_no_dispatch(app, new_call, monkeypatch):
    """Nobody logged in and working: nobody can be free, so a thousand callers on hold start
    no dispatch (an agent who starts working dispatches at once)."""
    runs = []
    monkeypatch.setattr(dispatch, "run", lambda app_, now=None: runs.append(now) or [])
    first = caller(new_call, "2", "+393470000411")
    runs.clear()  # the caller's arrival may dispatch
    hold(first, "it")
    assert runs == []
    on_line(app, "A001", "not_ready")  # logged in, not working: still nobody to offer to
    hold(first, "it")
    assert runs == []
    on_line(app, "A002", "available")
    hold(first, "it")
    assert len(runs) == 1


def test_an_agent_freed_during_a_dispatch_gets_the_caller_from_the_run_after_it(
    app, new_call, monkeypatch
):
    """The run under way read the free agents before this one was free: the hold poll that
    comes meanwhile is not lost, the caller is offered once that run is over."""
    real_run = dispatch.run
    read, release = threading.Event(), threading.Event()

    def run_then_linger(app_, now=None):
        offers = real_run(app_, now)
        if not read.is_set():
            read.set()
            assert release.wait(GUARD_S)
        return offers

    monkeypatch.setattr(dispatch, "run", run_then_linger)
    on_line(app, "A001", "on_call")  # someone works (else no poll dispatches), nobody is free
    call = caller(new_call, "2", "+393470000403")
    busy, _ = in_thread(lambda: hold(call, "it"))  # nobody free yet
    try:
        assert read.wait(GUARD_S)
        on_line(app, "A010")
        _, done = in_thread(lambda: hold(call, "it"))
        assert done.wait(GUARD_S)
        assert offered(app) == {call.call_sid: None}
    finally:
        release.set()
        busy.join(GUARD_S)
    assert offered(app) == {call.call_sid: "A010"}


def test_the_agents_who_may_take_a_caller_follow_a_configuration_reload(
    app, new_call, clock, monkeypatch
):
    """A Norwegian caller is told nobody on line speaks their language, until the configuration
    says the agent on line does."""
    on_line(app, "A010", "on_call")  # orders, Italian and English
    call = caller(new_call, "5", "+4790000401")
    says = [s.text for s in hold(call, "nb").iter("Say")]
    assert says[0] == "Ingen medarbeider som snakker ditt språk er ledig akkurat nå."
    cfg = hotline_config(app)
    polyglot = AGENTS["A010"].model_copy(update={"languages": ["it", "en", "nb"]})
    reloaded = cfg.model_copy(
        update={"agents": [polyglot if a.id == "A010" else a for a in cfg.agents]}
    )
    monkeypatch.setitem(app.extensions, EXTENSION, reloaded)
    clock.at += dt.timedelta(seconds=cfg.line.hold.announce_every_s)
    says = [s.text for s in hold(call, "nb").iter("Say")]
    assert says[0] == "Du er nummer 1 i køen."
    assert "A010" in eligible_agents(reloaded, "orders", "nb")
    assert "A010" not in eligible_agents(cfg, "orders", "nb")


def test_a_caller_is_told_nobody_speaks_their_language_until_someone_who_does_logs_in(
    app, new_call, clock
):
    """The announcement reads the line as the estimate does (once per HOLD_ESTIMATE_CACHE_S of
    the line's clock): at the next announcement after a Norwegian speaker logs in, the caller is
    no longer told nobody speaks their language, and hears an estimate."""
    call = caller(new_call, "5", "+4790000402")
    says = [s.text for s in hold(call, "nb").iter("Say")]
    assert says[:2] == [
        "Ingen medarbeider som snakker ditt språk er ledig akkurat nå.",
        "Du er nummer 1 i køen.",
    ]
    on_line(app, "A007", "on_call")  # orders, Norwegian
    clock.at += dt.timedelta(seconds=hotline_config(app).line.hold.announce_every_s)
    says = [s.text for s in hold(call, "nb").iter("Say")]
    assert says == ["Du er nummer 1 i køen.", "Forventet ventetid er omtrent 4 minutter."]


@pytest.mark.parametrize("language", ["en", "it", "pl", "nb", None])
def test_the_agents_who_may_take_a_caller_change_with_the_overflow_only(language):
    """Asked in any order, before and after each queue's overflow, the answer is the
    dispatcher's own ranking of every agent."""
    for queue in CFG.queues:
        limit = queue.overflow_after_s
        waits = [0.0, limit - 1, limit, limit + 30, 0.0, limit] if limit else [0.0, 600.0, 0.0]
        for waited in waits:
            expected = {
                agent.id
                for agent in CFG.agents
                if (
                    queue.id in agent.skills
                    if language is None
                    else rank(agent, queue, language, waited) is not None
                )
            }
            assert eligible_agents(CFG, queue.id, language, waited) == expected


def overflow_variant(cfg):
    """The shipped queues, but general overflowing to the orders agents and technical never
    overflowing: every branch of the ranking."""
    queues = [
        q.model_copy(update={"overflow_skills": ["orders"]})
        if q.id == "general"
        else q.model_copy(update={"overflow_after_s": None})
        if q.id == "technical"
        else q
        for q in cfg.queues
    ]
    return cfg.model_copy(update={"queues": queues})


@pytest.mark.parametrize("variant", ["shipped", "overflow"])
def test_the_dispatcher_reads_only_callers_the_free_agents_may_take_and_pairs_the_same(
    app, variant
):
    """Whatever agents are free, the callers the dispatcher reads (only those one of them may
    take now) are paired exactly as if it had read every waiting caller; those it leaves out
    are callers none of the free agents may take."""
    cfg = hotline_config(app) if variant == "shipped" else overflow_variant(hotline_config(app))
    rng = random.Random(7)
    now = OPEN_TIME
    languages = [lang.code for lang in cfg.languages] + [None]
    with session_scope(app) as session:
        for index in range(300):
            queue = rng.choice(cfg.queues)
            waited = rng.choice([0, 10, 59, 60, 61, 120, 600, queue.overflow_after_s or 0])
            since = now - dt.timedelta(seconds=waited)
            session.add(
                QueueEntry(
                    call_sid=f"CA{index:032d}",
                    queue=queue.id,
                    language=rng.choice(languages),
                    entered_at=since,
                    original_entered_at=since,
                )
            )
    teams = [[AGENTS[a]] for a in ("A007", "A008", "A009", "A029", "A034")]
    teams += [rng.sample(list(AGENTS.values()), k) for k in (2, 3, 5, 12)]
    with session_scope(app) as session:
        everyone = dispatch.waiting_callers(session, cfg, now)
        for team in teams:
            free = [
                Free(agent, now - dt.timedelta(seconds=i), "phone", f"CAagent{agent.id}")
                for i, agent in enumerate(team)
            ]
            narrowed = dispatch.waiting_callers(session, cfg, now, team)
            assert pairings(narrowed, free, cfg, now) == pairings(everyone, free, cfg, now)
            left_out = set(everyone) - set(narrowed)
            assert set(narrowed) <= set(everyone)
            for item in left_out:
                waited = (now - item.since).total_seconds()
                queue = cfg.queue(item.queue)
                assert all(rank(a, queue, item.language, waited) is None for a in team), item
            assert len(everyone) == 300 and narrowed  # every team may take someone
