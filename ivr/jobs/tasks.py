"""Supervisors' long tasks run off the request: a what-if plan, a roster re-solve, a plan check.

:func:`submit` stores a ``background_tasks`` row and returns its id at once; the work runs in a
thread of the web worker, one task at a time per worker (they are CPU-bound and the machine's
cores also serve the callers), and reports its progress into the row, which the page polls
(``GET /supervisor/tasks/<id>``). A task's function takes ``(app, params, progress)`` and returns
a JSON-able dict; a ``ValueError`` it raises is the supervisor's mistake and is shown as it is,
anything else is logged and shown as a failure of the task.

A worker that dies takes its tasks with it: the rows it held stop being refreshed (every
``HEARTBEAT_S``), and a task not refreshed for ``STALE_S`` reads as failed ("interrupted").
Tasks are stamped with the machine's clock (UTC), not the line's (``ivr.clock``, which tests
and the demo may set): staleness is a matter of real seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.store.db import session_scope
from ivr.store.models import BackgroundTask

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
TaskFunction = Callable[[Flask, dict, Progress], dict]

HEARTBEAT_S = 20.0
STALE_S = 120.0
PROGRESS_GAP_S = 0.5  # at most this often a progress report is written
INLINE = False  # tests: run each task in submit() itself

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hotline-task")
_held: set[int] = set()  # this process's queued and running tasks
_held_lock = threading.Lock()
_heartbeat: threading.Thread | None = None


def wall_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def submit(app: Flask, kind: str, params: dict, by: str, run: TaskFunction) -> int:
    """Store the task and start it (after this worker's earlier tasks); its id at once. With
    :data:`INLINE` set (tests) the task runs to its end before this returns."""

    now = wall_now()
    with session_scope(app) as session:
        task = BackgroundTask(
            kind=kind,
            params=params,
            status="queued",
            progress=0.0,
            message="waiting to start",
            created_by=by,
            created_at=now,
            updated_at=now,
        )
        session.add(task)
        session.flush()
        task_id = task.id
    if INLINE:
        _run(app, task_id, run, params)
        return task_id
    with _held_lock:
        _held.add(task_id)
    _start_heartbeat(app)
    _executor.submit(_run, app, task_id, run, params)
    return task_id


def _set(app: Flask, task_id: int, **values: Any) -> None:
    values["updated_at"] = wall_now()
    with session_scope(app) as session:
        session.execute(update(BackgroundTask).where(BackgroundTask.id == task_id).values(**values))


def _run(app: Flask, task_id: int, run: TaskFunction, params: dict) -> None:
    last = 0.0

    def progress(share: float, message: str) -> None:
        nonlocal last
        if time.monotonic() - last < PROGRESS_GAP_S and share < 1.0:
            return
        last = time.monotonic()
        _set(app, task_id, progress=max(0.0, min(1.0, float(share))), message=message)

    try:
        _set(app, task_id, status="running", message="started")
        with app.app_context():
            result = run(app, params, progress)
        _set(
            app,
            task_id,
            status="done",
            progress=1.0,
            message="done",
            result=result,
            finished_at=wall_now(),
        )
    except ValueError as exc:
        _set(app, task_id, status="failed", error=str(exc), message=None, finished_at=wall_now())
    except Exception as exc:  # the task failed; the worker goes on
        log.exception("background task %s failed", task_id)
        _set(
            app,
            task_id,
            status="failed",
            error=f"the task failed ({type(exc).__name__}: {exc})",
            message=None,
            finished_at=wall_now(),
        )
    finally:
        with _held_lock:
            _held.discard(task_id)


def _start_heartbeat(app: Flask) -> None:
    """Refresh this process's tasks so that a task whose worker died reads as interrupted."""

    global _heartbeat
    with _held_lock:
        if _heartbeat is not None and _heartbeat.is_alive():
            return

        def beat() -> None:
            while True:
                time.sleep(HEARTBEAT_S)
                with _held_lock:
                    ids = list(_held)
                if not ids:
                    continue
                try:
                    with session_scope(app) as session:
                        session.execute(
                            update(BackgroundTask)
                            .where(BackgroundTask.id.in_(ids))
                            .values(updated_at=wall_now())
                        )
                except Exception:  # the database is away: the next beat tries again
                    log.warning("background tasks: heartbeat failed", exc_info=True)

        _heartbeat = threading.Thread(target=beat, name="hotline-task-heartbeat", daemon=True)
        _heartbeat.start()


def status_of(task: BackgroundTask, now: dt.datetime) -> tuple[str, str | None]:
    """The task's status and error, a task no worker refreshed for ``STALE_S`` as failed."""

    if task.status in ("queued", "running") and (now - task.updated_at).total_seconds() > STALE_S:
        return "failed", "interrupted: the server stopped while the task ran; start it again"
    return task.status, task.error


def task_json(task: BackgroundTask, now: dt.datetime | None = None) -> dict[str, Any]:
    status, error = status_of(task, now or wall_now())
    return {
        "id": task.id,
        "kind": task.kind,
        "status": status,
        "progress": round(task.progress, 3),
        "message": task.message if status in ("queued", "running") else None,
        "result": task.result,
        "error": error,
        "params": task.params,
        "created_by": task.created_by,
        "created_at": task.created_at.isoformat(),
        "finished_at": task.finished_at.isoformat() if task.finished_at else None,
    }


def recent(session: Session, kind: str, limit: int = 20) -> list[BackgroundTask]:
    """The newest tasks of ``kind``, newest first."""

    return list(
        session.scalars(
            select(BackgroundTask)
            .where(BackgroundTask.kind == kind)
            .order_by(BackgroundTask.created_at.desc(), BackgroundTask.id.desc())
            .limit(limit)
        )
    )


@contextlib.contextmanager
def ticking(
    progress: Progress,
    limit_s: float,
    say: Callable[[float], str],
    first: float = 0.0,
    last: float = 0.99,
) -> Iterator[None]:
    """While a step that reports nothing until it ends runs (a solver within ``limit_s``):
    every second, the time it has taken so far as progress from ``first`` to ``last``, worded by
    ``say(seconds_so_far)``."""

    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while True:
            spent = time.monotonic() - started
            share = first + (last - first) * min(spent / max(limit_s, 1e-9), 1.0)
            progress(min(share, last), say(spent))
            if done.wait(1.0):
                return

    thread = threading.Thread(target=tick, name="hotline-task-clock", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
