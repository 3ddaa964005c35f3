"""A gunicorn worker killed with SIGKILL mid-run loses no committed event: every request answered
200 has its events stored, once."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

from sqlalchemy import func, select

from benchmarks.loopback import free_port, listening
from ivr import create_app
from ivr.demo.twilio_sim import twilio_signature
from ivr.store.db import session_scope
from ivr.store.models import CallEvent, QueueEntry
from tests.conftest import CONFIG_DIR, REPO

TOKEN = "kill-token"


def children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout
    return [int(x) for x in out.split()]


def test_sigkill_of_a_worker_loses_no_committed_event(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    settings = {
        "DATABASE_URL": url,
        "CONFIG_DIR": str(CONFIG_DIR),
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    app = create_app(settings)  # migrates once, before the workers start
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "HOTLINE_PUBLIC_URL": base,
        "HOTLINE_ALWAYS_OPEN": "1",
        "HOTLINE_AUTO_MIGRATE": "0",
        "HOTLINE_INSTANCE_PATH": str(tmp_path / "instance"),
        "HOTLINE_CONFIG_DIR": str(CONFIG_DIR),
        "HOTLINE_SECRET_KEY": "k",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:ivr.gunicorn_conf", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--access-logfile", "/dev/null", "ivr:create_app()"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    answered: list[str] = []
    failed: list[str] = []
    try:
        assert listening(port, 30, server), "the server did not start"
        booted = time.monotonic() + 30  # both workers have loaded the app
        while len(list((tmp_path / "instance" / "workers").glob("[0-9]*"))) < 2:
            assert time.monotonic() < booted, "the workers did not start"
            time.sleep(0.2)

        def caller(offset: int) -> None:
            for i in range(150):
                sid = f"CA{offset + i:032x}"
                form = {
                    "CallSid": sid,
                    "From": f"+3933{offset + i:08d}",
                    "To": "+18005550100",
                    "Digits": "1",
                }
                path = "/voice/menu?lang=en&attempt=1&step=2"
                body = urllib.parse.urlencode(form)
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": twilio_signature(TOKEN, base + path, form),
                }
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    connection.request("POST", path, body, headers)
                    response = connection.getresponse()
                    (
                        answered
                        if response.status == 200 and response.read().startswith(b"<?xml")
                        else failed
                    ).append(sid)
                    connection.close()
                except (OSError, http.client.HTTPException):
                    failed.append(sid)  # the killed worker's request: never (fully) answered

        threads = [threading.Thread(target=caller, args=(k * 10_000,)) for k in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.8)
        victims = children(server.pid)
        assert victims, "no gunicorn workers found"
        os.kill(victims[0], signal.SIGKILL)  # mid-run
        for t in threads:
            t.join()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/healthz")
        health = connection.getresponse()
        problems = json.loads(health.read())["problems"]
        connection.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    assert len(answered) > 100
    # the killed worker shows in /healthz (a recycled or reloaded one would not)
    assert health.status == 503
    assert problems == [f"worker {victims[0]} died without a clean exit"]
    with session_scope(app) as session:
        stored = set(
            session.scalars(select(CallEvent.call_sid).where(CallEvent.event == "menu_choice"))
        )
        duplicates = session.scalar(
            select(func.count()).select_from(
                select(CallEvent.call_sid)
                .group_by(CallEvent.call_sid, CallEvent.dedupe_key)
                .having(func.count() > 1)
                .subquery()
            )
        )
        entries = session.scalar(select(func.count()).select_from(QueueEntry))
    assert set(answered) <= stored  # every answered request's events are there
    assert duplicates == 0
    assert entries == len(stored)
