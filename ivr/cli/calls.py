"""The calls the line took: statistics, the history export a forecast learns from, importing
another system's call log, dialling due callbacks now, and the agents' adherence to their
shifts."""

from __future__ import annotations

import click
from flask import current_app

from ivr.cli.in_app import AppCommand, with_appcontext_group
from ivr.cli.output import format_option
from ivr.config import hotline_config


@with_appcontext_group("callbacks")
def callbacks_group() -> None:
    """Callbacks the system dials."""


@callbacks_group.command("dial-due")
def callbacks_dial_due() -> None:
    """Place every due callback once (the scheduler runs this every 30 s)."""

    from ivr.voice.callbacks import dial_due_callbacks

    dialled = dial_due_callbacks(current_app._get_current_object())
    click.echo(f"dialled {len(dialled)} callback(s)")


def _window(since: str | None, until: str | None, cfg, default, limits=None):
    from ivr import stats

    try:
        return stats.parse_window(cfg, since, until, default, limits=limits)
    except stats.WindowRefused as exc:
        raise click.BadParameter(str(exc), param_hint=f"--{exc.parameter}") from exc


@click.command("stats", cls=AppCommand)
@click.option("--queue", default=None, help="one queue (default: all)")
@click.option(
    "--since", default=None, help="ISO date or date-time (default: today, the line's time zone)"
)
@click.option("--until", default=None, help="ISO date (inclusive) or date-time (exclusive)")
@click.option("--freq", default=None, help="per interval, e.g. 30min (default: the whole window)")
@format_option
def stats_command(queue, since, until, freq, fmt) -> None:
    """Queue statistics (the README's definitions), for the window or per interval; --format
    json is the body of GET /api/queues (with --freq, of GET /api/queues/<queue>/intervals)."""
    import sys

    import pandas as pd

    from ivr import clock, stats
    from ivr.store.db import session_scope

    cfg = hotline_config()
    if queue and queue not in cfg.queue_ids():
        raise click.BadParameter(f"unknown queue {queue!r} (known: {', '.join(cfg.queue_ids())})")
    now = clock.now()
    limits = stats.Limits.of_app(current_app.config)
    window = _window(since, until, cfg, stats.local_day(cfg, now), limits)
    if freq:
        try:
            interval = pd.Timedelta(freq)
        except ValueError as exc:
            message = f"{freq!r} is not a length of time (e.g. 15min, 30min, 1h)"
            raise click.BadParameter(message, param_hint="--freq") from exc
        try:
            stats.check_intervals(window, interval, limits)
        except stats.WindowRefused as exc:
            raise click.BadParameter(str(exc), param_hint="--freq") from exc
    with session_scope() as session:
        if freq:
            table = stats.interval_stats(session, cfg, window, interval, queue)
            table["interval_start"] = [t.isoformat() for t in table["interval_start"]]
        else:  # the API's body (GET /api/queues), one queue's when --queue is given
            report = stats.queues_report(session, cfg, window, now)
            if queue:
                report["queues"] = [q for q in report["queues"] if q["queue"] == queue]
            table = pd.DataFrame(report["queues"])
    if fmt == "json":  # serialised as the API serialises it
        if freq:  # as GET /api/queues/<queue>/intervals, with the queue column for all queues
            records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
            report = {
                "queue": queue,
                "freq": freq,
                "window": window.as_json(cfg.line.timezone),
                "intervals": records,
            }
        click.echo(current_app.json.dumps(report, indent=2))
    elif fmt == "csv":
        table.to_csv(sys.stdout, index=False)
    else:
        click.echo(f"{window.since.isoformat()} .. {window.until.isoformat()}")
        if freq:  # one row per interval
            click.echo(table.to_string(index=False, na_rep="–"))
        else:  # a column per queue, a row per figure: readable on a terminal
            shown = table.drop(columns="name").set_index("queue").astype(object).T
            click.echo(shown.where(shown.notna(), "–").to_string())


@click.command("history", cls=AppCommand)
@click.option("--freq", default="30min", show_default=True)
@click.option("--since", default=None, help="default: the day of the first call in the log")
@click.option("--until", default=None, help="default: the end of today")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def history_command(freq, since, until, output) -> None:
    """Write calls per queue and interval for forecasting (offered calls, each callback counted
    where it was taken) and <queue>_aht_s."""
    import pandas as pd

    from ivr import clock, stats
    from ivr.store.db import session_scope
    from ivr.store.importer import first_entry

    cfg = hotline_config()
    with session_scope() as session:
        first = first_entry(session)
        today = stats.local_day(cfg, clock.now())
        start = stats.local_day(cfg, first).since if first else today.since
        window = _window(since, until, cfg, stats.Window(start, today.until))
        table = stats.history_table(session, cfg, window, pd.Timedelta(freq))
    table["interval_start"] = [t.isoformat() for t in table["interval_start"]]
    table.to_csv(output, index=False)
    click.echo(f"wrote {len(table)} intervals x {len(cfg.queues)} queues to {output}")


@click.command("import-calls", cls=AppCommand)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--tz", default=None, help="time zone of the file's local times (default: the line's)"
)
def import_calls_command(path, tz) -> None:
    """Load per-call records (the Israeli bank's TSV format) into the call log."""

    from ivr.store.importer import import_calls

    cfg = hotline_config()
    maker = current_app.extensions["hotline.sessionmaker"]
    try:
        report = import_calls(
            maker, path, cfg, tz=tz, progress=lambda m: click.echo(f"  .. {m}", err=True)
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for line, message in report.malformed[:20]:
        click.echo(f"{path}:{line}: {message} (skipped)", err=True)
    if len(report.malformed) > 20:
        click.echo(f"... and {len(report.malformed) - 20} more malformed rows", err=True)
    click.echo(
        f"{report.rows} rows: {report.calls_added} calls and {report.entries_added} queue entries added, "
        f"{report.phantom} phantom skipped, {len(report.malformed)} malformed skipped"
    )


@click.command("adherence", cls=AppCommand)
@click.option(
    "--date", "day", default=None, help="YYYY-MM-DD (default: today, the line's time zone)"
)
@format_option
def adherence_command(day, fmt) -> None:
    """Each agent's day against their published shifts: adherence, conformance, late starts,
    early ends, absences and breaks taken outside their window (docs/statistics.md)."""
    import datetime as dt

    from ivr import clock
    from ivr.cli.output import echo_csv, echo_json
    from ivr.planning.adherence import COLUMNS, day_adherence
    from ivr.store.db import session_scope

    cfg = hotline_config()
    now = clock.now()
    try:
        date = dt.date.fromisoformat(day) if day else now.astimezone(cfg.tz).date()
    except ValueError as exc:
        raise click.BadParameter(
            f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--date"
        ) from exc
    with session_scope() as session:
        table = day_adherence(session, cfg, date, now)
    rows = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    if fmt == "json":
        echo_json({"date": date.isoformat(), "shifts": rows})
    elif fmt == "csv":
        echo_csv(rows, COLUMNS)
    elif table.empty:
        click.echo(f"{date}: no published shift")
    else:
        click.echo(f"{date}: {len(table)} published shift(s)")
        click.echo(table.drop(columns="date").to_string(index=False, na_rep="–"))


# the hotline command's own (no app needed)
COMMANDS = []
# registered on the app's CLI (they need its database or configuration)
APP_COMMANDS = [
    callbacks_group,
    stats_command,
    history_command,
    import_calls_command,
    adherence_command,
]
