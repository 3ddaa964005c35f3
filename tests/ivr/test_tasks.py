"""Background tasks: stored at once, run off the request with progress, failures kept apart."""

from __future__ import annotations

import datetime as dt
import threading

from ivr.jobs import tasks
from ivr.store.db import session_scope
from ivr.store.models import BackgroundTask

from .conftest import login


def counting(app, params, progress):
    for i in range(params["steps"]):
        progress((i + 1) / params["steps"], f"step {i + 1}")
    if params.get("bad"):
        raise ValueError("volume must not be negative")
    if params.get("crash"):
        raise KeyError("boom")
    return {"total": params["steps"] * 2}


def test_a_task_runs_in_the_background_and_its_page_shows_the_result(app, client):
    release = threading.Event()

    def waits(app, params, progress):
        progress(0.5, "half way")
        assert release.wait(10)
        return {"ok": True}

    task_id = tasks.submit(app, "what_if", {"volume": 10}, "demo", waits)
    login(client)
    seen = client.get(f"/supervisor/tasks/{task_id}").get_json()
    assert seen["status"] in ("queued", "running") and seen["result"] is None
    release.set()
    for _ in range(200):
        seen = client.get(f"/supervisor/tasks/{task_id}").get_json()
        if seen["status"] == "done":
            break
        threading.Event().wait(0.05)
    assert seen["status"] == "done"
    assert seen["result"] == {"ok": True} and seen["progress"] == 1.0
    assert seen["params"] == {"volume": 10} and seen["created_by"] == "demo"


def test_bad_input_and_a_crash_are_failures_with_their_reason(app, run_tasks_inline):
    bad = tasks.submit(app, "what_if", {"steps": 2, "bad": True}, "demo", counting)
    crash = tasks.submit(app, "what_if", {"steps": 1, "crash": True}, "demo", counting)
    good = tasks.submit(app, "what_if", {"steps": 3}, "demo", counting)
    with session_scope(app) as session:
        rows = {t.id: tasks.task_json(t) for t in tasks.recent(session, "what_if")}
    assert rows[bad]["status"] == "failed"
    assert rows[bad]["error"] == "volume must not be negative"
    assert rows[crash]["status"] == "failed" and "KeyError" in rows[crash]["error"]
    assert rows[good]["status"] == "done" and rows[good]["result"] == {"total": 6}
    assert list(rows) == [good, crash, bad]  # newest first


def test_a_task_whose_worker_died_reads_as_interrupted(app, run_tasks_inline):
    task_id = tasks.submit(app, "what_if", {"steps": 1}, "demo", counting)
    with session_scope(app) as session:
        task = session.get(BackgroundTask, task_id)
        task.status = "running"
        later = task.updated_at + dt.timedelta(seconds=tasks.STALE_S + 1)
        assert tasks.task_json(task, task.updated_at)["status"] == "running"
        stale = tasks.task_json(task, later)
    assert stale["status"] == "failed" and "interrupted" in stale["error"]


def test_only_supervisors_read_tasks(app, client, run_tasks_inline):
    task_id = tasks.submit(app, "what_if", {"steps": 1}, "demo", counting)
    anonymous = client.get(f"/supervisor/tasks/{task_id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    login(client, "giulia")  # an agent's login
    agent = client.get(f"/supervisor/tasks/{task_id}")
    assert agent.status_code in (302, 403) and b"total" not in agent.data
    if agent.status_code == 302:
        assert agent.location.endswith("/agent")
    client.get("/logout")
    login(client)
    assert client.get(f"/supervisor/tasks/{task_id}").get_json()["result"] == {"total": 2}
    assert client.get("/supervisor/tasks/999").status_code == 404


def test_ticking_reports_the_time_spent_while_a_silent_step_runs():
    seen = []
    second = threading.Event()

    def progress(share, message):
        seen.append((share, message))
        if len(seen) == 2:
            second.set()

    with tasks.ticking(progress, 10.0, lambda spent: f"solving: {spent:.0f} s of 10 s"):
        assert second.wait(10)  # the step runs until the clock has ticked twice
    assert seen[0][0] < 0.05 and seen[0][1] == "solving: 0 s of 10 s"
    assert 0.09 < seen[1][0] < 0.99 and seen[1][1].startswith("solving: ")
    assert len(seen) == 2  # it stops with the step
