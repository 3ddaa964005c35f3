"""Reader for the minimum shift design benchmark format (TU Wien "Rota" instances).

Sections are ``#Label`` lines followed by values; templates are
``Abbr Name Start +Min -Min Length +Min -Min days``: a shift of that type may start in
[Start - (-Min), Start + (+Min)] and last [Length - (-Min), Length + (+Min)] minutes, in steps of
the slot length. Objective: wUnder x short person-minutes + wOver x excess person-minutes +
wShifts x distinct shifts (the duties-per-week term is ignored, as in later work).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from staffing.shifts import ShiftProblem, ShiftType


@dataclass
class ShiftDesignInstance:
    name: str
    slot_min: int
    days: int
    cyclic: bool
    requirement: np.ndarray
    templates: list[tuple[str, int, int, int, int, int, int]]  # abbr, start, +, -, length, +, -
    w_under: int
    w_over: int
    w_shifts: int
    reference: int | None

    def problem(self) -> ShiftProblem:
        """The same objective in our model: weights per person-slot (minutes x slot length)."""
        types = []
        seen = set()
        for abbr, start, later, earlier, length, longer, shorter in self.templates:
            for s in range(start - earlier, start + later + 1, self.slot_min):
                for length_min in range(length - shorter, length + longer + 1, self.slot_min):
                    key = (s % 1440, length_min)
                    if key in seen or length_min <= 0:
                        continue
                    seen.add(key)
                    types.append(ShiftType(abbr, s % 1440, length_min))
        return ShiftProblem(
            slot_min=self.slot_min,
            requirement=self.requirement,
            shift_types=types,
            days=self.days,
            cyclic=self.cyclic,
            under_weight=float(self.w_under * self.slot_min),
            over_weight=float(self.w_over * self.slot_min),
            shift_weight=float(self.w_shifts),
        )


SECTIONS = {
    "minuteinterval", "dayspercycle", "flagcyclical", "requirements", "number of shift templates",
    "shift templates", "duties per week", "average number of hours per week", "undercover",
    "overcover", "dutiesperweek", "shifts",
}  # fmt: skip


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def read_instance(path: str | Path) -> ShiftDesignInstance:
    text = Path(path).read_text(encoding="latin-1").replace("\r\n", "\n")
    sections: dict[str, list[str]] = {}
    label = None
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith("#"):
            name = line[1:].split(":")[0].strip().lower()
            if name in SECTIONS:  # other '#' lines are column headers or comments
                label = name
                sections.setdefault(label, [])
        elif line and label is not None:
            sections[label].append(line)

    def one(name: str) -> str:
        values = sections.get(name)
        if not values:
            raise ValueError(f"{path}: section #{name} is missing")
        return values[0]

    slot = int(one("minuteinterval"))
    days = int(one("dayspercycle"))
    cyclic = one("flagcyclical").lower().startswith("y")
    requirement = np.array(
        [int(v) for v in " ".join(sections["requirements"]).split()], dtype=np.int64
    )
    if requirement.size != days * 1440 // slot:
        raise ValueError(f"{path}: {requirement.size} requirements, expected {days * 1440 // slot}")
    templates = []
    for line in sections.get("shift templates", []):
        parts = line.split()
        if len(parts) < 8:
            continue
        abbr, _name, start, later, earlier, length, longer, shorter = (
            parts[0],
            parts[1],
            parts[2],
            *parts[3:8],
        )
        templates.append(
            (
                abbr,
                _minutes(start),
                int(later),
                int(earlier),
                int(length),
                int(longer),
                int(shorter),
            )
        )
    fitness = re.search(r"#Fitness of assumed optimal Solution:\s*\n#\s*(\d+)", text)
    return ShiftDesignInstance(
        name=Path(path).parent.name + "/" + Path(path).name,
        slot_min=slot,
        days=days,
        cyclic=cyclic,
        requirement=requirement,
        templates=templates,
        w_under=int(one("undercover")),
        w_over=int(one("overcover")),
        w_shifts=int(one("shifts")),
        reference=int(fitness.group(1)) if fitness else None,
    )


def objective(instance: ShiftDesignInstance, coverage: np.ndarray, distinct: int) -> int:
    """The benchmark's objective, recomputed from coverage and the number of distinct shifts."""
    short = np.maximum(instance.requirement - coverage, 0).sum()
    over = np.maximum(coverage - instance.requirement, 0).sum()
    return int(
        instance.w_under * instance.slot_min * short
        + instance.w_over * instance.slot_min * over
        + instance.w_shifts * distinct
    )
