"""The ``hotline`` command: Flask's CLI around :func:`ivr.create_app`, plus Hotline's own commands."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from ivr import create_app, settings
from ivr.cli.planner import COMMANDS as PLANNER_COMMANDS
from ivr.config.loader import ConfigError, load_config


def _app() -> Flask:
    """The app for a command; a bad environment variable is a one-line error, not a traceback."""
    try:
        return create_app()
    except settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from None


cli = FlaskGroup(
    create_app=_app, help="Hotline: the customer-service line, its planner and its ops views."
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


@cli.command("serve", with_appcontext=False, context_settings={"ignore_unknown_options": True})
@click.option("--bind", default=None, help="address:port (default HOTLINE_BIND or 127.0.0.1:8000)")
@click.option("--workers", default=None, type=int, help="worker processes (default 2 x cores + 1)")
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(bind, workers, gunicorn_args):
    """Serve the app in production with gunicorn (gunicorn.conf.py); `hotline run` is for development."""
    import os
    import sys
    from pathlib import Path

    from ivr.store import db as dbmod

    app = create_app({"AUTO_MIGRATE": False})
    dbmod.upgrade(app.extensions["hotline.engine"])  # once, here: workers must not race to migrate
    os.environ["HOTLINE_AUTO_MIGRATE"] = "0"
    config = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    args = [sys.executable, "-m", "gunicorn", "-c", str(config)]
    if bind:
        args += ["--bind", bind]
    if workers:
        args += ["--workers", str(workers)]
    args += [*gunicorn_args, "ivr:create_app()"]
    os.execvp(args[0], args)


@cli.command("simulate-calls", with_appcontext=False)
@click.option(
    "--url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="a running Hotline (loopback only)",
)
@click.option("--rate", default="2/s", show_default=True, help="arrivals, e.g. 2/s, 30/min")
@click.option(
    "--duration",
    default="60s",
    show_default=True,
    help="how long callers keep arriving, e.g. 60s, 5min",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--agents",
    default=None,
    help="agent ids on the agent line (default: the first four of agents.csv)",
)
@click.option(
    "--agent-pin",
    default="1234",
    show_default=True,
    help="their PIN (set with `hotline agents set-pin`)",
)
@click.option("--handle", default="20s", show_default=True, help="mean handling time")
@click.option(
    "--patience", default="60s", show_default=True, help="mean patience before hanging up"
)
@click.option(
    "--token",
    envvar="TWILIO_AUTH_TOKEN",
    default="",
    help="the auth token the server checks (TWILIO_AUTH_TOKEN)",
)
@click.option("--config-dir", default=None, type=click.Path(file_okay=False))
def simulate_calls(
    url, rate, duration, seed, agents, agent_pin, handle, patience, token, config_dir
):
    """Act like Twilio against a running server: callers, queues, agents, callbacks, surveys."""
    from ivr.cli.planner import line_config
    from ivr.demo.simulator import Simulator, parse_rate, parse_seconds

    if not token:
        raise click.ClickException(
            "no auth token: set TWILIO_AUTH_TOKEN (the server's) or pass --token"
        )
    cfg = line_config(config_dir)
    try:
        sim = Simulator(
            cfg, url, token, rate_per_s=parse_rate(rate), duration_s=parse_seconds(duration), seed=seed,
            agents=agents.split(",") if agents else None, agent_pin=agent_pin,
            handle_s=parse_seconds(handle), patience_s=parse_seconds(patience),
            say=lambda m: click.echo(f"  .. {m}", err=True),
        )  # fmt: skip
    except (ValueError, KeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"simulating {rate} for {duration} against {url}", err=True)
    report = sim.run()
    for line in report.lines():
        click.echo(line)
    if report.errors:
        raise SystemExit(1)


for _command in PLANNER_COMMANDS:
    cli.add_command(_command)


if __name__ == "__main__":
    cli()
