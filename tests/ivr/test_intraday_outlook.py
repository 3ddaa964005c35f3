"""The rest of today: agents needed against agents on line and rostered, and the shortages in
words."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ivr.config import hotline_config
from ivr.config.loader import load_config
from ivr.planning.drafts import save_draft
from ivr.planning.intraday import outlook, shortages
from ivr.store.agent_states import set_state
from ivr.store.db import session_scope
from ivr.store.models import AgentAccount, RosterAssignment

from .conftest import login

CFG = load_config()
ROME = dt.timezone(dt.timedelta(hours=1))  # 25 November 2026
NOW = dt.datetime(2026, 11, 25, 14, 10, tzinfo=ROME)


def forecast_csv(calls: float, day: dt.date = dt.date(2026, 11, 25)) -> str:
    starts = pd.date_range(pd.Timestamp(day, tz="Europe/Rome"), periods=48, freq="30min")
    rows = [
        {"queue": q, "interval_start": t.isoformat(), "calls": calls if 9 <= t.hour < 17 else 0}
        for q in CFG.queue_ids()
        for t in starts
    ]
    return pd.DataFrame(rows).to_csv(index=False)


def test_shortages_read_as_an_ops_lead_says_them():
    at = pd.date_range("2026-11-25 13:00", periods=6, freq="30min", tz="Europe/Rome")
    table = pd.DataFrame(
        {
            "queue": ["orders"] * 6 + ["total"] * 6,
            "interval_start": list(at.tz_convert("UTC")) * 2,
            "short_on_line": [0, 2, 3, 0, 1, 0, 0, 0, 0, 0, 0, 1],
        }
    )
    assert shortages(CFG, table) == [
        "short by 3 agents from 13:30 to 14:30 in orders",
        "short by 1 agent from 15:00 to 15:30 in orders",
        "short by 1 agent from 15:30 to 16:00 in all queues",
    ]
    assert shortages(CFG, table.assign(short_on_line=0)) == []


@pytest.fixture
def day(app, clock):
    clock.at = NOW.astimezone(dt.UTC)
    with session_scope(app) as session:
        save_draft(session, "forecast", dt.date(2026, 11, 23), forecast_csv(20), {}, NOW)
        for agent_id in ("A001", "A010"):
            session.add(AgentAccount(agent_id=agent_id, state="offline"))
            session.add(
                RosterAssignment(
                    week_start=dt.date(2026, 11, 23),
                    agent_id=agent_id,
                    date=dt.date(2026, 11, 25),
                    shift_start=dt.datetime(2026, 11, 25, 9, tzinfo=ROME),
                    shift_end=dt.datetime(2026, 11, 25, 15, 30, tzinfo=ROME),
                    break_start=dt.datetime(2026, 11, 25, 14, 30, tzinfo=ROME),
                    status="published",
                )
            )
        session.flush()
        set_state(session, "A001", "available", NOW)
        set_state(session, "A010", "not_ready", NOW, reason="break")
    return app


def test_the_rest_of_today_holds_needs_against_agents_on_line_and_rostered(day):
    with session_scope(day) as session:
        table = outlook(session, hotline_config(day), NOW)
    assert table["interval_start"].min() == pd.Timestamp("2026-11-25 13:00", tz="UTC")  # 14:00
    assert table["interval_start"].max() == pd.Timestamp("2026-11-25 22:30", tz="UTC")  # 23:30
    orders = table[table["queue"] == "orders"].set_index("interval_start")
    at = pd.Timestamp("2026-11-25 13:00", tz="UTC")
    # 20 calls in half an hour at 240 s: 2.7 Erlangs need more than 3 agents for 80 % in 20 s
    assert orders.at[at, "required"] > 3 and orders.at[at, "scheduled"] >= orders.at[at, "required"]
    assert orders.at[at, "on_line"] == 1  # A001 (A010 is not ready)
    assert orders.at[at, "short_on_line"] == orders.at[at, "required"] - 1
    assert orders.at[at, "rostered"] == 2  # both on shift at 14:00
    assert orders.at[pd.Timestamp("2026-11-25 13:30", tz="UTC"), "rostered"] == 0  # both on break
    assert orders.at[pd.Timestamp("2026-11-25 14:00", tz="UTC"), "rostered"] == 2
    assert orders.at[pd.Timestamp("2026-11-25 14:30", tz="UTC"), "rostered"] == 0  # shifts over
    evening = pd.Timestamp("2026-11-25 20:00", tz="UTC")
    assert orders.at[evening, "required"] == 0 and orders.at[evening, "short_on_line"] == 0
    technical = table[table["queue"] == "technical"].set_index("interval_start")
    assert technical.at[at, "on_line"] == 0  # neither agent has the skill
    assert technical.at[at, "rostered"] == 0


def test_a_reforecast_made_today_is_preferred_and_the_api_says_the_shortages(day, clock):
    with session_scope(day) as session:
        save_draft(session, "intraday", dt.date(2026, 11, 25), forecast_csv(2), {}, NOW)
        quiet = outlook(session, hotline_config(day), NOW)
    orders = quiet[quiet["queue"] == "orders"]
    assert orders["required"].max() <= 2  # 2 calls a half hour, not 20
    client = day.test_client()
    login(client)
    body = client.get("/api/intraday").get_json()
    assert body["forecast"] == "intraday"
    assert body["intervals"][0]["queue"] in CFG.queue_ids() + ["total"]
    assert set(body["intervals"][0]) == {
        "queue", "interval_start", "calls", "required", "on_line", "short_on_line",
        "scheduled", "rostered", "short_rostered",
    }  # fmt: skip
    assert all(s.startswith("short by ") for s in body["shortages"])


def test_the_job_reforecasts_the_rest_of_today_from_the_calls_so_far(app, clock):
    from ivr.jobs.bodies import JOBS
    from ivr.planning.intraday import stored_forecast
    from ivr.store.models import QueueEntry

    clock.at = dt.datetime(2026, 11, 25, 12, 5, tzinfo=ROME).astimezone(dt.UTC)
    with session_scope(app) as session:
        save_draft(session, "forecast", dt.date(2026, 11, 23), forecast_csv(20), {}, clock.at)
        # the morning runs at 30 calls a half hour in every queue, against 20 forecast
        starts = pd.date_range(
            "2026-11-25 09:00", "2026-11-25 11:30", freq="30min", tz="Europe/Rome"
        )
        for t in starts:
            for queue in CFG.queue_ids():
                for n in range(30):
                    at = (t + pd.Timedelta(seconds=55 * n)).to_pydatetime()
                    session.add(
                        QueueEntry(call_sid=f"CA{queue}{t:%H%M}{n}", queue=queue, language="en",
                                   entered_at=at, original_entered_at=at, result="bridged")
                    )  # fmt: skip
    message = JOBS["intraday_reforecast"](app, clock.at)
    assert message.startswith("reforecast: ")
    with session_scope(app) as session:
        rows = stored_forecast(session, hotline_config(app), clock.at, "intraday")
    assert rows["interval_start"].min() == pd.Timestamp("2026-11-25 11:00", tz="UTC")  # 12:00
    afternoon = rows[
        (rows["queue"] == "orders")
        & (rows["interval_start"] == pd.Timestamp("2026-11-25 13:00", tz="UTC"))
    ]
    assert 20 < float(afternoon["calls"].iloc[0]) <= 30  # moved toward the morning's level
    assert (rows["calls_p10"] <= rows["calls"]).all() and (rows["calls"] <= rows["calls_p90"]).all()
    clock.at = dt.datetime(2026, 11, 29, 12, 0, tzinfo=ROME).astimezone(dt.UTC)  # Sunday: closed
    assert JOBS["intraday_reforecast"](app, clock.at) == "the line is closed: no reforecast"
