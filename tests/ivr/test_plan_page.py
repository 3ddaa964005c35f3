"""/supervisor/plan: the stored shift plan against the requirement of the stored forecast, and
what-ifs planned in the background, kept beside it, deleted; bad values named, nothing started."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from ivr.config.loader import load_config
from ivr.planning.drafts import save_draft
from ivr.planning.pipeline import (
    WhatIf,
    hires,
    plan_week,
    requirement_table,
    shift_problem,
    summarise,
    summarise_cover,
)
from ivr.planning.plan_outcome import expected_service_level, outcome, team_view
from ivr.store.db import session_scope
from ivr.store.models import AuditEntry, BackgroundTask, PlanDraft, PlanScenario
from staffing.erlang import erlang_c_performance
from staffing.shift_plan import coverage_from_rows
from staffing.shifts import TeamLimits

from .conftest import OPEN_TIME, Clock, csrf, login

CFG = load_config()
WEEK = dt.date(2026, 11, 30)  # Monday; no holiday in the week
EARLIER = dt.date(2026, 11, 23)
# the week before: one shift, Monday 09:00-17:00 with a half-hour break at 13:00, two agents
EARLIER_PLAN = (
    "date,weekday,template,shift_start,shift_end,break_start,break_min,agents,paid_hours,cost\n"
    "2026-11-23,monday,early,2026-11-23T09:00:00+01:00,2026-11-23T17:00:00+01:00,"
    "2026-11-23T13:00:00+01:00,30,2,7.5,330.0\n"
)


def forecast_csv(calls: float = 6.0, aht_s: float = 240.0) -> str:
    """Each queue: ``calls`` a half hour from 09:00 to 17:00 every day of the week of WEEK."""
    starts = pd.date_range(pd.Timestamp(WEEK, tz="Europe/Rome"), periods=7 * 48, freq="30min")
    rows = [
        {"queue": q, "interval_start": t.isoformat(), "calls": calls, "calls_p10": calls / 2,
         "calls_p90": calls * 2, "aht_s": aht_s}
        for q in CFG.queue_ids()
        for t in starts
        if 9 <= t.hour < 17
    ]  # fmt: skip
    return pd.DataFrame(rows).to_csv(index=False)


def plan_the_week() -> SimpleNamespace:
    """The week of :func:`forecast_csv` planned as the weekly job plans it (within what the
    team can work): its CSV, summary, cover, shift problem and requirement table."""
    forecast = pd.read_csv(io.StringIO(forecast_csv()))
    reqs = requirement_table(CFG, forecast)
    week, plan = plan_week(CFG, reqs, 3, allow_uncovered=True)
    summary = summarise(CFG, week, plan)
    return SimpleNamespace(
        csv=summary.rows.to_csv(index=False),
        summary=summary,
        coverage=plan.coverage,
        week=week,
        reqs=reqs,
    )


@pytest.fixture(scope="module")
def stored() -> SimpleNamespace:
    return plan_the_week()


@pytest.fixture
def plan_app(make_app, config_dir):
    """The app on a fixed clock, planning what-ifs with a 3-second solver limit."""
    line = config_dir / "line.yaml"
    line.write_text(line.read_text().replace("plan_time_limit_s: 30", "plan_time_limit_s: 3"))
    return make_app(CONFIG_DIR=str(config_dir), CLOCK=Clock(OPEN_TIME))


def store(app, stored, forecast: bool = True, aht_s: float = 240.0) -> None:
    with session_scope(app) as session:
        if forecast:
            save_draft(session, "forecast", WEEK, forecast_csv(aht_s=aht_s), {}, OPEN_TIME)
        figures = {"paid_hours": round(stored.summary.paid_hours, 1)}
        save_draft(session, "shifts", WEEK, stored.csv, figures, OPEN_TIME)


def chart(page: str) -> dict:
    return json.loads(re.search(r'id="plan-data">(.*?)</script>', page, re.S).group(1))


def count(app, model) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_stored_plan_against_the_requirement_of_the_stored_forecast(plan_app, stored):
    store(plan_app, stored)
    with session_scope(plan_app) as session:
        save_draft(session, "shifts", EARLIER, EARLIER_PLAN, {}, OPEN_TIME)
    client = plan_app.test_client()
    login(client)
    page = client.get("/supervisor/plan").get_data(as_text=True)  # the newest week
    assert "week of Mon 30 Nov 2026" in page
    assert "What-ifs below never change it" in page
    assert 'href="/supervisor/plan?week=2026-11-23"' in page
    data = chart(page)
    assert len(data["labels"]) == 7 * 48
    assert data["labels"][18] == "Mon 30 09:00" and data["labels"][-1] == "Sun 06 23:30"
    assert data["baseline"]["cover"] == stored.coverage.tolist()
    assert data["baseline"]["required"]["total"] == stored.week.problem.requirement.tolist()
    assert set(data["baseline"]["required"]) == {"total", *CFG.queue_ids()}
    orders = stored.reqs[stored.reqs["queue"] == "orders"]["agents_scheduled"]
    assert sum(data["baseline"]["required"]["orders"]) == orders.sum()
    assert [q["id"] for q in data["queues"]] == CFG.queue_ids()
    assert data["scenarios"] == []
    figures = dict(re.findall(r'<dd id="([\w-]+)"[^>]*>([^<]*)</dd>', page))
    assert figures["paid-hours"] == f"{stored.summary.paid_hours:.1f}"
    assert figures["shortage"] == f"{stored.summary.shortage_hours:.1f}"
    assert figures["excess"] == f"{stored.summary.excess_hours:.1f}"
    assert figures["fte"] == f"{stored.summary.fte:.2f}"
    assert figures["service-level"].endswith("%") and figures["hires"].isdigit()
    assert "agents available" in page and "Agent-hours the queue requires" in page

    earlier = client.get("/supervisor/plan?week=2026-11-23").get_data(as_text=True)
    assert "week of Mon 23 Nov 2026" in earlier and 'id="no-forecast"' in earlier
    cover = chart(earlier)["baseline"]["cover"]
    on_duty = [s for s, n in enumerate(cover) if n]
    # 09:00 to 17:00 but 13:00-13:30, two agents
    assert on_duty == [*range(18, 26), *range(27, 34)] and {cover[s] for s in on_duty} == {2}
    assert re.search(r'<dd id="paid-hours">15.0</dd>', earlier)
    assert client.get("/supervisor/plan?week=someday").status_code == 400
    none = client.get("/supervisor/plan?week=2026-01-05").get_data(as_text=True)
    assert "No shift plan is stored for the week of 2026-01-05" in none


def test_cover_from_stored_rows_is_the_solvers_cover(stored):
    rows = pd.read_csv(io.StringIO(stored.csv), dtype={"break_start": str})
    assert np.array_equal(coverage_from_rows(rows, WEEK, CFG.tz, 30, True), stored.coverage)


def test_a_what_if_runs_as_a_background_task_and_is_kept_beside_the_plan(
    plan_app, stored, run_tasks_inline
):
    store(plan_app, stored)
    client = plan_app.test_client()
    login(client)
    token = csrf(client, client.get("/supervisor/plan").get_data(as_text=True))
    answer = client.post(
        "/supervisor/plan/what-if",
        data={"week": "2026-11-30", "volume_pct": "+20", "aht_unit": "s", "csrf_token": token},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/supervisor/plan?week=2026-11-30#what-if")
    with session_scope(plan_app) as session:
        (task,) = session.scalars(select(BackgroundTask)).all()
        (scenario,) = session.scalars(select(PlanScenario)).all()
        assert (task.kind, task.status, task.created_by) == ("what_if", "done", "demo")
        assert task.result["scenario"] == scenario.id
        assert task.params == {"week": "2026-11-30", "change": WhatIf(1.2).as_params()}
        assert (scenario.week_start, scenario.label, scenario.created_by) == (
            WEEK, "volume +20 %", "demo"
        )  # fmt: skip
        assert scenario.figures["paid_hours"] > stored.summary.paid_hours
        required = np.array(scenario.series["required"]["total"])
        base = stored.week.problem.requirement
        assert (required >= base).all() and required.sum() > base.sum()
        assert len(scenario.series["cover"]) == 7 * 48
        # the stored plan is as it was
        (draft,) = session.scalars(select(PlanDraft).where(PlanDraft.kind == "shifts")).all()
        assert draft.content == stored.csv
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "plan.what_if")).one()
        assert audit.username == "demo"
        assert audit.detail == {"week": "2026-11-30", "change": "volume +20 %", "task": task.id}
        scenario_id, paid = scenario.id, scenario.figures["paid_hours"]
    page = client.get("/supervisor/plan?week=2026-11-30").get_data(as_text=True)
    row = re.search(rf'<tr class="scenario" data-scenario="{scenario_id}">(.*?)</tr>', page, re.S)
    assert "volume +20 %" in row.group(1) and "demo" in row.group(1)
    difference = paid - round(stored.summary.paid_hours, 1)
    assert f'{paid:.1f} <small class="delta">({difference:+.1f})</small>' in row.group(1)
    (shown,) = chart(page)["scenarios"]
    assert shown["id"] == scenario_id and shown["cover"] == scenario.series["cover"]


@pytest.mark.parametrize(
    "field, value, unit, message",
    [
        ("volume_pct", "-150", "s", "Volume change: -150 % would leave fewer than no calls"),
        ("volume_pct", "lots", "s", "Volume change: &#39;lots&#39; is not a number"),
        (
            "aht_change",
            "-250",
            "s",
            "AHT change: -250 s takes the orders queue&#39;s forecast AHT of 240 s (Mon 30 Nov"
            " 09:00) to -10 s",
        ),
        ("aht_change", "-100", "%", "AHT change: -100 % leaves no handling time"),
        ("sl_target_pct", "100", "s", "Service-level target: 100 % is outside 0–100 %"),
        ("sl_target_pct", "0", "s", "Service-level target: 0 % is outside 0–100 %"),
        ("sl_answer_s", "0", "s", "Service-level answer time: 0 s"),
        ("shrinkage_pct", "100", "s", "Shrinkage: 100 % is outside 0–100 %"),
        ("shrinkage_pct", "-1", "s", "Shrinkage: -1 % is outside 0–100 %"),
    ],
)
def test_bad_values_are_named_and_nothing_is_started_or_stored(
    plan_app, stored, run_tasks_inline, field, value, unit, message
):
    store(plan_app, stored)
    client = plan_app.test_client()
    login(client)
    token = csrf(client, client.get("/supervisor/plan").get_data(as_text=True))
    answer = client.post(
        "/supervisor/plan/what-if",
        data={"week": "2026-11-30", field: value, "aht_unit": unit, "csrf_token": token},
    )
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    error = re.search(r'id="what-if-error" role="alert">([^<]*)<', page).group(1)
    assert error.startswith(message)
    assert re.search(rf'<label class="error">[^<]*<input [^>]*name="{field}"', page)
    assert f'value="{value}"' in page  # kept for correcting
    assert count(plan_app, BackgroundTask) == count(plan_app, PlanScenario) == 0
    assert count(plan_app, AuditEntry) == 0


def test_an_aht_cut_is_held_against_the_forecasts_aht(plan_app, stored, run_tasks_inline):
    """The forecast's AHT is 120 s, the queues' own 200 s and more: a cut of 150 s leaves no
    handling time, one of 100 s is planned."""
    store(plan_app, stored, aht_s=120.0)
    client = plan_app.test_client()
    login(client)
    token = csrf(client, client.get("/supervisor/plan").get_data(as_text=True))

    def post(seconds: str):
        return client.post(
            "/supervisor/plan/what-if",
            data={"week": "2026-11-30", "aht_change": seconds, "aht_unit": "s",
                  "csrf_token": token},
        )  # fmt: skip

    answer = post("-150")
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    error = re.search(r'id="what-if-error" role="alert">([^<]*)<', page).group(1)
    assert error == (
        "AHT change: -150 s takes the orders queue&#39;s forecast AHT of 120 s (Mon 30 Nov"
        " 09:00) to -30 s; an AHT must stay above 0 s."
    )
    assert re.search(r'<label class="error">[^<]*<input [^>]*name="aht_change"', page)
    assert count(plan_app, BackgroundTask) == 0
    assert post("-100").status_code == 302
    with session_scope(plan_app) as session:
        (scenario,) = session.scalars(select(PlanScenario)).all()
        assert scenario.label == "AHT -100 s"
        required = np.array(scenario.series["required"]["total"])
        assert required.sum() < stored.week.problem.requirement.sum()


def test_a_week_without_a_plan_is_refused(plan_app, stored, run_tasks_inline):
    store(plan_app, stored)
    client = plan_app.test_client()
    login(client)
    token = csrf(client, client.get("/supervisor/plan").get_data(as_text=True))
    answer = client.post(
        "/supervisor/plan/what-if",
        data={"week": "2026-12-07", "volume_pct": "10", "csrf_token": token},
    )
    assert answer.status_code == 400
    assert "Week: no shift plan is stored for the week of 2026-12-07" in answer.get_data(
        as_text=True
    )
    assert count(plan_app, BackgroundTask) == 0


def test_a_failed_what_if_is_shown_and_stores_nothing(plan_app, stored, run_tasks_inline):
    """No stored forecast has the week and there are no calls to forecast it from."""
    store(plan_app, stored, forecast=False)
    client = plan_app.test_client()
    login(client)
    page = client.get("/supervisor/plan").get_data(as_text=True)
    assert 'id="no-forecast"' in page and chart(page)["baseline"]["required"] == {}
    client.post(
        "/supervisor/plan/what-if",
        data={"week": "2026-11-30", "shrinkage_pct": "25", "csrf_token": csrf(client, page)},
    )
    page = client.get("/supervisor/plan").get_data(as_text=True)
    failure = re.search(r'<p class="error task-failed">([^<]*)</p>', page).group(1)
    assert "shrinkage 25 %" in failure and "by demo failed" in failure
    assert "there are no calls to forecast it from" in failure
    assert count(plan_app, PlanScenario) == 0


def test_scenarios_are_deleted_with_an_audit_entry(plan_app, stored):
    store(plan_app, stored)
    kept = outcome(CFG, stored.summary, stored.week, stored.reqs)
    with session_scope(plan_app) as session:
        for change in (WhatIf(volume_factor=1.1), WhatIf(shrinkage=0.2)):
            session.add(
                PlanScenario(week_start=WEEK, label=change.describe(), params=change.as_params(),
                             figures=kept.figures(), series=kept.series, created_by="anna",
                             created_at=OPEN_TIME)
            )  # fmt: skip
    client = plan_app.test_client()
    login(client)
    page = client.get("/supervisor/plan").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'data-scenario="(\d+)"', page)]
    assert len(ids) == 2 and "shrinkage 20 %" in page and "anna" in page
    assert client.post(f"/supervisor/plan/scenarios/{ids[0]}/delete").status_code == 400  # no CSRF
    token = csrf(client, page)
    answer = client.post(f"/supervisor/plan/scenarios/{ids[0]}/delete", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("#scenarios")
    with session_scope(plan_app) as session:
        assert [s.label for s in session.scalars(select(PlanScenario))] == ["shrinkage 20 %"]
        entry = session.scalars(select(AuditEntry)).one()
        assert (entry.username, entry.action) == ("demo", "plan.scenario_delete")
        assert entry.detail == {
            "week": "2026-11-30", "scenario": ids[0], "change": "volume +10 %", "ran_by": "anna"
        }  # fmt: skip
    gone = client.post(f"/supervisor/plan/scenarios/{ids[0]}/delete", data={"csrf_token": token})
    assert gone.status_code == 404


def test_only_supervisors_see_the_plan(plan_app, stored):
    store(plan_app, stored)
    client = plan_app.test_client()
    assert client.get("/supervisor/plan").status_code == 302  # to the login
    login(client, "giulia")
    answer = client.get("/supervisor/plan")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/agent")


def test_without_a_plan_the_page_says_how_one_is_made(plan_app):
    client = plan_app.test_client()
    login(client)
    page = client.get("/supervisor/plan").get_data(as_text=True)
    assert "No shift plan is stored yet" in page and "hotline jobs run weekly_plan" in page


def test_a_stored_plan_that_cannot_be_read_is_named(plan_app):
    with session_scope(plan_app) as session:
        save_draft(session, "shifts", WEEK, "date,agents\nmonday,two\n", {}, OPEN_TIME)
    client = plan_app.test_client()
    login(client)
    answer = client.get("/supervisor/plan")
    assert answer.status_code == 200
    message = re.search(r'id="unreadable">([^<]*)<', answer.get_data(as_text=True)).group(1)
    assert (
        "the shift plan stored 2026-11-25 10:00 for the week of 2026-11-30 cannot be read"
        in message
    )


def test_each_change_moves_the_requirement_its_way():
    forecast = pd.read_csv(io.StringIO(forecast_csv(calls=30.0)))

    def requirement(what_if: WhatIf) -> pd.DataFrame:
        return requirement_table(CFG, forecast, what_if).query("queue == 'orders'")

    base = requirement(WhatIf())
    assert WhatIf().describe() == "as forecast"
    shrink = requirement(WhatIf(shrinkage=0.5))
    assert (shrink["agents"] == base["agents"]).all()
    assert shrink["agents_scheduled"].sum() > base["agents_scheduled"].sum()
    assert WhatIf(shrinkage=0.5).describe() == "shrinkage 50 %"
    strict = requirement(WhatIf(sl_target=0.95, sl_answer_s=10))
    assert (strict["agents"] >= base["agents"]).all() and strict["agents"].sum() > base[
        "agents"
    ].sum()
    assert WhatIf(sl_target=0.95, sl_answer_s=10).describe() == "SL 95 % in 10 s"
    shorter = requirement(WhatIf(aht_factor=0.5))
    busy = base["calls"] > 0
    assert (shorter.loc[busy.to_numpy(), "aht_s"] == 120.0).all()
    assert shorter["agents"].sum() < base["agents"].sum()
    assert WhatIf(aht_factor=0.5).describe() == "AHT -50 %"
    longer = requirement(WhatIf(aht_delta_s=60))
    assert (longer.loc[busy.to_numpy(), "aht_s"] == 300.0).all()
    assert WhatIf(aht_delta_s=60).describe() == "AHT +60 s"
    more = requirement(WhatIf(volume_factor=1.2))
    assert np.allclose(more["calls"], base["calls"] * 1.2)
    assert WhatIf(volume_factor=1.2).describe() == "volume +20 %"


def test_service_level_expected_and_hires(stored):
    reqs, requirement = stored.reqs, stored.week.problem.requirement
    level, target = expected_service_level(CFG, reqs, requirement, stored.week)
    assert target == pytest.approx(0.8)
    assert level >= target  # the requirement's agents, pooled, meet every queue's target
    nobody, _ = expected_service_level(CFG, reqs, np.zeros_like(requirement), stored.week)
    assert nobody == 0.0
    stricter, aimed = expected_service_level(
        CFG, reqs, requirement, stored.week, WhatIf(sl_target=0.9, sl_answer_s=10)
    )
    assert aimed == pytest.approx(0.9) and stricter < level

    rows = stored.summary.rows
    small = TeamLimits(per_day=(3,) * 7, shifts=4, paid_hours=20.0, people=3)
    within = dataclasses.replace(
        stored.summary, team=small, within_team=True, short_days=frozenset({0})
    )
    view = team_view(CFG, within, {})
    assert view.beyond and "and the agents can work 4" in view.beyond[0]
    assert view.binds[:2] == ["shifts in the week (4)", "contract hours (20)"]
    assert "agents available on Mon 30 (3)" in view.binds
    assert view.shifts_planned == int(rows["agents"].sum())

    # 100 agent-hours short, 20 of them where no shift can be on duty: two 40-hour agents
    tight = dataclasses.replace(
        within, paid_hours=300.0, capacity_hours=400.0, shortage_hours=100.0,
        uncoverable_hours=20.0,
    )  # fmt: skip
    assert tight.team_binds() and hires(tight, CFG) == 2
    loose = dataclasses.replace(tight, team=TeamLimits((99,) * 7, 999, 9999.0, 99))
    assert not loose.team_binds() and hires(loose, CFG) == 0  # the limits cause no shortage
    over = dataclasses.replace(loose, paid_hours=450.0, shortage_hours=0.0)
    assert hires(over, CFG) == 2  # 50 paid hours beyond the contracts
    # a plan for the requirement alone, planned again within the team: as `hotline plan` counts
    alone = dataclasses.replace(loose, within_team=False, team_shortage_hours=150.0)
    assert hires(alone, CFG) == 2  # 50 agent-hours more short within the team's limits


def test_the_service_level_of_a_dst_week_takes_each_interval_on_its_own():
    """Sunday 25 October 2026 has 25 hours: the repeated hour's two intervals each bring their
    calls to the agents of their wall-clock slot, and are not summed into it."""
    week_start = dt.date(2026, 10, 19)
    starts = pd.date_range(
        pd.Timestamp(week_start, tz="Europe/Rome"),
        pd.Timestamp(week_start + dt.timedelta(days=7), tz="Europe/Rome"),
        freq="30min",
        inclusive="left",
    )
    assert len(starts) == 7 * 48 + 2
    reqs = pd.DataFrame(
        {"queue": "orders", "interval_start": starts.tz_convert("UTC"), "calls": 10.0,
         "aht_s": 240.0, "agents_scheduled": 5}
    )  # fmt: skip
    week = shift_problem(CFG, reqs.assign(queue="total"), team=False)
    cover = np.full(week.problem.requirement.size, 5)
    level, target = expected_service_level(CFG, reqs, cover, week)
    # five on duty less 30 % shrinkage: three on the phones, for each interval's 10 calls
    one = erlang_c_performance(
        np.array([10.0]), np.array([3]), interval_s=1800, aht_s=np.array([240.0]),
        answer_time_s=20.0,
    )  # fmt: skip
    assert level == pytest.approx(float(one.service_level[0]))
    assert target == pytest.approx(0.8)
    no_shifts = pd.DataFrame(columns=["date", "agents", "paid_hours", "cost"])
    summary = summarise_cover(CFG, week, no_shifts, cover)
    assert summary.agent_hours == pytest.approx(7 * 48 * 5 / 2)  # the repeated hour counted once


def test_the_what_if_reports_its_progress_while_the_solver_runs(plan_app, stored):
    from ivr.jobs.what_if import run_what_if

    store(plan_app, stored)
    reports: list[tuple[float, str]] = []
    params = {"week": "2026-11-30", "change": WhatIf(shrinkage=0.4).as_params()}
    with plan_app.app_context():
        result = run_what_if(plan_app, params, lambda *report: reports.append(report), by="anna")
    shares = [share for share, _message in reports]
    assert shares == sorted(shares) and shares[-1] < 1.0
    assert any(
        m.startswith("planning the shifts within what the team can work: 0 s of up")
        for _s, m in reports
    )
    assert reports[-1] == (0.9, "reading the plan")
    with session_scope(plan_app) as session:
        scenario = session.get(PlanScenario, result["scenario"])
        assert (scenario.label, scenario.created_by) == ("shrinkage 40 %", "anna")
        # more time off the phones: more agents scheduled for the same calls
        assert sum(scenario.series["required"]["total"]) > stored.week.problem.requirement.sum()
        assert scenario.figures["forecast"].startswith("the forecast stored 2026-11-25")
