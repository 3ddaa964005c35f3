"""The demo (sample history, plan, roster, then the app, the scheduler and simulated callers)
and the caller simulator against a running server."""

from __future__ import annotations

import click
from flask import current_app

from ivr.cli.in_app import AppCommand


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


@click.command("simulate-calls")
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
@click.option(
    "--rest-port",
    default=5099,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="serve a stand-in of Twilio's REST API on this loopback port; start the server with "
    "TWILIO_REST_BASE_URL=http://127.0.0.1:PORT and any TWILIO_ACCOUNT_SID so that its "
    "dispatcher's calls reach it (0: none)",
)
@click.option("--config-dir", default=None, type=click.Path(file_okay=False))
def simulate_calls(
    url, rate, duration, seed, agents, agent_pin, handle, patience, token, rest_port, config_dir
):
    """Act like Twilio against a running server: callers, queues, agents, callbacks, surveys."""
    from ivr.cli.planner import line_config
    from ivr.demo.simulator import Simulator, parse_rate, parse_seconds
    from ivr.demo.twilio_sim import RestStandIn

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
            rest=RestStandIn(rest_port) if rest_port else None,
        )  # fmt: skip
    except OSError as exc:
        raise click.ClickException(
            f"--rest-port {rest_port}: cannot listen there ({exc.strerror or exc})"
        ) from exc
    except (ValueError, KeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"simulating {rate} for {duration} against {url}", err=True)
    report = sim.run()
    for line in report.lines():
        click.echo(line)
    if report.errors:
        raise SystemExit(1)


# the hotline command's own (no app needed)
COMMANDS = [simulate_calls]
# registered on the app's CLI (they need its database or configuration)
APP_COMMANDS = [demo_command]
