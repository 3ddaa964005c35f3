"""Satisfaction per queue, agent and week: distribution, mean with its count, the 12-week trend,
the share of answered calls surveyed, the comments behind low scores; page and CSV."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr import feedback
from ivr.config import hotline_config
from ivr.store.db import session_scope
from ivr.store.models import QueueEntry, Survey

from .conftest import OPEN_TIME, login

# (call, queue, agent, score, comment, days before OPEN_TIME)
SCRIPT = [
    ("CA1", "orders", "A001", 5, None, 0),
    ("CA2", "orders", "A001", 4, None, 1),
    ("CA3", "orders", "A010", 1, "https://api.twilio.com/rec/RE1", 2),
    ("CA4", "complaints", "A001", 2, "https://api.twilio.com/rec/RE2", 9),
    ("CA5", "complaints", "A001", 3, None, 9),
    ("CA6", "orders", "A010", None, None, 0),  # answered, not surveyed
    ("CA7", "orders", "A001", 5, None, 120),  # outside the 12 weeks
]


@pytest.fixture
def surveyed(app):
    with session_scope(app) as session:
        for sid, queue, agent, score, comment, days in SCRIPT:
            at = OPEN_TIME - dt.timedelta(days=days)
            session.add(
                QueueEntry(call_sid=sid, queue=queue, language="it", entered_at=at,
                           original_entered_at=at, answered_at=at, agent_id=agent,
                           result="bridged")
            )  # fmt: skip
            if score is not None:
                session.add(
                    Survey(call_sid=sid, queue=queue, score=score, comment_url=comment,
                           created_at=at + dt.timedelta(minutes=5))
                )  # fmt: skip
    return app


def test_the_report_counts_what_the_surveys_said(surveyed):
    app = surveyed
    with session_scope(app) as session:
        body = feedback.report(session, hotline_config(app), OPEN_TIME + dt.timedelta(hours=1))
    orders = next(q for q in body["queues"] if q["queue"] == "orders")
    assert [orders[f"score_{s}"] for s in range(1, 6)] == [1, 0, 0, 1, 1]
    assert (orders["mean"], orders["count"], orders["answered"]) == (3.33, 3, 4)
    assert orders["surveyed_share"] == 0.75
    technical = next(q for q in body["queues"] if q["queue"] == "technical")
    assert (technical["mean"], technical["count"], technical["surveyed_share"]) == (None, 0, None)
    agents = {a["agent"]: a for a in body["agents"]}
    assert (agents["A001"]["mean"], agents["A001"]["count"]) == (3.5, 4)
    assert (agents["A010"]["count"], agents["A010"]["answered"]) == (1, 2)
    # 25 Nov 2026 is a Wednesday: the last week holds CA1-CA3, the one before CA4-CA5
    assert body["week_starts"][-1] == "2026-11-23" and len(body["week_starts"]) == 12
    assert body["trend"]["orders"][-1] == 3.33 and body["trend"]["complaints"][-2] == 2.5
    assert body["trend"]["orders"][0] is None
    assert [c["comment_url"] for c in body["low_comments"]] == [
        "https://api.twilio.com/rec/RE1",
        "https://api.twilio.com/rec/RE2",
    ]
    assert body["low_comments"][0]["agent"] == "A010"


def test_the_page_and_the_csv(surveyed, clock):
    clock.at = OPEN_TIME + dt.timedelta(hours=1)
    client = surveyed.test_client()
    login(client)
    page = client.get("/supervisor/csat").get_data(as_text=True)
    assert "Mean 3.0 over 5 survey(s)." in page and "api.twilio.com/rec/RE1" in page
    lines = client.get("/supervisor/csat.csv").get_data(as_text=True).splitlines()
    assert lines[0] == ",".join(feedback.CSV_COLUMNS)
    assert "queue,orders,1,0,0,1,1,3.33,3,4,0.75" in lines
