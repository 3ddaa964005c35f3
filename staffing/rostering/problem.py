"""What a roster is asked and what it answers: shift types, people, cover, requests, the result,
and the rules a roster breaks, as data (:class:`Violation`)."""

from __future__ import annotations

from dataclasses import dataclass, field

# The rules a Violation names (Violation.rule)
DAY_OFF = "day off"
SHIFT_LIMIT = "shift limit"
MAX_HOURS = "max hours"
MIN_HOURS = "min hours"
REST = "rest"
MAX_CONSECUTIVE = "max consecutive days"
MIN_CONSECUTIVE = "min consecutive days"
MIN_CONSECUTIVE_OFF = "min consecutive days off"
MAX_WEEKENDS = "max weekends"
TWO_DAYS_OFF = "two days off in a row"
ATTRIBUTE_COVER = "attribute cover"
CLOSED_DAY = "closed day"  # never relaxed: the model forbids it outright; check() reports it
CONTRADICTION = "contradiction"  # no single rule: the rules as a whole have no roster
TIME_LIMIT = "time limit"  # no roster found in the time given (said by callers of solve)
LOCKED = "locked cell"  # a (person, day) fixed to a shift or off (RosterProblem.fixed)
RULES = (
    DAY_OFF,
    SHIFT_LIMIT,
    MAX_HOURS,
    MIN_HOURS,
    REST,
    MAX_CONSECUTIVE,
    MIN_CONSECUTIVE,
    MIN_CONSECUTIVE_OFF,
    MAX_WEEKENDS,
    TWO_DAYS_OFF,
    ATTRIBUTE_COVER,
    CLOSED_DAY,
    CONTRADICTION,
    TIME_LIMIT,
    LOCKED,
)


@dataclass(frozen=True)
class RosterShift:
    id: str
    minutes: int  # paid minutes
    start_min: int = 0  # minute of day it starts
    end_min: int = 0  # minute it ends, counted from its day's midnight (may exceed 1440)
    forbidden_next: frozenset[str] = frozenset()  # shift ids that may not follow it the next day
    night: bool = False


@dataclass
class Staff:
    id: str
    max_shifts: dict[str, int] = field(default_factory=dict)
    max_minutes: int = 10**9
    min_minutes: int = 0
    max_consecutive: int = 7
    min_consecutive: int = 1
    min_consecutive_off: int = 1
    max_weekends: int = 10**3
    days_off: set[int] = field(default_factory=set)
    attributes: frozenset[str] = frozenset()  # "skill:orders", "lang:pl", ...
    target_minutes: int | None = None
    prior_streak: int = 0  # days worked right before day 0
    prior_last_shift: str | None = None  # shift worked the day before day 0
    prior_forbidden: frozenset[str] = frozenset()  # shifts too soon after last week's last shift
    prior_weekends: int = 0  # weekends worked recently (fairness)
    prior_nights: int = 0


@dataclass(frozen=True)
class Cover:
    day: int
    shift: str
    requirement: int
    under_weight: int
    over_weight: int


@dataclass(frozen=True)
class AttributeCover:
    """At least ``requirement`` people with ``attribute`` on the listed shifts of ``day``
    (the shifts on duty at some moment). Hard unless ``weight`` is given. ``label`` says what is
    needed; ``day_name`` and ``time`` (``HH:MM``), when given, say when, in the caller's words."""

    day: int
    shifts: frozenset[str]
    attribute: str
    requirement: int
    label: str
    weight: int | None = None
    time: str | None = None
    day_name: str | None = None


@dataclass(frozen=True)
class Request:
    staff: str
    day: int
    shift: str | None  # None: any shift
    on: bool
    weight: int


@dataclass
class RosterProblem:
    days: int
    shifts: list[RosterShift]
    staff: list[Staff]
    covers: list[Cover]
    requests: list[Request] = field(default_factory=list)
    attribute_covers: list[AttributeCover] = field(default_factory=list)
    weekends: list[tuple[int, ...]] = field(default_factory=list)  # day indexes of each weekend
    two_days_off_in_a_row: bool = False
    # days nobody works (the line closed): a rule no relaxation breaks, unlike a day off
    closed_days: frozenset[int] = frozenset()
    # days that do not count as one of the two days off in a row (holidays, when so configured)
    not_rest_days: frozenset[int] = frozenset()
    boundary_min_rules: bool = (
        False  # apply min-consecutive rules to runs touching the horizon's ends
    )
    stability_weight: int = 0  # per extra distinct start time of a person in the week
    fairness_weight: int = 0  # per weekend/night worked, times what the person worked recently
    contract_weight: int = 0  # per minute away from the contract target
    # (person, day) -> shift id, or None for off: cells a supervisor locked. Hard in every
    # solver path and never relaxed, like a closed day (the explanation of a week the locks
    # make impossible breaks other rules around them)
    fixed: dict[tuple[str, int], str | None] = field(default_factory=dict)

    def fixed_cells(self) -> dict[tuple[str, int], str | None]:
        """The fixed cells of this problem's people and days (others are ignored)."""
        people = {person.id for person in self.staff}
        return {
            (name, d): shift
            for (name, d), shift in self.fixed.items()
            if name in people and 0 <= d < self.days
        }


@dataclass(frozen=True, kw_only=True)
class Violation:
    """A hard rule a roster breaks: which ``rule`` (one of ``RULES``), whose (``agent``, None for
    a cover or the rules as a whole), on which ``day`` of the horizon (a run's first day; None
    for the whole horizon), at what ``time`` (``HH:MM``, for a cover at a moment the caller
    named) and ``day_name`` (the caller's name of that day). ``detail`` is the rest of the
    sentence ``str()`` gives: after the agent, or after the moment."""

    day: int | None = None
    time: str | None = None
    rule: str
    agent: str | None = None
    detail: str
    day_name: str | None = None

    def __str__(self) -> str:
        if self.agent is not None:
            return f"{self.agent}{': ' if self.rule == REST else ' '}{self.detail}"
        when = " ".join(part for part in (self.day_name, self.time) if part)
        return f"{when}: {self.detail}" if when else self.detail


@dataclass
class RosterResult:
    assignment: dict[tuple[str, int], str]  # (staff, day) -> shift id
    status: str
    objective: float
    bound: float
    seconds: float
    violations: list[Violation] = field(default_factory=list)

    @property
    def gap(self) -> float:
        return (
            0.0 if not self.objective else max(self.objective - self.bound, 0) / abs(self.objective)
        )


def with_fixed(
    problem: RosterProblem, assignment: dict[tuple[str, int], str]
) -> dict[tuple[str, int], str]:
    """``assignment`` with the problem's fixed cells set (a start that keeps the locks)."""
    out = dict(assignment)
    for key, shift in problem.fixed_cells().items():
        if shift is None:
            out.pop(key, None)
        else:
            out[key] = shift
    return out


def fixed_conflicts(problem: RosterProblem) -> list[Violation]:
    """Fixed cells no roster can keep whatever else gives: a shift the problem does not have,
    or work on a closed day."""
    shifts = {s.id for s in problem.shifts}
    out = []
    for (name, d), shift in sorted(
        problem.fixed_cells().items(), key=lambda kv: (kv[0][1], kv[0][0])
    ):
        if shift is None:
            continue
        if shift not in shifts:
            out.append(
                Violation(
                    day=d,
                    rule=LOCKED,
                    agent=name,
                    detail=f"is locked to {shift} on day {d}, a shift the week does not have",
                )
            )
        elif d in problem.closed_days:
            out.append(
                Violation(
                    day=d,
                    rule=CLOSED_DAY,
                    agent=name,
                    detail=f"is locked to {shift} on day {d}, a closed day",
                )
            )
    return out


class Infeasible(ValueError):
    """No roster keeps every hard rule; ``violations`` says which rules had to give, and
    ``roster`` (when the explanation found one) is the relaxed model's roster breaking them."""

    def __init__(self, violations: list[Violation], roster: RosterResult | None = None):
        self.violations = violations
        self.roster = roster
        super().__init__(
            "no roster keeps every rule; the least it takes to break:\n"
            + "\n".join(f"  - {v}" for v in violations)
        )
