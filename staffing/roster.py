"""Rosters of named people: who works which shift on which day (OR-Tools CP-SAT).

The model speaks the language of the Curtois & Qu employee-scheduling benchmark — shift types
with forbidden successions (minimum rest), per-person limits on shifts per type and on minutes,
minimum/maximum consecutive working days, minimum consecutive days off, maximum weekends, days
off, shift on/off requests, and soft cover per day and shift — plus what a call centre needs on
top: coverage of skills and languages at checkpoints, at least two consecutive days off in the
week, the same start time through the week, weekends and nights shared fairly, and hours close
to each contract.

Hard rules can be relaxed (``relax=True``): each becomes a penalised slack, which is how an
infeasible week is explained rule by rule instead of with a bare "no solution".
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

HARD = 1_000_000  # the penalty of breaking a hard rule in the relaxed model


@dataclass(frozen=True)
class RosterShift:
    id: str
    minutes: int  # paid minutes
    start_min: int = 0  # minute of day it starts
    end_min: int = 0  # minute it ends, counted from its day's midnight (may exceed 1440)
    forbidden_next: frozenset[str] = frozenset()  # shift ids that may not follow it the next day
    night: bool = False


@dataclass
class Staff:
    id: str
    max_shifts: dict[str, int] = field(default_factory=dict)
    max_minutes: int = 10**9
    min_minutes: int = 0
    max_consecutive: int = 7
    min_consecutive: int = 1
    min_consecutive_off: int = 1
    max_weekends: int = 10**3
    days_off: set[int] = field(default_factory=set)
    attributes: frozenset[str] = frozenset()  # "skill:orders", "lang:pl", ...
    target_minutes: int | None = None
    prior_streak: int = 0  # days worked right before day 0
    prior_last_shift: str | None = None  # shift worked the day before day 0
    prior_forbidden: frozenset[str] = frozenset()  # shifts too soon after last week's last shift
    prior_weekends: int = 0  # weekends worked recently (fairness)
    prior_nights: int = 0


@dataclass(frozen=True)
class Cover:
    day: int
    shift: str
    requirement: int
    under_weight: int
    over_weight: int


@dataclass(frozen=True)
class AttributeCover:
    """At least ``requirement`` people with ``attribute`` on the listed shifts of ``day``
    (the shifts on duty at some moment). Hard unless ``weight`` is given."""

    day: int
    shifts: frozenset[str]
    attribute: str
    requirement: int
    label: str
    weight: int | None = None


@dataclass(frozen=True)
class Request:
    staff: str
    day: int
    shift: str | None  # None: any shift
    on: bool
    weight: int


@dataclass
class RosterProblem:
    days: int
    shifts: list[RosterShift]
    staff: list[Staff]
    covers: list[Cover]
    requests: list[Request] = field(default_factory=list)
    attribute_covers: list[AttributeCover] = field(default_factory=list)
    weekends: list[tuple[int, ...]] = field(default_factory=list)  # day indexes of each weekend
    two_days_off_in_a_row: bool = False
    boundary_min_rules: bool = (
        False  # apply min-consecutive rules to runs touching the horizon's ends
    )
    stability_weight: int = 0  # per extra distinct start time of a person in the week
    fairness_weight: int = 0  # per weekend/night worked, times what the person worked recently
    contract_weight: int = 0  # per minute away from the contract target


@dataclass
class RosterResult:
    assignment: dict[tuple[str, int], str]  # (staff, day) -> shift id
    status: str
    objective: float
    bound: float
    seconds: float
    violations: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float:
        return (
            0.0 if not self.objective else max(self.objective - self.bound, 0) / abs(self.objective)
        )


class Infeasible(ValueError):
    """No roster keeps every hard rule; ``violations`` says which rules had to give."""

    def __init__(self, violations: list[str]):
        self.violations = violations
        super().__init__(
            "no roster keeps every rule; the least it takes to break:\n"
            + "\n".join(f"  - {v}" for v in violations)
        )


class _Model:
    def __init__(self, problem: RosterProblem, relax: bool):
        self.p, self.relax = problem, relax
        self.m = cp_model.CpModel()
        self.terms: list = []
        self.slacks: list[tuple[cp_model.IntVar, str]] = []
        self.x: dict[tuple[int, int, int], cp_model.IntVar] = {}
        self.work: dict[tuple[int, int], cp_model.IntVar] = {}

    def hard(self, expression_le: tuple, label: str, bound: int) -> None:
        """``lhs <= rhs`` as a hard rule, or with a penalised slack when relaxing."""
        lhs, rhs = expression_le
        if self.relax:
            slack = self.m.new_int_var(0, bound, f"slack_{len(self.slacks)}")
            self.m.add(lhs <= rhs + slack)
            self.slacks.append((slack, label))
            self.terms.append(HARD * slack)
        else:
            self.m.add(lhs <= rhs)

    def clause(self, literals: list, label: str) -> None:
        if self.relax:
            slack = self.m.new_bool_var(f"slack_{len(self.slacks)}")
            self.m.add_bool_or([*literals, slack])
            self.slacks.append((slack, label))
            self.terms.append(HARD * slack)
        else:
            self.m.add_bool_or(literals)

    def build(self) -> None:
        p, m = self.p, self.m
        index = {s.id: k for k, s in enumerate(p.shifts)}
        for e in range(len(p.staff)):
            for d in range(p.days):
                for k in range(len(p.shifts)):
                    self.x[e, d, k] = m.new_bool_var(f"x_{e}_{d}_{k}")
                w = m.new_bool_var(f"w_{e}_{d}")
                m.add(sum(self.x[e, d, k] for k in range(len(p.shifts))) == w)
                self.work[e, d] = w
        for e, person in enumerate(p.staff):
            name = person.id
            work = [self.work[e, d] for d in range(p.days)]
            for d in sorted(person.days_off):
                if 0 <= d < p.days:
                    self.hard((work[d], 0), f"{name} works on day {d}, a day off", 1)
            for sid, limit in person.max_shifts.items():
                if sid in index:
                    self.hard(
                        (sum(self.x[e, d, index[sid]] for d in range(p.days)), limit),
                        f"{name} works more than {limit} {sid} shifts",
                        p.days,
                    )
            minutes = sum(
                self.x[e, d, k] * s.minutes for d in range(p.days) for k, s in enumerate(p.shifts)
            )
            total_max = sum(max(s.minutes for s in p.shifts) for _ in range(p.days))
            self.hard(
                (minutes, person.max_minutes),
                f"{name} works more than {person.max_minutes / 60:g} h",
                total_max,
            )
            self.hard(
                (person.min_minutes, minutes),
                f"{name} works less than {person.min_minutes / 60:g} h",
                person.min_minutes,
            )
            for d in range(p.days - 1):
                for k, s in enumerate(p.shifts):
                    for nxt in s.forbidden_next:
                        if nxt in index:
                            self.hard(
                                (self.x[e, d, k] + self.x[e, d + 1, index[nxt]], 1),
                                f"{name}: {nxt} on day {d + 1} too soon after {s.id} on day {d} (rest)",
                                1,
                            )
            follow = set(person.prior_forbidden)
            if person.prior_last_shift in index:
                follow |= set(p.shifts[index[person.prior_last_shift]].forbidden_next)
            for nxt in sorted(follow):
                if nxt in index:
                    self.hard(
                        (self.x[e, 0, index[nxt]], 0),
                        f"{name}: {nxt} on day 0 too soon after last week's last shift (rest)",
                        1,
                    )
            # maximum consecutive working days, counting the days worked just before
            span = person.max_consecutive + 1
            for start in range(
                -min(person.prior_streak, person.max_consecutive), p.days - span + 1
            ):
                window = [work[d] for d in range(max(start, 0), start + span)]
                carried = max(0, -start)
                self.hard(
                    (sum(window) + carried, person.max_consecutive),
                    f"{name} works more than {person.max_consecutive} days in a row from day {max(start, 0)}",
                    span,
                )
            self._min_runs(
                work,
                person.min_consecutive,
                f"{name} works fewer than {person.min_consecutive} days in a row",
            )
            off = [w.Not() for w in work]
            self._min_runs(
                off,
                person.min_consecutive_off,
                f"{name} has fewer than {person.min_consecutive_off} days off in a row",
            )
            if p.weekends and person.max_weekends < len(p.weekends):
                worked = []
                for k, days in enumerate(p.weekends):
                    wk = m.new_bool_var(f"we_{e}_{k}")
                    m.add_max_equality(wk, [work[d] for d in days if d < p.days])
                    worked.append(wk)
                self.hard(
                    (sum(worked), person.max_weekends),
                    f"{name} works more than {person.max_weekends} weekends",
                    len(worked),
                )
            if p.two_days_off_in_a_row and p.days >= 2:
                pairs = []
                for d in range(p.days - 1):
                    both = m.new_bool_var(f"off2_{e}_{d}")
                    m.add_implication(both, work[d].Not())
                    m.add_implication(both, work[d + 1].Not())
                    pairs.append(both)
                self.clause(pairs, f"{name} has no two days off in a row this week")
            if p.contract_weight and person.target_minutes is not None:
                dev = m.new_int_var(0, total_max, f"dev_{e}")
                m.add(minutes - person.target_minutes <= dev)
                m.add(person.target_minutes - minutes <= dev)
                self.terms.append(p.contract_weight * dev)
            if p.stability_weight:
                starts = sorted({s.start_min for s in p.shifts})
                used = []
                for t in starts:
                    u = m.new_bool_var(f"start_{e}_{t}")
                    for d in range(p.days):
                        for k, s in enumerate(p.shifts):
                            if s.start_min == t:
                                m.add_implication(self.x[e, d, k], u)
                    used.append(u)
                extra = m.new_int_var(0, len(starts), f"extra_starts_{e}")
                m.add(extra >= sum(used) - 1)
                self.terms.append(p.stability_weight * extra)
            if p.fairness_weight:
                for days in p.weekends:
                    wk = m.new_bool_var(f"wkf_{e}_{days}")
                    m.add_max_equality(wk, [work[d] for d in days if d < p.days])
                    self.terms.append(p.fairness_weight * (1 + person.prior_weekends) * wk)
                nights = [
                    self.x[e, d, k]
                    for d in range(p.days)
                    for k, s in enumerate(p.shifts)
                    if s.night
                ]
                if nights:
                    self.terms.append(p.fairness_weight * (1 + person.prior_nights) * sum(nights))
        staff_index = {s.id: e for e, s in enumerate(p.staff)}
        for r in p.requests:
            e = staff_index.get(r.staff)
            if e is None or not 0 <= r.day < p.days:
                continue
            chosen = (
                self.work[e, r.day]
                if r.shift is None
                else self.x[e, r.day, index[r.shift]]
                if r.shift in index
                else None
            )
            if chosen is None:
                continue
            self.terms.append(r.weight * (1 - chosen) if r.on else r.weight * chosen)
        for c in p.covers:
            if c.shift not in index or not 0 <= c.day < p.days:
                continue
            k = index[c.shift]
            assigned = sum(self.x[e, c.day, k] for e in range(len(p.staff)))
            under = m.new_int_var(0, max(c.requirement, 0), f"under_{c.day}_{k}")
            over = m.new_int_var(0, len(p.staff), f"over_{c.day}_{k}")
            m.add(assigned + under - over == c.requirement)
            self.terms.append(c.under_weight * under + c.over_weight * over)
        for a in p.attribute_covers:
            people = [e for e, s in enumerate(p.staff) if a.attribute in s.attributes]
            have = sum(
                self.x[e, a.day, index[sid]] for e in people for sid in a.shifts if sid in index
            )
            if a.weight is not None:
                short = m.new_int_var(0, a.requirement, f"attr_{len(self.terms)}")
                m.add(have + short >= a.requirement)
                self.terms.append(a.weight * short)
            else:
                self.hard((a.requirement, have), a.label, a.requirement)
        m.minimize(sum(self.terms))

    def _min_runs(self, series: list, minimum: int, label: str) -> None:
        """Forbid runs shorter than ``minimum`` (runs touching the horizon's ends are exempt,
        as in the benchmark, unless ``boundary_min_rules``)."""
        n = len(series)
        for length in range(1, minimum):
            for start in range(0, n - length + 1):
                before, after = start - 1, start + length
                touches = before < 0 or after >= n
                if touches and not self.p.boundary_min_rules:
                    continue
                literals = [series[d].Not() for d in range(start, start + length)]
                if before >= 0:
                    literals.append(series[before])
                if after < n:
                    literals.append(series[after])
                self.clause(literals, f"{label} (days {start}-{start + length - 1})")


def solve(
    problem: RosterProblem,
    time_limit_s: float = 30.0,
    workers: int = 8,
    relax: bool = False,
    hint: dict[tuple[str, int], str] | None = None,
) -> RosterResult:
    started = time.perf_counter()
    model = _Model(problem, relax)
    model.build()
    if relax and not hint:
        hint = {}  # nobody works: always a solution of the relaxed model, a start for the search
    if hint is not None:
        index = {s.id: k for k, s in enumerate(problem.shifts)}
        for e, person in enumerate(problem.staff):
            for d in range(problem.days):
                chosen = hint.get((person.id, d))
                for k in range(len(problem.shifts)):
                    model.m.add_hint(
                        model.x[e, d, k], 1 if chosen is not None and index.get(chosen) == k else 0
                    )
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    status = solver.solve(model.m)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if status == cp_model.INFEASIBLE and not relax:
            try:
                explanation = solve(problem, time_limit_s, workers, relax=True)
            except RuntimeError:
                raise Infeasible(
                    [
                        "the rules contradict each other (no explanation found in time: try a longer time limit)"
                    ]
                ) from None
            raise Infeasible(explanation.violations or ["the rules contradict each other"])
        raise RuntimeError(f"no roster found in {time_limit_s:g} s ({name})")
    assignment = {}
    for (e, d, k), var in model.x.items():
        if solver.value(var):
            assignment[problem.staff[e].id, d] = problem.shifts[k].id
    violations = [label for slack, label in model.slacks if solver.value(slack)]
    return RosterResult(
        assignment,
        name,
        solver.objective_value,
        solver.best_objective_bound,
        time.perf_counter() - started,
        violations,
    )


def check(problem: RosterProblem, assignment: dict[tuple[str, int], str]) -> list[str]:
    """Every hard rule, checked independently of the solver; returns what is broken."""
    shifts = {s.id: s for s in problem.shifts}
    broken = []
    for person in problem.staff:
        days = [assignment.get((person.id, d)) for d in range(problem.days)]
        worked = [s is not None for s in days]
        for d in person.days_off:
            if d < problem.days and worked[d]:
                broken.append(f"{person.id} works day off {d}")
        for sid, limit in person.max_shifts.items():
            if days.count(sid) > limit:
                broken.append(f"{person.id} has {days.count(sid)} {sid} shifts > {limit}")
        minutes = sum(shifts[s].minutes for s in days if s)
        if not person.min_minutes <= minutes <= person.max_minutes:
            broken.append(
                f"{person.id} works {minutes} minutes, outside [{person.min_minutes}, {person.max_minutes}]"
            )
        for d in range(problem.days - 1):
            if days[d] and days[d + 1] and days[d + 1] in shifts[days[d]].forbidden_next:
                broken.append(f"{person.id}: {days[d + 1]} after {days[d]} on day {d}")
        if (
            person.prior_last_shift in shifts
            and days[0] in shifts[person.prior_last_shift].forbidden_next
        ):
            broken.append(
                f"{person.id}: {days[0]} on day 0 after last week's {person.prior_last_shift}"
            )
        if days[0] in person.prior_forbidden:
            broken.append(f"{person.id}: {days[0]} on day 0 too soon after last week's last shift")
        for _start, length, value in _runs([True] * person.prior_streak + worked):
            if value and length > person.max_consecutive:
                broken.append(f"{person.id} works {length} days in a row")
        for start, length, value in _runs(worked):
            touches = start == 0 or start + length == problem.days
            if touches and not problem.boundary_min_rules:
                continue
            if value and length < person.min_consecutive:
                broken.append(f"{person.id} works a run of {length} < {person.min_consecutive}")
            if not value and length < person.min_consecutive_off:
                broken.append(
                    f"{person.id} has an off run of {length} < {person.min_consecutive_off}"
                )
        if problem.weekends:
            count = sum(any(worked[d] for d in wk if d < problem.days) for wk in problem.weekends)
            if count > person.max_weekends:
                broken.append(f"{person.id} works {count} weekends > {person.max_weekends}")
        if problem.two_days_off_in_a_row and not any(
            not worked[d] and not worked[d + 1] for d in range(problem.days - 1)
        ):
            broken.append(f"{person.id} has no two days off in a row")
    attrs = {p.id: p.attributes for p in problem.staff}
    for a in problem.attribute_covers:
        if a.weight is None:
            have = sum(
                1
                for (sid, d), shift in assignment.items()
                if d == a.day and shift in a.shifts and a.attribute in attrs[sid]
            )
            if have < a.requirement:
                broken.append(f"{a.label}: {have} < {a.requirement}")
    return broken


def _runs(values: Iterable[bool]):
    values = list(values)
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            yield start, i - start, values[start]
            start = i
