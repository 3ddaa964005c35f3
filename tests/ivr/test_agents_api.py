"""``GET /api/agents``, state changes through the API, the dashboard's counts per state, and the
per-language figures of the statistics."""

from __future__ import annotations

import datetime as dt

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from ivr.store.db import session_scope
from ivr.store.models import AgentStateChange, AuditEntry, QueueEntry

from .conftest import OPEN_TIME, PUBLIC, follow_redirects
from .test_routing import caller, hold, on_line

TOKEN = "ops-token"


@pytest.fixture
def app(make_app, clock, fake_twilio):
    return make_app(
        CLOCK=clock,
        API_TOKENS=[TOKEN],
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_HTTP_CLIENT=fake_twilio,
    )


def bearer() -> dict:
    return {"Authorization": f"Bearer {TOKEN}"}


def schema(client, path: str, method: str = "get", status: str = "200") -> Draft202012Validator:
    document = client.get("/api/openapi.json").get_json()
    content = document["paths"][path][method]["responses"][status]["content"]
    return Draft202012Validator(
        {**content["application/json"]["schema"], "components": document["components"]}
    )


def test_api_agents_lists_every_agent_with_state_call_languages_and_skills(
    app, new_call, clock, fake_twilio
):
    client = app.test_client()
    on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=3))
    call = caller(new_call, "2", "1", "+393470000200")
    hold(call, "it")  # offered to A010
    response = client.get("/api/agents", headers=bearer())
    assert response.status_code == 200
    body = response.get_json()
    assert list(schema(client, "/api/agents").iter_errors(body)) == []
    by_id = {a["id"]: a for a in body}
    assert len(body) == 36 and by_id["A001"]["state"] == "offline"
    assert by_id["A010"] == {
        "id": "A010",
        "name": "Luca Ferrari",
        "state": "ringing",
        "reason": None,
        "since": "2026-11-25T10:00:00+01:00",
        "queue": "orders",
        "call_sid": call.call_sid,
        "languages": ["it", "en"],
        "skills": ["orders", "general"],
    }
    assert client.get("/api/agents").status_code == 401


def test_a_state_change_through_the_api_is_logged_and_refused_when_it_cannot_be(app, clock):
    client = app.test_client()
    on_line(app, "A012", OPEN_TIME - dt.timedelta(minutes=3))
    clock.at += dt.timedelta(minutes=1)
    lunch = client.post(
        "/api/agents/A012/state", json={"state": "not_ready", "reason": "lunch"}, headers=bearer()
    )
    assert lunch.status_code == 200
    assert (
        list(schema(client, "/api/agents/{agent}/state", "post").iter_errors(lunch.get_json()))
        == []
    )
    assert (lunch.get_json()["state"], lunch.get_json()["reason"]) == ("not_ready", "lunch")
    refused = {
        "unknown agent": ("/api/agents/A999/state", {"state": "available"}, 404),
        "no reason": ("/api/agents/A012/state", {"state": "not_ready"}, 400),
        "unknown reason": ("/api/agents/A012/state", {"state": "not_ready", "reason": "nap"}, 400),
        "a state only the line sets": ("/api/agents/A012/state", {"state": "on_call"}, 400),
        "offline agent": ("/api/agents/A001/state", {"state": "available"}, 409),
    }
    for what, (url, body, status) in refused.items():
        response = client.post(url, json=body, headers=bearer())
        assert response.status_code == status, what
        assert "error" in response.get_json(), what
    back = client.post("/api/agents/A012/state", json={"state": "available"}, headers=bearer())
    assert back.get_json()["state"] == "available"
    with session_scope(app) as session:
        log = session.execute(
            select(AgentStateChange.state, AgentStateChange.reason, AgentStateChange.at)
            .where(AgentStateChange.agent_id == "A012")
            .order_by(AgentStateChange.id)
        ).all()
        audit = session.scalars(select(AuditEntry.action)).all()
    assert [(s, r) for s, r, _ in log] == [
        ("available", None),
        ("not_ready", "lunch"),
        ("available", None),
    ]
    assert log[1].at == OPEN_TIME + dt.timedelta(minutes=1)
    assert audit == ["agent.state", "agent.state"]


def test_a_not_ready_agent_is_offered_nothing_until_ready(app, new_call, clock, fake_twilio):
    client = app.test_client()
    on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=3))
    client.post(
        "/api/agents/A010/state", json={"state": "not_ready", "reason": "break"}, headers=bearer()
    )
    call = caller(new_call, "2", "1", "+393470000201")
    hold(call, "it")
    assert follow_redirects(fake_twilio, call) == {}
    ready = client.post("/api/agents/A010/state", json={"state": "available"}, headers=bearer())
    ready.close()  # the answer is sent: the dispatcher runs
    moved = follow_redirects(fake_twilio, call)  # ready again: the waiting caller is offered
    assert moved[call.call_sid].find("Enqueue").text == "agent-A010"


def test_the_queue_cards_count_agents_by_state_and_the_report_has_languages(
    app, new_call, clock, fake_twilio
):
    client = app.test_client()
    on_line(app, "A010", OPEN_TIME - dt.timedelta(minutes=3))
    on_line(app, "A012", OPEN_TIME - dt.timedelta(minutes=2))
    on_line(app, "A034", OPEN_TIME - dt.timedelta(minutes=1))
    client.post(
        "/api/agents/A034/state",
        json={"state": "not_ready", "reason": "training"},
        headers=bearer(),
    )
    italian = caller(new_call, "2", "1", "+393470000202")
    hold(italian, "it")  # offered to A010
    follow_redirects(fake_twilio, italian)
    italian.post(f"{PUBLIC}/voice/agent/bridge?agent=A010&queue=orders", {})
    english = caller(new_call, "1", "1", "+393470000203")
    hold(english, "en")  # offered to A012 (speaks English too)
    report = client.get("/api/queues", headers=bearer()).get_json()
    orders = next(q for q in report["queues"] if q["queue"] == "orders")
    assert (
        orders["agents_logged_in"],
        orders["agents_busy"],
        orders["agents_ringing"],
        orders["agents_available"],
        orders["agents_not_ready"],
        orders["agents_wrap_up"],
    ) == (3, 1, 1, 0, 1, 0)
    languages = {row["language"]: row for row in report["languages"]}
    assert list(languages) == ["en", "it", "pl", "ro", "nb"]
    assert (languages["it"]["offered"], languages["it"]["answered"]) == (1, 1)
    assert languages["it"]["answered_in_language"] == 1
    assert languages["it"]["in_language_share"] == 1.0
    assert (languages["en"]["offered"], languages["en"]["answered"]) == (1, 0)
    assert languages["pl"]["offered"] == 0 and languages["pl"]["service_level"] is None
    with session_scope(app) as session:
        assert (
            session.scalars(
                select(QueueEntry.answered_in_language).where(
                    QueueEntry.call_sid == italian.call_sid
                )
            ).one()
            is True
        )
