"""The spool replays what an unreachable database could not take; what the database refused for
its data is set aside (it would be refused on every replay and hold up the rest), and a replayed
request's clock is its own, never the app's."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ivr import clock
from ivr.store import calllog
from ivr.store.db import session_scope
from ivr.store.models import CallEvent
from ivr.voice import spool

from .conftest import signed_post as post

BAD, GOOD = "CA" + "b" * 32, "CA" + "c" * 32


def refusing(error: Exception, sids: set[str]):
    """``calllog.ensure_call`` failing with ``error`` for these calls only."""
    real = calllog.ensure_call

    def ensure_call(session, params, at):
        if params.get("CallSid") in sids:
            raise error
        return real(session, params, at)

    return ensure_call


def refused() -> IntegrityError:
    return IntegrityError("INSERT INTO calls ...", {}, Exception("violates a constraint"))


def unreachable() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("connection refused"))


def stored_events(app, sid: str) -> int:
    with session_scope(app) as session:
        return session.scalar(
            select(func.count()).select_from(CallEvent).where(CallEvent.call_sid == sid)
        )


def test_a_request_the_database_refuses_is_set_aside_not_spooled(app, monkeypatch):
    monkeypatch.setattr(calllog, "ensure_call", refusing(refused(), {BAD}))
    client = app.test_client()
    response = post(client, "/voice/status", {"CallSid": BAD, "CallStatus": "completed"})
    assert response.status_code == 200 and b"<Enqueue" not in response.data  # nobody listens
    assert (spool.pending(app), spool.refused(app)) == (0, 1)
    assert client.get("/healthz").get_json()["refused_webhooks"] == 1


def test_an_unreachable_database_spools_the_request(app, monkeypatch):
    monkeypatch.setattr(calllog, "ensure_call", refusing(unreachable(), {BAD}))
    post(app.test_client(), "/voice/status", {"CallSid": BAD, "CallStatus": "completed"})
    assert (spool.pending(app), spool.refused(app)) == (1, 0)


def test_replay_sets_a_refused_record_aside_and_goes_on(app, monkeypatch):
    client = app.test_client()
    with monkeypatch.context() as patch:  # both spooled: the database seemed down
        patch.setattr(calllog, "ensure_call", refusing(unreachable(), {BAD, GOOD}))
        for sid in (BAD, GOOD):
            post(client, "/voice/status", {"CallSid": sid, "CallStatus": "completed"})
    assert spool.pending(app) == 2
    monkeypatch.setattr(calllog, "ensure_call", refusing(refused(), {BAD}))  # back, refuses BAD
    assert spool.replay(app) == (1, 0)
    assert (spool.pending(app), spool.refused(app)) == (0, 1)
    assert stored_events(app, GOOD) == 1 and stored_events(app, BAD) == 0


def test_replay_keeps_everything_while_the_database_is_unreachable(app, monkeypatch):
    monkeypatch.setattr(calllog, "ensure_call", refusing(unreachable(), {BAD, GOOD}))
    client = app.test_client()
    for sid in (BAD, GOOD):
        post(client, "/voice/status", {"CallSid": sid, "CallStatus": "completed"})
    assert spool.replay(app) == (0, 2)
    assert (spool.pending(app), spool.refused(app)) == (2, 0)


def test_a_replayed_request_has_its_own_clock_and_no_one_elses(app, monkeypatch):
    """The replay must not set the app's clock: requests served meanwhile keep the real one."""
    seen: dict[str, dt.datetime] = {}
    real = calllog.ensure_call

    def ensure_call(session, params, at):
        seen["replayed"] = at
        with app.test_request_context("/voice/status", method="POST"):  # a request meanwhile
            seen["meanwhile"] = clock.now()
        return real(session, params, at)

    arrived = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    with monkeypatch.context() as patch:
        patch.setattr(calllog, "ensure_call", refusing(unreachable(), {GOOD}))
        app.config["CLOCK"] = lambda: arrived
        post(app.test_client(), "/voice/status", {"CallSid": GOOD, "CallStatus": "completed"})
    later = arrived + dt.timedelta(hours=2)
    app.config["CLOCK"] = lambda: later
    monkeypatch.setattr(calllog, "ensure_call", ensure_call)
    assert spool.replay(app) == (1, 0)
    assert seen == {"replayed": arrived, "meanwhile": later}


@pytest.fixture
def app(make_app):
    return make_app()


def test_the_spool_replays_the_view_itself_whatever_wraps_it(app):
    """The replayed function is named on the route, not found by peeling decorators: callers'
    webhooks name their view; the hold loop and the agent line are not replayed at all."""
    from ivr.voice.menu import menu

    views = app.view_functions
    assert getattr(views["voice.menu"], spool.REPLAYS) is menu.__wrapped__.__wrapped__
    assert getattr(views["voice.incoming"], spool.REPLAYS).__name__ == "incoming"
    assert not hasattr(views["hold.wait"], spool.REPLAYS)
    assert not hasattr(views["agent_line.next_call"], spool.REPLAYS)
