"""The schema: what the line stores about calls, queues, callbacks, surveys, tickets and agents.

Every timestamp is timezone-aware and stored in UTC (see :class:`UTCDateTime`). The tables are
created by the Alembic migrations in ``ivr/store/migrations``; a test checks that the migrations and
these models agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

UTC = dt.UTC


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored as UTC; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(
                f"naive or non-datetime value {value!r}: timestamps must be timezone-aware"
            )
        value = value.astimezone(UTC)
        # SQLite keeps no offset: store the UTC wall time, read it back as UTC.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime}


class Caller(Base):
    """A phone number seen before, and the language it last chose."""

    __tablename__ = "callers"
    phone: Mapped[str] = mapped_column(String(40), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    first_seen_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]


class Call(Base):
    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    account_sid: Mapped[str | None] = mapped_column(String(64))
    from_number: Mapped[str | None] = mapped_column(String(40))
    to_number: Mapped[str | None] = mapped_column(String(40))
    direction: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    queue: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    status: Mapped[str | None] = mapped_column(String(32))
    duration_s: Mapped[int | None] = mapped_column(Integer)
    voicemail_url: Mapped[str | None] = mapped_column(Text)
    voicemail_duration_s: Mapped[int | None] = mapped_column(Integer)
    voicemail_transcript: Mapped[str | None] = mapped_column(Text)  # Twilio's, where it gives one
    # what the agent recorded about the call (the agent desktop)
    disposition: Mapped[str | None] = mapped_column(String(32))
    agent_note: Mapped[str | None] = mapped_column(Text)
    disposition_by: Mapped[str | None] = mapped_column(String(32))
    # the supervisors' inbox: who dealt with the voicemail, and when
    voicemail_handled_by: Mapped[str | None] = mapped_column(String(100))
    voicemail_handled_at: Mapped[dt.datetime | None]


class CallEvent(Base):
    """One step of a call. ``dedupe_key`` makes a retried webhook write nothing twice."""

    __tablename__ = "call_events"
    __table_args__ = (
        UniqueConstraint("call_sid", "dedupe_key", name="uq_call_events_call_sid_dedupe_key"),
        Index("ix_call_events_at", "at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(160))
    at: Mapped[dt.datetime]
    detail: Mapped[dict | None] = mapped_column(JSON)


class QueueEntry(Base):
    """A caller's stay in a queue, from ``<Enqueue>`` to its result."""

    __tablename__ = "queue_entries"
    __table_args__ = (
        Index("ix_queue_entries_queue_entered", "queue", "entered_at"),
        UniqueConstraint("call_sid", "queue", "entered_at", name="uq_queue_entries_call_queue_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    queue: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    from_number: Mapped[str | None] = mapped_column(String(40))
    entered_at: Mapped[dt.datetime]
    original_entered_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    result: Mapped[str | None] = mapped_column(String(32))
    wait_s: Mapped[float | None] = mapped_column(Float)
    answered_at: Mapped[dt.datetime | None]
    handle_s: Mapped[float | None] = mapped_column(Float)
    agent_id: Mapped[str | None] = mapped_column(String(32))
    last_announced_at: Mapped[dt.datetime | None]
    last_estimate_s: Mapped[float | None] = mapped_column(Float)
    last_position: Mapped[int | None] = mapped_column(Integer)
    # the dispatcher's pairing: the agent this caller is offered to, and since when
    offered_to: Mapped[str | None] = mapped_column(String(32))
    offered_at: Mapped[dt.datetime | None]
    # the agent who answered speaks the caller's language (None: not answered)
    answered_in_language: Mapped[bool | None]


def waiting_entries() -> ColumnElement[bool]:
    """The SQL condition of a queue entry whose caller waits now: no result, not answered, not
    ended (the dashboard's waiting, the dispatcher's callers, the wait alerts)."""
    return and_(
        QueueEntry.result.is_(None),
        QueueEntry.answered_at.is_(None),
        QueueEntry.ended_at.is_(None),
    )


class Callback(Base):
    """A request to be called back, kept in order of the caller's original queue entry."""

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    # None once retention has removed the number of a callback that is over (keep_numbers_days)
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    queue: Mapped[str] = mapped_column(String(32))
    original_entered_at: Mapped[dt.datetime]
    requested_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    dial_call_sid: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(32))
    # "agent": an agent's leg dials it when free (queue callbacks); "system": the scheduled
    # dialler calls the customer at due_at and queues them with their original place.
    dial_by: Mapped[str] = mapped_column(String(8), server_default="system")


class Survey(Base):
    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    queue: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    score: Mapped[int | None] = mapped_column(Integer)
    comment_url: Mapped[str | None] = mapped_column(Text)
    comment_transcript: Mapped[str | None] = mapped_column(Text)  # Twilio's, where it gives one
    created_at: Mapped[dt.datetime]
    comment_handled_by: Mapped[str | None] = mapped_column(String(100))
    comment_handled_at: Mapped[dt.datetime | None]


class ComplaintTicket(Base):
    """A complaint's ticket: opened by the call, then worked open -> in_progress -> resolved
    (reopened: back to open) by ops and supervisors (``ivr.store.tickets``)."""

    __tablename__ = "complaint_tickets"
    __table_args__ = (Index("ix_complaint_tickets_status_created", "status", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="open")
    assignee: Mapped[str | None] = mapped_column(String(100))  # an ops or supervisor login


class TicketNote(Base):
    """A note on a complaint ticket, by its author, at a time."""

    __tablename__ = "ticket_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("complaint_tickets.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime]
    text: Mapped[str] = mapped_column(Text)


class TicketStatusChange(Base):
    """One status change of a ticket, and its post to ``tickets.webhook_url``
    (``ivr.jobs.ticket_posts``): ``post_state`` pending, posting, posted or failed; empty when no
    webhook was configured at the change."""

    __tablename__ = "ticket_status_changes"
    __table_args__ = (Index("ix_ticket_status_changes_post_state", "post_state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("complaint_tickets.id"), index=True)
    old_status: Mapped[str] = mapped_column(String(16))
    new_status: Mapped[str] = mapped_column(String(16))
    changed_by: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime]
    assignee: Mapped[str | None] = mapped_column(String(100))
    queue: Mapped[str | None] = mapped_column(String(32))
    post_state: Mapped[str | None] = mapped_column(String(16))
    post_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    attempted_at: Mapped[dt.datetime | None]  # the last claim of a post (a lease)
    posted_at: Mapped[dt.datetime | None]
    post_error: Mapped[str | None] = mapped_column(Text)


class AgentAccount(Base):
    """An agent: PIN hash and live state (``ivr.voice.agent_states`` says which states)."""

    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="offline")
    state_since: Mapped[dt.datetime | None]
    current_call_sid: Mapped[str | None] = mapped_column(String(64))
    state_reason: Mapped[str | None] = mapped_column(String(32))  # why not ready
    # what the dispatcher offers the agent now: "entry:<id>" or "callback:<id>"
    offer: Mapped[str | None] = mapped_column(String(40))
    # wrong PINs keyed in since the last right one (over any number of calls), and the lock
    # they put on the agent's phone login
    wrong_pins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[dt.datetime | None]


class AgentSession(Base):
    """An agent's login on the agent line, for 'agents logged in' history."""

    __tablename__ = "agent_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(32), ForeignKey("agents.agent_id"), index=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    logged_in_at: Mapped[dt.datetime]
    logged_out_at: Mapped[dt.datetime | None]
    # "phone": the agent line's call (``call_sid``); "browser": the agent desktop's softphone
    channel: Mapped[str] = mapped_column(String(8), default="phone", server_default="phone")


class AgentStateChange(Base):
    """Every change of an agent's state, with its time: occupancy, not-ready and adherence."""

    __tablename__ = "agent_state_changes"
    __table_args__ = (Index("ix_agent_state_changes_agent_at", "agent_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[dt.datetime]
    call_sid: Mapped[str | None] = mapped_column(String(64))


class JobRun(Base):
    """One run of a scheduled job. (job, scheduled_for, attempt) is unique: a second scheduler
    process that wakes for the same fire time cannot insert its run, so it does not run."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "scheduled_for", "attempt", name="uq_job_runs_job_fire_attempt"),
        Index("ix_job_runs_job_started", "job", "started_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    scheduled_for: Mapped[dt.datetime]
    attempt: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class PlanDraft(Base):
    """A forecast, shift plan or roster drafted for supervisors to review and publish."""

    __tablename__ = "plan_drafts"
    __table_args__ = (Index("ix_plan_drafts_kind_week", "kind", "week_start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    week_start: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[dict | None] = mapped_column(JSON)
    content: Mapped[str] = mapped_column(Text)
    published_at: Mapped[dt.datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(100))


class PlanScenario(Base):
    """A what-if re-plan of a week kept for comparison with the stored shift plan, which it
    never replaces (``ivr.planning.scenarios``): the change asked, the figures and the cover
    per interval it gave, and who ran it."""

    __tablename__ = "plan_scenarios"
    __table_args__ = (Index("ix_plan_scenarios_week", "week_start", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_start: Mapped[dt.date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict] = mapped_column(JSON)
    figures: Mapped[dict] = mapped_column(JSON)
    series: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]


class RosterAssignment(Base):
    """One agent's shift on one day of a drafted or published weekly roster."""

    __tablename__ = "roster_assignments"
    __table_args__ = (
        UniqueConstraint(
            "week_start", "status", "agent_id", "date", name="uq_roster_week_status_agent_date"
        ),
        Index("ix_roster_assignments_shift", "status", "shift_start"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_start: Mapped[dt.date] = mapped_column(Date)
    agent_id: Mapped[str] = mapped_column(String(32))
    date: Mapped[dt.date] = mapped_column(Date)
    shift_start: Mapped[dt.datetime]
    shift_end: Mapped[dt.datetime]
    break_start: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16))


class RosterLock(Base):
    """A cell of a week's roster a supervisor locked: the agent works ``shift`` on ``date``
    (``HH:MM-HH:MM`` in the line's time, as the plan names it), or is off when ``shift`` is
    empty. Edits refuse to change it and re-solving the week keeps it (``ivr.planning.rosters``)."""

    __tablename__ = "roster_locks"
    __table_args__ = (
        UniqueConstraint("week_start", "agent_id", "date", name="uq_roster_locks_week_agent_date"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_start: Mapped[dt.date] = mapped_column(Date)
    agent_id: Mapped[str] = mapped_column(String(32))
    date: Mapped[dt.date] = mapped_column(Date)
    shift: Mapped[str | None] = mapped_column(String(16))
    locked_by: Mapped[str] = mapped_column(String(100))
    locked_at: Mapped[dt.datetime]


class LoginFailure(Base):
    """A wrong password on the login page, kept for the throttle (:mod:`ivr.web.throttle`):
    every worker counts the same rows."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)


class WebSession(Base):
    """A login to the ops and supervisor pages. The cookie carries a random token; the row is
    keyed by its SHA-256, so the table alone cannot be used to log in. A session counts while
    ``ended_at`` is empty, it is younger than ``HOTLINE_SESSION_HOURS`` and its user is still
    enabled in users.yaml."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    username: Mapped[str] = mapped_column(String(100), index=True)
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    # logout, expired, removed (from users.yaml) or disabled
    end_reason: Mapped[str | None] = mapped_column(String(16))


class AuditEntry(Base):
    """Who changed what, and when, through the pages (a roster published, ...)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime]
    username: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict | None] = mapped_column(JSON)


class HealthProbe(Base):
    """One row that ``/healthz`` writes on each check: the database takes writes, not only reads."""

    __tablename__ = "health_probe"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checked_at: Mapped[dt.datetime]
    checked_by: Mapped[str] = mapped_column(String(64))


class Alert(Base):
    """A condition the ops team hears of (``ivr.jobs.alerts``): one row per stretch of time it
    holds, with when it was last posted to the webhooks."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_key_cleared", "key", "cleared_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80))  # condition:queue, e.g. service_level:orders
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)
    raised_at: Mapped[dt.datetime]
    seen_at: Mapped[dt.datetime]  # the last check that found it
    posted_at: Mapped[dt.datetime | None]  # the last post every webhook took
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    cleared_at: Mapped[dt.datetime | None]


class CalendarFeed(Base):
    """An agent's calendar feed: the secret in its URL is derived from the app's key and this
    version, which a supervisor raises to rotate it (the old URL stops working)."""

    __tablename__ = "calendar_feeds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(32), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    rotated_at: Mapped[dt.datetime | None]
    rotated_by: Mapped[str | None] = mapped_column(String(100))


class AgentRequest(Base):
    """An agent's time off (``start_date`` to ``end_date``) or preference for one day (a shift
    starting at ``shift_start``, or the day off), entered by the agent or a supervisor and
    approved or refused by a supervisor (``ivr.planning.agent_requests``)."""

    __tablename__ = "agent_requests"
    __table_args__ = (
        Index("ix_agent_requests_status_dates", "status", "start_date", "end_date"),
        Index("ix_agent_requests_agent_start", "agent_id", "start_date"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # time_off, prefer_shift, prefer_off
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)  # the start date but for time off
    shift_start: Mapped[str | None] = mapped_column(String(5))  # HH:MM, prefer_shift only
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, refused, withdrawn
    entered_by: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[dt.datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class BackgroundTask(Base):
    """A supervisor's long task (a what-if, a roster re-solve, a plan check) run off the request:
    its parameters, progress while it runs, and its result or error when it ends."""

    __tablename__ = "background_tasks"
    __table_args__ = (Index("ix_background_tasks_kind_created", "kind", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
