"""Locked cells (RosterProblem.fixed): a person's day fixed to a shift or off holds in every
solver path — the dive, CP-SAT, the neighbourhood search, large weeks and the relaxed model that
explains an impossible week — even when the objective would rather not."""

from __future__ import annotations

import random
import time
from dataclasses import replace

import pytest

from staffing.rostering import (
    CLOSED_DAY,
    DAY_OFF,
    LOCKED,
    Cover,
    Infeasible,
    RosterProblem,
    Violation,
    check,
    solve,
)
from staffing.rostering.columns import ColumnGeneration, greedy_roster, roster_of
from staffing.rostering.model import Model, person_model
from staffing.rostering.neighbourhood import search
from tests.staffing.test_roster import DAY, EARLY, LATE, large_week, person

# ann works the early shift every weekday if she may: the cover wants her there, heavily
FIXED = {("ann", 1): None, ("ann", 3): "L"}


def wanted_early() -> RosterProblem:
    staff = [person("ann", max_minutes=5 * 480), person("bob", max_minutes=5 * 480)]
    covers = [Cover(d, "E", 2, 1000, 1) for d in range(5)] + [
        Cover(d, "L", 0, 1, 1000) for d in range(5)
    ]
    return RosterProblem(7, [EARLY, LATE], staff, covers)


def kept(assignment: dict) -> bool:
    return ("ann", 1) not in assignment and assignment.get(("ann", 3)) == "L"


def test_the_objective_alone_would_break_the_locks():
    free = solve(wanted_early(), time_limit_s=5, workers=2)
    assert not kept(free.assignment)  # both work every weekday early without the locks


@pytest.mark.parametrize(
    "options",
    [{}, {"lns": False}, {"dive": False}, {"relax": True}],
    ids=["dive+cp-sat+search", "cp-sat", "no-dive", "relaxed"],
)
def test_every_path_of_a_small_week_keeps_the_locked_cells(options):
    problem = replace(wanted_early(), fixed=FIXED)
    result = solve(problem, time_limit_s=5, workers=2, **options)
    assert kept(result.assignment)
    assert check(problem, result.assignment) == []
    # otherwise the best it can: bob early all week, ann early on Monday and Wednesday (not on
    # Friday: no early after Thursday's late)
    assert all(result.assignment.get(("bob", d)) == "E" for d in range(5))
    assert [result.assignment.get(("ann", d)) for d in range(5)] == ["E", None, "E", "L", None]


def test_the_dive_and_the_greedy_start_keep_the_locked_cells():
    problem = replace(wanted_early(), fixed=FIXED)
    columns = ColumnGeneration(problem, person_model, threads=2)
    now = time.perf_counter()
    schedules = columns.dive(now + 10, now + 15)
    assert schedules is not None and kept(roster_of(problem, schedules))
    assert kept(greedy_roster(problem, time.perf_counter() + 10))


def test_the_neighbourhood_search_keeps_the_locked_cells():
    """From a roster keeping the locks, every move the search makes keeps them too."""
    problem = replace(wanted_early(), fixed=FIXED)
    model = Model(problem, relax=False, flow=False)
    model.build()
    start = {("ann", 3): "L"}  # a poor start: only the locked shift
    values = {
        var.index: int(start.get((problem.staff[e].id, d)) == problem.shifts[k].id)
        for (e, d, k), var in model.x.items()
    }
    values, _objective = search(model, values, 1e9, 0, time.perf_counter() + 4, 2, seed=3)
    assignment = {
        (problem.staff[e].id, d): problem.shifts[k].id
        for (e, d, k), var in model.x.items()
        if values[var.index]
    }
    assert kept(assignment) and check(problem, assignment) == []
    assert len(assignment) > 5  # it did move: bob's week filled in


def test_a_large_week_keeps_the_locked_cells():
    problem = large_week(people=40)
    rng = random.Random(5)
    locks = {(f"p{i:03d}", rng.randrange(5)): None for i in range(0, 40, 4)}
    locks[("p001", 6)] = "S06"  # a Sunday nobody is planned on
    problem = replace(problem, fixed=locks)
    result = solve(problem, time_limit_s=6, workers=2)
    assert check(problem, result.assignment) == []
    for (name, day), shift in locks.items():
        assert result.assignment.get((name, day)) == shift


def test_a_lock_that_makes_the_week_impossible_is_explained_by_the_rule_and_person():
    """bob is locked to work his day off: the explanation breaks the day off (the lock never
    gives), names bob, and its roster keeps the lock."""
    problem = RosterProblem(
        7,
        [DAY],
        [person("bob", days_off={2})],
        [Cover(d, "D", 1, 100, 1) for d in range(5)],
        fixed={("bob", 2): "D"},
    )
    with pytest.raises(Infeasible) as caught:
        solve(problem, time_limit_s=5, workers=2)
    assert [(v.rule, v.agent, v.day) for v in caught.value.violations] == [(DAY_OFF, "bob", 2)]
    assert caught.value.roster.assignment[("bob", 2)] == "D"


def test_a_lock_no_roster_can_keep_is_refused_before_solving():
    problem = RosterProblem(
        7,
        [DAY],
        [person("ann")],
        [Cover(d, "D", 1, 100, 1) for d in range(5)],
        closed_days=frozenset({6}),
        fixed={("ann", 6): "D", ("ann", 2): "N", ("nobody", 1): "D"},
    )
    with pytest.raises(Infeasible) as caught:
        solve(problem, time_limit_s=5, workers=2)
    assert caught.value.violations == [
        Violation(
            day=2,
            rule=LOCKED,
            agent="ann",
            detail="is locked to N on day 2, a shift the week does not have",
        ),
        Violation(
            day=6, rule=CLOSED_DAY, agent="ann", detail="is locked to D on day 6, a closed day"
        ),
    ]


def test_check_names_each_locked_cell_a_roster_changed():
    problem = RosterProblem(
        7,
        [EARLY, LATE],
        [person("ann")],
        [],
        fixed={("ann", 0): None, ("ann", 1): "E", ("ann", 2): "L"},
    )
    broken = check(problem, {("ann", 0): "E", ("ann", 2): "E"})
    assert broken == [
        Violation(day=0, rule=LOCKED, agent="ann", detail="works E on day 0, a day locked off"),
        Violation(day=1, rule=LOCKED, agent="ann", detail="is off on day 1, locked to E"),
        Violation(day=2, rule=LOCKED, agent="ann", detail="works E on day 2, locked to L"),
    ]
    assert str(broken[1]) == "ann is off on day 1, locked to E"
    assert check(problem, {("ann", 1): "E", ("ann", 2): "L"}) == []
