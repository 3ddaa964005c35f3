"""Agents' requests: time off and shift preferences, entered by an agent on the desk or by a
supervisor for them, approved or refused by a supervisor, and fed to the week's roster.

Three kinds:

- ``time_off``: a day or a run of days (``start_date`` to ``end_date``, both included). Approved,
  each day is a hard day off of the roster (the agent's ``Staff.days_off``).
- ``prefer_shift``: one day, a shift starting at ``shift_start`` (``HH:MM``, one of the starts
  the shift templates of staffing.yaml allow on that weekday). Approved, a soft request to be on
  a shift of the week's plan that starts then.
- ``prefer_off``: one day off asked as a preference. Approved, a soft request to be off that day.

A preference is for a day the line opens (hours.yaml, its holidays and closures).

Only approved requests reach the roster: a preference, like time off, needs a supervisor's yes
(a pending one weighs nothing, so the roster never depends on who looked at the list first). A
preference on a day of approved time off does not count: the time off decides the day.

A request is ``pending`` until decided; ``approved`` and ``refused`` are final (a decision note
says why); the agent may withdraw their own pending request (``withdrawn``). Bad input raises
:class:`RequestError`, whose message names the field; nothing is stored then.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.config.hours import OpeningHours
from ivr.config.schema import WEEKDAYS, HotlineConfig
from ivr.store.models import AgentRequest
from staffing.rostering import Request

KINDS = ("time_off", "prefer_shift", "prefer_off")
KIND_NAMES = {"time_off": "time off", "prefer_shift": "a shift", "prefer_off": "a day off"}
STATUSES = ("pending", "approved", "refused", "withdrawn")
OPEN = ("pending", "approved")  # a request that still stands
DECISIONS = {"approve": "approved", "refuse": "refused"}
# a preference's weight in the roster's objective: a planned shift left empty costs its paid
# minutes times the shortage weight (hundreds), so a preference never leaves a shift empty
PREFERENCE_WEIGHT = 10
MAX_TIME_OFF_DAYS = 366
NOTE_MAX = 500
HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


class RequestError(ValueError):
    """A request or decision that cannot be stored; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class NewRequest:
    """A request as entered, before it is checked against the line and stored."""

    agent_id: str
    kind: str
    start_date: dt.date
    end_date: dt.date | None = None  # time off only; None: the start date
    shift_start: str | None = None  # HH:MM, prefer_shift only
    note: str | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, object], agent_id: str | None = None) -> NewRequest:
        """From a form or JSON body (``agent``, ``kind``, ``date``, ``end_date``,
        ``shift_start``, ``note``; ``agent_id``, when given, stands for ``agent``)."""

        def text(name: str) -> str:
            value = form.get(name)
            return "" if value is None else str(value).strip()

        agent = agent_id if agent_id is not None else text("agent")
        if not agent:
            raise RequestError("agent", "choose the agent")
        kind = text("kind")
        if kind not in KINDS:
            raise RequestError("kind", f"must be one of {', '.join(KINDS)}")
        start = parse_date("date", text("date"))
        if start is None:
            raise RequestError("date", "enter the date (YYYY-MM-DD)")
        return cls(
            agent_id=agent,
            kind=kind,
            start_date=start,
            end_date=parse_date("end date", text("end_date")),
            shift_start=parse_hhmm("shift start", text("shift_start")),
            note=text("note") or None,
        )


def parse_date(field: str, value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RequestError(field, f"{value[:40]!r} is not a date (YYYY-MM-DD)") from None


def parse_hhmm(field: str, value: str) -> str | None:
    """``H:MM`` or ``HH:MM`` as ``HH:MM``; empty as None."""
    if not value:
        return None
    match = HHMM.match(value)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise RequestError(field, f"{value[:40]!r} is not a time (HH:MM)")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def shift_starts(cfg: HotlineConfig, day: dt.date | None = None) -> list[str]:
    """The shift starts (``HH:MM``) the shift templates allow, on ``day``'s weekday when given:
    each template's starts from earliest to latest by its step, on whole planning intervals (as
    the shift planner expands them)."""
    slot = cfg.staffing.interval_min
    weekday = WEEKDAYS[day.weekday()] if day is not None else None
    starts = set()
    for t in cfg.staffing.shift_templates:
        if weekday is not None and weekday not in t.days:
            continue
        first = t.start_earliest.hour * 60 + t.start_earliest.minute
        last = t.start_latest.hour * 60 + t.start_latest.minute
        starts |= {m for m in range(first, last + 1, max(t.start_step_min, slot)) if m % slot == 0}
    return [f"{m // 60:02d}:{m % 60:02d}" for m in sorted(starts)]


def today(cfg: HotlineConfig, now: dt.datetime) -> dt.date:
    return now.astimezone(cfg.tz).date()


def create(
    session: Session, cfg: HotlineConfig, new: NewRequest, by: str, now: dt.datetime
) -> AgentRequest:
    """Check ``new`` and add it as a pending request (flushed, not committed: the caller commits
    it with its audit entry)."""
    if new.agent_id not in {a.id for a in cfg.agents}:
        raise RequestError("agent", f"unknown agent {new.agent_id[:40]!r} (not in agents.csv)")
    if new.kind not in KINDS:
        raise RequestError("kind", f"must be one of {', '.join(KINDS)}")
    first_day = today(cfg, now)
    if new.start_date < first_day:
        raise RequestError("date", f"{new.start_date} is in the past (today is {first_day})")
    end = new.end_date or new.start_date
    if new.kind == "time_off":
        if end < new.start_date:
            raise RequestError("end date", f"{end} is before the date {new.start_date}")
        if (end - new.start_date).days + 1 > MAX_TIME_OFF_DAYS:
            raise RequestError(
                "end date", f"time off is asked for {MAX_TIME_OFF_DAYS} days at most"
            )
    else:
        if end != new.start_date:
            raise RequestError("end date", "a preference is for one day: enter one per day")
        hours = OpeningHours.from_config(cfg)
        if not hours.wall_ranges(new.start_date):
            why = hours.closure_reason(new.start_date)
            raise RequestError(
                "date",
                f"the line is closed on {new.start_date:%A} {new.start_date}"
                f"{f' ({why})' if why else ''}: nobody works that day",
            )
    if new.kind == "prefer_shift":
        if new.shift_start is None:
            raise RequestError("shift start", "choose the start of the shift preferred")
        allowed = shift_starts(cfg, new.start_date)
        if new.shift_start not in allowed:
            raise RequestError(
                "shift start",
                f"{new.shift_start} is not a shift start on {new.start_date:%A} {new.start_date}"
                f" (those are {', '.join(allowed) or 'none'})",
            )
    elif new.shift_start is not None:
        raise RequestError("shift start", "only a shift preference has a start time")
    note = new.note.strip() if new.note else None
    if note and len(note) > NOTE_MAX:
        raise RequestError("note", f"{len(note)} characters; {NOTE_MAX} at most")
    _refuse_overlap(session, new.agent_id, new.kind, new.start_date, end)
    row = AgentRequest(
        agent_id=new.agent_id,
        kind=new.kind,
        start_date=new.start_date,
        end_date=end,
        shift_start=new.shift_start,
        note=note or None,
        status="pending",
        entered_by=by,
        entered_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _refuse_overlap(session: Session, agent_id: str, kind: str, start: dt.date, end: dt.date):
    """One standing time off per day, and one standing preference per day not asked off."""
    standing = session.scalars(
        select(AgentRequest)
        .where(
            AgentRequest.agent_id == agent_id,
            AgentRequest.status.in_(OPEN),
            AgentRequest.start_date <= end,
            AgentRequest.end_date >= start,
        )
        .order_by(AgentRequest.start_date, AgentRequest.id)
    ).all()
    for other in standing:
        if other.kind == "time_off":
            raise RequestError(
                "date",
                f"{describe(other)} is already asked (request #{other.id}, {other.status})",
            )
        if kind != "time_off":
            raise RequestError(
                "date",
                f"a preference for {other.start_date} is already asked: {describe(other)}"
                f" (request #{other.id}, {other.status})",
            )


def _settle(session: Session, row: AgentRequest, field: str, **values: object) -> AgentRequest:
    """Move ``row`` out of ``pending`` with ``values`` in one conditional UPDATE: a request that
    left ``pending`` since it was read (another supervisor decided it, its agent withdrew it) is
    not overwritten, and the loser hears who got there first."""
    moved = session.execute(
        update(AgentRequest)
        .where(AgentRequest.id == row.id, AgentRequest.status == "pending")
        .values(**values)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if moved != 1:
        current = session.execute(
            select(AgentRequest.status, AgentRequest.decided_by).where(AgentRequest.id == row.id)
        ).first()
        status, by = current if current is not None else ("removed", None)
        raise RequestError(
            field,
            f"request #{row.id} was {status}{f' by {by}' if by else ''} meanwhile; look again",
        )
    return row


def decide(
    session: Session,
    request_id: int,
    decision: str,
    by: str,
    now: dt.datetime,
    note: str | None = None,
) -> AgentRequest:
    """Approve or refuse a pending request (``decision``: ``approve`` or ``refuse``); the caller
    commits. Raises :class:`LookupError` for no such request, :class:`RequestError` (field
    ``decision``) for one no longer pending, or decided or withdrawn meanwhile."""
    if decision not in DECISIONS:
        raise RequestError("decision", "must be approve or refuse")
    note = note.strip() if note else None
    if note and len(note) > NOTE_MAX:
        raise RequestError("decision note", f"{len(note)} characters; {NOTE_MAX} at most")
    row = session.get(AgentRequest, request_id)
    if row is None:
        raise LookupError(f"no request #{request_id}")
    if row.status != "pending":
        raise RequestError(
            "decision", f"request #{row.id} is already {row.status} and cannot be decided again"
        )
    return _settle(
        session,
        row,
        "decision",
        status=DECISIONS[decision],
        decided_by=by,
        decided_at=now,
        decision_note=note or None,
    )


def withdraw(
    session: Session, request_id: int, agent_id: str, by: str, now: dt.datetime
) -> AgentRequest:
    """The agent takes back their own pending request; the caller commits. Raises
    :class:`LookupError` for no such request of this agent, :class:`RequestError` (field
    ``request``) for one no longer pending, or decided meanwhile."""
    row = session.get(AgentRequest, request_id)
    if row is None or row.agent_id != agent_id:
        raise LookupError(f"no request #{request_id} of {agent_id}")
    if row.status != "pending":
        raise RequestError("request", f"request #{row.id} is already {row.status}")
    return _settle(session, row, "request", status="withdrawn", decided_by=by, decided_at=now)


def listed(
    session: Session,
    *,
    status: str | None = None,
    week_start: dt.date | None = None,
    agent_id: str | None = None,
    ending_from: dt.date | None = None,
) -> list[AgentRequest]:
    """Requests by date: of ``status``, touching the week from ``week_start``, of ``agent_id``,
    ending on ``ending_from`` or later (each filter when given)."""
    query = select(AgentRequest)
    if status is not None:
        query = query.where(AgentRequest.status == status)
    if week_start is not None:
        query = query.where(
            AgentRequest.start_date <= week_start + dt.timedelta(days=6),
            AgentRequest.end_date >= week_start,
        )
    if agent_id is not None:
        query = query.where(AgentRequest.agent_id == agent_id)
    if ending_from is not None:
        query = query.where(AgentRequest.end_date >= ending_from)
    return list(
        session.scalars(
            query.order_by(AgentRequest.start_date, AgentRequest.agent_id, AgentRequest.id)
        )
    )


def describe(row: AgentRequest) -> str:
    """What is asked, in words: "time off 2026-12-01 to 2026-12-03", "the 09:00 shift on
    2026-12-01", "a day off on 2026-12-01"."""
    if row.kind == "time_off":
        if row.end_date == row.start_date:
            return f"time off on {row.start_date:%a} {row.start_date}"
        return f"time off {row.start_date:%a} {row.start_date} to {row.end_date:%a} {row.end_date}"
    if row.kind == "prefer_shift":
        return f"the {row.shift_start} shift on {row.start_date:%a} {row.start_date}"
    return f"a day off on {row.start_date:%a} {row.start_date}"


def audit_detail(row: AgentRequest) -> dict:
    """What the audit log keeps of a request entered, decided or withdrawn."""
    return {
        "request": row.id,
        "agent": row.agent_id,
        "kind": row.kind,
        "date": row.start_date.isoformat(),
        "end_date": row.end_date.isoformat(),
        "shift_start": row.shift_start,
        "status": row.status,
        "note": row.decision_note if row.decided_at else row.note,
    }


def as_json(row: AgentRequest, tz: dt.tzinfo) -> dict:
    """A request for the pages' JSON (times in the line's zone)."""
    return {
        "id": row.id,
        "agent": row.agent_id,
        "kind": row.kind,
        "date": row.start_date.isoformat(),
        "end_date": row.end_date.isoformat(),
        "shift_start": row.shift_start,
        "note": row.note,
        "status": row.status,
        "what": describe(row),
        "entered_by": row.entered_by,
        "entered_at": row.entered_at.astimezone(tz).isoformat(timespec="minutes"),
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.astimezone(tz).isoformat(timespec="minutes")
        if row.decided_at
        else None,
        "decision_note": row.decision_note,
    }


# --------------------------------------------------------------------------- for the roster


def _approved_in_week(
    session: Session, week_start: dt.date, agent_ids: Iterable[str] | None = None
) -> tuple[dict[str, set[int]], list[AgentRequest]]:
    """Approved time off per agent as day indexes (0-6 from ``week_start``), and the approved
    preferences of the week on days not taken off."""
    query = select(AgentRequest).where(
        AgentRequest.status == "approved",
        AgentRequest.start_date <= week_start + dt.timedelta(days=6),
        AgentRequest.end_date >= week_start,
    )
    if agent_ids is not None:
        query = query.where(AgentRequest.agent_id.in_(list(agent_ids)))
    rows = session.scalars(query.order_by(AgentRequest.start_date, AgentRequest.id)).all()
    off: dict[str, set[int]] = {}
    for r in rows:
        if r.kind == "time_off":
            first = max((r.start_date - week_start).days, 0)
            last = min((r.end_date - week_start).days, 6)
            off.setdefault(r.agent_id, set()).update(range(first, last + 1))
    preferences = [
        r
        for r in rows
        if r.kind != "time_off"
        and (r.start_date - week_start).days not in off.get(r.agent_id, set())
    ]
    return off, preferences


def roster_inputs(
    session: Session,
    week_start: dt.date,
    agent_ids: list[str] | set[str],
    shift_ids: list[str] | None = None,
) -> tuple[dict[str, set[int]], list[Request]]:
    """The week's approved requests of ``agent_ids`` as the roster takes them: per agent the
    days of approved time off (0-6 from ``week_start``; agents without any are left out), a hard
    day off each; and the approved preferences as soft :class:`Request` s of weight
    :data:`PREFERENCE_WEIGHT`: ``prefer_off`` asks to be off (shift None, on False),
    ``prefer_shift`` to be on a shift of the plan starting then: one request per id of
    ``shift_ids`` (the plan's ``HH:MM-HH:MM``) that starts with the wanted ``HH:MM``, none when
    the plan has no such shift that day. Without ``shift_ids`` the request's shift is the
    ``HH:MM`` start itself, for the caller to map onto its shift ids."""
    off, preferences = _approved_in_week(session, week_start, agent_ids)
    out = []
    for r in preferences:
        day = (r.start_date - week_start).days
        if r.kind == "prefer_off":
            out.append(Request(r.agent_id, day, None, False, PREFERENCE_WEIGHT))
        elif shift_ids is None:
            out.append(Request(r.agent_id, day, r.shift_start, True, PREFERENCE_WEIGHT))
        else:
            out += [
                Request(r.agent_id, day, sid, True, PREFERENCE_WEIGHT)
                for sid in shift_ids
                if sid.startswith(r.shift_start)
            ]
    return off, out


def honoured(session: Session, week_start: dt.date, rows: list[dict]) -> dict[str, tuple[int, int]]:
    """Per agent with approved preferences in the week: (honoured, asked) by the roster
    ``rows`` (``agent``, ``date``, ``shift_start`` as ISO local time, as ``roster_rows`` and
    ``assignment_row`` give them). A ``prefer_shift`` is honoured by a shift that day starting at
    the wanted time, a ``prefer_off`` by no shift that day."""
    _off, preferences = _approved_in_week(session, week_start)
    worked = {(r["agent"], r["date"]) for r in rows}
    starts = {(r["agent"], r["date"], r["shift_start"][11:16]) for r in rows}
    out: dict[str, tuple[int, int]] = {}
    for r in preferences:
        date = r.start_date.isoformat()
        if r.kind == "prefer_off":
            kept = (r.agent_id, date) not in worked
        else:
            kept = (r.agent_id, date, r.shift_start) in starts
        done, asked = out.get(r.agent_id, (0, 0))
        out[r.agent_id] = (done + kept, asked + 1)
    return out
