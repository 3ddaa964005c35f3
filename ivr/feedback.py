"""Customer satisfaction from the post-call survey, per queue, per agent and per week: the score
distribution (1 to 5), the mean with its count, the 12-week trend, the share of answered calls
surveyed, and the comments left with low scores.

A survey belongs to the queue it was taken for and to the agent who answered the caller there
(the caller's last answered queue entry); its week is the week it was taken, Monday to Sunday in
the line's time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.config.schema import HotlineConfig
from ivr.store.models import QueueEntry, Survey

WEEKS = 12
LOW_SCORE = 2  # comments left with a score this low or lower are listed
SCORES = [1, 2, 3, 4, 5]
CSV_COLUMNS = ["scope", "key", *(f"score_{s}" for s in SCORES), "mean", "count", "answered",
               "surveyed_share"]  # fmt: skip


def window(
    cfg: HotlineConfig, now: dt.datetime, weeks: int = WEEKS
) -> tuple[dt.datetime, dt.datetime]:
    """The last ``weeks`` whole-or-current weeks, Monday 00:00 in the line's zone to now."""
    today = now.astimezone(cfg.tz).date()
    monday = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks - 1)
    return dt.datetime.combine(monday, dt.time(0), tzinfo=cfg.tz), now


def surveys(session: Session, cfg: HotlineConfig, since: dt.datetime, until: dt.datetime):
    """One row per scored survey in the window: when, queue, agent, score, comment."""
    answered = (
        select(
            QueueEntry.call_sid,
            QueueEntry.queue,
            func.max(QueueEntry.agent_id).label("agent_id"),
        )
        .where(QueueEntry.answered_at.is_not(None))
        .group_by(QueueEntry.call_sid, QueueEntry.queue)
        .subquery()
    )
    rows = session.execute(
        select(
            Survey.created_at, Survey.queue, answered.c.agent_id, Survey.score, Survey.comment_url
        )
        .outerjoin(
            answered,
            (answered.c.call_sid == Survey.call_sid) & (answered.c.queue == Survey.queue),
        )
        .where(Survey.score.is_not(None), Survey.created_at >= since, Survey.created_at < until)
    ).all()
    frame = pd.DataFrame(rows, columns=["at", "queue", "agent", "score", "comment_url"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    local = frame["at"].dt.tz_convert(cfg.tz)
    frame["week"] = (local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, unit="D")).dt.date
    return frame


def answered_counts(session: Session, since: dt.datetime, until: dt.datetime) -> pd.DataFrame:
    rows = session.execute(
        select(QueueEntry.queue, QueueEntry.agent_id, func.count())
        .where(QueueEntry.answered_at >= since, QueueEntry.answered_at < until)
        .group_by(QueueEntry.queue, QueueEntry.agent_id)
    ).all()
    return pd.DataFrame(rows, columns=["queue", "agent", "answered"])


def _summary(scores: pd.Series, answered: int | None) -> dict[str, Any]:
    counts = scores.value_counts().reindex(SCORES, fill_value=0)
    n = int(counts.sum())
    return {
        **{f"score_{s}": int(counts[s]) for s in SCORES},
        "mean": round(float(scores.mean()), 2) if n else None,
        "count": n,
        "answered": answered,
        "surveyed_share": round(n / answered, 4) if answered else None,
    }


def report(session: Session, cfg: HotlineConfig, now: dt.datetime) -> dict[str, Any]:
    """``queues``, ``agents`` and ``weeks`` (each row a summary), ``trend`` (per queue, the
    weekly means of the 12 weeks, None for a week without a score) and ``low_comments``."""
    since, until = window(cfg, now)
    frame = surveys(session, cfg, since, until)
    answered = answered_counts(session, since, until)
    weeks = [since.date() + dt.timedelta(weeks=i) for i in range(WEEKS)]
    by_queue = answered.groupby("queue")["answered"].sum()
    by_agent = answered.dropna(subset=["agent"]).groupby("agent")["answered"].sum()
    queues = [
        {"queue": q.id, **_summary(frame.loc[frame["queue"] == q.id, "score"],
                                   int(by_queue.get(q.id, 0)))}
        for q in cfg.queues
    ]  # fmt: skip
    names = {a.id: a.name for a in cfg.agents}
    agent_ids = sorted(set(frame["agent"].dropna()) | set(by_agent.index))
    agents = [
        {"agent": a, "name": names.get(a, a),
         **_summary(frame.loc[frame["agent"] == a, "score"], int(by_agent.get(a, 0)))}
        for a in agent_ids
    ]  # fmt: skip
    week_rows = [
        {"week": w.isoformat(), **_summary(frame.loc[frame["week"] == w, "score"], None)}
        for w in weeks
    ]
    means = frame.groupby(["queue", "week"])["score"].mean()
    trend = {
        q.id: [
            round(float(means[(q.id, w)]), 2) if (q.id, w) in means.index else None for w in weeks
        ]
        for q in cfg.queues
    }
    low = frame[(frame["score"] <= LOW_SCORE) & frame["comment_url"].notna()].sort_values(
        "at", ascending=False
    )
    comments = [
        {
            "at": at.tz_convert(cfg.tz).isoformat(timespec="minutes"),
            "queue": queue,
            "agent": agent if isinstance(agent, str) else None,
            "score": int(score),
            "comment_url": url,
        }
        for at, queue, agent, score, url in low[
            ["at", "queue", "agent", "score", "comment_url"]
        ].itertuples(index=False)
    ]
    return {
        "since": since.isoformat(),
        "weeks": week_rows,
        "week_starts": [w.isoformat() for w in weeks],
        "queues": queues,
        "agents": agents,
        "trend": trend,
        "low_comments": comments,
        "mean_all": round(float(frame["score"].mean()), 2) if len(frame) else None,
        "count_all": int(len(frame)),
        "scores": np.array(SCORES).tolist(),
    }


def csv_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as rows of :data:`CSV_COLUMNS`: one per queue, agent and week."""
    out = []
    for scope, key, rows in (("queue", "queue", body["queues"]), ("agent", "agent", body["agents"]),
                             ("week", "week", body["weeks"])):  # fmt: skip
        for row in rows:
            out.append(
                {"scope": scope, "key": row[key], **{c: row.get(c) for c in CSV_COLUMNS[2:]}}
            )
    return out
