"""`make demo`'s set-up path, without serving forever."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select

from ivr.db import session_scope
from ivr.demo import SAMPLE, shift_to_recent
from ivr.models import AgentAccount, Call, PlanDraft, QueueEntry


def test_shift_keeps_weekdays_and_ends_before_today():
    last = dt.date(1999, 7, 10)  # a Saturday
    shift = shift_to_recent(last, dt.date(2026, 11, 22))
    moved = last + dt.timedelta(days=shift)
    assert shift % 7 == 0 and moved.weekday() == last.weekday()
    assert dt.date(2026, 11, 15) <= moved < dt.date(2026, 11, 22)


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
    forecast = pd.read_csv(demo_dir / "forecast.csv")
    assert forecast["interval_start"].iloc[0].startswith("2026-11-22T00:00:00+01:00")
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 44898
        assert session.scalar(select(func.max(QueueEntry.entered_at))) < dt.datetime(
            2026, 11, 22, tzinfo=dt.UTC
        )
        agents = len(app.extensions["hotline.config"].agents)
        assert session.scalar(select(func.count()).select_from(AgentAccount)) == agents
        assert {d.kind for d in session.scalars(select(PlanDraft))} >= {"forecast", "shifts"}
    again = app.test_cli_runner().invoke(args=["demo", "--no-serve", "--time-limit", "3"])
    assert (
        "0 calls and 0 queue entries added" in again.output
    )  # running it twice adds nothing twice
    assert folder.exists()
