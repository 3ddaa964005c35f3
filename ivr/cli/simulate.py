"""``hotline simulate-plan``: a week's stored roster and forecast checked by simulation, interval
by interval, with 95 % confidence intervals (:mod:`ivr.planning.plan_check`)."""

from __future__ import annotations

import datetime as dt

import click

from ivr.cli.in_app import AppCommand
from ivr.cli.output import echo_csv, echo_json, format_option, note
from ivr.config import hotline_config

FLAGS = {  # plan_check's field -> this command's option
    "week": "--week",
    "source": "--roster",
    "replications": "--replications",
    "shrinkage": "--shrinkage",
}
CSV_COLUMNS = [
    "interval_start", "queue", "calls", "agents", "offered",
    "service_level", "service_level_low", "service_level_high",
    "asa_s", "asa_s_low", "asa_s_high",
    "abandon_rate", "abandon_rate_low", "abandon_rate_high",
    "target", "answer_time_s", "replications", "miss",
]  # fmt: skip


def share(value: float | None, low: float | None, high: float | None) -> str:
    """``93.1% (90.2–96.0)``; a figure no replication had: ``–``."""
    if value is None:
        return "–"
    ci = f"{100 * low:.1f}–{100 * high:.1f}" if low is not None and high is not None else "–"
    return f"{100 * value:.1f}% ({ci})"


def seconds(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "–"
    ci = f"{low:.0f}–{high:.0f}" if low is not None and high is not None else "–"
    return f"{value:.0f} ({ci})"


def target_text(row: dict) -> str:
    if row["target"] is None:
        return ""
    within = f" in {row['answer_time_s']:g} s" if row["answer_time_s"] is not None else ""
    return f"{100 * row['target']:.0f}%{within}"


def table_lines(result: dict) -> list[str]:
    head = (
        f"Week of {result['week']}: {result['roster']} roster, forecast of"
        f" {result['forecast_made_at'][:16].replace('T', ' ')}; {result['replications']}"
        f" replications (seed {result['seed']}), shrinkage {100 * result['shrinkage']:.0f}%"
        + (", volumes drawn from the forecast's band" if result["forecast_band"] else "")
        + "; figures are means with their 95% confidence intervals"
    )
    lines = [head, *(f"note: {n}" for n in result["notes"]), ""]
    columns = [
        ("interval", 12), ("queue", 10), ("calls", 6), ("agents", 6), ("service level", 22),
        ("ASA s", 12), ("abandoned", 18), ("target", 11), ("", 4),
    ]  # fmt: skip
    lines.append("  ".join(f"{name:<{width}}" for name, width in columns).rstrip())
    for row in result["intervals"]:
        cells = [
            row["at"],
            row["queue"],
            f"{row['calls']:.1f}",
            f"{row['agents']:.1f}",
            share(row["service_level"], row["service_level_low"], row["service_level_high"]),
            seconds(row["asa_s"], row["asa_s_low"], row["asa_s_high"]),
            share(row["abandon_rate"], row["abandon_rate_low"], row["abandon_rate_high"]),
            target_text(row),
            "MISS" if row["miss"] else "",
        ]
        lines.append(
            "  ".join(f"{c:<{w}}" for c, (_n, w) in zip(cells, columns, strict=True)).rstrip()
        )
    misses = result["misses"]
    lines.append("")
    if not misses:
        lines.append("Every queue interval meets its target (on the mean).")
        return lines
    lines.append(f"{len(misses)} queue interval(s) miss their target:")
    for row in misses:
        lines.append(
            f"  {row['at']}  {row['queue']}: service level"
            f" {share(row['service_level'], row['service_level_low'], row['service_level_high'])}"
            f" against {target_text(row)}"
            + ("" if row["sure"] else "  (within the confidence interval of the target)")
        )
    return lines


@click.command("simulate-plan", cls=AppCommand)
@click.option(
    "--week",
    default=None,
    help="the week's Monday, YYYY-MM-DD (default: the newest week with a roster)",
)
@click.option(
    "--roster",
    "source",
    type=click.Choice(["published", "draft"]),
    default=None,
    help="which roster of the week (default: the published one if any, else the draft)",
)
@click.option(
    "--replications",
    default=20,
    show_default=True,
    type=int,
    help="simulated weeks (at least 2: the confidence intervals come from their spread)",
)
@click.option("--seed", default=0, show_default=True, type=int, help="same seed, same figures")
@click.option(
    "--forecast-band",
    is_flag=True,
    help="draw each day's calls from the forecast's p10-p90 band in every replication",
)
@click.option(
    "--shrinkage",
    type=float,
    default=None,
    help="share of time on duty an agent is off the phones, 0 to below 1 (default: staffing.yaml's)",
)
@format_option
def simulate_plan_command(week, source, replications, seed, forecast_band, shrinkage, fmt) -> None:
    """Check a week's roster against its forecast by simulation: calls by queue and language,
    agents by skill, language and shift, routed as the dispatcher routes them. Prints per
    interval and queue (and the line's total) the service level, ASA and abandonment with their
    95% confidence intervals, then the queue intervals that miss their target."""
    from ivr.planning.plan_check import PlanCheckError, check_plan
    from ivr.store.db import session_scope

    cfg = hotline_config()
    try:
        day = dt.date.fromisoformat(week) if week else None
    except ValueError:
        raise click.BadParameter(
            f"{week!r} is not a date (YYYY-MM-DD)", param_hint="--week"
        ) from None
    say = note(fmt)
    try:
        with session_scope() as session:
            check = check_plan(
                session,
                cfg,
                day,
                source,
                replications=replications,
                seed=seed,
                forecast_band=forecast_band,
                shrinkage=shrinkage,
            )
            result = check.as_dict(cfg)
    except PlanCheckError as exc:
        raise click.BadParameter(str(exc), param_hint=FLAGS.get(exc.field, exc.field)) from None
    if fmt == "json":
        echo_json(result)
        return
    if fmt == "csv":
        for line in result["notes"]:
            say(f"note: {line}")
        echo_csv(result["intervals"], CSV_COLUMNS)
        return
    for line in table_lines(result):
        click.echo(line)


COMMANDS: list[click.Command] = []
APP_COMMANDS = [simulate_plan_command]
