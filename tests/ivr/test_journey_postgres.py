"""The caller's journey on a real PostgreSQL server: the same writes, the same idempotency."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from ivr.demo.twilio_sim import Press, QueueOutcome, Recording
from ivr.store.db import session_scope
from ivr.store.models import CallEvent, ComplaintTicket, QueueEntry, Survey

from .conftest import PUBLIC

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(make_app, clock, postgres_url):
    return make_app(CLOCK=clock, DATABASE_URL=postgres_url)


def test_complaint_call_with_survey_on_postgresql(app, new_call):
    call = new_call(queue_outcome=QueueOutcome(caller_stays=True))
    call.ring([Press("1"), Press("2"), Press("5"), Press("1"), Recording()])
    with session_scope(app) as session:
        entry = session.scalars(select(QueueEntry)).one()
        ticket = session.scalars(select(ComplaintTicket)).one()
        survey = session.scalars(select(Survey)).one()
        events = [e.event for e in session.scalars(select(CallEvent).order_by(CallEvent.id))]
    assert (entry.queue, entry.result) == ("complaints", "bridged")
    assert len(ticket.reference) == 8 and survey.score == 5 and survey.comment_url
    assert events[:2] == ["call_started", "language_chosen"] and events[-1] == "call_completed"


def test_retries_write_nothing_twice_on_postgresql(app, new_call):
    call = new_call()
    call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    call.post(f"{PUBLIC}/voice/language?attempt=1&step=1", {"Digits": "1"})
    url = f"{PUBLIC}/voice/menu?lang=en&attempt=1&step=2"
    first = ET.tostring(call.post(url, {"Digits": "2"}))
    assert ET.tostring(call.post(url, {"Digits": "2"})) == first
    call.status_callback("completed")
    call.status_callback("completed")
    with session_scope(app) as session:
        counts = dict(
            session.execute(select(CallEvent.event, func.count()).group_by(CallEvent.event)).all()
        )
        assert session.scalar(select(func.count()).select_from(QueueEntry)) == 1
    assert counts == {
        "call_started": 1,
        "language_chosen": 1,
        "menu_choice": 1,
        "ticket_opened": 1,
        "enqueued": 1,
        "call_completed": 1,
    }


def test_abandoned_call_on_postgresql(app, new_call):
    new_call(queue_outcome=QueueOutcome(result="hangup", queue_time_s=33)).ring(
        [Press("3"), Press("4")]
    )
    with session_scope(app) as session:
        entry = session.scalars(select(QueueEntry)).one()
    assert (entry.queue, entry.language, entry.result, entry.wait_s) == (
        "general",
        "pl",
        "hangup",
        33.0,
    )
