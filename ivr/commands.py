"""Commands that need the app (database, agents, callbacks), registered on ``app.cli`` by the
factory as in Flask's tutorial; the ``hotline`` entry point finds them through the app."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from . import db as dbmod


def with_appcontext_group(name: str):
    return click.group(name, cls=AppGroup)


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


def init_app(app: Flask) -> None:
    for group in (db_group, agents_group, callbacks_group):
        app.cli.add_command(group)
