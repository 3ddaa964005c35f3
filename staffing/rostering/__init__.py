"""Rosters of named people: who works which shift on which day (OR-Tools CP-SAT).

``problem`` holds what a roster is asked and answers; ``model`` the CP-SAT model, one method per
family of rules; ``columns`` the column-generation dive; ``neighbourhood`` the large neighbourhood
search; ``solver`` puts them together (:func:`solve`); ``check`` re-checks every hard rule without
the solver.
"""

from .check import check
from .problem import (
    AttributeCover,
    Cover,
    Infeasible,
    Request,
    RosterProblem,
    RosterResult,
    RosterShift,
    Staff,
)
from .solver import solve

__all__ = [
    "AttributeCover",
    "Cover",
    "Infeasible",
    "Request",
    "RosterProblem",
    "RosterResult",
    "RosterShift",
    "Staff",
    "check",
    "solve",
]
