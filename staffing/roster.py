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

import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

from staffing.roster_columns import ColumnGeneration, roster_of

log = logging.getLogger(__name__)
HARD = 1_000_000  # the penalty of breaking a hard rule in the relaxed model
FIRST_PHASE = 0.3  # share of the time limit for the whole-model solve before neighbourhood search
SUB_LIMIT_S = 3.0  # time limit of one neighbourhood's solve
# people x days x shift types up to which the model gets run flows and a neighbourhood search
FLOW_MAX_CELLS = 2_500
TARGETED = 0.25  # share of neighbourhoods chosen around a day short of cover
DIVE_SHARE = 0.75  # share of the time limit the column-generation dive may take at most
ROOT_SHARE = 0.3  # ... and its first relaxation: unsolved by then, the dive is given up


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
    """No roster keeps every hard rule; ``violations`` says which rules had to give, and
    ``roster`` (when the explanation found one) is the relaxed model's roster breaking them."""

    def __init__(self, violations: list[str], roster: RosterResult | None = None):
        self.violations = violations
        self.roster = roster
        super().__init__(
            "no roster keeps every rule; the least it takes to break:\n"
            + "\n".join(f"  - {v}" for v in violations)
        )


class _Model:
    def __init__(self, problem: RosterProblem, relax: bool, flow: bool = True):
        self.p, self.relax, self.flow = problem, relax, flow and not relax
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
            if self.flow:
                self._run_flow(person, work)
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
            over = m.new_int_var(0, len(p.staff) + max(-c.requirement, 0), f"over_{c.day}_{k}")
            m.add(assigned + under - over == c.requirement)
            self.terms.append(c.under_weight * under + c.over_weight * over)
        for a in p.attribute_covers:
            if a.requirement <= 0:
                continue
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

    def _run_flow(self, person: Staff, work: list) -> None:
        """The same run rules (maximum and minimum days in a row, minimum days off in a row) as a
        flow through run-length states, one path per person. Redundant with the clauses above,
        but a network's linear relaxation is exact for these rules, so the solver's bound is
        much tighter (on Curtois Instance5 the 60 s result went from +8 % to about +1 %)."""
        m, n = self.m, self.p.days
        most = max(person.max_consecutive, 1)
        least, rest = person.min_consecutive, max(person.min_consecutive_off, 1)
        exempt0 = not self.p.boundary_min_rules

        def after(state: tuple[str, int, bool]):
            kind, r, exempt = state
            if kind == "W":
                if r < most:
                    yield "W", r + 1, exempt
                if r >= least or exempt:
                    yield "O", 1, False
            else:
                nxt = min(r + 1, rest)
                yield "O", nxt, exempt and nxt < rest
                if r >= rest or exempt:
                    yield "W", 1, False

        first = []
        if min(person.prior_streak, most) < most:
            first.append(("W", min(person.prior_streak, most) + 1, exempt0))
        first.append(("O", 1, exempt0 and rest > 1))
        # arcs into each state of day d; each state's list of arcs out of it is filled on day d+1
        layer: list[tuple[list | None, tuple]] = [(None, t) for t in first]
        conservation: list[tuple[list, list]] = []
        for d in range(n):
            targets: dict[tuple, list] = {}
            for out_of_source, t in layer:
                arc = m.new_bool_var("")
                targets.setdefault(t, []).append(arc)
                if out_of_source is not None:
                    out_of_source.append(arc)
            if d == 0:
                m.add(sum(a for arcs in targets.values() for a in arcs) == 1)
            m.add(sum(a for t, arcs in targets.items() if t[0] == "W" for a in arcs) == work[d])
            layer = []
            for t, incoming in targets.items():
                if d + 1 == n:  # a run touching the horizon's end ends short only if exempt
                    kind, r, exempt = t
                    closed = exempt or not self.p.boundary_min_rules
                    if not (closed or r >= (least if kind == "W" else rest)):
                        m.add(sum(incoming) == 0)
                    continue
                outgoing: list = []
                layer += [(outgoing, u) for u in after(t)]
                conservation.append((incoming, outgoing))
        for incoming, outgoing in conservation:
            m.add(sum(incoming) == sum(outgoing))

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
    lns: bool = True,
    seed: int = 0,
    dive: bool = True,
) -> RosterResult:
    """The best roster found within ``time_limit_s``: a column-generation dive first (``dive``;
    its roster is CP-SAT's starting point), CP-SAT on the whole week next, then, on small weeks
    (``lns``), a neighbourhood search around its best roster for the rest of the time; large
    weeks give CP-SAT all the time after the dive."""
    started = time.perf_counter()
    if dive and not relax and hint is None:
        hint = _dive(
            problem,
            started + ROOT_SHARE * time_limit_s,
            started + DIVE_SHARE * time_limit_s,
            workers,
        )
    left_s = max(started + time_limit_s - time.perf_counter(), 1.0)
    # the run flows tighten the bound a lot but add ~30 variables per x, and the neighbourhood
    # search's sub-problems solve in time: both pay on small weeks. On large ones CP-SAT's own
    # search over the whole time limit did better (benchmarks/curtois.py, instances 13-19).
    small = problem.days * len(problem.staff) * len(problem.shifts) <= FLOW_MAX_CELLS
    lns = lns and small
    model = _Model(problem, relax, flow=small)
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
    solver.parameters.max_time_in_seconds = left_s * (FIRST_PHASE if lns else 1.0)
    solver.parameters.num_workers = workers
    status = solver.solve(model.m)
    if lns and status == cp_model.UNKNOWN:  # no roster yet: give the whole model the rest
        solver.parameters.max_time_in_seconds = max(
            started + time_limit_s - time.perf_counter(), 1.0
        )
        status = solver.solve(model.m)
    name = solver.status_name(status)
    values = (
        {var.index: solver.value(var) for var in model.x.values()}
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        else {}
    )
    objective, bound = (solver.objective_value, solver.best_objective_bound) if values else (0, 0)
    searched = lns and status == cp_model.FEASIBLE and objective > bound
    if searched:
        lean = _Model(problem, relax, flow=False)  # windows' sub-problems: faster without flows
        lean.build()
        values, objective = _neighbourhood_search(
            lean, values, objective, bound, started + time_limit_s, workers, seed
        )
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
            raise Infeasible(
                explanation.violations or ["the rules contradict each other"], explanation
            )
        raise RuntimeError(f"no roster found in {time_limit_s:g} s ({name})")
    assignment = {}
    for (e, d, k), var in model.x.items():
        if values[var.index]:
            assignment[problem.staff[e].id, d] = problem.shifts[k].id
    if searched and model.slacks:  # the search's roster: which relaxed rules it breaks
        violations = _broken_slacks(model, values)
    else:
        violations = [label for slack, label in model.slacks if solver.value(slack)]
    return RosterResult(
        assignment,
        "OPTIMAL" if objective <= bound else name,
        objective,
        bound,
        time.perf_counter() - started,
        violations,
    )


def _dive(
    problem: RosterProblem, root_deadline: float, deadline: float, workers: int
) -> dict[tuple[str, int], str] | None:
    """The roster of a column-generation dive (``staffing.roster_columns``) as a hint, or None
    if the dive was given up."""
    columns = ColumnGeneration(problem, _person_model, threads=min(workers, 2))
    schedules = columns.dive(root_deadline, deadline)
    return None if schedules is None else roster_of(problem, schedules)


def _person_model(problem: RosterProblem) -> _Model:
    """One person's model for pricing (no run flows: the pricing solves are many and small,
    and without flows they took a third of the time on Curtois Instance9)."""
    model = _Model(problem, relax=False, flow=False)
    model.build()
    return model


def _broken_slacks(model: _Model, values: dict[int, int]) -> list[str]:
    """The relaxed rules the roster ``values`` breaks (slacks re-solved with the roster fixed)."""
    fixed = model.m.clone()
    for var in model.x.values():
        fixed.add(fixed.get_bool_var_from_proto_index(var.index) == values[var.index])
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 10
    if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ["the rules contradict each other"]
    return [
        label
        for slack, label in model.slacks
        if solver.value(fixed.get_int_var_from_proto_index(slack.index))
    ]


def _neighbourhood_search(
    model: _Model,
    values: dict[int, int],
    objective: float,
    bound: float,
    deadline: float,
    workers: int,
    seed: int,
) -> tuple[dict[int, int], float]:
    """Large neighbourhood search around the roster ``values`` (x variables of ``model``).

    Two kinds of move, each solved exactly by CP-SAT and kept when no worse: a few people
    re-rostered over the whole horizon (a small model of just them, with the cover the others
    already give subtracted), or everyone re-rostered on a window of days (the whole model,
    everything outside the window fixed). Each kind's size grows while its sub-problems solve
    to optimality quickly and shrinks when they time out. Cover shortfalls weigh most, so a share
    (``TARGETED``) of the moves start from a day short of cover: a window holding it, or people
    off that day among those re-rostered."""
    rng = random.Random(seed)
    p = model.p
    people, days = len(p.staff), p.days
    by_day: dict[int, list[int]] = {}
    for (_e, d, _k), var in model.x.items():
        by_day.setdefault(d, []).append(var.index)
    size = {"people": min(3, people), "days": min(4, days)}
    while objective > bound and time.perf_counter() < deadline - 0.2:
        kind = "people" if rng.random() < 0.6 else "days"
        limit_s = min(SUB_LIMIT_S, deadline - time.perf_counter())
        # cover shortfalls weigh most: a share of the moves start from a day short of cover
        short = _short_days(model, values) if rng.random() < TARGETED else []
        day = rng.choice(short) if short else None
        if kind == "people":
            chosen = _pick_people(model, values, size["people"], day, rng)
            better, status, seconds = _repair_people(model, values, chosen, limit_s, rng)
        else:
            if day is None:
                first = rng.randrange(0, max(days - size["days"], 0) + 1)
            else:  # a window that holds that day
                first = min(max(day - rng.randrange(size["days"]), 0), max(days - size["days"], 0))
            free = {i for d in range(first, first + size["days"]) for i in by_day[d]}
            better, status, seconds = _repair_window(
                model, values, objective, free, limit_s, workers, rng
            )
        if better is not None and better[1] <= 0:
            values, objective = better[0], objective + better[1]
        log.debug(
            "lns %s size %d: %s in %.2f s, objective %g",
            kind,
            size[kind],
            status,
            seconds,
            objective,
        )
        limit = people if kind == "people" else days
        if status == "OPTIMAL" and seconds < SUB_LIMIT_S / 4:
            size[kind] = min(size[kind] + 1, limit)
        elif status != "OPTIMAL":
            size[kind] = max(size[kind] - 1, 2)
    return values, objective


def _short_days(model: _Model, values: dict[int, int]) -> list[int]:
    """Days with a shift short of its cover in the roster ``values``."""
    p = model.p
    index = {s.id: k for k, s in enumerate(p.shifts)}
    short = set()
    for c in p.covers:
        k = index.get(c.shift)
        if k is not None and 0 <= c.day < p.days and c.day not in short:
            have = sum(values[model.x[e, c.day, k].index] for e in range(len(p.staff)))
            if have < c.requirement:
                short.add(c.day)
    return sorted(short)


def _pick_people(
    model: _Model, values: dict[int, int], count: int, day: int | None, rng: random.Random
) -> list[int]:
    """``count`` people to re-roster: at random, or with ``day`` (a day short of cover) half of
    them among those off that day who could work it, the rest at random."""
    p = model.p
    people = range(len(p.staff))
    chosen: set[int] = set()
    if day is not None:
        off = [
            e
            for e in people
            if day not in p.staff[e].days_off
            and not any(values[model.x[e, day, k].index] for k in range(len(p.shifts)))
        ]
        chosen = set(rng.sample(off, min(len(off), max(1, count // 2))))
    others = [e for e in people if e not in chosen]
    chosen |= set(rng.sample(others, min(len(others), count - len(chosen))))
    return sorted(chosen)


def _repair_window(
    model: _Model,
    values: dict[int, int],
    objective: float,
    free: set[int],
    limit_s: float,
    workers: int,
    rng: random.Random,
) -> tuple[tuple[dict[int, int], float] | None, str, float]:
    """Re-solve the variables ``free`` with every other x fixed (``objective`` is the roster's
    now). Returns (values, change of the objective), the sub-solve's status and seconds."""
    proto = model.m.proto
    fixed = [i for i in values if i not in free]
    for i in fixed:
        domain = proto.variables[i].domain
        domain[0] = domain[1] = values[i]
    model.m.clear_hints()
    for i in free:
        model.m.add_hint(model.m.get_bool_var_from_proto_index(i), values[i])
    solver = _sub_solver(limit_s, min(workers, 2), rng)
    status = solver.solve(model.m)
    for i in fixed:
        domain = proto.variables[i].domain
        domain[0], domain[1] = 0, 1
    model.m.clear_hints()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.status_name(status), solver.wall_time
    new = {i: solver.value(model.m.get_bool_var_from_proto_index(i)) for i in values}
    return (new, solver.objective_value - objective), solver.status_name(status), solver.wall_time


def _repair_people(
    model: _Model, values: dict[int, int], chosen: list[int], limit_s: float, rng: random.Random
) -> tuple[tuple[dict[int, int], float] | None, str, float]:
    """Re-roster the people ``chosen`` over the whole horizon, everyone else as they are:
    a model of just them (with their run flows) against the cover the others leave over.
    Returns (values, change of the objective), the sub-solve's status and seconds."""
    p = model.p
    shifts = [s.id for s in p.shifts]
    mine = set(chosen)
    others: dict[tuple[int, str], int] = {}
    attributes: dict[tuple[int, str], int] = {}
    for (e, d, k), var in model.x.items():
        if e not in mine and values[var.index]:
            others[d, shifts[k]] = others.get((d, shifts[k]), 0) + 1
            for attribute in p.staff[e].attributes:
                attributes[d, shifts[k], attribute] = (
                    attributes.get((d, shifts[k], attribute), 0) + 1
                )
    names = {p.staff[e].id for e in chosen}
    small = replace(
        p,
        staff=[p.staff[e] for e in chosen],
        covers=[
            replace(c, requirement=c.requirement - others.get((c.day, c.shift), 0))
            for c in p.covers
        ],
        requests=[r for r in p.requests if r.staff in names],
        attribute_covers=[
            replace(
                a,
                requirement=a.requirement
                - sum(attributes.get((a.day, sid, a.attribute), 0) for sid in a.shifts),
            )
            for a in p.attribute_covers
        ],
    )
    sub = _Model(small, model.relax, flow=True)
    sub.build()
    now = {
        (j, d, k): values[model.x[e, d, k].index]
        for j, e in enumerate(chosen)
        for d in range(p.days)
        for k in range(len(shifts))
    }
    for key, var in sub.x.items():
        sub.m.add_hint(var, now[key])
    solver = _sub_solver(limit_s, 1, rng)
    solver.parameters.fix_variables_to_their_hinted_value = True
    if solver.solve(sub.m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, "INCUMBENT_REJECTED", solver.wall_time
    before = solver.objective_value
    solver = _sub_solver(limit_s, 1, rng)
    status = solver.solve(sub.m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.status_name(status), solver.wall_time
    new = dict(values)
    for (j, d, k), var in sub.x.items():
        new[model.x[chosen[j], d, k].index] = solver.value(var)
    return (new, solver.objective_value - before), solver.status_name(status), solver.wall_time


def _sub_solver(limit_s: float, workers: int, rng: random.Random) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(limit_s, 0.01)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = rng.randrange(1 << 30)
    return solver


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
