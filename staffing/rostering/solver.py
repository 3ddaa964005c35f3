"""Solving a roster: a column-generation dive, CP-SAT on the whole model, then a neighbourhood
search (small weeks: over people and windows of days; large weeks: over a few people at a time,
on the relaxed model when no roster keeping every rule was found); an infeasible week is explained
by the relaxed model."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from . import neighbourhood
from .columns import ColumnGeneration, greedy_roster, roster_of
from .model import Model, person_model
from .problem import (
    CONTRADICTION,
    Infeasible,
    RosterProblem,
    RosterResult,
    Violation,
    fixed_conflicts,
    with_fixed,
)

FIRST_PHASE = 0.3  # share of the time limit for the whole-model solve before neighbourhood search
# people x days x shift types up to which the model gets run flows and a neighbourhood search
FLOW_MAX_CELLS = 2_500
DIVE_SHARE = 0.75  # share of the time limit the column-generation dive may take at most
ROOT_SHARE = 0.3  # ... and its first relaxation: unsolved by then, the dive is given up
GREEDY_SHARE = 0.3  # large weeks without a dive: at most this share of the time for a greedy start
LARGE_FIRST = 0.4  # large weeks: share of the time after the dive for CP-SAT on the whole week
_CONTRADICTION = Violation(rule=CONTRADICTION, detail="the rules contradict each other")
_CONTRADICTION_UNEXPLAINED = Violation(
    rule=CONTRADICTION,
    detail="the rules contradict each other (no explanation found in time: try a longer time limit)",
)


def solve(
    problem: RosterProblem,
    time_limit_s: float = 30.0,
    workers: int | None = None,
    relax: bool = False,
    hint: dict[tuple[str, int], str] | None = None,
    lns: bool = True,
    seed: int = 0,
    dive: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> RosterResult:
    """The best roster found within ``time_limit_s``: a column-generation dive first (``dive``;
    its roster is CP-SAT's starting point), CP-SAT on the whole week next, then (``lns``) a
    neighbourhood search around its best roster for the rest of the time; large weeks (more than
    ``FLOW_MAX_CELLS`` people x days x shift types) are solved by :func:`_solve_large`, which may
    raise :class:`NoRosterInTime` with the closest roster it found. ``workers``: CP-SAT's
    threads, by default the CPUs this process may use (more threads than cores found worse
    rosters in the same time: the demo's week at 5 s found none with 8 threads on 2 cores, one
    with 2). ``on_stage`` hears each stage as it starts ("column-generation dive", ...).
    The problem's fixed cells hold in every stage; one no roster can keep (a shift the week does
    not have, work on a closed day) raises :class:`Infeasible` at once."""
    started = time.perf_counter()
    workers = workers or len(os.sched_getaffinity(0))
    stage = on_stage or (lambda _name: None)
    conflicts = fixed_conflicts(problem)
    if conflicts:
        raise Infeasible(conflicts)
    if dive and not relax and hint is None:
        stage("column-generation dive")
        hint = _dive(
            problem,
            started + ROOT_SHARE * time_limit_s,
            started + DIVE_SHARE * time_limit_s,
            workers,
        )
    left_s = max(started + time_limit_s - time.perf_counter(), 1.0)
    cells = problem.days * len(problem.staff) * len(problem.shifts)
    if not relax and lns and cells > FLOW_MAX_CELLS:
        return _solve_large(problem, hint, started, started + time_limit_s, workers, seed, stage)
    # the run flows tighten the bound a lot but add ~30 variables per x, and the windows'
    # sub-problems solve in time: both pay on small weeks only. Here on: small weeks, the relaxed
    # model (explanations) and ``lns=False`` (CP-SAT alone)
    small = cells <= FLOW_MAX_CELLS
    lns = lns and small
    model = Model(problem, relax, flow=small)
    model.build()
    if relax and not hint:
        hint = {}  # nobody works (but the fixed cells): a solution of the relaxed model
    if hint is not None:
        hint = with_fixed(problem, hint)
        index = {s.id: k for k, s in enumerate(problem.shifts)}
        for e, person in enumerate(problem.staff):
            for d in range(problem.days):
                chosen = hint.get((person.id, d))
                for k in range(len(problem.shifts)):
                    model.m.add_hint(
                        model.x[e, d, k], 1 if chosen is not None and index.get(chosen) == k else 0
                    )
    stage("explaining the rules that must give" if relax else "CP-SAT on the whole week")
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
        stage("neighbourhood search")
        lean = Model(problem, relax, flow=False)  # windows' sub-problems: faster without flows
        lean.build()
        values, objective = neighbourhood.search(
            lean, values, objective, bound, started + time_limit_s, workers, seed
        )
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if status == cp_model.INFEASIBLE and not relax:
            stage("explaining the rules that must give")
            try:
                explanation = solve(problem, time_limit_s, workers, relax=True)
            except RuntimeError:
                raise Infeasible([_CONTRADICTION_UNEXPLAINED]) from None
            raise Infeasible(explanation.violations or [_CONTRADICTION], explanation)
        raise RuntimeError(f"no roster found in {time_limit_s:g} s ({name})")
    assignment = {}
    for (e, d, k), var in model.x.items():
        if values[var.index]:
            assignment[problem.staff[e].id, d] = problem.shifts[k].id
    if searched and model.slacks:  # the search's roster: which relaxed rules it breaks
        violations = _broken_slacks(model, values)
    else:
        violations = [violation for slack, violation in model.slacks if solver.value(slack)]
    return RosterResult(
        assignment,
        "OPTIMAL" if objective <= bound else name,
        objective,
        bound,
        time.perf_counter() - started,
        violations,
    )


class NoRosterInTime(RuntimeError):
    """No roster keeping every hard rule was found in the time given; ``roster`` (when there is
    one) is the closest found, its ``violations`` the rules it breaks. Not a proof that none
    exists (that is :class:`Infeasible`)."""

    def __init__(self, message: str, roster: RosterResult | None = None):
        super().__init__(message)
        self.roster = roster


def _solve_large(
    problem: RosterProblem,
    hint: dict[tuple[str, int], str] | None,
    started: float,
    deadline: float,
    workers: int,
    seed: int,
    stage: Callable[[str], None],
) -> RosterResult:
    """A large week. The start is the dive's roster, or without one a greedy roster (each
    person's own best schedule for the cover still missing, :func:`greedy_roster`). CP-SAT on
    the whole model from it for a share of the time; with a roster found, a neighbourhood search
    that re-rosters a few people at a time, each move exact, for the rest: people interact only
    through the cover, so a move is a small model whatever the team's size. Without one, the same
    search on the relaxed model (every hard rule a heavily penalised slack, so the start is a
    roster too), half its moves among the people whose rules the roster breaks. A roster whose
    slacks are all zero keeps every rule; otherwise :class:`NoRosterInTime` carries the closest
    roster and what it breaks. A week CP-SAT proves impossible is explained as on small
    weeks."""
    if not hint:  # no dive in the time: a greedy roster person by person as the start
        stage("greedy start")
        hint = greedy_roster(
            problem, time.perf_counter() + GREEDY_SHARE * (deadline - time.perf_counter()),
            threads=min(workers, 2),
        )  # fmt: skip
    start = with_fixed(problem, hint or {})
    index = {s.id: k for k, s in enumerate(problem.shifts)}

    def hinted(model: Model) -> dict[int, int]:
        return {
            var.index: int(index.get(start.get((problem.staff[e].id, d), "")) == k)
            for (e, d, k), var in model.x.items()
        }

    model = Model(problem, relax=False, flow=False)
    model.build()
    if start:
        first = hinted(model)
        for var in model.x.values():
            model.m.add_hint(var, first[var.index])
    stage("CP-SAT on the whole week")
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max((deadline - time.perf_counter()) * LARGE_FIRST, 1.0)
    solver.parameters.num_workers = workers
    status = solver.solve(model.m)
    if status == cp_model.INFEASIBLE:
        stage("explaining the rules that must give")
        try:
            explanation = solve(problem, deadline - started, workers, relax=True)
        except RuntimeError:
            raise Infeasible([_CONTRADICTION_UNEXPLAINED]) from None
        raise Infeasible(explanation.violations or [_CONTRADICTION], explanation)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = {var.index: solver.value(var) for var in model.x.values()}
        objective, bound = solver.objective_value, solver.best_objective_bound
    else:  # no roster keeping every rule yet: search from the start on the relaxed model
        model = Model(problem, relax=True, flow=False)
        model.build()
        values = hinted(model)
        objective, bound = math.inf, 0.0  # every term of the objective is >= 0
    if objective > bound:
        stage("neighbourhood search")
        values, objective = neighbourhood.search(
            model, values, objective, bound, deadline, workers, seed, windows=False
        )
    assignment = {
        (problem.staff[e].id, d): problem.shifts[k].id
        for (e, d, k), var in model.x.items()
        if values[var.index]
    }
    objective, violations = _evaluate(model, values)
    result = RosterResult(
        assignment,
        "OPTIMAL" if objective <= bound else "FEASIBLE",
        objective,
        bound,
        time.perf_counter() - started,
        violations,
    )
    if violations:
        raise NoRosterInTime(
            f"no roster keeping every rule found in {deadline - started:.0f} s; the closest breaks"
            f" {len(violations)} rule(s)",
            result,
        )
    return result


def _dive(
    problem: RosterProblem, root_deadline: float, deadline: float, workers: int
) -> dict[tuple[str, int], str] | None:
    """The roster of a column-generation dive (``columns``) as a hint, or None
    if the dive was given up."""
    columns = ColumnGeneration(problem, person_model, threads=min(workers, 2))
    schedules = columns.dive(root_deadline, deadline)
    return None if schedules is None else roster_of(problem, schedules)


def _broken_slacks(model: Model, values: dict[int, int]) -> list[Violation]:
    """The relaxed rules the roster ``values`` breaks (slacks re-solved with the roster fixed)."""
    return _evaluate(model, values)[1]


def _evaluate(model: Model, values: dict[int, int]) -> tuple[float, list[Violation]]:
    """The objective of the roster ``values`` and the relaxed rules it breaks (the model solved
    with every x fixed)."""
    fixed = model.m.clone()
    fixed.clear_hints()
    for var in model.x.values():
        fixed.add(fixed.get_bool_var_from_proto_index(var.index) == values[var.index])
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 10
    if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return math.inf, [_CONTRADICTION]
    return solver.objective_value, [
        violation
        for slack, violation in model.slacks
        if solver.value(fixed.get_int_var_from_proto_index(slack.index))
    ]
