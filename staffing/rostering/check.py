"""Every hard rule of a roster, checked independently of the solver."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .problem import (
    ATTRIBUTE_COVER,
    CLOSED_DAY,
    DAY_OFF,
    LOCKED,
    MAX_CONSECUTIVE,
    MAX_HOURS,
    MAX_WEEKENDS,
    MIN_CONSECUTIVE,
    MIN_CONSECUTIVE_OFF,
    MIN_HOURS,
    REST,
    SHIFT_LIMIT,
    TWO_DAYS_OFF,
    RosterProblem,
    Violation,
)


def check(problem: RosterProblem, assignment: dict[tuple[str, int], str]) -> list[Violation]:
    """Every hard rule, checked independently of the solver; returns what is broken."""
    shifts = {s.id: s for s in problem.shifts}
    fixed = problem.fixed_cells()
    broken = []
    for person in problem.staff:
        name = person.id
        days = [assignment.get((name, d)) for d in range(problem.days)]
        worked = [s is not None for s in days]
        for d in sorted(problem.closed_days):
            if d < problem.days and worked[d]:
                broken.append(
                    Violation(
                        day=d, rule=CLOSED_DAY, agent=name, detail=f"works on day {d}, a closed day"
                    )
                )
        for d in person.days_off:
            if d < problem.days and worked[d]:
                broken.append(
                    Violation(day=d, rule=DAY_OFF, agent=name, detail=f"works day off {d}")
                )
        for d in range(problem.days):
            if (name, d) in fixed and days[d] != fixed[name, d]:
                broken.append(
                    Violation(
                        day=d, rule=LOCKED, agent=name, detail=_unlocked(d, days[d], fixed[name, d])
                    )
                )
        for sid, limit in person.max_shifts.items():
            if days.count(sid) > limit:
                broken.append(
                    Violation(
                        rule=SHIFT_LIMIT,
                        agent=name,
                        detail=f"has {days.count(sid)} {sid} shifts > {limit}",
                    )
                )
        minutes = sum(shifts[s].minutes for s in days if s)
        if not person.min_minutes <= minutes <= person.max_minutes:
            broken.append(
                Violation(
                    rule=MIN_HOURS if minutes < person.min_minutes else MAX_HOURS,
                    agent=name,
                    detail=f"works {minutes} minutes, outside [{person.min_minutes}, {person.max_minutes}]",
                )
            )
        for d in range(problem.days - 1):
            if days[d] and days[d + 1] and days[d + 1] in shifts[days[d]].forbidden_next:
                broken.append(
                    Violation(
                        day=d + 1,
                        rule=REST,
                        agent=name,
                        detail=f"{days[d + 1]} after {days[d]} on day {d}",
                    )
                )
        if (
            person.prior_last_shift in shifts
            and days[0] in shifts[person.prior_last_shift].forbidden_next
        ):
            broken.append(
                Violation(
                    day=0,
                    rule=REST,
                    agent=name,
                    detail=f"{days[0]} on day 0 after last week's {person.prior_last_shift}",
                )
            )
        if days[0] in person.prior_forbidden:
            broken.append(
                Violation(
                    day=0,
                    rule=REST,
                    agent=name,
                    detail=f"{days[0]} on day 0 too soon after last week's last shift",
                )
            )
        for start, length, value in _runs([True] * person.prior_streak + worked):
            if value and length > person.max_consecutive:
                broken.append(
                    Violation(
                        day=max(start - person.prior_streak, 0),
                        rule=MAX_CONSECUTIVE,
                        agent=name,
                        detail=f"works {length} days in a row",
                    )
                )
        for start, length, value in _runs(worked):
            touches = start == 0 or start + length == problem.days
            if touches and not problem.boundary_min_rules:
                continue
            if value and length < person.min_consecutive:
                broken.append(
                    Violation(
                        day=start,
                        rule=MIN_CONSECUTIVE,
                        agent=name,
                        detail=f"works a run of {length} < {person.min_consecutive}",
                    )
                )
            if not value and length < person.min_consecutive_off:
                broken.append(
                    Violation(
                        day=start,
                        rule=MIN_CONSECUTIVE_OFF,
                        agent=name,
                        detail=f"has an off run of {length} < {person.min_consecutive_off}",
                    )
                )
        if problem.weekends:
            count = sum(any(worked[d] for d in wk if d < problem.days) for wk in problem.weekends)
            if count > person.max_weekends:
                broken.append(
                    Violation(
                        rule=MAX_WEEKENDS,
                        agent=name,
                        detail=f"works {count} weekends > {person.max_weekends}",
                    )
                )
        if problem.two_days_off_in_a_row and not any(
            not worked[d] and not worked[d + 1]
            for d in range(problem.days - 1)
            if not {d, d + 1} & problem.not_rest_days
        ):
            broken.append(
                Violation(rule=TWO_DAYS_OFF, agent=name, detail="has no two days off in a row")
            )
    attrs = {p.id: p.attributes for p in problem.staff}
    for a in problem.attribute_covers:
        if a.weight is None:
            have = sum(
                1
                for (sid, d), shift in assignment.items()
                if d == a.day and shift in a.shifts and a.attribute in attrs[sid]
            )
            if have < a.requirement:
                broken.append(
                    Violation(
                        day=a.day,
                        time=a.time,
                        rule=ATTRIBUTE_COVER,
                        detail=f"{a.label}: {have} < {a.requirement}",
                        day_name=a.day_name,
                    )
                )
    return broken


def _unlocked(day: int, have: str | None, locked: str | None) -> str:
    """The rest of the sentence for a fixed cell the roster changed."""
    if locked is None:
        return f"works {have} on day {day}, a day locked off"
    if have is None:
        return f"is off on day {day}, locked to {locked}"
    return f"works {have} on day {day}, locked to {locked}"


def _runs(values: Iterable[bool]) -> Iterator[tuple[int, int, bool]]:
    """(start, length, value) of each run of equal values."""
    values = list(values)
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            yield start, i - start, values[start]
            start = i
