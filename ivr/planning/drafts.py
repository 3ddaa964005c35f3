"""Drafts for supervisors to review: each forecast and shift plan the weekly job, the nightly
reforecast and the demo make is stored by :func:`save_draft`; the latest is read back by
:func:`latest_draft`. (Roster drafts are the roster's own assignments: see ``rosters.store``.)"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.store.models import PlanDraft

DraftKind = Literal["forecast", "shifts"]


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
    return session.scalar(
        select(PlanDraft.content)
        .where(PlanDraft.kind == kind, PlanDraft.week_start == week_start)
        .order_by(PlanDraft.created_at.desc(), PlanDraft.id.desc())
        .limit(1)
    )
