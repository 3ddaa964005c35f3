"""The agent desktop's server side: who may open it, the softphone's access token, going on line
twice, dispositions only on one's own calls."""

from __future__ import annotations

import datetime as dt
import logging

import jwt
import pytest
from sqlalchemy import select

from ivr.store.db import session_scope
from ivr.store.models import AgentAccount, AgentSession, Call, QueueEntry

from .conftest import OPEN_TIME, PUBLIC, csrf, login
from .test_routing import on_line

SOFTPHONE = {
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_API_KEY_SID": "SK" + "2" * 32,
    "TWILIO_API_KEY_SECRET": "s" * 32,
    "TWILIO_TWIML_APP_SID": "AP" + "3" * 32,
}


@pytest.fixture
def app(make_app, clock, fake_twilio):
    return make_app(CLOCK=clock, TWILIO_HTTP_CLIENT=fake_twilio, **SOFTPHONE)


@pytest.fixture
def agent(app):
    client = app.test_client()
    assert login(client, "giulia").headers["Location"] == "/agent"
    return client


def token_header(client) -> dict:
    page = client.get("/agent").get_data(as_text=True)
    return {"X-CSRFToken": csrf(client, page)}


def test_an_agents_login_opens_the_desk_and_nothing_else(app, agent):
    assert agent.get("/agent").status_code == 200
    assert agent.get("/ops").headers["Location"] == "/agent"
    assert agent.get("/supervisor/roster").headers["Location"] == "/agent"
    refused = agent.get("/api/agents")
    assert refused.status_code == 403 and "error" in refused.get_json()
    supervisor = app.test_client()
    login(supervisor)
    assert supervisor.get("/agent").status_code == 403  # the desk is for agents' logins


def test_the_softphone_token_is_short_lived_for_the_agent_only_and_never_logged(app, agent, caplog):
    caplog.set_level(logging.DEBUG)
    response = agent.get("/agent/token")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    claims = jwt.decode(body["token"], SOFTPHONE["TWILIO_API_KEY_SECRET"], algorithms=["HS256"])
    assert claims["iss"] == SOFTPHONE["TWILIO_API_KEY_SID"]
    assert claims["sub"] == SOFTPHONE["TWILIO_ACCOUNT_SID"]
    assert claims["grants"]["identity"] == "A001"
    voice = claims["grants"]["voice"]
    assert voice["incoming"]["allow"] is True
    assert voice["outgoing"]["application_sid"] == SOFTPHONE["TWILIO_TWIML_APP_SID"]
    assert claims["exp"] - claims["nbf"] == 900 == body["ttl_s"]
    assert body["token"] not in caplog.text
    assert app.test_client().get("/agent/token").status_code == 302  # no login: the login page


def test_without_twilio_keys_the_token_says_what_is_missing(make_app, clock):
    app = make_app(CLOCK=clock)
    client = app.test_client()
    login(client, "giulia")
    response = client.get("/agent/token")
    assert response.status_code == 503
    assert "TWILIO_API_KEY_SID" in response.get_json()["error"]
    assert "not set up on this server" in client.get("/agent").get_data(as_text=True)


def test_going_on_line_ends_an_earlier_session_and_is_refused_during_a_call(app, agent, clock):
    phone_sid = on_line(app, "A001", OPEN_TIME - dt.timedelta(minutes=5))
    headers = token_header(agent)
    started = agent.post("/agent/session", headers=headers)
    assert started.status_code == 200
    assert (started.get_json()["state"], started.get_json()["channel"]) == ("available", "browser")
    with session_scope(app) as session:
        sessions = session.execute(
            select(AgentSession.call_sid, AgentSession.channel, AgentSession.logged_out_at)
        ).all()
    phone = next(s for s in sessions if s.call_sid == phone_sid)
    assert phone.logged_out_at == OPEN_TIME  # the newest login wins
    assert [s.channel for s in sessions if s.logged_out_at is None] == ["browser"]
    with session_scope(app) as session:
        account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == "A001"))
        account.state = "on_call"
    again = agent.post("/agent/session", headers=headers)
    assert again.status_code == 409 and "finish that call" in again.get_json()["error"]
    assert agent.post("/agent/session/end", headers=headers).status_code == 409
    assert agent.post("/agent/session", headers={}).status_code == 400  # no CSRF token


def test_a_phone_login_ends_the_browser_session(app, agent, new_call):
    headers = token_header(agent)
    agent.post("/agent/session", headers=headers)
    line = new_call(from_number="+393339990000", to_number="+18005550199")
    from ivr.voice.agents import set_pin

    from .test_routing import AGENTS

    with session_scope(app) as session:
        set_pin(session, AGENTS["A001"], "2468")
    line.post(f"{PUBLIC}/voice/agent/pin?agent=A001&attempt=1", {"Digits": "2468"})
    with session_scope(app) as session:
        open_ = session.execute(
            select(AgentSession.channel).where(AgentSession.logged_out_at.is_(None))
        ).all()
    assert [c for (c,) in open_] == ["phone"]


def test_a_disposition_is_stored_only_on_a_call_the_agent_answered(app, agent):
    with session_scope(app) as session:
        for sid, who in (("CAmine", "A001"), ("CAtheirs", "A010")):
            session.add(Call(call_sid=sid, started_at=OPEN_TIME))
            session.add(
                QueueEntry(call_sid=sid, queue="orders", entered_at=OPEN_TIME,
                           original_entered_at=OPEN_TIME, answered_at=OPEN_TIME, agent_id=who)
            )  # fmt: skip
    headers = token_header(agent)
    saved = agent.post(
        "/agent/disposition",
        json={"call_sid": "CAmine", "code": "resolved", "note": "address changed"},
        headers=headers,
    )
    assert saved.status_code == 200
    theirs = agent.post(
        "/agent/disposition", json={"call_sid": "CAtheirs", "code": "resolved"}, headers=headers
    )
    assert theirs.status_code == 404
    bad = agent.post(
        "/agent/disposition", json={"call_sid": "CAmine", "code": "nap"}, headers=headers
    )
    assert bad.status_code == 400 and "resolved" in bad.get_json()["error"]
    with session_scope(app) as session:
        rows = dict(session.execute(select(Call.call_sid, Call.disposition)).all())
        note = session.scalar(select(Call.agent_note).where(Call.call_sid == "CAmine"))
    assert rows == {"CAmine": "resolved", "CAtheirs": None}
    assert note == "address changed"
