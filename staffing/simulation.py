"""Discrete-event simulation of calls and the agents who answer them.

Two simulations, one idea: draw the calls, let the agents on duty answer them, count what callers
would live through, interval by interval.

- :func:`simulate`: one queue, agents on line per interval, first come first served. It is the
  tests' oracle of the Erlang C and Erlang A formulas (:mod:`staffing.erlang`).
- :class:`LineSimulation`: the whole line, to check a plan and its roster. Calls of each queue
  and language arrive by Poisson in each interval (the interval's expected calls times the
  language's share of the queue; arrival times uniform within the interval), handling times are
  exponential around the interval's AHT, callers hang up after an exponential patience of the
  queue's mean (``patience_s``; ``None``: they wait as long as it takes), and after each call the
  agent does the queue's wrap-up. Agents take calls while on duty (their shifts less their
  breaks, and less the intervals ``shrinkage`` takes them off the phones at random; at the end of
  a stretch they finish the call in hand) and are routed as the live
  dispatcher routes them (:func:`rank`): each waiting caller, oldest first, to the best-ranked
  free agent, the one free longest among equals. :meth:`LineSimulation.run` repeats the week
  with independent random numbers and gives, per interval and queue (and the line's total), the
  service level (answered within the queue's answer time over offered), the ASA (mean wait of
  the answered) and the abandonment (hung up over offered), each the mean over the replications
  with a 95 % confidence interval for it (Student's t over the replications).

Calls count in the interval they arrive in. With ``forecast_band`` each replication also draws
how busy each day is from the forecast's band (:func:`band_dispersion`), so the means and their
intervals take in the forecast's own uncertainty, not only the line's randomness.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from staffing.erlang import _check, _check_agents
from staffing.routing import LANGUAGE, OTHER_QUEUE, OTHER_QUEUE_LANGUAGE, OVERFLOW, rank

ArrayLike = np.typing.ArrayLike

__all__ = [
    "LANGUAGE",
    "OVERFLOW",
    "OTHER_QUEUE_LANGUAGE",
    "OTHER_QUEUE",
    "REPORT_COLUMNS",
    "TOTAL",
    "LineReport",
    "LineSimulation",
    "Replication",
    "SimAgent",
    "SimQueue",
    "SimulationResult",
    "band_dispersion",
    "rank",
    "simulate",
]


# --------------------------------------------------------------------------- one queue


@dataclass(frozen=True)
class SimulationResult:
    """Per-interval outcomes, by the interval each call *arrived* in.

    ``intervals`` columns: ``offered, answered, abandoned, answered_within, service_level``
    (answered within the target / offered), ``asa_s`` (mean wait of answered calls),
    ``abandon_rate``; ``waits_s`` holds each answered call's wait (for distributions).
    """

    intervals: pd.DataFrame
    waits_s: np.ndarray

    def total(self) -> dict[str, float]:
        df = self.intervals
        offered = df["offered"].sum()
        answered = df["answered"].sum()
        return {
            "offered": float(offered),
            "answered": float(answered),
            "abandoned": float(df["abandoned"].sum()),
            "service_level": float(df["answered_within"].sum() / offered) if offered else 1.0,
            "abandon_rate": float(df["abandoned"].sum() / offered) if offered else 0.0,
            "asa_s": float((df["asa_s"] * df["answered"]).sum() / answered) if answered else 0.0,
        }


def simulate(
    calls: ArrayLike,
    agents: ArrayLike,
    *,
    interval_s: float,
    aht_s: ArrayLike,
    answer_time_s: float,
    patience_s: float | None = None,
    handle_times_s: ArrayLike | None = None,
    seed: int = 0,
) -> SimulationResult:
    """One queue over the intervals, once; same ``seed``, same result.

    ``calls`` are expected arrivals per interval (Poisson means); ``agents`` on line per interval
    (an agent whose interval ends finishes the call in hand), first come first served. With
    ``handle_times_s`` handling times are drawn from that sample instead of exponential.
    """
    calls = np.atleast_1d(_check("calls", calls, low=0, low_open=False))
    agents = np.atleast_1d(_check_agents(agents)).astype(int)
    aht = np.broadcast_to(np.atleast_1d(_check("aht_s", aht_s, low=0, low_open=True)), calls.shape)
    if agents.shape != calls.shape:
        raise ValueError(f"agents has {agents.shape[0]} intervals, calls {calls.shape[0]}")
    _check("interval_s", interval_s, low=0, low_open=True)
    if patience_s is not None:
        _check("patience_s", patience_s, low=0, low_open=True)
    rng = np.random.default_rng(seed)

    counts = rng.poisson(calls)
    interval_of = np.repeat(np.arange(calls.size), counts)
    arrivals = (interval_of + rng.random(interval_of.size)) * interval_s
    order = np.argsort(arrivals, kind="stable")
    arrivals, interval_of = arrivals[order], interval_of[order]
    if handle_times_s is not None:
        sample = _check("handle_times_s", handle_times_s, low=0, low_open=True)
        service = rng.choice(sample, size=arrivals.size)
    else:
        service = rng.exponential(aht[interval_of])
    patience = (
        rng.exponential(patience_s, arrivals.size)
        if patience_s is not None
        else np.full(arrivals.size, np.inf)
    )

    wait = np.full(arrivals.size, np.nan)  # NaN = abandoned
    busy_until: list[float] = []
    queue: deque[int] = deque()
    capacity = int(agents[0]) if agents.size else 0
    next_boundary = 1

    def start_waiting_calls(now: float) -> None:
        while queue and len(busy_until) < capacity:
            call = queue.popleft()
            if arrivals[call] + patience[call] <= now:
                continue  # hung up before an agent was free
            wait[call] = now - arrivals[call]
            heapq.heappush(busy_until, now + service[call])

    def next_event() -> tuple[float, bool]:
        """When the next departure or staffing change happens, and whether it is a departure."""
        departure = busy_until[0] if busy_until else np.inf
        boundary = next_boundary * interval_s if next_boundary < agents.size else np.inf
        return (departure, True) if departure <= boundary else (boundary, False)

    def apply(at: float, departure: bool) -> None:
        nonlocal capacity, next_boundary
        if departure:
            heapq.heappop(busy_until)
        else:
            capacity = int(agents[next_boundary])
            next_boundary += 1
        start_waiting_calls(at)

    for call in range(arrivals.size):
        now = arrivals[call]
        while (upcoming := next_event())[0] <= now:  # what happens before this arrival
            apply(*upcoming)
        if not queue and len(busy_until) < capacity:
            wait[call] = 0.0
            heapq.heappush(busy_until, now + service[call])
        else:
            queue.append(call)
    # drain: later departures and staffing changes serve whoever still waits (if nobody ever
    # answers again, the rest abandon)
    while queue and np.isfinite((upcoming := next_event())[0]):
        apply(*upcoming)

    answered = ~np.isnan(wait)
    within = answered & (np.nan_to_num(wait, nan=np.inf) <= answer_time_s)
    frame = pd.DataFrame(
        {
            "interval": interval_of,
            "answered": answered,
            "within": within,
            "wait": np.where(answered, wait, 0.0),
        }
    )
    grouped = frame.groupby("interval").agg(
        offered=("answered", "size"),
        answered=("answered", "sum"),
        answered_within=("within", "sum"),
        wait_sum=("wait", "sum"),
    )
    grouped = grouped.reindex(np.arange(calls.size), fill_value=0)
    grouped["abandoned"] = grouped["offered"] - grouped["answered"]
    offered = grouped["offered"].where(grouped["offered"] > 0)
    grouped["service_level"] = (grouped["answered_within"] / offered).fillna(1.0)
    grouped["asa_s"] = (
        grouped["wait_sum"] / grouped["answered"].where(grouped["answered"] > 0)
    ).fillna(0.0)
    grouped["abandon_rate"] = (grouped["abandoned"] / offered).fillna(0.0)
    grouped = grouped.drop(columns="wait_sum")
    return SimulationResult(
        grouped[
            [
                "offered",
                "answered",
                "abandoned",
                "answered_within",
                "service_level",
                "asa_s",
                "abandon_rate",
            ]
        ],
        wait[answered],
    )


# --------------------------------------------------------------------------- the line


@dataclass(frozen=True)
class SimQueue:
    """A queue as the simulation sees it (times in seconds).

    ``patience_s``: callers' mean patience (None: they never hang up); ``overflow_after_s``:
    after this wait agents of the skill who do not speak the caller's language may answer, and
    agents of the ``overflow_skills`` queues (None: never; 0: at once); ``wrap_up_s``: the
    agent's after-call work, during which they take no call."""

    id: str
    aht_s: float
    answer_time_s: float
    target: float  # the service level aimed at: answered within answer_time_s over offered
    patience_s: float | None = None
    overflow_after_s: float | None = 60.0
    overflow_skills: tuple[str, ...] = ()
    wrap_up_s: float = 0.0


@dataclass(frozen=True)
class SimAgent:
    """An agent: the queues they take (``skills``), the languages they speak, and when they are
    on duty: ``(start_s, end_s)`` stretches, seconds from the start of the first interval."""

    id: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    on_duty_s: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Replication:
    """One simulated run, call by call in order of arrival: ``interval``, ``queue`` and
    ``language`` (indices into the simulation's intervals, queues and languages),
    ``arrival_s``, ``wait_s`` until answered (NaN: hung up, or never answered) and ``agent``
    (index into the simulation's agents; -1: not answered)."""

    interval: np.ndarray
    queue: np.ndarray
    language: np.ndarray
    arrival_s: np.ndarray
    wait_s: np.ndarray
    agent: np.ndarray


REPORT_COLUMNS = [
    "interval", "queue", "calls", "agents", "offered",
    "service_level", "service_level_low", "service_level_high",
    "asa_s", "asa_s_low", "asa_s_high",
    "abandon_rate", "abandon_rate_low", "abandon_rate_high",
    "target", "answer_time_s", "replications",
]  # fmt: skip
TOTAL = "total"


@dataclass(frozen=True)
class LineReport:
    """The replications' figures per interval and queue, and per interval for the line
    (``queue`` ``total``).

    ``intervals`` columns (:data:`REPORT_COLUMNS`): ``interval`` (index), ``queue``, ``calls``
    (expected), ``agents`` (on duty with the queue's skill, on average over the interval; the
    total counts each agent once), ``offered`` (mean simulated), ``service_level``, ``asa_s``,
    ``abandon_rate`` each with ``_low`` and ``_high``, the 95 % confidence interval of the mean
    (NaN with fewer than two replications that had a call, or for ASA an answered call);
    ``target`` and ``answer_time_s`` (the total's target is the queues' weighted by their
    calls; it has no single answer time); ``replications`` (those with a call offered)."""

    intervals: pd.DataFrame
    replications: int
    seed: int
    forecast_band: bool

    def misses(self) -> pd.DataFrame:
        """Queue intervals whose mean service level is below their target, with ``sure``:
        whether even the upper end of its confidence interval is."""
        df = self.intervals
        missed = df[(df["queue"] != TOTAL) & (df["service_level"] < df["target"])].copy()
        missed["sure"] = missed["service_level_high"] < missed["target"]
        return missed.reset_index(drop=True)


def band_dispersion(calls: ArrayLike, p10: ArrayLike, p90: ArrayLike) -> float:
    """The over-dispersion ``alpha`` of a forecast's band, read as the forecaster makes it: a
    negative binomial with variance ``mean + alpha * mean**2`` (so a gamma-distributed rate of
    variance ``alpha * mean**2`` behind Poisson calls). Estimated from the intervals with at least
    5 calls expected, where the band is about normal (p90 - p10 = 2.563 standard deviations);
    0 when the band is no wider than Poisson's."""
    mean = np.asarray(calls, dtype=float).ravel()
    width = np.asarray(p90, dtype=float).ravel() - np.asarray(p10, dtype=float).ravel()
    keep = np.isfinite(mean) & np.isfinite(width) & (mean >= 5)
    if not keep.any():
        return 0.0
    m, sd = mean[keep], width[keep] / (2 * stats.norm.ppf(0.9))
    return float(max(0.0, (sd**2 - m).sum() / (m**2).sum()))


_OFF, _DONE, _ON, _OVERFLOW = 0, 1, 2, 3  # order of events at the same instant
_EPS_S = 1e-6  # float slack when a wait is compared with the overflow time


class LineSimulation:
    """The line for a run of intervals: its queues, languages and agents, and the calls expected.

    Parameters
    ----------
    queues, languages, agents
        What is simulated; agents' skills and languages outside these are ignored.
    calls
        Expected calls, intervals x queues (the forecast's mean).
    interval_s
        Length of an interval in seconds.
    language_shares
        Queues x languages: each queue's calls by language (rows are normalised; default: all in
        the first language).
    aht_s
        Intervals x queues: the AHT of each interval's calls (default, or where not above 0: the
        queue's ``aht_s``).
    calls_p10, calls_p90
        The forecast's band, intervals x queues: needed for ``forecast_band`` runs.
    day_intervals
        Intervals that make one day (the block a ``forecast_band`` draw holds for; default
        86400 / ``interval_s``).
    shrinkage
        The share of time on duty an agent is off the phones (paid breaks, training, meetings,
        absence): in each run each agent is away for each interval on duty with this
        probability (0 to below 1; default 0: always on the phones while on duty).
    """

    def __init__(
        self,
        queues: Sequence[SimQueue],
        languages: Sequence[str],
        agents: Sequence[SimAgent],
        calls: ArrayLike,
        *,
        interval_s: float,
        language_shares: ArrayLike | None = None,
        aht_s: ArrayLike | None = None,
        calls_p10: ArrayLike | None = None,
        calls_p90: ArrayLike | None = None,
        day_intervals: int | None = None,
        shrinkage: float = 0.0,
    ):
        if not queues:
            raise ValueError("queues: at least one queue is needed")
        if not languages:
            raise ValueError("languages: at least one language is needed")
        self.queues = list(queues)
        self.languages = list(languages)
        self.agents = sorted(agents, key=lambda a: a.id)  # ties go to the lower id, as live
        self.interval_s = float(_check("interval_s", interval_s, low=0, low_open=True))
        q_count, l_count = len(self.queues), len(self.languages)
        self.calls = np.atleast_2d(_check("calls", calls, low=0, low_open=False))
        if self.calls.shape[1] != q_count:
            raise ValueError(f"calls has {self.calls.shape[1]} queue columns, queues {q_count}")
        shape = self.calls.shape
        if language_shares is None:
            shares = np.zeros((q_count, l_count))
            shares[:, 0] = 1.0
        else:
            shares = _check("language_shares", language_shares, low=0, low_open=False)
            if shares.shape != (q_count, l_count):
                raise ValueError(
                    f"language_shares is {shares.shape[0]} x {shares.shape[1]},"
                    f" not queues x languages ({q_count} x {l_count})"
                )
            empty = np.flatnonzero(shares.sum(axis=1) <= 0)
            if empty.size:
                raise ValueError(f"language_shares: queue {self.queues[empty[0]].id} has none")
        self.shares = shares / shares.sum(axis=1, keepdims=True)
        default_aht = np.array([q.aht_s for q in self.queues], dtype=float)
        _check("queues' aht_s", default_aht, low=0, low_open=True)
        if aht_s is None:
            self.aht = np.broadcast_to(default_aht, shape).copy()
        else:
            given = np.broadcast_to(np.asarray(aht_s, dtype=float), shape)
            self.aht = np.where(np.isfinite(given) & (given > 0), given, default_aht)
        self.band = None
        if calls_p10 is not None and calls_p90 is not None:
            p10 = np.broadcast_to(_check("calls_p10", calls_p10, low=0, low_open=False), shape)
            p90 = np.broadcast_to(_check("calls_p90", calls_p90, low=0, low_open=False), shape)
            self.band = np.array(
                [band_dispersion(self.calls[:, q], p10[:, q], p90[:, q]) for q in range(q_count)]
            )
        self.day_intervals = int(day_intervals or max(1, round(86400 / self.interval_s)))
        self.shrinkage = float(_check("shrinkage", shrinkage, low=0, low_open=False, high=1))
        for agent in self.agents:
            for start, end in agent.on_duty_s:
                if not (math.isfinite(start) and math.isfinite(end) and end > start):
                    raise ValueError(f"agent {agent.id}: on duty {start:g}-{end:g} s is no stretch")

    # ----------------------------------------------------------------------- one run

    def rates(self, rng: np.random.Generator, forecast_band: bool) -> np.ndarray:
        """Calls expected per interval and queue in one run: the forecast, or with
        ``forecast_band`` the forecast times a gamma factor (mean 1, variance the queue's band
        ``alpha``) drawn per day and queue."""
        if not forecast_band:
            return self.calls
        if self.band is None:
            raise ValueError("forecast_band needs calls_p10 and calls_p90")
        days = -(-self.calls.shape[0] // self.day_intervals)
        alpha = self.band
        factor = np.ones((days, alpha.size))
        spread = alpha > 0
        factor[:, spread] = rng.gamma(1 / alpha[spread], alpha[spread], (days, int(spread.sum())))
        per_interval = np.repeat(factor, self.day_intervals, axis=0)[: self.calls.shape[0]]
        return self.calls * per_interval

    def replicate(
        self, seed: int | np.random.SeedSequence = 0, forecast_band: bool = False
    ) -> Replication:
        """One run of the intervals; the same seed gives the same run."""
        rng = np.random.default_rng(seed)
        q_count, l_count = len(self.queues), len(self.languages)
        expected = self.rates(rng, forecast_band)[:, :, None] * self.shares[None, :, :]
        counts = rng.poisson(expected).ravel()
        cell = np.repeat(np.arange(counts.size), counts)
        interval = cell // (q_count * l_count)
        queue = (cell // l_count) % q_count
        language = cell % l_count
        arrival = (interval + rng.random(cell.size)) * self.interval_s
        order = np.argsort(arrival, kind="stable")
        interval, queue, language, arrival = (
            a[order] for a in (interval, queue, language, arrival)
        )
        service = rng.exponential(self.aht[interval, queue])
        patience = np.array([q.patience_s or np.inf for q in self.queues], dtype=float)
        hang_up = arrival + rng.standard_exponential(arrival.size) * patience[queue]
        wrap = np.array([q.wrap_up_s for q in self.queues], dtype=float)
        duty = [self._on_phones(agent.on_duty_s, rng) for agent in self.agents]
        wait, agent = self._route(
            arrival, queue * l_count + language, service + wrap[queue], hang_up, duty
        )
        return Replication(interval, queue, language, arrival, wait, agent)

    def _on_phones(
        self, stretches: Sequence[tuple[float, float]], rng: np.random.Generator
    ) -> list[tuple[float, float]]:
        """An agent's stretches on duty less the intervals shrinkage takes them away for."""
        merged = _merged(stretches)
        if not self.shrinkage or not merged:
            return merged
        width = self.interval_s
        pieces = []
        for start, end in merged:
            cuts = np.arange(np.floor(start / width) + 1, np.ceil(end / width)) * width
            edges = np.concatenate([[start], cuts, [end]])
            pieces += list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))
        kept = rng.random(len(pieces)) >= self.shrinkage
        return _merged([p for p, keep in zip(pieces, kept, strict=True) if keep])

    def _route(
        self,
        arrival: np.ndarray,
        bucket: np.ndarray,
        busy_s: np.ndarray,
        hang_up: np.ndarray,
        duty: list[list[tuple[float, float]]],
    ) -> tuple[np.ndarray, np.ndarray]:
        """The dispatcher over the run. A caller waits in the deque of their queue and language
        (a "bucket"); a free agent sits in a heap per bucket they may take at rank 0 (skill and
        language). After every event no free agent may take any waiting caller, so an event only
        pairs what it changes: an arriving caller with the best free agent, a freed agent with
        the oldest caller they may take, a caller reaching the overflow wait with the best free
        agent of the wider ranks. Hung-up callers leave their deque when they reach its head."""
        l_count = len(self.languages)
        index = {q.id: i for i, q in enumerate(self.queues)}
        lang_index = {code: i for i, code in enumerate(self.languages)}
        over = [q.overflow_after_s for q in self.queues]
        n_buckets = len(self.queues) * l_count

        # for each bucket, the buckets whose free agents may take its callers, by rank
        tiers: list[list[list[int]]] = []
        for b in range(n_buckets):
            q, lang = divmod(b, l_count)
            others = [x for x in range(l_count) if x != lang]
            wider = [index[s] for s in self.queues[q].overflow_skills if s in index]
            tiers.append(
                [
                    [b],
                    [q * l_count + x for x in others],
                    [s * l_count + lang for s in wider],
                    [s * l_count + x for s in wider for x in others],
                ]
            )
        # for each agent, the buckets they sit in when free, and those they scan when freed
        # (with the wait a caller there needs first; None: none)
        sits: list[list[int]] = []
        scans: list[list[tuple[int, float | None]]] = []
        for agent in self.agents:
            skills = [index[s] for s in agent.skills if s in index]
            speaks = {lang_index[c] for c in agent.languages if c in lang_index}
            sits.append([q * l_count + x for q in skills for x in sorted(speaks)])
            scan: list[tuple[int, float | None]] = []
            for q in skills:
                for x in range(l_count):
                    if x in speaks:
                        scan.append((q * l_count + x, None))
                    elif over[q] is not None:
                        scan.append((q * l_count + x, over[q] - _EPS_S))
            for q, queue in enumerate(self.queues):
                if q in skills or over[q] is None:
                    continue
                if any(index.get(s) in skills for s in queue.overflow_skills):
                    scan += [(q * l_count + x, over[q] - _EPS_S) for x in range(l_count)]
            scans.append(scan)

        arrive = arrival.tolist()
        bucket_of = bucket.tolist()
        busy_for = busy_s.tolist()
        gone_at = hang_up.tolist()
        n = len(arrive)
        wait = [math.nan] * n
        who = [-1] * n
        a_count = len(self.agents)
        on_duty = [False] * a_count
        busy = [False] * a_count
        free = [False] * a_count
        token = [0] * a_count
        free_heaps: list[list[tuple[float, int, int]]] = [[] for _ in range(n_buckets)]
        waiting: list[deque[int]] = [deque() for _ in range(n_buckets)]
        events: list[tuple[float, int, int]] = []
        for a, stretches in enumerate(duty):
            for start, end in stretches:
                events += [(start, _ON, a), (end, _OFF, a)]
        heapq.heapify(events)
        push, pop = heapq.heappush, heapq.heappop

        def best_agent(b: int, ranks: int) -> int:
            for tier in tiers[b][:ranks]:
                best = None
                for bb in tier:
                    heap = free_heaps[bb]
                    while heap:
                        top = heap[0]
                        if free[top[1]] and token[top[1]] == top[2]:
                            if best is None or top < best:
                                best = top
                            break
                        pop(heap)
                if best is not None:
                    return best[1]
            return -1

        def answer(c: int, a: int, now: float) -> None:
            wait[c] = now - arrive[c]
            who[c] = a
            busy[a] = True
            free[a] = False
            token[a] += 1
            push(events, (now + busy_for[c], _DONE, a))

        def head(b: int, now: float) -> int:
            line = waiting[b]
            while line:
                c = line[0]
                if gone_at[c] > now:
                    return c
                line.popleft()  # hung up while waiting
            return -1

        def oldest_for(a: int, now: float) -> tuple[int, int]:
            best_c, best_b = -1, -1
            for b, needs in scans[a]:
                if not waiting[b]:
                    continue
                c = head(b, now)
                if c < 0 or (needs is not None and now - arrive[c] < needs):
                    continue
                if best_c < 0 or c < best_c:
                    best_c, best_b = c, b
            return best_c, best_b

        def make_free(a: int, now: float) -> None:
            free[a] = True
            token[a] += 1
            entry = (now, a, token[a])
            for b in sits[a]:
                push(free_heaps[b], entry)

        def freed(agents_now: list[int], now: float) -> None:
            """Agents free at ``now``: callers oldest first, each to the best-ranked of them."""
            while agents_now:
                if len(agents_now) == 1:
                    a = agents_now[0]
                    c, b = oldest_for(a, now)
                else:
                    found = [oldest_for(a, now) for a in agents_now]
                    c, b = min(found, key=lambda f: (f[0] < 0, f[0]))
                    if c >= 0:
                        queue, language = self.queues[b // l_count], self.languages[b % l_count]
                        waited = now - arrive[c]
                        a = min(
                            agents_now,
                            key=lambda x: (_rank_or_4(self.agents[x], queue, language, waited), x),
                        )
                if c < 0:
                    break
                waiting[b].popleft()
                answer(c, a, now)
                agents_now.remove(a)
            for a in agents_now:
                make_free(a, now)

        i = 0
        while True:
            if events and (i >= n or events[0][0] <= arrive[i]):
                now, kind, x = pop(events)
                if kind == _DONE:
                    busy[x] = False
                    if on_duty[x]:
                        freed([x], now)
                elif kind == _OFF:
                    on_duty[x] = False
                    if free[x]:
                        free[x] = False
                        token[x] += 1
                elif kind == _ON:
                    starting = [x]
                    while events and events[0][0] == now and events[0][1] == _ON:
                        starting.append(pop(events)[2])
                    ready = []
                    for a in starting:
                        on_duty[a] = True
                        if not busy[a] and not free[a]:
                            ready.append(a)
                    freed(ready, now)
                else:  # a caller reaches the overflow wait: wider ranks may take them now
                    b = bucket_of[x]
                    if who[x] < 0 and head(b, now) == x:
                        a = best_agent(b, 4)
                        if a >= 0:
                            waiting[b].popleft()
                            answer(x, a, now)
            elif i < n:
                now, b = arrive[i], bucket_of[i]
                q = b // l_count
                a = best_agent(b, 4 if over[q] == 0 else 1)
                if a >= 0:
                    answer(i, a, now)
                else:
                    waiting[b].append(i)
                    if over[q] and now + over[q] < gone_at[i]:
                        push(events, (now + over[q], _OVERFLOW, i))
                i += 1
            else:
                break
            if i >= n and not any(waiting):
                break
        return np.array(wait, dtype=float), np.array(who, dtype=int)

    # ----------------------------------------------------------------------- replications

    def run(
        self,
        replications: int = 20,
        seed: int = 0,
        *,
        forecast_band: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> LineReport:
        """``replications`` independent runs (replication r from ``SeedSequence(seed,
        spawn_key=(r,))``: more replications add runs, the first stay the same) and their
        figures per interval and queue (:class:`LineReport`). ``progress(done, total)`` after
        each run."""
        if replications < 2:
            raise ValueError(f"replications = {replications}: at least 2 are needed")
        intervals, q_count = self.calls.shape
        cells = intervals * q_count
        answer_time = np.array([q.answer_time_s for q in self.queues], dtype=float)
        shape = (replications, intervals, q_count + 1)
        offered, answered, within, wait_sum = (np.zeros(shape) for _ in range(4))
        for r in range(replications):
            run = self.replicate(np.random.SeedSequence(seed, spawn_key=(r,)), forecast_band)
            took = ~np.isnan(run.wait_s)
            soon = took & (np.nan_to_num(run.wait_s, nan=np.inf) <= answer_time[run.queue])
            cell = run.interval * q_count + run.queue
            for out, weights in (
                (offered, None),
                (answered, took),
                (within, soon),
                (wait_sum, np.where(took, run.wait_s, 0.0)),
            ):
                counts = np.bincount(cell, weights, minlength=cells).reshape(intervals, q_count)
                out[r, :, :q_count] = counts
                out[r, :, q_count] = counts.sum(axis=1)
            if progress is not None:
                progress(r + 1, replications)
        with np.errstate(invalid="ignore", divide="ignore"):
            sl = np.where(offered > 0, within / offered, np.nan)
            ab = np.where(offered > 0, (offered - answered) / offered, np.nan)
            asa = np.where(answered > 0, wait_sum / answered, np.nan)
        sl_m, sl_lo, sl_hi, n_valid = _mean_ci(sl, 0.0, 1.0)
        ab_m, ab_lo, ab_hi, _ = _mean_ci(ab, 0.0, 1.0)
        asa_m, asa_lo, asa_hi, _ = _mean_ci(asa, 0.0, np.inf)

        names = [q.id for q in self.queues] + [TOTAL]
        targets = np.array([q.target for q in self.queues], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            total_target = (self.calls * targets).sum(axis=1) / self.calls.sum(axis=1)
        target = np.column_stack([np.broadcast_to(targets, self.calls.shape), total_target])
        answer_times = np.broadcast_to(np.append(answer_time, np.nan), target.shape)
        expected = np.column_stack([self.calls, self.calls.sum(axis=1)])
        frame = pd.DataFrame(
            {
                "interval": np.repeat(np.arange(intervals), q_count + 1),
                "queue": np.tile(names, intervals),
                "calls": expected.ravel(),
                "agents": self.on_duty().ravel(),
                "offered": offered.mean(axis=0).ravel(),
                "service_level": sl_m.ravel(),
                "service_level_low": sl_lo.ravel(),
                "service_level_high": sl_hi.ravel(),
                "asa_s": asa_m.ravel(),
                "asa_s_low": asa_lo.ravel(),
                "asa_s_high": asa_hi.ravel(),
                "abandon_rate": ab_m.ravel(),
                "abandon_rate_low": ab_lo.ravel(),
                "abandon_rate_high": ab_hi.ravel(),
                "target": target.ravel(),
                "answer_time_s": answer_times.ravel(),
                "replications": n_valid.ravel(),
            }
        )
        return LineReport(frame[REPORT_COLUMNS], replications, seed, forecast_band)

    def on_duty(self) -> np.ndarray:
        """Agents on duty per interval, on average over it: intervals x (queues with the skill,
        then the line's total, each agent once)."""
        intervals, q_count = self.calls.shape
        index = {q.id: i for i, q in enumerate(self.queues)}
        out = np.zeros((intervals, q_count + 1))
        edges = np.arange(intervals + 1) * self.interval_s
        for agent in self.agents:
            share = np.zeros(intervals)
            for start, end in _merged(agent.on_duty_s):
                overlap = np.minimum(edges[1:], end) - np.maximum(edges[:-1], start)
                share += np.clip(overlap, 0, None) / self.interval_s
            for skill in agent.skills:
                if skill in index:
                    out[:, index[skill]] += share
            out[:, q_count] += share
        return out


def _merged(stretches: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Stretches on duty sorted, touching or overlapping ones joined."""
    out: list[list[float]] = []
    for start, end in sorted(stretches):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


def _rank_or_4(agent: SimAgent, queue: SimQueue, language: str, waited_s: float) -> int:
    found = rank(agent.skills, agent.languages, queue, language, waited_s + _EPS_S)
    return 4 if found is None else found


def _mean_ci(
    values: np.ndarray, low: float, high: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean over the first axis (NaN left out), the 95 % confidence interval of that mean
    (Student's t; NaN with fewer than 2 values), clipped to ``low``..``high``, and the count."""
    valid = ~np.isnan(values)
    n = valid.sum(axis=0)
    total = np.where(valid, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        squares = np.where(valid, (values - mean) ** 2, 0.0).sum(axis=0)
        sd = np.sqrt(np.where(n > 1, squares / np.maximum(n - 1, 1), np.nan))
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    half = np.where(n > 1, half, np.nan)
    return mean, np.clip(mean - half, low, high), np.clip(mean + half, low, high), n
