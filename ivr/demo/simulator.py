"""``hotline simulate-calls``: act like Twilio against a running Hotline, in real time.

Callers arrive as a Poisson stream: random languages, menu choices by key or voice, some invalid
input; they wait in queues that the simulator keeps as Twilio would (hold music polls, patience,
callback requests), and simulated agents on the agent line take them with random handling times,
then callers rate the call. Every request is signed; any non-200 or invalid TwiML is counted and
reported. Only loopback addresses are accepted, and the run is bounded in time and requests.

The app's dispatcher moves calls with Twilio's REST API: with ``rest_port`` the simulator serves
a stand-in of that API there (:class:`~ivr.demo.twilio_sim.RestStandIn`; the server's
``TWILIO_REST_BASE_URL`` points at it) and acts each move out as Twilio would: the moved call
fetches its new TwiML at once. Agents wrap up after each call and now and then take a break.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
import urllib.parse
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.config.schema import HotlineConfig
from ivr.demo.twilio_sim import (
    WAIT_VERBS,
    HttpTransport,
    Press,
    RestStandIn,
    Silence,
    SimulatedCall,
    Speak,
    TwilioCallError,
)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Caller:
    call: SimulatedCall
    queue: str
    wait_url: str
    action_url: str
    entered: float
    patience_until: float
    gone: bool = False
    epoch: int = 0  # a move by the REST API cancels the hold polls scheduled before it


@dataclass
class Agent:
    agent_id: str
    call: SimulatedCall
    next_url: str = ""
    epoch: int = 0  # a move by the REST API cancels the steps scheduled before it
    keys: deque = field(default_factory=deque)  # (digits, not before) to press at the next Gather


@dataclass
class Report:
    calls: int = 0
    enqueued: int = 0
    answered: int = 0
    abandoned: int = 0
    callbacks_requested: int = 0
    callbacks_dialled: int = 0
    moves: int = 0  # calls moved by the dispatcher through the REST API
    waiting_at_end: int = 0  # callers still in a queue when the run ended
    breaks: int = 0
    surveys: int = 0
    closed: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    by_queue: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        queues = ", ".join(f"{q} {n}" for q, n in sorted(self.by_queue.items()))
        out = [
            f"calls {self.calls}: {self.enqueued} queued ({queues}), {self.answered} answered, {self.abandoned} abandoned, "
            f"{self.callbacks_requested} callbacks requested ({self.callbacks_dialled} dialled by agents), {self.surveys} surveys, {self.closed} met the closed line",
            f"{self.moves} calls moved by the dispatcher, {self.breaks} agent breaks, "
            f"{self.waiting_at_end} callers still waiting at the end",
            f"requests {self.requests}, errors {len(self.errors)}",
        ]
        out += [f"  error: {e}" for e in self.errors[:20]]
        return out


def covering_agents(cfg: HotlineConfig, count: int) -> list[str]:
    """``count`` agents of the configuration that between them speak every language of the line
    and cover every queue where they can (greedy: the agent adding most first, in file order)."""
    needed = {("language", code) for code in cfg.line.languages} | {
        ("queue", q) for q in cfg.queue_ids()
    }
    chosen: list[str] = []
    pool = list(cfg.agents)

    def covers(agent) -> set[tuple[str, str]]:
        return {("language", c) for c in agent.languages} | {("queue", q) for q in agent.skills}

    while pool and len(chosen) < count:
        left = needed
        best = max(pool, key=lambda agent: len(covers(agent) & left))  # first of the best
        pool.remove(best)
        chosen.append(best.id)
        needed = needed - covers(best)
    return chosen


def parse_rate(text: str) -> float:
    number, _, unit = text.partition("/")
    value = float(number)
    per = {"s": 1, "": 1, "min": 60, "m": 60, "h": 3600}[unit.strip() or "s"]
    if value <= 0:
        raise ValueError("rate must be positive")
    return value / per


def parse_seconds(text: str) -> float:
    text = text.strip()
    for suffix, factor in (("min", 60), ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


class Simulator:
    def __init__(
        self,
        cfg: HotlineConfig,
        url: str,
        token: str,
        *,
        rate_per_s: float,
        duration_s: float,
        seed: int = 0,
        agents: list[str] | None = None,
        agent_pin: str = "1234",
        handle_s: float = 20.0,
        patience_s: float = 60.0,
        max_requests: int = 50_000,
        say: Callable[[str], None] | None = None,
        rest_port: int | None = None,
        rest: RestStandIn | None = None,
        wrap_up_s: float | None = None,
        break_chance: float = 0.05,
        break_s: float | None = None,
    ):
        host = urllib.parse.urlparse(url).hostname
        if host not in LOOPBACK:
            raise ValueError(
                f"{url}: the simulator only talks to this machine (127.0.0.1, localhost, ::1)"
            )
        self.cfg, self.base, self.token = cfg, url.rstrip("/"), token
        self.rng = random.Random(seed)
        self.rate, self.duration = rate_per_s, duration_s
        self.agent_ids = agents if agents is not None else [a.id for a in cfg.agents[:4]]
        self.agent_pin, self.handle_s, self.patience_s = agent_pin, handle_s, patience_s
        self.transport = HttpTransport(timeout_s=10)
        self.report = Report()
        # Twilio's queues: the line's, and each agent's own (``agent-A001``)
        self.queues: dict[str, deque[Caller]] = defaultdict(deque)
        self.rest_port = rest_port
        self.rest = rest  # a stand-in already listening (its port told to the server)
        self.wrap_up_s = wrap_up_s if wrap_up_s is not None else handle_s / 4
        self.break_chance = break_chance
        self.break_s = break_s if break_s is not None else 3 * handle_s
        self.by_sid: dict[str, Caller | Agent] = {}
        self.events: list[tuple[float, int, Callable[[], None]]] = []
        self.counter = itertools.count()
        self.max_requests = max_requests
        self.say = say or (lambda _m: None)
        self.numbers = itertools.count(1)
        self.active = 0  # calls in progress with an agent

    # -- plumbing

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, (when, next(self.counter), action))

    def new_call(self, from_number: str, to_number: str = "+18005550100") -> SimulatedCall:
        return SimulatedCall(
            self.transport,
            self.base,
            self.token,
            from_number=from_number,
            to_number=to_number,
            stop_at_enqueue=True,
            max_requests=200,
        )

    def post(self, call: SimulatedCall, url: str, extra: dict | None = None, allowed=None):
        self.report.requests += 1
        if self.report.requests > self.max_requests:
            raise RuntimeError("request budget used up")
        return (
            call.post(url if url.startswith("http") else self.base + url, extra, allowed)
            if allowed
            else call.post(url if url.startswith("http") else self.base + url, extra)
        )

    def guarded(self, what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except TwilioCallError as exc:
            self.report.errors.append(f"{what}: {exc}")

    # -- callers

    def arrive(self) -> None:
        self.report.calls += 1
        number = f"+39333{next(self.numbers):07d}"
        call = self.new_call(number)
        lang = self.rng.choice(self.cfg.languages)
        inputs = []
        if self.rng.random() < 0.1:
            inputs.append(Press("8"))  # no such language
        inputs.append(Press(lang.key))
        if self.rng.random() < 0.1:
            inputs.append(Press("7"))  # no such option
        queue = self.rng.choice(self.cfg.queues)
        if self.rng.random() < 0.15 and lang.keywords.get(queue.id):
            inputs.append(Speak(self.rng.choice(lang.keywords[queue.id])))
        else:
            inputs.append(Press(queue.key))
        inputs.append(Press("2"))  # a callback, should the line be closed

        def run() -> None:
            before = len(call.requests)
            call.follow(
                call.post(f"{self.base}/voice/incoming", {"CallStatus": "ringing"}),
                f"{self.base}/voice/incoming",
                deque(inputs),
            )
            self.report.requests += len(call.requests) - before
            if call.pending_enqueue is None:
                self.report.closed += 1
                call.status_callback("completed")
                return
            verb, url = call.pending_enqueue
            name = call.enqueued[-1]
            now = time.monotonic()
            caller = Caller(
                call,
                name,
                urllib.parse.urljoin(url, verb.get("waitUrl")),
                urllib.parse.urljoin(url, verb.get("action")),
                now,
                now + self.rng.expovariate(1 / self.patience_s),
            )
            self.queues[name].append(caller)
            self.by_sid[call.call_sid] = caller
            self.report.enqueued += 1
            self.report.by_queue[name] += 1
            self.at(now, lambda: self.guarded("hold", lambda: self.hold(caller, caller.epoch)))
            self.at(
                caller.patience_until, lambda: self.guarded("abandon", lambda: self.abandon(caller))
            )

        self.guarded(f"call {number}", run)

    def position(self, caller: Caller) -> int:
        return (
            list(self.queues[caller.queue]).index(caller) + 1
            if caller in self.queues[caller.queue]
            else 1
        )

    def hold(self, caller: Caller, epoch: int) -> None:
        if caller.gone or caller.epoch != epoch:
            return
        now = time.monotonic()
        params = {
            "QueuePosition": str(self.position(caller)),
            "QueueTime": str(int(now - caller.entered)),
            "AvgQueueTime": "30",
            "CurrentQueueSize": str(len(self.queues[caller.queue])),
            "QueueSid": "QU" + "3" * 32,
        }
        root = self.post(caller.call, caller.wait_url, params, WAIT_VERBS)
        gather = root.find("Gather")
        if gather is not None and self.rng.random() < 0.3:
            action = urllib.parse.urljoin(caller.wait_url, gather.get("action"))
            answer = self.post(
                caller.call,
                action,
                {**params, "Digits": self.cfg.line.hold.callback_key},
                WAIT_VERBS,
            )
            if answer.find("Leave") is not None:
                self.leave(caller, "leave")
                self.report.callbacks_requested += 1
                return
        self.at(now + 15, lambda: self.guarded("hold", lambda: self.hold(caller, epoch)))

    def leave(self, caller: Caller, result: str) -> None:
        caller.gone = True
        if caller in self.queues[caller.queue]:
            self.queues[caller.queue].remove(caller)
        waited = int(time.monotonic() - caller.entered)
        self.post(
            caller.call,
            caller.action_url,
            {"QueueResult": result, "QueueTime": str(waited), "QueueSid": "QU" + "3" * 32},
        )
        caller.call.status_callback("completed")

    def abandon(self, caller: Caller) -> None:
        if caller.gone:
            return
        self.report.abandoned += 1
        self.leave(caller, "hangup")

    # -- calls moved by the REST API

    def move(self, sid: str, url: str) -> None:
        """Twilio moved a call to new TwiML (the dispatcher's REST call): act it out now."""
        self.report.moves += 1
        target = self.by_sid.get(sid)
        if isinstance(target, Agent):
            target.epoch += 1
            self.agent_post(target, target.epoch, url, None)
        elif isinstance(target, Caller) and not target.gone:
            self.move_caller(target, url)

    def move_caller(self, caller: Caller, url: str) -> None:
        caller.epoch += 1
        if caller in self.queues[caller.queue]:
            self.queues[caller.queue].remove(caller)
        root = self.post(caller.call, url)
        enqueue = root.find("Enqueue")
        if enqueue is None:  # anything else ends the wait here: the call is over
            caller.gone = True
            caller.call.status_callback("completed")
            return
        caller.queue = (enqueue.text or "").strip()
        caller.wait_url = urllib.parse.urljoin(url, enqueue.get("waitUrl"))
        caller.action_url = urllib.parse.urljoin(url, enqueue.get("action"))
        self.queues[caller.queue].append(caller)
        self.hold(caller, caller.epoch)

    # -- agents

    def start_agent(self, agent_id: str) -> Agent | None:
        call = self.new_call(f"+39344{next(self.numbers):07d}", to_number="+18005550199")
        agent = Agent(agent_id, call)
        root = self.post(
            call, f"/voice/agent/pin?agent={agent_id}&attempt=1", {"Digits": self.agent_pin}
        )
        redirect = root.find("Redirect")
        if redirect is None:
            self.report.errors.append(
                f"agent {agent_id} could not log in (set the PIN with `hotline agents set-pin`)"
            )
            return None
        self.by_sid[call.call_sid] = agent
        agent.next_url = f"{self.base}/voice/agent/next?agent={agent_id}"
        self.at(
            time.monotonic(),
            lambda: self.guarded(
                f"agent {agent_id}", lambda: self.agent_post(agent, agent.epoch, agent.next_url)
            ),
        )
        return agent

    def agent_post(self, agent: Agent, epoch: int, url: str, extra: dict | None = None) -> None:
        """One step of the agent line, unless a move came since it was scheduled."""
        if epoch != agent.epoch:
            return
        url = urllib.parse.urljoin(self.base + "/", url)
        self.agent_answer(agent, self.post(agent.call, url, extra), url)

    def agent_answer(self, agent: Agent, root, url: str) -> None:
        """What the agent line answered: a ``<Dial>`` is a call; a ``<Gather>`` loop waits for a
        key (a wrap-up ended, a break begun or over) or its timeout, or for a move."""
        dial = root.find("Dial")
        if dial is not None:
            self.agent_dial(agent, dial, url)
            return
        agent.epoch += 1
        epoch = agent.epoch
        now = time.monotonic()
        gather = root.find("Gather")
        timeout = float(gather.get("timeout") or 5) if gather is not None else 0.0
        name = f"agent {agent.agent_id}"
        if gather is not None and agent.keys and agent.keys[0][1] < now + timeout:
            digits, when = agent.keys.popleft()
            action = urllib.parse.urljoin(url, gather.get("action") or url)
            self.at(
                max(now, when),
                lambda: self.guarded(
                    name, lambda: self.agent_post(agent, epoch, action, {"Digits": digits})
                ),
            )
            return
        redirect = root.find("Redirect")
        if redirect is not None:
            target = urllib.parse.urljoin(url, redirect.text)
            self.at(
                now + timeout,
                lambda: self.guarded(name, lambda: self.agent_post(agent, epoch, target)),
            )

    def agent_dial(self, agent: Agent, dial, url: str) -> None:
        now = time.monotonic()
        after = urllib.parse.urljoin(url, dial.get("action"))
        queue = dial.find("Queue")
        if queue is not None:
            waiting = self.queues[queue.text.strip()]
            caller = waiting.popleft() if waiting else None
            if caller is None or caller.gone:
                self.active += 1  # balanced by after()
                self.after(agent, after, "completed")
                return
            caller.gone = True
            self.post(
                caller.call, urllib.parse.urljoin(url, queue.get("url")), {"QueueResult": "bridged"}
            )
            self.report.answered += 1
            self.active += 1
            handle = self.rng.expovariate(1 / self.handle_s)
            self.at(
                now + handle,
                lambda: self.guarded("hang up", lambda: self.end_call(agent, caller, after)),
            )
            return
        self.report.callbacks_dialled += 1
        self.active += 1
        status = "completed" if self.rng.random() < 0.8 else "no-answer"
        handle = self.rng.expovariate(1 / self.handle_s) if status == "completed" else 1.0
        self.at(
            now + handle, lambda: self.guarded("callback", lambda: self.after(agent, after, status))
        )

    def end_call(self, agent: Agent, caller: Caller, after: str) -> None:
        waited = int(time.monotonic() - caller.entered)
        root = self.post(
            caller.call,
            caller.action_url,
            {"QueueResult": "bridged", "QueueTime": str(waited), "QueueSid": "QU" + "3" * 32},
        )
        if self.rng.random() < 0.6:  # most callers stay for the survey
            inputs = deque([Press(str(self.rng.choice([3, 4, 4, 5, 5]))), Silence()])
            caller.call.follow(root, caller.action_url, inputs)
            self.report.surveys += 1
        caller.call.status_callback("completed")
        self.after(agent, after, "completed")

    def after(self, agent: Agent, after: str, status: str) -> None:
        """The agent's call ended: wrap-up, then ready again (# ends it), or now and then a
        break first (0, then 1 when it is over)."""
        self.active -= 1
        now = time.monotonic()
        wrap = self.rng.expovariate(1 / self.wrap_up_s) if self.wrap_up_s > 0 else 0.0
        if self.rng.random() < self.break_chance:
            self.report.breaks += 1
            agent.keys = deque([("0", now + wrap), ("1", now + wrap + self.break_s)])
        else:
            agent.keys = deque([("#", now + wrap)])
        agent.epoch += 1
        self.agent_post(agent, agent.epoch, after, {"DialCallStatus": status})

    # -- the run

    def run(self) -> Report:
        rest = self.rest
        if rest is None and self.rest_port is not None:
            rest = RestStandIn(self.rest_port)
        if rest is not None and not rest.thread.is_alive():
            rest.start()
        try:
            return self._run(rest)
        finally:
            if rest is not None:
                rest.stop()

    def _run(self, rest: RestStandIn | None) -> Report:
        start = time.monotonic()
        end = start + self.duration
        deadline = end + min(3 * self.handle_s + self.patience_s, 120.0)  # drain, but not forever
        agents = []
        for agent_id in self.agent_ids:
            self.guarded(f"agent {agent_id}", lambda a=agent_id: agents.append(self.start_agent(a)))
        when = start
        while True:
            when += self.rng.expovariate(self.rate)
            if when >= end:
                break
            self.at(when, self.arrive)
        last_note = start
        while self.events:
            now = time.monotonic()
            if now >= deadline or (now >= end and self.idle()):
                break
            for sid, url in rest.take_moves() if rest is not None else ():
                self.guarded("move", lambda s=sid, u=url: self.move(s, u))
            when, _, action = self.events[0]
            if when > now:
                time.sleep(min(when - now, 0.05))
                continue
            heapq.heappop(self.events)
            try:
                action()
            except RuntimeError as exc:
                self.report.errors.append(str(exc))
                break
            if now - last_note > 10:
                last_note = now
                self.say(
                    f"{int(now - start)} s: {self.report.calls} calls, {sum(len(q) for q in self.queues.values())} waiting, {self.report.answered} answered"
                )
        self.report.waiting_at_end = sum(
            1 for q in self.queues.values() for caller in q if not caller.gone
        )
        for agent in agents:
            if agent is not None:
                self.guarded(
                    "log out",
                    lambda a=agent: self.post(
                        a.call, f"{self.base}/voice/agent/next?agent={a.agent_id}", {"Digits": "*"}
                    ),
                )
        return self.report

    def idle(self) -> bool:
        return self.active == 0 and all(not q for q in self.queues.values())
