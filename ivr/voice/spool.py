"""A durable local journal of webhooks that could not be written while the database was down.

The caller is still answered from the configuration in memory (routed as they chose where the
route can tell, else to ``general``); the signed request is appended to
``instance/spool/webhooks.jsonl`` and fsynced, with the **decision** its answer carried out (the
queue the caller was put in, how their wait ended). When the database is back, :func:`replay`
writes that decision through its recorder (:func:`recorder`), with the clock set to the time the
request arrived: the log then holds what the caller heard, and no ticket or queue entry that
never reached them. A spooled request that decided nothing (a status callback) is run through its
view again. Every write is keyed (``ON CONFLICT DO NOTHING``), so a request replayed twice, or one
that was half-written before the outage, is stored exactly once.

A request the database refused for its data (not for being unreachable) would be refused on every
replay and hold up the ones behind it, so it goes to ``instance/spool/refused.jsonl`` instead,
logged, for someone to look at; so does a spooled request whose replay is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask, request

from ivr.clock import AT_ENVIRON
from ivr.store.db import close_session, get_session, retrying_stale, unreachable

log = logging.getLogger(__name__)
REPLAYS = "hotline_replays"  # the attribute of a spooled webhook that holds the view to replay
_lock = threading.Lock()
RECORDERS: dict[str, Callable[[dict], None]] = {}


def recorder(name: str) -> Callable[[Callable[[dict], None]], Callable[[dict], None]]:
    """Register the function that writes decisions of this kind (``decision["record"]``) inside
    the request's context: at once when the database is up, or when the spool is replayed."""

    def register(function: Callable[[dict], None]) -> Callable[[dict], None]:
        RECORDERS[name] = function
        return function

    return register


def record(decision: dict) -> None:
    """Write a decision through its recorder (in the request's session; the caller commits)."""
    RECORDERS[decision["record"]](decision)


def spool_folder(app: Flask) -> Path:
    """``HOTLINE_SPOOL_DIR`` (another volume than the database's, ideally), else instance/spool."""
    return Path(app.config.get("SPOOL_DIR") or Path(app.instance_path) / "spool")


def spool_path(app: Flask) -> Path:
    return spool_folder(app) / "webhooks.jsonl"


def refused_path(app: Flask) -> Path:
    return spool_path(app).with_name("refused.jsonl")


def keep(
    app: Flask, at: dt.datetime, set_aside: bool = False, decision: dict | None = None
) -> None:
    """Journal the current request (called inside the failing webhook) with the ``decision`` its
    answer carried out (None: run the view again on replay); with ``set_aside`` (the database
    refused its data), keep it in ``refused.jsonl`` instead, for a person to look at."""
    kept: dict = {
        "path": request.path,
        "query": request.query_string.decode("latin-1"),
        "form": list(request.form.items(multi=True)),
        "at": at.isoformat(),
    }
    if decision is not None:
        kept["decision"] = decision
    line = json.dumps(kept, ensure_ascii=False)
    if _unwritten:  # held ones first, in order
        flush_unwritten()
    try:
        _append(refused_path(app) if set_aside else spool_path(app), line)
    except OSError as exc:  # a full or read-only disk: held here, written at the next chance
        log.error(
            "could not spool %s (%s); held in memory until the spool can be written",
            request.path,
            exc,
        )
        with _lock:
            _unwritten.append((app, set_aside, line))


_unwritten: list[tuple[Flask, bool, str]] = []  # spooled requests the disk did not take yet


def flush_unwritten() -> int:
    """Write the requests held in memory to the spool; returns how many are still held."""
    with _lock:
        held = list(_unwritten)
        _unwritten.clear()
    for index, (app, set_aside, line) in enumerate(held):
        try:
            _append(refused_path(app) if set_aside else spool_path(app), line)
        except OSError:
            with _lock:
                _unwritten[:0] = held[index:]
            break
    return unwritten()


def unwritten() -> int:
    """Spooled requests this process holds in memory because the spool could not be written."""
    with _lock:
        return len(_unwritten)


def writable(app: Flask) -> str | None:
    """Why the spool cannot be written now, or None if it can (a probe file written, synced and
    removed)."""
    try:
        spool_folder(app).mkdir(parents=True, exist_ok=True)
        probe = spool_path(app).with_name(f".probe-{os.getpid()}")
        with probe.open("w", encoding="utf-8") as handle:
            handle.write("probe\n")
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _append(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def pending(app: Flask) -> int:
    """Requests waiting to be replayed."""
    return _lines(spool_path(app))


def refused(app: Flask) -> int:
    """Requests set aside because the database refused their data."""
    return _lines(refused_path(app))


def _lines(path: Path) -> int:
    return sum(1 for _ in path.open(encoding="utf-8")) if path.exists() else 0


def replay(app: Flask) -> tuple[int, int]:
    """Write journalled requests to the database; returns (replayed, still pending)."""
    flush_unwritten()
    path = spool_path(app)
    with _lock:
        if not path.exists() or path.stat().st_size == 0:
            return 0, 0
        work = path.with_suffix(".replaying")
        if work.exists():  # an earlier replay was interrupted: its lines go first
            lines = (
                work.read_text(encoding="utf-8").splitlines()
                + path.read_text(encoding="utf-8").splitlines()
            )
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
        work.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.write_text("", encoding="utf-8")
    left, done = [], 0
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        outcome = _replay_one(app, json.loads(line))
        if outcome == "retry":
            left = lines[number:]  # the database is still down: keep the rest, in order
            break
        if outcome == "refused":
            _append(refused_path(app), line)
        else:
            done += 1
    with _lock:
        newer = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        path.write_text("".join(f"{x}\n" for x in left + newer if x.strip()), encoding="utf-8")
        work.unlink(missing_ok=True)
    return done, len([x for x in left + newer if x.strip()])


def _replay_one(app: Flask, kept: dict) -> str:
    """``"done"``, ``"retry"`` (the database is still unreachable) or "refused" (it refused the data)."""
    from werkzeug.datastructures import MultiDict

    decision = kept.get("decision")
    view = app.view_functions.get(_endpoint(app, kept["path"]))
    target = getattr(view, REPLAYS, None)  # the view itself, past the checks that wrap it
    if decision is not None:
        target = functools.partial(record, decision)  # what the caller heard
    if target is None:
        log.warning("spooled request for a path that is not replayed (%s) dropped", kept["path"])
        return "done"
    at = dt.datetime.fromisoformat(kept["at"])  # the clock of this request only
    path = kept["path"] + ("?" + kept["query"] if kept["query"] else "")
    try:
        with app.test_request_context(
            path,
            method="POST",
            data=MultiDict(kept["form"]),
            environ_overrides={AT_ENVIRON: at},
        ):

            def replay_it() -> None:
                session = get_session()
                try:
                    target()
                    session.commit()
                finally:  # rolled back if it failed: the next try or record starts afresh
                    close_session()

            retrying_stale(replay_it)  # a connection dropped by a restarted server: a new one
        return "done"
    except Exception as exc:  # noqa: BLE001 - still down, or refused: sorted out here
        if unreachable(exc):
            log.warning("replaying %s failed; it stays in the spool: %s", kept["path"], exc)
            return "retry"
        log.exception("replaying %s was refused; set aside in refused.jsonl", kept["path"])
        return "refused"


def _endpoint(app: Flask, path: str) -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(path, method="POST")
    except Exception:  # noqa: BLE001 - no such route
        return None
    return endpoint
