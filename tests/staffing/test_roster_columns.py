"""Column generation over people's schedules and the dive that starts the roster search."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from benchmarks.formats.curtois import objective, read_instance
from staffing.rostering import (
    AttributeCover,
    Cover,
    Infeasible,
    Request,
    RosterProblem,
    check,
    solve,
    solver,
)
from staffing.rostering.columns import ColumnGeneration, roster_of
from staffing.rostering.model import person_model
from tests.conftest import shared_path
from tests.staffing.test_roster import EARLY, LATE, person


def small_week() -> RosterProblem:
    """Four people, two shifts (no early after a late), uneven cover and a few requests."""
    staff = [
        person("ann", max_minutes=3 * 480, max_consecutive=5),
        person("bob", days_off={0, 1}, max_consecutive=5),
        person("cid", max_consecutive=3, min_consecutive_off=2),
        person("dee", min_minutes=3 * 480, max_shifts={"L": 2}, max_consecutive=5),
    ]
    need = {"E": [2, 2, 1, 2, 2, 1, 1], "L": [1, 1, 2, 1, 1, 1, 0]}
    covers = [
        Cover(d, shift, n, 100 if shift == "E" else 60, 5)
        for shift, row in need.items()
        for d, n in enumerate(row)
    ]
    requests = [
        Request("ann", 3, None, False, 40),
        Request("bob", 4, "L", True, 30),
        Request("cid", 2, "E", False, 20),
        Request("dee", 6, None, False, 50),
    ]
    return RosterProblem(7, [EARLY, LATE], staff, covers, requests=requests)


def dive(problem: RosterProblem, root_s: float = 20, total_s: float = 30):
    columns = ColumnGeneration(problem, person_model, threads=2)
    now = time.perf_counter()
    return columns, columns.dive(now + root_s, now + total_s)


def test_the_relaxation_bounds_the_optimum_and_the_dive_keeps_every_rule():
    """The relaxation the dive solves first is a lower bound of the best roster (proved optimal
    by CP-SAT on the whole model); the dive's roster keeps every hard rule and costs at least
    the optimum; every schedule in the pool carries its person's own cost, recomputed."""
    problem = small_week()
    best = solve(problem, time_limit_s=20, workers=2, dive=False)
    assert best.status == "OPTIMAL"
    columns, schedules = dive(problem)
    assert schedules is not None and columns.root is not None
    assignment = roster_of(problem, schedules)
    assert check(problem, assignment) == []
    assert columns.root <= best.objective + 1e-6 <= objective(problem, assignment) + 1e-6
    assert columns.root > 0  # the cover cannot all be met: the bound is not a trivial one
    for member, pool in zip(problem.staff, (p.pool for p in columns.people), strict=True):
        own = replace(
            problem, covers=[], requests=[r for r in problem.requests if r.staff == member.id]
        )
        lone = replace(own, staff=[member])
        assert len(pool) >= 1
        for schedule, cost in pool.items():
            mine = roster_of(lone, [schedule])
            assert check(lone, mine) == []
            assert cost == objective(own, mine)


def test_a_dive_is_given_up_when_there_is_no_time_for_its_relaxation():
    columns, schedules = dive(small_week(), root_s=0, total_s=10)
    assert schedules is None and columns.root is None


def test_someone_who_cannot_keep_their_own_rules_stops_the_dive_and_is_explained():
    problem = small_week()
    problem.staff[3] = person("dee", min_minutes=2 * 480, days_off=set(range(7)))
    _, schedules = dive(problem)
    assert schedules is None
    with pytest.raises(Infeasible) as caught:
        solve(problem, time_limit_s=10, workers=2)
    assert any(v.agent == "dee" for v in caught.value.violations)


def test_a_hard_language_cover_steers_the_dive():
    """Only two people speak Polish and one must be on the early shift every day: the
    relaxation prices that in, so the dive's roster already has them there."""
    problem = small_week()
    problem.staff[1] = replace(problem.staff[1], days_off=set())
    for k in (0, 2):
        problem.staff[k] = replace(problem.staff[k], attributes=frozenset({"lang:pl"}))
    problem.staff[0].max_minutes = 5 * 480
    problem.attribute_covers = [
        AttributeCover(d, frozenset({"E"}), "lang:pl", 1, f"day {d}: no Polish speaker")
        for d in range(7)
    ]
    problem.staff[2].max_consecutive = 5
    problem.staff[2].min_consecutive_off = 1
    _, schedules = dive(problem)
    assignment = roster_of(problem, schedules)
    assert check(problem, assignment) == []
    for d in range(7):
        assert any(assignment.get((name, d)) == "E" for name in ("ann", "cid")), d


def test_the_dive_on_a_curtois_instance():
    """On Instance1 the relaxation is at most the proven optimum (607) and the dive's roster
    keeps every rule of the benchmark."""
    problem = read_instance(shared_path("benchmarks", "curtois_shift_scheduling", "Instance1.txt"))
    columns, schedules = dive(problem)
    assert schedules is not None and columns.root <= 607 + 1e-6
    assignment = roster_of(problem, schedules)
    assert check(problem, assignment) == []
    assert objective(problem, assignment) >= 607


def test_solve_starts_from_the_dive_unless_relaxing(monkeypatch):
    """The whole-model search is hinted with the dive's roster; explaining an infeasible week
    (the relaxed model) does not dive."""
    calls = []
    real = solver._dive

    def spy(*args):
        calls.append(args[0])
        return real(*args)

    monkeypatch.setattr(solver, "_dive", spy)
    problem = small_week()
    result = solve(problem, time_limit_s=10, workers=2)
    assert calls == [problem] and check(problem, result.assignment) == []
    calls.clear()
    solve(problem, time_limit_s=5, workers=2, relax=True)
    solve(problem, time_limit_s=5, workers=2, dive=False)
    assert calls == []
