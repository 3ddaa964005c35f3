"""Supervisors' planning commands: forecast and backtest (later: requirements, shifts, plan)."""

from __future__ import annotations

import sys

import click
import numpy as np
import pandas as pd

from forecasts import backtest as backtesting
from forecasts.calendar import Calendar, EventsError, read_events
from forecasts.forecast import daily_summary, forecast, parse_duration, write_csv
from forecasts.history import History, HistoryError, read_history
from forecasts.models import MODELS, make_model
from ivr.config.loader import ConfigError, load_config
from ivr.config.schema import HotlineConfig


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


def read_table(path: str, columns: set[str]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read as CSV: {exc}") from exc
    missing = columns - set(table.columns)
    if missing:
        raise click.ClickException(f"{path}:1: missing column(s) {', '.join(sorted(missing))}")
    bad = pd.to_datetime(
        table["interval_start"], utc=True, errors="coerce", format="ISO8601"
    ).isna()
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise click.ClickException(
            f"{path}:{line}: interval_start {table['interval_start'].iloc[line - 2]!r} is not an ISO date-time"
        )
    table["interval_start"] = pd.to_datetime(table["interval_start"], utc=True, format="ISO8601")
    return table


def iso_local(table: pd.DataFrame, tz) -> pd.DataFrame:
    out = table.copy()
    out["interval_start"] = [
        t.tz_convert(tz).isoformat() for t in pd.DatetimeIndex(out["interval_start"])
    ]
    return out


@click.command("requirements")
@click.argument("forecast_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--config-dir", default=None, type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--pool",
    is_flag=True,
    help="one pooled requirement for multi-skilled agents (AHT volume-weighted)",
)
@click.option(
    "--quantile",
    type=click.Choice(["p90", "p10", "mean"]),
    default=None,
    help="staff to the forecast's band instead of its mean",
)
def requirements_command(forecast_file, config_dir, output, pool, quantile):
    """Agents required per queue and interval from a forecast (Erlang C, shrinkage, occupancy cap)."""
    from ivr.planning.pipeline import closed_calls, requirement_table
    from staffing.requirements import RequirementsError, interval_seconds

    cfg = line_config(config_dir)
    table = read_table(forecast_file, {"queue", "interval_start", "calls"})
    try:
        result = requirement_table(cfg, table, pool=pool, quantile=quantile)
        closed = closed_calls(cfg, table)
    except (RequirementsError, ValueError) as exc:
        raise click.ClickException(f"{forecast_file}: {exc}") from exc
    iso_local(result, cfg.tz).to_csv(output, index=False)
    team = result[result["queue"].isin(["total", "pooled"])]
    click.echo(
        f"wrote {len(result)} rows to {output}; peak {int(team['agents_scheduled'].max())} agents scheduled, {team['agents_scheduled'].sum() * interval_seconds(team) / 3600:.0f} agent-hours"
    )
    if closed >= 0.5:
        click.echo(
            f"{closed:.0f} forecast calls fall while the line is closed (hours.yaml) and need no agents"
        )


@click.command("shifts")
@click.argument("requirements_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--config-dir", default=None, type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--plot", type=click.Path(dir_okay=False), help="PNG of requirement vs planned coverage"
)
@click.option(
    "--time-limit",
    default=20.0,
    show_default=True,
    type=click.FloatRange(1, 3600),
    help="solver seconds",
)
@click.option(
    "--allow-uncovered",
    is_flag=True,
    help="plan anyway when some intervals cannot be covered (they stay short)",
)
@click.option(
    "--ignore-team",
    is_flag=True,
    help="plan for the requirement alone, beyond what agents.csv's team can work (what to hire for)",
)
def shifts_command(
    requirements_file, config_dir, output, plot, time_limit, allow_uncovered, ignore_team
):
    """Choose how many agents start each shift on each day, at least cost (OR-Tools CP-SAT).

    With agents in agents.csv the plan keeps within what they can work (one shift a day each, on
    days they are available, rest rules and contract hours kept), so that a roster can fill it;
    the shortage it leaves is what the team cannot cover."""
    from ivr.planning.pipeline import plan_week, summarise
    from staffing.shift_plan import UncoverableError, plot_plan

    cfg = line_config(config_dir)
    table = read_table(requirements_file, {"queue", "interval_start", "agents_scheduled"})
    click.echo(f"  .. solving (up to {time_limit:g} s)", err=True)
    try:
        week, plan = plan_week(
            cfg,
            table,
            time_limit,
            progress=progress,
            allow_uncovered=allow_uncovered,
            team=not ignore_team,
        )
    except UncoverableError as exc:
        raise click.ClickException(str(exc) + "\n(--allow-uncovered plans the rest)") from exc
    summary = summarise(cfg, week, plan)
    summary.rows.to_csv(output, index=False)
    from staffing.shift_plan import worst_intervals

    click.echo(f"wrote {len(summary.rows)} shift rows to {output}")
    team = week.problem.team
    if team is not None:
        click.echo(
            f"team: {team.describe()}; the plan has {summary.shifts} shifts and"
            f" {summary.paid_hours:.0f} paid hours"
        )
        if summary.shortage_hours > 0 and (
            summary.shifts >= team.shifts or summary.paid_hours >= team.paid_hours - 0.5
        ):
            click.echo(
                f"the team's limit binds: the {summary.shortage_hours:.1f} agent-hours short need"
                " more agents (`hotline plan` counts the hires; --ignore-team plans without the"
                " limit)"
            )
    click.echo(
        f"status {plan.status.lower()}, optimality gap {plan.gap:.1%}, {plan.distinct_shifts} distinct shifts"
    )
    click.echo(
        f"paid hours {summary.paid_hours:.1f}, cost {summary.cost:.2f}, shortage {summary.shortage_hours:.1f} agent-hours, excess {summary.excess_hours:.1f} agent-hours"
    )
    worst = worst_intervals(week, plan)
    if worst:
        click.echo(
            "worst intervals: "
            + "; ".join(f"{when} needs {need}, has {have}" for when, need, have in worst)
        )
    if plot:
        plot_plan(week, plan, plot)
        click.echo(f"wrote {plot}")


COMMANDS = [forecast_command, backtest_command, requirements_command, shifts_command]
