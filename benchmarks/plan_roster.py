"""Plan, then roster: does the week's roster cover the requirement? Hotline's shift plan kept
within what the team can work, against a plan for the requirement alone (the baseline: what a
shift planner that does not know the team gives).

On the demo's week: the Israeli bank sample (data/) imported into a fresh instance, forecast,
requirements, then for each variant the shift plan and the roster of agents.csv's team, with the
same solver time limits. What counts is the roster, what the agents will work: its cover of the
requirement, half-hour by half-hour, recomputed here from the roster's rows alone, and the service
the callers would get from it (Erlang C on the forecast's calls and AHT, with the agents on the
line after shrinkage, all queues pooled, the strictest answer time). The plan within the team is
rostered twice in each round: with an unfilled shift weighed by its paid hours alone and by its
paid hours times the share of the team it leaves short (Hotline).

    python benchmarks/plan_roster.py [--time-limit 20] [--rounds 2] [--today YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from staffing.erlang import erlang_c_performance  # noqa: E402

# name, plan within the team, roster weighing unfilled shifts by the share of the team
VARIANTS = [
    ("requirement alone (baseline)", False, True),
    ("within the team, roster by paid hours alone", True, False),
    ("within the team, roster by team share (Hotline)", True, True),
]


def roster_cover(
    rows: list[dict], plan_rows: pd.DataFrame, requirement: pd.DataFrame, service: dict
) -> dict:
    """The roster's agents on duty per interval (breaks off) against the requirement, and the
    service they would give (``service``: shrinkage, answer time and default AHT)."""
    times = pd.DatetimeIndex(pd.to_datetime(requirement["interval_start"], utc=True))
    need = requirement["agents_scheduled"].to_numpy(dtype=float)
    step_h = float(pd.Series(times).diff().mode().iloc[0].total_seconds() / 3600)
    breaks = {
        (r.shift_start, r.shift_end): int(r.break_min)
        for r in plan_rows.itertuples()
        if r.break_min
    }
    start = pd.DatetimeIndex(pd.to_datetime([r["shift_start"] for r in rows], utc=True))
    end = pd.DatetimeIndex(pd.to_datetime([r["shift_end"] for r in rows], utc=True))
    pause = pd.DatetimeIndex(
        pd.to_datetime([r["break_start"] or None for r in rows], utc=True, format="ISO8601")
    )
    pause_min = np.array([breaks.get((r["shift_start"], r["shift_end"]), 0) for r in rows])
    t = times.to_numpy()[None, :]
    on = (t >= start.to_numpy()[:, None]) & (t < end.to_numpy()[:, None])
    pause_end = pause + pd.to_timedelta(pause_min, unit="min")
    off = (t >= pause.to_numpy()[:, None]) & (t < pause_end.to_numpy()[:, None])
    cover = (on & ~off).sum(axis=0)
    paid = ((end - start).total_seconds().to_numpy() / 3600 - pause_min / 60).sum()
    calls = requirement["calls"].to_numpy(dtype=float)
    aht = requirement["aht_s"].to_numpy(dtype=float)
    served = erlang_c_performance(
        calls,
        np.floor(cover * (1 - service["shrinkage"])),
        interval_s=step_h * 3600,
        aht_s=np.where(aht > 0, aht, service["aht_s"]),
        answer_time_s=service["answer_time_s"],
    ).service_level
    busy = calls > 0
    return {
        "service": float((served * calls).sum() / calls.sum()),
        "poor_intervals": int((busy & (served < 0.5)).sum()),
        "paid_h": float(paid),
        "short_h": float(np.maximum(need - cover, 0).sum() * step_h),
        "short_intervals": int((cover < need).sum()),
        "over_h": float(np.maximum(cover - need, 0).sum() * step_h),
        "need_h": float(need.sum() * step_h),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per solve")
    parser.add_argument("--rounds", type=int, default=2, help="plans and rosters per variant")
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        help="the day the demo is set up on (default: today): the week planned is the next one",
    )
    args = parser.parse_args(argv)

    from ivr import create_app
    from ivr.demo.setup import SAMPLE, setup
    from ivr.planning.pipeline import plan_week, summarise, team_rows
    from ivr.planning.rosters import make_roster, unfilled
    from ivr.store.db import session_scope

    if not SAMPLE.exists():
        print(f"the sample is missing: {SAMPLE}", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="plan-roster-"))
    app = create_app(
        {"INSTANCE_PATH": str(folder), "DATABASE_URL": f"sqlite:///{folder / 'hotline.db'}"}
    )
    cfg = app.extensions["hotline.config"]
    if args.today:
        noon = dt.datetime.combine(args.today, dt.time(12), tzinfo=cfg.tz)
        app.config["CLOCK"] = lambda: noon
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    # the demo's set-up, for its week's requirements (its own quick plan and roster are not used)
    base = setup(app, folder / "demo", say, time_limit_s=2.0)
    reqs, week_start = base["requirements"], base["week_start"]
    requirement = team_rows(reqs)
    service = {
        "shrinkage": cfg.staffing.shrinkage,
        "answer_time_s": min(q.service_level.answer_time_s for q in cfg.queues),
        "aht_s": float(np.mean([q.aht_s for q in cfg.queues])),
    }
    results: dict[str, list[dict]] = {name: [] for name, _team, _share in VARIANTS}
    for number in range(args.rounds):
        plans = {}  # the plan within the team is rostered both ways
        for name, team, by_team_share in VARIANTS:
            if team not in plans:
                say(f"round {number + 1}/{args.rounds}: planning {'within' if team else 'beyond'}"
                    " the team")  # fmt: skip
                week, plan = plan_week(cfg, reqs, args.time_limit, allow_uncovered=True, team=team)
                plans[team] = summarise(cfg, week, plan)
            summary = plans[team]
            say(f"round {number + 1}/{args.rounds}: {name}: rostering")
            plan_table = summary.rows.copy()
            plan_table["date"] = pd.to_datetime(plan_table["date"]).dt.date
            with session_scope(app) as session:
                weekly, result, rows = make_roster(
                    cfg,
                    session,
                    plan_table,
                    week_start,
                    cfg.agents,
                    time_limit_s=args.time_limit,
                    best_effort=True,
                    by_team_share=by_team_share,
                )
            results[name].append(
                {
                    "plan_shifts": summary.shifts,
                    "plan_paid_h": summary.paid_hours,
                    "plan_short_h": summary.shortage_hours,
                    "rostered": len(rows),
                    "unfilled": unfilled(weekly, rows),
                    "broken": len(result.violations),
                    **roster_cover(rows, summary.rows, requirement, service),
                }
            )
    limits = summary.team
    print(
        f"python benchmarks/plan_roster.py --time-limit {args.time_limit:g} --rounds {args.rounds}"
        + (f" --today {args.today}" if args.today else "")
        + f"   (the demo's week from {week_start}: {len(cfg.agents)} agents,"
        f" {limits.describe() if limits else 'no team'};"
        f" requirement {requirement['agents_scheduled'].sum() / 2:.0f} agent-hours)"
    )
    answer = f"{service['answer_time_s']:g} s"
    print(
        "| plan | planned shifts | planned paid h | plan short agent-h | rostered shifts |"
        " planned shifts with no agent | rostered paid h | roster short agent-h"
        f" (half-hours short) | roster over agent-h | rules broken | service level ({answer},"
        " calls-weighted) | half-hours under 50 % |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        for k, r in enumerate(runs, 1):
            print(
                f"| {name}, round {k} | {r['plan_shifts']} | {r['plan_paid_h']:.0f} |"
                f" {r['plan_short_h']:.1f} | {r['rostered']} | {r['unfilled']} |"
                f" {r['paid_h']:.0f} | {r['short_h']:.1f} ({r['short_intervals']}) |"
                f" {r['over_h']:.1f} | {r['broken']} | {r['service']:.1%} |"
                f" {r['poor_intervals']} |"
            )
    mean = {
        name: {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
        for name, runs in results.items()
    }
    (alone, *_), (by_hours, *_), (within, *_) = VARIANTS
    print(
        f"\nmean over {args.rounds} round(s): roster short {mean[within]['short_h']:.0f} agent-h"
        f" within the team vs {mean[alone]['short_h']:.0f} for the requirement alone;"
        f" planned shifts with no agent {mean[within]['unfilled']:.0f} vs"
        f" {mean[alone]['unfilled']:.0f}"
    )
    print(
        f"roster weighing unfilled shifts by the share of the team vs by paid hours alone (same"
        f" plans): service level {mean[within]['service']:.1%} vs {mean[by_hours]['service']:.1%},"
        f" half-hours under 50 % {mean[within]['poor_intervals']:.1f} vs"
        f" {mean[by_hours]['poor_intervals']:.1f}, short {mean[within]['short_h']:.0f} vs"
        f" {mean[by_hours]['short_h']:.0f} agent-h"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
