"""Commands that need the app (database, agents, callbacks), registered on ``app.cli`` by the
factory as in Flask's tutorial; the ``hotline`` entry point finds them through the app."""

from __future__ import annotations

from typing import get_args

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from ivr.config import hotline_config
from ivr.config.schema import JobName
from ivr.store import db as dbmod


def with_appcontext_group(name: str):
    return click.group(name, cls=AppGroup)


class AppCommand(click.Command):
    """A command that runs inside the app context (like AppGroup's commands)."""

    def invoke(self, ctx: click.Context):
        from flask.cli import ScriptInfo

        info = ctx.ensure_object(ScriptInfo)
        with info.load_app().app_context():
            return super().invoke(ctx)


@with_appcontext_group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations."""
    engine = dbmod.get_engine()
    dbmod.upgrade(engine, revision)
    click.echo(
        f"database {engine.url.render_as_string(hide_password=True)} at {dbmod.current_revision(engine)}"
    )


@db_group.command("current")
def db_current() -> None:
    """Show the schema revision and the latest one."""
    engine = dbmod.get_engine()
    click.echo(f"current {dbmod.current_revision(engine)}, head {dbmod.head_revision()}")


@with_appcontext_group("agents")
def agents_group() -> None:
    """Agents on the phone line."""


@agents_group.command("set-pin")
@click.argument("agent_id")
@click.option(
    "--pin",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="4 to 12 digits (asked for when not given)",
)
def agents_set_pin(agent_id: str, pin: str) -> None:
    """Set AGENT_ID's PIN for the agent line (stored hashed, never logged)."""

    from ivr.store.db import session_scope
    from ivr.voice.agents import set_pin

    cfg = hotline_config()
    agent = next((a for a in cfg.agents if a.id == agent_id), None)
    if agent is None:
        raise click.ClickException(f"no agent {agent_id!r} in {cfg.source_dir / 'agents.csv'}")
    try:
        with session_scope() as session:
            set_pin(session, agent, pin)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"PIN set for {agent.id} ({agent.name})")


@agents_group.command("list")
def agents_list() -> None:
    """Agents, their skills and their state on the line."""
    from sqlalchemy import select

    from ivr.store.db import session_scope
    from ivr.store.models import AgentAccount

    cfg = hotline_config()
    with session_scope() as session:
        accounts = {a.agent_id: a for a in session.scalars(select(AgentAccount))}
        for agent in cfg.agents:
            account = accounts.get(agent.id)
            state = account.state if account else "no PIN"
            click.echo(f"{agent.id:6} {agent.name:22} {state:8} {','.join(agent.skills)}")


@with_appcontext_group("callbacks")
def callbacks_group() -> None:
    """Callbacks the system dials."""


@callbacks_group.command("dial-due")
def callbacks_dial_due() -> None:
    """Place every due callback once (the scheduler runs this every 30 s)."""
    from flask import current_app

    from ivr.voice.callbacks import dial_due_callbacks

    dialled = dial_due_callbacks(current_app._get_current_object())
    click.echo(f"dialled {len(dialled)} callback(s)")


def _window(since: str | None, until: str | None, cfg, default):
    from ivr import stats

    try:
        return stats.parse_window(cfg, since, until, default)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command("stats", cls=AppCommand)
@click.option("--queue", default=None, help="one queue (default: all)")
@click.option(
    "--since", default=None, help="ISO date or date-time (default: today, the line's time zone)"
)
@click.option("--until", default=None, help="ISO date (inclusive) or date-time (exclusive)")
@click.option("--freq", default=None, help="per interval, e.g. 30min (default: the whole window)")
@click.option("--format", "fmt", default="table", type=click.Choice(["table", "csv", "json"]))
def stats_command(queue, since, until, freq, fmt) -> None:
    """Queue statistics (the README's definitions), for the window or per interval."""
    import json
    import sys

    import pandas as pd

    from ivr import clock, stats
    from ivr.store.db import session_scope

    cfg = hotline_config()
    if queue and queue not in cfg.queue_ids():
        raise click.BadParameter(f"unknown queue {queue!r} (known: {', '.join(cfg.queue_ids())})")
    now = clock.now()
    window = _window(since, until, cfg, stats.local_day(cfg, now))
    with session_scope() as session:
        if freq:
            table = stats.interval_stats(session, cfg, window, pd.Timedelta(freq), queue)
            table["interval_start"] = [t.isoformat() for t in table["interval_start"]]
        else:
            table = pd.DataFrame(stats.queue_stats(session, cfg, window, now))
            if queue:
                table = table[table["queue"] == queue]
    if fmt == "json":
        records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
        click.echo(
            json.dumps({"window": window.as_json(cfg.line.timezone), "rows": records}, indent=2)
        )
    elif fmt == "csv":
        table.to_csv(sys.stdout, index=False)
    else:
        click.echo(f"{window.since.isoformat()} .. {window.until.isoformat()}")
        if freq:  # one row per interval
            click.echo(table.to_string(index=False, na_rep="–"))
        else:  # a column per queue, a row per figure: readable on a terminal
            shown = table.drop(columns="name").set_index("queue").astype(object).T
            click.echo(shown.where(shown.notna(), "–").to_string())


@click.command("history", cls=AppCommand)
@click.option("--freq", default="30min", show_default=True)
@click.option("--since", default=None, help="default: the day of the first call in the log")
@click.option("--until", default=None, help="default: the end of today")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def history_command(freq, since, until, output) -> None:
    """Write calls per queue and interval for forecasting (offered calls, each callback counted
    where it was taken) and <queue>_aht_s."""
    import pandas as pd

    from ivr import clock, stats
    from ivr.store.db import session_scope
    from ivr.store.importer import first_entry

    cfg = hotline_config()
    with session_scope() as session:
        first = first_entry(session)
        today = stats.local_day(cfg, clock.now())
        start = stats.local_day(cfg, first).since if first else today.since
        window = _window(since, until, cfg, stats.Window(start, today.until))
        table = stats.history_table(session, cfg, window, pd.Timedelta(freq))
    table["interval_start"] = [t.isoformat() for t in table["interval_start"]]
    table.to_csv(output, index=False)
    click.echo(f"wrote {len(table)} intervals x {len(cfg.queues)} queues to {output}")


@click.command("import-calls", cls=AppCommand)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--tz", default=None, help="time zone of the file's local times (default: the line's)"
)
def import_calls_command(path, tz) -> None:
    """Load per-call records (the Israeli bank's TSV format) into the call log."""
    from flask import current_app

    from ivr.store.importer import import_calls

    cfg = hotline_config()
    maker = current_app.extensions["hotline.sessionmaker"]
    try:
        report = import_calls(
            maker, path, cfg, tz=tz, progress=lambda m: click.echo(f"  .. {m}", err=True)
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for line, message in report.malformed[:20]:
        click.echo(f"{path}:{line}: {message} (skipped)", err=True)
    if len(report.malformed) > 20:
        click.echo(f"... and {len(report.malformed) - 20} more malformed rows", err=True)
    click.echo(
        f"{report.rows} rows: {report.calls_added} calls and {report.entries_added} queue entries added, "
        f"{report.phantom} phantom skipped, {len(report.malformed)} malformed skipped"
    )


@click.command("plan", cls=AppCommand)
@click.option("--from", "start", required=True, help="first day of the first week (YYYY-MM-DD)")
@click.option("--weeks", default=4, show_default=True, type=click.IntRange(1, 104))
@click.option(
    "--what-if",
    "what_ifs",
    multiple=True,
    help="volume=+20%, aht=+30s or sl=90/20 (repeatable): rerun with it and show the difference",
)
@click.option("--freq", default="30min", show_default=True, help="interval of the history and plan")
@click.option(
    "--time-limit",
    default=10.0,
    show_default=True,
    type=click.FloatRange(1, 600),
    help="solver seconds per week",
)
def plan_command(start, weeks, what_ifs, freq, time_limit) -> None:
    """Forecast -> requirements -> shifts week by week from the stored history: agent-hours, FTE,
    cost, peaks, and the gap to the current headcount (agents.csv). The shifts are planned for
    the requirement alone; a week that asks more shifts of the team than it can work is planned
    again within the team's limits, and hires count the agent-hours the team would leave short."""
    import datetime as dt

    from ivr.planning.pipeline import (
        hires,
        history_from_log,
        line_calendar,
        parse_what_if,
        plan_horizon,
    )

    cfg = hotline_config()
    try:
        first_day = dt.date.fromisoformat(start)
        variant = parse_what_if(what_ifs) if what_ifs else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    history = history_from_log(cfg, freq)
    if history is None:
        raise click.ClickException("no calls in the database: import or take some calls first")
    calendar = line_calendar(cfg)

    def say(message: str) -> None:
        click.echo(f"  .. {message}", err=True)

    try:
        base = plan_horizon(
            cfg,
            history,
            calendar,
            first_day,
            weeks,
            time_limit_s=time_limit,
            progress=say,
            check_team=True,
        )
        other = (
            plan_horizon(
                cfg,
                history,
                calendar,
                first_day,
                weeks,
                variant,
                time_limit_s=time_limit,
                progress=say,
                check_team=True,
            )
            if variant
            else None
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    capacity = base[0].capacity_hours
    team = base[0].team
    click.echo(
        f"current headcount: {len(cfg.agents)} agents, up to {capacity:.0f} contract hours a week"
        + (f" and {team.shifts} shifts (one a day, rest rules and contracts kept)" if team else "")
    )
    click.echo(
        f"{'week':10} {'agent-h':>8} {'paid h':>7} {'FTE':>5} {'cost':>9} {'short h':>7} {'peak':>14} {'extra h':>8} {'hires':>5} {'shifts/team':>11} {'team short h':>12}"
    )
    for s in base:
        peak = f"{s.peak} {s.peak_agents}"
        shifts = f"{s.shifts}/{s.team.shifts if s.team else '-'}"
        short = s.team_shortage_hours if s.team_shortage_hours is not None else s.shortage_hours
        click.echo(
            f"{s.week_start!s:10} {s.agent_hours:8.0f} {s.paid_hours:7.0f} {s.fte:5.1f} {s.cost:9.0f} {s.shortage_hours:7.1f} {peak:>14} {s.extra_hours:8.0f} {hires(s, cfg):5d} {shifts:>11} {short:12.1f}"
        )
    peak_week = max(base, key=lambda s: s.paid_hours)
    click.echo(
        f"peak week {peak_week.week_start}: {peak_week.paid_hours:.0f} paid hours, peak {peak_week.peak_agents} agents at {peak_week.peak}"
    )
    if other:
        click.echo(f"what-if ({variant.describe()}):")
        for s, o in zip(base, other, strict=True):
            click.echo(
                f"{o.week_start!s:10} paid h {o.paid_hours:7.0f} ({o.paid_hours - s.paid_hours:+.0f}), FTE {o.fte:5.1f} ({o.fte - s.fte:+.1f}), "
                f"cost {o.cost:9.0f} ({o.cost - s.cost:+.0f}), hires {hires(o, cfg)} ({hires(o, cfg) - hires(s, cfg):+d})"
            )


@click.command("scheduler", cls=AppCommand)
def scheduler_command() -> None:
    """Run the scheduled jobs (callbacks, roll-ups, reforecast, weekly plan, retention) until Ctrl-C."""
    from flask import current_app

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

    from flask import current_app

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
def jobs_list() -> None:
    from flask import current_app

    from ivr import clock
    from ivr.jobs.scheduler import job_overview

    rows = job_overview(current_app._get_current_object(), clock.now())
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


@click.command("demo", cls=AppCommand)
@click.option(
    "--serve/--no-serve",
    default=True,
    help="after the set-up, serve the app with the scheduler and the simulator",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--simulate",
    "simulate",
    default="10min",
    show_default=True,
    help="how long simulated callers keep coming",
)
@click.option("--rate", default="0.5/s", show_default=True, help="simulated arrivals")
@click.option(
    "--time-limit",
    default=20.0,
    show_default=True,
    type=float,
    help="solver seconds for the shift plan and roster",
)
def demo_command(serve, host, port, simulate, rate, time_limit) -> None:
    """The newcomer's tour: real data in, forecast, plan and roster out, then the live line."""
    import time
    from pathlib import Path

    from flask import current_app

    from ivr.demo.setup import serve as serve_demo
    from ivr.demo.setup import setup
    from ivr.demo.simulator import parse_seconds

    app = current_app._get_current_object()
    started = time.monotonic()

    def say(message: str) -> None:
        click.echo(f"[{time.monotonic() - started:5.1f}s] {message}" if message else "")

    result = setup(app, Path(app.instance_path) / "demo", say, time_limit)
    say(f"set-up done; files in {result['out_dir']}")
    if serve:
        serve_demo(app, host, port, parse_seconds(simulate), rate, lambda m: click.echo(m))


@click.command("roster", cls=AppCommand)
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--week", required=True, help="first day of the week (YYYY-MM-DD)")
@click.option(
    "--agents",
    "agents_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="agents CSV (default: config/agents.csv)",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--ics",
    "ics_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="write one iCalendar file per agent here",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="write the week view here",
)
@click.option(
    "--requirements",
    "requirements_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="per-queue requirements for skill coverage",
)
@click.option(
    "--requests",
    "requests_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CSV agent,date,request(off|HH:MM),weight",
)
@click.option("--time-limit", default=30.0, show_default=True, type=click.FloatRange(1, 3600))
@click.option(
    "--best-effort",
    is_flag=True,
    help="when the rules cannot all be kept, roster anyway and list what gives",
)
@click.option("--publish", is_flag=True, help="store it as the published roster (else as a draft)")
def roster_command(
    plan_file,
    week,
    agents_file,
    output,
    ics_dir,
    html_file,
    requirements_file,
    requests_file,
    time_limit,
    best_effort,
    publish,
) -> None:
    """Assign named agents to the plan's shifts (OR-Tools CP-SAT), keeping the rules."""
    import datetime as dt
    from pathlib import Path

    import pandas as pd

    from ivr.config.loader import ConfigIssue, load_agents
    from ivr.planning.rosters import (
        asked_beyond,
        make_roster,
        read_plan,
        read_requests,
        roster_file,
        roster_week,
        store,
        unfilled,
        week_plan,
        write_csv,
        write_ics,
    )
    from ivr.store.db import session_scope
    from staffing.rostering import Infeasible

    cfg = hotline_config()
    try:
        week_start = dt.date.fromisoformat(week)
        table = read_plan(plan_file, week_start)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    agents = cfg.agents
    if agents_file:
        issues: list[ConfigIssue] = []
        agents = load_agents(Path(agents_file), issues)
        if issues:
            raise click.ClickException("\n".join(str(i) for i in issues))
    requirements = pd.read_csv(requirements_file) if requirements_file else None
    requests = (
        read_requests(requests_file, week_start, week_plan(table, week_start, cfg))
        if requests_file
        else []
    )
    click.echo(f"  .. rostering {len(agents)} agents (up to {time_limit:g} s)", err=True)
    try:
        with session_scope() as session:
            plan, result, rows = make_roster(
                cfg,
                session,
                table,
                week_start,
                agents,
                time_limit_s=time_limit,
                requests=requests,
                requirements=requirements,
                best_effort=best_effort,
            )
            store(session, rows, week_start, "published" if publish else "draft")
    except Infeasible as exc:
        from ivr.planning.rosters import summarise

        lines = "\n".join(f"  - {v}" for v in summarise(exc.violations))
        raise click.ClickException(
            f"no roster keeps every rule; the least it takes to break:\n{lines}\n(--best-effort rosters anyway)"
        ) from exc
    write_csv(rows, output)
    click.echo(
        f"wrote {len(rows)} shifts to {output} ({result.status.lower()}, gap {result.gap:.1%}); stored as {'published' if publish else 'draft'}"
    )
    missing = unfilled(plan, rows)
    if missing:
        click.echo(f"{missing} planned shift(s) have no agent")
        asked = asked_beyond(cfg, plan, agents)
        if asked:
            click.echo(
                "the plan asks more than these agents can work: "
                + "; ".join(asked)
                + " (`hotline shifts` without --ignore-team plans within what they can work)"
            )
    from ivr.planning.rosters import summarise

    for violation in summarise(result.violations):
        click.echo(f"rule not kept: {violation}")
    if ics_dir:
        click.echo(
            f"wrote {len(write_ics(rows, agents, ics_dir, cfg.line.name))} calendar files to {ics_dir}"
        )
    if html_file:
        week = roster_week(
            rows,
            agents,
            plan,
            week_start,
            f"Roster, week of {week_start}",
            [str(v) for v in result.violations],
            asked_beyond(cfg, plan, agents),
        )
        Path(html_file).write_text(roster_file(current_app, week))
        click.echo(f"wrote {html_file}")


def init_app(app: Flask) -> None:
    for group in (
        db_group,
        agents_group,
        callbacks_group,
        stats_command,
        history_command,
        import_calls_command,
        plan_command,
        scheduler_command,
        jobs_group,
        demo_command,
        roster_command,
    ):
        app.cli.add_command(group)
