"""The planner: forecast and backtest from a history file, requirements and shifts from a
forecast, and (with the app) the plan from the line's own calls and the roster of named agents."""

from __future__ import annotations

import sys

import click
import numpy as np
import pandas as pd
from flask import current_app

from forecasts import backtest as backtesting
from forecasts.calendar import Calendar, EventsError, read_events
from forecasts.forecast import daily_summary, forecast, parse_duration, write_csv
from forecasts.history import History, HistoryError, read_history
from forecasts.models import MODELS, make_model
from ivr.cli.errors import config_refused
from ivr.cli.in_app import AppCommand
from ivr.cli.output import echo_csv, echo_json, format_option, note
from ivr.config import hotline_config
from ivr.config.loader import ConfigError, load_config
from ivr.config.schema import HotlineConfig


def progress(message: str) -> None:
    click.echo(f"  .. {message}", err=True)


def line_config(config_dir: str | None) -> HotlineConfig:
    try:
        return load_config(config_dir)
    except ConfigError as exc:
        config_refused(exc)


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
@click.option(
    "--model",
    type=click.Choice(["erlang-c", "erlang-a"]),
    default="erlang-c",
    show_default=True,
    help="erlang-a: callers hang up after their queue's patience_s (queues.yaml) on average",
)
def requirements_command(forecast_file, config_dir, output, pool, quantile, model):
    """Agents required per queue and interval from a forecast (Erlang C, or Erlang A with
    --model erlang-a; shrinkage, occupancy cap)."""
    from ivr.planning.pipeline import closed_calls, requirement_table
    from staffing.requirements import RequirementsError, interval_seconds

    cfg = line_config(config_dir)
    table = read_table(forecast_file, {"queue", "interval_start", "calls"})
    try:
        result = requirement_table(cfg, table, pool=pool, quantile=quantile, model=model)
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
@format_option
def shifts_command(
    requirements_file, config_dir, output, plot, time_limit, allow_uncovered, ignore_team, fmt
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

    say = note(fmt)
    say(f"wrote {len(summary.rows)} shift rows to {output}")
    team = week.problem.team
    binds = summary.team_binds()
    if team is not None:
        say(
            f"team: {team.describe()}; the plan has {summary.shifts} shifts and"
            f" {summary.paid_hours:.0f} paid hours"
        )
        if binds:
            say(
                f"the team's limit binds: the {summary.shortage_hours:.1f} agent-hours short need"
                " more agents (`hotline plan` counts the hires; --ignore-team plans without the"
                " limit)"
            )
    worst = worst_intervals(week, plan)
    if plot:
        plot_plan(week, plan, plot)
    if fmt == "csv":
        echo_csv(summary.rows.to_dict(orient="records"), list(summary.rows.columns))
    elif fmt == "json":
        echo_json(
            {
                "output": output,
                "status": plan.status.lower(),
                "gap": round(plan.gap, 4),
                "distinct_shifts": plan.distinct_shifts,
                "shifts": summary.shifts,
                "paid_hours": round(summary.paid_hours, 2),
                "cost": round(summary.cost, 2),
                "shortage_hours": round(summary.shortage_hours, 2),
                "excess_hours": round(summary.excess_hours, 2),
                "team": {
                    "describe": team.describe(),
                    "shifts": team.shifts,
                    "paid_hours": round(team.paid_hours, 2),
                    "limit_binds": binds,
                }
                if team is not None
                else None,
                "worst_intervals": [
                    {"interval": when, "required": need, "scheduled": have}
                    for when, need, have in worst
                ],
                "rows": summary.rows.to_dict(orient="records"),
            }
        )
    else:
        click.echo(
            f"status {plan.status.lower()}, optimality gap {plan.gap:.1%}, {plan.distinct_shifts} distinct shifts"
        )
        click.echo(
            f"paid hours {summary.paid_hours:.1f}, cost {summary.cost:.2f}, shortage {summary.shortage_hours:.1f} agent-hours, excess {summary.excess_hours:.1f} agent-hours"
        )
        if worst:
            click.echo(
                "worst intervals: "
                + "; ".join(f"{when} needs {need}, has {have}" for when, need, have in worst)
            )
    if plot:
        say(f"wrote {plot}")


HIRING_COLUMNS = [
    "week_start",
    "agent_hours",
    "paid_hours",
    "fte",
    "cost",
    "shortage_hours",
    "peak",
    "peak_agents",
    "extra_hours",
    "hires",
    "shifts",
    "team_shifts",
    "team_shortage_hours",
]


def hiring_row(s, cfg: HotlineConfig) -> dict:
    """One week of ``hotline plan``'s table, as the csv and json formats give it."""
    from ivr.planning.pipeline import hires

    return {
        "week_start": s.week_start.isoformat(),
        "agent_hours": round(s.agent_hours, 2),
        "paid_hours": round(s.paid_hours, 2),
        "fte": round(s.fte, 2),
        "cost": round(s.cost, 2),
        "shortage_hours": round(s.shortage_hours, 2),
        "peak": s.peak,
        "peak_agents": int(s.peak_agents),
        "extra_hours": round(s.extra_hours, 2),
        "hires": hires(s, cfg),
        "shifts": s.shifts,
        "team_shifts": s.team.shifts if s.team else None,
        "team_shortage_hours": round(s.team_shortage_hours, 2)
        if s.team_shortage_hours is not None
        else None,
    }


@click.command("plan", cls=AppCommand)
@click.option("--from", "start", required=True, help="first day of the first week (YYYY-MM-DD)")
@click.option("--weeks", default=4, show_default=True, type=click.IntRange(1, 104))
@click.option(
    "--what-if",
    "what_ifs",
    multiple=True,
    help="volume=+20%, aht=+30s, aht=-10%, sl=90/20 or shrinkage=35% (repeatable): rerun with"
    " it and show the difference",
)
@click.option("--freq", default="30min", show_default=True, help="interval of the history and plan")
@click.option(
    "--time-limit",
    default=10.0,
    show_default=True,
    type=click.FloatRange(1, 600),
    help="solver seconds per week",
)
@format_option
def plan_command(start, weeks, what_ifs, freq, time_limit, fmt) -> None:
    """Forecast -> requirements -> shifts week by week from the stored history: agent-hours, FTE,
    cost, peaks, and the gap to the current headcount (agents.csv). The shifts are planned for
    the requirement alone; a week that asks more shifts of the team than it can work is planned
    again within the team's limits, and hires count the agent-hours the team would leave short."""
    import datetime as dt

    from ivr.planning.pipeline import (
        hires,
        history_from_log,
        line_calendar,
        parse_what_if,
        plan_horizon,
    )

    cfg = hotline_config()
    try:
        first_day = dt.date.fromisoformat(start)
        variant = parse_what_if(what_ifs) if what_ifs else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    history = history_from_log(cfg, freq)
    if history is None:
        raise click.ClickException("no calls in the database: import or take some calls first")
    calendar = line_calendar(cfg)

    def say(message: str) -> None:
        click.echo(f"  .. {message}", err=True)

    try:
        # the what-if first: one the forecast refuses (an AHT cut below an interval's AHT)
        # stops before the base is planned
        other = (
            plan_horizon(
                cfg,
                history,
                calendar,
                first_day,
                weeks,
                variant,
                time_limit_s=time_limit,
                progress=say,
                check_team=True,
            )
            if variant
            else None
        )
        base = plan_horizon(
            cfg,
            history,
            calendar,
            first_day,
            weeks,
            time_limit_s=time_limit,
            progress=say,
            check_team=True,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    capacity = base[0].capacity_hours
    team = base[0].team
    if fmt != "table":
        weeks_of = {"base": base, **({f"what-if: {variant.describe()}": other} if other else {})}
        if fmt == "csv":
            rows = [
                {"scenario": name, **hiring_row(s, cfg)}
                for name, summaries in weeks_of.items()
                for s in summaries
            ]
            echo_csv(rows, ["scenario", *HIRING_COLUMNS])
        else:
            echo_json(
                {
                    "headcount": {
                        "agents": len(cfg.agents),
                        "contract_hours": round(capacity, 2),
                        "team_shifts": team.shifts if team else None,
                    },
                    "weeks": [hiring_row(s, cfg) for s in base],
                    "what_if": {
                        "change": variant.describe(),
                        "weeks": [hiring_row(s, cfg) for s in other],
                    }
                    if other
                    else None,
                }
            )
        return
    click.echo(
        f"current headcount: {len(cfg.agents)} agents, up to {capacity:.0f} contract hours a week"
        + (f" and {team.shifts} shifts (one a day, rest rules and contracts kept)" if team else "")
    )
    click.echo(
        f"{'week':10} {'agent-h':>8} {'paid h':>7} {'FTE':>5} {'cost':>9} {'short h':>7} {'peak':>14} {'extra h':>8} {'hires':>5} {'shifts/team':>11} {'team short h':>12}"
    )
    for s in base:
        peak = f"{s.peak} {s.peak_agents}"
        shifts = f"{s.shifts}/{s.team.shifts if s.team else '-'}"
        short = s.team_shortage_hours if s.team_shortage_hours is not None else s.shortage_hours
        click.echo(
            f"{s.week_start!s:10} {s.agent_hours:8.0f} {s.paid_hours:7.0f} {s.fte:5.1f} {s.cost:9.0f} {s.shortage_hours:7.1f} {peak:>14} {s.extra_hours:8.0f} {hires(s, cfg):5d} {shifts:>11} {short:12.1f}"
        )
    peak_week = max(base, key=lambda s: s.paid_hours)
    click.echo(
        f"peak week {peak_week.week_start}: {peak_week.paid_hours:.0f} paid hours, peak {peak_week.peak_agents} agents at {peak_week.peak}"
    )
    if other:
        click.echo(f"what-if ({variant.describe()}):")
        for s, o in zip(base, other, strict=True):
            click.echo(
                f"{o.week_start!s:10} paid h {o.paid_hours:7.0f} ({o.paid_hours - s.paid_hours:+.0f}), FTE {o.fte:5.1f} ({o.fte - s.fte:+.1f}), "
                f"cost {o.cost:9.0f} ({o.cost - s.cost:+.0f}), hires {hires(o, cfg)} ({hires(o, cfg) - hires(s, cfg):+d})"
            )


@click.command("roster", cls=AppCommand)
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--week", required=True, help="first day of the week (YYYY-MM-DD)")
@click.option(
    "--agents",
    "agents_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="agents CSV (default: config/agents.csv)",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--ics",
    "ics_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="write one iCalendar file per agent here",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="write the week view here",
)
@click.option(
    "--requirements",
    "requirements_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="per-queue requirements for skill coverage",
)
@click.option(
    "--requests",
    "requests_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CSV agent,date,request(off|HH:MM),weight",
)
@click.option("--time-limit", default=30.0, show_default=True, type=click.FloatRange(1, 3600))
@click.option(
    "--best-effort",
    is_flag=True,
    help="when the rules cannot all be kept, roster anyway and list what gives",
)
@click.option("--publish", is_flag=True, help="store it as the published roster (else as a draft)")
@format_option
def roster_command(
    plan_file,
    week,
    agents_file,
    output,
    ics_dir,
    html_file,
    requirements_file,
    requests_file,
    time_limit,
    best_effort,
    publish,
    fmt,
) -> None:
    """Assign named agents to the plan's shifts (OR-Tools CP-SAT), keeping the rules."""
    import datetime as dt
    from pathlib import Path

    import pandas as pd

    from ivr import clock
    from ivr.config.loader import ConfigIssue, load_agents
    from ivr.planning.rosters import (
        ROSTER_COLUMNS,
        NoRoster,
        locks_of,
        make_roster,
        read_plan,
        read_requests,
        roster_file,
        roster_summary,
        roster_week,
        save_roster_draft,
        summarise,
        week_plan,
        write_csv,
        write_ics,
    )
    from ivr.store.db import session_scope
    from staffing.rostering import Infeasible

    cfg = hotline_config()
    try:
        week_start = dt.date.fromisoformat(week)
        table = read_plan(plan_file, week_start)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    agents = cfg.agents
    if agents_file:
        issues: list[ConfigIssue] = []
        agents = load_agents(Path(agents_file), issues)
        if issues:
            raise click.ClickException("\n".join(str(i) for i in issues))
    requirements = pd.read_csv(requirements_file) if requirements_file else None
    requests = (
        read_requests(requests_file, week_start, week_plan(table, week_start, cfg))
        if requests_file
        else []
    )
    click.echo(f"  .. rostering {len(agents)} agents (up to {time_limit:g} s)", err=True)
    try:
        with session_scope() as session:
            plan, result, rows = make_roster(
                cfg,
                session,
                table,
                week_start,
                agents,
                time_limit_s=time_limit,
                requests=requests,
                requirements=requirements,
                best_effort=best_effort,
                fixed=locks_of(session, week_start),  # the cells locked on the roster page
            )
            summary = roster_summary(plan, result, rows, cfg, agents)
            save_roster_draft(
                session, rows, summary, week_start, "published" if publish else "draft", clock.now()
            )
    except Infeasible as exc:
        lines = "\n".join(f"  - {v}" for v in summarise(exc.violations))
        raise click.ClickException(
            f"no roster keeps every rule; the least it takes to break:\n{lines}\n(--best-effort rosters anyway)"
        ) from exc
    except (NoRoster, RuntimeError) as exc:
        closest = getattr(exc, "roster", None)
        hint = (
            "\n(--best-effort stores the closest roster and lists the rules it breaks)"
            if closest is not None
            else ""
        )
        raise click.ClickException(
            f"{exc}\nnothing stored: the week's previous roster stays{hint}"
        ) from exc
    write_csv(rows, output)
    stored = "published" if publish else "draft"
    say = note(fmt)
    say(
        f"wrote {len(rows)} shifts to {output} ({result.status.lower()}, gap {result.gap:.1%}); stored as {stored}"
    )
    missing = summary["unfilled"]
    asked = summary["asked_beyond_team"]
    if missing:
        say(f"{missing} planned shift(s) have no agent")
        for shift in summary["unfilled_shifts"]:
            say(f"  {shift['text']}")
        if asked:
            say(
                "the plan asks more than these agents can work: "
                + "; ".join(asked)
                + " (`hotline shifts` without --ignore-team plans within what they can work)"
            )
    for violation in summary["rules_broken_text"]:
        say(f"rule not kept: {violation}")
    calendars = write_ics(rows, agents, ics_dir, cfg.line.name, cfg.tz) if ics_dir else []
    if ics_dir:
        say(f"wrote {len(calendars)} calendar files to {ics_dir}")
    if html_file:
        week = roster_week(
            rows,
            agents,
            plan,
            week_start,
            f"Roster, week of {week_start}",
            summary["rules_broken_text"],
            asked,
            [u["text"] for u in summary["unfilled_shifts"]],
        )
        Path(html_file).write_text(roster_file(current_app, week))
        say(f"wrote {html_file}")
    if fmt == "csv":
        echo_csv(rows, ROSTER_COLUMNS)
    elif fmt == "json":
        echo_json(
            {
                "week": week_start.isoformat(),
                "status": result.status.lower(),
                "gap": round(result.gap, 4),
                "stored_as": stored,
                "output": output,
                "assignments": [{k: r.get(k) for k in ROSTER_COLUMNS} for r in rows],
                "unfilled_shifts": missing,
                "unfilled": summary["unfilled_shifts"],
                "asked_beyond_team": asked if missing else [],
                "rules_broken": summary["rules_broken"],
            }
        )


# the hotline command's own (no app needed)
COMMANDS = [forecast_command, backtest_command, requirements_command, shifts_command]
# registered on the app's CLI (they need its database or configuration)
APP_COMMANDS = [plan_command, roster_command]
