"""The line itself: check its configuration, hash a user's password, migrate the database,
set agents' PINs, serve it in production and have the server take a new configuration."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask

from ivr import create_app, settings
from ivr.cli.errors import config_refused
from ivr.cli.in_app import with_appcontext_group
from ivr.cli.output import echo_csv, echo_json, format_option
from ivr.config import hotline_config
from ivr.config.loader import ConfigError, load_config
from ivr.store import db as dbmod


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
@format_option
def agents_list(fmt: str) -> None:
    """Agents, their skills and their state on the line."""
    from sqlalchemy import select

    from ivr.store.db import session_scope
    from ivr.store.models import AgentAccount

    cfg = hotline_config()
    with session_scope() as session:
        accounts = {a.agent_id: a for a in session.scalars(select(AgentAccount))}
        rows = [
            {
                "id": agent.id,
                "name": agent.name,
                "state": accounts[agent.id].state if agent.id in accounts else "no PIN",
                "skills": list(agent.skills),
            }
            for agent in cfg.agents
        ]
    if fmt == "json":
        echo_json({"agents": rows})
    elif fmt == "csv":
        echo_csv(
            ({**r, "skills": ",".join(r["skills"])} for r in rows),
            list(rows[0]) if rows else ["id", "name", "state", "skills"],
        )
    else:
        for r in rows:
            click.echo(f"{r['id']:6} {r['name']:22} {r['state']:8} {','.join(r['skills'])}")


@click.group("config", cls=click.Group)
def config_group() -> None:
    """Check the line's configuration (works even when the app could not start with it)."""


@config_group.command("check", context_settings={"ignore_unknown_options": False})
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Config folder (default: HOTLINE_CONFIG_DIR or ./config).",
)
def config_check(config_dir: str | None) -> None:
    """Print "ok", or every error with its file, line and field (and any bad environment
    variable), and exit non-zero."""
    try:
        settings.load()
    except settings.SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    try:
        cfg = load_config(config_dir)
    except ConfigError as exc:
        config_refused(exc)
    click.echo(
        f"ok ({cfg.source_dir}: {len(cfg.languages)} languages, {len(cfg.queues)} queues, {len(cfg.agents)} agents)"
    )


@click.group("users", cls=click.Group)
def users_group() -> None:
    """Logins for the ops and supervisor pages (config/users.yaml)."""


@users_group.command("hash-password")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_hash_password(password: str) -> None:
    """Print a password hash to paste into users.yaml (the password itself is never stored)."""
    from werkzeug.security import generate_password_hash

    if len(password) < 8:
        raise click.ClickException("use at least 8 characters")
    click.echo(generate_password_hash(password))


@click.command("serve", context_settings={"ignore_unknown_options": True})
@click.option("--bind", default=None, help="address:port (default HOTLINE_BIND or 127.0.0.1:8000)")
@click.option("--workers", default=None, type=int, help="worker processes (default 2 x cores + 1)")
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(bind, workers, gunicorn_args):
    """Serve the app in production with gunicorn (ivr/gunicorn_conf.py); `hotline run` is for development."""

    try:  # a cold start refuses an invalid configuration; the workers then keep the last good one
        app = create_app({"AUTO_MIGRATE": False})
    except ConfigError as exc:
        _refuse(exc)
    dbmod.upgrade(app.extensions["hotline.engine"])  # once, here: workers must not race to migrate
    os.environ["HOTLINE_AUTO_MIGRATE"] = "0"
    config = "python:ivr.gunicorn_conf"  # in the package: found in a non-editable install too
    args = [sys.executable, "-m", "gunicorn", "-c", config, "--pid", str(pid_file(app))]
    if bind:
        args += ["--bind", bind]
    if workers:
        args += ["--workers", str(workers)]
    args += [*gunicorn_args, "ivr:create_app(server=True)"]
    os.execvp(args[0], args)


def pid_file(app: Flask) -> Path:
    """Where ``hotline serve`` writes the gunicorn master's pid (for ``hotline reload``)."""
    return Path(app.instance_path) / "gunicorn.pid"


def _refuse(exc: ConfigError) -> NoReturn:
    config_refused(exc, "error(s): the configuration was refused")


@click.command("reload")
def reload_command() -> None:
    """Check the configuration, then have the running server (hotline serve) take it: a HUP to
    its gunicorn master, which replaces every worker with one that loads it. An invalid
    configuration is refused here, and the server keeps the one it runs with."""
    try:
        load_config()
    except ConfigError as exc:
        _refuse(exc)
    app = create_app({"AUTO_MIGRATE": False})
    path = pid_file(app)
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"no running server found through {path}: {exc}") from None
    click.echo(f"configuration checked; server {pid} reloading")


# the hotline command's own (no app needed)
COMMANDS = [config_group, users_group, serve, reload_command]
# registered on the app's CLI (they need its database or configuration)
APP_COMMANDS = [db_group, agents_group]
