"""`hotline roster` round trips (CSV, iCalendar, HTML), explanations, and the supervisor page."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from icalendar import Calendar
from markupsafe import escape
from sqlalchemy import select

from ivr.config import hotline_config, use_config
from ivr.planning import rosters
from ivr.store.db import session_scope
from ivr.store.models import RosterAssignment

from .conftest import csrf, login

WEEK = dt.date(2026, 11, 23)  # a Monday


def run(app, *args: str):
    """`hotline roster` for WEEK with a 4 s limit (these weeks are small), plus ``args``."""
    return app.test_cli_runner().invoke(
        args=["roster", *args[:1], "--week", WEEK.isoformat(), *args[1:], "--time-limit", "4"]
    )


def check_calendar(data: bytes, tz, line_name: str) -> list:
    """A valid iCalendar file of one agent: named, with PRODID and VERSION, and events with
    DTSTAMP, a UID, SEQUENCE and times in the line's zone. Returns its events."""
    cal = Calendar.from_ical(data)
    assert cal["version"] == "2.0" and cal["prodid"]
    assert str(cal["x-wr-calname"]).startswith(line_name) and cal["name"] == cal["x-wr-calname"]
    events = cal.walk("VEVENT")
    assert [str(z["tzid"]) for z in cal.walk("VTIMEZONE")] == ([str(tz)] if events else [])
    for event in events:
        assert event.decoded("dtstamp").tzinfo is not None
        assert str(event["uid"]).endswith("@hotline")
        assert int(event["sequence"]) == 0
        for name in ("dtstart", "dtend"):
            moment = event.decoded(name)
            assert moment.tzinfo is not None and str(moment.tzinfo) == str(tz)
            assert event[name].params["TZID"] == str(tz)
        assert event.decoded("dtend") > event.decoded("dtstart")
    uids = [str(e["uid"]) for e in events]
    assert len(set(uids)) == len(uids)
    return events


def plan_csv(tmp_path, per_day: int = 2, days: int = 5) -> str:
    rows = []
    for d in range(days):
        date = WEEK + dt.timedelta(days=d)
        for start, end, brk in (("08:00", "16:30", "12:00"), ("12:00", "20:30", "16:00")):
            rows.append(
                {
                    "date": date.isoformat(),
                    "weekday": "",
                    "template": "t",
                    "shift_start": f"{date}T{start}:00+01:00",
                    "shift_end": f"{date}T{end}:00+01:00",
                    "break_start": f"{date}T{brk}:00+01:00",
                    "break_min": 30,
                    "agents": per_day,
                    "paid_hours": 8.0,
                    "cost": 0,
                }
            )
    path = tmp_path / "plan.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def team_csv(tmp_path, people: int = 6, min_hours: int = 16) -> str:
    lines = ["id,name,skills,languages,min_hours_week,max_hours_week,unavailable_days"]
    for i in range(people):
        off = "wednesday" if i == 0 else ""
        lines.append(
            f"B{i:03d},Agent <b>{i}</b>,orders;complaints;technical;general,en;it;pl;ro;nb,{min_hours},40,{off}"
        )
    path = tmp_path / "team.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_roster_round_trip_csv_ics_html(app, tmp_path):
    out, ics, page = tmp_path / "roster.csv", tmp_path / "ics", tmp_path / "roster.html"
    result = run(
        app,
        plan_csv(tmp_path),
        "--agents",
        team_csv(tmp_path),
        "-o",
        str(out),
        "--ics",
        str(ics),
        "--html",
        str(page),
    )
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str)
    assert list(rows.columns) == [
        "agent",
        "date",
        "shift_start",
        "shift_end",
        "break_start",
        "queue_skills",
    ]
    assert len(rows) == 20  # 2 shifts x 2 agents x 5 days, all filled
    assert not (
        (rows["agent"] == "B000") & (rows["date"] == "2026-11-25")
    ).any()  # unavailable on Wednesdays
    assert rows.groupby(["agent", "date"]).size().max() == 1
    cfg = hotline_config(app)
    assert {p.stem for p in ics.glob("*.ics")} >= set(rows["agent"])
    uids = {}
    for path in sorted(ics.glob("*.ics")):
        part = rows[rows["agent"] == path.stem]
        events = check_calendar(path.read_bytes(), cfg.tz, cfg.line.name)
        assert sorted(e.decoded("dtstart") for e in events) == sorted(
            dt.datetime.fromisoformat(t) for t in part["shift_start"]
        )
        uids.update({str(e["uid"]): path.stem for e in events})
    assert len(uids) == len(rows)
    # the same roster exported again: the same UIDs, one per agent, date and shift
    team = [SimpleNamespace(id=a, name=a) for a in rows["agent"].unique()]
    again = rosters.write_ics(
        rows.fillna("").to_dict("records"), team, tmp_path / "again", "Line", cfg.tz
    )
    assert {
        str(e["uid"])
        for path in again
        for e in Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    } == set(uids)
    for row in rows.itertuples():
        uid = f"{row.agent}-{row.date}-{row.shift_start[11:16]}-{row.shift_end[11:16]}@hotline"
        assert uids[uid.replace(":", "")] == row.agent
    html = page.read_text()
    assert "Agent &lt;b&gt;1&lt;/b&gt;" in html and "<b>1</b>" not in html
    with session_scope(app) as session:
        stored = session.scalars(select(RosterAssignment)).all()
    assert len(stored) == 20 and {r.status for r in stored} == {"draft"}


def test_rest_across_the_week_boundary_uses_last_weeks_published_roster(app, tmp_path):
    with session_scope(app) as session:
        for i in range(3):  # B000-B002 worked until midnight on Sunday: not at 08:00 on Monday
            sunday = WEEK - dt.timedelta(days=1)
            session.add(
                RosterAssignment(
                    week_start=WEEK - dt.timedelta(days=7),
                    agent_id=f"B{i:03d}",
                    date=sunday,
                    shift_start=dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC),
                    shift_end=dt.datetime(2026, 11, 22, 23, 0, tzinfo=dt.UTC),
                    status="published",
                )
            )
    out = tmp_path / "r.csv"
    result = run(app, plan_csv(tmp_path), "--agents", team_csv(tmp_path), "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str)
    early_monday = rows[(rows["date"] == "2026-11-23") & rows["shift_start"].str.contains("T08:00")]
    assert len(early_monday) == 2 and not set(early_monday["agent"]) & {"B000", "B001", "B002"}


def small_team_csv(tmp_path) -> str:
    """Four agents, one of them the only Polski speaker (and only for orders)."""
    path = tmp_path / "small.csv"
    path.write_text(
        "id,name,skills,languages,min_hours_week,max_hours_week,unavailable_days\n"
        "S001,Giulia,orders;complaints;general,it;en;ro;nb,30,40,\n"
        "S002,Marco,technical;general,it;en;ro;nb,30,40,sunday\n"
        "S003,Anna,orders,pl;en,20,30,\n"
        "S004,Sarah,orders;complaints;technical;general,en;it;ro;nb,35,40,\n"
    )
    return str(path)


def test_an_impossible_week_is_explained(app, tmp_path):
    team = small_team_csv(tmp_path)
    result = run(
        app, plan_csv(tmp_path, per_day=1), "--agents", team, "-o", str(tmp_path / "r.csv")
    )
    assert result.exit_code == 1
    assert re.search(
        r"(Monday|Tuesday|Wednesday|Thursday|Friday) 2026-11-2\d: needs 1 \w+.* on duty at \d\d:00",
        result.output,
    ), result.output
    anyway = run(
        app,
        plan_csv(tmp_path, per_day=1),
        "--agents",
        team,
        "-o",
        str(tmp_path / "r.csv"),
        "--best-effort",
    )
    assert anyway.exit_code == 0, anyway.output
    assert "rule not kept:" in anyway.output


def test_rules_not_kept_are_read_from_the_violations(app, tmp_path, monkeypatch):
    """The explanation's violations are data: a language or skill missing at a checkpoint names
    its day, time and rule and no agent; the command and the HTML view print the violations' own
    sentences (a day's checkpoints on one line)."""
    from ivr.planning import rosters
    from staffing.rostering import ATTRIBUTE_COVER, REST, Infeasible

    caught = []
    real = rosters.solve

    def recording(*args, **kwargs):
        try:
            return real(*args, **kwargs)
        except Infeasible as exc:
            caught.append(exc)
            raise

    monkeypatch.setattr(rosters, "solve", recording)
    page = tmp_path / "r.html"
    result = run(
        app,
        plan_csv(tmp_path, per_day=1),
        "--agents",
        small_team_csv(tmp_path),
        "-o",
        str(tmp_path / "r.csv"),
        "--best-effort",
        "--html",
        str(page),
    )
    assert result.exit_code == 0, result.output
    [infeasible] = caught
    violations = infeasible.roster.violations
    covers = [v for v in violations if v.rule == ATTRIBUTE_COVER]
    assert covers
    for v in covers:
        assert v.agent is None and v.day_name == f"{WEEK + dt.timedelta(days=v.day):%A %Y-%m-%d}"
        assert re.fullmatch(r"\d\d:00", v.time), v
        assert re.fullmatch(r"needs 1 \w+ speaker on duty|needs \d+ agent\(s\) for .+", v.detail)
        assert str(v) == f"{v.day_name} {v.time}: {v.detail}"
    for v in violations:
        if v.agent is not None:
            assert str(v) == f"{v.agent}{': ' if v.rule == REST else ' '}{v.detail}"
    printed = [
        line.removeprefix("rule not kept: ")
        for line in result.output.splitlines()
        if line.startswith("rule not kept: ")
    ]
    assert printed == rosters.summarise(violations)
    first = covers[0]
    times = [v.time for v in covers if (v.day, v.detail) == (first.day, first.detail)]
    assert f"{first.day_name}: {first.detail} at {', '.join(times)}" in printed
    html = page.read_text()
    assert all(str(escape(line)) in html for line in printed)  # as printed, a day on one line


def test_supervisor_page_lists_downloads_and_publishes(app, tmp_path):
    run(app, plan_csv(tmp_path), "--agents", team_csv(tmp_path), "-o", str(tmp_path / "r.csv"))
    client = app.test_client()
    assert client.get("/supervisor/roster").status_code == 302  # no login
    login(client)
    page = client.get("/supervisor/roster").get_data(as_text=True)
    assert (
        "Roster (draft), week of 2026-11-23" in page
        and "Download CSV" in page
        and "Publish this roster" in page
    )
    csv_text = client.get("/supervisor/roster.csv").get_data(as_text=True)
    assert csv_text.startswith("agent,date,shift_start,shift_end,break_start,queue_skills")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/supervisor/roster-ics.zip").data))
    cfg = hotline_config(app)
    for name in archive.namelist():
        check_calendar(archive.read(name), cfg.tz, cfg.line.name)
    assert (
        client.post("/supervisor/roster/publish", data={"week": WEEK.isoformat()}).status_code
        == 400
    )  # no CSRF token
    token = csrf(client, page)
    assert (
        client.post(
            "/supervisor/roster/publish", data={"week": WEEK.isoformat(), "csrf_token": token}
        ).status_code
        == 302
    )
    with session_scope(app) as session:
        assert {r.status for r in session.scalars(select(RosterAssignment))} == {"published"}


def test_ops_users_may_not_see_the_roster(make_app, clock, tmp_path):
    import shutil

    from werkzeug.security import generate_password_hash

    from tests.conftest import CONFIG_DIR

    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    (folder / "users.yaml").write_text(
        f'users:\n  - username: ops1\n    password_hash: "{generate_password_hash("ops-password")}"\n    role: ops\n'
    )
    app = make_app(CLOCK=clock, CONFIG_DIR=str(folder))
    client = app.test_client()
    login(client, "ops1", "ops-password")
    assert client.get("/ops").status_code == 200
    assert client.get("/supervisor/roster").status_code == 403


@pytest.fixture
def app(make_app, clock):
    return make_app(CLOCK=clock)


def test_planned_shifts_without_an_agent_are_counted(app, tmp_path):
    out = tmp_path / "r.csv"
    plan = plan_csv(tmp_path, per_day=3)  # 2 shifts x 3 agents x 5 days: 30 planned
    result = run(app, plan, "--agents", team_csv(tmp_path, people=4), "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str)
    assert 0 < len(rows) < 30
    assert f"{30 - len(rows)} planned shift(s) have no agent" in result.output
    # four agents, 40 hours each at most; five days each, but four for the one off on
    # Wednesday: with two days off in a row, Monday, Tuesday, Thursday, Friday (Sunday closed)
    asked = result.output.split("the plan asks more than these agents can work: ")[1]
    assert asked.startswith(
        "30 shifts, and the agents can work 19; 240 paid hours, and their contracts allow 160;"
        " 6 shifts on Mon 23 Nov, and 4 agents can work then;"
    )
    assert "6 shifts on Wed 25 Nov, and 3 agents can work then" in asked


def test_unfilled_counts_per_day_and_shift():
    from ivr.config.loader import load_config
    from ivr.planning.rosters import plan_from_csv, unfilled
    from tests.conftest import CONFIG_DIR

    cfg = load_config(CONFIG_DIR)
    content = (
        "date,shift_start,shift_end,agents\n"
        "2026-11-23,2026-11-23T08:00:00+01:00,2026-11-23T16:00:00+01:00,2\n"
        "2026-11-24,2026-11-24T12:00:00+01:00,2026-11-24T20:00:00+01:00,1\n"
    )
    plan = plan_from_csv(content, WEEK, cfg)

    def row(date: str, start: str, end: str) -> dict:
        return {
            "date": date,
            "shift_start": f"{date}T{start}:00+01:00",
            "shift_end": f"{date}T{end}:00+01:00",
        }

    assert unfilled(plan, []) == 3
    monday = row("2026-11-23", "08:00", "16:00")
    assert unfilled(plan, [monday]) == 2
    assert unfilled(plan, [monday, monday, monday]) == 1  # a third on Monday fills nothing else
    # on Tuesday, but on another shift than the planned one
    assert unfilled(plan, [monday, monday, row("2026-11-24", "08:00", "16:00")]) == 1
    assert unfilled(plan, [monday, monday, row("2026-11-24", "12:00", "20:00")]) == 0


def test_supervisor_page_shows_cover_against_the_stored_plan(app, tmp_path):
    from ivr.store.models import PlanDraft

    plan = plan_csv(tmp_path, per_day=3)
    run(app, plan, "--agents", team_csv(tmp_path, people=4), "-o", str(tmp_path / "r.csv"))
    rostered = len(pd.read_csv(tmp_path / "r.csv"))
    client = app.test_client()
    login(client)
    page = client.get("/supervisor/roster").get_data(as_text=True)
    assert "planned shifts" not in page  # no plan stored for the week: no chart
    with session_scope(app) as session:
        session.add(
            PlanDraft(
                kind="shifts",
                week_start=WEEK,
                created_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
                status="draft",
                content=Path(plan).read_text(),
            )
        )
    page = client.get("/supervisor/roster").get_data(as_text=True)
    assert "Shifts planned vs rostered per day" in page
    assert f"{30 - rostered} of 30 planned shifts have no agent" in page
    monday = len(pd.read_csv(tmp_path / "r.csv").query("date == '2026-11-23'"))
    assert f"Mon {monday}/6" in page
    assert "asks more than the agents can work" not in page  # the configured 36 agents could
    cfg = hotline_config(app)
    use_config(app, cfg.model_copy(update={"agents": cfg.agents[:4]}))
    page = client.get("/supervisor/roster").get_data(as_text=True)
    # four agents work five weekdays at most, and four shifts a day
    assert (
        "The plan asks more than the agents can work: 30 shifts, and the agents can work 20;"
        in page
    )
    assert "6 shifts on Tue 24 Nov, and 4 agents can work then" in page


def test_nobody_is_rostered_on_a_day_the_line_is_closed(make_app, clock, tmp_path):
    """Contracts ask for more hours than the plan's weekdays; days with no planned shift cost the
    solver nothing, but on a closed day there is no line to answer."""
    import shutil

    from tests.conftest import CONFIG_DIR

    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    hours = folder / "hours.yaml"
    text = hours.read_text()
    assert 'saturday:  ["09:00-13:00"]' in text
    hours.write_text(text.replace('saturday:  ["09:00-13:00"]', "saturday:  []"))
    app = make_app(CLOCK=clock, CONFIG_DIR=str(folder))
    team = team_csv(tmp_path, people=3, min_hours=32)
    out = tmp_path / "r.csv"
    # Monday to Friday, one agent per shift: 80 h planned for 96-120 h of contracts
    result = run(
        app, plan_csv(tmp_path, per_day=1), "--agents", team, "-o", str(out), "--best-effort"
    )
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str)
    weekend = {(WEEK + dt.timedelta(days=d)).isoformat() for d in (5, 6)}
    assert len(rows) >= 12 and not set(rows["date"]) & weekend, rows


def test_best_effort_tries_the_rules_as_they_are_first(app, tmp_path, monkeypatch):
    """The relaxed model starts from nobody working and skips the column-generation dive: on a
    week that can be rostered it finds far worse rosters in the same time, so it only runs when
    the rules cannot all be kept."""
    import staffing.rostering.solver
    from ivr.planning import rosters

    calls = []
    real = staffing.rostering.solver.solve

    def recording(problem, time_limit_s=30.0, *args, **kwargs):
        calls.append(kwargs.get("relax", False))
        return real(problem, time_limit_s, *args, **kwargs)

    monkeypatch.setattr(rosters, "solve", recording)
    monkeypatch.setattr(staffing.rostering.solver, "solve", recording)  # the explanation's own call
    feasible = run(
        app,
        plan_csv(tmp_path),
        "--agents",
        team_csv(tmp_path),
        "-o",
        str(tmp_path / "a.csv"),
        "--best-effort",
    )
    assert feasible.exit_code == 0 and "rule not kept" not in feasible.output
    assert calls == [False]
    calls.clear()
    team = small_team_csv(tmp_path)
    impossible = run(
        app,
        plan_csv(tmp_path, per_day=1),
        "--agents",
        team,
        "-o",
        str(tmp_path / "b.csv"),
        "--best-effort",
    )
    assert impossible.exit_code == 0 and "rule not kept:" in impossible.output
    assert calls == [False, True]  # the strict model, then its explanation: no third solve
    assert len(pd.read_csv(tmp_path / "b.csv")) > 0  # the explanation's roster, not an empty one


def thin_saturday_plan() -> pd.DataFrame:
    """Monday: 08:00-16:30 and 12:00-20:30, five agents each (ten on duty from 12:00 to 16:30);
    Saturday: 09:00-13:00, two agents."""
    rows = []
    for day, start, end, agents, paid in (
        (0, "08:00", "16:30", 5, 8.0),
        (0, "12:00", "20:30", 5, 8.0),
        (5, "09:00", "13:00", 2, 4.0),
    ):
        date = WEEK + dt.timedelta(days=day)
        rows.append(
            {
                "date": date,
                "shift_start": f"{date}T{start}:00+01:00",
                "shift_end": f"{date}T{end}:00+01:00",
                "agents": agents,
                "paid_hours": paid,
            }
        )
    return pd.DataFrame(rows)


def test_an_unfilled_shift_weighs_by_the_share_of_the_team_it_leaves_short():
    from ivr.config.loader import load_config
    from ivr.planning.rosters import week_plan
    from tests.conftest import CONFIG_DIR

    cfg = load_config(CONFIG_DIR)
    weight = {
        (c.day, c.shift): c.under_weight for c in week_plan(thin_saturday_plan(), WEEK, cfg).covers
    }
    # on duty, by hand: Monday 5 (4 h), 10 (4.5 h), 5 (4 h); Saturday 2 (4 h)
    usual = (4 * 5 + 4.5 * 10 + 4 * 5 + 4 * 2) / 16.5
    monday = (4 * 5 + 4.5 * 10) / 8.5  # on duty while either Monday shift runs
    assert weight[0, "08:00-16:30"] == round(100 * 8 * usual / monday)  # 590
    assert weight[0, "12:00-20:30"] == round(100 * 8 * usual / monday)
    assert weight[5, "09:00-13:00"] == round(100 * 4 * usual / 2)  # 1127
    by_hours = {
        (c.day, c.shift): c.under_weight
        for c in week_plan(thin_saturday_plan(), WEEK, cfg, by_team_share=False).covers
    }
    assert by_hours == {(0, "08:00-16:30"): 800, (0, "12:00-20:30"): 800, (5, "09:00-13:00"): 400}


def test_the_roster_staffs_a_thin_saturday_before_a_busy_monday(app):
    """Nine agents for Monday only, one for Saturday only, and one who can work Monday or
    Saturday but not both (eight hours a week at most): Saturday's second agent is a fifth of
    the team on duty then, Monday's tenth a tenth at most."""
    from ivr.config.schema import Agent
    from ivr.planning.rosters import make_roster

    cfg = hotline_config(app)
    every = {"skills": [q.id for q in cfg.queues], "languages": cfg.line.languages}
    weekdays = ["tuesday", "wednesday", "thursday", "friday"]
    agents = [
        Agent(
            id=f"M{i}",
            name=f"M{i}",
            min_hours_week=0,
            max_hours_week=40,
            unavailable_days=weekdays + ["saturday"],
            **every,
        )
        for i in range(9)
    ] + [
        Agent(
            id="S",
            name="S",
            min_hours_week=0,
            max_hours_week=40,
            unavailable_days=["monday", *weekdays],
            **every,
        ),
        Agent(
            id="X",
            name="X",
            min_hours_week=4,
            max_hours_week=8,
            unavailable_days=weekdays,
            **every,
        ),
    ]

    def day_of_x(by_team_share: bool) -> str:
        with session_scope(app) as session:
            _plan, result, rows = make_roster(
                cfg, session, thin_saturday_plan(), WEEK, agents, time_limit_s=10,
                best_effort=True, by_team_share=by_team_share,
            )  # fmt: skip
        assert not result.violations
        (x,) = [r for r in rows if r["agent"] == "X"]
        return x["date"]

    assert day_of_x(by_team_share=True) == str(WEEK + dt.timedelta(days=5))
    assert day_of_x(by_team_share=False) == str(WEEK)  # by paid hours alone: Monday's 8 h


def test_roster_as_json_and_csv(app, tmp_path):
    """--format json: the week, the assignments, the shifts without an agent and each rule
    broken as an object; --format csv: the assignments, as -o writes them."""
    import json

    out = tmp_path / "r.csv"
    result = run(
        app,
        plan_csv(tmp_path, per_day=1),
        "--agents",
        small_team_csv(tmp_path),
        "-o",
        str(out),
        "--best-effort",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["week"] == WEEK.isoformat()
    assert {"assignments", "unfilled_shifts", "rules_broken", "status"} <= set(body)
    written = pd.read_csv(out, dtype=str, keep_default_na=False).to_dict(orient="records")
    assert body["assignments"] == written
    assert {"agent", "date", "shift_start", "shift_end"} <= set(body["assignments"][0])
    assert body["rules_broken"]
    for rule in body["rules_broken"]:
        assert {"agent", "date", "rule", "detail"} <= set(rule)
        assert rule["date"] is None or WEEK.isoformat() <= rule["date"]
    assert any(r["agent"] is None and r["date"] and r["time"] for r in body["rules_broken"])
    as_csv = run(
        app, plan_csv(tmp_path), "--agents", team_csv(tmp_path), "-o", str(out), "--format", "csv"
    )
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.stdout == out.read_text()


def test_the_command_keeps_the_cells_locked_on_the_roster_page(app, tmp_path):
    from ivr.store.models import RosterLock

    at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    with session_scope(app) as session:  # B001 locked off on Monday, B002 on the late shift
        for agent, shift in (("B001", None), ("B002", "12:00-20:30")):
            session.add(
                RosterLock(week_start=WEEK, agent_id=agent, date=WEEK, shift=shift,
                           locked_by="demo", locked_at=at)
            )  # fmt: skip
    out = tmp_path / "roster.csv"
    result = run(app, plan_csv(tmp_path), "--agents", team_csv(tmp_path), "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str)
    monday = rows[rows["date"] == WEEK.isoformat()].set_index("agent")
    assert "B001" not in monday.index
    assert monday.loc["B002", "shift_start"].endswith("T12:00:00+01:00")
