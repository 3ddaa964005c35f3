"""Whether callers notice faults: Hotline under ``hotline serve`` with the capacity benchmark's
load (callers on hold polling the hold loop, new calls going through the menu) while faults are
injected one after another, with a quiet spell between them.

1. ``worker SIGKILL``: one gunicorn worker (a child of the master) is killed.
2. ``database``: on SQLite another connection holds the write lock (``BEGIN IMMEDIATE``) for
   ``--fault-seconds``; on PostgreSQL the throwaway cluster is stopped (``pg_ctl stop -m fast``)
   and started again ``--fault-seconds`` later.
3. ``broken config``: the server runs on a private copy of ``config/`` (``HOTLINE_CONFIG_DIR``);
   an unclosed YAML flow list is appended to its ``line.yaml``, ``hotline reload`` must refuse
   it (exit 1), the master is sent SIGHUP anyway (its new workers start on the last good
   configuration); ``--fault-seconds`` later the file is restored and ``hotline reload`` must
   succeed.
4. ``spool unwritable``: the spool folder (``HOTLINE_SPOOL_DIR``) is replaced by a file (a full
   or read-only disk: nothing can be written there) while the database is unreachable (the
   SQLite write lock again, or PostgreSQL stopped); both are restored ``--fault-seconds`` later,
   then the spooled requests are replayed (``hotline jobs run replay_spool``).

After the load the server is stopped gracefully, the spool is replayed once more, and every call
event is looked up in the database. Each fault's row counts the webhooks whose time in flight
overlapped the fault (from the moment they were due to their answer): sent, answered, the worst
latency, refused (connection refused or reset, HTTP 5xx, no answer within 15 s), answered with
the wrong TwiML (the apology, another step), the call events the server accepted for them, those
lost (accepted but not stored after the replay) and invented (stored but never accepted, or
stored twice); and what ``/healthz`` (polled every second) said during the fault and after it.
The target: 0 calls refused, 0 events lost or invented, every webhook answered within 10 s,
``/healthz`` degraded during each fault and healthy after it.

By default the load goes through nginx with the shipped site (``deploy/nginx/hotline.conf``), as
the documented deployment runs: nginx sends a request once more when its connection was dropped
(the killed worker's requests in flight); ``--proxy none`` sends it straight to gunicorn.

    python benchmarks/faults.py [--db sqlite|postgresql] [--proxy nginx|none] [--callers 1000]
        [--calls-per-s 5] [--fault-seconds 20] [--quiet-seconds 30] [--json FILE]

Every request goes to 127.0.0.1; the run is bounded in requests and time (about
``--callers``/50 s of ramp, then 20 s + 4 x (fault + quiet) of load, then the last calls).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import benchmarks.capacity as capacity  # noqa: E402
from benchmarks import proxy  # noqa: E402
from benchmarks.loopback import free_port  # noqa: E402

LEAD_S = 20.0  # load before the first fault
ANSWER_LIMIT_S = 10.0  # the target: every webhook answered within this
HEALTH_EVERY_S = 1.0
HEALTH_TIMEOUT_S = 10.0
FAULTS = ("worker SIGKILL", "database", "broken config + reload", "spool unwritable + database")
REFUSED = ("connection", "timeout")  # and any HTTP 5xx
# what an answer with the apology records (webhook.py's fallback: the caller put in general)
FALLBACK_EVENTS = ("call_started", "fallback_to_queue", "enqueued")
BROKEN_YAML = "\nbroken_by_faults_benchmark: [unclosed\n"


class FaultGenerator(capacity.Generator):
    """The capacity load generator, keeping every request: (route, due, answered, error kind
    or "", CallSid, the events it would record)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.records: list[tuple[str, float, float, str, str, tuple[str, ...]]] = []

    def record(
        self,
        route: str,
        at: float,
        done: float,
        kind: str | None,
        form: dict[str, str],
        events: tuple[str, ...],
    ) -> None:
        self.records.append((route, at, done, kind or "", form["CallSid"], events))

    def report(self) -> dict[str, Any]:
        return {**super().report(), "records": self.records}


# --------------------------------------------------------------------------- /healthz


def probe(port: int, timeout: float = HEALTH_TIMEOUT_S) -> tuple[int, list[str]]:
    """/healthz's status and problems (status 0: no answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as answer:
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except OSError as exc:
        return 0, [f"no answer: {type(exc).__name__}"]
    try:
        problems = list(json.loads(body).get("problems") or [])
    except ValueError:
        problems = ["not JSON"]
    return status, problems


class HealthWatch(threading.Thread):
    """/healthz every second until stopped (or ``until``): (asked, answered, status, problems)."""

    def __init__(self, port: int, until: float) -> None:
        super().__init__(daemon=True)
        self.port, self.until = port, until
        self.samples: list[tuple[float, float, int, list[str]]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set() and time.monotonic() < self.until:
            asked = time.monotonic()
            status, problems = probe(self.port)
            self.samples.append((asked, time.monotonic(), status, problems))
            self.stopping.wait(max(asked + HEALTH_EVERY_S - time.monotonic(), 0.05))


def flush_held(port: int, seconds: float = 30.0) -> str:
    """Rounds of concurrent /healthz (each flushes the spooled requests its worker holds in
    memory) until two rounds in a row are all 200, at most ``seconds``."""
    deadline, healthy_rounds, rounds = time.monotonic() + seconds, 0, 0
    with ThreadPoolExecutor(8) as pool:
        while time.monotonic() < deadline and healthy_rounds < 2:
            answers = list(pool.map(lambda _i: probe(port)[0], range(8)))
            rounds += 1
            healthy_rounds = healthy_rounds + 1 if all(s == 200 for s in answers) else 0
            time.sleep(0.5)
    return f"{rounds} rounds of 8 concurrent /healthz, {'healthy' if healthy_rounds >= 2 else 'NOT healthy'}"


# --------------------------------------------------------------------------- the faults


class Server:
    """What the faults act on: the server's folder, environment, master and database."""

    def __init__(self, folder: Path, url: str, port: int, master: int, pg: Any) -> None:
        self.folder, self.url, self.port, self.master, self.pg = folder, url, port, master, pg
        self.config = folder / "config"
        self.spool = folder / "spool"
        self.env: dict[str, str] = {}
        self.lock: sqlite3.Connection | None = None

    def hotline(self, *words: str, timeout: float = 120) -> tuple[int, str]:
        """A ``hotline`` command with the server's environment: (exit code, last output line)."""
        script = Path(sys.executable).with_name("hotline")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "ivr.cli"]
        try:
            done = subprocess.run(
                command + list(words),
                cwd=REPO,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return -1, "timed out"
        lines = (done.stdout + done.stderr).strip().splitlines()
        return done.returncode, lines[-1] if lines else ""

    def workers(self) -> list[int]:
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.master:
                    children.append(int(entry.name))
        return children

    def database_down(self) -> str:
        if self.pg is None:
            self.lock = sqlite3.connect(
                self.url.split("///", 1)[1], timeout=30, isolation_level=None
            )
            self.lock.execute("BEGIN IMMEDIATE")
            return "SQLite write lock taken (BEGIN IMMEDIATE)"
        self.pg._run(
            f"{self.pg.bindir}/pg_ctl", "-D", str(self.pg.data), "-m", "fast", "-w", "stop"
        )
        return "PostgreSQL stopped (pg_ctl stop -m fast)"

    def database_up(self) -> str:
        if self.pg is None:
            assert self.lock is not None
            self.lock.execute("ROLLBACK")
            self.lock.close()
            self.lock = None
            return "write lock released"
        pg = self.pg
        options = (
            f"-p {pg.port} -k {pg.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=200"
        )  # as tests/conftest.py's PostgresServer.start
        pg._run(
            f"{pg.bindir}/pg_ctl",
            "-D",
            str(pg.data),
            "-o",
            options,
            "-l",
            str(pg.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return "PostgreSQL started"

    def replay(self) -> str:
        code, line = self.hotline("jobs", "run", "replay_spool")
        return f"hotline jobs run replay_spool: exit {code}, {line!r}"


def inject(number: int, server: Server, seconds: float) -> dict[str, Any]:
    """Fault ``number`` (0-3): its start and end (monotonic), what was done, and whether the
    commands behaved as expected."""
    notes: list[str] = []
    expected = True
    start = time.monotonic()
    if number == 0:
        workers = server.workers()
        victim = workers[len(workers) // 2]
        os.kill(victim, signal.SIGKILL)
        notes.append(f"worker {victim} (of {len(workers)}) killed")
        time.sleep(seconds)
        notes.append(f"{len(server.workers())} workers {seconds:g} s later")
    elif number == 1:
        notes.append(server.database_down())
        time.sleep(max(start + seconds - time.monotonic(), 0))
        notes.append(server.database_up())
    elif number == 2:
        line = server.config / "line.yaml"
        good = line.read_bytes()
        line.write_bytes(good + BROKEN_YAML.encode())
        code, said = server.hotline("reload")
        expected &= code == 1
        notes.append(f"hotline reload on the broken config: exit {code} (expected 1), {said!r}")
        os.kill(server.master, signal.SIGHUP)
        notes.append("SIGHUP sent to the master")
        time.sleep(max(start + seconds - time.monotonic(), 0))
        line.write_bytes(good)
        code, said = server.hotline("reload")
        expected &= code == 0
        notes.append(f"config restored; hotline reload: exit {code} (expected 0), {said!r}")
    else:
        saved = server.spool.with_name("spool.saved")
        server.spool.rename(saved)
        server.spool.write_text("the spool folder is a file: nothing can be written there\n")
        notes.append("spool folder replaced by a file")
        notes.append(server.database_down())
        time.sleep(max(start + seconds - time.monotonic(), 0))
        notes.append(server.database_up())
        server.spool.unlink()
        saved.rename(server.spool)
        notes.append("spool folder restored")
    end = time.monotonic()
    if number == 3:
        notes.append(flush_held(server.port))
        code_note = server.replay()
        expected &= "exit 0" in code_note
        notes.append(code_note)
    return {"fault": FAULTS[number], "start": start, "end": end, "notes": notes, "ok": expected}


# --------------------------------------------------------------------------- the run


def stored_events(url: str) -> dict[tuple[str, str], int]:
    from sqlalchemy import create_engine, text

    from ivr.store.db import normalise_url

    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT call_sid, event, COUNT(*) FROM call_events GROUP BY call_sid, event")
            ).all()
    finally:
        engine.dispose()
    return {(sid, event): int(count) for sid, event, count in rows}


def run(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="hotline-faults-"))
    pg = None
    process = None
    nginx = None
    generators: list[Any] = []
    health: HealthWatch | None = None
    faults: list[dict[str, Any]] = []
    try:
        shutil.copytree(REPO / "config", folder / "config")
        (folder / "spool").mkdir()
        pg, url = capacity.start_database(args.db, folder, "faults")
        args.server_env = {
            "HOTLINE_CONFIG_DIR": str(folder / "config"),
            "HOTLINE_SPOOL_DIR": str(folder / "spool"),
            "HOTLINE_SECRET_KEY": secrets.token_hex(16),
        }
        port = free_port()
        public_port = port
        if args.proxy == "nginx":
            public_port = free_port()
            args.server_env["HOTLINE_PUBLIC_URL"] = f"http://127.0.0.1:{public_port}"
        process, log = capacity.start_server(args, folder, url, port)
        if args.proxy == "nginx":
            nginx = proxy.start_nginx(args.nginx, folder / "proxy", port, public_port)
        server = Server(folder, url, port, process.pid, pg)
        server.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "DATABASE_URL": url,
            "TWILIO_AUTH_TOKEN": capacity.TOKEN,
            "HOTLINE_PUBLIC_URL": f"http://127.0.0.1:{public_port}",
            "HOTLINE_ALWAYS_OPEN": "1",
            "HOTLINE_INSTANCE_PATH": str(folder / "instance"),
            **args.server_env,
        }

        ctx = mp.get_context("spawn")
        ramp_start = time.monotonic() + 3.0
        window_start = ramp_start + args.callers / args.ramp_per_s + capacity.SETTLE_S
        window_end = window_start + args.seconds
        plans = capacity.make_plans(
            args, args.callers, f"http://127.0.0.1:{public_port}", ramp_start, window_start
        )
        progress = ctx.Array("q", 4 * args.generators, lock=False)
        pipes = []
        for slot, plan in enumerate(plans):
            receive, send = ctx.Pipe(duplex=False)
            worker = ctx.Process(
                target=capacity.generator_process,
                args=(plan, send, progress, slot, FaultGenerator),
            )
            worker.start()
            send.close()
            generators.append(worker)
            pipes.append(receive)
        health = HealthWatch(port, window_end + capacity.EXTRA_S)
        health.start()

        for number in range(len(FAULTS)):
            due = window_start + LEAD_S + number * (args.fault_seconds + args.quiet_seconds)
            if faults:
                due = max(due, faults[-1]["end"] + args.quiet_seconds / 2)
            while time.monotonic() < due:
                time.sleep(min(due - time.monotonic(), 1.0))
            answered = sum(progress[4 * s + 2] for s in range(args.generators))
            errors = sum(progress[4 * s + 3] for s in range(args.generators))
            print(
                f"  {FAULTS[number]} at {time.monotonic() - window_start:.0f} s of the load"
                f" ({answered} answers, {errors} errors so far)",
                file=sys.stderr,
                flush=True,
            )
            faults.append(inject(number, server, args.fault_seconds))
            for note in faults[-1]["notes"]:
                print(f"    {note}", file=sys.stderr, flush=True)

        reports = []
        for receive in pipes:
            if not receive.poll(max(window_end + capacity.EXTRA_S + 30 - time.monotonic(), 1.0)):
                raise RuntimeError("a load generator did not report")
            reports.append(receive.recv())
        for worker in generators:
            worker.join(timeout=30)
        health.stopping.set()
        health.join(timeout=HEALTH_TIMEOUT_S + 5)
        graceful = capacity.stop_server(process)
        final_replay = server.replay()
        spool_file = folder / "spool" / "webhooks.jsonl"
        left = len(spool_file.read_text().splitlines()) if spool_file.exists() else 0
        refused_file = folder / "spool" / "refused.jsonl"
        set_aside = len(refused_file.read_text().splitlines()) if refused_file.exists() else 0
        server_log = log.read_text(errors="replace")
        if args.server_log:
            shutil.copyfile(log, args.server_log)
        stored = stored_events(url)
        proxy_log = folder / "proxy" / "nginx" / "error.log"
        # a connection the server dropped (nginx logs it at error level, then sends it again)
        retried = (
            sum(
                1
                for line in proxy_log.read_text(errors="replace").splitlines()
                if "upstream" in line and ("prematurely closed" in line or "reset by peer" in line)
            )
            if proxy_log.exists()
            else None
        )
    finally:
        if health is not None:
            health.stopping.set()
        for worker in generators:
            if worker.is_alive():
                worker.terminate()
        if nginx is not None:
            proxy.stop_nginx(nginx)
        if process is not None:
            capacity.stop_server(process)
        if pg:
            pg.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    records = [record for report in reports for record in report["records"]]
    return summarise(
        args,
        faults,
        records,
        health.samples,
        stored,
        {
            "callers_enqueued": sum(r["enqueued"] for r in reports),
            "server_stopped_gracefully": graceful,
            "final_replay": final_replay,
            "spool_left": left,
            "set_aside": set_aside,
            "server_log_errors": sum(
                1 for line in server_log.splitlines() if "Traceback" in line or "[ERROR]" in line
            ),
            "workers_booted": server_log.count("Booting worker"),
            "proxy_retried": retried,
            "load_seconds": args.seconds,
            "window_start": window_start,
        },
    )


def is_refused(kind: str) -> bool:
    return kind in REFUSED or kind.startswith("http 5")


def summarise(
    args: argparse.Namespace,
    faults: list[dict[str, Any]],
    records: list[tuple[str, float, float, str, str, tuple[str, ...]]],
    samples: list[tuple[float, float, int, list[str]]],
    stored: dict[tuple[str, str], int],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Per fault (and for the rest of the run): the webhooks, the events, /healthz."""
    spans = [(f["start"], f["end"]) for f in faults]
    rest = 2 * len(faults)  # rows: 0 before the faults, 2i + 1 fault i, 2i + 2 after it

    def span_of(at: float, done: float) -> int:
        during = next((i for i, (s, e) in enumerate(spans) if at < e and done >= s), None)
        if during is not None:
            return 2 * during + 1
        ended = [i for i, (_s, e) in enumerate(spans) if e <= at]
        return 2 * ended[-1] + 2 if ended else 0

    rows: list[dict[str, Any]] = [
        {
            "sent": 0,
            "answered": 0,
            "apology": 0,
            "refused": 0,
            "wrong_twiml": 0,
            "worst_s": 0.0,
            "over_limit": 0,
        }
        for _ in range(rest + 1)
    ]
    kinds: list[dict[str, int]] = [{} for _ in range(rest + 1)]
    accepted: dict[tuple[str, str], int] = {}
    accepted_twice = [0] * (rest + 1)
    attempted: dict[tuple[str, str], int] = {}
    last_of_call: dict[str, tuple[float, int]] = {}  # a call's last request: (due, row)
    for _route, at, done, kind, sid, events in records:
        if at >= last_of_call.get(sid, (-1.0, 0))[0]:
            last_of_call[sid] = (at, span_of(at, done))
        i = span_of(at, done)
        row = rows[i]
        row["sent"] += 1
        if kind:
            kinds[i][kind] = kinds[i].get(kind, 0) + 1
        if is_refused(kind):
            row["refused"] += 1
            continue
        row["worst_s"] = max(row["worst_s"], done - at)
        row["over_limit"] += done - at > ANSWER_LIMIT_S
        if kind == "apology":  # the fallback: the caller hears the apology and goes to general
            row["apology"] += 1
            for name in FALLBACK_EVENTS:
                attempted.setdefault((sid, name), i)
                accepted.setdefault((sid, name), i)
        elif kind:
            row["wrong_twiml"] += 1
        else:
            row["answered"] += 1
        for name in events:
            attempted.setdefault((sid, name), i)
            if not kind:
                if (sid, name) in accepted:
                    accepted_twice[i] += 1
                accepted.setdefault((sid, name), i)
    for _route, at, done, _kind, sid, events in records:  # refused requests' events too
        for name in events:
            attempted.setdefault((sid, name), span_of(at, done))
    lost = [0] * (rest + 1)
    invented = [0] * (rest + 1)
    names: list[dict[str, int]] = [{} for _ in range(rest + 1)]  # lost/invented by event

    def note(i: int, what: str, count: int = 1) -> None:
        names[i][what] = names[i].get(what, 0) + count

    accepted_count = [0] * (rest + 1)
    for key, i in accepted.items():
        accepted_count[i] += 1
        if key not in stored:
            lost[i] += 1
            note(i, f"lost {key[1]}")
    never_sent: dict[str, int] = {}
    for key, count in stored.items():
        i = attempted.get(key)
        if i is None and key[0] in last_of_call:  # recorded by a fallback (another step's event)
            i = last_of_call[key[0]][1]
        if i is None:
            never_sent[key[1]] = never_sent.get(key[1], 0) + count
            continue
        if count > 1:
            note(i, f"stored twice {key[1]}", count - 1)
        if key not in accepted:
            note(i, f"stored not accepted {key[1]}")
        invented[i] += (count - 1) + (key not in accepted)
    for i, row in enumerate(rows):
        row.update(
            events_accepted=accepted_count[i],
            events_lost=lost[i],
            events_invented=invented[i] + accepted_twice[i],
            errors=kinds[i],
            event_problems=names[i],
        )

    results = []
    for i, fault in enumerate(faults):
        next_start = faults[i + 1]["start"] if i + 1 < len(faults) else float("inf")
        during = [s for s in samples if fault["start"] <= s[0] < fault["end"]]
        after = [s for s in samples if fault["end"] <= s[0] < next_start]
        degraded = [s for s in during if s[2] != 200]
        problems: dict[str, int] = {}
        for s in degraded:
            for problem in s[3] or [f"status {s[2]}"]:
                short = problem if len(problem) <= 90 else problem[:87] + "..."
                problems[short] = problems.get(short, 0) + 1
        first_ok = next((s for s in after if s[2] == 200), None)
        healthy_after = first_ok is not None and after[-1][2] == 200
        results.append(
            {
                "fault": fault["fault"],
                "seconds": fault["end"] - fault["start"],
                "at_s": fault["start"] - extra["window_start"],
                **rows[2 * i + 1],
                "health_during": {
                    "samples": len(during),
                    "degraded": len(degraded),
                    "statuses": sorted({s[2] for s in during}),
                    "problems": problems,
                },
                "health_after": {
                    "samples": len(after),
                    "healthy": healthy_after,
                    "first_200_after_s": (first_ok[0] - fault["end"]) if first_ok else None,
                    "last_status": after[-1][2] if after else None,
                },
                "commands_as_expected": fault["ok"],
                "notes": fault["notes"],
            }
        )
    return {
        "measured": capacity.provenance(),
        "db": args.db,
        "proxy": args.proxy,
        "callers_on_hold": args.callers,
        "new_calls_per_s": args.calls_per_s,
        "fault_seconds": args.fault_seconds,
        "quiet_seconds": args.quiet_seconds,
        "faults": results,
        "no_fault": [
            {"fault": "before the faults (ramp, first load)", **rows[0]},
            *(
                {"fault": f"after {fault['fault']} (quiet)", **rows[2 * i + 2]}
                for i, fault in enumerate(faults)
            ),
        ],
        "stored_events_never_sent": never_sent,
        **{k: v for k, v in extra.items() if k != "window_start"},
    }


# --------------------------------------------------------------------------- verdicts and output


def criteria(result: dict[str, Any]) -> list[tuple[str, bool, str]]:
    faults = result["faults"]
    everything = [*faults, *result["no_fault"]]

    def each(key: str) -> str:
        return ", ".join(f"{row['fault']}: {row[key]}" for row in everything)

    refused = sum(row["refused"] + row["wrong_twiml"] for row in everything)
    lost = sum(row["events_lost"] + row["events_invented"] for row in everything)
    lost += sum(result["stored_events_never_sent"].values())
    slow = sum(row["over_limit"] for row in everything)
    worst = max(row["worst_s"] for row in everything)
    refused_detail = ", ".join(
        f"{row['fault']}: {row['refused']}"
        + (f" (+{row['wrong_twiml']} wrong TwiML)" if row["wrong_twiml"] else "")
        for row in everything
    )
    only_kill = refused and refused == faults[0]["refused"] + faults[0]["wrong_twiml"]
    if only_kill:
        refused_detail += (
            " -- only in the worker SIGKILL window: the killed worker's requests in flight"
            " (connection reset; Twilio would see these calls fail)"
        )
    health_during = [row["fault"] for row in faults if not row["health_during"]["degraded"]]
    health_after = [row["fault"] for row in faults if not row["health_after"]["healthy"]]
    commands = [row["fault"] for row in faults if not row["commands_as_expected"]]
    return [
        ("0 calls refused (nor answered with the wrong TwiML)", refused == 0, refused_detail),
        (
            "0 events lost or invented",
            lost == 0,
            "lost: "
            + each("events_lost")
            + "; invented: "
            + each("events_invented")
            + f"; stored but never sent: {sum(result['stored_events_never_sent'].values())}",
        ),
        (
            f"every webhook answered within {ANSWER_LIMIT_S:g} s",
            slow == 0,
            f"worst {worst:.2f} s; over {ANSWER_LIMIT_S:g} s: " + each("over_limit"),
        ),
        (
            "/healthz degraded during each fault",
            not health_during,
            (
                "200 throughout: "
                + ", ".join(health_during)
                + (
                    " (gunicorn replaces a killed worker; /healthz checks nothing a killed"
                    " worker changes)"
                    if FAULTS[0] in health_during
                    else ""
                )
            )
            if health_during
            else "all degraded",
        ),
        (
            "/healthz healthy (200) after each fault",
            not health_after,
            "not healthy after: " + ", ".join(health_after) if health_after else "all healthy",
        ),
        (
            "hotline reload / replay behaved as expected",
            not commands,
            "unexpected: " + ", ".join(commands) if commands else "yes",
        ),
    ]


def table(result: dict[str, Any]) -> str:
    made = result["measured"]
    database = "SQLite" if result["db"] == "sqlite" else "PostgreSQL (throwaway cluster, fsync=off)"
    lines = [
        f"measured {made['date']} at commit {made['commit']}, {made['cores']} cores ({made['cpu']})",
        f"faults: {database}, hotline serve (gunicorn.conf.py's workers)"
        + (
            " behind nginx (deploy/nginx/hotline.conf)"
            if result.get("proxy", "none") == "nginx"
            else " with no proxy in front"
        )
        + f", {made['cores']} cores shared with the load generator",
        f"{result['callers_on_hold']} callers on hold polling every {capacity.POLL_EVERY_S:g} s"
        f" ({result['callers_enqueued']} reached their queue), {result['new_calls_per_s']:g} new"
        f" calls/s, {result['load_seconds']:g} s of load; each fault {result['fault_seconds']:g} s,"
        f" {result['quiet_seconds']:g} s quiet between",
        "a row counts the webhooks in flight (due to answered) during the fault; answered: the"
        " TwiML of the step; apology: the fallback (the apology, the caller put in general, its"
        " events counted as accepted; the load generator then ends that call); refused:"
        " connection refused/reset, HTTP 5xx, no answer in 15 s; wrong TwiML: any other answer",
        "",
        "| fault | at s | s | sent | answered | apology | worst s | > 10 s | refused | wrong TwiML"
        " | events accepted | lost | invented | /healthz during | /healthz after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    quiet = result["no_fault"]
    chronological = [quiet[0]]
    for fault, after in zip(result["faults"], quiet[1:], strict=True):
        chronological += [fault, after]
    for row in chronological:
        if "health_during" in row:
            during = row["health_during"]
            problems = "; ".join(during["problems"]) or "-"
            said = (
                f"{during['degraded']} of {during['samples']} degraded"
                f" ({'/'.join(map(str, during['statuses']))}): {problems}"
            )
            after = row["health_after"]
            said_after = (
                f"200 after {after['first_200_after_s']:.1f} s, last {after['last_status']}"
                if after["first_200_after_s"] is not None
                else f"never 200 ({after['samples']} samples)"
            )
            at, seconds = f"{row['at_s']:.0f}", f"{row['seconds']:.0f}"
        else:
            said = said_after = at = seconds = "-"
        lines.append(
            f"| {row['fault']} | {at} | {seconds} | {row['sent']} | {row['answered']} |"
            f" {row['apology']} |"
            f" {row['worst_s']:.2f} | {row['over_limit']} | {row['refused']} | {row['wrong_twiml']}"
            f" | {row['events_accepted']} | {row['events_lost']} | {row['events_invented']}"
            f" | {said} | {said_after} |"
        )
    lines.append("")
    for row in result["faults"]:
        errors = ", ".join(f"{n} {k}" for k, n in sorted(row["errors"].items())) or "no errors"
        events = ", ".join(f"{n} {k}" for k, n in sorted(row["event_problems"].items()))
        lines.append(
            f"{row['fault']}: {'; '.join(row['notes'])}; {errors}"
            + (f"; events: {events}" if events else "")
        )
    for row in quiet:
        errors = ", ".join(f"{n} {k}" for k, n in sorted(row["errors"].items()))
        events = ", ".join(f"{n} {k}" for k, n in sorted(row["event_problems"].items()))
        lines.append(
            f"{row['fault']}: {errors or 'no errors'}" + (f"; events: {events}" if events else "")
        )
    never = ", ".join(f"{n} {k}" for k, n in sorted(result["stored_events_never_sent"].items()))
    lines += [
        f"events stored that no request sent: {never or 'none'}",
        f"after the load: server stopped gracefully:"
        f" {'yes' if result['server_stopped_gracefully'] else 'NO'}; {result['final_replay']};"
        f" left in the spool: {result['spool_left']}, set aside: {result['set_aside']};"
        f" errors in the server's log: {result['server_log_errors']}; workers booted:"
        f" {result['workers_booted']}"
        + (
            f"; requests nginx sent again after the server dropped them: {result['proxy_retried']}"
            if result.get("proxy_retried") is not None
            else ""
        ),
        "",
    ]
    lines += [
        f"{'PASS' if ok else 'FAIL'}  {name}: {detail}" for name, ok, detail in criteria(result)
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--callers", type=int, default=1000, help="callers on hold")
    parser.add_argument("--calls-per-s", type=float, default=5.0, help="new calls a second")
    parser.add_argument("--fault-seconds", type=float, default=20.0, help="each fault's length")
    parser.add_argument("--quiet-seconds", type=float, default=30.0, help="between faults")
    parser.add_argument("--ramp-per-s", type=float, default=50.0)
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--server-log", type=Path, default=None, help="keep the server's log here")
    parser.add_argument(
        "--proxy",
        choices=["nginx", "none"],
        default="nginx",
        help="nginx (default): the load goes through deploy/nginx/hotline.conf, as deployed;"
        " none: straight to gunicorn",
    )
    args = parser.parse_args(argv)
    args.nginx = proxy.nginx_binary() if args.proxy == "nginx" else None
    if args.proxy == "nginx" and args.nginx is None:
        parser.error(
            "--proxy nginx: nginx is not installed (scripts/install-nginx.sh; or --proxy none)"
        )
    if args.callers < 0 or args.calls_per_s < 0 or args.fault_seconds <= 0:
        parser.error("--callers and --calls-per-s must be >= 0, --fault-seconds > 0")
    if args.quiet_seconds < 5 or args.ramp_per_s <= 0:
        parser.error("--quiet-seconds must be >= 5, --ramp-per-s > 0")
    args.workers = args.threads = None  # gunicorn.conf.py's
    args.seconds = LEAD_S + len(FAULTS) * (args.fault_seconds + args.quiet_seconds)
    result = run(args)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(ok for _n, ok, _d in criteria(result)) else 1


if __name__ == "__main__":
    import benchmarks.faults as faults  # the generator processes find FaultGenerator there

    sys.exit(faults.main())
