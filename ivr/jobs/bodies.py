"""What the scheduler runs. Each job takes the app and the moment it runs for, and returns a
line saying what it did (stored with the run)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
from flask import Flask

from forecasts.forecast import write_csv
from forecasts.plot import plot_forecast
from ivr.config import hotline_config
from ivr.config.hours import OpeningHours
from ivr.jobs import alerts, lost_calls, ticket_posts
from ivr.jobs.retention import apply_retention
from ivr.planning import intraday
from ivr.planning.drafts import save_draft
from ivr.planning.pipeline import history_from_log, line_calendar, line_forecast, plan_horizon
from ivr.planning.rosters import draft_roster
from ivr.store.db import session_scope
from ivr.voice import dispatch, state
from ivr.voice.callbacks import dial_due_callbacks, release_stale_dials
from ivr.voice.spool import replay
from ivr.voice.webhook import LONGEST_CALL


def plans_dir(app: Flask) -> Path:
    path = Path(app.instance_path) / "plans"
    path.mkdir(parents=True, exist_ok=True)
    return path


def dial_callbacks(app: Flask, now: dt.datetime) -> str:
    released = release_stale_dials(app, now=now)
    detail = f"dialled {len(dial_due_callbacks(app, now=now))} callback(s)"
    hours = f"{LONGEST_CALL.total_seconds() / 3600:g} h"
    return detail + (
        f"; {released} dial(s) with no outcome for {hours} released" if released else ""
    )


def reforecast(app: Flask, now: dt.datetime) -> str:
    """Export the history and forecast the next week; files in instance/plans and a draft."""

    cfg = hotline_config(app)
    with app.app_context():
        history = history_from_log(cfg)
    if history is None:
        return "no calls yet: nothing to forecast"
    table = line_forecast(cfg, history, pd.Timedelta(days=7))
    folder = plans_dir(app)
    stamp = now.astimezone(cfg.tz).date().isoformat()
    write_csv(table, str(folder / f"forecast-{stamp}.csv"))
    plot_forecast(history, table, str(folder / f"forecast-{stamp}.png"))
    buffer = io.StringIO()
    write_csv(table, buffer)
    start = pd.Timestamp(table["interval_start"].iloc[0]).date()
    with session_scope(app) as session:
        calls = {"calls": round(float(table["calls"].sum()))}
        save_draft(session, "forecast", start, buffer.getvalue(), calls, now)
    return f"forecast {round(float(table['calls'].sum()))} calls from {start}"


def next_monday(now: dt.datetime, tz) -> dt.date:
    today = now.astimezone(tz).date()
    return today + dt.timedelta(days=7 - today.weekday())


def weekly_plan(app: Flask, now: dt.datetime) -> str:
    """Next week's shift plan (and roster, when agents exist) as drafts for supervisors, with
    the forecast it was made from."""

    cfg = hotline_config(app)
    with app.app_context():
        history = history_from_log(cfg)
    if history is None:
        return "no calls yet: nothing to plan"
    start = next_monday(now, cfg.tz)
    (summary,) = plan_horizon(
        cfg,
        history,
        line_calendar(cfg),
        start,
        1,
        time_limit_s=cfg.line.scheduler.plan_time_limit_s,
        team=True,  # the draft is rostered: a plan the agents can work
    )
    content = summary.rows.to_csv(index=False)
    (plans_dir(app) / f"plan-{start}.csv").write_text(content)
    figures = {
        "paid_hours": round(summary.paid_hours, 1),
        "cost": round(summary.cost, 2),
        "shortage_hours": round(summary.shortage_hours, 1),
        "fte": round(summary.fte, 1),
    }
    with session_scope(app) as session:
        if summary.forecast is not None and len(summary.forecast):
            # the plan's own forecast (from the history's end to the week's end): the plan page
            # sets the plan against it, and it is the newest day-ahead forecast as well
            buffer = io.StringIO()
            write_csv(summary.forecast, buffer)
            first = pd.Timestamp(summary.forecast["interval_start"].iloc[0]).date()
            calls = {"calls": round(float(summary.forecast["calls"].sum()))}
            save_draft(session, "forecast", first, buffer.getvalue(), calls, now)
        save_draft(session, "shifts", start, content, figures, now)

    folder = plans_dir(app) / f"week-{start}"
    folder.mkdir(exist_ok=True)
    (folder / "plan.csv").write_text(content)
    rows = draft_roster(app, folder, lambda _m: None, cfg.line.scheduler.plan_time_limit_s)
    return f"shift plan for {start}: {figures['paid_hours']} paid hours, cost {figures['cost']}; roster draft with {len(rows)} shifts"


def retention(app: Flask, now: dt.datetime) -> str:
    """Recordings deleted at Twilio, caller numbers and call events removed, each past its
    keeping time (:mod:`ivr.jobs.retention`)."""

    return str(apply_retention(app, now))


def replay_spool(app: Flask, now: dt.datetime) -> str:
    """Webhooks spooled during a database outage."""

    done, left = replay(app)
    return f"replayed {done} journalled webhook(s), {left} left"


def close_orphan_waits(app: Flask, now: dt.datetime) -> str:
    """Queue entries whose queue result never came: closed once their call is over."""

    with session_scope(app) as session:
        closed = state.close_orphan_waits(session, now)
    return (
        f"closed {closed['call_ended']} wait(s) of ended calls, {closed['unknown']} of calls"
        " with no status for hours"
    )


def dispatch_calls(app: Flask, now: dt.datetime) -> str:
    """The dispatcher's sweep: offers not taken in time withdrawn, waiting callers paired with
    available agents (the webhooks run it too; this catches what they left)."""

    withdrawn = dispatch.withdraw_stale(app)  # stamped with the clock now, not the fire time
    offered = dispatch.run(app)
    return f"{len(offered)} call(s) offered, {withdrawn} offer(s) withdrawn"


def intraday_reforecast(app: Flask, now: dt.datetime) -> str:
    """While the line is open: the rest of today reforecast from the calls so far, stored as a
    draft (kind ``intraday``) that the dashboard's Today and the staffing alerts read."""

    cfg = hotline_config(app)
    if not OpeningHours.from_config(cfg).is_open(now):
        return "the line is closed: no reforecast"
    with session_scope(app) as session:
        priors = app.extensions.setdefault("hotline.intraday_priors", {})  # fitted once a day
        table = intraday.reforecast_today(session, cfg, now, priors=priors)
        if table is None:
            return "no day-ahead forecast covers today, or no call yet: no reforecast"
        buffer = io.StringIO()
        write_csv(table, buffer)
        day = now.astimezone(cfg.tz).date()
        calls = round(float(table["calls"].sum()))
        save_draft(session, "intraday", day, buffer.getvalue(), {"calls_left": calls}, now)
    return f"reforecast: {calls} calls for the rest of today"


def check_alerts(app: Flask, now: dt.datetime) -> str:
    """Alerts raised, repeated, cleared and posted to the configured webhooks."""

    return alerts.check(app, now)


def post_ticket_changes(app: Flask, now: dt.datetime) -> str:
    """Complaint tickets' status changes posted to ``tickets.webhook_url``."""

    return ticket_posts.post_pending(app)  # stamped with the clock now, not the fire time


def check_lost_calls(app: Flask, now: dt.datetime) -> str:

    return lost_calls.check_lost_calls(app, now)


JOBS = {
    "dial_callbacks": dial_callbacks,
    "dispatch_calls": dispatch_calls,
    "check_alerts": check_alerts,
    "intraday_reforecast": intraday_reforecast,
    "check_lost_calls": check_lost_calls,
    "close_orphan_waits": close_orphan_waits,
    "replay_spool": replay_spool,
    "reforecast": reforecast,
    "weekly_plan": weekly_plan,
    "retention": retention,
    "post_ticket_changes": post_ticket_changes,
}
