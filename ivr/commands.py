"""Commands that need the app (database, agents, callbacks), registered on ``app.cli`` by the
factory as in Flask's tutorial; the ``hotline`` entry point finds them through the app."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from . import db as dbmod


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
    from flask import current_app

    from .agent_line import set_pin
    from .db import session_scope

    cfg = current_app.extensions["hotline.config"]
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
    from flask import current_app
    from sqlalchemy import select

    from .db import session_scope
    from .models import AgentAccount

    cfg = current_app.extensions["hotline.config"]
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

    from .callbacks import dial_due_callbacks

    dialled = dial_due_callbacks(current_app._get_current_object())
    click.echo(f"dialled {len(dialled)} callback(s)")


def _window(since: str | None, until: str | None, cfg, default):
    from . import stats

    try:
        start = stats.parse_moment(since, cfg) if since else default.since
        end = stats.parse_moment(until, cfg, end_of_day=True) if until else default.until
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if end <= start:
        raise click.BadParameter("--until must be after --since")
    return stats.Window(start, end)


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
    from flask import current_app

    from . import clock, stats
    from .db import session_scope

    cfg = current_app.extensions["hotline.config"]
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
        click.echo(table.to_string(index=False))


@click.command("history", cls=AppCommand)
@click.option("--freq", default="30min", show_default=True)
@click.option("--since", default=None, help="default: the day of the first call in the log")
@click.option("--until", default=None, help="default: the end of today")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def history_command(freq, since, until, output) -> None:
    """Write offered calls per queue and interval (and <queue>_aht_s) for forecasting."""
    import pandas as pd
    from flask import current_app

    from . import clock, stats
    from .db import session_scope
    from .importer import first_entry

    cfg = current_app.extensions["hotline.config"]
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

    from .importer import import_calls

    cfg = current_app.extensions["hotline.config"]
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


def init_app(app: Flask) -> None:
    for group in (
        db_group,
        agents_group,
        callbacks_group,
        stats_command,
        history_command,
        import_calls_command,
    ):
        app.cli.add_command(group)
