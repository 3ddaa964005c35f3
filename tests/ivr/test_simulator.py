"""The caller simulator against a live server on loopback: a short seeded run with zero errors."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from benchmarks.loopback import free_port
from ivr.config import hotline_config
from ivr.config.loader import load_config
from ivr.demo.simulator import Simulator, parse_rate, parse_seconds
from ivr.store.db import session_scope
from ivr.store.models import AgentAccount, AgentStateChange, QueueEntry, Survey
from ivr.voice.agents import set_pin

from .conftest import OPEN_TIME


@pytest.fixture
def rest_port() -> int:
    return free_port()


@pytest.fixture
def live(live_server, rest_port):
    app, base = live_server(
        TWILIO_AUTH_TOKEN="sim-token",
        CLOCK=lambda: OPEN_TIME,
        TWILIO_ACCOUNT_SID="AC" + "5" * 32,
        TWILIO_REST_BASE_URL=f"http://127.0.0.1:{rest_port}",
    )
    with session_scope(app) as session:
        for agent in hotline_config(app).agents[:4]:
            set_pin(session, agent, "1234")
    return app, base


def test_a_short_seeded_run_meets_no_errors(live, rest_port):
    """Callers, and four agents who take them through the dispatcher (every call moved by the
    REST stand-in), wrap up and take breaks."""
    app, base = live
    sim = Simulator(
        load_config(),
        base,
        "sim-token",
        rate_per_s=4,
        duration_s=4,
        seed=7,
        handle_s=0.6,
        patience_s=2.5,
        rest_port=rest_port,
        break_chance=0.3,
        break_s=0.5,
    )
    report = sim.run()
    assert report.errors == []
    assert report.answered >= 3 and report.moves >= 2 * report.answered
    assert report.calls >= 8 and report.enqueued >= 6
    ended = report.answered + report.abandoned + report.callbacks_requested
    assert ended + report.waiting_at_end == report.enqueued
    with session_scope(app) as session:
        entries = session.scalar(select(func.count()).select_from(QueueEntry))
        answered = session.scalar(
            select(func.count()).select_from(QueueEntry).where(QueueEntry.result == "bridged")
        )
        surveys = session.scalar(select(func.count()).select_from(Survey))
        logged_in = session.scalar(
            select(func.count()).select_from(AgentAccount).where(AgentAccount.state != "offline")
        )
    assert entries == report.enqueued and answered == report.answered
    assert surveys == report.surveys
    assert logged_in == 0  # the agents logged out at the end
    with session_scope(app) as session:
        states = set(session.scalars(select(AgentStateChange.state)))
    assert {"available", "ringing", "on_call", "wrap_up", "offline"} <= states


def test_the_simulator_only_talks_to_this_machine():
    with pytest.raises(ValueError, match="only talks to this machine"):
        Simulator(load_config(), "http://10.1.2.3:5000", "t", rate_per_s=1, duration_s=1)


@pytest.mark.parametrize("text, value", [("2/s", 2.0), ("30/min", 0.5), ("3600/h", 1.0)])
def test_rates(text, value):
    assert parse_rate(text) == value


@pytest.mark.parametrize(
    "text, value", [("60s", 60.0), ("5min", 300.0), ("1.5", 1.5), ("500ms", 0.5)]
)
def test_durations(text, value):
    assert parse_seconds(text) == value
