"""What-ifs of a week kept beside its stored plan (``/supervisor/plan``): each finished what-if
(``ivr.jobs.what_if``) is stored as a :class:`~ivr.store.models.PlanScenario`, its change, its
figures and its cover per interval, until a supervisor deletes it; it never replaces the stored
plan."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.planning.pipeline import WhatIf
from ivr.planning.plan_outcome import Outcome
from ivr.store.models import PlanScenario


def keep(
    session: Session,
    week: dt.date,
    what_if: WhatIf,
    result: Outcome,
    by: str,
    at: dt.datetime,
) -> PlanScenario:
    """Store a what-if's plan of the week as a scenario."""
    scenario = PlanScenario(
        week_start=week,
        label=what_if.describe(),
        params=what_if.as_params(),
        figures=result.figures(),
        series=result.series,
        created_by=by,
        created_at=at,
    )
    session.add(scenario)
    session.flush()
    return scenario


def scenarios_of(session: Session, week: dt.date) -> list[PlanScenario]:
    """The week's kept what-ifs, oldest first."""
    return list(
        session.scalars(
            select(PlanScenario)
            .where(PlanScenario.week_start == week)
            .order_by(PlanScenario.created_at, PlanScenario.id)
        )
    )
