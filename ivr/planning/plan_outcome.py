"""What a week's shift plan gives against its requirement, as ``/supervisor/plan`` shows it: the
requirement against the planned cover per interval, shortage and excess in agent-hours with the
worst intervals, paid hours, cost, FTE, hires (all as ``hotline plan`` counts them:
:func:`ivr.planning.pipeline.summarise_cover`, :func:`~ivr.planning.pipeline.hires`), the service
level the cover gives, and what the plan asks of the team against what it can work.

The stored plan (the week's newest ``shifts`` draft) is read against the stored forecast of the
week (:func:`stored_plan`); a what-if's plan against its own requirement (``ivr.jobs.what_if``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from ivr.config.schema import HotlineConfig
from ivr.planning.pipeline import (
    WeekSummary,
    WhatIf,
    hires,
    queue_targets,
    requirement_table,
    shift_problem,
    shifts_per_day,
    shrinkage,
    summarise_cover,
    week_grid,
)
from ivr.planning.rosters import stored_shift_plan
from ivr.planning.team import beyond, contract_minutes
from ivr.planning.week_forecast import stored_week_forecast
from ivr.store.models import PlanDraft
from staffing.erlang import erlang_c_performance
from staffing.shift_plan import WeekProblem, coverage_from_rows, slot_time, wall_slots

WORST = 5  # intervals listed for shortage and for excess
LABEL = "%a %d %H:%M"  # an interval as the page names it: "Mon 30 09:00", line time


@dataclass
class Interval:
    at: str  # LABEL, line time
    required: int
    planned: int


@dataclass
class TeamView:
    """What the plan asks of the team (agents.csv) against what it can work."""

    people: int
    shifts_planned: int
    shifts_can: int
    paid_hours_planned: float
    paid_hours_can: float  # the contracts' maximum this week
    days: list[dict[str, Any]]  # day, planned (shifts), can (agents available)
    beyond: list[str]  # what the plan asks beyond the team, in words (team.beyond)
    binds: list[str]  # the team's limits the plan reaches (pipeline.limits_reached)
    skills: list[dict[str, Any]]  # queue, agents with the skill, their hours, hours required


@dataclass
class Outcome:
    """What a plan gives the week; stored as a scenario's figures (``figures()``) and series."""

    paid_hours: float
    cost: float
    fte: float
    shifts: int
    capacity_hours: float
    shortage_hours: float | None = None
    excess_hours: float | None = None
    service_level: float | None = None  # expected share of calls answered within target time
    service_level_target: float | None = None  # the calls' targets, weighted by calls
    hires: int | None = None
    worst_short: list[Interval] = field(default_factory=list)
    worst_excess: list[Interval] = field(default_factory=list)
    team: TeamView | None = None
    forecast: str | None = None  # where the requirement came from
    solver: str | None = None  # the solver's status and gap (a what-if)
    series: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        """All but the series, as a scenario stores them."""
        out = dataclasses.asdict(self)
        out.pop("series")
        return out


def expected_service_level(
    cfg: HotlineConfig,
    reqs: pd.DataFrame,
    cover: np.ndarray,
    week: WeekProblem,
    what_if: WhatIf | None = None,
) -> tuple[float | None, float | None]:
    """The share of the week's calls answered within their queue's answer time with the cover
    on duty (less shrinkage), agents pooled over the queues (Erlang C); and the calls' targets
    weighted alike (the what-if's targets and shrinkage, if it sets them). Each interval is
    taken on its own with the cover of its wall-clock slot: on the day clocks go back, the
    repeated hour's two intervals share a slot's agents, not their calls. None without calls."""
    what_if = what_if or WhatIf()
    targets = queue_targets(cfg, what_if)
    slot_min = week.problem.slot_min
    table = reqs[reqs["queue"].isin(targets)].copy()
    table = table[table["calls"] > 0]
    if table.empty:
        return None, None
    table["interval_start"] = pd.to_datetime(table["interval_start"], utc=True)
    table["slot"] = wall_slots(table["interval_start"], week.days[0], cfg.tz, slot_min)
    table = table[(table["slot"] >= 0) & (table["slot"] < cover.size)]
    table["work"] = table["calls"] * table["aht_s"]
    pooled = table.groupby("interval_start").agg(
        calls=("calls", "sum"), work=("work", "sum"), slot=("slot", "first")
    )
    off = shrinkage(cfg, what_if)
    on_line = np.floor(cover[pooled["slot"].to_numpy()] * (1 - off) + 1e-9).astype(np.int64)
    answered = 0.0
    aimed = 0.0
    for queue, part in table.groupby("queue"):
        calls = part.groupby("interval_start")["calls"].sum().reindex(pooled.index, fill_value=0.0)
        target = targets[str(queue)]
        performance = erlang_c_performance(
            pooled["calls"].to_numpy(),
            on_line,
            interval_s=slot_min * 60,
            aht_s=(pooled["work"] / pooled["calls"]).to_numpy(),
            answer_time_s=target.answer_time_s,
        )
        answered += float((calls.to_numpy() * performance.service_level).sum())
        aimed += float(calls.sum() * target.service_level)
    calls_total = float(table["calls"].sum())
    return answered / calls_total, aimed / calls_total


def team_view(
    cfg: HotlineConfig, summary: WeekSummary, required_hours: dict[str, float]
) -> TeamView | None:
    """What the plan asks of the team against what it can work (None without agents).
    ``required_hours``: the agent-hours each queue requires."""
    team = summary.team
    if team is None:
        return None
    week_start = summary.week_start
    planned = shifts_per_day(summary.rows, week_start)
    days = [
        {
            "day": (week_start + dt.timedelta(days=d)).strftime("%a %d"),
            "planned": planned[d],
            "can": team.per_day[d],
        }
        for d in range(7)
    ]
    skills = []
    for q in cfg.queues:
        agents = [a for a in cfg.agents if q.id in a.skills]
        hours = sum(contract_minutes(cfg, a, week_start)[1] for a in agents) / 60
        required = required_hours.get(q.id)
        skills.append(
            {
                "queue": q.id,
                "agents": len(agents),
                "hours": round(hours, 1),
                "required_hours": None if required is None else round(required, 1),
            }
        )
    return TeamView(
        people=team.people,
        shifts_planned=summary.shifts,
        shifts_can=team.shifts,
        paid_hours_planned=round(summary.paid_hours, 1),
        paid_hours_can=round(team.paid_hours, 1),
        days=days,
        beyond=beyond(team, summary.rows, week_start),
        binds=summary.limits_reached(),
        skills=skills,
    )


def outcome(
    cfg: HotlineConfig,
    summary: WeekSummary,
    week: WeekProblem,
    reqs: pd.DataFrame | None = None,
    what_if: WhatIf | None = None,
) -> Outcome:
    """The figures and series of a plan (``summary``, of the shift problem ``week``) against
    the requirement (``reqs``, made with ``what_if``; without it, the plan alone)."""
    cover = summary.coverage if summary.coverage is not None else np.zeros(0, dtype=np.int64)
    slot_min = week.problem.slot_min
    series: dict[str, Any] = {
        "start": summary.week_start.isoformat(),
        "slot_min": slot_min,
        "cover": [int(v) for v in cover],
        "required": {},
    }
    result = Outcome(
        paid_hours=round(summary.paid_hours, 1),
        cost=round(summary.cost, 2),
        fte=round(summary.fte, 2),
        shifts=summary.shifts,
        capacity_hours=round(summary.capacity_hours, 1),
        series=series,
    )
    if reqs is None:
        result.team = team_view(cfg, summary, {})
        result.hires = hires(summary, cfg) if summary.extra_hours > 0 else None
        return result
    requirement = week.problem.requirement
    series["required"]["total"] = [int(v) for v in requirement]
    required_hours = {}
    for queue, part in reqs[reqs["queue"].isin(cfg.queue_ids())].groupby("queue"):
        by_slot = np.zeros(requirement.size, dtype=np.int64)
        slots = wall_slots(part["interval_start"], week.days[0], cfg.tz, slot_min)
        keep = (slots >= 0) & (slots < requirement.size)
        np.maximum.at(by_slot, slots[keep], part["agents_scheduled"].to_numpy(dtype=np.int64)[keep])
        series["required"][str(queue)] = [int(v) for v in by_slot]
        required_hours[str(queue)] = float(by_slot.sum() * slot_min / 60)
    result.team = team_view(cfg, summary, required_hours)
    result.shortage_hours = round(summary.shortage_hours, 1)
    result.excess_hours = round(summary.excess_hours, 1)
    result.hires = hires(summary, cfg)
    level, target = expected_service_level(cfg, reqs, cover, week, what_if)
    result.service_level = round(level, 4) if level is not None else None
    result.service_level_target = round(target, 4) if target is not None else None

    def worst(values: np.ndarray) -> list[Interval]:
        order = np.argsort(-values, kind="stable")[:WORST]
        return [
            Interval(slot_time(week, s).strftime(LABEL), int(requirement[s]), int(cover[s]))
            for s in order
            if values[s] > 0
        ]

    result.worst_short = worst(np.maximum(requirement - cover, 0))
    result.worst_excess = worst(np.maximum(cover - requirement, 0))
    return result


@dataclass
class StoredPlan:
    draft: PlanDraft
    outcome: Outcome


def no_requirement(cfg: HotlineConfig, week: dt.date) -> pd.DataFrame:
    """A requirements table of the week with nobody required (a plan read on its own)."""
    grid = week_grid(cfg, week, pd.Timedelta(minutes=cfg.staffing.interval_min))
    return pd.DataFrame({"queue": "total", "interval_start": grid, "agents_scheduled": 0})


def stored_plan(session: Session, cfg: HotlineConfig, week: dt.date) -> StoredPlan | None:
    """The week's newest stored shift plan read against the stored forecast of the week (the
    requirement is left out when no stored forecast has the week); a ValueError when the stored
    plan cannot be read. The plan is taken as made within what the team can work, as the
    weekly job makes it."""
    draft = stored_shift_plan(session, week)
    if draft is None:
        return None
    forecast = stored_week_forecast(session, cfg, week)
    reqs = requirement_table(cfg, forecast.table) if forecast is not None else None
    problem = shift_problem(cfg, reqs if reqs is not None else no_requirement(cfg, week))
    try:
        rows = pd.read_csv(io.StringIO(draft.content), dtype={"break_start": str})
        cover = coverage_from_rows(
            rows, week, cfg.tz, problem.problem.slot_min, cfg.staffing.cyclic_week
        )
        result = outcome(cfg, summarise_cover(cfg, problem, rows, cover), problem, reqs)
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise ValueError(
            f"the shift plan stored {draft.created_at.astimezone(cfg.tz):%Y-%m-%d %H:%M} for"
            f" the week of {week} cannot be read ({type(exc).__name__}: {exc})"
        ) from exc
    if forecast is not None:
        result.forecast = forecast.source + (
            f" (calls on {forecast.days} of the week's 7 days)" if forecast.days < 7 else ""
        )
    elif (draft.summary or {}).get("shortage_hours") is not None:
        result.shortage_hours = float(draft.summary["shortage_hours"])
    return StoredPlan(draft, result)
