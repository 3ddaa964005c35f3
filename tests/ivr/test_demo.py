"""`make demo`'s set-up path, without serving forever."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select

from ivr.config import hotline_config
from ivr.demo.setup import SAMPLE, shift_to_recent
from ivr.store.db import session_scope
from ivr.store.models import AgentAccount, Call, PlanDraft, QueueEntry


@pytest.mark.parametrize("today", [dt.date(2026, 11, 22) + dt.timedelta(days=d) for d in range(8)])
def test_shift_puts_the_banks_week_on_the_lines_and_ends_before_today(today):
    last = dt.date(1999, 7, 10)  # a Saturday: the Sabbath, the bank's day without calls
    shift = shift_to_recent(last, today)
    moved = last + dt.timedelta(days=shift)
    assert moved.weekday() == 6  # Sunday, the line's closed day
    assert today - dt.timedelta(days=7) <= moved < today
    sunday = dt.date(1999, 7, 4)  # the bank's first working day of the week lands on a Monday
    assert (sunday + dt.timedelta(days=shift)).weekday() == 0


def test_demo_setup_path(make_app, tmp_path):
    app = make_app(CLOCK=lambda: dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC))
    assert SAMPLE.exists()
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--time-limit", "5"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "44898 calls and 42556 queue entries added (399 phantom rows skipped)" in out
    assert "set-up done" in out
    folder = tmp_path.parent / tmp_path.name  # files go to the app's instance folder
    demo_dir = __import__("pathlib").Path(app.instance_path) / "demo"
    for name in (
        "history.csv",
        "forecast.csv",
        "forecast.png",
        "requirements.csv",
        "plan.csv",
        "plan.png",
    ):
        assert (demo_dir / name).stat().st_size > 0, name
    # on Sunday 22 November the sample ends on Sunday 15th: its history ends there, not with a
    # week of zero-call days, and the forecast runs from there through next week, the one planned
    history = pd.read_csv(demo_dir / "history.csv")
    assert history["interval_start"].iloc[-1] == "2026-11-15T23:30:00+01:00"
    forecast = pd.read_csv(demo_dir / "forecast.csv")
    assert forecast["interval_start"].iloc[0].startswith("2026-11-16T00:00:00+01:00")
    assert forecast["interval_start"].iloc[-1].startswith("2026-11-29T23:30:00+01:00")
    plan = pd.read_csv(demo_dir / "plan.csv")
    assert plan["date"].min() == "2026-11-23" and plan["date"].max() <= "2026-11-29"
    assert "calls in the week from Mon 23 Nov" in out
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 44898
        assert session.scalar(select(func.max(QueueEntry.entered_at))) < dt.datetime(
            2026, 11, 16, tzinfo=dt.UTC
        )
        agents = len(hotline_config(app).agents)
        assert session.scalar(select(func.count()).select_from(AgentAccount)) == agents
        assert {d.kind for d in session.scalars(select(PlanDraft))} >= {"forecast", "shifts"}
    again = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--time-limit", "3"])
    assert (
        "0 calls and 0 queue entries added" in again.output
    )  # running it twice adds nothing twice
    assert folder.exists()


def test_the_demo_holiday_week_rosters_with_no_rule_broken(make_app, tmp_path):
    """On Sunday 6 December 2026 the demo plans the week of 7 December, with the Immaculate
    Conception on Tuesday 8: the contracts are reduced for it (staffing.holiday_hours: paid_day),
    so the roster keeps every rule, and nobody works the holiday or Sunday."""
    app = make_app(CLOCK=lambda: dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC))
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--time-limit", "20"])
    assert result.exit_code == 0, result.output
    assert "calls in the week from Mon 07 Dec" in result.output
    assert ", 0 rule(s) broken" in result.output, result.output
    roster = pd.read_csv(__import__("pathlib").Path(app.instance_path) / "demo" / "roster.csv")
    assert len(roster) > 100
    assert not {"2026-12-08", "2026-12-13"} & set(roster["date"])
    with session_scope(app) as session:
        draft = session.scalars(select(PlanDraft).where(PlanDraft.kind == "roster")).one()
        assert draft.summary["rules_broken"] == [] and draft.summary["shifts"] == len(roster)
