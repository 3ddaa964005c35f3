"""How many callers one machine holds: Hotline under ``hotline serve`` (gunicorn, production
settings) with callers on hold polling the hold loop while new calls come in.

The server runs on a free loopback port with a fresh database (SQLite, or a throwaway PostgreSQL
cluster with ``--db postgresql``). The load is an open loop: every request is sent at a time
fixed in advance (or, within one call, fixed when Twilio would send it: a think time after the
answer it follows), whatever the server answers, and its latency runs from that time, so a server
that falls behind shows in the latency instead of slowing the load down (no coordinated omission).

- ``--callers N`` callers on hold. They first ring and go through the real menu (greeting,
  language key, menu key, each step posted to the action URL the previous answer gave) at
  ``--ramp-per-s`` callers a second, before the measured window, so that each has a real queue
  entry; from then on each polls its ``<Enqueue>``'s ``waitUrl`` (the hold loop) every 10 s, the
  callers' polls spread evenly over the 10 s (N/10 polls a second in the window).
- ``--calls-per-s R`` new calls (Poisson arrivals) during the window, each going greeting ->
  language -> menu -> queue with a caller's think times, then polling the hold loop every 10 s,
  and hanging up after 20-40 s on hold (the Enqueue ``action``, ``QueueResult=hangup``), or just
  after the window's end if that comes first (those last requests are not in the table).
- ``--seconds S``, the measured window: the table counts the requests due within it.

Every request is signed as Twilio signs it and carries Twilio's form fields. An error is a
non-200 answer, a connection error, no answer within 15 s (Twilio's limit), or a 200 that is not
the TwiML expected for that step (the apology, or another queue than the caller chose). After the
run the server is stopped gracefully, and the call
events that the server accepted (answered 200 with the expected TwiML) are looked up in the
database: each must be stored exactly once. The target: 5 000 callers on hold and 20 new calls a
second for 60 s, every route's p99 <= 100 ms, no error, every accepted event stored exactly once.
``--find-capacity`` raises the callers on hold (doubling, then bisecting, a bounded number of
runs) to the largest number the machine holds with no p99 over 100 ms and no error.

    python benchmarks/capacity.py [--callers 5000] [--calls-per-s 20] [--seconds 60]
        [--db sqlite|postgresql] [--workers W] [--threads T] [--server-env KEY=VALUE ...]
        [--ramp-per-s 50] [--generators 2] [--seed 0] [--json FILE] [--find-capacity]

The load generator (asyncio and aiohttp, ``--generators`` processes, keep-alive connections)
runs on the same cores as the server (and PostgreSQL): on a 2-core machine its CPU, printed
with the server's, is taken from what the server could have had. Every request goes to
127.0.0.1, and every run is bounded in requests and time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import json
import math
import multiprocessing as mp
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.loopback import free_port  # noqa: E402

TOKEN = "capacity-bench-token"
TIMEOUT_S = 15.0  # Twilio's limit for a webhook's answer
POLL_EVERY_S = 10.0  # a caller on hold requests the waitUrl again this often
FIRST_POLL_S = 2.0  # the Enqueue's "connecting you" is said, then Twilio requests the waitUrl
ROUTES = ("incoming", "language", "menu", "wait", "queue_result")
TARGET = {"callers": 5000, "calls_per_s": 20.0, "seconds": 60.0, "p99_ms": 100.0}
ACCOUNT_SID = "AC" + "0" * 32
AVG_QUEUE_TIME = "60"  # Twilio's average wait in the queue, as it sends it to the waitUrl
DRAIN_SPREAD_S = 5.0  # callers still on hold at the window's end hang up over this long
SETTLE_S = 5.0  # between the ramp's last caller and the window
EXTRA_S = 90.0  # after the window: the last calls' steps, their hang-ups and timeouts

GATHER_ACTION = re.compile(rb'<Gather [^>]*?\baction="([^"]*)"')
ENQUEUE_TAG = re.compile(rb"<Enqueue [^>]*>")
ATTRIBUTE = {name: re.compile(rb"\b" + name + rb'="([^"]*)"') for name in (b"action", b"waitUrl")}


@dataclass(slots=True)
class Call:
    """One call as the load generator plays it (times from ``time.monotonic()``)."""

    sid: str
    number: str
    lang_key: str
    queue_key: str
    queue: str
    position: int  # QueuePosition and CurrentQueueSize as Twilio would send them
    queue_size: int
    ring_at: float
    thinks: tuple[float, float]  # after the greeting's answer, after the language menu's
    slot: float | None = None  # a caller on hold: polls at window start + slot + k * 10 s
    hold_s: float | None = None  # a new call: seconds on hold before hanging up


# --------------------------------------------------------------------------- load generator


class Generator:
    """One process's share of the calls: sends each request at its time and records the answer."""

    def __init__(self, plan: dict[str, Any], session: Any, progress: Any, slot: int) -> None:
        from twilio.request_validator import RequestValidator

        self.plan = plan
        self.session = session
        self.base = plan["base"]
        self.sign = RequestValidator(TOKEN).compute_signature
        self.window = (plan["window_start"], plan["window_end"])
        self.apologies: tuple[bytes, ...] = tuple(plan["apologies"])
        # a complaint's menu answer reads out its reference only when the ticket was opened (not
        # when the menu answered without the database): then ticket_opened is expected
        self.references: tuple[bytes, ...] = tuple(plan.get("references", ()))
        self.ticket_queues: set[str] = set(plan["ticket_queues"])
        self.loop = asyncio.get_running_loop()
        self.latencies: dict[str, list[float]] = {route: [] for route in ROUTES}
        self.errors: dict[str, dict[str, int]] = {}  # phase -> kind -> count
        self.route_errors: dict[str, int] = dict.fromkeys(ROUTES, 0)  # in the window
        self.sent: dict[str, int] = {"ramp": 0, "window": 0, "drain": 0}
        self.lags: list[float] = []  # how late the window's requests left (the generator's lag)
        self.offsets: dict[str, list[float]] = {route: [] for route in ROUTES}  # their times
        self.accepted: list[tuple[str, str]] = []  # (CallSid, event) the server accepted
        self.enqueued = 0  # callers on hold that reached their queue
        self.progress = progress
        self.slot = slot

    def phase(self, at: float) -> str:
        return "ramp" if at < self.window[0] else "window" if at < self.window[1] else "drain"

    async def post(
        self,
        route: str,
        path: str,
        form: dict[str, str],
        at: float,
        expect: bytes,
        events: tuple[str, ...] = (),
    ) -> bytes | None:
        """POST the signed form at ``at``; the answer if it is the TwiML expected, else None."""
        delay = at - self.loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        url = self.base + path
        sent = self.loop.time()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.sign(url, form),
        }
        kind, payload = None, b""
        try:
            async with self.session.post(
                url, data=urllib.parse.urlencode(form).encode(), headers=headers
            ) as response:
                payload = await response.read()
                if response.status != 200:
                    kind = f"http {response.status}"
        except TimeoutError:
            kind = "timeout"
        except Exception:  # noqa: BLE001 - aiohttp's connection errors, a dropped connection
            kind = "connection"
        done = self.loop.time()
        if kind is None:
            if any(apology in payload for apology in self.apologies):
                kind = "apology"
            elif expect not in payload:
                kind = "unexpected twiml"
        if "ticket_opened" in events and not any(mark in payload for mark in self.references):
            events = tuple(name for name in events if name != "ticket_opened")
        self.record(route, at, done, kind, form, events)
        phase = self.phase(at)
        self.sent[phase] += 1
        if phase == "window":
            self.latencies[route].append(done - at)
            self.offsets[route].append(at - self.window[0])
            self.lags.append(sent - at)
            if kind is not None:
                self.route_errors[route] += 1
        if kind is not None:
            counts = self.errors.setdefault(phase, {})
            counts[kind] = counts.get(kind, 0) + 1
            self.progress[4 * self.slot + 3] += 1
            return None
        self.accepted.extend((form["CallSid"], name) for name in events)
        self.progress[4 * self.slot + 2] += 1
        return payload

    def record(
        self,
        route: str,
        at: float,
        done: float,
        kind: str | None,
        form: dict[str, str],
        events: tuple[str, ...],
    ) -> None:
        """Every request's outcome (kind None: accepted), for a subclass that keeps them."""

    def form(self, call: Call, status: str) -> dict[str, str]:
        """The parameters Twilio sends with every voice webhook of an inbound call."""
        to = self.plan["to"]
        return {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": status,
            "Called": to,
            "CalledCity": "",
            "CalledCountry": "US",
            "CalledState": "",
            "CalledZip": "",
            "Caller": call.number,
            "CallerCity": "",
            "CallerCountry": "IT",
            "CallerState": "",
            "CallerZip": "",
            "Direction": "inbound",
            "From": call.number,
            "FromCity": "",
            "FromCountry": "IT",
            "FromState": "",
            "FromZip": "",
            "To": to,
            "ToCity": "",
            "ToCountry": "US",
            "ToState": "",
            "ToZip": "",
        }

    async def menu(self, call: Call) -> tuple[str, str, float] | None:
        """Ring, choose the language, choose the queue: the Enqueue's waitUrl and action, and
        when the menu's answer came; None if a step failed (the caller is lost)."""
        ringing = self.form(call, "ringing")
        answer = await self.post(
            "incoming",
            "/voice/incoming",
            ringing,
            call.ring_at,
            b"/voice/language",
            ("call_started",),
        )
        if answer is None or not (action := GATHER_ACTION.search(answer)):
            return None
        form = self.form(call, "in-progress")
        at = self.loop.time() + call.thinks[0]
        keys = {**form, "Digits": call.lang_key, "FinishedOnKey": ""}
        path = html.unescape(action.group(1).decode())
        answer = await self.post("language", path, keys, at, b"/voice/menu", ("language_chosen",))
        if answer is None or not (action := GATHER_ACTION.search(answer)):
            return None
        at = self.loop.time() + call.thinks[1]
        keys = {**form, "Digits": call.queue_key, "FinishedOnKey": ""}
        path = html.unescape(action.group(1).decode())
        events = ("menu_choice", "enqueued")
        if call.queue in self.ticket_queues:
            events += ("ticket_opened",)
        expect = b">" + call.queue.encode() + b"</Enqueue>"
        answer = await self.post("menu", path, keys, at, expect, events)
        tag = ENQUEUE_TAG.search(answer) if answer is not None else None
        if tag is None:
            return None
        wait = ATTRIBUTE[b"waitUrl"].search(tag.group(0))
        result = ATTRIBUTE[b"action"].search(tag.group(0))
        if wait is None or result is None:
            return None
        unescape = html.unescape
        return (
            unescape(wait.group(1).decode()),
            unescape(result.group(1).decode()),
            self.loop.time(),
        )

    def hold_form(self, call: Call, entered: float, at: float) -> dict[str, str]:
        return {
            **self.form(call, "in-progress"),
            "QueueSid": self.plan["queue_sids"][call.queue],
            "QueuePosition": str(call.position),
            "QueueTime": str(max(int(at - entered), 0)),
            "AvgQueueTime": AVG_QUEUE_TIME,
            "CurrentQueueSize": str(call.queue_size),
            "MaxQueueSize": "5000",
        }

    async def hold(self, call: Call, wait: str, entered: float, polls: list[float]) -> None:
        for at in polls:
            await self.post("wait", wait, self.hold_form(call, entered, at), at, b"<Play")

    def slots(self, call: Call, first: float, end: float) -> list[float]:
        """The first poll, then the caller's slot every 10 s (at least 5 s later) until ``end``."""
        start = self.window[0] + (call.slot or 0.0)
        k = math.ceil((first + POLL_EVERY_S / 2 - start) / POLL_EVERY_S)
        times = [first] if first < end else []
        at = start + k * POLL_EVERY_S
        while at < end:
            times.append(at)
            at += POLL_EVERY_S
        return times

    async def caller_on_hold(self, call: Call) -> None:
        reached = await self.menu(call)
        if reached is None:
            return
        self.enqueued += 1
        self.progress[4 * self.slot] += 1
        wait, _result, answered = reached
        entered = answered + FIRST_POLL_S
        await self.hold(call, wait, entered, self.slots(call, entered, self.window[1]))

    async def new_call(self, call: Call, drain_at: float) -> None:
        reached = await self.menu(call)
        if reached is None:
            return
        wait, result, answered = reached
        entered = answered + FIRST_POLL_S
        hangup = entered + (call.hold_s or 0.0)
        end = min(hangup, self.window[1])
        polls = [
            entered + k * POLL_EVERY_S for k in range(math.ceil((end - entered) / POLL_EVERY_S))
        ]
        await self.hold(call, wait, entered, polls)
        if hangup >= self.window[1]:
            hangup = max(drain_at, entered)
        form = {
            **self.form(call, "completed"),
            "QueueSid": self.plan["queue_sids"][call.queue],
            "QueueResult": "hangup",
            "QueueTime": str(max(int(hangup - entered), 0)),
        }
        await self.post("queue_result", result, form, hangup, b"<Hangup", ("queue_result",))

    def report(self) -> dict[str, Any]:
        return {
            "latencies": self.latencies,
            "offsets": self.offsets,
            "route_errors": self.route_errors,
            "errors": self.errors,
            "sent": self.sent,
            "lags": self.lags,
            "accepted": self.accepted,
            "enqueued": self.enqueued,
        }


async def _generate(
    plan: dict[str, Any], progress: Any, slot: int, kind: type[Generator] = Generator
) -> dict[str, Any]:
    import aiohttp

    connector = aiohttp.TCPConnector(
        limit=plan["connections"],
        keepalive_timeout=3.0,  # below gunicorn's keepalive (5 s): no reuse of a closing socket
        use_dns_cache=False,
    )
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, skip_auto_headers=("User-Agent",)
    ) as session:
        generator = kind(plan, session, progress, slot)
        tasks = [generator.caller_on_hold(call) for call in plan["on_hold"]]
        tasks += [generator.new_call(call, at) for call, at in plan["new_calls"]]
        deadline = plan["window_end"] + EXTRA_S - asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=max(deadline, 1.0))
        except TimeoutError:
            generator.errors.setdefault("drain", {})["run cut short"] = 1
        return generator.report()


def generator_process(
    plan: dict[str, Any], out: Any, progress: Any, slot: int, kind: type[Generator] = Generator
) -> None:
    """A load generator process (``kind`` of generator): its calls, then its report through
    ``out``."""
    out.send(asyncio.run(_generate(plan, progress, slot, kind)))
    out.close()


# --------------------------------------------------------------------------- the plan


def make_plans(
    args: argparse.Namespace,
    callers: int,
    base: str,
    ramp_start: float,
    window_start: float,
) -> list[dict[str, Any]]:
    """Every call of a run, shared among the generator processes (seeded)."""
    import numpy as np

    from ivr.config.loader import load_config

    cfg = load_config()
    rng = np.random.default_rng(args.seed)
    window_end = window_start + args.seconds
    languages = [lang.key for lang in cfg.languages]
    queues = list(cfg.queues)
    apologies = {html.escape(lang.prompts.error_apology, quote=False) for lang in cfg.languages}
    apologies.add("We are sorry, something went wrong.")  # the apology when even config failed
    references = {
        html.escape(lang.prompts.complaint_reference.split("{")[0], quote=False)
        for lang in cfg.languages
    }
    queue_sids = {q.id: "QU" + hashlib.md5(q.id.encode()).hexdigest() for q in queues}
    sizes = dict.fromkeys(queue_sids, 0)

    def call(number: int, ring_at: float, thinks: tuple[float, float]) -> Call:
        queue = queues[int(rng.integers(len(queues)))]
        sizes[queue.id] += 1
        return Call(
            sid=f"CA{number:032x}",
            number=f"+393{number:09d}",
            lang_key=languages[int(rng.integers(len(languages)))],
            queue_key=queue.key,
            queue=queue.id,
            position=sizes[queue.id],
            queue_size=0,
            ring_at=ring_at,
            thinks=thinks,
        )

    on_hold = []
    for i in range(callers):
        held = call(i + 1, ramp_start + i / args.ramp_per_s, (0.3, 0.3))
        held.slot = POLL_EVERY_S * i / callers
        on_hold.append(held)
    for held in on_hold:
        held.queue_size = sizes[held.queue]
    arrivals: list[float] = []
    at = window_start + float(rng.exponential(1 / args.calls_per_s)) if args.calls_per_s else 0.0
    while args.calls_per_s and at < window_end:
        arrivals.append(at)
        at += float(rng.exponential(1 / args.calls_per_s))
    new_calls = []
    for j, ring_at in enumerate(arrivals):
        # the welcome and five language offers are being said; then the four queues' options
        thinks = (float(rng.uniform(3, 8)), float(rng.uniform(4, 10)))
        new = call(10**8 + j, ring_at, thinks)
        new.hold_s = float(rng.uniform(20, 40))
        new.queue_size = new.position
        drain_at = window_end + float(rng.uniform(0, DRAIN_SPREAD_S))
        new_calls.append((new, drain_at))
    plans = []
    for g in range(args.generators):
        plans.append(
            {
                "base": base,
                "to": cfg.line.phone_number or "+18005550100",
                "window_start": window_start,
                "window_end": window_end,
                "apologies": [a.encode() for a in sorted(apologies)],
                "references": [r.encode() for r in sorted(references) if r],
                "ticket_queues": [q.id for q in queues if q.opens_ticket],
                "queue_sids": queue_sids,
                "connections": max(args.connections // args.generators, 1),
                "on_hold": on_hold[g :: args.generators],
                "new_calls": new_calls[g :: args.generators],
            }
        )
    return plans


# --------------------------------------------------------------------------- server and database


def cpu_seconds(root: int | None) -> float | None:
    """CPU time (user + system) of a process and all its descendants so far, from /proc (with
    the children it has reaped: a gunicorn worker that was replaced counts in the master's)."""
    if root is None or not Path("/proc/self/stat").exists():
        return None
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        times[int(entry.name)] = sum(int(value) for value in fields[11:15]) / tick
    if root not in times:
        return None
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack += children.get(pid, [])
    return total


def machine_busy() -> tuple[float, float] | None:
    """(busy, total) jiffies of all cores so far, from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return float(sum(fields) - idle), float(sum(fields))


def start_server(
    args: argparse.Namespace, folder: Path, url: str, port: int
) -> tuple[subprocess.Popen, Path]:
    """``hotline serve`` (it migrates the database first) on 127.0.0.1:``port``."""
    script = Path(sys.executable).with_name("hotline")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "ivr.cli"]
    command += ["serve", "--bind", f"127.0.0.1:{port}"]
    if args.workers:
        command += ["--workers", str(args.workers)]
    command += ["--access-logfile", "/dev/null"]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": url,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HOTLINE_ALWAYS_OPEN": "1",
        "HOTLINE_INSTANCE_PATH": str(folder / "instance"),
        "HOTLINE_SECRET_KEY": secrets.token_hex(16),
    }
    if args.threads:
        env["HOTLINE_THREADS"] = str(args.threads)
    env.update(args.server_env)
    log = folder / "server.log"
    with log.open("wb") as errors:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return process, log
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    raise RuntimeError(f"the server did not answer /healthz: {log.read_text()[-2000:]}")


def stop_server(process: subprocess.Popen) -> bool:
    """SIGTERM to gunicorn (its workers finish their requests); True if graceful."""
    if process.poll() is not None:
        return True
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=40)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        return False


def count_stored(url: str, accepted: list[tuple[str, str]]) -> dict[str, int]:
    """The accepted events looked up in the database: stored (at least once), duplicated
    (rows beyond the first of one call's event), and stored but never accepted."""
    from sqlalchemy import create_engine, text

    from ivr.store.db import normalise_url

    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT call_sid, event, COUNT(*) FROM call_events GROUP BY call_sid, event")
            ).all()
            entries = connection.scalar(
                text(
                    "SELECT COUNT(*) FROM (SELECT call_sid FROM queue_entries"
                    " GROUP BY call_sid, queue HAVING COUNT(*) > 1) AS twice"
                )
            )
            orphan_results = connection.scalar(
                text(
                    "SELECT COUNT(*) FROM call_events WHERE event = 'queue_result'"
                    " AND dedupe_key LIKE :no_entry"
                ),
                {"no_entry": "%:0"},
            )
    finally:
        engine.dispose()
    stored = {(sid, event): count for sid, event, count in rows}
    wanted = set(accepted)
    return {
        "accepted_events": len(accepted),
        "accepted_twice": len(accepted) - len(wanted),
        "stored_events": sum(1 for key in wanted if key in stored),
        "duplicated_events": sum(count - 1 for count in stored.values()),
        "unaccepted_stored_events": sum(1 for key in stored if key not in wanted),
        "duplicated_queue_entries": int(entries or 0),
        "queue_results_without_entry": int(orphan_results or 0),
    }


def start_database(db: str, folder: Path, name: str) -> tuple[Any, str]:
    """A fresh database for a run: SQLite in ``folder``, or a throwaway PostgreSQL cluster
    (returned, to be stopped by the caller) with a database ``name``; and its URL."""
    if db != "postgresql":
        return None, f"sqlite:///{folder / 'hotline.db'}"
    from tests.conftest import PostgresServer, _pg_bindir

    bindir = _pg_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL binaries not found (make postgres-binaries)")
    pg = PostgresServer(bindir)
    pg.start()
    return pg, pg.create_database(name)


def spooled(folder: Path) -> tuple[int, int]:
    """Webhooks the server spooled during the run (the database did not take them in time)
    and those it set aside (the database refused them)."""

    def lines(path: Path) -> int:
        return len(path.read_text().splitlines()) if path.exists() else 0

    spool = folder / "instance" / "spool"
    return lines(spool / "webhooks.jsonl"), lines(spool / "refused.jsonl")


# --------------------------------------------------------------------------- one run


def percentile_ms(values: Any, q: float) -> float | None:
    import numpy as np

    return float(np.percentile(values, q) * 1000) if len(values) else None


def run(args: argparse.Namespace, callers: int) -> dict[str, Any]:
    """One run with ``callers`` on hold: fresh database and server, ramp, window, counts."""
    folder = Path(tempfile.mkdtemp(prefix="hotline-capacity-"))
    pg = None
    process = None
    workers: list[Any] = []
    try:
        pg, url = start_database(args.db, folder, "capacity")
        port = free_port()
        process, log = start_server(args, folder, url, port)
        database_pid = int((pg.data / "postmaster.pid").read_text().split()[0]) if pg else None

        ctx = mp.get_context("spawn")
        ramp_start = time.monotonic() + 3.0  # the generator processes start meanwhile
        ramp_s = callers / args.ramp_per_s
        window_start = ramp_start + ramp_s + (SETTLE_S if callers else 0.0)
        window_end = window_start + args.seconds
        plans = make_plans(args, callers, f"http://127.0.0.1:{port}", ramp_start, window_start)
        progress = ctx.Array("q", 4 * args.generators, lock=False)
        pipes = []
        for slot, plan in enumerate(plans):
            receive, send = ctx.Pipe(duplex=False)
            worker = ctx.Process(target=generator_process, args=(plan, send, progress, slot))
            worker.start()
            send.close()
            workers.append(worker)
            pipes.append(receive)
        cpu = watch(
            args,
            callers,
            progress,
            (ramp_start, window_start, window_end),
            process,
            database_pid,
            workers,
        )
        reports = []
        for receive in pipes:
            if not receive.poll(max(window_end + EXTRA_S + 30 - time.monotonic(), 1.0)):
                raise RuntimeError("a load generator did not report")
            reports.append(receive.recv())
        for worker in workers:
            worker.join(timeout=30)
        graceful = stop_server(process)
        left, rejected = spooled(folder)
        server_log = log.read_text(errors="replace")
        accepted = [event for report in reports for event in report["accepted"]]
        counts = count_stored(url, accepted)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        if process is not None:
            stop_server(process)
        if pg:
            pg.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    return summarise(
        args, callers, reports, counts, cpu, graceful, left, rejected, server_log, ramp_s
    )


def watch(
    args: argparse.Namespace,
    callers: int,
    progress: Any,
    times: tuple[float, float, float],
    server: subprocess.Popen,
    database_pid: int | None,
    generators: list[Any],
) -> dict[str, float | None]:
    """Print the ramp's and the window's progress; the CPU used in the window (in cores)."""
    ramp_start, window_start, window_end = times
    slots = range(args.generators)
    before: tuple = ()
    next_print = time.monotonic() + 5.0
    while time.monotonic() < window_end:
        now = time.monotonic()
        if not before and now >= window_start:
            before = (
                cpu_seconds(server.pid),
                cpu_seconds(database_pid),
                [cpu_seconds(p.pid) for p in generators],
                machine_busy(),
                now,
            )
        if now >= next_print:
            answered = sum(progress[4 * s + 2] for s in slots)
            errors = sum(progress[4 * s + 3] for s in slots)
            if now < window_start:
                enqueued = sum(progress[4 * s] for s in slots)
                print(
                    f"  ramp {now - ramp_start:4.0f} s: {enqueued} of {callers} callers in their"
                    f" queue; {answered} answers, {errors} errors so far",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                print(
                    f"  window {now - window_start:4.0f} s of {args.seconds:g}: {answered} answers,"
                    f" {errors} errors so far",
                    file=sys.stderr,
                    flush=True,
                )
            next_print = now + (5.0 if now < window_start else 10.0)
        wake = min(next_print, window_end, window_start if not before else window_end)
        time.sleep(min(max(wake - time.monotonic(), 0.01), 1.0))
    after = (
        cpu_seconds(server.pid),
        cpu_seconds(database_pid),
        [cpu_seconds(p.pid) for p in generators],
        machine_busy(),
        time.monotonic(),
    )
    if not before:
        return {}
    wall = after[4] - before[4]
    cpu: dict[str, float | None] = {}
    for key, start, end in (
        ("server_cores", before[0], after[0]),
        ("database_cores", before[1], after[1]),
    ):
        cpu[key] = (end - start) / wall if start is not None and end is not None else None
    pairs = [(s, e) for s, e in zip(before[2], after[2], strict=True) if s is not None and e]
    cpu["generator_cores"] = sum(e - s for s, e in pairs) / wall if pairs else None
    if before[3] and after[3]:
        busy, total = after[3][0] - before[3][0], after[3][1] - before[3][1]
        cpu["machine_busy"] = busy / total if total else None
        ours = sum(cpu[key] or 0.0 for key in ("server_cores", "database_cores", "generator_cores"))
        if total:  # other processes on the machine (and this one's watching)
            cpu["other_cores"] = max(busy / total * (os.cpu_count() or 1) - ours, 0.0)
    return cpu


def summarise(
    args: argparse.Namespace,
    callers: int,
    reports: list[dict[str, Any]],
    counts: dict[str, int],
    cpu: dict[str, float | None],
    graceful: bool,
    left: int,
    rejected: int,
    server_log: str,
    ramp_s: float,
) -> dict[str, Any]:
    """The run's figures, in the JSON's shape (with more keys than the contract's)."""
    import numpy as np

    routes = {}
    for route in ROUTES:
        values = np.concatenate([np.asarray(r["latencies"][route], dtype=float) for r in reports])
        routes[route] = {
            "requests": len(values),
            "rps": len(values) / args.seconds,
            "p50_ms": percentile_ms(values, 50),
            "p95_ms": percentile_ms(values, 95),
            "p99_ms": percentile_ms(values, 99),
            "max_ms": float(values.max() * 1000) if len(values) else None,
            "errors": sum(r["route_errors"][route] for r in reports),
        }
    errors: dict[str, dict[str, int]] = {}
    for report in reports:
        for phase, kinds in report["errors"].items():
            for kind, count in kinds.items():
                errors.setdefault(phase, {})
                errors[phase][kind] = errors[phase].get(kind, 0) + count
    lags = np.concatenate([np.asarray(r["lags"], dtype=float) for r in reports])
    # every route's requests by the second of the window they were due in: a stall of the whole
    # machine shows as a few slow seconds, a server too slow for the load as many
    every = np.concatenate(
        [np.asarray(r["latencies"][n], dtype=float) for r in reports for n in ROUTES]
    )
    seconds = np.concatenate(
        [np.asarray(r["offsets"][n], dtype=float) for r in reports for n in ROUTES]
    ).astype(int)
    per_second = [
        percentile_ms(every[seconds == second], 99) for second in range(math.ceil(args.seconds))
    ]
    log_errors = sum(
        1 for line in server_log.splitlines() if "Traceback" in line or "[ERROR]" in line
    )
    boots = server_log.count("Booting worker")
    return {
        "measured": provenance(),
        "db": args.db,
        "callers_on_hold": callers,
        "new_calls_per_s": args.calls_per_s,
        "seconds": args.seconds,
        "routes": routes,
        **counts,
        "missing_events": counts["accepted_events"] - counts["stored_events"],
        "callers_enqueued": sum(r["enqueued"] for r in reports),
        "ramp_s": ramp_s,
        "errors": errors,
        "requests": {
            phase: sum(r["sent"][phase] for r in reports) for phase in ("ramp", "window", "drain")
        },
        "per_second_p99_ms": per_second,
        "generator_lag_p99_ms": percentile_ms(lags, 99),
        "generator_lag_max_ms": float(lags.max() * 1000) if len(lags) else None,
        "cpu": cpu,
        "workers": args.workers,
        "threads": args.threads,
        "server_env": args.server_env,
        "server_stopped_gracefully": graceful,
        "spooled_webhooks": left,
        "refused_webhooks": rejected,
        "server_log_errors": log_errors,
        # gunicorn recycles a worker after max_requests (gunicorn.conf.py), or one timed out
        "workers_restarted": max(boots - (args.workers or 2 * (os.cpu_count() or 1) + 1), 0),
        "server_log_tail": "\n".join(server_log.splitlines()[-15:]) if log_errors else "",
    }


# --------------------------------------------------------------------------- verdicts and output


def criteria(result: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(criterion, met, detail) for the target."""
    load_ok = (
        result["callers_on_hold"] >= TARGET["callers"]
        and result["callers_enqueued"] >= TARGET["callers"]
        and result["new_calls_per_s"] >= TARGET["calls_per_s"]
        and result["seconds"] >= TARGET["seconds"]
    )
    worst = max(
        ((r["p99_ms"], name) for name, r in result["routes"].items() if r["p99_ms"] is not None),
        default=(None, None),
    )
    total_errors = sum(sum(kinds.values()) for kinds in result["errors"].values())
    exactly_once = (
        result["stored_events"] == result["accepted_events"]
        and result["duplicated_events"] == 0
        and result["duplicated_queue_entries"] == 0
        and result["accepted_twice"] == 0
    )
    return [
        (
            f"load: {TARGET['callers']} callers on hold, {TARGET['calls_per_s']:g} new calls/s for"
            f" {TARGET['seconds']:g} s",
            load_ok,
            f"{result['callers_enqueued']} of {result['callers_on_hold']} callers reached their"
            f" queue, {result['new_calls_per_s']:g} calls/s, {result['seconds']:g} s",
        ),
        (
            "every route's p99 <= 100 ms",
            worst[0] is not None and worst[0] <= TARGET["p99_ms"],
            f"slowest: {worst[1]} {worst[0]:.1f} ms" if worst[0] is not None else "no requests",
        ),
        (
            "0 errors (ramp, window and the last hang-ups)",
            total_errors == 0,
            f"{total_errors} errors",
        ),
        (
            "every accepted event stored exactly once",
            exactly_once,
            f"{result['stored_events']} of {result['accepted_events']} stored,"
            f" {result['duplicated_events']} duplicated",
        ),
    ]


def held(result: dict[str, Any]) -> bool:
    """The load held: no route's p99 over 100 ms and no error anywhere."""
    met = criteria(result)
    return met[1][1] and met[2][1] and result["callers_enqueued"] == result["callers_on_hold"]


def provenance() -> dict[str, Any]:
    """When, at which commit and on what machine the run was made (for the results' header)."""
    import datetime as dt
    import platform

    def git(*words: str) -> str:
        done = subprocess.run(["git", *words], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")),
            "",
        )  # fmt: skip
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("rev-parse", "--short", "HEAD")
        + (" (modified)" if git("status", "--porcelain", "--untracked-files=no") else ""),
        "cores": os.cpu_count(),
        "cpu": model or platform.processor(),
    }


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(args: argparse.Namespace, result: dict[str, Any]) -> str:
    database = "SQLite" if args.db == "sqlite" else "PostgreSQL (throwaway cluster, fsync=off)"
    workers = args.workers or "2 x cores + 1"
    threads = args.threads or 4
    made = result["measured"]
    lines = [
        f"measured {made['date']} at commit {made['commit']}, {made['cores']} cores ({made['cpu']})",
        f"capacity: {database}, hotline serve with {workers}"
        f" workers x {threads} threads, {os.cpu_count()} cores shared with the load generator"
        f" ({args.generators} processes)",
        f"{result['callers_on_hold']} callers on hold polling every {POLL_EVERY_S:g} s,"
        f" {result['new_calls_per_s']:g} new calls/s (Poisson), {result['seconds']:g} s window,"
        f" seed {args.seed}",
        f"ramp: {result['callers_enqueued']} of {result['callers_on_hold']} callers reached their"
        f" queue through the menu at {args.ramp_per_s:g}/s ({result['ramp_s']:.0f} s,"
        f" {result['requests']['ramp']} requests)",
        "",
        "| route | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, route in result["routes"].items():
        lines.append(
            f"| {name} | {route['rps']:.1f} | {fmt(route['p50_ms'])} | {fmt(route['p95_ms'])} |"
            f" {fmt(route['p99_ms'])} | {fmt(route['max_ms'])} | {route['errors']} |"
        )
    errors = "; ".join(
        f"{phase}: " + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        for phase, kinds in result["errors"].items()
    )
    lines += [
        "",
        f"errors by phase: {errors or 'none'}",
        f"events: {result['accepted_events']} accepted, {result['stored_events']} of them stored,"
        f" {result['missing_events']} missing, {result['duplicated_events']} duplicated;"
        f" {result['unaccepted_stored_events']} stored from requests not accepted (errors);"
        f" {result['duplicated_queue_entries']} calls with two entries in a queue,"
        f" {result['queue_results_without_entry']} queue results that found no entry",
        f"server stopped gracefully: {'yes' if result['server_stopped_gracefully'] else 'NO'};"
        f" webhooks spooled: {result['spooled_webhooks']}, set aside:"
        f" {result['refused_webhooks']}; errors in the server's log:"
        f" {result['server_log_errors']}; workers restarted during the run:"
        f" {result['workers_restarted']}",
    ]
    cpu = result["cpu"]
    if cpu:
        lines.append(
            f"CPU in the window, in cores: server {fmt(cpu.get('server_cores'), 2)}, database"
            f" {fmt(cpu.get('database_cores'), 2)}, load generator"
            f" {fmt(cpu.get('generator_cores'), 2)}, other processes"
            f" {fmt(cpu.get('other_cores'), 2)}; machine busy"
            f" {fmt((cpu.get('machine_busy') or 0) * 100, 0)} % of {os.cpu_count()} cores"
        )
    timed = [(p99, second) for second, p99 in enumerate(result["per_second_p99_ms"]) if p99]
    over = sum(1 for p99, _s in timed if p99 > TARGET["p99_ms"])
    worst = ", ".join(f"{second} s: {p99:.0f} ms" for p99, second in sorted(timed)[::-1][:3])
    lines.append(
        f"p99 of all routes per second of the window: over {TARGET['p99_ms']:g} ms in {over} of"
        f" {len(timed)} seconds; slowest: {worst or '-'}"
    )
    lines.append(
        f"load generator lag (request sent after its time): p99"
        f" {fmt(result['generator_lag_p99_ms'])} ms, max {fmt(result['generator_lag_max_ms'])} ms"
    )
    lines.append("")
    lines += [
        f"{'PASS' if met else 'FAIL'}  {name}: {detail}" for name, met, detail in criteria(result)
    ]
    if result["server_log_tail"]:
        lines += ["", "server log (last lines):", result["server_log_tail"]]
    return "\n".join(lines)


def find_capacity(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """Double the callers on hold from ``--callers`` until the load is not held, then bisect;
    at most ``--max-runs`` runs. Returns the largest held run (or the last) and the search."""
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    last: dict[str, Any] = {}
    low, high = 0, None
    callers = max(args.callers, 1)
    for _ in range(args.max_runs):
        print(f"find-capacity: {callers} callers on hold", file=sys.stderr, flush=True)
        last = run(args, callers)
        print(table(args, last) + "\n", flush=True)
        ok = held(last)
        worst = max(
            (r["p99_ms"] for r in last["routes"].values() if r["p99_ms"] is not None), default=0.0
        )
        errors = sum(sum(kinds.values()) for kinds in last["errors"].values())
        steps.append({"callers": callers, "held": ok, "worst_p99_ms": worst, "errors": errors})
        print(
            f"find-capacity: {callers} callers: {'held' if ok else 'not held'} (slowest p99"
            f" {worst:.1f} ms, {errors} errors)",
            file=sys.stderr,
            flush=True,
        )
        if ok:
            low, best = callers, last
        else:
            high = callers
        if high is None:
            callers *= 2
        elif low == 0:
            callers = max(high // 2, 1)
            if high <= 1:
                break
        else:
            if high - low <= max(low // 10, 50):
                break
            callers = (low + high) // 2
    search = {"largest_held": low, "smallest_not_held": high, "steps": steps}
    return best or last, search


def parse_env(items: list[str]) -> dict[str, str]:
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--server-env wants KEY=VALUE, not {item!r}")
        env[key] = value
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callers", type=int, default=TARGET["callers"])
    parser.add_argument("--calls-per-s", type=float, default=TARGET["calls_per_s"])
    parser.add_argument("--seconds", type=float, default=TARGET["seconds"])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=None, help="default: gunicorn.conf.py's")
    parser.add_argument("--threads", type=int, default=None, help="default: gunicorn.conf.py's")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment variable for the server (repeatable), e.g. HOTLINE_WORKERS=3",
    )
    parser.add_argument(
        "--ramp-per-s",
        type=float,
        default=50.0,
        help="callers a second that ring and reach their queue before the window",
    )
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--connections", type=int, default=100, help="keep-alive connections, all generators"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument(
        "--find-capacity",
        action="store_true",
        help="raise the callers on hold (doubling, then bisecting) to the most the machine holds",
    )
    parser.add_argument("--max-runs", type=int, default=6, help="runs of --find-capacity, at most")
    args = parser.parse_args(argv)
    args.server_env = parse_env(args.server_env)
    if args.callers < 0 or args.calls_per_s < 0 or args.seconds <= 0 or args.ramp_per_s <= 0:
        parser.error("--callers, --calls-per-s must be >= 0, --seconds and --ramp-per-s > 0")
    if args.find_capacity:
        result, search = find_capacity(args)
        result["find_capacity"] = search
    else:
        result = run(args, args.callers)
    if not args.find_capacity:  # --find-capacity printed each run's
        print(table(args, result))
    else:
        search = result["find_capacity"]
        print(
            "find-capacity: "
            + "; ".join(
                f"{s['callers']} {'held' if s['held'] else 'not held'} (slowest p99"
                f" {s['worst_p99_ms']:.1f} ms, {s['errors']} errors)"
                for s in search["steps"]
            )
        )
        print(
            f"largest number of callers on hold held: {search['largest_held']}"
            + (
                f" (not held at {search['smallest_not_held']})"
                if search["smallest_not_held"]
                else ""
            )
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(met for _n, met, _d in criteria(result)) else 1


if __name__ == "__main__":
    sys.exit(main())
