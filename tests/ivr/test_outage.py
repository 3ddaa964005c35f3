"""A real PostgreSQL server stopped mid-run: callers are still answered, their webhooks are
journalled, and replayed exactly once when the database is back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ivr.demo.twilio_sim import Press, QueueOutcome
from ivr.store.db import session_scope
from ivr.store.models import CallEvent, ComplaintTicket, QueueEntry
from ivr.voice import spool

from .conftest import PUBLIC

pytestmark = pytest.mark.postgres


def test_database_outage_spools_and_replays(make_app, clock, postgres_server, postgres_url):
    app = make_app(CLOCK=clock, DATABASE_URL=postgres_url)
    before = new_call_factory(app)
    before().ring([Press("1"), Press("1")])  # normal call: stored at once

    postgres_server.stop("fast")
    try:
        during = new_call_factory(app)(
            from_number="+393339876543",
            queue_outcome=QueueOutcome(result="hangup", queue_time_s=20),
        )
        root = during.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
        assert root.find("Enqueue").text == "general"  # greeted and routed, from config in memory
        clock.at += dt.timedelta(seconds=30)
        during.post(f"{PUBLIC}/voice/menu?lang=en&attempt=1&step=2", {"Digits": "2"})  # a complaint
        during.status_callback("completed")
        assert spool.pending(app) == 3
    finally:
        postgres_server.restart()
    with session_scope(app) as session:  # the pool holds a live connection again, which...
        session.execute(select(1))
    postgres_server.stop("fast")  # ...a second restart drops: the replay takes a new one
    postgres_server.restart()

    done, left = spool.replay(app)
    assert (done, left) == (3, 0)
    again = spool.replay(app)
    assert again == (0, 0)
    with session_scope(app) as session:
        events = dict(
            session.execute(
                select(CallEvent.event, func.count())
                .where(CallEvent.call_sid == during.call_sid)
                .group_by(CallEvent.event)
            ).all()
        )
        tickets = session.scalars(
            select(ComplaintTicket).where(ComplaintTicket.call_sid == during.call_sid)
        ).all()
        queues = sorted(
            session.scalars(select(QueueEntry.queue).where(QueueEntry.call_sid == during.call_sid))
        )
        started = session.scalar(
            select(CallEvent.at).where(
                CallEvent.call_sid == during.call_sid, CallEvent.event == "call_started"
            )
        )
    # what the caller heard: the apology and general at the greeting, then (as the simulated call
    # goes on to the menu) complaints as chosen, with no reference read out: so no ticket
    assert events == {
        "call_started": 1,
        "fallback_to_queue": 1,
        "menu_choice": 1,
        "enqueued": 2,
        "call_completed": 1,
    }
    assert queues == ["complaints", "general"] and tickets == []
    assert started == dt.datetime(
        2026, 11, 25, 9, 0, tzinfo=dt.UTC
    )  # the time it arrived, not the replay's


def new_call_factory(app):
    from ivr.demo.twilio_sim import FlaskTransport, QueueOutcome, SimulatedCall

    def make(**kwargs):
        kwargs.setdefault("queue_outcome", QueueOutcome())
        return SimulatedCall(
            FlaskTransport(app.test_client(), PUBLIC), PUBLIC, "test-auth-token", **kwargs
        )

    return make


def test_replay_keeps_requests_while_the_database_is_still_down(make_app, clock, tmp_path):
    app = make_app(
        CLOCK=clock, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:9/none", AUTO_MIGRATE=False
    )
    call = new_call_factory(app)()
    call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    assert spool.pending(app) == 1
    assert spool.replay(app) == (0, 1)
    assert spool.pending(app) == 1


def test_a_restarted_server_costs_callers_nothing(make_app, clock, postgres_server, postgres_url):
    """The server restarts between two calls: the pooled connections it dropped are noticed and
    replaced. The next caller is routed as asked, nothing is spooled, and the journal and the
    spool write to the new server."""
    app = make_app(CLOCK=clock, DATABASE_URL=postgres_url)
    new_call_factory(app)(from_number="+393339870001").ring([Press("1"), Press("1")])
    postgres_server.stop("fast")
    postgres_server.restart()
    call = new_call_factory(app)(from_number="+393339870002")
    root = call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    assert root.find("Enqueue") is None  # no apology: the language menu as always
    call.post(f"{PUBLIC}/voice/language?attempt=1&step=1", {"Digits": "1"})
    answer = call.post(f"{PUBLIC}/voice/menu?lang=en&attempt=1&step=2", {"Digits": "1"})
    assert answer.find("Enqueue").text == "orders"
    postgres_server.stop("fast")  # again, now that the hold loop's reads have a pool too
    postgres_server.restart()
    hold = "lang=en&queue=orders&step=2"
    music = call.post(f"{PUBLIC}/voice/wait?{hold}", {"QueuePosition": "1", "QueueTime": "5"})
    assert music.find("Enqueue") is None and list(music.iter("Play"))  # no apology
    call.post(f"{PUBLIC}/voice/queue-result?{hold}", {"QueueResult": "hangup", "QueueTime": "9"})
    assert spool.pending(app) == 0
    with session_scope(app) as session:
        events = set(
            session.scalars(select(CallEvent.event).where(CallEvent.call_sid == call.call_sid))
        )
        result = session.scalar(
            select(QueueEntry.result).where(QueueEntry.call_sid == call.call_sid)
        )
    assert {"call_started", "language_chosen", "menu_choice", "enqueued", "queue_result"} <= events
    assert result == "hangup"
    postgres_server.stop("fast")
    postgres_server.restart()
    assert app.test_client().get("/healthz").get_json()["database"]["ok"]


def test_a_page_after_a_server_restart_asks_to_try_again(
    make_app, clock, postgres_server, postgres_url
):
    app = make_app(CLOCK=clock, DATABASE_URL=postgres_url, API_TOKENS=["ops-token"])
    client, auth = app.test_client(), {"Authorization": "Bearer ops-token"}
    assert client.get("/api/queues", headers=auth).status_code == 200  # the pool holds a connection
    postgres_server.stop("fast")
    postgres_server.restart()
    reset = client.get("/api/queues", headers=auth)
    assert reset.status_code == 503 and reset.headers["Retry-After"] == "1"
    assert client.get("/api/queues", headers=auth).status_code == 200  # on a new connection


def test_callers_go_where_they_chose_while_the_database_is_down(
    make_app, clock, postgres_server, postgres_url
):
    """With the database down the menu still routes from the configuration in memory, the hold
    loop plays music (and is not spooled: a poll replayed later means nothing), the queue result
    says goodbye; the spooled menu and queue result are written once when it is back."""
    app = make_app(CLOCK=clock, DATABASE_URL=postgres_url)
    call = new_call_factory(app)(from_number="+393339870003")
    call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    call.post(f"{PUBLIC}/voice/language?attempt=1&step=1", {"Digits": "1"})
    postgres_server.stop("fast")
    hold = "lang=en&queue=technical&step=2"
    try:
        root = call.post(f"{PUBLIC}/voice/menu?lang=en&attempt=1&step=2", {"Digits": "3"})
        assert root.find("Enqueue").text == "technical"  # as chosen, not the apology's general
        assert "went wrong" not in (root.find("Say").text or "")
        music = call.post(f"{PUBLIC}/voice/wait?{hold}", {"QueuePosition": "1", "QueueTime": "5"})
        assert music.find("Enqueue") is None and list(music.iter("Play"))
        bye = call.post(
            f"{PUBLIC}/voice/queue-result?{hold}", {"QueueResult": "hangup", "QueueTime": "9"}
        )
        assert bye.find("Hangup") is not None and bye.find("Enqueue") is None
        assert spool.pending(app) == 2  # the menu and the queue result, not the hold poll
    finally:
        postgres_server.restart()
    assert spool.replay(app) == (2, 0)
    with session_scope(app) as session:
        events = dict(
            session.execute(
                select(CallEvent.event, func.count())
                .where(CallEvent.call_sid == call.call_sid)
                .group_by(CallEvent.event)
            ).all()
        )
        entry = session.scalars(
            select(QueueEntry).where(QueueEntry.call_sid == call.call_sid)
        ).one()
    assert events["menu_choice"] == events["enqueued"] == events["queue_result"] == 1
    assert (entry.queue, entry.result) == ("technical", "hangup")
