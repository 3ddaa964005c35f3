"""Routing by language, and offering calls instead of waiting for agents to poll, on the demo's
week: a discrete-event simulation of the calls the demo forecasts with the agents its roster puts
on shift, routed by Hotline's own dispatcher (``ivr.voice.dispatch.pairings``).

The designs share the calls, the agents, the random handling times and patience, and the
queue's wrap-up after every call:

- ``poll, language-blind`` (the agent line before the dispatcher): a free agent takes the
  longest wait among their skills at their next poll of the agent line (right after a call, then
  every ``wait_poll_s`` plus the spoken prompt), whatever language the caller chose;
- ``push, language-blind``: the dispatcher offers at once, still ignoring languages;
- ``push, by language, overflow N s``: the dispatcher as configured (skill and language first,
  other languages after ``overflow_after_s``), with N from ``--overflow`` (60 s as shipped, and a
  shorter wait to show the trade-off).

Printed per design: calls, share answered in the caller's language, ASA, service level (answered
within the queue's answer time over answered + abandoned), abandonment, and the delay the design
adds between "this agent is free and this caller waits" and "the call is offered to them" (mean and
90th percentile). Calls forecast while the line is closed are left out (they hear the closed message).

Then the push path itself is timed on this machine (``--latency-trials``): a real app on loopback
and the caller simulator's stand-in of Twilio's REST API, from the request that frees a pairing to
the call update reaching the stand-in.

Run: ``python benchmarks/routing.py [--mix en:0.4,it:0.3,pl:0.12,ro:0.1,nb:0.08] [--seed 1]
[--overflow 60,20]``.
The demo's set-up (import, forecast, plan, roster; about two minutes on 2 cores) runs first in a
temporary folder; ``--roster DIR`` reuses a demo folder that has forecast.csv and roster.csv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import itertools
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.config.hours import OpeningHours  # noqa: E402
from ivr.config.loader import load_config  # noqa: E402
from ivr.config.schema import HotlineConfig  # noqa: E402
from ivr.voice.dispatch import Free, Waiting, pairings  # noqa: E402

PROMPT_S = 4.5  # "No callers are waiting. Stay on the line..." as spoken, before each poll wait
CALL_ENDED_S = 1.5  # "Call ended." before the old agent line asked for the next caller
PUSH_DELAY_S = 1.0  # dispatcher + Twilio's call update + the TwiML fetch (assumed, not measured)


@dataclass
class Caller:
    id: int
    queue: str
    language: str
    arrive: float
    handle: float
    patience: float
    answered: float | None = None
    agent: str | None = None
    gone: bool = False
    offered: bool = False


@dataclass
class AgentState:
    id: str
    shifts: list[tuple[float, float, float | None, float | None]]  # start, end, break from/to
    free_since: float | None = None  # free and on shift since; None when busy or off
    busy: bool = False
    delays: list[float] = field(default_factory=list)


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        code, _, share = part.partition(":")
        mix[code.strip()] = float(share)
    total = sum(mix.values())
    return {code: share / total for code, share in mix.items()}


def demo_week(folder: Path | None, seconds: float) -> Path:
    """A folder with the demo's forecast.csv and roster.csv (made now unless given)."""
    if folder is not None:
        return folder
    from ivr import create_app
    from ivr.demo.setup import setup

    work = Path(tempfile.mkdtemp(prefix="hotline-routing-"))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{work / 'demo.db'}",
            "INSTANCE_PATH": str(work / "instance"),
            "SECRET_KEY": "bench",
        }
    )
    setup(app, work / "demo", lambda m: print(f"  .. {m}", file=sys.stderr), seconds)
    return work / "demo"


def load_week(cfg: HotlineConfig, folder: Path):
    roster = pd.read_csv(folder / "roster.csv")
    week_start = pd.Timestamp(roster["date"].min()).tz_localize(cfg.tz)
    t0 = week_start.tz_convert("UTC")
    forecast = pd.read_csv(folder / "forecast.csv")
    forecast["interval_start"] = pd.to_datetime(forecast["interval_start"], utc=True)
    week = forecast[
        (forecast["interval_start"] >= t0)
        & (forecast["interval_start"] < t0 + pd.Timedelta(days=7))
        & (forecast["queue"].isin(cfg.queue_ids()))
    ]
    breaks = [t.unpaid_break.length_min for t in cfg.staffing.shift_templates if t.unpaid_break]
    break_min = max(breaks, default=30)
    shifts: dict[str, list] = {}
    for row in roster.itertuples():
        start = (pd.Timestamp(row.shift_start).tz_convert("UTC") - t0).total_seconds()
        end = (pd.Timestamp(row.shift_end).tz_convert("UTC") - t0).total_seconds()
        brk = None
        if isinstance(row.break_start, str) and row.break_start:
            brk = (pd.Timestamp(row.break_start).tz_convert("UTC") - t0).total_seconds()
        shifts.setdefault(row.agent, []).append(
            (start, end, brk, brk + 60 * break_min if brk is not None else None)
        )
    return week, shifts, t0


def make_calls(cfg: HotlineConfig, week: pd.DataFrame, t0, mix, rng) -> list[Caller]:
    codes = list(mix)
    shares = np.array([mix[c] for c in codes])
    out = []
    ids = itertools.count()
    width = 1800.0
    hours = OpeningHours.from_config(cfg)
    for row in week.itertuples():
        if not hours.is_open(row.interval_start.to_pydatetime()):
            continue  # the caller hears the closed message: never offered to an agent
        n = rng.poisson(max(float(row.calls), 0.0))
        if not n:
            continue
        queue = cfg.queue(row.queue)
        start = (row.interval_start - t0).total_seconds()
        for at in np.sort(rng.uniform(start, start + width, n)):
            out.append(
                Caller(
                    next(ids), row.queue, codes[rng.choice(len(codes), p=shares)], float(at),
                    float(rng.exponential(queue.aht_s)),
                    float(rng.exponential(queue.patience_s or 180.0)),
                )
            )  # fmt: skip
    return sorted(out, key=lambda c: c.arrive)


def simulate(cfg, calls, shifts, mode: str, blind: bool, poll_every: float, seed: int) -> dict:
    """One design over the week; returns its figures."""
    rng = np.random.default_rng(seed + 17)
    agents_cfg = {a.id: a for a in cfg.agents}
    routing_cfg = cfg
    if blind:  # every agent "speaks" every language: the old, language-blind choice
        every = list(cfg.line.languages)
        routing_cfg = cfg.model_copy(
            update={"agents": [a.model_copy(update={"languages": every}) for a in cfg.agents]}
        )
    routing_agents = {a.id: a for a in routing_cfg.agents}
    agents = {aid: AgentState(aid, sorted(s)) for aid, s in shifts.items() if aid in agents_cfg}
    events: list = []
    seq = itertools.count()

    def at(when: float, kind: str, *payload) -> None:
        heapq.heappush(events, (when, next(seq), kind, payload))

    def on_shift(agent: AgentState, now: float) -> bool:
        return any(
            s <= now < e and not (b is not None and b <= now < be) for s, e, b, be in agent.shifts
        )

    for agent in agents.values():
        for s, _e, b, be in agent.shifts:
            at(s, "free", agent.id)
            if b is not None:
                at(be, "free", agent.id)
    for call in calls:
        at(call.arrive, "arrive", call.id)
        at(call.arrive + call.patience, "abandon", call.id)
    by_id = {c.id: c for c in calls}
    waiting: dict[int, Caller] = {}
    answered_in_language = 0

    def free_now(now: float) -> list[AgentState]:
        return [
            a for a in agents.values()
            if not a.busy and a.free_since is not None and on_shift(a, now)
        ]  # fmt: skip

    def offer(call: Caller, agent: AgentState, now: float, connect_at: float) -> None:
        nonlocal answered_in_language
        call.offered = True
        waiting.pop(call.id, None)
        # the delay the design adds: from this agent free with this caller waiting to the offer
        became = max(call.arrive, agent.free_since)
        agent.busy, agent.free_since = True, None
        agent.delays.append(connect_at - became)
        at(connect_at, "connect", call.id, agent.id)

    def dispatch(now: float) -> None:
        free = free_now(now)
        if not free or not waiting:
            return
        items = [
            Waiting("entry", c.id, c.queue, c.language, _ts(c.arrive), str(c.id))
            for c in waiting.values()
        ]
        frees = [Free(routing_agents[a.id], _ts(a.free_since), "phone", a.id) for a in free]
        for item, chosen, _rank in pairings(items, frees, routing_cfg, _ts(now)):
            offer(by_id[item.id], agents[chosen.agent.id], now, now + PUSH_DELAY_S)

    while events:
        now, _, kind, payload = heapq.heappop(events)
        if kind == "arrive":
            call = by_id[payload[0]]
            waiting[call.id] = call
        elif kind == "abandon":
            call = by_id[payload[0]]
            if call.answered is None and not call.offered:
                call.gone = True
                waiting.pop(call.id, None)
        elif kind == "free":
            agent = agents[payload[0]]
            if not agent.busy and on_shift(agent, now) and agent.free_since is None:
                agent.free_since = now
                if mode == "poll":
                    at(now + rng.uniform(0, poll_every), "poll", agent.id)
        elif kind == "connect":
            call, agent = by_id[payload[0]], agents[payload[1]]
            call.answered, call.agent = now, agent.id
            if call.language in agents_cfg[agent.id].languages:
                answered_in_language += 1
            wrap = cfg.queue(call.queue).wrap_up_s
            at(now + call.handle + wrap, "done", agent.id)
        elif kind == "done":
            agent = agents[payload[0]]
            agent.busy = False
            if on_shift(agent, now):
                agent.free_since = now
                if mode == "poll":  # the old agent line asked for the next caller at once
                    at(now + CALL_ENDED_S, "poll", agent.id)
        elif kind == "poll":
            agent = agents[payload[0]]
            if agent.busy or agent.free_since is None:
                continue
            if not on_shift(agent, now):
                agent.free_since = None
                continue
            skills = set(agents_cfg[agent.id].skills)
            mine = [c for c in waiting.values() if c.queue in skills]
            if mine:
                offer(min(mine, key=lambda c: (c.arrive, c.id)), agent, now, now)
            else:
                at(now + poll_every, "poll", agent.id)
        if mode == "push":
            dispatch(now)
    return figures(cfg, calls, agents, answered_in_language)


_EPOCH = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def _ts(seconds: float) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=seconds)


def figures(cfg, calls, agents, in_language) -> dict:
    answered = [c for c in calls if c.answered is not None]
    abandoned = [c for c in calls if c.gone]
    within = sum(
        c.answered - c.arrive <= cfg.queue(c.queue).service_level.answer_time_s for c in answered
    )
    delays = np.array([d for a in agents.values() for d in a.delays])
    return {
        "calls": len(calls),
        "answered": len(answered),
        "in_language": round(in_language / len(answered), 4) if answered else None,
        "asa_s": round(float(np.mean([c.answered - c.arrive for c in answered])), 1),
        "service_level": round(within / (len(answered) + len(abandoned)), 4),
        "abandoned": round(len(abandoned) / len(calls), 4),
        "offer_delay_mean_s": round(float(delays.mean()), 2) if len(delays) else None,
        "offer_delay_p90_s": round(float(np.quantile(delays, 0.9)), 2) if len(delays) else None,
    }


def measure_dispatch(trials: int) -> dict[str, list[float]]:
    """The push path on this machine, end to end: a real app served on loopback, the REST
    stand-in of the simulator; seconds from the request that frees the pairing (an agent set
    available through the API; a caller's hold poll with an agent already free) to the call update
    reaching Twilio's stand-in."""
    import threading

    from werkzeug.serving import make_server

    from benchmarks.loopback import free_port
    from ivr import create_app
    from ivr.demo.twilio_sim import RestStandIn, twilio_signature
    from ivr.store.agent_states import set_state
    from ivr.store.db import session_scope
    from ivr.store.models import AgentAccount, AgentSession, QueueEntry

    work = Path(tempfile.mkdtemp(prefix="hotline-dispatch-"))
    rest = RestStandIn().start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    token, api = "bench-token", "bench-api"
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{work / 'line.db'}",
            "INSTANCE_PATH": str(work / "instance"),
            "SECRET_KEY": "bench",
            "TWILIO_AUTH_TOKEN": token,
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_REST_BASE_URL": rest.base_url,
            "HOTLINE_PUBLIC_URL": base,
            "API_TOKENS": [api],
            "ALWAYS_OPEN": True,
        }
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg = load_config()
    agent_ids = [a.id for a in cfg.agents if "orders" in a.skills and "en" in a.languages]
    out: dict[str, list[float]] = {"agent freed (API)": [], "caller on hold (hold poll)": []}
    import urllib.request

    def post(path: str, data: bytes, headers: dict) -> None:
        request = urllib.request.Request(base + path, data=data, headers=headers, method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def wait_move(t0: float) -> float:
        while time.perf_counter() - t0 < 10:
            if rest.take_moves():
                return time.perf_counter() - t0
            time.sleep(0.001)
        raise RuntimeError("no call update reached the stand-in within 10 s")

    now = dt.datetime.now(dt.UTC)
    for trial in range(trials):
        for how in out:
            agent = agent_ids[(2 * trial + (how != "agent freed (API)")) % len(agent_ids)]
            sid = f"CA{trial:016x}{len(out[how]):08x}{'a' if how[0] == 'a' else 'c'}" + "0" * 7
            with session_scope(app) as session:
                session.execute(QueueEntry.__table__.update().values(result="bench", ended_at=now))
                session.execute(AgentSession.__table__.update().values(logged_out_at=now))
                session.execute(AgentAccount.__table__.update().values(state="offline"))
                if session.scalar(select_account(agent)) is None:
                    session.add(AgentAccount(agent_id=agent, state="offline"))
                    session.flush()
                session.add(
                    AgentSession(agent_id=agent, call_sid=f"CAagent{sid}", logged_in_at=now)
                )
                session.add(
                    QueueEntry(call_sid=sid, queue="orders", language="en", entered_at=now,
                               original_entered_at=now)
                )  # fmt: skip
                first = "not_ready" if how == "agent freed (API)" else "available"
                set_state(session, agent, first, now, reason="break")
            rest.take_moves()
            t0 = time.perf_counter()
            if how == "agent freed (API)":
                post(
                    f"/api/agents/{agent}/state",
                    json.dumps({"state": "available"}).encode(),
                    {"Authorization": f"Bearer {api}", "Content-Type": "application/json"},
                )
            else:
                url = f"{base}/voice/wait?lang=en&queue=orders&step=2"
                form = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "QueuePosition": "1"}
                body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
                time.sleep(app.config["DISPATCH_HOLD_GAP_S"])  # the hold loop's throttle
                t0 = time.perf_counter()
                post(
                    url.removeprefix(base),
                    body,
                    {
                        "X-Twilio-Signature": twilio_signature(token, url, form),
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
            out[how].append(wait_move(t0))
    server.shutdown()
    rest.stop()
    return out


def select_account(agent_id: str):
    from sqlalchemy import select

    from ivr.store.models import AgentAccount

    return select(AgentAccount.id).where(AgentAccount.agent_id == agent_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mix", default="en:0.4,it:0.3,pl:0.12,ro:0.1,nb:0.08")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--roster", type=Path, default=None, help="a demo folder to reuse")
    parser.add_argument("--plan-seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--latency-trials",
        type=int,
        default=20,
        help="trials of the measured push path per trigger (0: none)",
    )
    parser.add_argument(
        "--overflow",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[60.0, 20.0],
        help="overflow_after_s of the language-aware designs (default 60,20: the shipped 60 s)",
    )
    args = parser.parse_args()
    cfg = load_config()
    mix = parse_mix(args.mix)
    unknown = set(mix) - set(cfg.line.languages)
    if unknown:
        parser.error(f"--mix: unknown language(s) {', '.join(sorted(unknown))}")
    folder = demo_week(args.roster, args.plan_seconds)
    week, shifts, t0 = load_week(cfg, folder)
    rng = np.random.default_rng(args.seed)
    calls = make_calls(cfg, week, t0, mix, rng)
    poll_every = cfg.line.agent_line.wait_poll_s + PROMPT_S
    designs = [
        ("poll, language-blind", "poll", True, cfg),
        ("push, language-blind", "push", True, cfg),
    ]
    for seconds in args.overflow:
        queues = [q.model_copy(update={"overflow_after_s": seconds}) for q in cfg.queues]
        designs.append(
            (f"push, by language, overflow {seconds:g} s", "push", False,
             cfg.model_copy(update={"queues": queues}))
        )  # fmt: skip
    rows = []
    for name, mode, blind, design_cfg in designs:
        started = time.perf_counter()
        fresh = [Caller(c.id, c.queue, c.language, c.arrive, c.handle, c.patience) for c in calls]
        result = simulate(design_cfg, fresh, shifts, mode, blind, poll_every, args.seed)
        rows.append({"design": name, **result, "run_s": round(time.perf_counter() - started, 1)})
    week_label = t0.tz_convert(cfg.tz).date().isoformat()
    print(
        f"Routing on the demo's week of {week_label}: {len(calls)} calls, "
        f"{len(shifts)} rostered agents, languages {args.mix}; poll every "
        f"{poll_every:g} s, push delay {PUSH_DELAY_S:g} s (assumed); {os.cpu_count()} cores"
    )
    header = (
        "| design | calls | answered | in caller's language | ASA s | service level | "
        "abandoned | offer delay mean s | offer delay p90 s |"
    )
    print(header)
    print("|---|" + "---:|" * 8)
    for r in rows:
        print(
            f"| {r['design']} | {r['calls']} | {r['answered']} | {r['in_language']:.1%} | "
            f"{r['asa_s']} | {r['service_level']:.1%} | {r['abandoned']:.1%} | "
            f"{r['offer_delay_mean_s']} | {r['offer_delay_p90_s']} |"
        )
    latency = measure_dispatch(args.latency_trials) if args.latency_trials else {}
    if latency:
        print()
        print(
            "Push path measured on this machine (a real app on loopback, SQLite, Twilio's REST API"
            f" stood in by the simulator's stand-in), {args.latency_trials} trials each:"
        )
        print("| trigger | median s | p90 s | max s |")
        print("|---|---:|---:|---:|")
        for how, seconds in latency.items():
            arr = np.array(seconds)
            print(
                f"| {how} | {np.median(arr):.3f} | {np.quantile(arr, 0.9):.3f} | {arr.max():.3f} |"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"week": week_label, "mix": mix, "rows": rows, "push_latency_s": latency},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
