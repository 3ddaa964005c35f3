"""Alerts for the ops team (the scheduler's ``check_alerts`` job, every minute): conditions that
hold now, shown on the dashboard and posted as JSON to ``alerts.webhooks``.

- ``service_level:<queue>``: the service level over the last ``service_level_window_min`` is
  below the queue's target (with at least ``min_calls`` calls counted in it);
- ``wait:<queue>``: a caller has waited longer than the queue's ``alert_wait_s`` (default: its
  ``max_wait_before_callback_s``);
- ``staffing:<queue>``: fewer agents on line than the next hour needs (``ivr.planning.intraday``).

Each condition is one row of ``alerts`` while it holds. It is posted when raised and again every
``alerts.every_min`` while it holds; a post that fails is logged and tried again at the next check
(``posted_at`` stays empty), so a receiver that is down gets it once it is back. The job runs in
the scheduler: no page or webhook ever waits for a post.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pandas as pd
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import stats
from ivr.config import hotline_config
from ivr.config.schema import HotlineConfig
from ivr.jobs.webhooks import failure, post_json, shown_url
from ivr.planning import intraday
from ivr.store.db import session_scope
from ivr.store.models import Alert, QueueEntry, waiting_entries

log = logging.getLogger(__name__)


def conditions(session: Session, cfg: HotlineConfig, now: dt.datetime) -> dict[str, dict]:
    """The conditions that hold now: key -> {"message", "detail"}."""
    settings = cfg.line.alerts
    out: dict[str, dict] = {}
    default = cfg.line.default_language
    window = stats.Window(now - dt.timedelta(minutes=settings.service_level_window_min), now)
    for figures in stats.queue_stats(session, cfg, window, now):
        queue = cfg.queue(figures["queue"])
        name = queue.names[default]
        counted = figures["answered"] + (
            figures["abandoned"]
            if cfg.line.service_level_formula == "answered_plus_abandoned"
            else 0
        )
        level = figures["service_level"]
        if (
            level is not None
            and counted >= settings.min_calls
            and level < queue.service_level.target
        ):
            out[f"service_level:{queue.id}"] = {
                "message": f"{name}: service level {level:.0%} over the last "
                f"{settings.service_level_window_min:g} minutes, target {queue.service_level.target:.0%}",
                "detail": {"queue": queue.id, "service_level": level, "calls": counted,
                           "target": queue.service_level.target},
            }  # fmt: skip
    oldest = dict(
        session.execute(
            select(QueueEntry.queue, QueueEntry.entered_at)
            .where(
                waiting_entries(),
            )
            .order_by(QueueEntry.entered_at.desc())
        ).all()
    )  # the last row per queue wins: its oldest wait
    for queue in cfg.queues:
        since = oldest.get(queue.id)
        if since is None:
            continue
        waited = (now - since).total_seconds()
        limit = queue.alert_wait_s or queue.max_wait_before_callback_s
        if waited > limit:
            out[f"wait:{queue.id}"] = {
                "message": f"{queue.names[default]}: a caller has waited {waited / 60:.0f} min "
                f"(alert after {limit / 60:g} min)",
                "detail": {"queue": queue.id, "waited_s": round(waited), "limit_s": limit},
            }
    table = intraday.outlook(session, cfg, now)
    if len(table):
        hour = table[
            table["interval_start"] < pd.Timestamp(now).tz_convert("UTC") + pd.Timedelta("1h")
        ]
        for queue, rows in hour.groupby("queue"):
            short = int(rows["short_on_line"].max())
            if short > 0:
                name = "all queues" if queue == "total" else cfg.queue(queue).names[default]
                out[f"staffing:{queue}"] = {
                    "message": f"{name}: short by {short} agent{'s' if short > 1 else ''} on line "
                    "for the next hour",
                    "detail": {"queue": queue, "short": short,
                               "required": int(rows["required"].max()),
                               "on_line": int(rows["on_line"].min())},
                }  # fmt: skip
    return out


def active(session: Session) -> list[Alert]:
    """The alerts that hold now (as of the last check), oldest first."""
    return list(
        session.scalars(select(Alert).where(Alert.cleared_at.is_(None)).order_by(Alert.raised_at))
    )


def post(url: str, body: dict[str, Any], timeout_s: float) -> None:
    post_json(url, body, timeout_s, user_agent="hotline-alerts")


def check(app: Flask, now: dt.datetime) -> str:
    """Raise, repeat and clear alerts; post those due. Returns what happened, in words."""
    cfg = hotline_config(app)
    settings = cfg.line.alerts
    with session_scope(app) as session:
        holding = conditions(session, cfg, now)
        open_ = {alert.key: alert for alert in active(session)}
        for key, alert in open_.items():
            if key not in holding:
                alert.cleared_at = now
        for key, found in holding.items():
            alert = open_.get(key)
            if alert is None:
                alert = Alert(key=key, raised_at=now, seen_at=now, failures=0, **found)
                session.add(alert)
            else:
                alert.seen_at, alert.message, alert.detail = now, found["message"], found["detail"]
        session.flush()
        every = dt.timedelta(minutes=settings.every_min)
        due = [a for a in active(session) if a.posted_at is None or now - a.posted_at >= every]
        bodies = {
            a.id: {
                "alert": a.key,
                "message": a.message,
                "detail": a.detail,
                "raised_at": a.raised_at.astimezone(cfg.tz).isoformat(),
                "line": cfg.line.name,
            }
            for a in due
        }
    posted = failed = 0
    for alert_id, body in bodies.items():
        ok = True
        for url in settings.webhooks:
            try:
                post(url, body, settings.post_timeout_s)
            except Exception as exc:  # noqa: BLE001 - any failure: logged, tried at the next check
                ok = False
                log.warning(
                    "alert %s: posting to %s failed (%s); tried again",
                    body["alert"],
                    shown_url(url),
                    failure(exc, url),
                )
        with session_scope(app) as session:
            alert = session.get(Alert, alert_id)
            if ok:
                alert.posted_at = now
                posted += 1
            else:
                alert.failures += 1
                failed += 1
    return f"{len(holding)} alert(s) holding, {posted} posted, {failed} post(s) failed"
