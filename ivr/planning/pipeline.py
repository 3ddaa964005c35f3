"""The planner's pipeline: stored history -> forecast -> requirements -> shift plan, week by week,
with what-if variations. Config in, plain staffing/forecasts calls out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Callable, Collection
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
    coverable,
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


class BadWhatIf(ValueError):
    """A what-if value out of range, or an AHT change that leaves no handling time; ``field``
    names the value: ``volume``, ``aht``, ``sl_target``, ``sl_answer``, ``shrinkage``."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _pct(factor: float) -> str:
    return f"{(factor - 1) * 100:+g}"


@dataclass(frozen=True)
class WhatIf:
    """A change to what a plan is made from; each default leaves the line's own value.

    ``volume_factor``: the forecast's calls (and band) times this (1.2: a fifth more);
    ``aht_factor``, ``aht_delta_s``: each AHT used (the forecast's per interval, else the
    queue's) times the factor, plus the seconds (:meth:`aht`); ``sl_target`` (a share) and
    ``sl_answer_s``: every queue's service-level target and answer time (None: each queue's own;
    with either, a queue's ASA target gives way to the service level); ``shrinkage``: the share
    of paid time off the phones (None: staffing.yaml's)."""

    volume_factor: float = 1.0
    aht_delta_s: float = 0.0
    aht_factor: float = 1.0
    sl_target: float | None = None
    sl_answer_s: float | None = None
    shrinkage: float | None = None

    def aht(self, aht_s):
        """An AHT (seconds; a number or an array) with the change."""
        return aht_s * self.aht_factor + self.aht_delta_s

    @property
    def changes_aht(self) -> bool:
        return self.aht_factor != 1.0 or self.aht_delta_s != 0.0

    @property
    def changes_service_level(self) -> bool:
        return self.sl_target is not None or self.sl_answer_s is not None

    def aht_change(self) -> str:
        """The AHT change in words: ``+10 %``, ``-30 s``, ``+10 % and -30 s``."""
        parts = [f"{_pct(self.aht_factor)} %"] if self.aht_factor != 1.0 else []
        if self.aht_delta_s:
            parts.append(f"{self.aht_delta_s:+g} s")
        return " and ".join(parts)

    def describe(self) -> str:
        parts = []
        if self.volume_factor != 1.0:
            parts.append(f"volume {_pct(self.volume_factor)} %")
        if self.changes_aht:
            parts.append(f"AHT {self.aht_change()}")
        if self.changes_service_level:
            target = f"{self.sl_target * 100:g} %" if self.sl_target is not None else "target"
            answer = (
                f"{self.sl_answer_s:g} s" if self.sl_answer_s is not None else "each queue's time"
            )
            parts.append(f"SL {target} in {answer}")
        if self.shrinkage is not None:
            parts.append(f"shrinkage {self.shrinkage * 100:g} %")
        return ", ".join(parts) or "as forecast"

    def as_params(self) -> dict[str, float | None]:
        """As JSON's values (a task's parameters, a scenario's)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_params(cls, params: dict) -> WhatIf:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in names})

    def check(self) -> None:
        """Raise :class:`BadWhatIf` naming the first value out of range (an AHT change in
        seconds is checked against the AHTs used, :func:`check_aht`)."""
        if self.volume_factor < 0:
            raise BadWhatIf(
                "volume",
                f"Volume change: {_pct(self.volume_factor)} % would leave fewer than no calls;"
                " give -100 % or more.",
            )
        if self.aht_factor <= 0:
            raise BadWhatIf(
                "aht",
                f"AHT change: {_pct(self.aht_factor)} % leaves no handling time; an AHT must stay"
                " above 0, so give more than -100 %.",
            )
        if self.sl_target is not None and not 0 < self.sl_target < 1:
            raise BadWhatIf(
                "sl_target",
                f"Service-level target: {self.sl_target * 100:g} % is outside 0–100 %; give a"
                " share above 0 and below 100.",
            )
        if self.sl_answer_s is not None and self.sl_answer_s <= 0:
            raise BadWhatIf(
                "sl_answer",
                f"Service-level answer time: {self.sl_answer_s:g} s; give more than 0 seconds.",
            )
        if self.shrinkage is not None and not 0 <= self.shrinkage < 1:
            raise BadWhatIf(
                "shrinkage",
                f"Shrinkage: {self.shrinkage * 100:g} % is outside 0–100 %; give 0 or more and"
                " less than 100.",
            )


WHAT_IF_KEYS = "volume=+20%, aht=+30s, aht=-10%, sl=90/20 or shrinkage=35%"
_NUMBER = r"([+-]?\d+(?:\.\d+)?)"


def parse_what_if(items: tuple[str, ...]) -> WhatIf:
    """``--what-if`` values, any combination: ``volume=+20%`` (calls), ``aht=+30s`` or
    ``aht=-10%`` (each AHT), ``sl=90/20`` (every queue's target: 90 % within 20 s),
    ``shrinkage=35%``. A :class:`BadWhatIf` names a value out of range."""
    values: dict[str, float | None] = {}
    for item in items:
        key, _, text = item.partition("=")
        key, text = key.strip().lower(), text.strip()
        if key == "volume" and (m := re.fullmatch(_NUMBER + "%", text)):
            values["volume_factor"] = 1 + float(m.group(1)) / 100
        elif key == "aht" and (m := re.fullmatch(_NUMBER + "s?", text)):
            values.update(aht_delta_s=float(m.group(1)), aht_factor=1.0)
        elif key == "aht" and (m := re.fullmatch(_NUMBER + "%", text)):
            values.update(aht_factor=1 + float(m.group(1)) / 100, aht_delta_s=0.0)
        elif key == "sl" and (m := re.fullmatch(_NUMBER + "/" + _NUMBER, text)):
            values.update(sl_target=float(m.group(1)) / 100, sl_answer_s=float(m.group(2)))
        elif key == "shrinkage" and (m := re.fullmatch(_NUMBER + "%", text)):
            values["shrinkage"] = float(m.group(1)) / 100
        else:
            raise ValueError(f"what-if {item!r}: use {WHAT_IF_KEYS}")
    what_if = WhatIf(**values)
    what_if.check()
    return what_if


def shrinkage(cfg: HotlineConfig, what_if: WhatIf = WhatIf()) -> float:
    """The share of paid time off the phones: the what-if's, else staffing.yaml's."""
    return cfg.staffing.shrinkage if what_if.shrinkage is None else what_if.shrinkage


def queue_targets(cfg: HotlineConfig, what_if: WhatIf = WhatIf()) -> dict[str, QueueTarget]:
    out = {}
    for q in cfg.queues:
        out[q.id] = QueueTarget(
            service_level=q.service_level.target
            if what_if.sl_target is None
            else what_if.sl_target,
            answer_time_s=q.service_level.answer_time_s
            if what_if.sl_answer_s is None
            else what_if.sl_answer_s,
            aht_s=what_if.aht(q.aht_s),
            asa_s=None if what_if.changes_service_level else q.asa_target_s,
            patience_s=q.patience_s,
        )
    return out


def apply_what_if(table: pd.DataFrame, what_if: WhatIf) -> pd.DataFrame:
    """The forecast with the what-if's calls and AHT. An interval without an AHT of its own (none,
    or not above 0) keeps none: requirements then use the queue's, changed alike
    (:func:`queue_targets`)."""
    out = table.copy()
    for column in CALL_COLUMNS:
        if column in out:
            out[column] = out[column] * what_if.volume_factor
    if what_if.changes_aht and "aht_s" in out:
        aht = out["aht_s"].astype(float)
        out["aht_s"] = aht.mask(aht > 0, what_if.aht(aht))
    return out


def check_aht(cfg: HotlineConfig, forecast_table: pd.DataFrame, what_if: WhatIf) -> None:
    """Raise :class:`BadWhatIf` (``aht``) when the what-if takes an AHT used to 0 or below: the
    forecast's of an interval with calls while the line is open, or the queue's where the
    forecast has none; the message names the smallest."""
    if not what_if.changes_aht or forecast_table.empty:
        return
    configured = {q.id: q.aht_s for q in cfg.queues}
    table = only_open_hours(cfg, forecast_table)
    table = table[table["queue"].isin(configured)].reset_index(drop=True)
    calls = table[[c for c in CALL_COLUMNS if c in table]].astype(float).clip(lower=0)
    table = table[calls.sum(axis=1) > 0]
    if table.empty:
        return
    own = table["aht_s"].astype(float) if "aht_s" in table else pd.Series(np.nan, table.index)
    used = own.where(own > 0, table["queue"].map(configured))
    smallest = used.idxmin()
    aht = float(used[smallest])
    if what_if.aht(aht) > 0:
        return
    queue = table.at[smallest, "queue"]
    if own[smallest] > 0:
        at = pd.to_datetime(table.at[smallest, "interval_start"], utc=True).tz_convert(cfg.tz)
        which = f"the {queue} queue's forecast AHT of {aht:g} s ({at:%a %d %b %H:%M})"
    else:
        which = f"the {queue} queue's AHT of {aht:g} s"
    raise BadWhatIf(
        "aht",
        f"AHT change: {what_if.aht_change()} takes {which} to {what_if.aht(aht):g} s; an AHT"
        " must stay above 0 s.",
    )


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
    erlang-c or erlang-a, :mod:`staffing.requirements`), with the what-if's changes (a
    :class:`BadWhatIf` when one is out of range for this forecast)."""
    what_if.check()
    check_aht(cfg, forecast_table, what_if)
    return requirements(
        only_open_hours(cfg, apply_what_if(forecast_table, what_if)),
        queue_targets(cfg, what_if),
        shrinkage=shrinkage(cfg, what_if),
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


def shift_problem(
    cfg: HotlineConfig, requirements_table: pd.DataFrame, team: bool = True
) -> WeekProblem:
    """The week's shift problem for a requirements table; with ``team`` (and agents in
    agents.csv), within what the team can work (:func:`team_limits`)."""
    week = week_problem(
        team_rows(requirements_table),
        templates(cfg),
        cfg.tz,
        weights(cfg),
        cyclic=cfg.staffing.cyclic_week,
    )
    if team:
        week.problem.team = team_limits(cfg, week.days[0])
    return week


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
    week = shift_problem(cfg, requirements_table, team)
    missing = uncoverable(week)
    if missing and not allow_uncovered:
        raise UncoverableError(missing)
    return week, solve(week.problem, SolverSettings(time_limit_s=time_limit_s, progress=progress))


def shifts_per_day(rows: pd.DataFrame, week_start: dt.date) -> list[int]:
    """A week's shift plan (rows: ``date``, ``agents``): its shifts on each day (0-6 from
    ``week_start``)."""
    planned = [0] * 7
    for day, agents in zip(pd.to_datetime(rows["date"]).dt.date, rows["agents"], strict=True):
        if 0 <= (day - week_start).days < 7:
            planned[(day - week_start).days] += int(agents)
    return planned


def limits_reached(
    team: TeamLimits,
    rows: pd.DataFrame,
    week_start: dt.date,
    short_days: Collection[int] = (),
) -> list[str]:
    """The team's limits a week's shift plan (rows: ``date``, ``agents``, ``paid_hours``)
    reaches, in words: the shifts they can work in the week, their contracts' paid hours (to
    within half an hour), and on a day the plan leaves short (``short_days``, 0-6 from
    ``week_start``), the agents available."""
    shifts = int(rows["agents"].sum()) if len(rows) else 0
    paid = float((rows["agents"] * rows["paid_hours"]).sum()) if len(rows) else 0.0
    planned = shifts_per_day(rows, week_start)
    out = []
    if shifts >= team.shifts:
        out.append(f"shifts in the week ({team.shifts})")
    if paid >= team.paid_hours - 0.5:
        out.append(f"contract hours ({team.paid_hours:.0f})")
    for d in sorted(short_days):
        if planned[d] >= team.per_day[d]:
            day = week_start + dt.timedelta(days=d)
            out.append(f"agents available on {day:%a %d} ({team.per_day[d]})")
    return out


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
    # the forecast the plan was made from: every interval from the history's end to the horizon's
    forecast: pd.DataFrame | None = None
    within_team: bool = False  # planned within the team's limits
    short_days: frozenset[int] = frozenset()  # the days (0-6) with a shortage
    uncoverable_hours: float = 0.0  # agent-hours required when no shift can be on duty
    coverage: np.ndarray | None = None  # agents on duty per slot of the week

    def beyond_team(self) -> bool:
        """Whether the plan asks more than the team can work."""
        return self.team is not None and bool(beyond(self.team, self.rows, self.week_start))

    def limits_reached(self) -> list[str]:
        """The team's limits the plan reaches, in words (:func:`limits_reached`)."""
        if self.team is None:
            return []
        return limits_reached(self.team, self.rows, self.week_start, self.short_days)

    def team_binds(self) -> bool:
        """Whether a limit of the team binds: the plan, made within them, leaves agent-hours
        short and reaches one."""
        return self.within_team and self.shortage_hours > 0 and bool(self.limits_reached())

    def short_for_team(self) -> float:
        """The agent-hours short for want of agents: what the team, within its limits, would
        leave short beyond a plan for the requirement alone. Known when such a plan was made
        and planned again within the limits (``team_shortage_hours``); for a plan made within
        them whose limits bind, its shortage beyond the agent-hours no shift can cover (what a
        plan for the requirement alone leaves short at least, found without solving twice)."""
        if self.team_shortage_hours is not None:
            return self.team_shortage_hours - self.shortage_hours
        if self.team_binds():
            return self.shortage_hours - self.uncoverable_hours
        return 0.0

    @property
    def extra_hours(self) -> float:
        return self.paid_hours - self.capacity_hours


def summarise(cfg: HotlineConfig, week: WeekProblem, plan: ShiftPlan) -> WeekSummary:
    return summarise_cover(cfg, week, plan_rows(week, plan), plan.coverage, plan.gap)


def summarise_cover(
    cfg: HotlineConfig,
    week: WeekProblem,
    rows: pd.DataFrame,
    coverage: np.ndarray,
    gap: float = 0.0,
) -> WeekSummary:
    """A week's plan (shift ``rows`` as :func:`~staffing.shift_plan.plan_rows` writes them, and
    the agents they put on duty per slot) against the requirement of its shift problem."""
    problem = week.problem
    requirement = problem.requirement
    hours = problem.slot_min / 60
    short = np.maximum(requirement - coverage, 0)
    paid = float((rows["agents"] * rows["paid_hours"]).sum()) if len(rows) else 0.0
    peak_slot = int(np.argmax(requirement))

    # the most the contracts allow this week (less in a week with a holiday)
    capacity = sum(contract_minutes(cfg, a, week.days[0])[1] for a in cfg.agents) / 60
    return WeekSummary(
        week_start=week.days[0],
        agent_hours=float(requirement.sum() * hours),
        paid_hours=paid,
        fte=paid / cfg.staffing.fte_hours_week,
        cost=float(rows["cost"].sum()) if len(rows) else 0.0,
        shortage_hours=float(short.sum() * hours),
        excess_hours=float(np.maximum(coverage - requirement, 0).sum() * hours),
        peak=slot_time(week, peak_slot).strftime("%a %H:%M"),
        peak_agents=int(requirement[peak_slot]),
        capacity_hours=capacity,
        gap=gap,
        rows=rows,
        shifts=int(rows["agents"].sum()) if len(rows) else 0,
        # the limits the plan was made within, else (a plan for the requirement alone) the team's
        team=problem.team or team_limits(cfg, week.days[0]),
        within_team=problem.team is not None,
        short_days=frozenset(int(s) // problem.slots_per_day for s in np.flatnonzero(short)),
        uncoverable_hours=float(requirement[~coverable(week)].sum() * hours),
        coverage=coverage,
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
    made = line_forecast(cfg, history, end - history.end, calendar)
    table = made.copy()
    table["interval_start"] = pd.to_datetime(table["interval_start"], utc=True)
    out = []
    for number in range(weeks):
        part = week_of(cfg, table, start + dt.timedelta(days=7 * number))
        reqs = requirement_table(cfg, part, what_if)
        week, plan = plan_week(cfg, reqs, time_limit_s, allow_uncovered=True, team=team)
        summary = summarise(cfg, week, plan)
        summary.forecast = made
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


def week_grid(cfg: HotlineConfig, week_start: dt.date, step: pd.Timedelta) -> pd.DatetimeIndex:
    """The UTC starts of the week's intervals of ``step``, from the line's midnight on
    ``week_start`` to its midnight seven days later."""
    return pd.date_range(
        local_midnight(cfg, week_start),
        local_midnight(cfg, week_start + dt.timedelta(days=7)),
        freq=step,
        inclusive="left",
    ).tz_convert("UTC")


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
    """Full-time agents to add for the week: for the paid hours beyond the contracts', or for
    the agent-hours short for want of agents (:meth:`WeekSummary.short_for_team`), whichever
    needs more."""
    fte = cfg.staffing.fte_hours_week
    by_hours = math.ceil(summary.extra_hours / fte - 1e-9)
    by_team = math.ceil(summary.short_for_team() / fte - 1e-9)
    return max(by_hours, by_team, 0)
