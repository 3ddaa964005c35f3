"""Solving a roster: a column-generation dive, CP-SAT on the whole model, then (on small weeks)
a neighbourhood search; an infeasible week is explained by the relaxed model."""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from . import neighbourhood
from .columns import ColumnGeneration, roster_of
from .model import Model, person_model
from .problem import CONTRADICTION, Infeasible, RosterProblem, RosterResult, Violation

FIRST_PHASE = 0.3  # share of the time limit for the whole-model solve before neighbourhood search
# people x days x shift types up to which the model gets run flows and a neighbourhood search
FLOW_MAX_CELLS = 2_500
DIVE_SHARE = 0.75  # share of the time limit the column-generation dive may take at most
ROOT_SHARE = 0.3  # ... and its first relaxation: unsolved by then, the dive is given up
_CONTRADICTION = Violation(rule=CONTRADICTION, detail="the rules contradict each other")
_CONTRADICTION_UNEXPLAINED = Violation(
    rule=CONTRADICTION,
    detail="the rules contradict each other (no explanation found in time: try a longer time limit)",
)


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
    model = Model(problem, relax, flow=small)
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
        lean = Model(problem, relax, flow=False)  # windows' sub-problems: faster without flows
        lean.build()
        values, objective = neighbourhood.search(
            lean, values, objective, bound, started + time_limit_s, workers, seed
        )
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if status == cp_model.INFEASIBLE and not relax:
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
    fixed = model.m.clone()
    for var in model.x.values():
        fixed.add(fixed.get_bool_var_from_proto_index(var.index) == values[var.index])
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 10
    if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return [_CONTRADICTION]
    return [
        violation
        for slack, violation in model.slacks
        if solver.value(fixed.get_int_var_from_proto_index(slack.index))
    ]
