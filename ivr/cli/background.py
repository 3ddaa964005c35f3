"""The background jobs: the scheduler, and one job run now or listed with its last run."""

from __future__ import annotations

from typing import get_args

import click
from flask import current_app
from flask.cli import AppGroup

from ivr.cli.in_app import AppCommand
from ivr.cli.output import echo_csv, echo_json, format_option
from ivr.config.schema import JobName


@click.command("scheduler", cls=AppCommand)
def scheduler_command() -> None:
    """Run the scheduled jobs (callbacks, lost calls, reforecast, weekly plan, retention) until Ctrl-C."""

    from ivr.jobs.scheduler import build

    app = current_app._get_current_object()
    scheduler = build(app, blocking=True)
    click.echo("scheduler starting (Ctrl-C stops it)")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("scheduler stopped")


@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """Scheduled jobs: run one now, or list their last and next runs."""


@jobs_group.command("run")
@click.argument(
    "name",
    type=click.Choice(list(get_args(JobName))),
)
def jobs_run(name: str) -> None:
    """Run a job once now (logged like a scheduled run)."""
    import datetime as dt

    from ivr import clock
    from ivr.jobs.scheduler import run_job

    now = clock.now()
    run = run_job(
        current_app._get_current_object(),
        name,
        now.replace(microsecond=0) + dt.timedelta(microseconds=1),
    )
    if run is None:
        raise click.ClickException("another scheduler is running this job now")
    click.echo(f"{name}: {run.outcome}: {(run.detail or '').splitlines()[0] if run.detail else ''}")
    if run.outcome != "ok":
        raise SystemExit(1)


@jobs_group.command("list")
@format_option
def jobs_list(fmt: str) -> None:
    """The jobs, their schedule, their last run and outcome, and their next run."""
    from ivr import clock
    from ivr.jobs.scheduler import job_overview

    rows = job_overview(current_app._get_current_object(), clock.now())
    if fmt != "table":
        columns = ["job", "schedule", "last_started", "last_outcome", "last_detail", "next_run"]
        picked = [{k: row.get(k) for k in columns} for row in rows]
        echo_json({"jobs": picked}) if fmt == "json" else echo_csv(picked, columns)
        return
    width = max((len(row["job"]) for row in rows), default=0)
    for row in rows:
        last = (
            f"{row['last_started']:%Y-%m-%d %H:%M} {row['last_outcome']}"
            if row["last_started"]
            else "never"
        )
        click.echo(
            f"{row['job']:{width}} {row['schedule']:22} last {last:28} next {row['next_run']:%Y-%m-%d %H:%M %Z}"
        )


# the hotline command's own (no app needed)
COMMANDS = []
# registered on the app's CLI (they need its database or configuration)
APP_COMMANDS = [scheduler_command, jobs_group]
