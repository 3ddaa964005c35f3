"""The planner's pipeline: stored history -> forecast -> requirements -> shift plan, week by week,
with what-if variations. Config in, plain staffing/forecasts calls out."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasts.calendar import Calendar
from forecasts.forecast import forecast
from forecasts.history import History
from ivr import clock, stats
from ivr.config.hours import OpeningHours
from ivr.config.schema import HotlineConfig
from ivr.planning.team import (
    beyond,
    contract_minutes,
    team_limits,
    templates,
)
from ivr.stats import local_midnight
from ivr.store.db import session_scope
from ivr.store.importer import first_entry
from staffing.requirements import QueueTarget, interval_seconds, requirements
from staffing.shift_plan import (
    UncoverableError,
    WeekProblem,
    Weights,
    plan_rows,
    slot_time,
    uncoverable,
    week_problem,
)
from staffing.shifts import ShiftPlan, SolverSettings, TeamLimits, solve


def weights(cfg: HotlineConfig) -> Weights:
    w = cfg.staffing.weights
    return Weights(
        shortage=w.shortage, excess=w.excess, distinct_shift=w.distinct_shift, cost=w.cost
    )


@dataclass(frozen=True)
class WhatIf:
    volume_factor: float = 1.0
    aht_delta_s: float = 0.0
    service_level: tuple[float, float] | None = None  # (target, answer time s)

    def describe(self) -> str:
        parts = []
        if self.volume_factor != 1.0:
            parts.append(f"volume {self.volume_factor - 1:+.0%}")
        if self.aht_delta_s:
            parts.append(f"aht {self.aht_delta_s:+g}s")
        if self.service_level:
            parts.append(f"sl {self.service_level[0]:.0%}/{self.service_level[1]:g}s")
        return ", ".join(parts) or "as forecast"


def parse_what_if(items: tuple[str, ...]) -> WhatIf:
    """``volume=+20%``, ``aht=+30s``, ``sl=90/20`` (any combination)."""
    volume, aht, sl = 1.0, 0.0, None
    for item in items:
        key, _, value = item.partition("=")
        key = key.strip().lower()
        if key == "volume" and (m := re.fullmatch(r"([+-]?\d+(?:\.\d+)?)%", value.strip())):
            volume = 1 + float(m.group(1)) / 100
        elif key == "aht" and (m := re.fullmatch(r"([+-]?\d+(?:\.\d+)?)s?", value.strip())):
            aht = float(m.group(1))
        elif key == "sl" and (m := re.fullmatch(r"(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)", value.strip())):
            sl = (float(m.group(1)) / 100, float(m.group(2)))
        else:
            raise ValueError(f"what-if {item!r}: use volume=+20%, aht=+30s or sl=90/20")
    if volume <= 0 or not (sl is None or 0 < sl[0] < 1):
        raise ValueError("what-if values out of range")
    return WhatIf(volume, aht, sl)


def queue_targets(cfg: HotlineConfig, what_if: WhatIf = WhatIf()) -> dict[str, QueueTarget]:
    out = {}
    for q in cfg.queues:
        target, answer = what_if.service_level or (
            q.service_level.target,
            q.service_level.answer_time_s,
        )
        out[q.id] = QueueTarget(
            service_level=target,
            answer_time_s=answer,
            aht_s=q.aht_s + what_if.aht_delta_s,
            asa_s=None if what_if.service_level else q.asa_target_s,
            patience_s=q.patience_s,
        )
    return out


def apply_what_if(table: pd.DataFrame, what_if: WhatIf) -> pd.DataFrame:
    out = table.copy()
    for column in ("calls", "calls_p10", "calls_p90"):
        if column in out:
            out[column] = out[column] * what_if.volume_factor
    if what_if.aht_delta_s and "aht_s" in out:
        out["aht_s"] = out["aht_s"] + what_if.aht_delta_s
    return out


CALL_COLUMNS = ("calls", "calls_p10", "calls_p90")


def _open_mask(cfg: HotlineConfig, forecast_table: pd.DataFrame) -> np.ndarray:

    starts = pd.to_datetime(forecast_table["interval_start"], utc=True)  # offsets change at DST
    length = pd.Timedelta(seconds=interval_seconds(pd.DataFrame({"interval_start": starts})))
    return OpeningHours.from_config(cfg).open_during(starts, length)


def closed_calls(cfg: HotlineConfig, forecast_table: pd.DataFrame) -> float:
    """Forecast calls (the mean) in intervals when the line is closed: left out of requirements."""
    if forecast_table.empty:
        return 0.0
    calls = forecast_table["calls"].astype(float).clip(lower=0)
    return float(calls[~_open_mask(cfg, forecast_table)].sum())


def only_open_hours(cfg: HotlineConfig, forecast_table: pd.DataFrame) -> pd.DataFrame:
    """The forecast with no calls to answer while the line is closed (hours.yaml: opening hours,
    public holidays, closure days): a caller then hears the closed message and never queues, so
    no agent is planned for them. History from another line's hours (the demo's imported data)
    would otherwise staff the night and Sunday."""
    if forecast_table.empty:
        return forecast_table
    is_open = _open_mask(cfg, forecast_table)
    table = forecast_table.copy()
    for column in CALL_COLUMNS:
        if column in table:
            table[column] = table[column].where(is_open, 0.0)
    return table


def requirement_table(
    cfg: HotlineConfig,
    forecast_table: pd.DataFrame,
    what_if: WhatIf = WhatIf(),
    pool: bool = False,
    quantile: str | None = None,
    model: str = "erlang-c",
) -> pd.DataFrame:
    """Agents required per queue and interval, for the hours the line is open (``model``:
    erlang-c or erlang-a, :mod:`staffing.requirements`)."""
    return requirements(
        only_open_hours(cfg, apply_what_if(forecast_table, what_if)),
        queue_targets(cfg, what_if),
        shrinkage=cfg.staffing.shrinkage,
        max_occupancy=cfg.staffing.max_occupancy,
        pool=pool,
        quantile=quantile,
        model=model,
    )


def team_rows(requirements_table: pd.DataFrame) -> pd.DataFrame:
    """The rows the shift plan covers: the pooled or total requirement (or the sum of queues)."""
    for name in ("pooled", "total"):
        part = requirements_table[requirements_table["queue"] == name]
        if len(part):
            return part
    return requirements_table.groupby("interval_start", as_index=False)["agents_scheduled"].sum()


def plan_week(
    cfg: HotlineConfig,
    requirements_table: pd.DataFrame,
    time_limit_s: float = 20.0,
    progress: Callable[[str], None] | None = None,
    allow_uncovered: bool = False,
    team: bool = True,
) -> tuple[WeekProblem, ShiftPlan]:
    """The week's shift plan; with ``team`` (and agents in agents.csv) one the agents can work
    (:func:`team_limits`), else one for the requirement alone (what to hire for)."""
    week = week_problem(
        team_rows(requirements_table),
        templates(cfg),
        cfg.tz,
        weights(cfg),
        cyclic=cfg.staffing.cyclic_week,
    )
    if team:
        week.problem.team = team_limits(cfg, week.days[0])
    missing = uncoverable(week)
    if missing and not allow_uncovered:
        raise UncoverableError(missing)
    return week, solve(week.problem, SolverSettings(time_limit_s=time_limit_s, progress=progress))


@dataclass
class WeekSummary:
    week_start: dt.date
    agent_hours: float
    paid_hours: float
    fte: float
    cost: float
    shortage_hours: float
    excess_hours: float
    peak: str
    peak_agents: int
    capacity_hours: float
    gap: float
    rows: pd.DataFrame
    shifts: int = 0  # shifts planned
    team: TeamLimits | None = None  # what agents.csv's team can work that week
    # a plan for the requirement alone that asks more than the team can work: the shortage
    # (agent-hours) of the plan within the team's limits (None: not asked, or within them)
    team_shortage_hours: float | None = None

    def beyond_team(self) -> bool:
        """Whether the plan asks more than the team can work."""
        return self.team is not None and bool(beyond(self.team, self.rows, self.week_start))

    @property
    def extra_hours(self) -> float:
        return self.paid_hours - self.capacity_hours


def summarise(cfg: HotlineConfig, week: WeekProblem, plan: ShiftPlan) -> WeekSummary:
    rows = plan_rows(week, plan)
    paid = float((rows["agents"] * rows["paid_hours"]).sum()) if len(rows) else 0.0
    peak_slot = int(np.argmax(week.problem.requirement))

    # the most the contracts allow this week (less in a week with a holiday)
    capacity = sum(contract_minutes(cfg, a, week.days[0])[1] for a in cfg.agents) / 60
    return WeekSummary(
        week_start=week.days[0],
        agent_hours=plan.agent_hours(week.problem.requirement),
        paid_hours=paid,
        fte=paid / cfg.staffing.fte_hours_week,
        cost=float(rows["cost"].sum()) if len(rows) else 0.0,
        shortage_hours=plan.agent_hours(plan.shortage),
        excess_hours=plan.agent_hours(plan.excess),
        peak=slot_time(week, peak_slot).strftime("%a %H:%M"),
        peak_agents=int(week.problem.requirement[peak_slot]),
        capacity_hours=capacity,
        gap=plan.gap,
        rows=rows,
        shifts=int(rows["agents"].sum()) if len(rows) else 0,
        # the limits the plan was made within, else (a plan for the requirement alone) the team's
        team=week.problem.team or team_limits(cfg, week.days[0]),
    )


def plan_horizon(
    cfg: HotlineConfig,
    history: History,
    calendar: Calendar,
    start: dt.date,
    weeks: int,
    what_if: WhatIf = WhatIf(),
    time_limit_s: float = 10.0,
    progress: Callable[[str], None] | None = None,
    team: bool = False,
    check_team: bool = False,
) -> list[WeekSummary]:
    """Forecast from the history, then requirements and shifts for each of ``weeks`` weeks (each
    from the line's midnight on ``start``'s weekday, so a week with a DST change has 167 or 169
    hours). Without ``team`` the plans are for the requirement alone (what the line needs, to
    compare with the headcount); with it, what agents.csv's team can work (a plan to roster).
    ``check_team``: a week whose plan for the requirement alone asks more than the team can work
    is planned again within the team's limits, for the shortage the team would leave
    (``team_shortage_hours``, which :func:`hires` counts)."""
    begin = local_midnight(cfg, start)
    if begin < history.end:
        raise ValueError(
            f"--from {start} is inside the history (it ends {history.end:%Y-%m-%d %H:%M}); plan from a later date"
        )
    end = local_midnight(cfg, start + dt.timedelta(days=7 * weeks))
    table = line_forecast(cfg, history, end - history.end, calendar)
    table["interval_start"] = pd.to_datetime(table["interval_start"], utc=True)
    out = []
    for number in range(weeks):
        part = week_of(cfg, table, start + dt.timedelta(days=7 * number))
        reqs = requirement_table(cfg, part, what_if)
        week, plan = plan_week(cfg, reqs, time_limit_s, allow_uncovered=True, team=team)
        summary = summarise(cfg, week, plan)
        if check_team and not team and summary.beyond_team():
            _week, within = plan_week(cfg, reqs, time_limit_s, allow_uncovered=True, team=True)
            summary.team_shortage_hours = within.agent_hours(within.shortage)
        out.append(summary)
        if progress:
            progress(
                f"week {number + 1}/{weeks} from {week.days[0]} planned ({plan.status.lower()}, gap {plan.gap:.1%})"
            )
    return out


def week_of(cfg: HotlineConfig, table: pd.DataFrame, week_start: dt.date) -> pd.DataFrame:
    """The rows of a forecast or requirements table (``interval_start``) in the week from the
    line's midnight on ``week_start`` to its midnight seven days later."""
    starts = pd.to_datetime(table["interval_start"], utc=True)
    week_end = week_start + dt.timedelta(days=7)
    return table[
        (starts >= local_midnight(cfg, week_start)) & (starts < local_midnight(cfg, week_end))
    ]


def line_forecast(
    cfg: HotlineConfig,
    history: History,
    horizon: pd.Timedelta,
    calendar: Calendar | None = None,
) -> pd.DataFrame:
    """The forecast from the history's end over ``horizon``: the line's holidays (unless another
    ``calendar`` is given), each queue's configured AHT where the history has none."""
    return forecast(
        history,
        horizon,
        calendar=calendar if calendar is not None else line_calendar(cfg),
        default_aht_s={q.id: q.aht_s for q in cfg.queues},
    )


def line_calendar(cfg: HotlineConfig) -> Calendar:
    hol = cfg.hours.holidays
    return Calendar(hol.country, hol.subdivision, {d: "closure" for d in hol.closures})


def log_history_table(
    cfg: HotlineConfig, freq: str = "30min", until: dt.date | None = None
) -> pd.DataFrame | None:
    """The stored call log as `hotline history` writes it: whole local days, up to today (or up
    to the start of ``until``)."""

    with session_scope() as session:
        first = first_entry(session)
        if first is None:
            return None
        end = local_midnight(cfg, until) if until else stats.local_day(cfg, clock.now()).since
        window = stats.Window(stats.local_day(cfg, first).since, end)
        return stats.history_table(session, cfg, window, pd.Timedelta(freq))


def history_from_table(cfg: HotlineConfig, table: pd.DataFrame, freq: str = "30min") -> History:
    """Forecasting history (offered calls and AHT per queue) from a history table."""
    table = table.set_index("interval_start")
    queues = cfg.queue_ids()
    aht = table[[f"{q}_aht_s" for q in queues]].set_axis(queues, axis=1).astype(float)
    return History(table[queues].astype(float), aht, pd.Timedelta(freq), cfg.tz)


def history_from_log(cfg: HotlineConfig, freq: str = "30min") -> History | None:
    """The stored call log as forecasting history."""
    table = log_history_table(cfg, freq)
    return None if table is None else history_from_table(cfg, table, freq)


def hires(summary: WeekSummary, cfg: HotlineConfig) -> int:
    """Full-time agents to add for the week: for the paid hours beyond the contracts', or for the
    agent-hours the team would leave short that the plan for the requirement alone covers (when
    that plan asks more than the team can work: ``team_shortage_hours``), whichever needs more."""
    fte = cfg.staffing.fte_hours_week
    by_hours = math.ceil(summary.extra_hours / fte)
    by_team = 0
    if summary.team_shortage_hours is not None:
        by_team = math.ceil((summary.team_shortage_hours - summary.shortage_hours) / fte - 1e-9)
    return max(by_hours, by_team, 0)
