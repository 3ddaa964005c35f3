"""The CP-SAT model of a roster: one method per family of rules.

The model speaks the language of the Curtois & Qu employee-scheduling benchmark — shift types
with forbidden successions (minimum rest), per-person limits on shifts per type and on minutes,
minimum/maximum consecutive working days, minimum consecutive days off, maximum weekends, days
off, shift on/off requests, and soft cover per day and shift — plus what a call centre needs on
top: days the line is closed (never worked, never relaxed), cells a supervisor locked to a shift
or off (never relaxed either), coverage of skills and languages at
checkpoints, at least two consecutive days off in the
week, the same start time through the week, weekends and nights shared fairly, and hours close
to each contract.

Hard rules can be relaxed (``relax=True``): each becomes a penalised slack labelled with the
:class:`Violation` it stands for, which is how an infeasible week is explained rule by rule
instead of with a bare "no solution".
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from .problem import (
    ATTRIBUTE_COVER,
    DAY_OFF,
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
    Staff,
    Violation,
)


def hours(minutes: int) -> str:
    """Minutes as hours for people: 2400 -> "40", 400 -> "6.7"."""
    return f"{round(minutes / 60, 1):g}"


HARD = 1_000_000  # the penalty of breaking a hard rule in the relaxed model


class Model:
    """``x[person, day, shift index]`` and ``work[person, day]`` booleans, the rules on them and
    the objective ``terms``; ``slacks`` pairs each relaxed rule's slack with its violation."""

    def __init__(self, problem: RosterProblem, relax: bool, flow: bool = True):
        self.p, self.relax, self.flow = problem, relax, flow and not relax
        self.m = cp_model.CpModel()
        self.terms: list = []
        self.slacks: list[tuple[cp_model.IntVar, Violation]] = []
        self.x: dict[tuple[int, int, int], cp_model.IntVar] = {}
        self.work: dict[tuple[int, int], cp_model.IntVar] = {}
        self.index = {s.id: k for k, s in enumerate(problem.shifts)}  # shift id -> k
        self.fixed = problem.fixed_cells()

    def hard(self, expression_le: tuple, violation: Violation, bound: int) -> None:
        """``lhs <= rhs`` as a hard rule, or with a penalised slack when relaxing."""
        lhs, rhs = expression_le
        if self.relax:
            slack = self.m.new_int_var(0, bound, f"slack_{len(self.slacks)}")
            self.m.add(lhs <= rhs + slack)
            self.slacks.append((slack, violation))
            self.terms.append(HARD * slack)
        else:
            self.m.add(lhs <= rhs)

    def clause(self, literals: list, violation: Violation) -> None:
        if self.relax:
            slack = self.m.new_bool_var(f"slack_{len(self.slacks)}")
            self.m.add_bool_or([*literals, slack])
            self.slacks.append((slack, violation))
            self.terms.append(HARD * slack)
        else:
            self.m.add_bool_or(literals)

    def build(self) -> None:
        """Every rule, person by person, then the requests and the covers; the order is the
        model's variable and constraint order, which the solver's search depends on."""
        self._variables()
        for e, person in enumerate(self.p.staff):
            self._closed_days(e)
            self._fixed(e, person)
            self._days_off(e, person)
            self._shift_limits(e, person)
            self._contract_hours(e, person)
            self._rest(e, person)
            self._consecutive_days(e, person)
            self._weekends(e, person)
            self._two_days_off(e, person)
            self._contract_target(e, person)
            self._same_start_time(e)
            self._fairness(e, person)
        self._requests()
        self._cover()
        self._attribute_cover()
        self.m.minimize(sum(self.terms))

    # -- helpers ---------------------------------------------------------------------------------
    def _work(self, e: int) -> list:
        """Person ``e``'s worked-day booleans, day by day."""
        return [self.work[e, d] for d in range(self.p.days)]

    def _minutes(self, e: int):
        """The paid minutes person ``e`` works over the horizon (a linear expression)."""
        p = self.p
        return sum(
            self.x[e, d, k] * s.minutes for d in range(p.days) for k, s in enumerate(p.shifts)
        )

    def _total_max(self) -> int:
        """The most minutes anyone could work: the longest shift every day."""
        return sum(max(s.minutes for s in self.p.shifts) for _ in range(self.p.days))

    # -- the rules, one family each ----------------------------------------------------------
    def _variables(self) -> None:
        """One shift a day at most: ``work`` is the sum of the day's ``x``."""
        p, m = self.p, self.m
        for e in range(len(p.staff)):
            for d in range(p.days):
                for k in range(len(p.shifts)):
                    self.x[e, d, k] = m.new_bool_var(f"x_{e}_{d}_{k}")
                w = m.new_bool_var(f"w_{e}_{d}")
                m.add(sum(self.x[e, d, k] for k in range(len(p.shifts))) == w)
                self.work[e, d] = w

    def _closed_days(self, e: int) -> None:
        """Nobody works a closed day, relaxed or not."""
        work = self._work(e)
        for d in sorted(self.p.closed_days):
            if 0 <= d < self.p.days:
                self.m.add(work[d] == 0)

    def _fixed(self, e: int, person: Staff) -> None:
        """Locked cells: the person works that shift, or nothing, that day; relaxed or not."""
        for d in range(self.p.days):
            if (person.id, d) not in self.fixed:
                continue
            shift = self.fixed[person.id, d]
            if shift is None:
                self.m.add(self.work[e, d] == 0)
            elif shift in self.index:
                self.m.add(self.x[e, d, self.index[shift]] == 1)
            else:
                raise ValueError(f"{person.id} is fixed to {shift} on day {d}: no such shift")

    def _days_off(self, e: int, person: Staff) -> None:
        work = self._work(e)
        for d in sorted(person.days_off):
            if 0 <= d < self.p.days:
                self.hard(
                    (work[d], 0),
                    Violation(
                        day=d, rule=DAY_OFF, agent=person.id, detail=f"works on day {d}, a day off"
                    ),
                    1,
                )

    def _shift_limits(self, e: int, person: Staff) -> None:
        """At most ``max_shifts[shift id]`` shifts of a type."""
        p = self.p
        for sid, limit in person.max_shifts.items():
            if sid in self.index:
                self.hard(
                    (sum(self.x[e, d, self.index[sid]] for d in range(p.days)), limit),
                    Violation(
                        rule=SHIFT_LIMIT,
                        agent=person.id,
                        detail=f"works more than {limit} {sid} shifts",
                    ),
                    p.days,
                )

    def _contract_hours(self, e: int, person: Staff) -> None:
        """Paid minutes between the contract's minimum and maximum."""
        minutes = self._minutes(e)
        self.hard(
            (minutes, person.max_minutes),
            Violation(
                rule=MAX_HOURS,
                agent=person.id,
                detail=f"works more than {hours(person.max_minutes)} h",
            ),
            self._total_max(),
        )
        self.hard(
            (person.min_minutes, minutes),
            Violation(
                rule=MIN_HOURS,
                agent=person.id,
                detail=f"works less than {hours(person.min_minutes)} h",
            ),
            person.min_minutes,
        )

    def _rest(self, e: int, person: Staff) -> None:
        """Forbidden successions (minimum rest), within the horizon and after last week's last
        shift."""
        p, index, name = self.p, self.index, person.id
        for d in range(p.days - 1):
            for k, s in enumerate(p.shifts):
                for nxt in s.forbidden_next:
                    if nxt in index:
                        self.hard(
                            (self.x[e, d, k] + self.x[e, d + 1, index[nxt]], 1),
                            Violation(
                                day=d + 1,
                                rule=REST,
                                agent=name,
                                detail=f"{nxt} on day {d + 1} too soon after {s.id} on day {d} (rest)",
                            ),
                            1,
                        )
        follow = set(person.prior_forbidden)
        if person.prior_last_shift in index:
            follow |= set(p.shifts[index[person.prior_last_shift]].forbidden_next)
        for nxt in sorted(follow):
            if nxt in index:
                self.hard(
                    (self.x[e, 0, index[nxt]], 0),
                    Violation(
                        day=0,
                        rule=REST,
                        agent=name,
                        detail=f"{nxt} on day 0 too soon after last week's last shift (rest)",
                    ),
                    1,
                )

    def _consecutive_days(self, e: int, person: Staff) -> None:
        """Maximum days in a row (counting the days worked just before), minimum days in a row
        and minimum days off in a row; on small weeks also as a flow (:meth:`_run_flow`)."""
        p, name = self.p, person.id
        work = self._work(e)
        span = person.max_consecutive + 1
        for start in range(-min(person.prior_streak, person.max_consecutive), p.days - span + 1):
            window = [work[d] for d in range(max(start, 0), start + span)]
            carried = max(0, -start)
            self.hard(
                (sum(window) + carried, person.max_consecutive),
                Violation(
                    day=max(start, 0),
                    rule=MAX_CONSECUTIVE,
                    agent=name,
                    detail=f"works more than {person.max_consecutive} days in a row from day {max(start, 0)}",
                ),
                span,
            )
        self._min_runs(
            work,
            person.min_consecutive,
            MIN_CONSECUTIVE,
            name,
            f"works fewer than {person.min_consecutive} days in a row",
        )
        off = [w.Not() for w in work]
        self._min_runs(
            off,
            person.min_consecutive_off,
            MIN_CONSECUTIVE_OFF,
            name,
            f"has fewer than {person.min_consecutive_off} days off in a row",
        )
        if self.flow:
            self._run_flow(person, work)

    def _weekends(self, e: int, person: Staff) -> None:
        """At most ``max_weekends`` weekends with a day worked."""
        p, m = self.p, self.m
        if p.weekends and person.max_weekends < len(p.weekends):
            work = self._work(e)
            worked = []
            for k, days in enumerate(p.weekends):
                wk = m.new_bool_var(f"we_{e}_{k}")
                m.add_max_equality(wk, [work[d] for d in days if d < p.days])
                worked.append(wk)
            self.hard(
                (sum(worked), person.max_weekends),
                Violation(
                    rule=MAX_WEEKENDS,
                    agent=person.id,
                    detail=f"works more than {person.max_weekends} weekends",
                ),
                len(worked),
            )

    def _two_days_off(self, e: int, person: Staff) -> None:
        """Two days off in a row somewhere in the horizon, when the problem asks for them."""
        p, m = self.p, self.m
        if p.two_days_off_in_a_row and p.days >= 2:
            work = self._work(e)
            pairs = []
            for d in range(p.days - 1):
                if {d, d + 1} & p.not_rest_days:
                    continue
                both = m.new_bool_var(f"off2_{e}_{d}")
                m.add_implication(both, work[d].Not())
                m.add_implication(both, work[d + 1].Not())
                pairs.append(both)
            self.clause(
                pairs,
                Violation(
                    rule=TWO_DAYS_OFF,
                    agent=person.id,
                    detail="has no two days off in a row this week",
                ),
            )

    def _contract_target(self, e: int, person: Staff) -> None:
        """Soft: each minute away from the contract's target costs ``contract_weight``."""
        p, m = self.p, self.m
        if p.contract_weight and person.target_minutes is not None:
            minutes = self._minutes(e)
            dev = m.new_int_var(0, self._total_max(), f"dev_{e}")
            m.add(minutes - person.target_minutes <= dev)
            m.add(person.target_minutes - minutes <= dev)
            self.terms.append(p.contract_weight * dev)

    def _same_start_time(self, e: int) -> None:
        """Soft: each start time beyond the first costs ``stability_weight``."""
        p, m = self.p, self.m
        if p.stability_weight:
            starts = sorted({s.start_min for s in p.shifts})
            used = []
            for t in starts:
                u = m.new_bool_var(f"start_{e}_{t}")
                at = [k for k, s in enumerate(p.shifts) if s.start_min == t]
                for d in range(p.days):  # one shift a day: the day's shifts at t sum to u at most
                    m.add(sum(self.x[e, d, k] for k in at) <= u)
                used.append(u)
            extra = m.new_int_var(0, len(starts), f"extra_starts_{e}")
            m.add(extra >= sum(used) - 1)
            self.terms.append(p.stability_weight * extra)

    def _fairness(self, e: int, person: Staff) -> None:
        """Soft: each weekend and night worked costs ``fairness_weight`` times one more than
        the person worked recently."""
        p, m = self.p, self.m
        if p.fairness_weight:
            work = self._work(e)
            for days in p.weekends:
                wk = m.new_bool_var(f"wkf_{e}_{days}")
                m.add_max_equality(wk, [work[d] for d in days if d < p.days])
                self.terms.append(p.fairness_weight * (1 + person.prior_weekends) * wk)
            nights = [
                self.x[e, d, k] for d in range(p.days) for k, s in enumerate(p.shifts) if s.night
            ]
            if nights:
                self.terms.append(p.fairness_weight * (1 + person.prior_nights) * sum(nights))

    def _requests(self) -> None:
        """Soft: shift on/off requests (a day off is a request to work no shift)."""
        p, index = self.p, self.index
        staff_index = {s.id: e for e, s in enumerate(p.staff)}
        for r in p.requests:
            e = staff_index.get(r.staff)
            if e is None or not 0 <= r.day < p.days:
                continue
            chosen = (
                self.work[e, r.day]
                if r.shift is None
                else self.x[e, r.day, index[r.shift]]
                if r.shift in index
                else None
            )
            if chosen is None:
                continue
            self.terms.append(r.weight * (1 - chosen) if r.on else r.weight * chosen)

    def _cover(self) -> None:
        """Soft: people short of or beyond each day's cover of a shift."""
        p, m, index = self.p, self.m, self.index
        for c in p.covers:
            if c.shift not in index or not 0 <= c.day < p.days:
                continue
            k = index[c.shift]
            assigned = sum(self.x[e, c.day, k] for e in range(len(p.staff)))
            under = m.new_int_var(0, max(c.requirement, 0), f"under_{c.day}_{k}")
            over = m.new_int_var(0, len(p.staff) + max(-c.requirement, 0), f"over_{c.day}_{k}")
            m.add(assigned + under - over == c.requirement)
            self.terms.append(c.under_weight * under + c.over_weight * over)

    def _attribute_cover(self) -> None:
        """Skills and languages on duty: hard, or soft when the cover has a weight."""
        p, m, index = self.p, self.m, self.index
        for a in p.attribute_covers:
            if a.requirement <= 0:
                continue
            people = [e for e, s in enumerate(p.staff) if a.attribute in s.attributes]
            have = sum(
                self.x[e, a.day, index[sid]] for e in people for sid in a.shifts if sid in index
            )
            if a.weight is not None:
                short = m.new_int_var(0, a.requirement, f"attr_{len(self.terms)}")
                m.add(have + short >= a.requirement)
                self.terms.append(a.weight * short)
            else:
                self.hard(
                    (a.requirement, have),
                    Violation(
                        day=a.day,
                        time=a.time,
                        rule=ATTRIBUTE_COVER,
                        detail=a.label,
                        day_name=a.day_name,
                    ),
                    a.requirement,
                )

    # -- run rules: a flow, and clauses against short runs ---------------------------------------
    def _run_flow(self, person: Staff, work: list) -> None:
        """The same run rules (maximum and minimum days in a row, minimum days off in a row) as a
        flow through run-length states, one path per person. Redundant with the clauses of
        :meth:`_consecutive_days`, but a network's linear relaxation is exact for these rules,
        so the solver's bound is much tighter (on Curtois Instance5 the 60 s result went from
        +8 % to about +1 %)."""
        m, n = self.m, self.p.days
        most = max(person.max_consecutive, 1)
        least, rest = person.min_consecutive, max(person.min_consecutive_off, 1)
        exempt0 = not self.p.boundary_min_rules

        def after(state: tuple[str, int, bool]):
            kind, r, exempt = state
            if kind == "W":
                if r < most:
                    yield "W", r + 1, exempt
                if r >= least or exempt:
                    yield "O", 1, False
            else:
                nxt = min(r + 1, rest)
                yield "O", nxt, exempt and nxt < rest
                if r >= rest or exempt:
                    yield "W", 1, False

        first = []
        if min(person.prior_streak, most) < most:
            first.append(("W", min(person.prior_streak, most) + 1, exempt0))
        first.append(("O", 1, exempt0 and rest > 1))
        # arcs into each state of day d; each state's list of arcs out of it is filled on day d+1
        layer: list[tuple[list | None, tuple]] = [(None, t) for t in first]
        conservation: list[tuple[list, list]] = []
        for d in range(n):
            targets: dict[tuple, list] = {}
            for out_of_source, t in layer:
                arc = m.new_bool_var("")
                targets.setdefault(t, []).append(arc)
                if out_of_source is not None:
                    out_of_source.append(arc)
            if d == 0:
                m.add(sum(a for arcs in targets.values() for a in arcs) == 1)
            m.add(sum(a for t, arcs in targets.items() if t[0] == "W" for a in arcs) == work[d])
            layer = []
            for t, incoming in targets.items():
                if d + 1 == n:  # a run touching the horizon's end ends short only if exempt
                    kind, r, exempt = t
                    closed = exempt or not self.p.boundary_min_rules
                    if not (closed or r >= (least if kind == "W" else rest)):
                        m.add(sum(incoming) == 0)
                    continue
                outgoing: list = []
                layer += [(outgoing, u) for u in after(t)]
                conservation.append((incoming, outgoing))
        for incoming, outgoing in conservation:
            m.add(sum(incoming) == sum(outgoing))

    def _min_runs(self, series: list, minimum: int, rule: str, agent: str, detail: str) -> None:
        """Forbid runs shorter than ``minimum`` (runs touching the horizon's ends are exempt,
        as in the benchmark, unless ``boundary_min_rules``)."""
        n = len(series)
        for length in range(1, minimum):
            for start in range(0, n - length + 1):
                before, after = start - 1, start + length
                touches = before < 0 or after >= n
                if touches and not self.p.boundary_min_rules:
                    continue
                literals = [series[d].Not() for d in range(start, start + length)]
                if before >= 0:
                    literals.append(series[before])
                if after < n:
                    literals.append(series[after])
                self.clause(
                    literals,
                    Violation(
                        day=start,
                        rule=rule,
                        agent=agent,
                        detail=f"{detail} (days {start}-{start + length - 1})",
                    ),
                )


def person_model(problem: RosterProblem) -> Model:
    """One person's model for pricing (no run flows: the pricing solves are many and small,
    and without flows they took a third of the time on Curtois Instance9)."""
    model = Model(problem, relax=False, flow=False)
    model.build()
    return model
