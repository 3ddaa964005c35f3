"""The ``hotline`` command: Flask's CLI around :func:`ivr.create_app`, with Hotline's commands by
topic: the line (:mod:`~ivr.cli.line`), its calls (:mod:`~ivr.cli.calls`), the planner
(:mod:`~ivr.cli.planner`), the background jobs (:mod:`~ivr.cli.background`) and the demo
(:mod:`~ivr.cli.demo`). Commands that need the app are registered on ``app.cli`` by the factory,
as in Flask's tutorial; the others run without it (a broken configuration can still be checked).
"""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import FlaskGroup

from ivr import create_app, settings
from ivr.cli import background, calls, demo, line, planner

TOPICS = (line, calls, planner, background, demo)


def _app() -> Flask:
    """The app for a command; a bad environment variable is a one-line error, not a traceback."""
    try:
        return create_app()
    except settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _use_config_dir(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:  # before any command loads the app: every command reads the same folder
        os.environ["HOTLINE_CONFIG_DIR"] = value


cli = FlaskGroup(
    create_app=_app,
    help="Hotline: the customer-service line, its planner and its ops views.",
    params=[
        click.Option(
            ["--config-dir"],
            type=click.Path(file_okay=False, exists=True),
            expose_value=False,
            is_eager=True,
            callback=_use_config_dir,
            help="The line's config folder for every command (default: HOTLINE_CONFIG_DIR,"
            " else ./config); a command's own --config-dir wins.",
        )
    ],
)
for _topic in TOPICS:
    for _command in _topic.COMMANDS:
        cli.add_command(_command)


def register(app: Flask) -> None:
    """Add the commands that need the app to ``app.cli``."""
    for topic in TOPICS:
        for command in topic.APP_COMMANDS:
            app.cli.add_command(command)


if __name__ == "__main__":
    cli()
