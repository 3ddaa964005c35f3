"""Adherence on a scripted day, computed by hand: a late start with a break in its window, an
early end with a break taken outside its window, an absence; the CLI, the page and its CSV."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ivr.config import hotline_config
from ivr.planning.adherence import day_adherence, out_of_adherence_now
from ivr.store.db import session_scope
from ivr.store.models import AgentStateChange, RosterAssignment

from .conftest import login

DAY = dt.date(2026, 11, 25)  # a Wednesday; Rome is UTC+1


def local(hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(2026, 11, 25, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=1)))


SCRIPT = {
    # late start (09:07), lunch inside the scheduled 13:00-13:30 break
    "A001": [("09:07", "available", None), ("11:00", "on_call", None), ("11:10", "wrap_up", None),
             ("11:11", "available", None), ("13:00", "not_ready", "lunch"),
             ("13:30", "available", None), ("17:00", "offline", None)],
    # on before the shift, a break at 12:00 (outside its window), working through the scheduled
    # break, gone at 16:40 (early end)
    "A002": [("08:58", "available", None), ("12:00", "not_ready", "break"),
             ("12:30", "available", None), ("16:40", "offline", None)],
    # scheduled, never logged in
    "A003": [],
}  # fmt: skip


@pytest.fixture
def scripted(app):
    with session_scope(app) as session:
        for agent, changes in SCRIPT.items():
            session.add(
                RosterAssignment(
                    week_start=dt.date(2026, 11, 23),
                    agent_id=agent,
                    date=DAY,
                    shift_start=local("09:00"),
                    shift_end=local("17:00"),
                    break_start=local("13:00"),
                    status="published",
                )
            )
            for at, state, reason in changes:
                session.add(
                    AgentStateChange(agent_id=agent, state=state, reason=reason, at=local(at))
                )
        # a draft is not the schedule
        session.add(
            RosterAssignment(week_start=dt.date(2026, 11, 23), agent_id="A004", date=DAY,
                             shift_start=local("09:00"), shift_end=local("17:00"), status="draft")
        )  # fmt: skip
    return app


def test_adherence_equals_the_hand_computed_figures(scripted):
    app = scripted
    with session_scope(app) as session:
        table = day_adherence(session, hotline_config(app), DAY, local("23:00"))
    rows = {r["agent"]: r for r in table.to_dict(orient="records")}
    assert sorted(rows) == ["A001", "A002", "A003"]
    late = rows["A001"]
    # working 09:07-13:00 (233) + lunch in its window (30) + working 13:30-17:00 (210)
    assert (late["scheduled_min"], late["adherent_min"]) == (480.0, 473.0)
    assert late["adherence"] == round(473 / 480, 4)
    assert late["worked_min"] == 443.0 and late["conformance"] == round(443 / 450, 4)
    assert (late["late_start_min"], late["early_end_min"], late["break_outside_min"]) == (
        7.0, 0.0, 0.0
    )  # fmt: skip
    early = rows["A002"]
    # working 09:00-12:00 (180) + 12:30-13:00 (30) + 13:30-16:40 (190); the 12:00 break and
    # the work through the scheduled break are not what the schedule said
    assert early["adherent_min"] == 400.0 and early["adherence"] == round(400 / 480, 4)
    assert early["worked_min"] == 432.0 and early["conformance"] == round(432 / 450, 4)
    assert (early["late_start_min"], early["early_end_min"], early["break_outside_min"]) == (
        0.0, 20.0, 30.0
    )  # fmt: skip
    assert early["absent"] is False
    absent = rows["A003"]
    assert absent["absent"] is True and absent["adherent_min"] == 0.0
    assert absent["adherence"] == 0.0 and absent["conformance"] == 0.0


def test_a_day_under_way_counts_up_to_now_and_says_who_is_out_of_adherence(scripted):
    app = scripted
    cfg = hotline_config(app)
    with session_scope(app) as session:
        table = day_adherence(session, cfg, DAY, local("12:10"))
        out = out_of_adherence_now(session, cfg, local("12:10"))
    rows = {r["agent"]: r for r in table.to_dict(orient="records")}
    assert rows["A001"]["scheduled_min"] == 190.0  # 09:00-12:10
    assert rows["A001"]["adherent_min"] == 183.0 and rows["A001"]["early_end_min"] == 0.0
    assert {o["agent"]: o["state"] for o in out} == {
        "A002": "not ready (break)",  # a break outside its window
        "A003": "offline",
    }


def test_the_cli_and_the_page_give_the_same_figures(scripted, clock):
    app = scripted
    clock.at = local("23:00").astimezone(dt.UTC)
    result = app.test_cli_runner().invoke(
        args=["adherence", "--date", DAY.isoformat(), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert [r["agent"] for r in body["shifts"]] == ["A001", "A002", "A003"]
    assert body["shifts"][1]["early_end_min"] == 20.0
    bad = app.test_cli_runner().invoke(args=["adherence", "--date", "25/11/2026"])
    assert bad.exit_code == 2 and "--date" in bad.output
    client = app.test_client()
    login(client)
    page = client.get(f"/ops/adherence?date={DAY}").get_data(as_text=True)
    assert "A002" in page and "20 min" in page and "absent" in page
    csv = client.get(f"/ops/adherence.csv?date={DAY}").get_data(as_text=True)
    assert csv.splitlines()[0].startswith("agent,name,date,shift,scheduled_min,adherent_min")
    assert len(csv.splitlines()) == 4


def test_the_dashboard_lists_the_agents_out_of_adherence_now(scripted, clock):
    app = scripted
    clock.at = local("12:10").astimezone(dt.UTC)
    client = app.test_client()
    login(client)
    page = client.get("/ops").get_data(as_text=True)
    section = page[page.index('id="adherence-now"') :]
    assert "A002 Marco Bianchi: scheduled working, not ready (break)" in section
    assert "A003 Anna Kowalska: scheduled working, offline" in section
    assert "A001" not in section.split("</section>")[0]
