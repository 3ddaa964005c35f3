"""Shift design: how many agents start which shift on which day, to cover a weekly requirement.

A :class:`ShiftProblem` holds the requirement per slot (days x slots per day, agents scheduled),
the candidate shift types (start, length, unpaid break, days allowed, hourly cost) and the
objective's weights. :func:`solve` builds one CP-SAT model for it:

    minimise   sum_s w_short[s] * short[s] + w_over * sum_s over[s]
             + w_shift * (number of distinct shifts used) + w_cost * cost
    subject to coverage[s] + short[s] - over[s] = requirement[s]
               and, when the team is known, what it can work (:class:`TeamLimits`):
               shifts starting on day d <= people available on day d,
               shifts in the week <= shifts its people can work in a week,
               paid hours in the week <= their contracts' hours

Shifts that run past midnight spill into the next day; in a cyclic week Sunday night covers Monday
morning. A distinct shift is a (start, length) pair used on any day, whatever its break.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class ShiftType:
    """One concrete shift: start minute of day, paid+unpaid length, optional unpaid break."""

    template: str
    start_min: int
    length_min: int
    days: tuple[int, ...] = tuple(range(7))
    break_min: int = 0
    break_offset_min: int | None = None  # from the shift's start
    hourly_cost: float = 0.0

    @property
    def key(self) -> tuple[int, int]:
        return (self.start_min, self.length_min)

    @property
    def paid_hours(self) -> float:
        return (self.length_min - self.break_min) / 60.0

    def label(self) -> str:
        return f"{self.start_min // 60:02d}:{self.start_min % 60:02d}+{self.length_min}m"


@dataclass(frozen=True)
class TeamLimits:
    """What the people who will work the plan can work in its days: a plan beyond these leaves
    shifts that no roster can fill (each person works at most one shift a day)."""

    per_day: tuple[int, ...]  # people available on each day of the plan
    shifts: int  # shifts they can work in all (each person's working days, summed)
    paid_hours: float  # their contracts' maximum paid hours, summed
    people: int = 0

    def describe(self) -> str:
        return (
            f"{self.people} agents can work at most {self.shifts} shifts and"
            f" {self.paid_hours:.0f} paid hours, per day {'/'.join(map(str, self.per_day))}"
        )


@dataclass
class ShiftProblem:
    slot_min: int
    requirement: np.ndarray  # shape (days * slots_per_day,), agents scheduled per slot
    shift_types: list[ShiftType]
    days: int = 7
    cyclic: bool = True
    under_weight: np.ndarray | float = 1.0  # per agent-slot short (array: per slot)
    over_weight: float = 1.0  # per agent-slot over
    shift_weight: float = 0.0  # per distinct shift used
    cost_weight: float = 0.0  # per unit of cost (hourly_cost x paid hours)
    team: TeamLimits | None = None  # what the team can work (None: plan for the requirement alone)

    @property
    def slots_per_day(self) -> int:
        return 1440 // self.slot_min

    def coverage_slots(self, shift: ShiftType, day: int) -> np.ndarray:
        """Slots a shift starting on ``day`` covers (its break excluded)."""
        per_day = self.slots_per_day
        first = day * per_day + shift.start_min // self.slot_min
        count = shift.length_min // self.slot_min
        offsets = np.arange(count)
        if shift.break_min and shift.break_offset_min is not None:
            b0 = shift.break_offset_min // self.slot_min
            offsets = offsets[(offsets < b0) | (offsets >= b0 + shift.break_min // self.slot_min)]
        slots = first + offsets
        total = self.days * per_day
        if self.cyclic:
            return slots % total
        return slots[slots < total]


@dataclass
class ShiftPlan:
    """The solver's answer: agents starting each shift type on each day, and what they cover."""

    problem: ShiftProblem
    starts: pd.DataFrame  # columns: template, start_min, length_min, break_offset_min, day, agents
    coverage: np.ndarray
    status: str
    objective: float
    bound: float
    seconds: float

    @property
    def shortage(self) -> np.ndarray:
        return np.maximum(self.problem.requirement - self.coverage, 0)

    @property
    def excess(self) -> np.ndarray:
        return np.maximum(self.coverage - self.problem.requirement, 0)

    @property
    def gap(self) -> float:
        if self.objective == 0:
            return 0.0
        return max(self.objective - self.bound, 0.0) / abs(self.objective)

    @property
    def distinct_shifts(self) -> int:
        used = self.starts[self.starts["agents"] > 0]
        return int(used[["start_min", "length_min"]].drop_duplicates().shape[0])

    def agent_hours(self, values: np.ndarray) -> float:
        return float(values.sum() * self.problem.slot_min / 60)

    @property
    def cost(self) -> float:
        used = self.starts[self.starts["agents"] > 0]
        return float((used["agents"] * used["paid_hours"] * used["hourly_cost"]).sum())


@dataclass
class SolverSettings:
    time_limit_s: float = 20.0
    workers: int = 8
    seed: int = 0
    progress: Callable[[str], None] | None = None
    hint: dict[tuple[int, int], int] = field(default_factory=dict)  # (type index, day) -> agents
    linearization_level: int = 1


def _scale(values, factor: int) -> np.ndarray:
    return np.rint(np.asarray(values, dtype=float) * factor).astype(np.int64)


def change_points(problem: ShiftProblem) -> set[int]:
    """Slots of the day at which the requirement changes on some day (circularly)."""
    per_day = problem.slots_per_day
    req = np.asarray(problem.requirement, dtype=np.int64)
    previous = np.roll(req, 1) if problem.cyclic else np.concatenate([[0], req[:-1]])
    return {int(s) % per_day for s in np.flatnonzero(req != previous)}


def solve(problem: ShiftProblem, settings: SolverSettings | None = None) -> ShiftPlan:
    """Solve in phases within the time limit.

    1. Only shifts that start and end where the requirement changes (a plan with no shortage or
       excess uses nothing else), first with coverage *exactly* equal to the requirement (strong
       propagation: usually solved in seconds when such a plan exists), else with the soft model.
    2. The full model, seeded with phase 1's answer, for the rest of the time: it may trade a
       little shortage or excess for fewer shifts or lower cost.
    """
    settings = settings or SolverSettings()
    started = time.perf_counter()
    points = change_points(problem)
    per_day = problem.slots_per_day
    keep = [
        k
        for k, shift in enumerate(problem.shift_types)
        if (shift.start_min // problem.slot_min) % per_day in points
        and ((shift.start_min + shift.length_min) // problem.slot_min) % per_day in points
    ]
    if settings.hint or not keep:
        return _solve(problem, settings)
    small = ShiftProblem(
        **{**problem.__dict__, "shift_types": [problem.shift_types[k] for k in keep]}
    )
    phase = SolverSettings(**{**settings.__dict__, "time_limit_s": settings.time_limit_s * 0.3})
    first = None
    for exact in (True, False):
        try:
            first = _solve(small, phase, exact=exact)
            break
        except RuntimeError:
            if settings.progress:
                settings.progress(
                    "no plan covers the requirement exactly; trying with shortage and excess"
                )
    if first is None:
        return _solve(problem, settings)
    hint = {
        (keep[int(row.type_index)], int(row.day)): int(row.agents)
        for row in first.starts.itertuples()
    }
    remaining = max(settings.time_limit_s - (time.perf_counter() - started), 1.0)
    second = _solve(
        problem, SolverSettings(**{**settings.__dict__, "time_limit_s": remaining, "hint": hint})
    )
    best = second if second.objective <= first.objective + 1e-9 else first
    best.bound = second.bound
    best.status = second.status
    best.seconds = time.perf_counter() - started
    return best


def _add_team_limits(
    model: cp_model.CpModel, problem: ShiftProblem, starts: dict[tuple[int, int], cp_model.IntVar]
) -> None:
    """At most as many shifts a day as people available, in the week as the people can work, and
    paid hours (in minutes, integral) within their contracts."""
    team = problem.team
    by_day: dict[int, list[cp_model.IntVar]] = {}
    minutes = []
    for (k, day), var in starts.items():
        by_day.setdefault(day, []).append(var)
        shift = problem.shift_types[k]
        minutes.append((shift.length_min - shift.break_min) * var)
    for day, variables in by_day.items():
        if day < len(team.per_day):
            model.add(sum(variables) <= int(team.per_day[day]))
    model.add(sum(starts.values()) <= int(team.shifts))
    model.add(sum(minutes) <= int(round(team.paid_hours * 60)))


def _solve(problem: ShiftProblem, settings: SolverSettings, exact: bool = False) -> ShiftPlan:
    """One CP-SAT model. ``exact``: coverage must equal the requirement (no shortage, no excess)."""
    started = time.perf_counter()
    req = np.asarray(problem.requirement, dtype=np.int64)
    n_slots = req.size
    model = cp_model.CpModel()
    starts: dict[tuple[int, int], cp_model.IntVar] = {}
    upper_of: dict[tuple[int, int], int] = {}
    covering: list[list[cp_model.IntVar]] = [[] for _ in range(n_slots)]
    cover_upper = np.zeros(n_slots, dtype=np.int64)
    keys: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for k, shift in enumerate(problem.shift_types):
        for day in shift.days:
            if day >= problem.days:
                continue
            slots = problem.coverage_slots(shift, day)
            if slots.size == 0:
                continue
            upper = int(req[slots].min() if exact else req[slots].max())
            if upper <= 0:
                continue  # a shift over empty slots only adds excess
            var = model.new_int_var(0, upper, f"x_{k}_{day}")
            starts[(k, day)] = var
            upper_of[(k, day)] = upper
            keys.setdefault(shift.key, []).append((k, day))
            for s in slots:
                covering[s].append(var)
            cover_upper[slots] += upper

    # weights as integers: the objective's unit is 1/scale
    scale = 100
    under = np.broadcast_to(np.asarray(problem.under_weight, dtype=float), (n_slots,))
    under_i = _scale(under, scale)
    over_i = int(round(problem.over_weight * scale))
    shift_i = int(round(problem.shift_weight * scale))
    terms = []
    for s in range(n_slots):
        if not covering[s] and req[s] == 0:
            continue
        if exact:
            if not covering[s]:
                raise RuntimeError(f"slot {s} cannot be covered exactly")
            model.add(sum(covering[s]) == int(req[s]))
            continue
        short = model.new_int_var(0, int(req[s]), f"short_{s}")
        over = model.new_int_var(0, int(cover_upper[s]), f"over_{s}")
        model.add(sum(covering[s]) + short - over == int(req[s]))
        if under_i[s]:
            terms.append(int(under_i[s]) * short)
        if over_i:
            terms.append(over_i * over)
    if shift_i:
        for key, members in keys.items():
            used = model.new_bool_var(f"used_{key[0]}_{key[1]}")
            for member in members:
                model.add(starts[member] <= upper_of[member] * used)
            terms.append(shift_i * used)
    if problem.cost_weight:
        for (k, _day), var in starts.items():
            shift = problem.shift_types[k]
            unit = int(round(problem.cost_weight * shift.hourly_cost * shift.paid_hours * scale))
            if unit:
                terms.append(unit * var)
    if problem.team is not None:
        _add_team_limits(model, problem, starts)
    model.minimize(sum(terms))
    for (k, day), value in settings.hint.items():
        if (k, day) in starts:
            model.add_hint(starts[(k, day)], value)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = settings.time_limit_s
    solver.parameters.num_workers = settings.workers
    solver.parameters.random_seed = settings.seed
    solver.parameters.linearization_level = settings.linearization_level
    status = solver.solve(model)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"the shift model has no solution ({name})")
    rows = []
    coverage = np.zeros(n_slots, dtype=np.int64)
    for (k, day), var in starts.items():
        value = int(solver.value(var))
        if value:
            shift = problem.shift_types[k]
            coverage[problem.coverage_slots(shift, day)] += value
            rows.append(
                {
                    "type_index": k,
                    "template": shift.template,
                    "start_min": shift.start_min,
                    "length_min": shift.length_min,
                    "break_min": shift.break_min,
                    "break_offset_min": shift.break_offset_min,
                    "day": day,
                    "agents": value,
                    "paid_hours": shift.paid_hours,
                    "hourly_cost": shift.hourly_cost,
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "type_index",
            "template",
            "start_min",
            "length_min",
            "break_min",
            "break_offset_min",
            "day",
            "agents",
            "paid_hours",
            "hourly_cost",
        ],
    )
    return ShiftPlan(
        problem,
        frame,
        coverage,
        name,
        solver.objective_value / scale,
        solver.best_objective_bound / scale,
        time.perf_counter() - started,
    )
