"""``hotline simulate-calls``: act like Twilio against a running Hotline, in real time.

Callers arrive as a Poisson stream: random languages, menu choices by key or voice, some invalid
input; they wait in queues that the simulator keeps as Twilio would (hold music polls, patience,
callback requests), and simulated agents on the agent line take them with random handling times,
then callers rate the call. Every request is signed; any non-200 or invalid TwiML is counted and
reported. Only loopback addresses are accepted, and the run is bounded in time and requests.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.config.schema import HotlineConfig
from ivr.demo.twilio_sim import HttpTransport, Press, Silence, SimulatedCall, Speak, TwilioCallError

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


@dataclass
class Agent:
    agent_id: str
    call: SimulatedCall
    next_url: str = ""


@dataclass
class Report:
    calls: int = 0
    enqueued: int = 0
    answered: int = 0
    abandoned: int = 0
    callbacks_requested: int = 0
    callbacks_dialled: int = 0
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
            f"requests {self.requests}, errors {len(self.errors)}",
        ]
        out += [f"  error: {e}" for e in self.errors[:20]]
        return out


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
        self.queues: dict[str, deque[Caller]] = {q: deque() for q in cfg.queue_ids()}
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
            self.report.enqueued += 1
            self.report.by_queue[name] += 1
            self.at(now, lambda: self.guarded("hold", lambda: self.hold(caller)))
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

    def hold(self, caller: Caller) -> None:
        if caller.gone:
            return
        now = time.monotonic()
        params = {
            "QueuePosition": str(self.position(caller)),
            "QueueTime": str(int(now - caller.entered)),
            "AvgQueueTime": "30",
            "CurrentQueueSize": str(len(self.queues[caller.queue])),
            "QueueSid": "QU" + "3" * 32,
        }
        from ivr.demo.twilio_sim import WAIT_VERBS

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
        self.at(now + 15, lambda: self.guarded("hold", lambda: self.hold(caller)))

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
        agent.next_url = redirect.text
        self.at(
            time.monotonic(),
            lambda: self.guarded(f"agent {agent_id}", lambda: self.agent_next(agent)),
        )
        return agent

    def agent_next(self, agent: Agent) -> None:
        root = self.post(agent.call, agent.next_url)
        dial = root.find("Dial")
        now = time.monotonic()
        if dial is None:
            self.at(
                now + 2,
                lambda: self.guarded(f"agent {agent.agent_id}", lambda: self.agent_next(agent)),
            )
            return
        after = dial.get("action")
        queue = dial.find("Queue")
        if queue is not None:
            waiting = self.queues[queue.text.strip()]
            caller = waiting.popleft() if waiting else None
            if caller is None or caller.gone:
                self.active += 1  # balanced by after()
                self.after(agent, after, "completed")
                return
            caller.gone = True
            self.post(caller.call, queue.get("url"), {"QueueResult": "bridged"})
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
        self.active -= 1
        root = self.post(agent.call, after, {"DialCallStatus": status})
        redirect = root.find("Redirect")
        agent.next_url = redirect.text if redirect is not None else agent.next_url
        self.at(
            time.monotonic() + 0.5,
            lambda: self.guarded(f"agent {agent.agent_id}", lambda: self.agent_next(agent)),
        )

    # -- the run

    def run(self) -> Report:
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
            when, _, action = self.events[0]
            if when > now:
                time.sleep(min(when - now, 0.2))
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
        for agent in agents:
            if agent is not None:
                self.guarded(
                    "log out", lambda a=agent: self.post(a.call, a.next_url, {"Digits": "*"})
                )
        return self.report

    def idle(self) -> bool:
        return self.active == 0 and all(not q for q in self.queues.values())
