"""``/supervisor/plan``: the week's stored shift plan against its requirement, and what-ifs beside
it. A what-if (calls, AHT, service-level target, shrinkage: a
:class:`~ivr.planning.pipeline.WhatIf`, as ``hotline plan --what-if`` takes it) is planned in the
background (a task of kind ``what_if``, :mod:`ivr.jobs.what_if`) and kept as a scenario for
comparison until a supervisor deletes it; it never replaces the stored plan, which only the
weekly job (or ``hotline demo``) makes (:mod:`ivr.planning.plan_outcome`,
:mod:`ivr.planning.scenarios`)."""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from ivr.config import hotline_config
from ivr.jobs.tasks import recent, submit, task_json
from ivr.jobs.what_if import KIND, run_what_if
from ivr.planning.drafts import weeks_with
from ivr.planning.pipeline import BadWhatIf, WhatIf, check_aht
from ivr.planning.plan_outcome import LABEL, stored_plan
from ivr.planning.scenarios import scenarios_of
from ivr.planning.week_forecast import stored_week_forecast
from ivr.store import audit
from ivr.store.db import get_session
from ivr.store.models import PlanScenario
from ivr.web.auth import check_csrf, login_required, supervisors_only, username
from staffing.shift_plan import wall_time

bp = Blueprint("plan", __name__, url_prefix="/supervisor/plan")

# the what-if form's number fields: the names its messages use, and the what-if value each sets
# (BadWhatIf.field)
FIELDS = {
    "volume_pct": ("Volume change", "volume"),
    "aht_change": ("AHT change", "aht"),
    "sl_target_pct": ("Service-level target", "sl_target"),
    "sl_answer_s": ("Service-level answer time", "sl_answer"),
    "shrinkage_pct": ("Shrinkage", "shrinkage"),
}
INPUT_OF = {value: name for name, (_title, value) in FIELDS.items()}
TASKS_LOOKED_AT = 50  # the newest what-if tasks searched for the week's running and failed ones
FAILED_SHOWN = 3


def read_what_if(form) -> WhatIf:
    """The what-if of the form (percentages and seconds; an empty field keeps the line's own
    value); a :class:`BadWhatIf` names a field that is not a number or is out of range."""
    numbers: dict[str, float] = {}
    for name, (title, value) in FIELDS.items():
        text = (form.get(name) or "").strip().replace(",", ".").replace("+", "", 1)
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise BadWhatIf(value, f"{title}: {form.get(name)!r} is not a number.")
        numbers[name] = number
    unit = form.get("aht_unit") or "s"
    if unit not in ("s", "%"):
        raise BadWhatIf("aht", f"AHT change: the unit must be s or %, not {unit!r}.")
    aht = numbers.get("aht_change", 0.0)
    target = numbers.get("sl_target_pct")
    shrinkage = numbers.get("shrinkage_pct")
    what_if = WhatIf(
        volume_factor=1 + numbers.get("volume_pct", 0.0) / 100,
        aht_delta_s=aht if unit == "s" else 0.0,
        aht_factor=1 + aht / 100 if unit == "%" else 1.0,
        sl_target=None if target is None else target / 100,
        sl_answer_s=numbers.get("sl_answer_s"),
        shrinkage=None if shrinkage is None else shrinkage / 100,
    )
    what_if.check()
    return what_if


def week_asked(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        abort(400, description=f"week: {text!r} is not a date (YYYY-MM-DD)")


def chart_data(cfg, plan, scenarios: list[PlanScenario]) -> dict[str, Any]:
    """What plan.js draws: per interval the requirement (per queue and total) and the cover,
    of the stored plan and of each scenario."""
    series = plan.outcome.series
    start = dt.date.fromisoformat(series["start"])
    slot_min = series["slot_min"]
    return {
        "labels": [
            wall_time(start, slot_min, s, cfg.tz).strftime(LABEL)
            for s in range(len(series["cover"]))
        ],
        "queues": [
            {"id": q.id, "name": q.names.get(cfg.line.default_language, q.id)} for q in cfg.queues
        ],
        "baseline": {"cover": series["cover"], "required": series["required"]},
        "scenarios": [
            {
                "id": s.id,
                "label": s.label,
                "cover": s.series.get("cover", []),
                "required": s.series.get("required", {}),
            }
            for s in scenarios
        ],
    }


def week_tasks(session, week: dt.date) -> tuple[list[dict], list[dict]]:
    """The week's what-ifs still running, and the newest few that failed."""
    running, failed = [], []
    for task in recent(session, KIND, TASKS_LOOKED_AT):
        if (task.params or {}).get("week") != week.isoformat():
            continue
        shown = task_json(task)
        shown["label"] = WhatIf.from_params((task.params or {}).get("change") or {}).describe()
        if shown["status"] in ("queued", "running"):
            running.append(shown)
        elif shown["status"] == "failed" and len(failed) < FAILED_SHOWN:
            failed.append(shown)
    return running, failed


def render_page(
    week: dt.date | None,
    form: dict[str, str] | None = None,
    error: BadWhatIf | None = None,
    status: int = 200,
):
    cfg = hotline_config()
    session = get_session()
    weeks = weeks_with(session, "shifts")
    week = week or (weeks[0] if weeks else None)
    unreadable = None
    try:
        plan = stored_plan(session, cfg, week) if week else None
    except ValueError as exc:
        plan, unreadable = None, str(exc)
    scenarios = scenarios_of(session, week) if plan else []
    running, failed = week_tasks(session, week) if plan else ([], [])
    return render_template(
        "plan.html",
        week=week,
        weeks=weeks,
        plan=plan,
        unreadable=unreadable,
        made_at=plan.draft.created_at.astimezone(cfg.tz) if plan else None,
        scenarios=[
            {"row": s, "at": s.created_at.astimezone(cfg.tz), "f": s.figures} for s in scenarios
        ],
        chart=chart_data(cfg, plan, scenarios) if plan else None,
        running=running,
        failed=failed,
        form=form or {},
        error=error,
        bad_input=INPUT_OF.get(error.field, error.field) if error else None,
        names={q.id: q.names.get(cfg.line.default_language, q.id) for q in cfg.queues},
        shrinkage_pct=round(cfg.staffing.shrinkage * 100, 1),
    ), status


@bp.get("")
@login_required
def page():
    supervisors_only()
    return render_page(week_asked(request.args.get("week")))


@bp.post("/what-if")
@login_required
def what_if():
    """Start a what-if for the week; bad values are named and nothing is started or stored."""
    supervisors_only()
    check_csrf()
    cfg = hotline_config()
    week = week_asked(request.form.get("week"))
    form = {k: request.form.get(k, "") for k in (*FIELDS, "aht_unit")}
    session = get_session()
    try:
        if week is None:
            raise BadWhatIf("week", "Week: give the week's first day (YYYY-MM-DD).")
        if week not in weeks_with(session, "shifts"):
            raise BadWhatIf("week", f"Week: no shift plan is stored for the week of {week}.")
        what_if = read_what_if(request.form)
        # the AHTs the plan will use: the stored forecast's (a forecast from the call log, when
        # none is stored, is checked by the task)
        forecast = stored_week_forecast(session, cfg, week) if what_if.changes_aht else None
        if forecast is not None:
            check_aht(cfg, forecast.table, what_if)
    except BadWhatIf as exc:
        return render_page(week, form, exc, 400)
    by = username()
    task_id = submit(
        current_app._get_current_object(),
        kind=KIND,
        params={"week": week.isoformat(), "change": what_if.as_params()},
        by=by,
        run=functools.partial(run_what_if, by=by),
    )
    audit.commit_with_audit(
        session,
        by,
        "plan.what_if",
        {"week": week.isoformat(), "change": what_if.describe(), "task": task_id},
    )
    return redirect(url_for("plan.page", week=week.isoformat()) + "#what-if")


@bp.post("/scenarios/<int:scenario_id>/delete")
@login_required
def delete(scenario_id: int):
    supervisors_only()
    check_csrf()
    session = get_session()
    scenario = session.get(PlanScenario, scenario_id)
    if scenario is None:
        abort(404)
    week = scenario.week_start
    detail = {
        "week": week.isoformat(),
        "scenario": scenario.id,
        "change": scenario.label,
        "ran_by": scenario.created_by,
    }
    session.delete(scenario)
    audit.commit_with_audit(session, username(), "plan.scenario_delete", detail)
    return redirect(url_for("plan.page", week=week.isoformat()) + "#scenarios")
