"""The call log: calls, their events, callers' languages and complaint tickets, written idempotently.

Twilio retries webhooks and may send a callback twice; every write here is keyed so that a
repeat changes nothing (``INSERT ... ON CONFLICT DO NOTHING`` on both SQLite and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from typing import Any

from sqlalchemy import Insert, Table, Update, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import Call, Caller, CallEvent, ComplaintTicket

PRIVATE_NUMBERS = ("anonymous", "unknown", "private", "restricted")


def known_number(phone: str | None) -> bool:
    """A caller id we may remember (not withheld)."""
    return bool(phone) and phone.lower() not in PRIVATE_NUMBERS


def callable_number(phone: str | None) -> bool:
    """A number Twilio can dial back: digits, optional +, 7 to 20 characters."""
    return bool(phone) and phone.lstrip("+").isdigit() and 7 <= len(phone) <= 20


def upsert_insert(session: Session):
    """The dialect's INSERT that knows ON CONFLICT (PostgreSQL or SQLite)."""
    return _dialect_insert(session.get_bind().dialect.name)


def _dialect_insert(dialect: str):
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@functools.cache
def _insert_ignore_statement(dialect: str, table: Table) -> Insert:
    insert = _dialect_insert(dialect)
    key = next(iter(table.primary_key.columns))
    # RETURNING says whether a row went in; rowcount is not reliable here (-1 with psycopg)
    return insert(table).on_conflict_do_nothing().returning(key)


def insert_ignore(session: Session, model: type, values: dict[str, Any]) -> bool:
    """Insert a row unless it clashes with a unique key; True if it was inserted.

    Webhooks' hot path: one statement built once per table and dialect, run on the session's
    connection (inside its transaction) with the values as parameters."""
    connection = session.connection()
    statement = _insert_ignore_statement(connection.dialect.name, model.__table__)
    return connection.execute(statement, values).first() is not None


def record_event(
    session: Session,
    call_sid: str,
    event: str,
    at: dt.datetime,
    dedupe_key: str | None = None,
    **detail: Any,
) -> bool:
    """Store one step of a call once; True if it is new (False for a retried webhook)."""
    return insert_ignore(
        session,
        CallEvent,
        {
            "call_sid": call_sid,
            "event": event,
            "dedupe_key": dedupe_key or event,
            "at": at,
            "detail": detail or None,
        },
    )


def ensure_call(session: Session, params: dict[str, str], at: dt.datetime) -> None:
    """Create the call's row from Twilio's parameters if it does not exist yet."""
    insert_ignore(
        session,
        Call,
        {
            "call_sid": params["CallSid"],
            "account_sid": params.get("AccountSid"),
            "from_number": params.get("From"),
            "to_number": params.get("To"),
            "direction": params.get("Direction"),
            "started_at": at,
            "status": params.get("CallStatus"),
        },
    )


@functools.cache
def _update_call_statement(columns: tuple[str, ...]) -> Update:
    table = Call.__table__
    return (
        update(table)
        .where(table.c.call_sid == bindparam("sid"))
        .values({name: bindparam(name) for name in columns})
    )


def update_call(session: Session, call_sid: str, **values: Any) -> None:
    statement = _update_call_statement(tuple(sorted(values)))
    session.connection().execute(statement, {"sid": call_sid, **values})


def remembered_language(session: Session, phone: str | None) -> str | None:
    if not known_number(phone):
        return None
    return session.scalar(select(Caller.language).where(Caller.phone == phone))


def remember_language(session: Session, phone: str | None, language: str, at: dt.datetime) -> None:
    if not known_number(phone):
        return
    if not insert_ignore(
        session,
        Caller,
        {"phone": phone, "language": language, "first_seen_at": at, "last_seen_at": at},
    ):
        session.execute(
            update(Caller).where(Caller.phone == phone).values(language=language, last_seen_at=at)
        )


def complaint_ticket(
    session: Session, call_sid: str, phone: str | None, language: str, at: dt.datetime
) -> ComplaintTicket:
    """The call's complaint ticket, opened on first use with a fresh 8-digit reference."""
    for _attempt in range(20):
        existing = session.scalar(
            select(ComplaintTicket).where(ComplaintTicket.call_sid == call_sid)
        )
        if existing is not None:
            return existing
        reference = f"{secrets.randbelow(90_000_000) + 10_000_000}"
        insert_ignore(
            session,
            ComplaintTicket,
            {
                "reference": reference,
                "call_sid": call_sid,
                "from_number": phone,
                "language": language,
                "created_at": at,
                "status": "open",
            },
        )
    raise RuntimeError("could not allocate a unique complaint reference")
