"""Scheduled jobs on a real database with a fake clock; the lock between two schedulers."""

from __future__ import annotations

import datetime as dt
import io
import threading
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select

from ivr.config import hotline_config, use_config
from ivr.config.schema import JobSchedule
from ivr.jobs import bodies as jobs
from ivr.jobs import scheduler
from ivr.store.db import session_scope
from ivr.store.models import JobRun, PlanDraft, QueueEntry

from .conftest import OPEN_TIME, due_callback, login

ROME = ZoneInfo("Europe/Rome")


@pytest.fixture
def app(make_app, clock, any_db_url):
    return make_app(CLOCK=clock, DATABASE_URL=any_db_url)


def test_two_schedulers_never_run_the_same_firing_twice(app, monkeypatch):
    calls = []
    barrier = threading.Barrier(2)

    def slow_job(_app, now):
        calls.append(now)
        return "done"

    monkeypatch.setitem(jobs.JOBS, "close_orphan_waits", slow_job)
    monkeypatch.setattr(scheduler, "JOBS", jobs.JOBS)
    results = []

    def one(owner):
        barrier.wait()
        results.append(scheduler.run_job(app, "close_orphan_waits", OPEN_TIME, who=owner))

    threads = [threading.Thread(target=one, args=(f"scheduler-{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert sorted(r is None for r in results) == [False, True]
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(JobRun)) == 1
    # the next firing is a new key: it runs
    assert (
        scheduler.run_job(app, "close_orphan_waits", OPEN_TIME + dt.timedelta(minutes=15))
        is not None
    )


def test_a_failing_job_is_logged_and_does_not_raise(app, monkeypatch):
    def broken(_app, now):
        raise RuntimeError("disk full")

    monkeypatch.setitem(jobs.JOBS, "retention", broken)
    run = scheduler.run_job(app, "retention", OPEN_TIME)
    assert run.outcome == "failed" and run.detail.startswith("RuntimeError: disk full")
    again = scheduler.run_job(app, "retention", OPEN_TIME, attempt=2)
    assert again is not None  # a retry is its own attempt


def test_callback_job_through_the_scheduler(app):
    with session_scope(app) as session:
        session.add(due_callback("CAz", "+393470000057"))
    run = scheduler.run_job(app, "dial_callbacks", OPEN_TIME)
    assert run.detail == "dialled 1 callback(s)"


def test_reforecast_and_weekly_plan_draft_for_supervisors(app, clock):
    rows = []
    start = dt.datetime(2026, 10, 26, 8, 0, tzinfo=ROME)
    for day in range(28):
        for hour in range(11):
            for k in range(3 if day % 7 < 5 else 1):
                at = start + dt.timedelta(days=day, hours=hour, minutes=7 * k)
                rows.append(
                    QueueEntry(
                        call_sid=f"C{day}-{hour}-{k}",
                        queue="general",
                        entered_at=at,
                        original_entered_at=at,
                        result="bridged",
                        wait_s=5,
                        handle_s=240,
                        answered_at=at,
                    )
                )
    with session_scope(app) as session:
        session.add_all(rows)
    # the plan's and the roster's time limits: 30 s each in line.yaml, 5 s are plenty here
    cfg = hotline_config(app)
    settings = cfg.line.scheduler.model_copy(update={"plan_time_limit_s": 5})
    use_config(
        app, cfg.model_copy(update={"line": cfg.line.model_copy(update={"scheduler": settings})})
    )
    clock.at = dt.datetime(2026, 11, 23, 1, 15, tzinfo=dt.UTC)
    run = scheduler.run_job(app, "reforecast", clock.at)
    assert run.outcome == "ok", run.detail
    assert (jobs.plans_dir(app) / "forecast-2026-11-23.csv").exists()
    run = scheduler.run_job(app, "weekly_plan", clock.at)
    assert run.outcome == "ok", run.detail
    with session_scope(app) as session:
        drafts = {d.kind: d for d in session.scalars(select(PlanDraft))}
    assert set(drafts) == {"forecast", "shifts", "roster"}
    assert (
        drafts["shifts"].week_start == dt.date(2026, 11, 30) and drafts["shifts"].status == "draft"
    )
    # the roster draft is stored with what gives: the rules broken, the shifts without an agent
    assert drafts["roster"].week_start == dt.date(2026, 11, 30)
    assert {"rules_broken", "unfilled_shifts", "unfilled"} <= set(drafts["roster"].summary)
    assert drafts["roster"].summary["shifts"] == len(drafts["roster"].content.splitlines()) - 1
    assert drafts["shifts"].content.startswith("date,weekday,template,shift_start")
    # the plan's forecast is stored with it: the newest forecast covers the week planned
    with session_scope(app) as session:
        newest = session.scalars(
            select(PlanDraft)
            .where(PlanDraft.kind == "forecast")
            .order_by(PlanDraft.created_at.desc(), PlanDraft.id.desc())
        ).first()
        planned = pd.read_csv(io.StringIO(newest.content))
    last = pd.to_datetime(planned["interval_start"], utc=True).max().tz_convert(ROME)
    assert last.date() == dt.date(2026, 12, 6)
    assert "roster draft with" in run.detail
    with session_scope(app) as session:
        from ivr.store.models import RosterAssignment

        assert (
            session.scalar(
                select(func.count())
                .select_from(RosterAssignment)
                .where(RosterAssignment.status == "draft")
            )
            > 0
        )


def test_interval_jobs_share_fire_times_and_cron_follows_dst():
    every = JobSchedule(every_s=900)
    a = scheduler.fire_time(every, dt.datetime(2026, 11, 25, 9, 7, 31, tzinfo=dt.UTC))
    b = scheduler.fire_time(every, dt.datetime(2026, 11, 25, 9, 14, 59, tzinfo=dt.UTC))
    assert a == b == dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    thursday = JobSchedule(cron="0 6 * * thu")
    before = scheduler.next_run(thursday, ROME, dt.datetime(2026, 10, 20, tzinfo=dt.UTC))
    after = scheduler.next_run(thursday, ROME, dt.datetime(2026, 10, 27, tzinfo=dt.UTC))
    assert (before.hour, before.utcoffset()) == (6, dt.timedelta(hours=2))
    assert (after.hour, after.utcoffset()) == (6, dt.timedelta(hours=1))


def test_jobs_page_and_cli(app):
    scheduler.run_job(app, "retention", OPEN_TIME)
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["jobs", "list"]).output
    assert "retention" in listing and "ok" in listing and "dial_callbacks" in listing
    client = app.test_client()
    login(client)
    page = client.get("/ops/jobs").get_data(as_text=True)
    assert "cron 0 6 * * thu" in page and "deleted 0 call events" in page


def test_every_job_has_a_name_a_default_schedule_and_a_body():
    """The job names line.yaml accepts (and ``hotline jobs run`` offers), the default schedules
    and the jobs that run are one list: a job added to one and not the others fails here."""
    from typing import get_args

    from ivr.config.schema import DEFAULT_JOBS, JobName

    assert set(get_args(JobName)) == set(DEFAULT_JOBS) == set(jobs.JOBS)
