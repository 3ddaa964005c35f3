"""Reader for the Curtois & Qu employee shift scheduling benchmark instances.

Sections ``SECTION_HORIZON``, ``SECTION_SHIFTS``, ``SECTION_STAFF``, ``SECTION_DAYS_OFF``,
``SECTION_SHIFT_ON_REQUESTS``, ``SECTION_SHIFT_OFF_REQUESTS``, ``SECTION_COVER``; ``#`` starts a
comment. Day 0 is a Monday; a worked weekend is a Saturday or Sunday worked. Objective: request
penalties plus cover penalties.
"""

from __future__ import annotations

from pathlib import Path

from staffing.rostering import Cover, Request, RosterProblem, RosterShift, Staff


def read_instance(path: str | Path) -> RosterProblem:
    sections: dict[str, list[list[str]]] = {}
    current = None
    for raw in Path(path).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("SECTION_"):
            current = line
            sections[current] = []
        elif current:
            sections[current].append([part.strip() for part in line.split(",")])
    days = int(sections["SECTION_HORIZON"][0][0])
    shifts = [
        RosterShift(
            row[0],
            int(row[1]),
            forbidden_next=frozenset(x for x in (row[2].split("|") if len(row) > 2 else []) if x),
        )
        for row in sections["SECTION_SHIFTS"]
    ]
    staff = []
    for row in sections["SECTION_STAFF"]:
        limits = {}
        for item in row[1].split("|"):
            if "=" in item:
                sid, value = item.split("=")
                limits[sid] = int(value)
        staff.append(
            Staff(
                id=row[0],
                max_shifts=limits,
                max_minutes=int(row[2]),
                min_minutes=int(row[3]),
                max_consecutive=int(row[4]),
                min_consecutive=int(row[5]),
                min_consecutive_off=int(row[6]),
                max_weekends=int(row[7]),
            )  # fmt: skip
        )
    by_id = {s.id: s for s in staff}
    for row in sections.get("SECTION_DAYS_OFF", []):
        by_id[row[0]].days_off.update(int(d) for d in row[1:] if d)
    requests = [
        Request(r[0], int(r[1]), r[2], True, int(r[3]))
        for r in sections.get("SECTION_SHIFT_ON_REQUESTS", [])
    ]
    requests += [
        Request(r[0], int(r[1]), r[2], False, int(r[3]))
        for r in sections.get("SECTION_SHIFT_OFF_REQUESTS", [])
    ]
    covers = [
        Cover(int(r[0]), r[1], int(r[2]), int(r[3]), int(r[4]))
        for r in sections.get("SECTION_COVER", [])
    ]
    weekends = [
        tuple(d for d in (5 + 7 * k, 6 + 7 * k) if d < days)
        for k in range((days + 1) // 7 + 1)
        if 5 + 7 * k < days
    ]
    return RosterProblem(
        days=days, shifts=shifts, staff=staff, covers=covers, requests=requests, weekends=weekends
    )


def objective(problem: RosterProblem, assignment: dict[tuple[str, int], str]) -> int:
    """Request and cover penalties, recomputed from an assignment."""
    total = 0
    for r in problem.requests:
        worked = assignment.get((r.staff, r.day))
        hit = worked is not None and (r.shift is None or worked == r.shift)
        total += r.weight if (r.on and not hit) or (not r.on and hit) else 0
    for c in problem.covers:
        have = sum(1 for (_sid, d), shift in assignment.items() if d == c.day and shift == c.shift)
        total += c.under_weight * max(c.requirement - have, 0) + c.over_weight * max(
            have - c.requirement, 0
        )
    return total
