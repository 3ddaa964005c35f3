"""forecast -> requirements -> shifts on the command line, and `hotline plan` from stored calls."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ivr.cli import cli
from ivr.config import hotline_config
from ivr.planning.pipeline import BadWhatIf, WhatIf, parse_what_if
from ivr.store.db import session_scope
from ivr.store.models import QueueEntry
from tests.forecasts.synthetic import history_frame


def history_csv(tmp_path, weeks=5, start="2026-10-26") -> str:
    index = pd.date_range(
        pd.Timestamp(start, tz="Europe/Rome"), periods=weeks * 7 * 48, freq="30min"
    )
    frame = pd.DataFrame({"interval_start": [t.isoformat() for t in index]})
    for seed, (queue, daily) in enumerate(
        {"orders": 900, "complaints": 200, "technical": 300, "general": 600}.items()
    ):
        frame[queue] = history_frame(index, seed=seed, daily=daily).to_numpy().astype(int)
    path = tmp_path / "history.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_planned_weeks_start_at_the_lines_midnight_across_a_dst_change(tmp_path):
    """Two weeks from Monday 19 October 2026: the first has the 25-hour Sunday (the clocks go
    back on the 25th), and the second starts on Monday the 26th at midnight, not at 23:00 on the
    Sunday (seven times 24 hours after the first)."""
    from forecasts.history import read_history
    from ivr.config.loader import load_config
    from ivr.planning.pipeline import line_calendar, plan_horizon

    history = read_history(history_csv(tmp_path, weeks=4, start="2026-09-21"), "Europe/Rome")
    assert history.end == pd.Timestamp("2026-10-19", tz="Europe/Rome")
    cfg = load_config()
    weeks = plan_horizon(cfg, history, line_calendar(cfg), dt.date(2026, 10, 19), 2, time_limit_s=2)
    assert [week.week_start for week in weeks] == [dt.date(2026, 10, 19), dt.date(2026, 10, 26)]


def test_forecast_requirements_shifts_round_trip(tmp_path):
    runner = CliRunner()
    forecast, reqs, plan, png = (tmp_path / n for n in ("f.csv", "r.csv", "p.csv", "p.png"))
    assert (
        runner.invoke(cli, ["forecast", history_csv(tmp_path), "-o", str(forecast)]).exit_code == 0
    )
    result = runner.invoke(cli, ["requirements", str(forecast), "-o", str(reqs)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(reqs)
    assert list(table.columns) == [
        "queue",
        "interval_start",
        "calls",
        "aht_s",
        "agents",
        "agents_scheduled",
        "service_level",
        "asa_s",
        "occupancy",
    ]
    assert set(table["queue"]) == {"orders", "complaints", "technical", "general", "total"}
    busy = table[(table["queue"] == "orders") & (table["calls"] > 5)]
    assert (busy["service_level"] >= 0.8).all() and (busy["occupancy"] <= 0.85).all()
    result = runner.invoke(
        cli, ["shifts", str(reqs), "-o", str(plan), "--plot", str(png), "--time-limit", "8"]
    )
    assert result.exit_code == 0, result.output
    assert "optimality gap" in result.output and "shortage" in result.output
    rows = pd.read_csv(plan)
    assert list(rows.columns) == [
        "date",
        "weekday",
        "template",
        "shift_start",
        "shift_end",
        "break_start",
        "break_min",
        "agents",
        "paid_hours",
        "cost",
    ]
    assert rows["agents"].sum() > 0 and set(rows["template"]) <= {
        "early",
        "late",
        "evening",
        "part_time",
        "saturday",
    }
    assert png.read_bytes()[:4] == b"\x89PNG"
    as_json = runner.invoke(
        cli, ["shifts", str(reqs), "-o", str(plan), "--time-limit", "8", "--format", "json"]
    )
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert {"status", "paid_hours", "shortage_hours", "worst_intervals", "rows"} <= set(body)
    assert len(body["rows"]) == len(pd.read_csv(plan))
    as_csv = runner.invoke(
        cli, ["shifts", str(reqs), "-o", str(plan), "--time-limit", "8", "--format", "csv"]
    )
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.stdout.splitlines()[0] == ",".join(rows.columns)


def test_pooled_and_p90_requirements(tmp_path):
    runner = CliRunner()
    forecast, pooled, upper = tmp_path / "f.csv", tmp_path / "pool.csv", tmp_path / "p90.csv"
    runner.invoke(
        cli, ["forecast", history_csv(tmp_path, weeks=3), "--horizon", "1d", "-o", str(forecast)]
    )
    assert (
        runner.invoke(cli, ["requirements", str(forecast), "-o", str(pooled), "--pool"]).exit_code
        == 0
    )
    assert set(pd.read_csv(pooled)["queue"]) == {"pooled"}
    assert (
        runner.invoke(
            cli, ["requirements", str(forecast), "-o", str(upper), "--quantile", "p90"]
        ).exit_code
        == 0
    )
    total_mean = pd.read_csv(pooled)["agents"].sum()
    assert pd.read_csv(upper).query("queue == 'total'")["agents"].sum() > total_mean * 0.9


def test_requirements_with_erlang_a(tmp_path, config_dir):
    """--model erlang-a staffs with the callers' patience (queues.yaml's patience_s): never more
    agents than Erlang C for the same targets in any row, fewer in some, and a queue without
    patience_s is an error that names it."""
    runner = CliRunner()
    forecast, c_file, a_file = tmp_path / "f.csv", tmp_path / "c.csv", tmp_path / "a.csv"
    runner.invoke(
        cli, ["forecast", history_csv(tmp_path, weeks=3), "--horizon", "1d", "-o", str(forecast)]
    )
    erlang_c = runner.invoke(cli, ["requirements", str(forecast), "-o", str(c_file)])
    assert erlang_c.exit_code == 0, erlang_c.output
    erlang_a = runner.invoke(
        cli, ["requirements", str(forecast), "-o", str(a_file), "--model", "erlang-a"]
    )
    assert erlang_a.exit_code == 0, erlang_a.output
    c, a = pd.read_csv(c_file), pd.read_csv(a_file)
    assert list(a.columns) == [*c.columns, "abandon_rate"]
    assert (a[["queue", "interval_start"]] == c[["queue", "interval_start"]]).all().all()
    assert (a["agents"] <= c["agents"]).all() and (a["agents"] < c["agents"]).any()
    assert (a["agents_scheduled"] <= c["agents_scheduled"]).all()
    busy = a[(a["queue"] != "total") & (a["calls"] > 5)]
    assert (busy["service_level"] >= 0.8).all() and (busy["abandon_rate"] > 0).all()

    queues = config_dir / "queues.yaml"
    text = queues.read_text(encoding="utf-8")
    queues.write_text(text.replace("    patience_s: 240\n", "", 1), encoding="utf-8")
    missing = runner.invoke(
        cli,
        ["requirements", str(forecast), "-o", str(a_file), "--model", "erlang-a"]
        + ["--config-dir", str(config_dir)],
    )
    assert missing.exit_code == 1
    assert "queue complaints: the erlang-a model needs" in missing.output
    assert "patience_s" in missing.output and "Traceback" not in missing.output


def test_uncoverable_requirement_names_the_intervals(tmp_path):
    index = pd.date_range(
        pd.Timestamp("2026-11-23", tz="Europe/Rome"), periods=7 * 48, freq="30min"
    )
    agents = np.zeros(len(index), dtype=int)
    agents[6:8] = 3  # Monday 03:00-04:00: no template works at night
    agents[20:30] = 2
    path = tmp_path / "r.csv"
    pd.DataFrame(
        {
            "queue": "total",
            "interval_start": [t.isoformat() for t in index],
            "agents_scheduled": agents,
        }
    ).to_csv(path, index=False)
    result = CliRunner().invoke(
        cli, ["shifts", str(path), "-o", str(tmp_path / "p.csv"), "--time-limit", "3"]
    )
    assert result.exit_code == 1
    assert "Mon 2026-11-23 03:00 - 04:00: needs 3 agent(s)" in result.output
    anyway = CliRunner().invoke(
        cli,
        [
            "shifts",
            str(path),
            "-o",
            str(tmp_path / "p.csv"),
            "--time-limit",
            "3",
            "--allow-uncovered",
        ],
    )
    assert anyway.exit_code == 0 and "shortage 3.0 agent-hours" in anyway.output


def test_bad_requirements_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("queue,interval_start,agents_scheduled\ntotal,monday,3\n")
    result = CliRunner().invoke(cli, ["shifts", str(path), "-o", str(tmp_path / "p.csv")])
    assert (
        result.exit_code == 1
        and "bad.csv:2: interval_start 'monday' is not an ISO date-time" in result.output
    )


@pytest.mark.parametrize(
    "items, expected",
    [
        (("volume=+20%",), WhatIf(volume_factor=1.2)),
        (("aht=+30s", "sl=90/20"), WhatIf(aht_delta_s=30.0, sl_target=0.9, sl_answer_s=20.0)),
        (("volume=-10%",), WhatIf(volume_factor=0.9)),
        (("aht=-10%", "shrinkage=35%"), WhatIf(aht_factor=0.9, shrinkage=0.35)),
        (("aht=-10%", "aht=+20"), WhatIf(aht_delta_s=20.0)),  # the last AHT change counts
    ],
)
def test_what_if_parsing(items, expected):
    assert parse_what_if(items) == expected


def test_what_if_errors():
    with pytest.raises(ValueError, match="use volume=\\+20%"):
        parse_what_if(("volume=lots",))
    with pytest.raises(BadWhatIf, match="Shrinkage: 120 % is outside 0–100 %") as refused:
        parse_what_if(("shrinkage=120%",))
    assert refused.value.field == "shrinkage"
    with pytest.raises(BadWhatIf, match="AHT change: -100 % leaves no handling time"):
        parse_what_if(("aht=-100%",))
    assert parse_what_if(("volume=+5%", "aht=-10%", "sl=90/20", "shrinkage=35%")).describe() == (
        "volume +5 %, AHT -10 %, SL 90 % in 20 s, shrinkage 35 %"
    )


def test_an_aht_cut_is_held_against_the_forecasts_aht():
    """The AHT a requirement uses is the forecast's where it has one, else the queue's."""
    from ivr.config.loader import load_config
    from ivr.planning.pipeline import requirement_table

    cfg = load_config()  # orders: 240 s
    starts = pd.date_range(
        pd.Timestamp("2026-11-30 09:00", tz="Europe/Rome"), periods=4, freq="30min"
    )
    forecast = pd.DataFrame(
        {
            "queue": "orders",
            "interval_start": starts,
            "calls": 10.0,
            "aht_s": [120.0, 90.0, 0.0, 150.0],
        }
    )
    with pytest.raises(BadWhatIf, match="takes the orders queue's forecast AHT of 90 s") as cut:
        requirement_table(cfg, forecast, WhatIf(aht_delta_s=-100))
    assert str(cut.value) == (
        "AHT change: -100 s takes the orders queue's forecast AHT of 90 s (Mon 30 Nov 09:30) to"
        " -10 s; an AHT must stay above 0 s."
    )
    table = requirement_table(cfg, forecast, WhatIf(aht_delta_s=-60))
    # the interval without an AHT of its own takes the queue's, changed alike
    assert table.loc[table["queue"] == "orders", "aht_s"].tolist() == [60.0, 30.0, 180.0, 90.0]
    no_own = forecast.assign(aht_s=0.0)
    with pytest.raises(BadWhatIf, match="takes the orders queue's AHT of 240 s to -10 s"):
        requirement_table(cfg, no_own, WhatIf(aht_delta_s=-250))


def test_plan_command_from_stored_calls_with_a_what_if(make_app, tmp_path):
    app = make_app(CLOCK=lambda: dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC))
    index = pd.date_range(
        pd.Timestamp("2026-10-26", tz="Europe/Rome"), periods=4 * 7 * 48, freq="30min"
    )
    counts = history_frame(index, seed=3, daily=150).to_numpy().astype(int)
    rows = []
    for t, n in zip(index, counts, strict=True):
        for k in range(n):
            at = (t + pd.Timedelta(seconds=30 * k)).to_pydatetime()
            rows.append(
                QueueEntry(
                    call_sid=f"C{t.value}{k}",
                    queue="general",
                    entered_at=at,
                    original_entered_at=at,
                    result="bridged",
                    wait_s=10,
                    handle_s=200,
                    answered_at=at,
                )
            )
    with session_scope(app) as session:
        session.add_all(rows)
    result = app.test_cli_runner().invoke(
        args=[
            "plan",
            "--from",
            "2026-11-23",
            "--weeks",
            "1",
            "--what-if",
            "volume=+50%",
            "--time-limit",
            "4",
        ]
    )
    assert result.exit_code == 0, result.output
    agents = len(hotline_config(app).agents)
    assert f"current headcount: {agents} agents" in result.output
    week = next(
        line
        for line in result.output.splitlines()
        if line.startswith("2026-11-23 ") and "paid h" not in line
    )
    paid = float(week.split()[2])
    assert paid > 0
    change = next(
        line
        for line in result.output.splitlines()
        if line.startswith("2026-11-23") and "paid h" in line
    )
    assert "(+" in change.split("paid h")[1].split(")")[0]  # more volume, more paid hours
    as_json = app.test_cli_runner().invoke(
        args=["plan", "--from", "2026-11-23", "--weeks", "1", "--time-limit", "4"]
        + ["--what-if", "volume=+50%", "--format", "json"]
    )
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert body["headcount"]["agents"] == agents
    [base] = body["weeks"]
    assert base["week_start"] == "2026-11-23" and {"paid_hours", "fte", "hires"} <= set(base)
    assert body["what_if"]["change"] == "volume +50 %"
    assert body["what_if"]["weeks"][0]["paid_hours"] > base["paid_hours"]
    inside = app.test_cli_runner().invoke(args=["plan", "--from", "2026-11-01", "--weeks", "1"])
    assert inside.exit_code != 0 and "inside the history" in inside.output


@pytest.mark.parametrize("saturday", ["2026-11-28", "2026-10-24"])  # the second spans a DST change
def test_no_agents_are_planned_while_the_line_is_closed(saturday):
    """A forecast with calls round the clock (history from another line's hours): the line's
    hours.yaml decides when agents are needed; the forecast's quantiles are cut alike. Its times
    are written with their UTC offsets, which change on the night of 25 October."""
    from ivr.config.hours import OpeningHours
    from ivr.config.loader import load_config
    from ivr.planning.pipeline import closed_calls, requirement_table

    cfg = load_config()
    hours = OpeningHours.from_config(cfg)
    first = pd.Timestamp(saturday, tz="Europe/Rome")
    end = (pd.Timestamp(saturday) + pd.Timedelta(days=3)).tz_localize("Europe/Rome")
    starts = pd.date_range(first, end, freq="30min", inclusive="left")  # 3 local days
    forecast = pd.DataFrame(
        {
            "queue": "orders",
            "interval_start": [t.isoformat() for t in starts],
            "calls": 20.0,
            "calls_p90": 30.0,
            "aht_s": 240.0,
        }
    )
    closed = [not hours.is_open(t.to_pydatetime()) for t in starts]  # 30-min aligned hours
    assert closed_calls(cfg, forecast) == 20.0 * sum(closed)
    for quantile in (None, "p90"):
        table = requirement_table(cfg, forecast, quantile=quantile)
        orders = table[table["queue"] == "orders"].set_index("interval_start")["agents"]
        local = pd.DatetimeIndex(pd.to_datetime(orders.index, utc=True)).tz_convert("Europe/Rome")
        by_time = dict(zip(local.strftime("%a %H:%M"), orders.to_numpy(), strict=False))
        assert by_time["Sat 08:30"] == 0 and by_time["Sat 09:00"] > 0 and by_time["Sat 12:30"] > 0
        assert by_time["Sat 13:00"] == 0
        assert all(by_time[f"Sun {h:02d}:00"] == 0 for h in range(24))  # closed on Sunday
        assert by_time["Mon 07:30"] == 0 and by_time["Mon 08:00"] > 0 and by_time["Mon 19:30"] > 0
        assert by_time["Mon 20:00"] == 0 and by_time["Mon 23:30"] == 0


def test_what_the_team_can_work_and_the_hires_it_needs():
    """Shifts per day and in the week, and paid hours, that agents.csv's team can work: each
    agent's possible weeks are the days they are available and the line is open, under the rest
    rules, within their contract; and hires for the shifts beyond them, not only for the hours."""
    from ivr.config.loader import load_config
    from ivr.config.schema import Agent
    from ivr.planning.pipeline import WeekSummary, hires
    from ivr.planning.team import beyond, team_limits

    # open 08:00-20:00 Monday to Friday, 09:00-13:00 on Saturday; shifts of 4 to 8.5 paid hours;
    # two days off in a row within the week
    cfg = load_config()
    agents = [
        Agent(
            id="A", name="A", skills=["orders"], languages=["en"], min_hours_week=30,
            max_hours_week=40,
        ),
        Agent(
            id="B", name="B", skills=["orders"], languages=["en"], min_hours_week=8,
            max_hours_week=16, unavailable_days=["monday"],
        ),
        Agent(
            id="C", name="C", skills=["orders"], languages=["en"], min_hours_week=20,
            max_hours_week=30, unavailable_days=[dt.date(2026, 12, 2), "saturday"],
        ),
    ]  # fmt: skip
    team = cfg.model_copy(update={"agents": agents})
    week = team_limits(team, dt.date(2026, 11, 30))
    # A: Monday to Friday, never Saturday: with Saturday, two weekdays off in a row leave three
    # weekday shifts and 4 hours, 29.5 hours at most, under A's 30; B: 16 hours fill four
    # shifts at most; C: Monday, Tuesday, Thursday, Friday. Nobody on Sunday: the line is closed.
    assert week.per_day == (2, 3, 2, 3, 3, 1, 0)
    assert (week.shifts, week.paid_hours, week.people) == (5 + 4 + 4, 86.0, 3)
    # Tuesday 8 December: a public holiday. With contracts left as they are (holiday_hours:
    # none), A: Monday and Wednesday to Friday (Monday to Saturday but Tuesday has no two days
    # off in a row); B: Wednesday to Saturday; C: Monday, Wednesday to Friday
    unreduced = team.staffing.model_copy(update={"holiday_hours": "none"})
    holiday = team_limits(team.model_copy(update={"staffing": unreduced}), dt.date(2026, 12, 7))
    assert holiday.per_day == (2, 0, 3, 3, 3, 1, 0) and holiday.shifts == 4 + 4 + 4
    # paid_day (the default) takes 1/6 of each contract off: A's 23.3-33.3 h may include the
    # Saturday (three weekdays and a Saturday); B's 13.3 h at most allow three 4-hour shifts
    holiday = team_limits(team, dt.date(2026, 12, 7))
    assert holiday.per_day == (2, 0, 3, 3, 3, 2, 0) and holiday.shifts == 4 + 3 + 4
    assert holiday.paid_hours == pytest.approx(86 * 5 / 6)
    rest = team.staffing.rest.model_copy(update={"min_consecutive_days_off": 0})
    loose = team.model_copy(update={"staffing": team.staffing.model_copy(update={"rest": rest})})
    assert team_limits(loose, dt.date(2026, 11, 30)).shifts == 6 + 4 + 4  # six days in a row
    assert team_limits(cfg.model_copy(update={"agents": []}), dt.date(2026, 11, 30)) is None
    # D's 40 hours cannot be reached on Monday and Tuesday alone: the roster will break that
    # rule and still roster D, so D counts on both days
    d = Agent(
        id="D", name="D", skills=["orders"], languages=["en"], min_hours_week=40,
        max_hours_week=40, unavailable_days=["wednesday", "thursday", "friday", "saturday"],
    )  # fmt: skip
    short_week = team_limits(cfg.model_copy(update={"agents": [d]}), dt.date(2026, 11, 30))
    assert short_week.per_day == (1, 1, 0, 0, 0, 0, 0) and short_week.shifts == 2

    def summary(paid_hours, rows, team_short=None):
        table = pd.DataFrame(rows, columns=["date", "agents"])
        table["paid_hours"] = paid_hours / table["agents"].sum()
        return WeekSummary(
            week_start=dt.date(2026, 11, 30), agent_hours=0, paid_hours=paid_hours, fte=0,
            cost=0, shortage_hours=4.0, excess_hours=0, peak="", peak_agents=0,
            capacity_hours=86.0, gap=0, rows=table, shifts=sum(n for _d, n in rows),
            team=week, team_shortage_hours=team_short,
        )  # fmt: skip

    monday, tuesday = "2026-11-30", "2026-12-01"
    assert not summary(80, [(monday, 2), (tuesday, 3)]).beyond_team()
    assert beyond(week, summary(80, [(monday, 3)]).rows, dt.date(2026, 11, 30)) == [
        "3 shifts on Mon 30 Nov, and 2 agents can work then"
    ]
    assert beyond(week, summary(90, [(monday, 2)]).rows, dt.date(2026, 11, 30)) == [
        "90 paid hours, and their contracts allow 86"
    ]
    assert summary(80, [(tuesday, 3)] * 5).beyond_team()  # 15 shifts, the team can work 13
    assert hires(summary(80, [(monday, 2)]), team) == 0
    # the team, within its limits, would leave 50 agent-hours short where the plan for the
    # requirement alone leaves 4: 46 agent-hours, two full-time agents
    assert hires(summary(80, [(tuesday, 3)] * 5, team_short=54.0), team) == 2
    assert hires(summary(80, [(tuesday, 3)] * 5, team_short=4.0), team) == 0
    fte = team.staffing.fte_hours_week
    assert hires(summary(86 + 2 * fte + 1, [(monday, 2)]), team) == 3  # by hours


def test_plan_asks_how_short_the_team_would_be(tmp_path):
    """`hotline plan`'s weeks are planned for the requirement alone; one that asks more than two
    agents can work is planned again within their limits, for the shortage they would leave."""
    from forecasts.history import read_history
    from ivr.config.loader import load_config
    from ivr.planning.pipeline import line_calendar, plan_horizon

    history = read_history(history_csv(tmp_path, weeks=4, start="2026-09-21"), "Europe/Rome")
    cfg = load_config()
    two = cfg.model_copy(update={"agents": cfg.agents[:2]})
    args = (history, line_calendar(cfg), dt.date(2026, 10, 19), 1)
    (checked,) = plan_horizon(two, *args, time_limit_s=2, check_team=True)
    assert checked.beyond_team()
    assert checked.team_shortage_hours > checked.shortage_hours + 500
    (unchecked,) = plan_horizon(two, *args, time_limit_s=2)
    assert unchecked.team_shortage_hours is None


def test_shifts_keep_within_the_team_unless_told_to_ignore_it(tmp_path):
    """Six agents needed 09:00-17:00 on weekdays, three agents in agents.csv: the plan has at
    most three shifts a day (fifteen in the week, 120 paid hours) and says so; with
    --ignore-team it covers the requirement."""
    import shutil

    from ivr.config.loader import default_config_dir

    config = tmp_path / "config"
    shutil.copytree(default_config_dir(), config)
    (config / "agents.csv").write_text(
        "id,name,skills,languages,min_hours_week,max_hours_week,unavailable_days\n"
        + "".join(f"A00{i},Agent {i},orders;general,it;en,30,40,\n" for i in (1, 2, 3))
    )
    starts = pd.date_range(
        pd.Timestamp("2026-11-30", tz="Europe/Rome"), periods=7 * 48, freq="30min"
    )
    busy = (starts.day_of_week < 5) & (starts.hour >= 9) & (starts.hour < 17)
    requirements = tmp_path / "r.csv"
    pd.DataFrame(
        {
            "queue": "total",
            "interval_start": [t.isoformat() for t in starts],
            "agents_scheduled": np.where(busy, 6, 0),
        }
    ).to_csv(requirements, index=False)
    runner = CliRunner()

    def shifts(*extra):
        plan = tmp_path / f"plan{len(extra)}.csv"
        args = ["shifts", str(requirements), "--config-dir", str(config), "-o", str(plan)]
        result = runner.invoke(cli, [*args, "--time-limit", "3", *extra])
        assert result.exit_code == 0, result.output
        return result.output, pd.read_csv(plan)

    output, within = shifts()
    # Saturday's 4 hours and three weekday shifts cannot make 30 hours: nobody on Saturday
    assert (
        "team: 3 agents can work at most 15 shifts and 120 paid hours, per day 3/3/3/3/3/0/0"
        in output
    )
    assert "the team's limit binds" in output
    per_day = within.groupby("date")["agents"].sum()
    assert per_day.max() <= 3 and per_day.sum() <= 15
    assert (within["agents"] * within["paid_hours"]).sum() <= 120
    output, alone = shifts("--ignore-team")
    assert "team:" not in output and "limit binds" not in output
    assert alone.groupby("date")["agents"].sum().min() >= 6  # six at once on every weekday
