"""What the team in agents.csv can work in a week: each agent's possible weeks (available days,
opening hours, rest rules, contract hours) summed into limits per day and per week, so that a shift
plan asks no more than the agents can work; and the shift templates of staffing.yaml."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ivr.config.hours import MIDNIGHT, OpeningHours
from ivr.config.schema import WEEKDAYS, Agent, HotlineConfig
from staffing.shift_plan import (
    Template,
)
from staffing.shifts import TeamLimits


def minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def templates(cfg: HotlineConfig) -> list[Template]:
    out = []
    for t in cfg.staffing.shift_templates:
        brk = t.unpaid_break
        out.append(
            Template(
                name=t.name,
                start_earliest_min=minutes(t.start_earliest),
                start_latest_min=minutes(t.start_latest),
                start_step_min=t.start_step_min,
                length_min_min=t.length_min_min,
                length_max_min=t.length_max_min,
                length_step_min=t.length_step_min,
                weekdays=frozenset(WEEKDAYS.index(d) for d in t.days),
                break_min=brk.length_min if brk else 0,
                break_after_min=brk.earliest_after_start_min if brk else 0,
                break_before_end_min=brk.latest_before_end_min if brk else 0,
                hourly_cost=t.hourly_cost or cfg.staffing.hourly_cost,
            )
        )
    return out


def unavailable_days(agent: Agent, week_start: dt.date) -> set[int]:
    """The days (0-6 from ``week_start``) an agent cannot work: weekdays and dates from agents.csv."""
    out = set()
    for value in agent.unavailable_days:
        if isinstance(value, dt.date):
            if 0 <= (value - week_start).days < 7:
                out.add((value - week_start).days)
        else:
            wanted = WEEKDAYS.index(value)
            out |= {d for d in range(7) if (week_start + dt.timedelta(days=d)).weekday() == wanted}
    return out


def holidays(cfg: HotlineConfig, week_start: dt.date) -> dict[int, str]:
    """The days of the week (0-6 from ``week_start``) the line usually opens but not this week:
    public holidays and closures, with their names."""
    hours = OpeningHours.from_config(cfg)
    out = {}
    for d in range(7):
        day = week_start + dt.timedelta(days=d)
        reason = hours.closure_reason(day)
        if reason and hours.weekly.get(day.weekday()):
            out[d] = reason
    return out


def contract_minutes(cfg: HotlineConfig, agent: Agent, week_start: dt.date) -> tuple[int, int]:
    """An agent's fewest and most paid minutes in the week, their contract reduced for the
    week's holidays as ``staffing.holiday_hours`` says: ``paid_day`` takes
    ``holiday_paid_share`` of the weekly contract (``max_hours_week``) off both per holiday,
    ``prorate`` multiplies both by the days open over the days usually open, ``none`` keeps
    them."""
    low, high = agent.min_hours_week * 60, agent.max_hours_week * 60
    rule = cfg.staffing.holiday_hours
    closed = len(holidays(cfg, week_start)) if rule != "none" else 0
    if closed and rule == "paid_day":
        paid = closed * cfg.staffing.holiday_paid_share * high
        low, high = max(low - paid, 0.0), max(high - paid, 0.0)
    elif closed:  # prorate
        usual = sum(1 for ranges in OpeningHours.from_config(cfg).weekly.values() if ranges)
        share = max(usual - closed, 0) / usual
        low, high = low * share, high * share
    return int(round(low)), int(round(high))


def not_rest_days(cfg: HotlineConfig, week_start: dt.date) -> set[int]:
    """The days that may not be one of the two days off in a row: the week's holidays, unless
    ``staffing.holiday_counts_as_day_off``."""
    if cfg.staffing.holiday_counts_as_day_off:
        return set()
    return set(holidays(cfg, week_start))


def _weeks_allowed(cfg: HotlineConfig, week_start: dt.date) -> list[int]:
    """The working-day sets (bit d: day d of the week) the rest rules allow one agent: with
    ``min_consecutive_days_off`` of 2 or more, two days off in a row within the week (as the
    roster requires; a holiday counts as one only if ``holiday_counts_as_day_off``), and no
    more than ``max_consecutive_days`` in a row."""
    rest = cfg.staffing.rest
    excluded = not_rest_days(cfg, week_start)
    out = []
    for mask in range(1 << 7):
        worked = [bool(mask >> d & 1) for d in range(7)]
        if rest.min_consecutive_days_off >= 2 and not any(
            not worked[d] and not worked[d + 1] for d in range(6) if not {d, d + 1} & excluded
        ):
            continue
        run = longest = 0
        for w in worked:
            run = run + 1 if w else 0
            longest = max(longest, run)
        if longest <= rest.max_consecutive_days:
            out.append(mask)
    return out


def _paid_minutes_per_day(cfg: HotlineConfig, week_start: dt.date) -> list[tuple[int, int] | None]:
    """Per day of the week: the fewest and the most paid minutes one shift can give that day
    (the most no longer than the line is open then), or None when no shift can be worked
    (closed, or no template on that weekday)."""

    hours = OpeningHours.from_config(cfg)
    shapes = templates(cfg)
    out: list[tuple[int, int] | None] = []
    for d in range(7):
        day = week_start + dt.timedelta(days=d)
        ranges = hours.wall_ranges(day)
        allowed = [t for t in shapes if day.weekday() in t.weekdays]
        if not ranges or not allowed:
            out.append(None)
            continue
        open_min = sum(
            (1440 if end == MIDNIGHT else minutes(end)) - minutes(start) for start, end in ranges
        )
        fewest = min(t.length_min_min - t.break_min for t in allowed)
        most = max(min(max(t.length_max_min - t.break_min for t in allowed), open_min), fewest)
        out.append((fewest, most))
    return out


def team_limits(cfg: HotlineConfig, week_start: dt.date) -> TeamLimits | None:
    """What the agents in agents.csv can work in the week from ``week_start`` (None without
    agents). One shift a day at most; an agent's possible weeks are the sets of days they are
    available and the line is open that keep the rest rules and can meet their contract (the
    shortest shifts within their maximum hours, the longest reaching their minimum). An agent
    counts on each day of some possible week, and for the most days any of them has (an agent
    whose minimum no week can reach counts with the weeks that keep the other rules). Contract
    hours are the week's (:func:`contract_minutes`: reduced for holidays). Upper
    bounds: a plan within them may still leave a shift unfilled, a plan beyond them surely
    does. (With two days off in a row, an agent whose minimum hours three weekday shifts and a
    short Saturday cannot reach never works that Saturday.)"""
    if not cfg.agents:
        return None
    paid = _paid_minutes_per_day(cfg, week_start)
    workable = sum(1 << d for d, m in enumerate(paid) if m is not None)
    weeks = [m for m in _weeks_allowed(cfg, week_start) if m & ~workable == 0]
    fewest = {m: sum(paid[d][0] for d in range(7) if m >> d & 1) for m in weeks}
    most = {m: sum(paid[d][1] for d in range(7) if m >> d & 1) for m in weeks}
    per_day = [0] * 7
    shifts = 0
    paid_hours = 0.0
    for agent in cfg.agents:
        low, high = contract_minutes(cfg, agent, week_start)
        paid_hours += high / 60
        free = sum(1 << d for d in set(range(7)) - unavailable_days(agent, week_start))
        possible = [m for m in weeks if m & ~free == 0 and fewest[m] <= high]
        meeting = [m for m in possible if most[m] >= low]
        # no week reaches their minimum: the roster will break that rule (best effort) and
        # still give them shifts, so they count with the weeks they can work
        possible = meeting or possible
        if not possible:
            continue
        days = 0
        for m in possible:
            days |= m
        for d in range(7):
            per_day[d] += days >> d & 1
        shifts += max(m.bit_count() for m in possible)
    return TeamLimits(
        per_day=tuple(per_day),
        shifts=shifts,
        paid_hours=paid_hours,
        people=len(cfg.agents),
    )


def beyond(team: TeamLimits, plan: pd.DataFrame, week_start: dt.date) -> list[str]:
    """What a week's shift plan (rows: ``date``, ``agents``, ``paid_hours``) asks beyond what the
    team can work, in words; empty when it keeps within."""
    if plan.empty:
        return []
    out = []
    shifts = int(plan["agents"].sum())
    if shifts > team.shifts:
        out.append(f"{shifts} shifts, and the agents can work {team.shifts}")
    paid = float((plan["agents"] * plan["paid_hours"]).sum()) if "paid_hours" in plan else 0.0
    if paid > team.paid_hours + 1e-6:
        out.append(f"{paid:.0f} paid hours, and their contracts allow {team.paid_hours:.0f}")
    days = [(d - week_start).days for d in pd.to_datetime(plan["date"]).dt.date]
    for d, n in plan.groupby(days)["agents"].sum().items():
        if 0 <= d < 7 and n > team.per_day[d]:
            day = week_start + dt.timedelta(days=int(d))
            out.append(f"{n} shifts on {day:%a %d %b}, and {team.per_day[d]} agents can work then")
    return out
