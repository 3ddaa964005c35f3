"""The audit log: who changed what through the pages, and when.

A change and its audit row are committed together (:func:`commit_with_audit`); the row is then
also logged at WARNING on the ``ivr.audit`` logger, so it reaches the server's log even where
INFO is dropped. Supervisors read the log at ``/supervisor/audit``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import clock
from ivr.store.models import AuditEntry

log = logging.getLogger("ivr.audit")


def commit_with_audit(
    session: Session, username: str, action: str, detail: dict[str, Any] | None = None
) -> AuditEntry:
    """Add an audit row for ``action`` by ``username`` to the session's pending change, commit
    both, and log the row."""
    entry = AuditEntry(at=clock.now(), username=username, action=action, detail=detail or {})
    session.add(entry)
    session.commit()
    log.warning(
        "audit: %s by %s at %s %s",
        action,
        username,
        entry.at.isoformat(),
        json.dumps(entry.detail, sort_keys=True, default=str),
    )
    return entry


def recent(session: Session, limit: int, offset: int = 0) -> list[AuditEntry]:
    """Audit rows, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    return list(session.scalars(query.offset(offset).limit(limit)))
