"""Agents required for a year of 15-minute intervals: our Erlang engine vs pyworkforce's loop.

Two synthetic years with a realistic shape (intraday double peak, weekday pattern, yearly
season, quiet nights with empty intervals): one peaking near 100 Erlangs, one near 10 000.
Both engines answer the same question (80 % within 20 s, AHT 300 s); the script checks they
give the same agents on every interval pyworkforce was run on, and prints times and ratios.
pyworkforce's cost grows with the square of the load, so on the 10 000-Erlang year it is timed
on an evenly spaced sample of intervals and extrapolated (the table says how many).

Each engine runs ``--repeat`` times and its fastest run counts.

    python benchmarks/erlang.py [--sample-large 350] [--sample-small 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from staffing.erlang import agents_for_service_level, agents_for_service_level_erlang_a

INTERVAL_S = 900
AHT_S = 300.0
TARGET, ANSWER_S = 0.8, 20.0


def year_of_load(peak_erlangs: float, seed: int = 1) -> np.ndarray:
    """Offered load per 15-minute interval over 2026, shaped like a customer-service line."""
    index = pd.date_range("2026-01-01", periods=365 * 96, freq="15min")
    hour = index.hour.to_numpy() + index.minute.to_numpy() / 60
    intraday = np.exp(-((hour - 10.5) ** 2) / 4.5) + 0.85 * np.exp(-((hour - 15) ** 2) / 5) + 0.05
    intraday[(hour < 7) | (hour >= 21)] = 0.0  # closed at night: empty intervals
    weekday = np.array([1.0, 0.92, 0.88, 0.87, 0.85, 0.45, 0.2])[index.day_of_week.to_numpy()]
    season = 1 + 0.2 * np.cos(2 * np.pi * (index.day_of_year.to_numpy() - 15) / 365)
    noise = np.random.default_rng(seed).gamma(50, 1 / 50, index.size)
    shape = intraday * weekday * season * noise
    return peak_erlangs * shape / shape.max()


def pyworkforce_agents(calls: np.ndarray) -> np.ndarray:
    from pyworkforce.queuing import ErlangC

    out = np.zeros(calls.size, dtype=np.int64)
    for i, c in enumerate(calls):
        if c > 0:  # pyworkforce refuses 0 transactions; 0 calls need 0 agents
            model = ErlangC(
                transactions=float(c), aht=AHT_S / 60, asa=ANSWER_S / 60, interval=INTERVAL_S // 60
            )
            out[i] = model.required_positions(service_level=TARGET)["raw_positions"]
    return out


def best_of(repeat: int, work):
    """(result, fastest wall time) of ``repeat`` runs: the same rule for both engines."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return result, min(times)


def run_case(name: str, peak: float, sample: int, repeat: int) -> dict:
    load = year_of_load(peak)
    calls = load * INTERVAL_S / AHT_S
    ours, ours_s = best_of(
        repeat,
        lambda: agents_for_service_level(
            calls, interval_s=INTERVAL_S, aht_s=AHT_S, service_level=TARGET, answer_time_s=ANSWER_S
        ),
    )

    picked = (
        np.arange(calls.size) if sample <= 0 else np.linspace(0, calls.size - 1, sample).astype(int)
    )
    busy = picked[calls[picked] > 0]
    print(
        f"  {name}: pyworkforce on {picked.size} intervals ({busy.size} with calls)...",
        file=sys.stderr,
        flush=True,
    )
    theirs, measured = best_of(repeat, lambda: pyworkforce_agents(calls[picked]))
    theirs_s = measured * calls.size / picked.size
    mismatches = int(np.count_nonzero(theirs != ours[picked]))

    _, erlang_a_s = best_of(
        repeat,
        lambda: agents_for_service_level_erlang_a(
            calls,
            interval_s=INTERVAL_S,
            aht_s=AHT_S,
            patience_s=120.0,
            service_level=TARGET,
            answer_time_s=ANSWER_S,
        ),
    )
    return {
        "case": name,
        "intervals": calls.size,
        "peak_erlangs": round(float(load.max()), 1),
        "ours_s": ours_s,
        "pyworkforce_s": theirs_s,
        "pyworkforce_measured_on": picked.size,
        "ratio": theirs_s / ours_s,
        "same_agents": f"{picked.size - mismatches}/{picked.size}",
        "erlang_a_s": erlang_a_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sample-small",
        type=int,
        default=0,
        help="intervals pyworkforce runs on for the 100-Erlang year (0 = all)",
    )
    parser.add_argument(
        "--sample-large",
        type=int,
        default=350,
        help="intervals pyworkforce runs on for the 10 000-Erlang year (0 = all)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per engine; the fastest counts (default 3)"
    )
    args = parser.parse_args(argv)
    rows = [
        run_case("year, peak ~100 Erlangs", 100.0, args.sample_small, args.repeat),
        run_case("year, peak ~10 000 Erlangs", 10_000.0, args.sample_large, args.repeat),
    ]
    print(
        "| case | intervals | peak Erlangs | ours (s) | pyworkforce (s) | pyworkforce run on | ratio | same agents | Erlang A year (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        extrapolated = "" if r["pyworkforce_measured_on"] == r["intervals"] else " (extrapolated)"
        print(
            f"| {r['case']} | {r['intervals']} | {r['peak_erlangs']} | {r['ours_s']:.3f} | {r['pyworkforce_s']:.1f}{extrapolated} | "
            f"{r['pyworkforce_measured_on']} | {r['ratio']:.0f}x | {r['same_agents']} | {r['erlang_a_s']:.2f} |"
        )
    return (
        0
        if all(r["same_agents"].split("/")[0] == r["same_agents"].split("/")[1] for r in rows)
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
