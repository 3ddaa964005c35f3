"""Supervisors' planning commands: forecast and backtest (later: requirements, shifts, plan)."""

from __future__ import annotations

import sys

import click
import pandas as pd

from forecasts import backtest as backtesting
from forecasts.calendar import Calendar, EventsError, read_events
from forecasts.forecast import daily_summary, forecast, parse_duration, write_csv
from forecasts.history import History, HistoryError, read_history
from forecasts.models import MODELS, make_model

from .config import ConfigError, HotlineConfig, load_config


def progress(message: str) -> None:
    click.echo(f"  .. {message}", err=True)


def line_config(config_dir: str | None) -> HotlineConfig:
    try:
        return load_config(config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def load_history(path: str, cfg: HotlineConfig, tz: str | None, freq: str | None) -> History:
    zone = None if (tz or "").lower() == "none" else (tz or cfg.line.timezone)
    try:
        history = read_history(path, zone, None)
        return history.aggregate(freq) if freq else history
    except (HistoryError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def make_calendar(cfg: HotlineConfig, country: str | None, events_path: str | None) -> Calendar:
    """Holidays of ``--holidays`` (else the line's country and its closure days) and events."""
    events = {}
    if events_path:
        try:
            events = read_events(events_path)
        except (EventsError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
    try:
        if country:
            return Calendar(country=country.upper(), events=events)
        hol = cfg.hours.holidays
        return Calendar(hol.country, hol.subdivision, {d: "closure" for d in hol.closures}, events)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def duration(text: str) -> pd.Timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


common = [
    click.option(
        "--freq", default=None, help="aggregate the history to this interval first (e.g. 30min)"
    ),
    click.option(
        "--holidays",
        "holiday_country",
        default=None,
        help="holiday country code (default: the line's, with its closure days)",
    ),
    click.option(
        "--config-dir", default=None, type=click.Path(file_okay=False), help="config folder"
    ),
    click.option(
        "--tz",
        default=None,
        help="time zone of naive timestamps (default: the line's; 'none' = plain wall clock)",
    ),
]


def with_common(func):
    for option in reversed(common):
        func = option(func)
    return func


@click.command("forecast")
@click.argument("history_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--horizon", default="7d", show_default=True, help="how far ahead (e.g. 7d, 2w)")
@with_common
@click.option(
    "--events",
    "events_path",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV of known events: date,label",
)
@click.option("--model", default="profile", show_default=True, type=click.Choice(list(MODELS)))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write the forecast CSV here")
@click.option(
    "--plot", type=click.Path(dir_okay=False), help="write a PNG of history tail, forecast and band"
)
def forecast_command(
    history_file, horizon, freq, holiday_country, config_dir, tz, events_path, model, output, plot
):
    """Forecast calls per queue and interval from HISTORY_FILE, starting after its last interval."""
    cfg = line_config(config_dir)
    history = load_history(history_file, cfg, tz, freq)
    calendar = make_calendar(cfg, holiday_country, events_path)
    defaults = {q.id: q.aht_s for q in cfg.queues}
    table = forecast(
        history,
        duration(horizon),
        model=model,
        calendar=calendar,
        default_aht_s=defaults,
        progress=progress,
    )
    if output:
        write_csv(table, output)
        click.echo(f"wrote {len(table)} rows for {table['queue'].nunique()} queue(s) to {output}")
    else:
        click.echo(daily_summary(table).to_string())
    if plot:
        from forecasts.plot import plot_forecast

        plot_forecast(history, table, plot)
        click.echo(f"wrote {plot}")


@click.command("backtest")
@click.argument("history_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--origins",
    default=8,
    show_default=True,
    type=click.IntRange(1, 200),
    help="weekly origins, the last ones that fit",
)
@click.option("--horizon", default="7d", show_default=True)
@with_common
@click.option("--format", "fmt", default="table", type=click.Choice(["table", "csv"]))
def backtest_command(history_file, origins, horizon, freq, holiday_country, config_dir, tz, fmt):
    """Rolling-origin backtest of every model: MAE, RMSE, WAPE, hourly WAPE, band coverage, time."""
    cfg = line_config(config_dir)
    history = load_history(history_file, cfg, tz, freq)
    calendar = make_calendar(cfg, holiday_country, None)
    span = duration(horizon)
    needed = span + pd.Timedelta(days=7 * (origins - 1) + 28)
    if history.end - history.calls.index[0] < needed:
        raise click.ClickException(
            f"{origins} origins of {horizon} need at least {needed.days} days of history"
        )
    results = backtesting.run(
        history,
        [lambda name=name: make_model(name) for name in MODELS],
        count=origins,
        horizon=span,
        calendar=calendar,
        progress=progress,
    )
    table = backtesting.score(results)
    if fmt == "csv":
        table.to_csv(sys.stdout, index=False)
    else:
        click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


COMMANDS = [forecast_command, backtest_command]
