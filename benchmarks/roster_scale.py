"""Rosters of Hotline's own weeks at the sizes real centres roster: 36, 100, 250 and 500 agents.

Each team is the demo team (config/agents.csv: skills, languages, contracts, unavailable days)
repeated with new ids up to the size; the calls are the demo's forecast for the week (the shipped
sample history moved forward, as ``make demo`` does) times size / 36, so the team is about the size a
supervisor would hire for the plan. One more case is over-staffed: 100 agents for the 36-agent
calls, where contract minimums exceed what the plan needs (where do the extra hours go?).

Per case, in a process of its own (for its peak memory): requirements (Erlang C), the week's shift
plan within what the team can work (``hotline shifts``' planner, ``--plan-seconds``), then the
roster exactly as the weekly job makes it (``rosters.make_roster``, best effort, ``--seconds``).
It prints the roster's seconds and peak memory, the planned shifts and those filled, the rules
broken, and the roster's cover and service as ``benchmarks/plan_roster.py`` measures them
(``roster_cover``): its shortage in agent-hours (agents on duty outside breaks against the agents
scheduled) and the pooled Erlang C service level of the rostered agents after shrinkage (all
queues' calls, the strictest answer time), the plan's own level beside it.

Target: every size within 60 s of roster time on 2 cores, 0 rules broken, at least 98 % of the
planned shifts filled (the plans keep within what the team can work).

    python benchmarks/roster_scale.py [--sizes 36,100,250,500] [--weeks 2026-11-30,2026-12-07]
        [--seconds 60] [--plan-seconds 20] [--no-overstaffed] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import benchmarks.capacity as capacity  # noqa: E402

DEMO_AGENTS = 36


def demo_forecast(week: dt.date, folder: Path) -> Path:
    """The demo's forecast through ``week`` (the day before it is "today"), as ``make demo``
    writes it: the sample imported into a throwaway database, forecast from its end."""
    from ivr import create_app
    from ivr.demo.setup import setup

    stamp = dt.datetime.combine(week - dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}",
            "SECRET_KEY": "bench",
            "AUTO_MIGRATE": True,
            "CLOCK": lambda: stamp,
            "INSTANCE_PATH": str(folder / "instance"),
        }
    )
    out = folder / f"demo-{week}"
    setup(app, out, lambda _m: None, time_limit_s=1.0)
    return out / "forecast.csv"


def team(size: int):
    """The demo team repeated up to ``size`` agents (ids S0001...), same mix."""
    from ivr.config.loader import load_config

    base = load_config().agents
    return [
        base[i % len(base)].model_copy(update={"id": f"S{i + 1:04d}", "name": f"Agent {i + 1}"})
        for i in range(size)
    ]


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """One size and week, in its own process: plan and roster, and the figures."""
    import numpy as np
    import pandas as pd
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from benchmarks.plan_roster import roster_cover
    from ivr.config.loader import load_config
    from ivr.planning.pipeline import plan_week, requirement_table, summarise, team_rows, week_of
    from ivr.planning.rosters import make_roster, read_plan, roster_summary
    from ivr.store.models import Base

    week = dt.date.fromisoformat(case["week"])
    agents = team(case["agents"])
    cfg = load_config()
    cfg = cfg.model_copy(update={"agents": agents})
    forecast = pd.read_csv(case["forecast"])
    forecast = week_of(cfg, forecast, week).copy()
    for column in [c for c in forecast.columns if c.startswith("calls")]:
        forecast[column] = forecast[column] * case["scale"]
    reqs = requirement_table(cfg, forecast)
    planned_at = time.perf_counter()
    week_problem, plan = plan_week(cfg, reqs, case["plan_seconds"], allow_uncovered=True)
    summary = summarise(cfg, week_problem, plan)
    plan_s = time.perf_counter() - planned_at
    plan_file = Path(case["folder"]) / f"plan-{case['name']}.csv"
    summary.rows.to_csv(plan_file, index=False)

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    started = time.perf_counter()
    error = None
    try:
        with Session(engine) as session:
            weekplan, result, rows = make_roster(
                cfg,
                session,
                read_plan(plan_file, week),
                week,
                agents,
                time_limit_s=case["seconds"],
                best_effort=True,
            )
        roster_s = time.perf_counter() - started
        figures = roster_summary(weekplan, result, rows, cfg, agents)
    except RuntimeError as exc:  # NoRoster: nothing found in time
        roster_s = time.perf_counter() - started
        rows, figures, result, error = [], None, None, str(exc)
    planned = int(sum(c.requirement for c in weekplan.covers)) if error is None else None

    # the roster's cover of the requirement and its service, as benchmarks/plan_roster.py
    # measures them; the plan's service beside it (its shifts as if each had its agents)
    requirement = team_rows(reqs)
    service = {
        "shrinkage": cfg.staffing.shrinkage,
        "answer_time_s": min(q.service_level.answer_time_s for q in cfg.queues),
        "aht_s": float(np.mean([q.aht_s for q in cfg.queues])),
    }
    planned_rows = [
        {
            "shift_start": r.shift_start,
            "shift_end": r.shift_end,
            "break_start": r.break_start if isinstance(r.break_start, str) else "",
        }
        for r in summary.rows.itertuples()
        for _ in range(int(r.agents))
    ]
    cover = roster_cover(rows, summary.rows, requirement, service) if rows else None
    plan_cover = roster_cover(planned_rows, summary.rows, requirement, service)
    calls = forecast[forecast["queue"].isin(cfg.queue_ids())]

    return {
        **{k: case[k] for k in ("name", "week", "agents", "scale")},
        "calls": round(float(calls["calls"].sum())),
        "plan_s": round(plan_s, 1),
        "roster_s": round(roster_s, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "planned": planned,
        "rostered": len(rows),
        "unfilled": figures["unfilled"] if figures else planned,
        "filled_share": (
            round(1 - figures["unfilled"] / planned, 4) if figures and planned else None
        ),
        "rules_broken": len(figures["rules_broken"]) if figures else None,
        "rules_broken_text": figures["rules_broken_text"][:10] if figures else [],
        "status": result.status if result else "none",
        "gap": round(result.gap, 4) if result else None,
        "shortage_agent_hours": round(cover["short_h"] if cover else plan_cover["need_h"], 1),
        "service_level_roster": round(cover["service"], 4) if cover else 0.0,
        "service_level_plan": round(plan_cover["service"], 4),
        "contract_hours": round(sum(a.max_hours_week for a in agents)),
        "rostered_hours": round(
            sum(
                (pd.Timestamp(r["shift_end"]) - pd.Timestamp(r["shift_start"])).total_seconds()
                for r in rows
            )
            / 3600
        ),
        "error": error,
    }


def meets(row: dict[str, Any], seconds: float) -> bool:
    return (
        row["error"] is None
        and row["roster_s"] <= seconds + 5
        and row["rules_broken"] == 0
        and (row["filled_share"] or 0) >= 0.98
    )


def table(result: dict[str, Any]) -> str:
    made = result["measured"]
    lines = [
        f"measured {made['date']} at commit {made['commit']}, {made['cores']} cores ({made['cpu']})",
        f"roster time limit {result['seconds']:g} s, shift plan {result['plan_seconds']:g} s;"
        " the demo team's mix repeated; calls = the demo's forecast x scale",
        "",
        "| week | agents | calls x | calls | planned shifts | rostered | filled | unfilled |"
        " rules broken | shortage agent-h | SL roster | SL plan | roster s | peak MB | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in result["cases"]:
        filled = f"{row['filled_share']:.1%}" if row["filled_share"] is not None else "-"
        lines.append(
            f"| {row['week']} | {row['agents']} | {row['scale']:.2f} | {row['calls']} |"
            f" {row['planned'] if row['planned'] is not None else '-'} | {row['rostered']} |"
            f" {filled} | {row['unfilled'] if row['unfilled'] is not None else '-'} |"
            f" {row['rules_broken'] if row['rules_broken'] is not None else '-'} |"
            f" {row['shortage_agent_hours']:.0f} | {row['service_level_roster']:.1%} |"
            f" {row['service_level_plan']:.1%} | {row['roster_s']:.1f} | {row['peak_mb']} |"
            f" {'met' if meets(row, result['seconds']) else 'MISSED'} |"
        )
    lines.append("")
    for row in result["cases"]:
        if row["error"]:
            lines.append(f"{row['week']} {row['agents']} agents: {row['error']}")
        for text in row["rules_broken_text"]:
            lines.append(f"{row['week']} {row['agents']} agents: rule broken: {text}")
    met = all(meets(row, result["seconds"]) for row in result["cases"])
    lines.append(
        f"{'PASS' if met else 'FAIL'}  every case within {result['seconds']:g} s, 0 rules broken,"
        " >= 98 % of planned shifts filled"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="36,100,250,500")
    parser.add_argument("--weeks", default="2026-11-30,2026-12-07")
    parser.add_argument("--seconds", type=float, default=60.0, help="roster time limit")
    parser.add_argument("--plan-seconds", type=float, default=20.0, help="shift plan time limit")
    parser.add_argument("--no-overstaffed", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
        weeks = [dt.date.fromisoformat(w) for w in args.weeks.split(",")]
    except ValueError as exc:
        parser.error(f"--sizes/--weeks: {exc}")
    if any(w.weekday() != 0 for w in weeks) or any(s < 1 for s in sizes):
        parser.error("--weeks must be Mondays and --sizes positive")
    folder = Path(tempfile.mkdtemp(prefix="hotline-roster-scale-"))
    cases = []
    for week in weeks:
        print(f"  .. the demo's forecast for the week of {week}", file=sys.stderr, flush=True)
        forecast = demo_forecast(week, folder)
        for size in sizes:
            cases.append({"agents": size, "scale": size / DEMO_AGENTS, "week": week})
        if not args.no_overstaffed:
            cases.append({"agents": 100, "scale": 1.0, "week": week})
        for case in cases:
            case.setdefault("forecast", str(forecast))
    results = []
    ctx = mp.get_context("spawn")
    for case in cases:
        case.update(
            week=case["week"].isoformat(),
            seconds=args.seconds,
            plan_seconds=args.plan_seconds,
            folder=str(folder),
            name=f"{case['week']}-{case['agents']}-{case['scale']:.2f}",
        )
        print(
            f"  .. {case['week']}: {case['agents']} agents, calls x {case['scale']:.2f}",
            file=sys.stderr,
            flush=True,
        )
        with ctx.Pool(1) as pool:
            results.append(pool.apply(run_case, (case,)))
        row = results[-1]
        print(
            f"     {row['rostered']} shifts rostered of {row['planned']} planned,"
            f" {row['unfilled']} unfilled, {row['rules_broken']} rules broken,"
            f" {row['roster_s']} s",
            file=sys.stderr,
            flush=True,
        )
    result = {
        "measured": capacity.provenance(),
        "seconds": args.seconds,
        "plan_seconds": args.plan_seconds,
        "cases": results,
    }
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(meets(row, args.seconds) for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
