"""The database layer on SQLite and on a real PostgreSQL server: migrations, round trips, time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from ivr.store import db
from ivr.store.models import Base, Call, CallEvent, ComplaintTicket, UTCDateTime


@pytest.fixture
def engine(any_db_url):
    engine = db.make_engine(any_db_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def test_migration_creates_every_table_and_matches_the_models(engine):
    tables = set(inspect(engine).get_table_names())
    assert {
        "calls",
        "call_events",
        "queue_entries",
        "callbacks",
        "surveys",
        "complaint_tickets",
        "agents",
        "callers",
    } <= tables
    assert db.current_revision(engine) == db.head_revision() is not None
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_timestamps_round_trip_as_the_same_instant_in_utc(engine):
    rome = ZoneInfo("Europe/Rome")
    # 02:30 on the autumn DST change happens twice in Rome; fold=1 is the second (CET) one.
    started = dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=rome)
    with Session(engine) as session:
        session.add(Call(call_sid="CA1", started_at=started, from_number="+390612345678"))
        session.commit()
    with Session(engine) as session:
        call = session.scalars(select(Call).where(Call.call_sid == "CA1")).one()
    assert call.started_at.tzinfo is not None
    assert call.started_at.utcoffset() == dt.timedelta(0)
    assert call.started_at.timestamp() == started.timestamp()
    assert call.started_at == dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)


def test_naive_timestamps_are_refused(engine):
    with Session(engine) as session:
        session.add(Call(call_sid="CA2", started_at=dt.datetime(2026, 1, 1, 12, 0)))
        with pytest.raises(StatementError, match="timezone-aware"):
            session.commit()


def test_call_event_is_unique_per_call_and_dedupe_key(engine):
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        session.add(
            CallEvent(
                call_sid="CA3",
                event="call_started",
                dedupe_key="call_started",
                at=now,
                detail={"from": "+1"},
            )
        )
        session.commit()
        session.add(
            CallEvent(call_sid="CA3", event="call_started", dedupe_key="call_started", at=now)
        )
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        stored = session.scalars(select(CallEvent)).all()
    assert [(e.event, e.detail) for e in stored] == [("call_started", {"from": "+1"})]


def test_downgrade_to_base_and_up_again(engine):
    with Session(engine) as session:
        session.add(
            ComplaintTicket(
                reference="12345678",
                call_sid="CA4",
                created_at=dt.datetime.now(dt.UTC),
                status="open",
            )
        )
        session.commit()
    db.upgrade(engine, "head")  # idempotent
    from alembic import command

    cfg = db.alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")
    assert "calls" not in inspect(engine).get_table_names()
    db.upgrade(engine)
    assert "calls" in inspect(engine).get_table_names()


def test_sqlite_uses_wal_and_creates_its_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'deeper' / 'line.db'}"
    engine = db.make_engine(url)
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert mode == "wal"
    assert timeout == 30000
    assert (tmp_path / "nested" / "deeper" / "line.db").exists()


def test_database_url_spellings(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example/hotline")
    assert db.default_url(tmp_path) == "postgresql+psycopg://u:p@db.example/hotline"
    monkeypatch.delenv("DATABASE_URL")
    assert db.default_url(tmp_path) == f"sqlite:///{tmp_path / 'hotline.db'}"


def test_status_reports_unmigrated_schema(any_db_url):
    engine = db.make_engine(any_db_url)
    info = db.status(engine)
    assert info["ok"] is False
    assert info["revision"] is None
    assert "hotline db upgrade" in info["error"]
    db.upgrade(engine)
    assert db.status(engine)["ok"] is True


def test_a_request_leaves_no_connection_checked_out_nor_objects_attached(app, clock):
    """The request's session is closed when it holds a transaction or objects; one that was only
    opened is simply dropped."""
    engine = app.extensions["hotline.engine"]
    call = Call(call_sid="CA" + "5" * 32, started_at=clock.at)
    with app.test_request_context("/"):
        reading = db.get_session()
        reading.execute(select(1))
        assert reading.in_transaction() and engine.pool.checkedout() == 1
        db.close_session()
        assert not reading.in_transaction() and engine.pool.checkedout() == 0
        adding = db.get_session()
        adding.add(call)
        db.close_session()
        assert call not in adding
        unused = db.get_session()
        db.close_session()
        assert db.opened_session() is None and unused is not db.get_session()
    assert engine.pool.checkedout() == 0


SQLITE = sqlite.dialect()


def test_sqlite_timestamps_still_refuse_naive_values():
    with pytest.raises(ValueError, match="timezone-aware"):
        UTCDateTime().bind_processor(SQLITE)(dt.datetime(2026, 1, 1, 12, 0))
