"""Numbers Twilio sends (positions, waits, durations, our own row ids) taken at face value could
overflow a column or a conversion: a signed request with absurd ones is still answered as usual,
nothing is spooled, and what is stored is clamped."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ivr.store.db import session_scope
from ivr.store.models import Call, QueueEntry
from ivr.voice import spool

from .conftest import signed_post

HUGE = "9" * 30  # beyond any integer column, and beyond int64
SID = "CA" + "e" * 32


def post(client, path: str, form: dict):
    response = signed_post(client, path, form)
    assert response.status_code == 200, (path, response.status_code)
    assert b"went wrong" not in response.data, (path, response.data)
    return response


def last_position(app) -> int | None:
    with session_scope(app) as session:
        return session.scalars(select(QueueEntry.last_position)).one()


@pytest.fixture
def app(make_app, clock, any_db_url):
    return make_app(CLOCK=clock, DATABASE_URL=any_db_url)


def test_absurd_numbers_are_clamped_not_fatal(app, clock):
    client = app.test_client()
    call = {"CallSid": SID, "From": "+393331234567", "To": "+18005550100"}
    post(client, "/voice/incoming", call)
    post(client, "/voice/menu?lang=en&attempt=1&step=2", {**call, "Digits": "1"})
    wait = "/voice/wait?lang=en&queue=orders&step=2"
    post(client, wait, {**call, "QueuePosition": HUGE, "AvgQueueTime": "1e400"})
    assert last_position(app) == 100_000
    clock.at += dt.timedelta(minutes=2)  # the next announcement is due
    post(client, wait, {**call, "QueuePosition": "nan", "AvgQueueTime": "-inf"})
    post(
        client,
        "/voice/queue-result?lang=en&queue=orders&step=2",
        {**call, "QueueResult": "hangup", "QueueTime": HUGE},
    )
    post(
        client,
        "/voice/voicemail?lang=en",
        {**call, "RecordingUrl": "https://r/1", "RecordingDuration": HUGE},
    )
    post(client, "/voice/status", {**call, "CallStatus": "completed", "CallDuration": HUGE})
    post(
        client,
        f"/voice/callback/status?cb={HUGE}",
        {"CallSid": "CA" + "f" * 32, "CallStatus": "busy"},
    )

    assert spool.pending(app) == 0
    with session_scope(app) as session:
        entry = session.scalars(select(QueueEntry).where(QueueEntry.call_sid == SID)).one()
        stored = session.scalars(select(Call).where(Call.call_sid == SID)).one()
        assert entry.last_position == 1  # "nan" is no position: the first
        assert entry.ended_at is not None and entry.wait_s is not None
        assert stored.duration_s == 86_400
        assert stored.voicemail_duration_s == 86_400


@pytest.mark.parametrize("digits", ["²", "٣", "9" * 5000])
def test_digits_that_are_not_ascii_numbers_reach_no_conversion(app, digits):
    client = app.test_client()
    form = {"CallSid": "CA" + "d" * 32, "Digits": digits}
    response = post(client, "/voice/agent/login", form)
    assert response.data.startswith(b"<?xml")
