"""Rosters of named people: who works which shift on which day (OR-Tools CP-SAT).

``problem`` holds what a roster is asked and answers, and the rules it breaks as data
(:class:`Violation`, whose ``str()`` is the sentence shown to people); ``model`` the CP-SAT model,
one method per family of rules; ``columns`` the column-generation dive; ``neighbourhood`` the
large neighbourhood search; ``solver`` puts them together (:func:`solve`); ``check`` re-checks
every hard rule without the solver. A problem's ``fixed`` cells (a person's day locked to a shift
or off) hold in every one of them, the relaxed model's explanations included.
"""

from .check import check
from .problem import (
    ATTRIBUTE_COVER,
    CLOSED_DAY,
    CONTRADICTION,
    DAY_OFF,
    LOCKED,
    MAX_CONSECUTIVE,
    MAX_HOURS,
    MAX_WEEKENDS,
    MIN_CONSECUTIVE,
    MIN_CONSECUTIVE_OFF,
    MIN_HOURS,
    REST,
    RULES,
    SHIFT_LIMIT,
    TIME_LIMIT,
    TWO_DAYS_OFF,
    AttributeCover,
    Cover,
    Infeasible,
    Request,
    RosterProblem,
    RosterResult,
    RosterShift,
    Staff,
    Violation,
    fixed_conflicts,
    with_fixed,
)
from .solver import NoRosterInTime, solve

__all__ = [
    "ATTRIBUTE_COVER",
    "CLOSED_DAY",
    "CONTRADICTION",
    "DAY_OFF",
    "LOCKED",
    "MAX_CONSECUTIVE",
    "MAX_HOURS",
    "MAX_WEEKENDS",
    "MIN_CONSECUTIVE",
    "MIN_CONSECUTIVE_OFF",
    "MIN_HOURS",
    "REST",
    "RULES",
    "SHIFT_LIMIT",
    "TIME_LIMIT",
    "TWO_DAYS_OFF",
    "AttributeCover",
    "Cover",
    "Infeasible",
    "NoRosterInTime",
    "Request",
    "RosterProblem",
    "RosterResult",
    "RosterShift",
    "Staff",
    "Violation",
    "check",
    "fixed_conflicts",
    "solve",
    "with_fixed",
]
