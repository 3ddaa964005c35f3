"""A week's shift plan for the line: requirement rows in, shifts per day out.

Turns the ``total`` (or ``pooled``) requirement of a week into a :class:`~staffing.shifts.ShiftProblem`
on local wall-clock slots (on DST days the repeated hour takes the larger requirement and the
skipped hour needs nobody), with shift types expanded from templates, and turns the solver's
answer back into rows a supervisor reads:
``date, weekday, template, shift_start, shift_end, break_start, break_min, agents, paid_hours, cost``
(and such rows back into the cover per slot, :func:`coverage_from_rows`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .shifts import WEEKDAY_NAMES, ShiftPlan, ShiftProblem, ShiftType, TeamLimits

MAX_BREAK_VARIANTS = 4


@dataclass(frozen=True)
class Template:
    """A shift template in minutes (from the line's configuration)."""

    name: str
    start_earliest_min: int
    start_latest_min: int
    start_step_min: int
    length_min_min: int
    length_max_min: int
    length_step_min: int
    weekdays: frozenset[int] = frozenset(range(7))
    break_min: int = 0
    break_after_min: int = 0
    break_before_end_min: int = 0
    hourly_cost: float = 0.0


@dataclass(frozen=True)
class Weights:
    """Objective weights, per agent-hour (shortage, excess), per distinct shift, per unit of cost."""

    shortage: float = 100.0
    excess: float = 5.0
    distinct_shift: float = 50.0
    cost: float = 1.0


@dataclass
class WeekProblem:
    problem: ShiftProblem
    days: list[dt.date]
    tz: ZoneInfo


class UncoverableError(ValueError):
    """Some intervals need agents but no template can ever be on duty then."""

    def __init__(self, intervals: list[tuple[str, str, int]]):
        self.intervals = intervals
        lines = [f"  {start} - {end}: needs {need} agent(s)" for start, end, need in intervals[:20]]
        more = f"\n  ... and {len(intervals) - 20} more" if len(intervals) > 20 else ""
        super().__init__(
            "no shift template covers these intervals (add or widen a template, e.g. a night shift):\n"
            + "\n".join(lines)
            + more
        )


def expand(template: Template, slot_min: int, plan_days: list[dt.date]) -> list[ShiftType]:
    """Every start, length and break placement a template allows, in whole slots."""
    days = tuple(i for i, day in enumerate(plan_days) if day.weekday() in template.weekdays)
    out = []
    for start in range(
        template.start_earliest_min,
        template.start_latest_min + 1,
        max(template.start_step_min, slot_min),
    ):
        for length in range(
            template.length_min_min,
            template.length_max_min + 1,
            max(template.length_step_min, slot_min),
        ):
            if start % slot_min or length % slot_min:
                continue
            offsets: list[int | None] = [None]
            if template.break_min:
                first = template.break_after_min
                last = length - template.break_before_end_min - template.break_min
                choices = list(range(first - first % slot_min, last + 1, slot_min)) or [
                    max(first, 0)
                ]
                picks = np.unique(
                    np.linspace(0, len(choices) - 1, min(MAX_BREAK_VARIANTS, len(choices)))
                    .round()
                    .astype(int)
                )
                offsets = [choices[i] for i in picks]
            for offset in offsets:
                out.append(
                    ShiftType(
                        template.name,
                        start % 1440,
                        length,
                        days,
                        template.break_min if offset is not None else 0,
                        offset,
                        template.hourly_cost,
                    )
                )
    return out


def week_problem(
    rows: pd.DataFrame,
    templates: list[Template],
    tz: ZoneInfo,
    weights: Weights,
    cyclic: bool = True,
    team: TeamLimits | None = None,
) -> WeekProblem:
    """The first 7 local days of ``rows`` (interval_start, agents_scheduled) as a shift problem;
    with ``team``, one its people can work."""
    starts = pd.DatetimeIndex(pd.to_datetime(rows["interval_start"], utc=True)).tz_convert(tz)
    step = pd.Series(starts).diff().mode().iloc[0]
    slot_min = int(step.total_seconds() // 60)
    if 1440 % slot_min:
        raise ValueError(f"interval of {slot_min} minutes does not divide a day")
    first = starts.min().date()
    days = [first + dt.timedelta(days=i) for i in range(7)]
    per_day = 1440 // slot_min
    slots = wall_slots(starts, first, tz, slot_min)
    keep = (slots >= 0) & (slots < 7 * per_day)
    requirement = np.zeros(7 * per_day, dtype=np.int64)
    np.maximum.at(requirement, slots[keep], rows["agents_scheduled"].to_numpy(dtype=np.int64)[keep])
    types = [shift for template in templates for shift in expand(template, slot_min, days)]
    peak = max(int(requirement.max()), 1)
    hours = slot_min / 60
    problem = ShiftProblem(
        slot_min=slot_min,
        requirement=requirement,
        shift_types=types,
        days=7,
        cyclic=cyclic,
        under_weight=weights.shortage
        * hours
        * (1 + requirement / peak),  # shortage hurts more at peaks
        over_weight=weights.excess * hours,
        shift_weight=weights.distinct_shift,
        cost_weight=weights.cost,
        team=team,
    )
    return WeekProblem(problem, days, tz)


def wall_slots(starts, first_day: dt.date, tz: ZoneInfo, slot_min: int) -> np.ndarray:
    """Each interval start's slot of the week from ``first_day`` on the local wall clock, as
    the shift problem counts them (day x slots a day + slot of the day; before the week below
    0, after it from 7 days' slots on). On the day clocks go back, the repeated hour's two
    intervals share a slot."""
    wall = pd.DatetimeIndex(pd.to_datetime(starts, utc=True)).tz_convert(tz).tz_localize(None)
    days = (wall.normalize() - pd.Timestamp(first_day)).days.to_numpy()
    minutes = (wall - wall.normalize()).total_seconds().to_numpy() // 60
    return (days * (1440 // slot_min) + minutes // slot_min).astype(int)


def coverable(week: WeekProblem) -> np.ndarray:
    """Per slot: whether some shift type can be on duty then."""
    problem = week.problem
    out = np.zeros(problem.requirement.size, dtype=bool)
    for shift in problem.shift_types:
        for day in shift.days:
            out[problem.coverage_slots(shift, day)] = True
    return out


def uncoverable(week: WeekProblem) -> list[tuple[str, str, int]]:
    """Intervals that need agents but no shift type ever covers."""
    problem = week.problem
    missing = np.flatnonzero((problem.requirement > 0) & ~coverable(week))
    out = []
    if missing.size == 0:
        return out
    runs = np.split(missing, np.flatnonzero(np.diff(missing) != 1) + 1)
    for run in runs:
        out.append(
            (
                slot_time(week, run[0]).strftime("%a %Y-%m-%d %H:%M"),
                slot_time(week, run[-1] + 1).strftime("%H:%M"),
                int(problem.requirement[run].max()),
            )
        )
    return out


def slot_time(week: WeekProblem, slot: int) -> dt.datetime:
    return wall_time(week.days[0], week.problem.slot_min, slot, week.tz)


def wall_time(first_day: dt.date, slot_min: int, slot: int, tz: ZoneInfo) -> dt.datetime:
    """The local wall-clock start of a slot of the week from ``first_day``."""
    day, index = divmod(int(slot), 1440 // slot_min)
    base = first_day + dt.timedelta(days=day)
    return dt.datetime.combine(base, dt.time(0), tzinfo=tz) + dt.timedelta(minutes=index * slot_min)


def plan_rows(week: WeekProblem, plan: ShiftPlan) -> pd.DataFrame:
    rows = []
    for row in plan.starts.sort_values(["day", "start_min", "length_min"]).itertuples():
        day = week.days[int(row.day)]
        start = dt.datetime.combine(day, dt.time(0), tzinfo=week.tz) + dt.timedelta(
            minutes=int(row.start_min)
        )
        start = start.astimezone(week.tz)  # a wall time that does not exist lands after the DST gap
        end = (start + dt.timedelta(minutes=int(row.length_min))).astimezone(week.tz)
        brk = (
            ""
            if pd.isna(row.break_offset_min) or not row.break_min
            else (start + dt.timedelta(minutes=int(row.break_offset_min)))
            .astimezone(week.tz)
            .isoformat()
        )
        rows.append(
            {
                "date": day.isoformat(),
                "weekday": WEEKDAY_NAMES[day.weekday()],
                "template": row.template,
                "shift_start": start.isoformat(),
                "shift_end": end.isoformat(),
                "break_start": brk,
                "break_min": int(row.break_min),
                "agents": int(row.agents),
                "paid_hours": round(float(row.paid_hours), 2),
                "cost": round(float(row.agents * row.paid_hours * row.hourly_cost), 2),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "date",
            "weekday",
            "template",
            "shift_start",
            "shift_end",
            "break_start",
            "break_min",
            "agents",
            "paid_hours",
            "cost",
        ],
    )


def coverage_from_rows(
    rows: pd.DataFrame, first_day: dt.date, tz: ZoneInfo, slot_min: int, cyclic: bool = True
) -> np.ndarray:
    """Agents on duty per slot of the week from shift rows as :func:`plan_rows` writes them
    (``date, shift_start, shift_end, break_start, break_min, agents``): its inverse, the breaks
    off, a shift past midnight into the next day (with ``cyclic``, Sunday night into Monday).
    Lengths and break offsets are read on the wall clock, as the solver counts slots, so a
    shift over a DST change covers the slots it was planned for."""
    per_day = 1440 // slot_min
    total = 7 * per_day
    cover = np.zeros(total, dtype=np.int64)

    def wall(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text).astimezone(tz).replace(tzinfo=None)

    for row in rows.itertuples():
        start, end = wall(str(row.shift_start)), wall(str(row.shift_end))
        day = (dt.date.fromisoformat(str(row.date)) - first_day).days
        first = day * per_day + (start.hour * 60 + start.minute) // slot_min
        offsets = np.arange(int((end - start).total_seconds() // 60) // slot_min)
        brk = getattr(row, "break_start", None)
        if isinstance(brk, str) and brk and int(getattr(row, "break_min", 0) or 0):
            begin = int((wall(brk) - start).total_seconds() // 60) // slot_min
            length = int(row.break_min) // slot_min
            offsets = offsets[(offsets < begin) | (offsets >= begin + length)]
        slots = first + offsets
        slots = slots % total if cyclic else slots[(slots >= 0) & (slots < total)]
        np.add.at(cover, slots, int(row.agents))
    return cover


def worst_intervals(
    week: WeekProblem, plan: ShiftPlan, count: int = 5
) -> list[tuple[str, int, int]]:
    """The intervals with the largest shortage: (time, required, scheduled)."""
    short = plan.shortage
    order = np.argsort(-short, kind="stable")[:count]
    return [
        (
            slot_time(week, s).strftime("%a %Y-%m-%d %H:%M"),
            int(plan.problem.requirement[s]),
            int(plan.coverage[s]),
        )
        for s in order
        if short[s] > 0
    ]


def plot_plan(week: WeekProblem, plan: ShiftPlan, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [slot_time(week, s) for s in range(plan.problem.requirement.size)]
    fig, ax = plt.subplots(figsize=(14, 4))
    ax.step(
        times,
        plan.problem.requirement,
        where="post",
        color="#c0392b",
        linewidth=1.2,
        label="required (scheduled agents)",
    )
    ax.step(
        times, plan.coverage, where="post", color="#2f6fb3", linewidth=1.2, label="planned shifts"
    )
    ax.fill_between(
        times,
        plan.coverage,
        plan.problem.requirement,
        where=plan.coverage < plan.problem.requirement,
        step="post",
        color="#c0392b",
        alpha=0.25,
        label="shortage",
    )
    ax.set_ylabel("agents")
    team = plan.problem.team
    ax.set_title(
        f"Week from {week.days[0]:%a %d %b %Y}: requirement vs planned coverage"
        + (f"\nwithin what the team can work: {team.describe()}" if team else ""),
        loc="left",
        fontsize=10,
    )
    ax.legend(loc="upper right", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
