"""The ``hotline`` command: Flask's CLI around :func:`ivr.create_app`, plus Hotline's own commands."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from . import create_app
from .config import ConfigError, load_config
from .planner_cli import COMMANDS as PLANNER_COMMANDS

cli = FlaskGroup(
    create_app=create_app, help="Hotline: the customer-service line, its planner and its ops views."
)


@cli.group("config", cls=click.Group)
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
    """Print "ok", or every error with its file, line and field, and exit non-zero."""
    try:
        cfg = load_config(config_dir)
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        click.echo(f"{len(exc.issues)} error(s)", err=True)
        sys.exit(1)
    click.echo(
        f"ok ({cfg.source_dir}: {len(cfg.languages)} languages, {len(cfg.queues)} queues, {len(cfg.agents)} agents)"
    )


@cli.group("users", cls=click.Group)
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


for _command in PLANNER_COMMANDS:
    cli.add_command(_command)


if __name__ == "__main__":
    cli()
