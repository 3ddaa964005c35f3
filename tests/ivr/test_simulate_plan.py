"""`hotline simulate-plan` and the supervisor's "Simulate this week" on the demo's week: the
forecast, plan and roster `hotline demo` stores, simulated interval by interval with confidence
intervals; the intervals that miss their target; bad input refused by the flag or field."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json

import pytest
from sqlalchemy import func, select

from ivr import create_app
from ivr.cli.simulate import CSV_COLUMNS
from ivr.config import hotline_config
from ivr.store.db import session_scope
from ivr.store.models import BackgroundTask, RosterAssignment
from tests.conftest import CONFIG_DIR

from .conftest import csrf, login

WEEK = "2026-11-23"  # the week the demo plans on Sunday 22 November 2026


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """An app after `hotline demo --no-serve` on Sunday 22 November 2026 (a draft roster of the
    week of Monday 23rd, the forecast through Sunday 29th)."""
    folder = tmp_path_factory.mktemp("simulate-plan")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{folder / 'hotline.db'}",
            "CONFIG_DIR": str(CONFIG_DIR),
            "TWILIO_AUTH_TOKEN": "test-auth-token",
            "HOTLINE_PUBLIC_URL": "https://line.example.com",
            "SECRET_KEY": "test-secret",
            "AUTO_MIGRATE": True,
            "INSTANCE_PATH": str(folder / "instance"),
            "CLOCK": lambda: dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC),
        }
    )
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--time-limit", "5"])
    assert result.exit_code == 0, result.output
    return app


def simulate_plan(app, *args: str):
    return app.test_cli_runner().invoke(args=["simulate-plan", *args])


def test_the_demo_week_is_printed_interval_by_interval_with_confidence_intervals(demo_app):
    result = simulate_plan(demo_app)  # default: the newest week with a roster
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Week of {WEEK}: draft roster, forecast of 2026-11-22")
    assert "20 replications (seed 0), shrinkage 30%" in lines[0]
    rows = [line for line in lines if line[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]
    first = rows[0].split()
    assert first[:4] == ["Mon", "23", "08:00", "orders"]  # the line opens at 8
    # service level, ASA and abandonment, each with its interval: "97.6% (94.8–100.0)"
    assert first[6].endswith("%") and first[7].startswith("(") and "–" in first[7]
    assert {r.split()[3] for r in rows} == {*hotline_config(demo_app).queue_ids(), "total"}
    assert not [r for r in rows if r.startswith("Sun")]  # closed on Sundays: no calls
    missed = [r.split()[:4] for r in rows if r.endswith("MISS")]
    listed = lines.index(next(line for line in lines if "miss their target" in line))
    assert lines[listed] == f"{len(missed)} queue interval(s) miss their target:"
    misses = [line.split()[:3] + [line.split()[3].rstrip(":")] for line in lines[listed + 1 :]]
    assert misses == missed and missed  # Saturday's team is too small for its calls


def test_json_figures_hold_together(demo_app):
    result = simulate_plan(demo_app, "--week", WEEK, "--replications", "5", "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (body["week"], body["roster"], body["replications"]) == (WEEK, "draft", 5)
    rows = body["intervals"]
    days = {dt.date.fromisoformat(r["interval_start"][:10]) for r in rows}
    assert min(days) == dt.date(2026, 11, 23) and max(days) == dt.date(2026, 11, 28)
    for r in rows:
        for figure in ("service_level", "asa_s", "abandon_rate"):
            low, mean, high = r[f"{figure}_low"], r[figure], r[f"{figure}_high"]
            if low is not None:
                assert low <= mean <= high, r
        queue_row = r["queue"] != "total" and r["service_level"] is not None  # None: no call
        assert r["miss"] == (queue_row and r["service_level"] < r["target"])
    by_interval = itertools.groupby(rows, key=lambda r: r["interval_start"])
    for _start, group in by_interval:
        group = list(group)
        total = [r for r in group if r["queue"] == "total"]
        assert len(total) == 1
        assert total[0]["calls"] == pytest.approx(sum(r["calls"] for r in group[:-1]), abs=0.05)
    assert [(m["interval_start"], m["queue"]) for m in body["misses"]] == [
        (r["interval_start"], r["queue"]) for r in rows if r["miss"]
    ]


def test_csv_rows_and_the_seed(demo_app):
    one = simulate_plan(demo_app, "--replications", "3", "--seed", "3", "--format", "csv")
    again = simulate_plan(demo_app, "--replications", "3", "--seed", "3", "--format", "csv")
    other = simulate_plan(demo_app, "--replications", "3", "--seed", "4", "--format", "csv")
    assert one.exit_code == 0, one.output
    assert one.output == again.output and one.output != other.output
    table = list(csv.DictReader(io.StringIO(one.output)))
    assert list(table[0]) == CSV_COLUMNS
    assert {r["queue"] for r in table} >= {"orders", "total"}


def test_the_forecast_band_and_no_shrinkage_change_the_figures(demo_app):
    def mean_sl(*args):
        body = json.loads(
            simulate_plan(demo_app, "--replications", "4", "--format", "json", *args).output
        )
        totals = [r["service_level"] for r in body["intervals"] if r["queue"] == "total"]
        return sum(totals) / len(totals), body

    base, _ = mean_sl()
    all_on_phones, body = mean_sl("--shrinkage", "0")
    assert body["shrinkage"] == 0.0 and all_on_phones > base
    _, banded = mean_sl("--forecast-band")
    assert banded["forecast_band"] is True


@pytest.mark.parametrize(
    "args, flag, message",
    [
        (["--replications", "1"], "--replications", "use 2 to 500"),
        (["--week", "2026-11-30"], "--week", "no roster for the week of 2026-11-30"),
        (["--week", "23/11/2026"], "--week", "is not a date (YYYY-MM-DD)"),
        (["--roster", "published"], "--roster", "the week of 2026-11-23 has no published roster"),
        (["--shrinkage", "1.5"], "--shrinkage", "shrinkage 1.5: use 0 to below 1"),
    ],
)
def test_bad_input_names_the_flag(demo_app, args, flag, message):
    result = simulate_plan(demo_app, *args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {flag}:" in result.output and message in result.output


def test_a_week_no_stored_forecast_covers_is_refused(demo_app):
    week = dt.date(2026, 11, 2)  # before the demo's forecast, which starts on 16 November
    with session_scope(demo_app) as session:
        shifts = session.scalars(
            select(RosterAssignment).where(RosterAssignment.week_start == dt.date(2026, 11, 23))
        ).all()
        gap = dt.timedelta(weeks=3)
        for s in shifts[:10]:
            session.add(
                RosterAssignment(
                    week_start=week, agent_id=s.agent_id, date=s.date - gap,
                    shift_start=s.shift_start - gap, shift_end=s.shift_end - gap,
                    break_start=s.break_start - gap if s.break_start else None, status="draft",
                )
            )  # fmt: skip
    result = simulate_plan(demo_app, "--week", week.isoformat())
    assert result.exit_code == 2
    assert "no stored forecast covers the week of 2026-11-02" in result.output


def test_the_roster_pages_button_checks_the_week_in_the_background(demo_app, run_tasks_inline):
    client = demo_app.test_client()
    login(client)
    page = client.get(f"/supervisor/roster?week={WEEK}").get_data(as_text=True)
    assert 'id="simulate-plan"' in page and f'name="week" value="{WEEK}"' in page
    assert 'name="source" value="draft"' in page
    token = csrf(client, page)
    posted = client.post("/supervisor/simulate", data={"week": WEEK, "source": "draft",
                                                       "csrf_token": token})  # fmt: skip
    assert posted.status_code == 302
    shown = client.get(posted.headers["Location"])
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and 'id="sim-intervals"' in text
    assert "Intervals that miss their target:" in text and 'id="simulation-data"' in text
    with session_scope(demo_app) as session:
        task = session.scalars(select(BackgroundTask).order_by(BackgroundTask.id.desc())).first()
        assert (task.kind, task.status, task.created_by) == ("simulate_plan", "done", "demo")
        assert task.params["week"] == WEEK and task.result["misses"]


@pytest.mark.parametrize(
    "form, message",
    [
        ({"week": "soon"}, "week: &#39;soon&#39; is not a date"),
        ({"week": "2026-11-30"}, "week: no roster for the week of 2026-11-30"),
        ({"week": WEEK, "source": "published"}, "source: the week of 2026-11-23 has no published"),
        (
            {"week": WEEK, "source": "final"},
            "source: &#39;final&#39; is neither published nor draft",
        ),
    ],
)
def test_bad_form_input_is_refused_before_any_task(demo_app, run_tasks_inline, form, message):
    client = demo_app.test_client()
    login(client)
    with session_scope(demo_app) as session:
        before = session.scalar(select(func.count()).select_from(BackgroundTask))
    answer = client.post("/supervisor/simulate", data={**form, "csrf_token": csrf(client)})
    assert answer.status_code == 400 and message in answer.get_data(as_text=True)
    with session_scope(demo_app) as session:
        assert session.scalar(select(func.count()).select_from(BackgroundTask)) == before
