"""Large neighbourhood search around a roster of the whole model (small weeks only).

Two kinds of move, each solved exactly by CP-SAT and kept when no worse: a few people re-rostered
over the whole horizon in a small model of their own, or everyone re-rostered on a window of days.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import replace

from ortools.sat.python import cp_model

from .check import check
from .model import Model
from .problem import ATTRIBUTE_COVER

log = logging.getLogger(__name__)
SUB_LIMIT_S = 3.0  # time limit of one neighbourhood's solve
PEOPLE_ONLY_LIMIT_S = 1.0  # ... when only people are re-rostered (large weeks): more moves
TARGETED = 0.25  # share of neighbourhoods chosen around a day short of cover


def search(
    model: Model,
    values: dict[int, int],
    objective: float,
    bound: float,
    deadline: float,
    workers: int,
    seed: int,
    windows: bool = True,
) -> tuple[dict[int, int], float]:
    """Large neighbourhood search around the roster ``values`` (x variables of ``model``).

    Two kinds of move, each solved exactly by CP-SAT and kept when no worse: a few people
    re-rostered over the whole horizon (a small model of just them, with the cover the others
    already give subtracted), or everyone re-rostered on a window of days (the whole model,
    everything outside the window fixed). Each kind's size grows while its sub-problems solve
    to optimality quickly and shrinks when they time out. Cover shortfalls weigh most, so a share
    (``TARGETED``) of the moves start from a day short of cover: a window holding it, or people
    off that day among those re-rostered. Without ``windows`` (large weeks, where a window of
    days holds too many people to solve quickly) only people are re-rostered."""
    rng = random.Random(seed)
    p = model.p
    people, days = len(p.staff), p.days
    by_day: dict[int, list[int]] = {}
    for (_e, d, _k), var in model.x.items():
        by_day.setdefault(d, []).append(var.index)
    size = {"people": min(3, people), "days": min(4, days)}
    sub_limit_s = SUB_LIMIT_S if windows else PEOPLE_ONLY_LIMIT_S
    # relaxed model: the people whose rules the roster breaks, re-read after each improvement
    breaking = breaking_people(model, values) if model.relax else []
    while objective > bound and time.perf_counter() < deadline - 0.2:
        kind = "people" if not windows or rng.random() < 0.6 else "days"
        limit_s = min(sub_limit_s, deadline - time.perf_counter())
        # cover shortfalls weigh most: a share of the moves start from a day short of cover
        short = short_days(model, values) if rng.random() < TARGETED else []
        day = rng.choice(short) if short else None
        if kind == "people":
            # half the time, half of them among the people whose rules the roster breaks
            among = breaking if breaking and rng.random() < 0.5 else None
            chosen = pick_people(model, values, size["people"], day, rng, among)
            better, status, seconds = _repair_people(model, values, chosen, limit_s, rng, windows)
        else:
            if day is None:
                first = rng.randrange(0, max(days - size["days"], 0) + 1)
            else:  # a window that holds that day
                first = min(max(day - rng.randrange(size["days"]), 0), max(days - size["days"], 0))
            free = {i for d in range(first, first + size["days"]) for i in by_day[d]}
            better, status, seconds = _repair_window(
                model, values, objective, free, limit_s, workers, rng
            )
        if better is not None and better[1] <= 0:
            values, objective = better[0], objective + better[1]
            if model.relax and better[1] < 0:
                breaking = breaking_people(model, values)
        log.debug(
            "lns %s size %d: %s in %.2f s, objective %g",
            kind,
            size[kind],
            status,
            seconds,
            objective,
        )
        limit = people if kind == "people" else days
        if status == "OPTIMAL" and seconds < sub_limit_s / 4:
            size[kind] = min(size[kind] + 1, limit)
        elif status != "OPTIMAL":
            size[kind] = max(size[kind] - 1, 2)
    return values, objective


def breaking_people(model: Model, values: dict[int, int]) -> list[int]:
    """The people (indexes) the roster ``values`` breaks a hard rule of, and for a skill or
    language missing on a day, those with it who are off that day (:func:`check`'s
    violations, without the solver)."""
    p = model.p
    shifts = [s.id for s in p.shifts]
    assignment = {
        (p.staff[e].id, d): shifts[k] for (e, d, k), var in model.x.items() if values[var.index]
    }
    index = {person.id: e for e, person in enumerate(p.staff)}
    out: set[int] = set()
    for violation in check(p, assignment):
        if violation.agent is not None:
            out.add(index[violation.agent])
        elif violation.rule == ATTRIBUTE_COVER and violation.day is not None:
            wanted = {a.attribute for a in p.attribute_covers if a.day == violation.day}
            out |= {
                e
                for e, person in enumerate(p.staff)
                if (person.id, violation.day) not in assignment
                and violation.day not in person.days_off
                and person.attributes & wanted
            }
    return sorted(out)


def short_days(model: Model, values: dict[int, int]) -> list[int]:
    """Days with a shift short of its cover in the roster ``values``."""
    p = model.p
    index = {s.id: k for k, s in enumerate(p.shifts)}
    short = set()
    for c in p.covers:
        k = index.get(c.shift)
        if k is not None and 0 <= c.day < p.days and c.day not in short:
            have = sum(values[model.x[e, c.day, k].index] for e in range(len(p.staff)))
            if have < c.requirement:
                short.add(c.day)
    return sorted(short)


def pick_people(
    model: Model,
    values: dict[int, int],
    count: int,
    day: int | None,
    rng: random.Random,
    among: list[int] | None = None,
) -> list[int]:
    """``count`` people to re-roster: at random, or half of them from a pool and the rest at
    random. The pool is ``among`` when given, else with ``day`` (a day short of cover) those
    off that day who could work it."""
    p = model.p
    people = range(len(p.staff))
    chosen: set[int] = set()
    if among is None and day is not None:
        among = [
            e
            for e in people
            if day not in p.staff[e].days_off
            and not any(values[model.x[e, day, k].index] for k in range(len(p.shifts)))
        ]
    if among is not None:
        chosen = set(rng.sample(among, min(len(among), max(1, count // 2))))
    others = [e for e in people if e not in chosen]
    chosen |= set(rng.sample(others, min(len(others), count - len(chosen))))
    return sorted(chosen)


def _repair_window(
    model: Model,
    values: dict[int, int],
    objective: float,
    free: set[int],
    limit_s: float,
    workers: int,
    rng: random.Random,
) -> tuple[tuple[dict[int, int], float] | None, str, float]:
    """Re-solve the variables ``free`` with every other x fixed (``objective`` is the roster's
    now). Returns (values, change of the objective), the sub-solve's status and seconds."""
    proto = model.m.proto
    fixed = [i for i in values if i not in free]
    for i in fixed:
        domain = proto.variables[i].domain
        domain[0] = domain[1] = values[i]
    model.m.clear_hints()
    for i in free:
        model.m.add_hint(model.m.get_bool_var_from_proto_index(i), values[i])
    solver = _sub_solver(limit_s, min(workers, 2), rng)
    status = solver.solve(model.m)
    for i in fixed:
        domain = proto.variables[i].domain
        domain[0], domain[1] = 0, 1
    model.m.clear_hints()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.status_name(status), solver.wall_time
    new = {i: solver.value(model.m.get_bool_var_from_proto_index(i)) for i in values}
    return (new, solver.objective_value - objective), solver.status_name(status), solver.wall_time


def _repair_people(
    model: Model,
    values: dict[int, int],
    chosen: list[int],
    limit_s: float,
    rng: random.Random,
    flows: bool = True,
) -> tuple[tuple[dict[int, int], float] | None, str, float]:
    """Re-roster the people ``chosen`` over the whole horizon, everyone else as they are:
    a model of just them (with their run flows, if ``flows``) against the cover the others
    leave over.
    Returns (values, change of the objective), the sub-solve's status and seconds."""
    p = model.p
    shifts = [s.id for s in p.shifts]
    mine = set(chosen)
    others: dict[tuple[int, str], int] = {}
    attributes: dict[tuple[int, str], int] = {}
    for (e, d, k), var in model.x.items():
        if e not in mine and values[var.index]:
            others[d, shifts[k]] = others.get((d, shifts[k]), 0) + 1
            for attribute in p.staff[e].attributes:
                attributes[d, shifts[k], attribute] = (
                    attributes.get((d, shifts[k], attribute), 0) + 1
                )
    names = {p.staff[e].id for e in chosen}
    small = replace(
        p,
        staff=[p.staff[e] for e in chosen],
        covers=[
            replace(c, requirement=c.requirement - others.get((c.day, c.shift), 0))
            for c in p.covers
        ],
        requests=[r for r in p.requests if r.staff in names],
        attribute_covers=[
            reduced
            for a in p.attribute_covers
            if (
                reduced := replace(
                    a,
                    requirement=a.requirement
                    - sum(attributes.get((a.day, sid, a.attribute), 0) for sid in a.shifts),
                )
            ).requirement
            > 0  # the others already meet it: nothing for the chosen to keep
        ],
    )
    sub = Model(small, model.relax, flow=flows)
    sub.build()
    now = {
        (j, d, k): values[model.x[e, d, k].index]
        for j, e in enumerate(chosen)
        for d in range(p.days)
        for k in range(len(shifts))
    }
    for key, var in sub.x.items():
        sub.m.add_hint(var, now[key])
    solver = _sub_solver(limit_s, 1, rng)
    solver.parameters.fix_variables_to_their_hinted_value = True
    if solver.solve(sub.m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, "INCUMBENT_REJECTED", solver.wall_time
    before = solver.objective_value
    solver = _sub_solver(limit_s, 1, rng)
    status = solver.solve(sub.m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.status_name(status), solver.wall_time
    new = dict(values)
    for (j, d, k), var in sub.x.items():
        new[model.x[chosen[j], d, k].index] = solver.value(var)
    return (new, solver.objective_value - before), solver.status_name(status), solver.wall_time


def _sub_solver(limit_s: float, workers: int, rng: random.Random) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(limit_s, 0.01)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = rng.randrange(1 << 30)
    return solver
