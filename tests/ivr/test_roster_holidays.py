"""Holiday weeks: a public holiday or closure reduces the week's contract hours
(``staffing.holiday_hours``), nobody is ever rostered on a closed day (not even when rules must
give), and what gives is said on the page, in the CLI and with the stored draft; a search that
finds nothing stores nothing."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import select

from ivr.config.loader import load_config
from ivr.planning import rosters
from ivr.planning.team import contract_minutes, holidays, team_limits
from ivr.store.db import session_scope
from ivr.store.models import PlanDraft, RosterAssignment
from tests.conftest import CONFIG_DIR

from .conftest import login
from .test_roster_cli import WEEK, plan_csv


def config_with(tmp_path, closures=(), **staffing) -> str:
    """A copy of config/ with these closure days and staffing.yaml settings."""
    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    hours = yaml.safe_load((folder / "hours.yaml").read_text())
    hours["holidays"]["closures"] = [d.isoformat() for d in closures]
    (folder / "hours.yaml").write_text(yaml.safe_dump(hours))
    rules = yaml.safe_load((folder / "staffing.yaml").read_text())
    rules.update(staffing)
    (folder / "staffing.yaml").write_text(yaml.safe_dump(rules))
    return str(folder)


def full_timers(tmp_path, people: int = 2) -> str:
    """Agents who must work 36-40 h: in a usual week, four weekdays and a Saturday shift."""
    lines = ["id,name,skills,languages,min_hours_week,max_hours_week,unavailable_days"]
    for i in range(people):
        lines.append(f"F{i:03d},Full {i},orders;complaints;technical;general,en;it;pl;ro;nb,36,40,")
    path = tmp_path / "full.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def roster(app, tmp_path, *extra: str):
    out = tmp_path / "r.csv"
    result = app.test_cli_runner().invoke(
        args=[
            "roster", plan_csv(tmp_path, per_day=1), "--week", WEEK.isoformat(),
            "--agents", full_timers(tmp_path), "-o", str(out), "--time-limit", "10", *extra,
        ]
    )  # fmt: skip
    return result, out


@pytest.mark.parametrize("weekday", range(5), ids=["mon", "tue", "wed", "thu", "fri"])
@pytest.mark.parametrize("rule", ["paid_day", "prorate"])
def test_a_holiday_on_any_weekday_rosters_with_no_rule_broken(
    make_app, clock, tmp_path, weekday, rule
):
    """Two full-timers (36-40 h) and one shift per open weekday each. With a weekday closed, a
    contract left unreduced could only be met with a Saturday and the two days off apart; reduced
    (paid_day: 40/6 h off, prorate: 5 of 6 open days), four weekday shifts meet it."""
    holiday = WEEK + dt.timedelta(days=weekday)
    app = make_app(CLOCK=clock, CONFIG_DIR=config_with(tmp_path, [holiday], holiday_hours=rule))
    result, out = roster(app, tmp_path)
    assert result.exit_code == 0, result.output
    assert "rule not kept" not in result.output
    rows = pd.read_csv(out, dtype=str)
    assert holiday.isoformat() not in set(rows["date"])
    assert len(rows) == 8  # four open weekdays, two shifts each


@pytest.mark.parametrize("weekday", [0, 3])
def test_without_the_reduction_the_same_week_breaks_rules_but_never_the_closed_day(
    make_app, clock, tmp_path, weekday
):
    holiday = WEEK + dt.timedelta(days=weekday)
    app = make_app(CLOCK=clock, CONFIG_DIR=config_with(tmp_path, [holiday], holiday_hours="none"))
    refused, _ = roster(app, tmp_path)
    assert refused.exit_code == 1 and "no roster keeps every rule" in refused.output
    result, out = roster(app, tmp_path, "--best-effort", "--format", "json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout[result.stdout.index("{") :])
    assert answer["rules_broken"], answer
    assert {r["rule"] for r in answer["rules_broken"]} <= {"min hours", "two days off in a row"}
    for broken in answer["rules_broken"]:
        assert broken["agent"] in {"F000", "F001"} and broken["text"].startswith(broken["agent"])
    assert holiday.isoformat() not in set(pd.read_csv(out, dtype=str)["date"])


def test_contract_hours_and_team_limits_agree_on_the_reduction(tmp_path):
    holiday = WEEK + dt.timedelta(days=1)
    for rule, expected in (("paid_day", (36 * 60 - 400, 40 * 60 - 400)), ("prorate", (1800, 2000)),
                           ("none", (2160, 2400))):  # fmt: skip
        cfg = load_config(config_with(tmp_path / rule, [holiday], holiday_hours=rule))
        assert holidays(cfg, WEEK) == {1: "closure"}
        agent = cfg.agents[0].model_copy(update={"min_hours_week": 36, "max_hours_week": 40})
        assert contract_minutes(cfg, agent, WEEK) == expected
        limits = team_limits(cfg.model_copy(update={"agents": [agent]}), WEEK)
        assert limits.paid_hours == pytest.approx(expected[1] / 60)
        assert limits.per_day[1] == 0 and limits.per_day[6] == 0  # the holiday, Sunday
    # a usual Sunday (closed every week) is no holiday and reduces nothing
    cfg = load_config(config_with(tmp_path / "plain"))
    assert holidays(cfg, WEEK) == {}


def test_a_holiday_that_does_not_count_as_a_day_off(tmp_path):
    """holiday_counts_as_day_off: false — the two days off in a row must be other days."""
    holiday = WEEK + dt.timedelta(days=4)  # Friday
    counts = load_config(config_with(tmp_path / "a", [holiday]))
    not_counted = load_config(
        config_with(tmp_path / "b", [holiday], holiday_counts_as_day_off=False)
    )
    for cfg, expected in ((counts, frozenset()), (not_counted, frozenset({4}))):
        plan = rosters.week_plan(rosters.read_plan(plan_csv(tmp_path, per_day=1), WEEK), WEEK, cfg)
        problem = rosters.build_problem(cfg, plan, cfg.agents[:2], {}, [])
        assert problem.not_rest_days == expected
        assert problem.closed_days == frozenset({4, 6})


def test_the_supervisor_page_and_the_draft_say_which_rules_gave(make_app, clock, tmp_path):
    holiday = WEEK + dt.timedelta(days=3)
    app = make_app(CLOCK=clock, CONFIG_DIR=config_with(tmp_path, [holiday], holiday_hours="none"))
    result, _ = roster(app, tmp_path, "--best-effort")
    assert result.exit_code == 0 and "rule not kept" in result.output
    with session_scope(app) as session:
        draft = session.scalars(select(PlanDraft).where(PlanDraft.kind == "roster")).one()
        stored = draft.summary["rules_broken"]
    assert stored and all(r["agent"] in {"F000", "F001"} for r in stored)
    client = app.test_client()
    login(client)
    page = client.get(f"/supervisor/roster?week={WEEK}").get_data(as_text=True)
    assert f"Rules broken: {len(draft.summary['rules_broken_text'])}" in page, page[
        page.find("<main") :
    ]
    for line in draft.summary["rules_broken_text"]:
        assert line in page
    # agents rostered but no longer in agents.csv are shown, by id
    assert "F000" in page and "(not in agents.csv)" in page


def test_planned_shifts_without_an_agent_are_listed_with_the_reason(make_app, clock, tmp_path):
    app = make_app(CLOCK=clock, CONFIG_DIR=config_with(tmp_path))
    out = tmp_path / "r.csv"
    result = app.test_cli_runner().invoke(
        args=[
            "roster", plan_csv(tmp_path, per_day=3), "--week", WEEK.isoformat(),
            "--agents", full_timers(tmp_path), "-o", str(out), "--time-limit", "10",
            "--format", "json",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout[result.stdout.index("{") :])
    unfilled = answer["unfilled"]
    assert (
        sum(u["missing"] for u in unfilled)
        == answer["unfilled_shifts"]
        == 30 - len(pd.read_csv(out))
    )
    for u in unfilled:
        assert u["planned"] == 3 and u["rostered"] + u["missing"] == 3
        assert (
            u["reason"]
            == "6 shifts planned on "
            + dt.date.fromisoformat(u["date"]).strftime("%A")
            + ", and 2 agents can work that day"
        )
    client = app.test_client()
    login(client)
    with session_scope(app) as session:
        session.add(
            PlanDraft(kind="shifts", week_start=WEEK, created_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
                      status="draft", content=Path(plan_csv(tmp_path, per_day=3)).read_text())
        )  # fmt: skip
    page = client.get(f"/supervisor/roster?week={WEEK}").get_data(as_text=True)
    assert "Planned shifts without an agent" in page
    assert unfilled[0]["text"].split(" (")[0] in page


def test_no_roster_in_time_stores_nothing_and_fails(app, tmp_path, monkeypatch):
    first, out = roster(app, tmp_path)
    assert first.exit_code == 0, first.output
    with session_scope(app) as session:
        before = sorted((r.agent_id, r.date) for r in session.scalars(select(RosterAssignment)))
    assert before

    def no_roster(problem, time_limit_s=30.0, **kwargs):
        raise RuntimeError(f"no roster found in {time_limit_s:g} s (UNKNOWN)")

    monkeypatch.setattr(rosters, "solve", no_roster)
    for extra in ((), ("--best-effort",)):
        result, _ = roster(app, tmp_path, *extra)
        assert result.exit_code == 1, result.output
        assert "no roster found in 10 s" in result.output
        assert "nothing stored: the week's previous roster stays" in result.output
    with session_scope(app) as session:
        after = sorted((r.agent_id, r.date) for r in session.scalars(select(RosterAssignment)))
        drafts = session.scalars(select(PlanDraft).where(PlanDraft.kind == "roster")).all()
    assert after == before and len(drafts) == 1


def test_the_weekly_draft_keeps_the_previous_one_when_no_roster_is_found(
    app, tmp_path, monkeypatch
):
    folder = tmp_path / "week"
    folder.mkdir()
    shutil.copyfile(plan_csv(tmp_path, per_day=1), folder / "plan.csv")
    said = []
    rows = rosters.draft_roster(app, folder, said.append, 10)
    assert rows and "rule(s) broken" in said[0]
    monkeypatch.setattr(
        rosters, "solve", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no roster found"))
    )
    (folder / "roster.csv").unlink()
    with pytest.raises(rosters.NoRoster):
        rosters.draft_roster(app, folder, said.append, 10)
    assert not (folder / "roster.csv").exists()
    with session_scope(app) as session:
        assert len(session.scalars(select(RosterAssignment)).all()) == len(rows)


def test_a_week_of_holidays_and_contracts_no_week_can_meet_are_explained(make_app, clock, tmp_path):
    """Every weekday closed: the plan for it has nothing to roster, and the command says which
    week; contracts whose minimum no week can reach are named, agent by agent, with the rule."""
    closures = [WEEK + dt.timedelta(days=d) for d in range(5)]
    app = make_app(CLOCK=clock, CONFIG_DIR=config_with(tmp_path / "closed", closures))
    result, _ = roster(app, tmp_path)
    # the plan's shifts all fall on closed days: the explanation names the contracts that
    # cannot be met (every day but Saturday closed, paid_day leaves 6.7 h of 40)
    assert result.exit_code == 1, result.output
    assert "no roster keeps every rule" in result.output
    # 36-40 h less 5 x 6.7 h of holidays leave 2.7-6.7 h: no 8-hour Saturday shift fits
    assert "F000 works more than 6.7 h" in result.output, result.output
    # contracts beyond any week: 70 h minimum with one 8.5 h shift a day and two days off
    app = make_app(CLOCK=clock, CONFIG_DIR=config_with(tmp_path / "open"))
    team = tmp_path / "greedy.csv"
    team.write_text(
        "id,name,skills,languages,min_hours_week,max_hours_week,unavailable_days\n"
        "G001,Greedy,orders;complaints;technical;general,en;it;pl;ro;nb,70,80,\n"
        "F002,Fine,orders;complaints;technical;general,en;it;pl;ro;nb,20,40,\n"
    )
    out = tmp_path / "g.csv"
    result = app.test_cli_runner().invoke(
        args=[
            "roster", plan_csv(tmp_path, per_day=1), "--week", WEEK.isoformat(),
            "--agents", str(team), "-o", str(out), "--time-limit", "10",
        ]
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "G001 works less than 70 h" in result.output
    assert "F002" not in result.output.split("least it takes to break")[1]
