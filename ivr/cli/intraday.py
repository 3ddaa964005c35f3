"""The intraday reforecast: ``hotline reforecast`` turns the day-ahead forecast and the calls so far
today into a forecast of the rest of the day (:mod:`forecasts.intraday`)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import click
import numpy as np
import pandas as pd

from forecasts.forecast import COLUMNS, write_csv
from forecasts.history import History
from forecasts.intraday import (
    IntradayError,
    day_bounds,
    fit_recent,
    forecast_interval,
    reforecast,
)
from ivr import settings
from ivr.cli.planner import line_config, load_history, make_calendar, read_table
from ivr.config.hours import OpeningHours
from ivr.config.schema import HotlineConfig

NOW_FORMAT = re.compile(r"\s*\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(:\d{2})?\s*")
OFFSET = r"(?:[+-]\d{2}:?\d{2}|Z)$"


def parse_now(text: str, zone: ZoneInfo | None) -> pd.Timestamp:
    """``YYYY-MM-DD HH:MM`` as the line's local time (the first of a repeated autumn hour)."""
    if not NOW_FORMAT.fullmatch(text or ""):
        raise click.BadParameter(
            f"{text!r} is not a date and time: use YYYY-MM-DD HH:MM", param_hint="--now"
        )
    try:
        wall = pd.Timestamp(text.strip())
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is not a valid date and time: {exc}", param_hint="--now"
        ) from None
    if zone is None:
        return wall
    try:
        return wall.tz_localize(zone, ambiguous=True, nonexistent="raise")
    except Exception as exc:  # pytz/zoneinfo raise their own NonExistentTimeError
        raise click.BadParameter(
            f"{text} does not exist in {zone.key} (the clocks skip it)", param_hint="--now"
        ) from exc


def read_forecast(path: str, zone: ZoneInfo | None) -> pd.DataFrame:
    """``hotline forecast``'s CSV, its times in the history's zone (naive ones taken as that zone's
    wall clock), or as plain wall clock when there is no zone."""
    table = read_table(path, set(COLUMNS))  # a CSV with the columns and ISO times, or refused
    text = pd.read_csv(path, usecols=["interval_start"], dtype=str)["interval_start"].str.strip()
    has_offset = text.str.contains(OFFSET, regex=True).to_numpy()
    if zone is None:
        stamps = pd.to_datetime(text.str.replace(OFFSET, "", regex=True), format="ISO8601")
    else:
        stamps = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[ns, {zone.key}]")
        if has_offset.any():
            stamps[has_offset] = pd.to_datetime(
                text[has_offset], utc=True, format="ISO8601"
            ).dt.tz_convert(zone)
        if (~has_offset).any():
            wall = pd.to_datetime(text[~has_offset], format="ISO8601")
            # a repeated autumn hour: each queue's first row is summer time
            repeated = pd.DataFrame({"queue": table["queue"][~has_offset], "t": wall}).duplicated()
            stamps[~has_offset] = wall.dt.tz_localize(
                zone, ambiguous=~repeated.to_numpy(), nonexistent="NaT"
            )
        if stamps.isna().any():
            line = int(np.flatnonzero(stamps.isna().to_numpy())[0]) + 2
            raise click.ClickException(
                f"{path}:{line}: interval_start {text.iloc[line - 2]!r} does not exist in"
                f" {zone.key} (DST gap)"
            )
    table["interval_start"] = stamps.to_numpy() if zone is None else stamps
    calls = pd.to_numeric(table["calls"], errors="coerce")
    bad = ~np.isfinite(calls.to_numpy(dtype=float))
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 2
        raise click.ClickException(
            f"{path}:{line}: calls {table['calls'].iloc[line - 2]!r} is not a number"
        )
    table["queue"] = table["queue"].astype(str)
    return table


def check_hours(cfg: HotlineConfig, now: pd.Timestamp) -> None:
    """Refuse a --now on a day the line is closed, or after its last closing time that day."""
    hours = OpeningHours.from_config(cfg)
    day = now.date()
    ranges = hours.wall_ranges(day)
    if not ranges:
        reason = hours.closure_reason(day) or f"no opening hours on {now:%A}s"
        raise click.BadParameter(
            f"{now:%Y-%m-%d %H:%M}: the line is closed all day ({reason}; hours.yaml)."
            " --any-hours reforecasts anyway",
            param_hint="--now",
        )
    closing = max(
        pd.Timedelta(days=1)
        if end == dt.time(0)
        else pd.Timedelta(hours=end.hour, minutes=end.minute)
        for _start, end in ranges
    )
    wall = now.tz_localize(None) if now.tz is not None else now
    if wall - wall.normalize() >= closing:
        shown = (
            "midnight" if closing == pd.Timedelta(days=1) else f"{pd.Timestamp(0) + closing:%H:%M}"
        )
        raise click.BadParameter(
            f"{now:%Y-%m-%d %H:%M} is after the line closes at {shown} that day (hours.yaml):"
            " nothing is left to reforecast. --any-hours reforecasts anyway",
            param_hint="--now",
        )


@click.command("reforecast")
@click.argument("history_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--forecast",
    "forecast_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="what `hotline forecast` wrote for today",
)
@click.option("--now", required=True, help='the time of the update, "YYYY-MM-DD HH:MM" (local)')
@click.option(
    "--tz",
    default=None,
    help="time zone of naive timestamps and of --now (default: the line's; 'none' = wall clock)",
)
@click.option(
    "--freq", default=None, help="interval of the reforecast (default: the forecast's, e.g. 30min)"
)
@click.option(
    "--fit-weeks",
    default=8,
    show_default=True,
    type=click.IntRange(0, 104),
    help="fit the prior on the history's last N weeks (0: the default prior, no fitting)",
)
@click.option(
    "--holidays",
    "holiday_country",
    default=None,
    help="holiday country code of the fit's day-ahead forecasts (default: the line's)",
)
@click.option(
    "--any-hours",
    is_flag=True,
    help="reforecast even when the line is closed at --now (hours.yaml)",
)
@click.option("--config-dir", default=None, type=click.Path(file_okay=False), help="config folder")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def reforecast_command(
    history_file,
    forecast_file,
    now,
    tz,
    freq,
    fit_weeks,
    holiday_country,
    any_hours,
    config_dir,
    output,
):
    """Forecast the rest of today from the day-ahead FORECAST and the calls so far in HISTORY_FILE.

    Writes queue,interval_start,calls,calls_p10,calls_p90 for every interval from --now (the one in
    progress included) to the end of that day. HISTORY_FILE holds the calls up to --now (as
    `hotline history` writes them); a queue with no calls yet today keeps its day-ahead rows."""
    cfg = line_config(config_dir)
    own_zone = (tz or "").lower() != "none" and (tz is None or tz == cfg.line.timezone)
    history = load_history(history_file, cfg, tz, None)
    moment = parse_now(now, history.tz)
    try:
        always_open = settings.load().hotline_always_open
    except settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if own_zone and not any_hours and not always_open:
        check_hours(cfg, moment)
    table = read_forecast(forecast_file, history.tz)
    history = _to_forecast_grid(history, table, history_file, forecast_file, freq)
    if history.end > moment:
        raise click.ClickException(
            f"{history_file}: the history runs to {history.end}, after --now {moment}: it must"
            " hold only the calls before --now"
        )
    unknown = sorted(set(table["queue"]) - set(history.queues))
    if unknown:
        raise click.ClickException(
            f"{forecast_file}: queue(s) {', '.join(unknown)} are not in the history"
            f" {history_file} (it has {', '.join(history.queues)})"
        )
    start, end = day_bounds(moment)
    today = table[(table["interval_start"] >= start) & (table["interval_start"] < end)]
    if today.empty:
        first, last = table["interval_start"].min(), table["interval_start"].max()
        raise click.ClickException(
            f"{forecast_file}: the forecast runs from {first} to {last} and does not cover"
            f" {start:%Y-%m-%d}, the day of --now"
        )
    calendar = make_calendar(cfg, holiday_country, None)
    params = fit_recent(history, moment, fit_weeks, calendar, lambda m: click.echo(m, err=True))
    try:
        result = reforecast(history, today, moment, params)
    except IntradayError as exc:
        raise click.ClickException(f"{forecast_file}: {exc}") from exc
    write_csv(result, output)
    click.echo(
        f"wrote {len(result)} rows for {result['queue'].nunique()} queue(s) to {output}:"
        f" {start:%Y-%m-%d} from {pd.Timestamp(result['interval_start'].min()):%H:%M}"
    )
    for line in summary(history, today, result, moment):
        click.echo(line)


def _to_forecast_grid(
    history: History, table: pd.DataFrame, history_file: str, forecast_file: str, freq: str | None
) -> History:
    interval = forecast_interval(table) or history.freq
    if freq:
        try:
            wanted = pd.Timedelta(freq)
        except ValueError as exc:
            raise click.BadParameter(
                f"{freq!r} is not an interval (e.g. 30min)", param_hint="--freq"
            ) from exc
        if wanted != interval:
            raise click.BadParameter(
                f"{freq} does not match the forecast's {interval} intervals in {forecast_file}",
                param_hint="--freq",
            )
    if interval == history.freq:
        return history
    try:
        return history.aggregate(interval)
    except ValueError:
        raise click.ClickException(
            f"{history_file}: its {history.freq} intervals cannot be summed to the forecast's"
            f" {interval} ({forecast_file})"
        ) from None


def summary(
    history: History, today: pd.DataFrame, result: pd.DataFrame, now: pd.Timestamp
) -> list[str]:
    """Per queue: calls so far against the forecast, and the rest of the day before and after."""
    lines = []
    start, _end = day_bounds(now)
    for queue, rows in result.groupby("queue", sort=False):
        mine = today[today["queue"] == queue].set_index("interval_start")["calls"]
        seen = history.calls[queue]
        seen = seen[(seen.index >= start) & (seen.index + history.freq <= now)].dropna()
        before = float(mine.reindex(pd.DatetimeIndex(rows["interval_start"])).sum())
        lines.append(
            f"  {queue}: {seen.sum():.0f} calls so far against {mine.reindex(seen.index).sum():.0f}"
            f" forecast; rest of the day {before:.0f} -> {rows['calls'].sum():.0f}"
        )
    return lines


COMMANDS = [reforecast_command]
APP_COMMANDS: list[click.Command] = []
