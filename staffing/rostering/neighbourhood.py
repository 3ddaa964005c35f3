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

from .model import Model

log = logging.getLogger(__name__)
SUB_LIMIT_S = 3.0  # time limit of one neighbourhood's solve
TARGETED = 0.25  # share of neighbourhoods chosen around a day short of cover


def search(
    model: Model,
    values: dict[int, int],
    objective: float,
    bound: float,
    deadline: float,
    workers: int,
    seed: int,
) -> tuple[dict[int, int], float]:
    """Large neighbourhood search around the roster ``values`` (x variables of ``model``).

    Two kinds of move, each solved exactly by CP-SAT and kept when no worse: a few people
    re-rostered over the whole horizon (a small model of just them, with the cover the others
    already give subtracted), or everyone re-rostered on a window of days (the whole model,
    everything outside the window fixed). Each kind's size grows while its sub-problems solve
    to optimality quickly and shrinks when they time out. Cover shortfalls weigh most, so a share
    (``TARGETED``) of the moves start from a day short of cover: a window holding it, or people
    off that day among those re-rostered."""
    rng = random.Random(seed)
    p = model.p
    people, days = len(p.staff), p.days
    by_day: dict[int, list[int]] = {}
    for (_e, d, _k), var in model.x.items():
        by_day.setdefault(d, []).append(var.index)
    size = {"people": min(3, people), "days": min(4, days)}
    while objective > bound and time.perf_counter() < deadline - 0.2:
        kind = "people" if rng.random() < 0.6 else "days"
        limit_s = min(SUB_LIMIT_S, deadline - time.perf_counter())
        # cover shortfalls weigh most: a share of the moves start from a day short of cover
        short = short_days(model, values) if rng.random() < TARGETED else []
        day = rng.choice(short) if short else None
        if kind == "people":
            chosen = pick_people(model, values, size["people"], day, rng)
            better, status, seconds = _repair_people(model, values, chosen, limit_s, rng)
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
        log.debug(
            "lns %s size %d: %s in %.2f s, objective %g",
            kind,
            size[kind],
            status,
            seconds,
            objective,
        )
        limit = people if kind == "people" else days
        if status == "OPTIMAL" and seconds < SUB_LIMIT_S / 4:
            size[kind] = min(size[kind] + 1, limit)
        elif status != "OPTIMAL":
            size[kind] = max(size[kind] - 1, 2)
    return values, objective


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
    model: Model, values: dict[int, int], count: int, day: int | None, rng: random.Random
) -> list[int]:
    """``count`` people to re-roster: at random, or with ``day`` (a day short of cover) half of
    them among those off that day who could work it, the rest at random."""
    p = model.p
    people = range(len(p.staff))
    chosen: set[int] = set()
    if day is not None:
        off = [
            e
            for e in people
            if day not in p.staff[e].days_off
            and not any(values[model.x[e, day, k].index] for k in range(len(p.shifts)))
        ]
        chosen = set(rng.sample(off, min(len(off), max(1, count // 2))))
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
    model: Model, values: dict[int, int], chosen: list[int], limit_s: float, rng: random.Random
) -> tuple[tuple[dict[int, int], float] | None, str, float]:
    """Re-roster the people ``chosen`` over the whole horizon, everyone else as they are:
    a model of just them (with their run flows) against the cover the others leave over.
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
            replace(
                a,
                requirement=a.requirement
                - sum(attributes.get((a.day, sid, a.attribute), 0) for sid in a.shifts),
            )
            for a in p.attribute_covers
        ],
    )
    sub = Model(small, model.relax, flow=True)
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
