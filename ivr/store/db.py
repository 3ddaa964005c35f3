"""One database layer: the engine factory, sessions for Flask requests, and Alembic migrations.

SQLite in the Flask instance folder by default (WAL mode, created on first use); PostgreSQL
through psycopg when ``DATABASE_URL`` says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from ivr import settings
from ivr.store.models import HealthProbe

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
STALE_RETRIES = 2  # work retried after failing on a connection the server had dropped
log = logging.getLogger(__name__)
T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and select the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_url(instance_path: str | Path) -> str:
    """``DATABASE_URL`` if set, else an SQLite file in the instance folder."""
    env = settings.load().database_url
    if env:
        return normalise_url(env)
    return f"sqlite:///{Path(instance_path) / 'hotline.db'}"


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


UNBOUNDED_WAIT_S = 30.0  # the CLI's and the jobs' database waits (the server's: see make_engine)


# The PostgreSQL pool of each process (a gunicorn worker, whose threads each hold one at most)
POOL = {"pool_size": 5, "max_overflow": 5}
CONNECTIONS_PER_WORKER = sum(POOL.values())


def make_engine(
    url: str, wait_s: float = UNBOUNDED_WAIT_S, statement_s: float | None = None
) -> Engine:
    """The one engine factory: SQLite gets WAL and a busy timeout, PostgreSQL a pool without pings.

    ``wait_s`` bounds every wait for the database: SQLite's busy timeout (another writer holds
    the lock), and on PostgreSQL the pool's wait for a connection, connecting, and each lock
    (``lock_timeout``); ``statement_s`` bounds each PostgreSQL statement (``statement_timeout``).
    The server passes short waits (``HOTLINE_DB_WAIT_S``) and three quarters of the webhook
    deadline for statements, so a caller is answered (from the configuration) before Twilio
    gives up, and a lock held elsewhere holds no thread for long."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": wait_s, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas(int(wait_s * 1000)))
        return engine
    # No ping before each use (a round trip on every request that reads): a connection the
    # server dropped (it restarted) fails on first use, SQLAlchemy then discards the whole pool,
    # and the work is tried once more on a new connection (``retrying_stale``).
    bounds: dict[str, Any] = {}
    if wait_s < UNBOUNDED_WAIT_S:
        statement_ms = int((statement_s or wait_s) * 1000)
        bounds = {
            "pool_timeout": wait_s,
            "connect_args": {
                "connect_timeout": max(1, int(wait_s)),
                "options": f"-c statement_timeout={statement_ms}"
                f" -c lock_timeout={int(wait_s * 1000)}",
            },
        }
    return create_engine(url, pool_pre_ping=False, **POOL, **bounds)


def connection_budget(url: str, workers: int) -> str | None:
    """On PostgreSQL, a warning if ``workers`` server workers could open more connections than
    the server accepts (they would meet "too many clients" at a peak); None if they fit, on
    SQLite, or when the server cannot be asked (the webhooks cope with an outage on their own)."""
    url = normalise_url(url)
    if not url.startswith("postgresql"):
        return None
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            settings = dict(
                connection.exec_driver_sql(
                    "SELECT name, setting FROM pg_settings WHERE name IN ('max_connections',"
                    " 'superuser_reserved_connections', 'reserved_connections')"
                ).all()
            )
    except Exception as exc:  # noqa: BLE001 - a check at start, never a reason not to start
        log.info("could not compare the workers' connections with max_connections: %s", exc)
        return None
    finally:
        engine.dispose()
    allowed = int(settings["max_connections"])
    # PostgreSQL 16 also keeps some for roles with pg_use_reserved_connections
    reserved = sum(
        int(settings.get(name, 0))
        for name in ("superuser_reserved_connections", "reserved_connections")
    )
    kept = workers * POOL["pool_size"]
    peak = workers * CONNECTIONS_PER_WORKER
    available = allowed - reserved
    if peak <= available:
        return None
    return (
        f"{workers} workers keep up to {kept} PostgreSQL connections and may open {peak} at a peak"
        f" ({CONNECTIONS_PER_WORKER} each), but the server accepts {available}"
        f" (max_connections {allowed}, {reserved} reserved): raise max_connections"
        " or run fewer workers (HOTLINE_WORKERS)"
    )


def alembic_config(engine: Engine | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on this engine's database."""
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def status(engine: Engine, probe_at: dt.datetime | None = None) -> dict[str, Any]:
    """What /healthz reports about the database; never raises. With ``probe_at``, a write is
    committed too (the health probe's row): a database that reads but refuses writes (a
    read-only file, a full disk) is not ok."""
    info: dict[str, Any] = {"backend": engine.dialect.name, "head": head_revision()}

    def revision() -> str | None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            return MigrationContext.configure(connection).get_current_revision()

    try:
        info["revision"] = retrying_stale(revision)  # not down because the server restarted
        info["ok"] = info["revision"] == info["head"]
        if not info["ok"]:
            info["error"] = "schema is not at the latest migration: run `hotline db upgrade`"
        elif probe_at is not None:
            retrying_stale(lambda: _probe_write(engine, probe_at))
            info["writes"] = "ok"
    except Exception as exc:  # noqa: BLE001 - health reports any failure
        info["ok"] = False
        info["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return info


def _probe_write(engine: Engine, at: dt.datetime) -> None:
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    values = {"id": 1, "checked_at": at, "checked_by": f"{socket.gethostname()}:{os.getpid()}"[:64]}
    statement = insert(HealthProbe).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["id"], set_={"checked_at": at, "checked_by": values["checked_by"]}
    )
    with engine.begin() as connection:
        connection.execute(statement)


def database_file(engine: Engine) -> Path | None:
    """The SQLite database's file (None on PostgreSQL or in memory)."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return None if engine.url.database == ":memory:" else Path(engine.url.database)


class Breaker:
    """Whether the webhooks of this process try the database. After it failed (unreachable,
    or locked past the wait), requests are answered without it for ``open_s`` seconds; then one
    request tries it again while the others still go without, and its outcome closes or reopens
    the breaker. So an outage costs at most one wait per thread, not one per request."""

    def __init__(self, open_s: float = 2.0) -> None:
        self.open_s = open_s
        self._until = 0.0
        self._probing = False
        self._lock = threading.Lock()

    def allows(self) -> bool:
        if not self._until:  # the usual case: no lock taken
            return True
        with self._lock:
            if self._probing or time.monotonic() < self._until:
                return False
            self._probing = True  # this request tries the database again
            return True

    def failed(self) -> None:
        with self._lock:
            if not self._until:
                log.warning(
                    "database unavailable: webhooks answered without it for %.0f s", self.open_s
                )
            self._until = time.monotonic() + self.open_s
            self._probing = False

    def succeeded(self) -> None:
        if self._until:
            with self._lock:
                if self._until:
                    log.warning("database available again: webhooks use it")
                self._until, self._probing = 0.0, False


def database_breaker() -> Breaker:
    """The current app's :class:`Breaker` (one per app and process)."""
    return current_app.extensions["hotline.breaker"]


def init_app(app: Flask) -> None:
    if app.config.get("SERVER"):
        statement_s = 0.75 * app.config["WEBHOOK_DEADLINE_S"]
        engine = make_engine(
            app.config["DATABASE_URL"], min(app.config["DB_WAIT_S"], statement_s), statement_s
        )
    else:
        engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["hotline.engine"] = engine
    app.extensions["hotline.breaker"] = Breaker()
    app.extensions["hotline.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    if app.config.get("AUTO_MIGRATE"):
        upgrade(engine)
    app.teardown_appcontext(close_session)
    app.register_error_handler(DBAPIError, _connection_reset)


def _connection_reset(exc: DBAPIError) -> Any:
    """A page or API call that hit a connection the database server dropped (it restarted):
    503, try again in a second (the pool has been renewed meanwhile). Any other database error
    stays a 500. Webhooks never get here: they retry themselves (``retrying_stale``)."""
    if not stale(exc):
        raise exc
    log.warning("database connection was reset (server restart?): %s answered 503", exc)
    return "The database connection was reset; please try again.", 503, {"Retry-After": "1"}


def unreachable(exc: BaseException) -> bool:
    """The database could not be reached or was busy (worth trying again later), as opposed to
    refusing the data (which it will refuse every time)."""
    return isinstance(exc, OperationalError | InterfaceError) or bool(
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def stale(exc: BaseException) -> bool:
    """The work failed on a pooled connection the server had dropped (a restart): SQLAlchemy has
    discarded the pool, and the same work on a new connection may well succeed."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def retrying_stale(work: Callable[[], T], before_retry: Callable[[], Any] | None = None) -> T:
    """``work()``, again (after ``before_retry()``) while it fails on a stale connection, at most
    ``STALE_RETRIES`` times (after a server restart SQLAlchemy discards the pool on the first
    dropped connection it meets). The work must be a transaction that was rolled back when it
    failed."""
    for _ in range(STALE_RETRIES):
        try:
            return work()
        except DBAPIError as exc:
            if not stale(exc):
                raise
            log.info("database connection was reset (server restart?), trying again: %s", exc)
            if before_retry is not None:
                before_retry()
    return work()


def get_engine() -> Engine:
    return current_app.extensions["hotline.engine"]


def get_session() -> Session:
    """The request's session, opened on first use and closed when the request ends."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["hotline.sessionmaker"]()
    return g.db_session


def opened_session() -> Session | None:
    """The request's session if it has been opened, else None (nothing to commit)."""
    return g.get("db_session")


@contextmanager
def session_scope(app: Flask | None = None) -> Iterator[Session]:
    """A session outside a request (CLI, jobs): commit on success, roll back on error."""
    maker = (app or current_app).extensions["hotline.sessionmaker"]
    session = maker()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session (at the end of the request, or to start afresh)."""
    session = g.pop("db_session", None)
    # A session with no transaction (adding an object begins one) and no objects has nothing to
    # release; closing it would still build a new identity map.
    if session is not None and (session.in_transaction() or len(session.identity_map)):
        session.close()
