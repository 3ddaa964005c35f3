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

from ivr.store.models import Call, Caller, CallEvent, ComplaintTicket

NUMBER_MAX = 40  # width of the number columns
PRIVATE_NUMBERS = ("anonymous", "unknown", "private", "restricted")


def known_number(phone: str | None) -> bool:
    """A caller id we may remember (not withheld)."""
    return bool(phone) and phone.lower() not in PRIVATE_NUMBERS


def stored_number(value: str | None) -> str | None:
    """A number as stored (columns of ``NUMBER_MAX`` characters), or None if it cannot be one:
    a long SIP address is kept as unknown rather than failing the call."""
    return value if value and len(value) <= NUMBER_MAX else None


def upsert_insert(session: Session):
    """The dialect's INSERT that knows ON CONFLICT (PostgreSQL or SQLite)."""
    return dialect_insert(session.get_bind().dialect.name)


def dialect_insert(dialect: str):
    """The dialect's INSERT construct (with ``on_conflict_do_nothing``)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@functools.cache
def insert_ignore_many(dialect: str, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING, for one row or an executemany of rows."""
    return dialect_insert(dialect)(table).on_conflict_do_nothing()


@functools.cache
def _insert_ignore_statement(dialect: str, table: Table) -> Insert:
    key = next(iter(table.primary_key.columns))
    # RETURNING says whether a row went in; rowcount is not reliable here (-1 with psycopg)
    return insert_ignore_many(dialect, table).returning(key)


def insert_ignore(session: Session, model: type, values: dict[str, Any]) -> bool:
    """Insert a row unless it clashes with a unique key; True if it was inserted. One statement
    built once per table and dialect, run on the session's connection (inside its transaction)."""
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
    values = {
        "call_sid": call_sid,
        "event": event,
        "dedupe_key": dedupe_key or event,
        "at": at,
        "detail": detail or None,
    }
    return insert_ignore(session, CallEvent, values)


def ensure_call(session: Session, params: dict[str, str], at: dt.datetime) -> None:
    """Create the call's row from Twilio's parameters if it does not exist yet."""
    insert_ignore(
        session,
        Call,
        {
            "call_sid": params["CallSid"],
            "account_sid": params.get("AccountSid"),
            "from_number": stored_number(params.get("From")),
            "to_number": stored_number(params.get("To")),
            "direction": params.get("Direction"),
            "started_at": at,
            "status": params.get("CallStatus"),
        },
    )


@functools.cache
def update_call_statement(columns: tuple[str, ...]) -> Update:
    """UPDATE calls SET these columns WHERE call_sid = :sid (one statement per set of columns)."""
    table = Call.__table__
    return (
        update(table)
        .where(table.c.call_sid == bindparam("sid"))
        .values({name: bindparam(name) for name in columns})
    )


def update_call(session: Session, call_sid: str, **values: Any) -> None:
    statement = update_call_statement(tuple(sorted(values)))
    session.connection().execute(statement, {"sid": call_sid, **values})


@functools.cache
def row_update_statement(table: Table, columns: tuple[str, ...]) -> Update:
    """UPDATE one row (by ``row_id``): these columns, from parameters of the same names."""
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(name) for name in columns})
    )


def update_row(session: Session, table: Table, row: Any, new: bool = True, **values: Any) -> None:
    """Set these columns of a stored row (anything with ``id``: a row read with Core or an ORM
    object) in ``table``, unless ``new`` is False (the event this update follows was a retried
    webhook's: it changes nothing the second time)."""
    if not new:
        return
    statement = row_update_statement(table, tuple(sorted(values)))
    session.connection().execute(statement, {"row_id": row.id, **values})


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
