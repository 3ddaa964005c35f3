"""Discrete-event simulation of a queue over a day or week of intervals.

Poisson arrivals at each interval's expected volume, exponential or empirical handling times,
optional exponential patience, first-come-first-served, and a staffing level per interval (an
agent whose interval ends finishes the call in hand). It checks that a plan really meets its
target, and it is the test oracle for the Erlang A formulas.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd

from staffing.erlang import _check, _check_agents

ArrayLike = np.typing.ArrayLike


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
    """Simulate the intervals once; same ``seed``, same result.

    ``calls`` are expected arrivals per interval (Poisson means); ``agents`` on line per interval.
    With ``handle_times_s`` handling times are drawn from that sample instead of exponential.
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
