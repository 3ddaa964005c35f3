"""Drafts for supervisors to review: each forecast and shift plan the weekly job, the nightly
reforecast and the demo make is stored by :func:`save_draft`; the latest is read back by
:func:`latest_draft`, and the stored forecast covering a span of time by :func:`forecast_rows`. A roster's assignments are its own table (``rosters.store``); each roster
stored is also saved here as a ``roster`` draft, its CSV with the rules it breaks and the planned
shifts it leaves without an agent (``rosters.save_roster_draft``)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Collection
from typing import Any, Literal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.store.models import PlanDraft

DraftKind = Literal["forecast", "intraday", "shifts", "roster"]
FORECASTS_READ = 30  # the newest forecast drafts looked at for one with rows in a span


def save_draft(
    session: Session,
    kind: DraftKind,
    week_start: dt.date,
    content: str,
    summary: dict[str, Any],
    at: dt.datetime,
) -> None:
    """Store a draft: its CSV ``content`` and the figures a list of drafts shows."""
    session.add(
        PlanDraft(
            kind=kind,
            week_start=week_start,
            created_at=at,
            status="draft",
            summary=summary,
            content=content,
        )
    )


def latest_draft(session: Session, kind: DraftKind, week_start: dt.date) -> str | None:
    """The CSV of the newest draft of this kind for the week, or None."""
    newest = latest(session, kind, week_start)
    return newest.content if newest else None


def latest(session: Session, kind: DraftKind, week_start: dt.date) -> PlanDraft | None:
    """The newest draft of this kind for the week (content and summary), or None."""
    return session.scalar(
        select(PlanDraft)
        .where(PlanDraft.kind == kind, PlanDraft.week_start == week_start)
        .order_by(PlanDraft.created_at.desc(), PlanDraft.id.desc())
        .limit(1)
    )


def weeks_with(session: Session, kind: DraftKind) -> list[dt.date]:
    """The weeks with a draft of this kind, newest first."""
    return list(
        session.scalars(
            select(PlanDraft.week_start)
            .where(PlanDraft.kind == kind)
            .distinct()
            .order_by(PlanDraft.week_start.desc())
        )
    )


def forecast_rows(
    session: Session,
    kind: Literal["forecast", "intraday"],
    start: dt.datetime,
    end: dt.datetime,
    whole: bool = False,
    queues: Collection[str] | None = None,
) -> tuple[PlanDraft, pd.DataFrame] | None:
    """The newest stored forecast of ``kind`` (``forecast``: the weekly job's or the nightly
    one; ``intraday``: a reforecast of today) with rows in ``[start, end)``, and those rows
    (``interval_start`` as UTC timestamps; with ``queues``, only theirs). With ``whole``, the
    newest whose rows run from ``start`` to ``end``, else the newest with any. Forecasts start
    where their history ends, so a newer one may cover only part of a span an older one covers
    whole. None when none of the newest :data:`FORECASTS_READ` has rows there; a draft that is
    not a forecast table is passed over."""
    since, until = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
    partial = None
    for draft in session.scalars(
        select(PlanDraft)
        .where(PlanDraft.kind == kind)
        .order_by(PlanDraft.created_at.desc(), PlanDraft.id.desc())
        .limit(FORECASTS_READ)
    ):
        try:
            table = pd.read_csv(io.StringIO(draft.content))
            if not {"queue", "interval_start", "calls"} <= set(table.columns):
                continue
            table["interval_start"] = pd.to_datetime(table["interval_start"], utc=True)
        except (ValueError, TypeError):
            continue
        rows = table[(table["interval_start"] >= since) & (table["interval_start"] < until)]
        if queues is not None:
            rows = rows[rows["queue"].isin(list(queues))]
        if rows.empty:
            continue
        found = (draft, rows.reset_index(drop=True))
        if not whole or _spans(rows["interval_start"], since, until):
            return found
        partial = partial or found
    return partial


def _spans(starts: pd.Series, since: pd.Timestamp, until: pd.Timestamp) -> bool:
    """Whether interval starts run from ``since`` to the last interval before ``until``."""
    distinct = starts.drop_duplicates().sort_values()
    if len(distinct) < 2:
        return False
    step = distinct.diff().min()
    return distinct.iloc[0] == since and distinct.iloc[-1] + step >= until
