"""Webhook load on loopback: Hotline under gunicorn vs a bare Flask app returning fixed TwiML.

Both run under the same gunicorn settings (gunicorn.conf.py, same worker count) on 127.0.0.1 and
are driven by the same pre-signed requests (every menu request has its own CallSid, so Hotline
really writes its call events and queue entry). For each route: closed-loop runs at full speed
(requests per second, p50/p99 latency, errors), the two apps taking turns ``--rounds`` times so that
a slower spell of a shared machine falls on both alike, then Hotline at half the bare app's peak
rate (p99).
With ``--hold-callers``, callers reach a queue through the menu and poll the hold loop, first alone;
the menu is driven at full speed in turns alone, while they poll, and while the same polls go to the
bare app instead (the control: what the polls cost the menu whatever answers them), then at half the
bare app's rate in turns alone and while they poll; then they hang up (a queue result each). The servers' CPU
per request (and PostgreSQL's, and the load generator's) is read around each full-speed turn.
Afterwards the call log is counted: every accepted menu request's events stored exactly once,
every hung-up caller's entry ended.
Every request goes to 127.0.0.1, and each run is bounded in time and count.

    python benchmarks/webhooks.py [--seconds 8] [--rounds 4] [--connections 8] [--workers 3]
                                  [--db sqlite|postgresql] [--hold-callers 1000] [--hold-poll-s 10]

The load generator shares the machine's cores with the servers, so absolute numbers are low on
2 cores; the ratio between the two apps is the comparison.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
TOKEN = "bench-token"
MAX_RPS = 16_000  # requests signed per full-speed run: seconds x MAX_RPS in all (one connection
# may get far more than its share of a fast server)
BARE_APP = """
from flask import Flask, Response
app = Flask(__name__)
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="Polly.Amy" language="en-GB">Thank you. Connecting you to orders.</Say><Enqueue action="/voice/queue-result" method="POST" waitUrl="/voice/wait" waitUrlMethod="POST">orders</Enqueue></Response>'
@app.post("/<path:anything>")
def any_route(anything):
    return Response(TWIML, mimetype="text/xml")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(app_spec: str, port: int, workers: int, env: dict, cwd: Path) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(REPO / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "/dev/null",
        "--max-requests",  # no worker recycled (and booted again) in the middle of a run
        "0",
        app_spec,
    ]
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{app_spec} did not start: {process.stderr.read().decode()[-500:]}")


def cpu_seconds(root: int | None) -> float | None:
    """CPU time (user + system) used so far by a process and all its descendants, from /proc
    (None without /proc, or without a process)."""
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
        # its own user and system time, and that of the children it has reaped (a worker
        # gunicorn replaced counts in the master's)
        times[int(entry.name)] = sum(int(value) for value in fields[11:15]) / tick
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack += children.get(pid, [])
    return total


def _reaped_cpu() -> float:
    """CPU time of this process's children that have ended: the load generator's connections."""
    times = os.times()
    return times.children_user + times.children_system


def with_cpu(server: int, database: int | None, *run: Any) -> dict:
    """``drive(*run)``'s result, with the CPU per request in ms of the server (and the database),
    read once the run's last writes have had time to be flushed, and of the load generator (no
    other run may be under way)."""
    before = cpu_seconds(server), cpu_seconds(database), _reaped_cpu()
    result = drive(*run)
    time.sleep(0.3)
    after = cpu_seconds(server), cpu_seconds(database), _reaped_cpu()
    for key, start, end in zip(CPU_KEYS, before, after, strict=True):
        if start is not None and end is not None and result["sent"]:
            result[key] = (end - start) * 1000 / result["sent"]
    return result


def signed(base: str, path: str, form: dict) -> tuple[str, bytes, dict]:
    from ivr.demo.twilio_sim import twilio_signature

    body = urllib.parse.urlencode(form).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(TOKEN, base + path, form),
    }
    return path, body, headers


def requests_for(route: str, base: str, count: int, offset: int, callers: int = 0) -> list:
    """Pre-signed requests; with ``callers``, the same callers come back in turn (hold polls)."""
    out = []
    for i in range(count):
        sid = f"CA{offset + (i % callers if callers else i):032x}"
        form = {
            "CallSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": f"+39333{(offset + i) % 10**7:07d}",
            "To": "+18005550100",
            "CallStatus": "in-progress",
            "Direction": "inbound",
        }
        if route == "menu":
            out.append(
                signed(base, "/voice/menu?lang=en&attempt=1&step=2", {**form, "Digits": "1"})
            )
        elif route == "hold":
            out.append(
                signed(
                    base,
                    "/voice/wait?lang=en&queue=orders&step=2",
                    {
                        **form,
                        "QueuePosition": "3",
                        "QueueTime": "40",
                        "AvgQueueTime": "60",
                        "CurrentQueueSize": "5",
                    },
                )
            )
        else:
            out.append(
                signed(
                    base,
                    "/voice/queue-result?lang=en&queue=orders&step=2",
                    {**form, "QueueResult": "hangup", "QueueTime": "45"},
                )
            )
    return out


def worker(
    port: int, batch: list, seconds: float, rate: float | None, start_at: float, queue: mp.Queue
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, errors, sent = [], 0, 0
    time.sleep(max(start_at - time.monotonic(), 0.0))  # every connection starts together
    began = time.monotonic()
    end = began + seconds
    interval = 1.0 / rate if rate else 0.0
    next_at = time.monotonic()
    for path, body, headers in batch:
        now = time.monotonic()
        if now >= end:
            break
        if interval:
            if now < next_at:
                time.sleep(next_at - now)
            next_at += interval
        started = time.perf_counter()
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            payload = response.read()
            ok = response.status == 200 and payload.startswith(b"<?xml")
        except OSError:
            ok = False
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies.append(time.perf_counter() - started)
        errors += not ok
        sent += 1
    queue.put((latencies, errors, sent, began, time.monotonic()))


def drive(
    port: int,
    base: str,
    route: str,
    seconds: float,
    connections: int,
    rate: float | None,
    offset: int,
    callers: int = 0,
    batches: list[list] | None = None,
) -> dict:
    """One run: ``connections`` connections for ``seconds``, closed-loop (``rate`` None) or paced
    at ``rate`` in all. The requests are signed beforehand (``batches`` from :func:`signed_batches`
    when the caller signed them earlier, so that the run starts at once)."""
    if batches is None:
        batches = signed_batches(route, base, seconds, connections, rate, offset, callers)
    per = len(batches[0])
    queue: mp.Queue = mp.Queue()
    start_at = time.monotonic() + 0.3 + 0.02 * connections
    procs = []
    for batch in batches:
        p = mp.Process(
            target=worker,
            args=(port, batch, seconds, rate / connections if rate else None, start_at, queue),
        )
        p.start()
        procs.append(p)
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    if not rate and not callers and any(r[2] >= per for r in results):  # sent as many as signed
        print(
            f"  warning: a {route} connection ran out of its {per} requests in"
            f" {max(r[4] - r[3] for r in results):.2f} s (raise MAX_RPS)",
            file=sys.stderr,
        )
    # from the first connection's start to the last one's end: building and signing the
    # requests beforehand is not part of the run
    elapsed = max(r[4] for r in results) - min(r[3] for r in results)
    skew = max(r[3] for r in results) - min(r[3] for r in results)
    late = max(r[4] - r[3] for r in results) - seconds
    if skew > 0.1 or late > 0.1:  # a connection started late, or ran past its end waiting
        print(
            f"  note: {route} connections started up to {skew:.2f} s apart, one ended {late:.2f} s"
            " after its run",
            file=sys.stderr,
        )
    latencies = np.concatenate([np.array(r[0]) for r in results]) if results else np.array([])
    out = summary(sum(r[2] for r in results), sum(r[1] for r in results), elapsed, latencies)
    out["span"] = (min(r[3] for r in results), max(r[4] for r in results))  # time.monotonic()
    return out


def signed_batches(
    route: str,
    base: str,
    seconds: float,
    connections: int,
    rate: float | None,
    offset: int,
    callers: int = 0,
) -> list[list]:
    """A run's requests, one batch per connection. With ``callers``: each caller once (``rate``
    None) or polling in turn at ``rate``; else enough for ``MAX_RPS`` (full speed) or the rate
    asked for (a connection that sends all of its batch is reported)."""
    if callers:
        per = int(seconds * rate / connections) + 1 if rate else callers // connections
    else:
        per = int(seconds * (rate or MAX_RPS) / connections) + 1
    share = callers // connections if callers else 0
    return [
        requests_for(route, base, per, offset + c * (share or per), share)
        for c in range(connections)
    ]


def summary(sent: int, errors: int, elapsed: float, latencies: np.ndarray) -> dict:
    """A run's figures: requests per second over its time, p50/p99 latency, errors."""
    return {
        "rps": sent / max(elapsed, 1e-9),
        "p50_ms": float(np.percentile(latencies, 50) * 1000),
        "p99_ms": float(np.percentile(latencies, 99) * 1000),
        "errors": errors,
        "sent": sent,
        "elapsed": elapsed,
        "latencies": latencies,
    }


CPU_KEYS = ("cpu_ms", "db_cpu_ms", "client_cpu_ms")


def merged(results: list[dict]) -> dict:
    """Several runs of one app as one: requests over the time they ran, all their latencies, and
    CPU per request over all their requests."""
    sent = sum(r["sent"] for r in results)
    out = summary(
        sent,
        sum(r["errors"] for r in results),
        sum(r["elapsed"] for r in results),
        np.concatenate([r["latencies"] for r in results]),
    )
    for key in CPU_KEYS:
        if sent and all(key in r for r in results):
            out[key] = sum(r[key] * r["sent"] for r in results) / sent
    return out


def alternated(
    apps: list[tuple[int, int | None, int, str]],
    route: str,
    args: argparse.Namespace,
    offset: int,
) -> tuple[list[dict], int]:
    """Each app (server pid, database pid, port, base URL) at full speed in turn, ``--rounds``
    times for ``--seconds / --rounds`` each, merged per app: a slower spell of the machine (other
    tenants of a shared host) then falls on every app alike instead of on one of them. Returns the
    results and the next unused CallSid offset."""
    runs: list[list[dict]] = [[] for _ in apps]
    seconds = args.seconds / args.rounds
    for _ in range(args.rounds):
        for results, (server, database, port, base) in zip(runs, apps, strict=True):
            run = (port, base, route, seconds, args.connections, None, offset)
            results.append(with_cpu(server, database, *run))
            offset += int(seconds * MAX_RPS) + args.connections
    return [merged(results) for results in runs], offset


def write_behind_lag(port: int, base: str, args: argparse.Namespace, offset: int) -> dict:
    """A full-speed menu turn, then ``/healthz`` until the workers' journals are empty: what the
    write-behind still held when the turn's connections had ended, and how long the database took
    to take it."""
    run = drive(port, base, "menu", args.seconds / args.rounds, args.connections, None, offset)
    started = time.monotonic()
    held = None
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        while time.monotonic() - started < 30:
            connection.request("GET", "/healthz")
            backlog = json.loads(connection.getresponse().read())["write_behind"]
            waiting = backlog.get("journal_bytes", 0)
            held = waiting if held is None else held
            if not waiting:
                break
            time.sleep(0.005)
    finally:
        connection.close()
    seconds = time.monotonic() - started
    return {"bytes": held or 0, "seconds": seconds, "accepted": run["sent"] - run["errors"]}


def on_hold(
    port: int,
    base: str,
    args: argparse.Namespace,
    offset: int,
    half_rate: float,
    control: tuple[int, str],
) -> dict:
    """``--hold-callers`` callers reach a queue through the menu, and poll the hold loop alone
    (their own latency). The menu is then driven at full speed in turns of ``--seconds /
    --rounds``, ``--rounds`` times each: alone, while they poll, and while the same polls go to
    the bare app at ``control`` (port, base URL) instead, in an order that moves on by one each
    round (the database grows during the runs, and a slower spell of the machine falls on all
    alike). The control turns show what polls at that rate cost the menu on these cores whatever
    answers them (their load generator, the scheduler, a server's share): Hotline's hold loop
    degrades the menu only by what it costs beyond that. Then the menu runs at half the bare
    app's menu rate alone and while they poll, alternating (the p99 target's load). Then they
    all hang up.

    A turn with polls signs its menu requests first, starts the polls, and only then the menu;
    the polls go on until after the menu has ended (a turn where they did not is reported)."""
    import threading

    callers = args.hold_callers
    rate = callers / args.hold_poll_s
    turn = args.seconds / args.rounds
    menu_offset = offset + 10**6

    def poll(seconds: float, to: tuple[int, str] = (port, base)) -> dict:
        return drive(to[0], to[1], "hold", seconds, 4, rate, offset, callers=callers)

    def menu_requests(menu_rate: float | None) -> tuple[int, list[list]]:
        nonlocal menu_offset
        menu_offset += 10**6
        connections = 2 * args.connections if menu_rate else args.connections
        batches = signed_batches("menu", base, turn, connections, menu_rate, menu_offset)
        return connections, batches

    def menu(menu_rate: float | None) -> dict:
        connections, batches = menu_requests(menu_rate)
        return drive(port, base, "menu", turn, connections, menu_rate, 0, batches=batches)

    def polling(menu_rate: float | None, to: tuple[int, str] = (port, base)) -> tuple[dict, dict]:
        connections, batches = menu_requests(menu_rate)  # signed before the polls start
        polls: dict = {}
        lead = 0.5  # the polls are under way before the menu starts
        poller = threading.Thread(
            target=lambda: polls.update(poll(lead + 0.3 + 0.02 * connections + turn + 0.5, to))
        )
        poller.start()
        time.sleep(lead)
        result = drive(port, base, "menu", turn, connections, menu_rate, 0, batches=batches)
        poller.join()
        (menu_began, menu_ended), (polls_began, polls_ended) = result["span"], polls["span"]
        if polls_began > menu_began or polls_ended < menu_ended:
            print(
                f"  note: the polls ran from {polls_began - menu_began:+.2f} s to"
                f" {polls_ended - menu_ended:+.2f} s of the menu's start and end (not all of it)",
                file=sys.stderr,
            )
        return result, polls

    def turns(menu_rate: float | None, kinds: tuple[str, ...]) -> dict[str, dict]:
        """The menu's turns of each kind ("alone", "polls", "control"), and the polls'."""
        runs: dict[str, list[dict]] = {kind: [] for kind in (*kinds, "hold", "control_hold")}
        for round_number in range(args.rounds):
            shift = round_number % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                if kind == "alone":
                    runs[kind].append(menu(menu_rate))
                    continue
                result, polled = polling(menu_rate, (port, base) if kind == "polls" else control)
                runs[kind].append(result)
                runs["hold" if kind == "polls" else "control_hold"].append(polled)
        return {kind: merged(results) for kind, results in runs.items() if results}

    enqueued = drive(port, base, "menu", 600, 4, None, offset, callers=callers)
    polls_alone = poll(args.seconds)  # their latency with nothing else under way
    full = turns(None, ("alone", "polls", "control"))
    half = turns(half_rate, ("alone", "polls"))
    # then they all hang up: each queue result updates that caller's entry (written behind)
    ended = drive(port, base, "queue_result", 600, 4, None, offset, callers=callers)
    return {
        "alone": full["alone"],
        "menu": full["polls"],
        "hold": full["hold"],
        "control": full["control"],
        "control_hold": full["control_hold"],
        "polls_alone": polls_alone,
        "half_alone": half["alone"],
        "half_menu": half["polls"],
        "half_hold": half["hold"],
        "enqueued": enqueued["sent"] - enqueued["errors"],
        "ended": ended["sent"] - ended["errors"],
    }


def hold_table(args: argparse.Namespace, crowd: dict, rows: list) -> str:
    """The menu with and without callers polling the hold loop. "Left" is the menu rate the cores
    still have room for if each poll takes what a hold-loop request took at full speed above
    (server, database and load generator): a menu much slower than that while they poll would
    mean the polls slow it down beyond their own cost (locks, the database, queueing). Those
    requests were from callers with no entry, who write nothing; a caller on hold sometimes updates
    theirs, so the rate left leans high."""
    alone = crowd["alone"]["rps"]
    hold, menu, polls_alone = crowd["hold"], crowd["menu"], crowd["polls_alone"]
    ours = {route: measured for route, _bare, measured, _half in rows}
    expected = ""
    if "cpu_ms" in ours.get("hold", {}) and "cpu_ms" in ours.get("menu", {}):
        per_poll = sum(ours["hold"].get(key, 0.0) for key in CPU_KEYS)
        per_menu = sum(ours["menu"].get(key, 0.0) for key in CPU_KEYS)
        left = alone - hold["rps"] * per_poll / per_menu
        expected = (
            f"{left:.0f} ({left / alone:.0%}; CPU per hold poll {per_poll:.2f} ms,"
            f" per menu request {per_menu:.2f} ms, server{' + database' if 'db_cpu_ms' in ours['menu'] else ''} + load generator)"
        )
    lines = [
        f"\n| {args.hold_callers} callers on hold, each polling every {args.hold_poll_s:g} s | menu rps | menu p50/p99 ms | hold polls/s | hold p50/p99 ms | errors (menu/hold) |",
        "|---|---:|---|---:|---|---|",
    ]

    def line(name: str, run: dict, polls: dict | None = None, share: str = "") -> str:
        hold_cells = (
            f"{polls['rps']:.0f} | {polls['p50_ms']:.1f}/{polls['p99_ms']:.1f} | {run['errors']}/{polls['errors']}"
            if polls
            else f" | | {run['errors']}/"
        )
        return f"| {name} | {run['rps']:.0f}{share} | {run['p50_ms']:.1f}/{run['p99_ms']:.1f} | {hold_cells} |"

    lines += [
        f"| their polls alone | | | {polls_alone['rps']:.0f} | {polls_alone['p50_ms']:.1f}/{polls_alone['p99_ms']:.1f} | /{polls_alone['errors']} |",
        line(f"full speed: menu alone ({args.rounds} turns)", crowd["alone"]),
        line(
            f"full speed: menu while they poll ({args.rounds} turns)",
            menu,
            hold,
            f" ({menu['rps'] / alone:.0%})",
        ),
        line(
            f"full speed: menu while the same polls go to the bare app (control, {args.rounds} turns)",
            crowd["control"],
            crowd["control_hold"],
            f" ({crowd['control']['rps'] / alone:.0%})",
        ),
        f"| full speed: menu left if the polls take only their own CPU | {expected or 'n/a'} | | | | |",
        line("half the bare menu rate: menu alone", crowd["half_alone"]),
        line(
            "half the bare menu rate: menu while they poll", crowd["half_menu"], crowd["half_hold"]
        ),
    ]
    return "\n".join(lines)


def cpu_cell(bare: dict, ours: dict) -> str:
    if "cpu_ms" not in bare or "cpu_ms" not in ours:
        return "n/a"
    cell = f"{bare['cpu_ms']:.2f} / {ours['cpu_ms']:.2f}"
    return cell + (f" (+{ours['db_cpu_ms']:.2f})" if "db_cpu_ms" in ours else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="the bare app and Hotline take turns at full speed this many times per route",
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--hold-callers",
        type=int,
        default=1000,
        help="callers on hold polling the hold loop while the menu is measured again (0: skip)",
    )
    parser.add_argument(
        "--hold-poll-s",
        type=float,
        default=10.0,
        help="seconds between two polls of one caller on hold (Twilio re-requests the waitUrl "
        "when its document ends; 10 s is shorter than any hold music)",
    )
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    (folder / "bare_app.py").write_text(BARE_APP)
    pg = None
    if args.db == "postgresql":
        from tests.conftest import PostgresServer, _pg_bindir

        pg = PostgresServer(_pg_bindir())
        pg.start()
        url = pg.create_database("bench")
    else:
        url = f"sqlite:///{folder / 'bench.db'}"
    hot_port, bare_port = free_port(), free_port()
    hot_base, bare_base = f"http://127.0.0.1:{hot_port}", f"http://127.0.0.1:{bare_port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "HOTLINE_PUBLIC_URL": hot_base,
        "HOTLINE_ALWAYS_OPEN": "1",
        "HOTLINE_SECRET_KEY": "bench",
        "PYTHONPATH": str(REPO),
        "HOTLINE_INSTANCE_PATH": str(folder / "instance"),
    }
    from ivr import create_app
    from ivr.store import db as dbmod

    os.environ.update({"DATABASE_URL": url})
    dbmod.upgrade(
        create_app({"AUTO_MIGRATE": False, "DATABASE_URL": url}).extensions["hotline.engine"]
    )
    env["HOTLINE_AUTO_MIGRATE"] = "0"
    servers = [
        start("ivr:create_app()", hot_port, args.workers, env, REPO),
        start("bare_app:app", bare_port, args.workers, env, folder),
    ]
    rows = []
    try:
        # warm both up first: workers still booting or importing must not count against either
        offset = 9 * 10**8
        drive(bare_port, bare_base, "menu", 2, args.connections, None, offset)
        warm = drive(hot_port, hot_base, "menu", 2, args.connections, None, offset)
        offset = 0
        database = int((pg.data / "postmaster.pid").read_text().split()[0]) if pg else None
        for route in ("menu", "hold", "queue_result"):
            apps = [
                (servers[1].pid, None, bare_port, bare_base),
                (servers[0].pid, database, hot_port, hot_base),
            ]
            (bare, ours), offset = alternated(apps, route, args, offset)
            half = drive(  # twice the connections: each waits for its answers, ours are slower
                hot_port,
                hot_base,
                route,
                args.seconds,
                2 * args.connections,
                bare["rps"] / 2,
                offset,
            )
            offset += 10**6
            rows.append((route, bare, ours, half))
            print(f"  {route}: done", file=sys.stderr, flush=True)
        lag = write_behind_lag(hot_port, hot_base, args, offset)
        offset += 10**6
        crowd = None
        if args.hold_callers:
            crowd = on_hold(
                hot_port, hot_base, args, offset, rows[0][1]["rps"] / 2, (bare_port, bare_base)
            )
            offset += 10**7
            print("  menu with callers on hold: done", file=sys.stderr, flush=True)
        for server in servers:  # workers write what their write-behind journals hold as they exit
            os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            server.wait(timeout=30)
        app = create_app({"AUTO_MIGRATE": False, "DATABASE_URL": url, "WRITE_BEHIND_S": 0})
        from sqlalchemy import func, select

        from ivr.store.db import session_scope
        from ivr.store.models import CallEvent, QueueEntry

        with session_scope(app) as session:
            menu_events = session.scalar(
                select(func.count()).select_from(CallEvent).where(CallEvent.event == "menu_choice")
            )
            entries = session.scalar(select(func.count()).select_from(QueueEntry))
            ended = session.scalar(
                select(func.count()).select_from(QueueEntry).where(QueueEntry.result.is_not(None))
            )
            duplicates = session.scalar(
                select(func.count()).select_from(
                    select(CallEvent.call_sid, CallEvent.dedupe_key)
                    .group_by(CallEvent.call_sid, CallEvent.dedupe_key)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
    finally:
        for server in servers:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if pg:
            pg.cleanup()
        shutil.rmtree(folder, ignore_errors=True)  # the database, journals and bare app
    print(
        f"| route ({args.db}, {args.workers} workers) | bare rps | Hotline rps | ratio | bare p50/p99 ms | Hotline p50/p99 ms | Hotline p99 at half bare rate | errors (bare/ours/half) | server CPU ms per request, bare / Hotline{' (+ database)' if pg else ''} |"
    )
    print("|---|---:|---:|---:|---|---|---:|---|---|")
    for route, bare, ours, half in rows:
        print(
            f"| {route} | {bare['rps']:.0f} | {ours['rps']:.0f} | {ours['rps'] / bare['rps']:.0%} | {bare['p50_ms']:.1f}/{bare['p99_ms']:.1f} | {ours['p50_ms']:.1f}/{ours['p99_ms']:.1f} | {half['p99_ms']:.1f} ms at {half['rps']:.0f} rps | {bare['errors']}/{ours['errors']}/{half['errors']} | {cpu_cell(bare, ours)} |"
        )
    print(
        f"\nwrite-behind after a full-speed menu turn: {lag['bytes'] / 1024:.0f} KiB in the workers'"
        f" journals when its connections had ended, all in the database {lag['seconds'] * 1000:.0f} ms"
        " later"
    )
    accepted = lag["accepted"] + sum(
        r["sent"] - r["errors"] for r in (warm, rows[0][2], rows[0][3])
    )
    if crowd:
        turns = ("alone", "menu", "control", "half_alone", "half_menu")
        menus = (crowd[name] for name in turns)
        accepted += crowd["enqueued"] + sum(r["sent"] - r["errors"] for r in menus)
        print(hold_table(args, crowd, rows))
    print(
        f"\nmenu requests accepted: {accepted}; menu_choice events stored: {menu_events}; queue entries: {entries}; duplicated events: {duplicates}"
    )
    if crowd:
        print(
            f"queue results of the callers on hold accepted: {crowd['ended']}; queue entries with a result: {ended}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
