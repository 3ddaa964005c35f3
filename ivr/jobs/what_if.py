"""The what-if task of ``/supervisor/plan`` (kind ``what_if``, run by :mod:`ivr.jobs.tasks`): the
week planned again with a change (:class:`~ivr.planning.pipeline.WhatIf`) from the same forecast
as the stored plan (the stored one covering the week, else one from the call log as the weekly job
makes it), within what the team can work, as the weekly job plans it; read as the stored plan is
read (:mod:`ivr.planning.plan_outcome`) and kept as a scenario (:mod:`ivr.planning.scenarios`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

from ivr import clock
from ivr.config import hotline_config
from ivr.jobs.tasks import Progress, ticking
from ivr.planning.pipeline import WhatIf, plan_week, requirement_table, summarise
from ivr.planning.plan_outcome import outcome
from ivr.planning.scenarios import keep
from ivr.planning.week_forecast import log_week_forecast, stored_week_forecast
from ivr.store.db import session_scope

KIND = "what_if"


def run_what_if(
    app: Flask, params: dict[str, Any], progress: Progress, *, by: str
) -> dict[str, Any]:
    """``params``: ``week`` (ISO date) and ``change`` (:meth:`WhatIf.as_params`). A value out of
    range, for this forecast too (an AHT cut below an interval's AHT), fails the task with a
    message naming it (:class:`~ivr.planning.pipeline.BadWhatIf`)."""
    cfg = hotline_config(app)
    week = dt.date.fromisoformat(params["week"])
    what_if = WhatIf.from_params(params["change"])
    what_if.check()
    progress(0.05, "reading the week's forecast")
    with session_scope(app) as session:
        forecast = stored_week_forecast(session, cfg, week)
    if forecast is None:
        progress(0.1, "no stored forecast covers the week: forecasting from the call log")
        forecast = log_week_forecast(cfg, week)
    progress(0.2, "requirements with the change")
    reqs = requirement_table(cfg, forecast.table, what_if)
    limit_s = cfg.line.scheduler.plan_time_limit_s

    def say(spent_s: float) -> str:
        return (
            "planning the shifts within what the team can work:"
            f" {spent_s:.0f} s of up to {limit_s:g} s"
        )

    with ticking(progress, limit_s, say, first=0.3, last=0.85):
        problem, plan = plan_week(cfg, reqs, limit_s, allow_uncovered=True, team=True)
    progress(0.9, "reading the plan")
    result = outcome(cfg, summarise(cfg, problem, plan), problem, reqs, what_if)
    result.forecast = forecast.source
    result.solver = f"{plan.status.lower()}, gap {plan.gap:.1%}"
    with session_scope(app) as session:
        scenario_id = keep(session, week, what_if, result, by, clock.now()).id
    return {
        "scenario": scenario_id,
        "week": week.isoformat(),
        "label": what_if.describe(),
        "paid_hours": result.paid_hours,
        "cost": result.cost,
        "shortage_hours": result.shortage_hours,
    }
