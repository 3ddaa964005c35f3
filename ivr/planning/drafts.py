"""Drafts for supervisors to review: each forecast and shift plan the weekly job, the nightly
reforecast and the demo make is stored by :func:`save_draft`; the latest is read back by
:func:`latest_draft`. A roster's assignments are its own table (``rosters.store``); each roster
stored is also saved here as a ``roster`` draft, its CSV with the rules it breaks and the planned
shifts it leaves without an agent (``rosters.save_roster_draft``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.store.models import PlanDraft

DraftKind = Literal["forecast", "intraday", "shifts", "roster"]


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
