"""Write-behind for the busiest webhooks, the menu, the hold loop and the queue result: their
call-log writes go to a local journal before the caller is answered, and reach the database in
batches.

A menu request's own writes (two call events, a queue entry, the call's queue) cost more than all
the rest of the request: per-statement and per-commit overhead and, on SQLite, waiting for the
write lock. Batched, a worker writes many requests' rows in one transaction.

- **Durable before the answer.** The request's writes are appended to this worker's journal file
  (one ``write(2)``) before its TwiML is returned, so a worker killed with SIGKILL loses nothing it
  answered: another worker, or the next start, finds the dead worker's journal and applies it.
  The journal is not fsynced per request: it survives a crashed or killed process, not a power
  cut in the last moments (like SQLite's ``synchronous=NORMAL``).
- **Database outage.** A batch that cannot be written stays in its journal file and is retried,
  in order, until the database is back; callers are answered meanwhile.
- **Idempotent.** Every write is keyed (``ON CONFLICT DO NOTHING``). A write that depends on an
  event being new (``if event(...)``) carries that event as a guard and is inserted (or, for a
  row update such as the queue result's, applied) only if the stored event is this request's
  (same call, key and time): a retried webhook, or a journal applied twice, changes nothing the
  second time.

Reads that must see the menu's writes at once (the queue result) flush the journal when it
holds the call's writes and the row is missing.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import itertools
import logging
import os
import pickle
import secrets
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Insert,
    Table,
    Update,
    bindparam,
    cast,
    exists,
    select,
    update,
)

from ivr.store.db import retrying_stale, unreachable
from ivr.store.models import Base, CallEvent

log = logging.getLogger(__name__)

SESSION_KEY = "write_behind"  # Session.info key holding the request's deferred writes
RECOVER_EVERY_S = 2.0  # how often a worker looks for journals of workers that died
_HEADER = struct.Struct("<I")
REJECTED = "rejected.jnl"  # requests the database refused for good, kept for a person to look at


@dataclass(frozen=True)
class EventGuard:
    """A deferred event: a write made on condition that it is new carries it (always truthy)."""

    call_sid: str
    dedupe_key: str
    at: Any


# --------------------------------------------------------------------------- applying writes


def _guard_holds() -> Any:
    """EXISTS the guarding event as this request stored it (same call, key and time); the
    parameters take their types from the columns they are compared with."""
    events = CallEvent.__table__
    return exists().where(
        events.c.call_sid == bindparam("guard_sid"),
        events.c.dedupe_key == bindparam("guard_key"),
        events.c.at == bindparam("guard_at"),
    )


@functools.cache
def _guarded_insert(dialect: str, table: Table, columns: tuple[str, ...]) -> Insert:
    """INSERT ... SELECT the row's values WHERE the guarding event is this request's."""
    from ivr.store.calllog import dialect_insert

    def value(name: str) -> Any:
        column = table.c[name]
        param = bindparam(name, type_=column.type)
        # PostgreSQL cannot type a bare parameter in a select list; SQLite must not cast
        # (CAST AS DATETIME would turn a timestamp into a number)
        return cast(param, column.type) if dialect == "postgresql" else param

    row = select(*(value(name) for name in columns)).where(_guard_holds())
    return dialect_insert(dialect)(table).from_select(list(columns), row).on_conflict_do_nothing()


@functools.cache
def row_update_statement(table: Table, columns: tuple[str, ...]) -> Update:
    """UPDATE one row (by ``row_id``): these columns, from parameters of the same names."""
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(name) for name in columns})
    )


@functools.cache
def _guarded_update(table: Table, columns: tuple[str, ...]) -> Update:
    """UPDATE one row (by id) WHERE the guarding event is this request's."""
    return row_update_statement(table, columns).where(_guard_holds())


def _guard(guard: EventGuard) -> dict[str, Any]:
    return {"guard_sid": guard.call_sid, "guard_key": guard.dedupe_key, "guard_at": guard.at}


def apply(engine: Engine, requests: Iterable[list[tuple]]) -> int:
    """Write these requests' deferred writes in one transaction; returns how many requests.

    Inserts are grouped per table (calls, then events, then the rest) and sent as one
    executemany each; guarded inserts follow their events; then guarded row updates (one row
    each, so their order does not matter); then call and row updates, in their order."""
    from ivr.store.calllog import insert_ignore_many, update_call_statement

    inserts: dict[tuple[str, tuple[str, ...]], list[dict]] = {}
    guarded: dict[tuple[str, tuple[str, ...]], list[dict]] = {}
    guarded_updates: dict[tuple[str, tuple[str, ...]], list[dict]] = {}
    updates: list[tuple[Update, dict]] = []
    tables = Base.metadata.tables
    count = 0
    for ops in requests:
        count += 1
        for op in ops:
            kind = op[0]
            if kind == "insert":
                inserts.setdefault((op[1], tuple(sorted(op[2]))), []).append(op[2])
            elif kind == "insert_if":
                guarded.setdefault((op[1], tuple(sorted(op[2]))), []).append(
                    {**op[2], **_guard(op[3])}
                )
            elif kind == "update_if":  # ("update_if", table, row id, values, guard)
                guarded_updates.setdefault((op[1], tuple(sorted(op[3]))), []).append(
                    {**op[3], "row_id": op[2], **_guard(op[4])}
                )
            elif kind == "update_call":  # ("update_call", call sid, values)
                updates.append(
                    (update_call_statement(tuple(sorted(op[2]))), {"sid": op[1], **op[2]})
                )
            elif kind == "update":  # ("update", table, row id, values, call sid)
                statement = row_update_statement(tables[op[1]], tuple(sorted(op[3])))
                updates.append((statement, {**op[3], "row_id": op[2]}))
            else:
                raise ValueError(f"unknown deferred write {kind!r}")
    if not count:
        return 0
    order = {"calls": 0, "call_events": 1}
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for (name, _columns), rows in sorted(inserts.items(), key=lambda x: order.get(x[0][0], 2)):
            connection.execute(insert_ignore_many(dialect, tables[name]), rows)
        for (name, columns), rows in guarded.items():
            connection.execute(_guarded_insert(dialect, tables[name], columns), rows)
        for (name, columns), rows in guarded_updates.items():
            connection.execute(_guarded_update(tables[name], columns), rows)
        start = 0
        while start < len(updates):  # runs of the same statement, in order
            end = start
            while end < len(updates) and updates[end][0] is updates[start][0]:
                end += 1
            connection.execute(updates[start][0], [u[1] for u in updates[start:end]])
            start = end
    return count


# --------------------------------------------------------------------------- the journal


def _record(ops: list[tuple]) -> bytes:
    """One request's writes as a journal record: its length, then the pickled writes."""
    data = pickle.dumps(ops, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def read_journal(path: Path) -> list[list[tuple]]:
    """The requests in a journal file; a record cut short (the writer was killed) ends it."""
    data = path.read_bytes()
    out, offset = [], 0
    while offset + _HEADER.size <= len(data):
        (size,) = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        if start + size > len(data):
            log.warning("%s ends in a partial record (%d bytes); ignored", path, len(data) - start)
            break
        out.append(pickle.loads(data[start : start + size]))
        offset = start + size
    return out


def _call_of(op: tuple) -> str | None:
    """The call one deferred write is about."""
    if op[0] == "update_call":  # ("update_call", call sid, values)
        return op[1]
    if op[0] == "update_if":  # ("update_if", table, row id, values, guard)
        return op[4].call_sid
    if op[0] == "update":  # ("update", table, row id, values, call sid)
        return op[4]
    return op[2].get("call_sid")  # ("insert" | "insert_if", table, values[, guard])


def _calls(ops: list[tuple]) -> set[str]:
    """The calls one request's writes are about."""
    return {_call_of(op) for op in ops}


def _calls_of(batch: list[list[tuple]]) -> set[str]:
    """The calls these requests' writes are about."""
    return {_call_of(op) for ops in batch for op in ops}


_journal_numbers = itertools.count(1)
_process: tuple[int, str] | None = None


def _process_token() -> str:
    """A token for this process (new after a fork): a journal file whose name has another
    process's token under our pid is from an earlier process that had the same pid. Every journal
    of this process (one per app) is live."""
    global _process
    if _process is None or _process[0] != os.getpid():
        _process = (os.getpid(), secrets.token_hex(4))
    return _process[1]


def _age(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # another worker took it meanwhile
        return 0.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Journal:
    """One per app and process: appends requests' writes, a thread applies them in batches."""

    def __init__(self, engine: Engine, folder: Path, interval_s: float) -> None:
        self.engine = engine
        self.folder = Path(folder)
        self.interval_s = interval_s
        self._pid: int | None = None
        self._fork_lock = threading.Lock()

    # state is per process: a forked worker starts its own file and thread
    def _ensure(self) -> None:
        if self._pid == os.getpid():
            return
        with self._fork_lock:
            if self._pid == os.getpid():
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            self._token = f"{_process_token()}.{next(_journal_numbers)}"
            self._seq = 0
            self._lock = threading.Lock()  # the open file and the requests not yet sealed
            self._flush_lock = threading.Lock()  # one flush at a time
            self._fd: int | None = None
            self._path: Path | None = None
            self._pending: list[list[tuple]] = []
            self._pending_calls: set[str] = set()  # the calls the open file's requests are about
            # files no longer written to: path, requests, the calls they are about
            self._sealed: list[tuple[Path, list[list[tuple]], set[str]]] = []
            self._wake = threading.Event()
            self._closed = False
            self._last_recover = 0.0
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="write-behind", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def _new_path(self, tag: str = "") -> Path:
        self._seq += 1
        return self.folder / f"{os.getpid()}-{self._token}-{tag}{self._seq}.jnl"

    def append(self, ops: list[tuple]) -> None:
        """Journal one request's writes (before it is answered)."""
        if not ops:
            return
        self._ensure()
        record = _record(ops)
        with self._lock:
            if self._fd is None:
                self._path = self._new_path()
                self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            written = os.write(self._fd, record)
            if written != len(record):
                raise OSError(f"journal {self._path}: short write ({written} of {len(record)})")
            self._pending.append(ops)
            self._pending_calls.update(_calls(ops))

    def _seal(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._sealed.append((self._path, self._pending, self._pending_calls))
                self._fd, self._path, self._pending, self._pending_calls = None, None, [], set()

    def flush(self) -> bool:
        """Apply everything journalled so far (orphans of dead workers first); False if the
        database refused, in which case the journal keeps it for the next try."""
        self._ensure()
        with self._flush_lock:
            self._seal()
            while self._sealed:
                path, batch, _c = self._sealed[0]
                try:  # once more at once if the server had dropped the pooled connection
                    retrying_stale(lambda batch=batch: apply(self.engine, batch))
                except Exception as exc:  # noqa: BLE001 - sorted out below
                    if unreachable(exc) or not self._one_by_one(path, batch):
                        waiting = len(self._sealed[0][1])  # fewer if some were sorted out
                        log.warning(
                            "write-behind: %d request(s) wait in %s: %s", waiting, path, exc
                        )
                        return False
                path.unlink(missing_ok=True)
                with self._lock:  # holds() goes through the list meanwhile
                    self._sealed.pop(0)
        return True

    def _one_by_one(self, path: Path, batch: list[list[tuple]]) -> bool:
        """A batch the database refused for what is in it: write its requests one by one, and
        set aside in ``rejected.jnl`` (logged) any the database will never take, so that one bad
        request cannot hold up the others. False if the database went away meanwhile; the batch
        (in memory and in ``path``) then keeps only the requests not yet sorted out, so a request
        set aside is not set aside again on the next try."""
        for done, ops in enumerate(batch):
            try:
                apply(self.engine, [ops])
            except Exception as exc:  # noqa: BLE001 - transient: retry later; else set aside
                if unreachable(exc):
                    self._keep_only(path, batch[done:])
                    return False
                reason = str(exc).splitlines()[0]
                if self._set_aside(ops):
                    log.error(
                        "write-behind: the database refused a request's writes for good (%s); "
                        "kept in %s",
                        reason,
                        self.folder / REJECTED,
                    )
                else:
                    log.info("write-behind: refused again (%s), already in %s", reason, REJECTED)
        return True

    def _set_aside(self, ops: list[tuple]) -> bool:
        """Keep a request the database refused for good in ``rejected.jnl``, once; False if it
        is there already (a worker killed after setting it aside, before its journal lost it,
        leaves it to whoever takes that journal over)."""
        record = _record(ops)
        path = self.folder / REJECTED
        if path.exists() and record in path.read_bytes():
            return False
        with path.open("ab") as handle:
            handle.write(record)
        return True

    def _keep_only(self, path: Path, rest: list[list[tuple]]) -> None:
        """Replace the sealed batch at ``path`` (the first) by ``rest``, on disk atomically."""
        temporary = path.with_suffix(".tmp")  # not a journal: recover() does not look at it
        temporary.write_bytes(b"".join(_record(ops) for ops in rest))
        os.replace(temporary, path)
        with self._lock:
            self._sealed[0] = (path, rest, _calls_of(rest))

    def pending(self) -> int:
        """Requests journalled by this process and not yet in the database."""
        if self._pid != os.getpid():
            return 0
        with self._lock:
            return len(self._pending) + sum(len(batch) for _path, batch, _c in self._sealed)

    def holds(self, call_sid: str) -> bool:
        """Whether writes of this call wait in this process's journal (not yet in the database)."""
        if self._pid != os.getpid():
            return False
        with self._lock:
            return call_sid in self._pending_calls or any(
                call_sid in calls for _path, _batch, calls in self._sealed
            )

    def backlog(self) -> dict[str, Any]:
        """What waits on disk for the database, across this database's workers (for /healthz)."""
        files = sizes = 0
        for path in self.folder.glob("*.jnl") if self.folder.exists() else ():
            if path.name == REJECTED:
                continue
            try:
                sizes += path.stat().st_size
            except FileNotFoundError:  # written and removed meanwhile
                continue
            files += 1
        rejected = self.folder / REJECTED
        return {
            "interval_s": self.interval_s,
            "journal_files": files,
            "journal_bytes": sizes,
            "rejected": len(read_journal(rejected)) if rejected.exists() else 0,
        }

    def recover(self) -> int:
        """Take over the journals of workers that died (SIGKILL, crash, an earlier run); they are
        applied, oldest first, by the next flush. Returns how many requests were taken."""
        self._ensure()
        taken = []
        for path in sorted(self.folder.glob("*.jnl"), key=_age):
            pid_text, _, rest = path.name.partition("-")
            token = rest.partition("-")[0].partition(".")[0]
            if not pid_text.isdigit():
                continue
            pid = int(pid_text)
            if (pid == os.getpid() and token == _process_token()) or (
                pid != os.getpid() and _alive(pid)
            ):
                continue  # this process's (any of its apps), or a live process's
            with self._flush_lock:
                mine = self._new_path("r")
                try:
                    path.rename(mine)  # claim it: another worker may be trying too
                except FileNotFoundError:
                    continue
                batch = read_journal(mine)
                taken.append((mine, batch, _calls_of(batch)))
        if taken:
            with self._flush_lock, self._lock:
                self._sealed[:0] = taken
            log.info(
                "write-behind: took over %d request(s) from %d journal(s) of stopped workers",
                sum(len(b) for _p, b, _c in taken),
                len(taken),
            )
        return sum(len(b) for _p, b, _c in taken)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            try:
                if time.monotonic() - self._last_recover >= RECOVER_EVERY_S:
                    self._last_recover = time.monotonic()
                    self.recover()
                if not self.flush():
                    time.sleep(min(5.0, 20 * self.interval_s))  # the database is down: back off
            except Exception:  # noqa: BLE001 - the thread must survive anything
                log.exception("write-behind flush failed")

    def close(self) -> None:
        """Flush what is left (on worker exit); anything unwritten stays journalled."""
        if self._pid != os.getpid() or self._closed:
            return
        self._closed = True
        self._wake.set()
        try:
            self.recover()
            self.flush()
        except Exception:  # noqa: BLE001 - at exit: the journal keeps it
            log.exception("write-behind: final flush failed; the journal keeps the rest")


def journal_for(app: Any) -> Journal | None:
    """The app's journal, or None when write-behind is off (``WRITE_BEHIND_S`` = 0)."""
    return app.extensions.get("hotline.write_behind")


def init_app(app: Any) -> None:
    interval = float(app.config.get("WRITE_BEHIND_S") or 0)
    if interval > 0:
        engine = app.extensions["hotline.engine"]
        # one folder per database: a journal is only ever applied to the database it was meant for
        url = engine.url.render_as_string(hide_password=True)
        folder = Path(app.instance_path) / "journal" / hashlib.sha256(url.encode()).hexdigest()[:16]
        app.extensions["hotline.write_behind"] = Journal(engine, folder, interval)
