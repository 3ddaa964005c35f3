"""``hotline scheduler``: APScheduler with its SQLAlchemy job store on the line's database.

Each firing is keyed by (job, fire time, attempt) in ``job_runs``: the row is inserted before the
job runs, and the unique key means a second scheduler process waking for the same fire time gets
no row and does nothing. Interval jobs fire on boundaries of their period (so every process
computes the same fire time); cron jobs on the minute, in the line's time zone (DST included).
A failing job is logged with its error and retried per config; the scheduler carries on.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import traceback

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import select

from ivr import clock
from ivr.config import hotline_config
from ivr.config.schema import JobSchedule
from ivr.jobs.bodies import JOBS
from ivr.store.calllog import insert_ignore
from ivr.store.db import session_scope
from ivr.store.models import JobRun

log = logging.getLogger(__name__)
EPOCH = dt.datetime(2000, 1, 3, tzinfo=dt.UTC)  # a Monday: interval jobs are aligned to it
_app: Flask | None = None
_scheduler = None


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def fire_time(schedule: JobSchedule, now: dt.datetime) -> dt.datetime:
    """The fire time ``now`` belongs to, the same in every scheduler process."""
    if schedule.every_s:
        elapsed = (now - EPOCH).total_seconds()
        return EPOCH + dt.timedelta(seconds=(elapsed // schedule.every_s) * schedule.every_s)
    return now.replace(second=0, microsecond=0)


def trigger(schedule: JobSchedule, tz) -> IntervalTrigger | CronTrigger:
    if schedule.every_s:
        return IntervalTrigger(seconds=schedule.every_s, start_date=EPOCH, timezone=tz)
    return CronTrigger.from_crontab(schedule.cron, timezone=tz)


def next_run(schedule: JobSchedule, tz, now: dt.datetime) -> dt.datetime | None:
    return trigger(schedule, tz).get_next_fire_time(None, now)


def run_job(
    app: Flask, name: str, scheduled_for: dt.datetime, attempt: int = 1, who: str | None = None
) -> JobRun | None:
    """Run one firing unless another process has it; returns the run, or None if taken."""
    who = who or owner()
    with app.app_context():
        started = clock.now()
    with session_scope(app) as session:
        taken = not insert_ignore(
            session,
            JobRun,
            {
                "job": name,
                "scheduled_for": scheduled_for,
                "attempt": attempt,
                "owner": who,
                "started_at": started,
                "outcome": "running",
            },
        )
    if taken:
        log.info("%s for %s is another scheduler's", name, scheduled_for)
        return None
    try:
        detail, outcome = JOBS[name](app, scheduled_for), "ok"
    except Exception as exc:  # noqa: BLE001 - a failing job must not stop the scheduler
        log.exception("job %s failed", name)
        detail, outcome = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}", "failed"
    with app.app_context():
        ended = clock.now()
    with session_scope(app) as session:
        run = session.scalars(
            select(JobRun).where(
                JobRun.job == name, JobRun.scheduled_for == scheduled_for, JobRun.attempt == attempt
            )
        ).one()
        run.outcome, run.detail, run.ended_at = outcome, detail[:4000], ended
        session.flush()
        session.expunge(run)
    settings = hotline_config(app).line.scheduler
    if outcome == "failed" and attempt <= settings.retries and _scheduler is not None:
        retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.retry_delay_s)
        _scheduler.add_job(
            fire_retry,
            DateTrigger(retry_at),
            args=[name, scheduled_for.isoformat(), attempt + 1],
            id=f"{name}-retry-{attempt + 1}-{scheduled_for.isoformat()}",
            replace_existing=True,
        )
    return run


def fire(name: str) -> None:
    """What APScheduler calls (a module-level function, so its job store can keep it)."""
    assert _app is not None, "the scheduler's app is not set"
    cfg = hotline_config(_app)
    with _app.app_context():
        now = clock.now()
    run_job(_app, name, fire_time(cfg.line.scheduler.jobs[name], now))


def fire_retry(name: str, scheduled_for: str, attempt: int) -> None:
    assert _app is not None
    run_job(_app, name, dt.datetime.fromisoformat(scheduled_for), attempt)


def build(app: Flask, blocking: bool = True):
    """A scheduler with every configured job, its job store on the app's database."""
    global _app, _scheduler
    _app = app
    cfg = hotline_config(app)
    store = SQLAlchemyJobStore(
        engine=app.extensions["hotline.engine"], tablename="apscheduler_jobs"
    )
    kind = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = kind(
        jobstores={"default": store},
        timezone=cfg.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    for name, schedule in cfg.line.scheduler.jobs.items():
        scheduler.add_job(
            fire, trigger(schedule, cfg.tz), args=[name], id=name, name=name, replace_existing=True
        )
    _scheduler = scheduler
    return scheduler


def job_overview(app: Flask, now: dt.datetime) -> list[dict]:
    """For /ops: each job's schedule, last run and next run."""
    cfg = hotline_config(app)
    rows = []
    with session_scope(app) as session:
        for name, schedule in cfg.line.scheduler.jobs.items():
            last = session.scalars(
                select(JobRun).where(JobRun.job == name).order_by(JobRun.started_at.desc()).limit(1)
            ).first()
            rows.append(
                {
                    "job": name,
                    "schedule": f"every {schedule.every_s} s"
                    if schedule.every_s
                    else f"cron {schedule.cron}",
                    "last_started": last.started_at.astimezone(cfg.tz) if last else None,
                    "last_outcome": last.outcome if last else None,
                    "last_detail": (last.detail or "").splitlines()[0]
                    if last and last.detail
                    else "",
                    "next_run": next_run(schedule, cfg.tz, now),
                }
            )
    return rows
