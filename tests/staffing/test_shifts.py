"""Shift plans: hand-checked small cases, accounting, uncoverable demand, the benchmark reader."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from benchmarks.formats.shift_design import objective, read_instance
from staffing.shift_plan import (
    Template,
    UncoverableError,
    Weights,
    coverage_from_rows,
    plan_rows,
    uncoverable,
    wall_slots,
    week_problem,
)
from staffing.shifts import ShiftPlan, ShiftProblem, ShiftType, SolverSettings, solve
from tests.conftest import shared_path

ROME = ZoneInfo("Europe/Rome")
FAST = SolverSettings(time_limit_s=5, workers=2)


def hours(
    day: int, start: float, end: float, agents: int, per_day: int = 24, slot_min: int = 60
) -> np.ndarray:
    req = np.zeros(7 * per_day, dtype=np.int64)
    slots_per_hour = 60 // slot_min
    req[day * per_day + int(start * slots_per_hour) : day * per_day + int(end * slots_per_hour)] = (
        agents
    )
    return req


def test_a_single_peak_is_covered_by_one_shift_exactly():
    req = sum(hours(d, 9, 17, 3) for d in range(5))
    types = [
        ShiftType("day", 9 * 60, 480),
        ShiftType("day", 8 * 60, 480),
        ShiftType("day", 10 * 60, 480),
    ]
    plan = solve(ShiftProblem(60, req, types, under_weight=10, over_weight=1, shift_weight=5), FAST)
    assert plan.status == "OPTIMAL"
    assert plan.shortage.sum() == 0 and plan.excess.sum() == 0
    assert plan.distinct_shifts == 1
    assert sorted(plan.starts["day"]) == [0, 1, 2, 3, 4] and set(plan.starts["agents"]) == {3}
    assert plan.objective == 5.0


def test_an_overnight_shift_spills_into_the_next_day_and_sunday_into_monday():
    req = np.zeros(7 * 24, dtype=np.int64)
    for d in range(7):
        for h in range(22, 30):  # 22:00-06:00
            req[(d * 24 + h) % (7 * 24)] = 2
    night = [ShiftType("night", 22 * 60, 480)]
    cyclic = solve(ShiftProblem(60, req, night, under_weight=10, over_weight=1), FAST)
    assert cyclic.shortage.sum() == 0 and cyclic.excess.sum() == 0
    assert cyclic.coverage[2] == 2  # Monday 02:00 comes from Sunday's 22:00 start
    assert (cyclic.starts.loc[cyclic.starts["day"] == 6, "agents"] == 2).all()
    flat = solve(ShiftProblem(60, req, night, cyclic=False, under_weight=10, over_weight=1), FAST)
    assert flat.shortage[:6].sum() == 12  # nobody starts before Monday 00:00 in a non-cyclic week


def test_an_unpaid_break_is_not_coverage_and_not_paid():
    shift = ShiftType("day", 9 * 60, 510, break_min=30, break_offset_min=240, hourly_cost=20.0)
    problem = ShiftProblem(30, np.zeros(7 * 48, dtype=np.int64), [shift])
    covered = problem.coverage_slots(shift, 0)
    assert (
        13 * 2 not in covered and 13 * 2 - 1 in covered and 13 * 2 + 1 in covered
    )  # 13:00-13:30 off
    assert covered.size == 16 and shift.paid_hours == 8.0
    req = np.zeros(7 * 48, dtype=np.int64)
    req[covered] = 4
    plan = solve(
        ShiftProblem(30, req, [shift], under_weight=100, over_weight=1, cost_weight=1), FAST
    )
    assert plan.shortage.sum() == 0 and plan.excess.sum() == 0
    assert plan.cost == 4 * 8.0 * 20.0
    assert plan.agent_hours(plan.coverage) == 32.0


def test_shortage_and_excess_are_weighed_against_cost():
    req = hours(0, 9, 17, 1) + hours(0, 12, 13, 1)  # one extra agent for a single hour
    types = [ShiftType("day", 9 * 60, 480, hourly_cost=10.0)]
    # one shift: 80 cost + 1 hour short (15) = 95; two: 160 + 7 excess = 167; none: 9 x 15 = 135
    cheap_gap = solve(
        ShiftProblem(60, req, types, under_weight=15, over_weight=1, cost_weight=1), FAST
    )
    assert cheap_gap.shortage.sum() == 1 and cheap_gap.excess.sum() == 0
    costly_gap = solve(
        ShiftProblem(60, req, types, under_weight=200, over_weight=1, cost_weight=1), FAST
    )
    assert costly_gap.shortage.sum() == 0 and costly_gap.excess.sum() == 7


def week_rows(
    start: str, values: dict[tuple[int, int], int], tz=ROME, freq="30min"
) -> pd.DataFrame:
    index = pd.date_range(pd.Timestamp(start, tz=tz), periods=7 * 48, freq=freq)
    agents = np.zeros(len(index), dtype=int)
    for (day, slot), n in values.items():
        agents[day * 48 + slot] = n
    return pd.DataFrame({"queue": "total", "interval_start": index, "agents_scheduled": agents})


DAY = Template(
    "day",
    8 * 60,
    10 * 60,
    30,
    480,
    480,
    60,
    break_min=30,
    break_after_min=180,
    break_before_end_min=120,
    hourly_cost=20.0,
)


def test_demand_no_template_can_cover_is_reported_with_its_intervals():
    rows = week_rows(
        "2026-11-23", {(0, 6): 2, (0, 7): 3, (2, 18): 4}
    )  # Monday 03:00-04:00, Wednesday 09:00
    week = week_problem(rows, [DAY], ROME, Weights())
    assert uncoverable(week) == [("Mon 2026-11-23 03:00", "04:00", 3)]
    with pytest.raises(UncoverableError, match=r"Mon 2026-11-23 03:00 - 04:00: needs 3 agent\(s\)"):
        raise UncoverableError(uncoverable(week))


def test_template_days_and_plan_rows():
    saturday_only = Template(
        "sat", 9 * 60, 9 * 60, 30, 240, 240, 60, weekdays=frozenset({5}), hourly_cost=15.0
    )
    rows = week_rows(
        "2026-11-23", {(5, s): 2 for s in range(18, 26)} | {(0, s): 1 for s in range(18, 26)}
    )
    week = week_problem(
        rows, [saturday_only], ROME, Weights(shortage=100, excess=5, distinct_shift=0, cost=0)
    )
    assert uncoverable(week) == [("Mon 2026-11-23 09:00", "13:00", 1)]
    plan = solve(week.problem, FAST)
    table = plan_rows(week, plan)
    assert table.to_dict(orient="records") == [
        {
            "date": "2026-11-28",
            "weekday": "saturday",
            "template": "sat",
            "shift_start": "2026-11-28T09:00:00+01:00",
            "shift_end": "2026-11-28T13:00:00+01:00",
            "break_start": "",
            "break_min": 0,
            "agents": 2,
            "paid_hours": 4.0,
            "cost": 120.0,
        }
    ]


def test_a_dst_week_maps_local_slots():
    # the week of the autumn change: Sunday 25 October 2026 has 50 half hours
    index = pd.date_range(
        pd.Timestamp("2026-10-19", tz=ROME),
        pd.Timestamp("2026-10-26", tz=ROME),
        freq="30min",
        inclusive="left",
    )
    rows = pd.DataFrame({"queue": "total", "interval_start": index, "agents_scheduled": 1})
    week = week_problem(rows, [DAY], ROME, Weights())
    assert len(index) == 7 * 48 + 2
    assert week.problem.requirement.sum() == 7 * 48  # the repeated hour is one slot
    assert week.days[-1] == dt.date(2026, 10, 25)


@pytest.mark.parametrize(
    "sunday, hours, break_start",
    [
        ("2026-10-25", 25, "2026-10-25T04:00:00+01:00"),
        ("2026-03-29", 23, "2026-03-29T04:00:00+02:00"),
    ],
)
def test_the_rows_of_a_dst_day_give_back_the_cover_planned(sunday, hours, break_start):
    """A night shift through the DST change, 00:00 to 08:00 on the wall clock with its break at
    04:00, 4 wall-clock hours in (5 or 3 real ones): written as rows and read back, it covers
    the slots the solver planned it for."""
    day = dt.date.fromisoformat(sunday)
    first = day - dt.timedelta(days=6)
    index = pd.date_range(
        pd.Timestamp(first, tz=ROME), pd.Timestamp(day + dt.timedelta(days=1), tz=ROME),
        freq="30min", inclusive="left",
    )  # fmt: skip
    assert len(index) == 6 * 48 + hours * 2
    rows = pd.DataFrame({"queue": "total", "interval_start": index, "agents_scheduled": 1})
    slots = wall_slots(index, first, ROME, 30)
    assert slots.max() == 7 * 48 - 1 and len(set(slots)) == 7 * 48 - max(24 - hours, 0) * 2
    night = Template("night", 0, 0, 30, 480, 480, 30, frozenset({6}), 30, 240, 60)
    week = week_problem(rows, [night], ROME, Weights())
    shift = ShiftType("night", 0, 480, (6,), 30, 240)
    planned = np.zeros(week.problem.requirement.size, dtype=np.int64)
    np.add.at(planned, week.problem.coverage_slots(shift, 6), 2)
    starts = pd.DataFrame(
        [{"template": "night", "start_min": 0, "length_min": 480, "break_offset_min": 240,
          "break_min": 30, "day": 6, "agents": 2, "paid_hours": 7.5, "hourly_cost": 10.0}]
    )  # fmt: skip
    table = plan_rows(week, ShiftPlan(week.problem, starts, planned, "OPTIMAL", 0.0, 0.0, 0.0))
    assert table.loc[0, "break_start"] == break_start
    assert np.array_equal(coverage_from_rows(table, first, ROME, 30), planned)


def listed_solution(path) -> tuple[np.ndarray, int]:
    """The '#Optimal Solution' lines of a benchmark file, as coverage and distinct shifts."""
    inst = read_instance(path)
    text = path.read_text(encoding="latin-1")
    per_day = 1440 // inst.slot_min
    coverage = np.zeros(inst.days * per_day, dtype=np.int64)
    keys = set()
    for m in re.finditer(r"^#\s*\d+:\s+(\d+):(\d+)\s+(\d+)\s+((?:\d+\s*){7})$", text, re.M):
        start = int(m.group(1)) * 60 + int(m.group(2))
        length = int(m.group(3))
        counts = list(map(int, m.group(4).split()))
        if any(counts):  # a listed shift with nobody on it is not used
            keys.add((start, length))
        for day, n in enumerate(counts):
            slots = (
                day * per_day + start // inst.slot_min + np.arange(length // inst.slot_min)
            ) % coverage.size
            np.add.at(coverage, slots, n)
    return coverage, len(keys)


@pytest.mark.parametrize(
    "name",
    ["DataSet1/RandomExample1.txt", "DataSet1/RandomExample93.txt", "DataSet2/RandomExample27.txt"],
)
def test_benchmark_reader_and_objective_reproduce_the_files_reference(name):
    path = shared_path("benchmarks", "shift_design", *name.split("/"))
    inst = read_instance(path)
    coverage, distinct = listed_solution(path)
    assert objective(inst, coverage, distinct) == inst.reference
    assert np.array_equal(coverage, inst.requirement)  # the generating solution covers exactly


def test_the_solver_matches_a_benchmark_reference_quickly():
    inst = read_instance(
        shared_path("benchmarks", "shift_design", "DataSet1", "RandomExample93.txt")
    )
    plan = solve(inst.problem(), SolverSettings(time_limit_s=15, workers=2))
    assert objective(inst, plan.coverage, plan.distinct_shifts) <= inst.reference


def test_a_plan_keeps_within_what_the_team_can_work():
    """Mornings need 4 agents, afternoons 2, Monday to Friday. For the requirement alone the plan
    covers it exactly with at least 4 shifts a day (two 8-hour and two 4-hour ones, or six 4-hour
    ones). A team that can work only so many shifts a day, in the week or paid hours gets a plan
    within them, short where it must be."""
    from staffing.shifts import TeamLimits

    req = sum(hours(d, 9, 13, 4) + hours(d, 13, 17, 2) for d in range(5))
    types = [
        ShiftType("short", 9 * 60, 240),
        ShiftType("short", 13 * 60, 240),
        ShiftType("long", 9 * 60, 480),
    ]

    def plan(team):
        problem = ShiftProblem(60, req, types, under_weight=10, over_weight=1, team=team)
        return solve(problem, FAST)

    alone = plan(None)
    assert alone.shortage.sum() == 0 and alone.excess.sum() == 0
    assert alone.starts.groupby("day")["agents"].sum().min() >= 4

    two_a_day = plan(TeamLimits(per_day=(2,) * 7, shifts=100, paid_hours=1000))
    assert (two_a_day.starts.groupby("day")["agents"].sum() <= 2).all()
    assert set(two_a_day.starts["length_min"]) == {480}  # two long shifts a day are best
    assert two_a_day.shortage.sum() == 5 * 2 * 4  # 2 agents short 09:00-13:00 each day

    twelve = plan(TeamLimits(per_day=(9,) * 7, shifts=12, paid_hours=1000))
    assert twelve.starts["agents"].sum() <= 12
    # two long shifts a day (10), and the two left fill one of the five mornings
    assert twelve.shortage.sum() == 4 * 2 * 4

    hundred_hours = plan(TeamLimits(per_day=(9,) * 7, shifts=100, paid_hours=100))
    paid = (hundred_hours.starts["agents"] * hundred_hours.starts["paid_hours"]).sum()
    assert paid <= 100
    assert hundred_hours.shortage.sum() == 120 - 100  # 120 agent-hours needed, 100 paid
