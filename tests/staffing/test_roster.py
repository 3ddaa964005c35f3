"""The roster engine: each hard rule, provoked on purpose, is impossible in the output."""

from __future__ import annotations

import random
import time

import pytest
from ortools.sat.python import cp_model

from benchmarks.formats.curtois import objective, read_instance
from staffing.rostering import (
    ATTRIBUTE_COVER,
    DAY_OFF,
    MAX_CONSECUTIVE,
    REST,
    SHIFT_LIMIT,
    AttributeCover,
    Cover,
    Infeasible,
    Request,
    RosterProblem,
    RosterShift,
    Staff,
    Violation,
    check,
    solve,
)
from staffing.rostering.model import Model
from staffing.rostering.neighbourhood import pick_people, search, short_days
from tests.conftest import shared_path

DAY = RosterShift("D", 480, 8 * 60, 16 * 60, frozenset())
LATE = RosterShift("L", 480, 14 * 60, 22 * 60, frozenset({"E"}))
EARLY = RosterShift("E", 480, 6 * 60, 14 * 60, frozenset())


def covers(shift: str, need: int, days: int = 7, under: int = 100) -> list[Cover]:
    return [Cover(d, shift, need, under, 1) for d in range(days)]


def person(name: str, **kw) -> Staff:
    defaults = {"max_minutes": 5 * 480, "min_minutes": 0, "max_consecutive": 6}
    defaults.update(kw)
    return Staff(name, **defaults)


def run(problem: RosterProblem, **kw):
    result = solve(problem, time_limit_s=10, workers=2, **kw)
    assert check(problem, result.assignment) == []
    return result


def test_demand_pulls_people_in_but_never_past_their_rules():
    staff = [
        person("ann", max_minutes=3 * 480),
        person("bob", days_off={2, 3}),
        person("cid", max_consecutive=2),
    ]
    problem = RosterProblem(7, [DAY], staff, covers("D", 3))
    result = run(problem)
    worked = {
        name: [d for d in range(7) if (name, d) in result.assignment]
        for name in ("ann", "bob", "cid")
    }
    assert len(worked["ann"]) == 3  # contract maximum
    assert not {2, 3} & set(worked["bob"])  # days off
    days = set(worked["cid"])
    assert not any({d, d + 1, d + 2} <= days for d in range(5))  # never 3 days in a row
    assert len(days) >= 4  # but as many as the rule allows
    assert all(len(set(worked[n])) == len(worked[n]) for n in worked)  # one shift a day


def test_minimum_rest_forbids_late_then_early():
    staff = [person("ann", min_minutes=5 * 480, max_minutes=5 * 480)]
    problem = RosterProblem(
        7, [LATE, EARLY], staff, covers("L", 1, under=5) + covers("E", 1, under=50)
    )
    result = run(problem)
    days = [result.assignment.get(("ann", d)) for d in range(7)]
    assert all(not (a == "L" and b == "E") for a, b in zip(days, days[1:], strict=False))


def test_rest_and_streak_carry_over_from_last_week():
    staff = [person("ann", prior_forbidden=frozenset({"E"}), prior_streak=5, max_consecutive=6)]
    problem = RosterProblem(7, [EARLY, DAY], staff, covers("E", 1) + covers("D", 1, under=1))
    result = run(problem)
    assert result.assignment.get(("ann", 0)) != "E"  # too soon after last week's late shift
    assert ("ann", 1) not in result.assignment or (
        "ann",
        0,
    ) not in result.assignment  # 5 + 2 > 6 in a row


def test_two_consecutive_days_off_and_minimum_hours():
    staff = [person("ann", min_minutes=5 * 480, max_minutes=6 * 480)]
    problem = RosterProblem(7, [DAY], staff, covers("D", 1, under=1000), two_days_off_in_a_row=True)
    result = run(problem)
    worked = [("ann", d) in result.assignment for d in range(7)]
    assert sum(worked) == 5
    assert any(not worked[d] and not worked[d + 1] for d in range(6))


def test_languages_on_duty_are_hard():
    staff = [
        person("it1", attributes=frozenset({"lang:it"})),
        person("pl1", attributes=frozenset({"lang:pl"})),
    ]
    need = [
        AttributeCover(d, frozenset({"D"}), "lang:pl", 1, f"day {d}: needs a Polish speaker")
        for d in range(5)
    ]
    problem = RosterProblem(7, [DAY], staff, covers("D", 1, under=1), attribute_covers=need)
    result = run(problem)
    assert all(result.assignment.get(("pl1", d)) == "D" for d in range(5))


def test_infeasible_week_is_explained_rule_by_rule():
    staff = [person("pl1", attributes=frozenset({"lang:pl"}), max_minutes=3 * 480)]
    need = [
        AttributeCover(
            d, frozenset({"D"}), "lang:pl", 1, f"Tuesday {d}: needs 1 Polish speaker on duty"
        )
        for d in range(5)
    ]
    problem = RosterProblem(7, [DAY], staff, covers("D", 1), attribute_covers=need)
    with pytest.raises(Infeasible) as info:
        solve(problem, time_limit_s=10, workers=2)
    violations = info.value.violations
    assert len(violations) == 2  # 5 days needed, 3 shifts allowed
    for v in violations:  # each names its rule and day, and reads as the cover's label
        assert (v.rule, v.agent, v.time) == (ATTRIBUTE_COVER, None, None) and v.day in range(5)
        assert str(v) == f"Tuesday {v.day}: needs 1 Polish speaker on duty"
    relaxed = solve(problem, time_limit_s=10, workers=2, relax=True)
    assert len(relaxed.assignment) == 3 and len(relaxed.violations) == 2
    # the explanation's roster comes with it: a best-effort caller needs no second solve
    assert info.value.roster is not None
    assert len(info.value.roster.assignment) == 3 and info.value.roster.violations == violations


def test_check_returns_each_broken_rule_as_data():
    """A roster breaking rules on purpose: check names each rule, person, day and moment, and a
    violation's str() is the sentence shown to people."""
    staff = [
        person("ann", days_off={2}, max_shifts={"L": 1}, max_consecutive=2, prior_streak=1),
        person("pl1", attributes=frozenset({"lang:pl"})),
    ]
    need = [
        AttributeCover(
            0,
            frozenset({"E"}),
            "lang:pl",
            1,
            "needs 1 Polish speaker on duty",
            time="18:00",
            day_name="Monday 2026-11-23",
        )
    ]
    problem = RosterProblem(7, [LATE, EARLY], staff, [], attribute_covers=need)
    broken = check(problem, {("ann", 0): "L", ("ann", 1): "E", ("ann", 2): "L"})
    assert broken == [
        Violation(day=2, rule=DAY_OFF, agent="ann", detail="works day off 2"),
        Violation(rule=SHIFT_LIMIT, agent="ann", detail="has 2 L shifts > 1"),
        Violation(day=1, rule=REST, agent="ann", detail="E after L on day 0"),
        Violation(day=0, rule=MAX_CONSECUTIVE, agent="ann", detail="works 4 days in a row"),
        Violation(
            day=0,
            time="18:00",
            rule=ATTRIBUTE_COVER,
            detail="needs 1 Polish speaker on duty: 0 < 1",
            day_name="Monday 2026-11-23",
        ),
    ]
    assert [str(v) for v in broken] == [
        "ann works day off 2",
        "ann has 2 L shifts > 1",
        "ann: E after L on day 0",
        "ann works 4 days in a row",
        "Monday 2026-11-23 18:00: needs 1 Polish speaker on duty: 0 < 1",
    ]


def test_fairness_moves_weekends_to_whoever_had_fewer():
    weekend = [(5, 6)]
    staff = [person("busy", prior_weekends=3), person("rested", prior_weekends=0)]
    cover = [Cover(5, "D", 1, 100, 1), Cover(6, "D", 1, 100, 1)]
    problem = RosterProblem(7, [DAY], staff, cover, weekends=weekend, fairness_weight=10)
    result = run(problem)
    assert (
        result.assignment.get(("rested", 5)) == "D" and result.assignment.get(("rested", 6)) == "D"
    )
    # the next week the counts have moved: the other person takes the weekend
    staff2 = [person("busy", prior_weekends=3), person("rested", prior_weekends=4)]
    result2 = run(RosterProblem(7, [DAY], staff2, cover, weekends=weekend, fairness_weight=10))
    assert result2.assignment.get(("busy", 5)) == "D"


def test_requests_and_stability_are_soft_goals():
    staff = [person("ann", min_minutes=5 * 480, max_minutes=5 * 480)]
    problem = RosterProblem(
        7,
        [DAY, EARLY],
        staff,
        covers("D", 1, under=10) + covers("E", 1, under=10),
        requests=[Request("ann", 2, None, False, 50)],
        stability_weight=30,
    )
    result = run(problem)
    assert ("ann", 2) not in result.assignment
    assert len({result.assignment[k] for k in result.assignment}) == 1  # same start all week


@pytest.mark.parametrize("name, best", [("Instance1.txt", 607)])
def test_curtois_instance_reaches_the_best_known_value(name, best):
    problem = read_instance(shared_path("benchmarks", "curtois_shift_scheduling", name))
    result = solve(problem, time_limit_s=30, workers=2)
    assert check(problem, result.assignment) == []
    assert objective(problem, result.assignment) == best


def test_curtois_reader_reads_every_section():
    problem = read_instance(shared_path("benchmarks", "curtois_shift_scheduling", "Instance3.txt"))
    assert (problem.days, len(problem.staff), len(problem.shifts)) == (14, 20, 3)
    assert problem.weekends == [(5, 6), (12, 13)]
    assert any(r.on for r in problem.requests) and any(not r.on for r in problem.requests)
    assert all(c.under_weight > 0 for c in problem.covers)


@pytest.mark.parametrize("seed", range(12))
def test_run_flows_cut_off_no_roster(seed):
    """The run-length flows only tighten the bound: with and without them the optimum is the
    same, on random small weeks with every run rule, boundary handling and last week's streak."""
    rng = random.Random(seed)
    days = rng.choice([7, 9, 10])
    staff = [
        person(
            f"p{i}",
            max_minutes=rng.randint(3, 6) * 480,
            min_minutes=rng.randint(0, 3) * 480,
            max_consecutive=rng.randint(2, 5),
            min_consecutive=rng.randint(1, 3),
            min_consecutive_off=rng.randint(1, 3),
            prior_streak=rng.randint(0, 4),
            days_off={rng.randrange(days)},
        )
        for i in range(3)
    ]
    requests = [
        Request(
            f"p{rng.randrange(3)}",
            rng.randrange(days),
            rng.choice([None, "D", "E"]),
            rng.random() < 0.5,
            rng.randint(1, 5),
        )
        for _ in range(6)
    ]
    problem = RosterProblem(
        days,
        [DAY, EARLY, LATE],
        staff,
        [Cover(d, s, rng.randint(0, 2), 10, 1) for d in range(days) for s in "DEL"],
        requests=requests,
        weekends=[(5, 6)],
        boundary_min_rules=rng.random() < 0.5,
    )
    objectives = []
    for flow in (False, True):
        model = Model(problem, relax=False, flow=flow)
        model.build()
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 2
        solver.parameters.max_time_in_seconds = 20
        status = solver.solve(model.m)
        assert status in (cp_model.OPTIMAL, cp_model.INFEASIBLE)
        objectives.append(solver.objective_value if status == cp_model.OPTIMAL else None)
    assert objectives[0] == objectives[1]


def test_neighbourhood_search_reports_the_roster_it_returns():
    """From a quick first roster, the search only moves to rosters no worse, and the objective
    it reports is the roster's own (recomputed independently); every hard rule still holds."""
    problem = read_instance(shared_path("benchmarks", "curtois_shift_scheduling", "Instance5.txt"))
    first = solve(problem, time_limit_s=2, workers=2, lns=False)
    start = objective(problem, first.assignment)
    model = Model(problem, relax=False, flow=False)
    model.build()
    values = {
        var.index: int(first.assignment.get((problem.staff[e].id, d)) == problem.shifts[k].id)
        for (e, d, k), var in model.x.items()
    }
    values, found = search(model, values, start, first.bound, time.perf_counter() + 8, 2, seed=1)
    assignment = {
        (problem.staff[e].id, d): problem.shifts[k].id
        for (e, d, k), var in model.x.items()
        if values[var.index]
    }
    assert check(problem, assignment) == []
    assert found == objective(problem, assignment) <= start


def test_targeted_moves_start_from_a_day_short_of_cover():
    """The search aims half its moves at a day short of cover: the days found are exactly those,
    and the people chosen include someone off that day who may work it."""
    staff = [person("ann"), person("bob", days_off={3}), person("cid"), person("dee")]
    need = [2, 2, 2, 3, 2, 2, 2]
    problem = RosterProblem(7, [DAY], staff, [Cover(d, "D", n, 100, 1) for d, n in enumerate(need)])
    model = Model(problem, relax=False, flow=False)
    model.build()
    works = {("ann", d) for d in range(7)} | {("cid", d) for d in (0, 1, 2, 4, 5, 6)}
    works |= {("dee", 3)}
    values = {
        var.index: int((problem.staff[e].id, d) in works) for (e, d, _k), var in model.x.items()
    }
    assert short_days(model, values) == [3]  # 2 of 3 on Thursday, 2 of 2 elsewhere
    rng = random.Random(7)
    for _ in range(20):
        chosen = pick_people(model, values, 2, 3, rng)
        assert len(chosen) == 2 and 2 in chosen  # cid: off on Thursday, may work it (bob may not)
    assert len(pick_people(model, values, 3, None, rng)) == 3


def test_a_closed_day_is_never_worked_even_when_rules_must_give():
    """A closed day is not a day off the relaxation may break: with a minimum only a closed day
    could reach, the explanation breaks the minimum, never the closed day."""
    from staffing.rostering import CLOSED_DAY, MIN_HOURS

    staff = [person("ann", min_minutes=7 * 480, max_minutes=7 * 480, max_consecutive=7)]
    problem = RosterProblem(7, [DAY], staff, covers("D", 1), closed_days=frozenset({3}))
    with pytest.raises(Infeasible) as caught:
        solve(problem, time_limit_s=10, workers=2)
    assert [v.rule for v in caught.value.violations] == [MIN_HOURS]
    assert ("ann", 3) not in caught.value.roster.assignment
    assert len(caught.value.roster.assignment) == 6
    assert check(problem, {("ann", 3): "D"}) == [
        Violation(day=3, rule=CLOSED_DAY, agent="ann", detail="works on day 3, a closed day"),
        Violation(rule=MIN_HOURS, agent="ann", detail="works 480 minutes, outside [3360, 3360]"),
    ]


def test_days_that_are_not_rest_days_do_not_make_two_days_off():
    """Off on Thursday (not a rest day: a holiday that does not count) and Friday is not two
    days off in a row; the solver then finds another pair."""
    from staffing.rostering import TWO_DAYS_OFF

    staff = [person("ann", max_minutes=7 * 480, max_consecutive=7)]
    problem = RosterProblem(
        7, [DAY], staff, covers("D", 1), two_days_off_in_a_row=True,
        not_rest_days=frozenset({3}), closed_days=frozenset({3}),
    )  # fmt: skip
    works = {("ann", d): "D" for d in (0, 1, 2, 5, 6)}
    assert [v.rule for v in check(problem, works)] == [TWO_DAYS_OFF]
    counted = RosterProblem(
        7, [DAY], staff, covers("D", 1), two_days_off_in_a_row=True, closed_days=frozenset({3})
    )
    assert check(counted, works) == []
    result = run(problem)
    off = [d for d in range(7) if ("ann", d) not in result.assignment]
    assert 3 in off and any(d + 1 in off and 3 not in (d, d + 1) for d in off)


def large_week(people: int = 60) -> RosterProblem:
    """More people x days x shift types than the small-week path takes: eight shift types, each
    needing a few people every weekday, people on 32-40 h with two days off in a row."""
    shifts = [
        RosterShift(f"S{h:02d}", 480, h * 60, h * 60 + 480, frozenset()) for h in range(6, 14)
    ]
    covers = [Cover(d, s.id, 5, 100, 5) for d in range(5) for s in shifts]
    staff = [person(f"p{i:03d}", min_minutes=4 * 480, max_minutes=5 * 480) for i in range(people)]
    return RosterProblem(7, shifts, staff, covers, two_days_off_in_a_row=True)


def test_a_large_week_is_rostered_by_moves_over_a_few_people():
    from staffing.rostering.solver import FLOW_MAX_CELLS

    problem = large_week()
    assert problem.days * len(problem.staff) * len(problem.shifts) > FLOW_MAX_CELLS
    result = solve(problem, time_limit_s=8, workers=2)
    assert check(problem, result.assignment) == []
    # 200 planned shifts, 60 people x 4-5 days: every cover can be met, and is
    for c in problem.covers:
        have = sum(1 for (_p, d), s in result.assignment.items() if d == c.day and s == c.shift)
        assert have >= c.requirement, c


def test_the_greedy_start_gives_each_person_a_schedule_for_the_missing_cover():
    from staffing.rostering.columns import greedy_roster

    problem = large_week(people=40)
    start = greedy_roster(problem, time.perf_counter() + 20)
    assert check(problem, start) == []  # each person's own rules (there is no hard cover here)
    worked = {name for name, _d in start}
    assert len(worked) == 40
    # 40 people x 5 days reach the 200 planned shifts: the greedy start fills most of them
    filled = sum(
        min(sum(1 for (_p, d), s in start.items() if d == c.day and s == c.shift), c.requirement)
        for c in problem.covers
    )
    assert filled >= 0.8 * 200, filled
