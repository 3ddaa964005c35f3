"""The ``hotline`` command: Flask's CLI around :func:`ivr.create_app`, with Hotline's commands by
topic: the line (:mod:`~ivr.cli.line`), its calls (:mod:`~ivr.cli.calls`), the planner
(:mod:`~ivr.cli.planner`), the Erlang calculator (:mod:`~ivr.cli.calculator`), the background jobs (:mod:`~ivr.cli.background`) and the demo
(:mod:`~ivr.cli.demo`).

Every command is the ``hotline`` group's own, so listing them and their help builds no app (no
instance folder, secret key or database is made, and a broken configuration still lists every
command). The commands that need the app build it when they run (:mod:`~ivr.cli.in_app`); they
are also added to ``app.cli`` by the factory (``app.test_cli_runner()`` runs them there).
"""

from __future__ import annotations

import os
from importlib import metadata

import click
from flask import Flask
from flask.cli import FlaskGroup

from ivr import create_app, settings
from ivr.cli import background, calculator, calls, demo, intraday, line, planner, simulate
from ivr.cli.errors import config_refused
from ivr.config.loader import ConfigError

TOPICS = (line, calls, planner, intraday, calculator, background, demo, simulate)


def _app() -> Flask:
    """The app for a command; a bad environment variable or configuration is reported as
    ``hotline config check`` reports it (exit status 1), not as a traceback."""
    try:
        return create_app()
    except settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    except ConfigError as exc:
        config_refused(exc)


def _use_config_dir(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:  # before any command loads the app: every command reads the same folder
        os.environ["HOTLINE_CONFIG_DIR"] = value


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    try:
        version = metadata.version("hotline")
    except metadata.PackageNotFoundError:  # a checkout that was never installed
        version = "unknown"
    click.echo(f"hotline {version}")
    ctx.exit()


class HotlineGroup(FlaskGroup):
    """Flask's group without building the app to list or find a command: Hotline's commands,
    Flask's own (run, shell, routes) and any plugin's are all registered on the group."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._load_plugin_commands()
        return self.commands.get(name)


cli = HotlineGroup(
    create_app=_app,
    add_version_option=False,
    help="Hotline: the customer-service line, its planner and its ops views.",
    params=[
        click.Option(
            ["--version"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_print_version,
            help="Show Hotline's version and exit.",
        ),
        click.Option(
            ["--config-dir"],
            type=click.Path(file_okay=False, exists=True),
            expose_value=False,
            is_eager=True,
            callback=_use_config_dir,
            help="The line's config folder for every command (default: HOTLINE_CONFIG_DIR,"
            " else ./config); a command's own --config-dir wins.",
        ),
    ],
)
for _topic in TOPICS:
    for _command in (*_topic.COMMANDS, *_topic.APP_COMMANDS):
        cli.add_command(_command)


def register(app: Flask) -> None:
    """Add the commands that need the app to ``app.cli`` too (``app.test_cli_runner()``)."""
    for topic in TOPICS:
        for command in topic.APP_COMMANDS:
            app.cli.add_command(command)


if __name__ == "__main__":
    cli()
