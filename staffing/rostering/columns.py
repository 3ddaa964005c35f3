"""Rosters by column generation: each person's whole horizon is one column, and a dive.

The linear relaxation of "one schedule per person, cover soft" is tight on rostering problems
(on Curtois Instance11 it is the best-known value). Its duals price each day's shifts; a small
CP-SAT model per person (that person's rules and own costs only) then finds the schedule with the
best reduced cost. Rounds of pricing solve the relaxation; a dive then fixes the people whose
schedule is whole in it (and a few nearly whole), solves again, and so on until everyone has a
schedule. The roster it ends with starts the whole-model search in ``staffing.rostering.solver``.

The person models come from the caller (``build``), so the rules live in one place
(``staffing.rostering.model``); this module only knows that a person model has ``m`` (the CP-SAT
model), ``x`` (``(0, day, shift index) -> BoolVar``) and ``terms`` (the person's own objective
terms).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from .problem import RosterProblem

log = logging.getLogger(__name__)
SCALE = 1000  # duals are rounded to 1/SCALE in the pricing objective
PRICE_LIMIT_S = 2.0  # time limit of one person's pricing solve
HARD_SHORT = 1_000_000  # the price of a hard attribute cover short in the linear relaxation
ROOT_ROUNDS = 20  # pricing rounds a relaxation takes, about (19-46 on Curtois 5-11)
FIX_SHARE = 0.1  # share of the not yet whole people fixed at each step of a dive

Schedule = tuple[int, ...]  # shift index per day, -1 when off


@dataclass
class _Person:
    model: Any  # a built person model: .m, .x, .terms
    own: cp_model.LinearExpr
    pool: dict[Schedule, int] = field(default_factory=dict)  # schedule -> own cost
    vars: dict[Schedule, Any] = field(default_factory=dict)  # schedule -> LP variable
    fixed: Schedule | None = None  # the schedule a dive has fixed for them


def person_problems(problem: RosterProblem) -> list[RosterProblem]:
    """One problem per person: that person's rules, requests and own costs, no cover."""
    return [
        replace(
            problem,
            staff=[person],
            covers=[],
            attribute_covers=[],
            requests=[r for r in problem.requests if r.staff == person.id],
        )
        for person in problem.staff
    ]


@dataclass
class _Priced:
    """What one pricing solve found: (schedule, own cost, priced value) for each schedule on
    the way, the best last; and whether the best was proved the best."""

    columns: list[tuple[Schedule, int, float]]
    proved: bool


class _Solutions(cp_model.CpSolverSolutionCallback):
    """Every schedule a pricing solve finds on its way (each is a column; taking them all
    solved Curtois Instance9's relaxation in 16 rounds instead of 27)."""

    def __init__(self, x: dict, own: cp_model.LinearExpr, days: int):
        super().__init__()
        self.x, self.own, self.days = x, own, days
        self.found: list[tuple[Schedule, int]] = []

    def on_solution_callback(self) -> None:
        schedule = [-1] * self.days
        for (_, d, k), var in self.x.items():
            if self.boolean_value(var):
                schedule[d] = k
        self.found.append((tuple(schedule), round(self.value(self.own))))


def _cells(schedule: Schedule) -> list[tuple[int, int]]:
    """The (day, shift index) cells a schedule works."""
    return [(d, k) for d, k in enumerate(schedule) if k >= 0]


class ColumnGeneration:
    """Column generation over people's schedules for a roster ``problem`` (see module doc)."""

    def __init__(
        self, problem: RosterProblem, build: Callable[[RosterProblem], Any], threads: int = 2
    ):
        self.p = problem
        self.threads = max(threads, 1)
        self.shift_index = {s.id: k for k, s in enumerate(problem.shifts)}
        self.root: float | None = None  # the relaxation's optimum, once a dive has proved it
        self.people: list[_Person] = []
        for one in person_problems(problem):
            model = build(one)
            self.people.append(_Person(model, cp_model.LinearExpr.sum(model.terms)))
        self._build_lp()

    # -- the linear relaxation of the master --------------------------------------------------
    def _build_lp(self) -> None:
        p = self.p
        lp = pywraplp.Solver.CreateSolver("GLOP")
        self.lp, self.objective = lp, lp.Objective()
        self.objective.SetMinimization()
        self.convex = [lp.Constraint(1, 1) for _ in p.staff]
        self.rows_at: dict[tuple[int, int], list] = {}  # (day, shift index) -> cover rows
        self.cover_rows = []
        for c in p.covers:
            k = self.shift_index.get(c.shift)
            if k is None or not 0 <= c.day < p.days:
                continue
            row = lp.Constraint(c.requirement, c.requirement)
            under = lp.NumVar(0, max(c.requirement, 0), "")
            over = lp.NumVar(0, lp.infinity(), "")
            row.SetCoefficient(under, 1)
            row.SetCoefficient(over, -1)
            self.objective.SetCoefficient(under, c.under_weight)
            self.objective.SetCoefficient(over, c.over_weight)
            self.rows_at.setdefault((c.day, k), []).append(row)
            self.cover_rows.append(((c.day, k), row))
        self.attribute_rows: list[tuple[Any, Any, list[tuple[int, int]]]] = []
        for a in p.attribute_covers:
            if a.requirement <= 0 or not 0 <= a.day < p.days:
                continue
            row = lp.Constraint(a.requirement, lp.infinity())
            short = lp.NumVar(0, a.requirement, "")
            row.SetCoefficient(short, 1)
            self.objective.SetCoefficient(short, a.weight if a.weight is not None else HARD_SHORT)
            cells = [(a.day, self.shift_index[s]) for s in a.shifts if s in self.shift_index]
            self.attribute_rows.append((a, row, cells))

    def add(self, e: int, schedule: Schedule, cost: int) -> bool:
        """Add person ``e``'s ``schedule`` (own cost ``cost``) to the pool; False if known."""
        person = self.people[e]
        if schedule in person.pool:
            return False
        person.pool[schedule] = cost
        var = self.lp.NumVar(0, 1, "")
        person.vars[schedule] = var
        self.objective.SetCoefficient(var, cost)
        self.convex[e].SetCoefficient(var, 1)
        for cell in _cells(schedule):
            for row in self.rows_at.get(cell, ()):
                row.SetCoefficient(var, 1)
        attributes = self.p.staff[e].attributes
        for a, row, cells in self.attribute_rows:
            count = sum(1 for d, k in cells if schedule[d] == k)
            if count and a.attribute in attributes:
                row.SetCoefficient(var, count)
        return True

    def fix(self, e: int, schedule: Schedule) -> None:
        """Person ``e`` works ``schedule`` from now on (no more pricing for them)."""
        person = self.people[e]
        person.vars[schedule].SetBounds(1, 1)
        person.fixed = schedule

    # -- pricing --------------------------------------------------------------------------------
    def _price(self, e: int, prices: dict[tuple[int, int], float], deadline: float) -> _Priced:
        """Person ``e``'s schedules found on the way to the one with the least own cost minus
        the cover it earns at ``prices`` (empty if none was found before the ``deadline``)."""
        limit_s = min(PRICE_LIMIT_S, deadline - time.perf_counter())
        if limit_s <= 0:
            return _Priced([], False)
        person = self.people[e]
        model = person.model
        earned = []
        for (_, d, k), var in model.x.items():
            price = round(SCALE * prices.get((d, k), 0.0))
            if price:
                earned.append(price * var)
        model.m.minimize(SCALE * person.own - cp_model.LinearExpr.sum(earned))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = limit_s
        seen = _Solutions(model.x, person.own, self.p.days)
        status = solver.solve(model.m, seen)
        columns = [
            (schedule, own, own - sum(prices.get(cell, 0.0) for cell in _cells(schedule)))
            for schedule, own in seen.found
        ]
        return _Priced(columns, status == cp_model.OPTIMAL)

    def _cell_prices(self, e: int) -> dict[tuple[int, int], float]:
        """What person ``e`` earns for working each (day, shift index) cell: the duals of the
        cover rows, plus those of the attribute covers they count towards."""
        prices: dict[tuple[int, int], float] = {}
        for cell, row in self.cover_rows:
            prices[cell] = prices.get(cell, 0.0) + row.dual_value()
        attributes = self.p.staff[e].attributes
        for a, row, cells in self.attribute_rows:
            if a.attribute in attributes:
                for cell in cells:
                    prices[cell] = prices.get(cell, 0.0) + row.dual_value()
        return prices

    def generate(self, deadline: float) -> tuple[float, str]:
        """Rounds of LP solve and pricing until no schedule improves the relaxation or the
        ``deadline``; always ends on a solve, so the LP's solution is the pool's. Returns the
        last relaxation's value (NaN if the LP could not be solved) and how it ended:
        "optimal" (every pricing proved that no schedule improves it), "stalled" (no schedule
        found improves it, but some pricing ran out of time) or "deadline"."""
        value = float("nan")
        with ThreadPoolExecutor(self.threads) as pool:
            while self.lp.Solve() == pywraplp.Solver.OPTIMAL:
                value = self.objective.Value()
                if time.perf_counter() >= deadline:
                    return value, "deadline"
                duals = [row.dual_value() for row in self.convex]
                todo = [e for e, person in enumerate(self.people) if person.fixed is None]
                prices = [self._cell_prices(e) for e in todo]  # read before the LP changes
                found = list(pool.map(lambda e, at: self._price(e, at, deadline), todo, prices))
                added = 0
                for e, result in zip(todo, found, strict=True):
                    for schedule, own, priced in result.columns:  # every improving one found
                        if priced < duals[e] - 1e-6:
                            added += self.add(e, schedule, own)
                log.debug("column generation: relaxation %.2f, %d schedules added", value, added)
                if not added:
                    if all(result.proved for result in found):
                        return value, "optimal"
                    if all(result.columns for result in found):
                        return value, "stalled"
                    break  # the deadline came during pricing
        if self.lp.Solve() == pywraplp.Solver.OPTIMAL:  # ends on a solve
            value = self.objective.Value()
        return value, "deadline"

    # -- diving ---------------------------------------------------------------------------------
    def dive(
        self, root_deadline: float, deadline: float, fix_share: float = FIX_SHARE
    ) -> list[Schedule] | None:
        """A roster by diving: solve the relaxation by column generation, fix the people whose
        schedule is whole in it and the ``fix_share`` most nearly whole of the others, and
        again, until everyone is fixed. At the ``deadline`` the unfixed people take their most
        nearly whole schedule. Returns one schedule per person; None if the first relaxation
        was not solved by ``root_deadline`` or its start alone took more than a
        ``ROOT_ROUNDS``-th of that (the week is too large for a dive in the time), or if someone
        has no schedule keeping their own rules."""
        # a start: everyone's cheapest schedule of their own. It costs about one round of
        # pricing, and the relaxation takes tens of rounds: a slow start means no dive in time
        now = time.perf_counter()
        start_deadline = now + (root_deadline - now) / ROOT_ROUNDS
        for e in range(len(self.people)):
            found = self._price(e, {}, start_deadline).columns
            if not found:
                log.info(
                    "dive given up: no schedule of their own for %s in time", self.p.staff[e].id
                )
                return None
            self.add(e, found[-1][0], found[-1][1])
        value, ended = self.generate(root_deadline)
        self.root = value if ended == "optimal" else None
        if ended == "deadline":
            log.info("dive given up: the relaxation was not solved in time (%.2f)", value)
            return None
        best = self._most_whole()
        while best and time.perf_counter() < deadline:
            whole = [e for e, (share, _) in best.items() if share >= 1 - 1e-6]
            rest = sorted(set(best) - set(whole), key=lambda e: -best[e][0])
            for e in whole + rest[: max(1, int(fix_share * len(best))) if rest else 0]:
                self.fix(e, best[e][1])
            if any(person.fixed is None for person in self.people):
                value, _ = self.generate(deadline)
            best = self._most_whole()
            log.debug("dive: %d people left to fix, relaxation %.2f", len(best), value)
        return [
            person.fixed if person.fixed is not None else best[e][1]
            for e, person in enumerate(self.people)
        ]

    def _most_whole(self) -> dict[int, tuple[float, Schedule]]:
        """Each unfixed person's schedule with the largest share in the relaxation's solution."""
        best: dict[int, tuple[float, Schedule]] = {}
        for e, person in enumerate(self.people):
            if person.fixed is None:
                share, schedule = max(
                    ((var.solution_value(), s) for s, var in person.vars.items()),
                    key=lambda pair: pair[0],
                )
                best[e] = (share, schedule)
        return best


def roster_of(problem: RosterProblem, schedules: list[Schedule]) -> dict[tuple[str, int], str]:
    """One schedule per person (in the problem's staff order) as (person, day) -> shift id."""
    return {
        (person.id, d): problem.shifts[k].id
        for person, schedule in zip(problem.staff, schedules, strict=True)
        for d, k in _cells(schedule)
    }


def greedy_roster(
    problem: RosterProblem, deadline: float, threads: int = 2
) -> dict[tuple[str, int], str]:
    """A quick start for a large week: person by person (``threads`` at a time), the schedule of
    their own (their hard rules and own costs, by the same pricing solve as the dive) that earns
    most from the cover still missing; the people not reached by the ``deadline`` work nothing.
    Skills and languages on duty are left to the search that follows."""
    from .model import person_model

    columns = ColumnGeneration(problem, person_model, threads)
    need: dict[tuple[int, int], int] = {}
    weight: dict[tuple[int, int], float] = {}
    for c in problem.covers:
        k = columns.shift_index.get(c.shift)
        if k is not None and 0 <= c.day < problem.days:
            need[c.day, k] = need.get((c.day, k), 0) + c.requirement
            weight[c.day, k] = max(weight.get((c.day, k), 0.0), float(c.under_weight))
    chosen: list[Schedule | None] = [None] * len(problem.staff)
    people = list(range(len(problem.staff)))
    with ThreadPoolExecutor(columns.threads) as pool:
        for first in range(0, len(people), columns.threads):
            if time.perf_counter() >= deadline:
                break
            batch = people[first : first + columns.threads]
            prices = {cell: weight[cell] for cell, left in need.items() if left > 0}
            priced = pool.map(columns._price, batch, [prices] * len(batch), [deadline] * len(batch))
            for e, found in zip(batch, priced, strict=True):
                if found.columns:
                    chosen[e] = found.columns[-1][0]
                    for cell in _cells(chosen[e]):
                        need[cell] = need.get(cell, 0) - 1
    return {
        (person.id, d): problem.shifts[k].id
        for person, schedule in zip(problem.staff, chosen, strict=True)
        if schedule is not None
        for d, k in _cells(schedule)
    }
