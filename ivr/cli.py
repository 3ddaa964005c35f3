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


for _command in PLANNER_COMMANDS:
    cli.add_command(_command)


if __name__ == "__main__":
    cli()
