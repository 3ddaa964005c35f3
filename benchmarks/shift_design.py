"""Minimum shift design benchmark: our shift planner on the public TU Wien instances.

Uses the same optimiser as ``hotline shifts`` (staffing/shifts.py) through a reader for the
instance format (benchmarks/formats/shift_design.py), writes every solution as CSV rows
``instance,start,length,d1..d7`` (agents starting that shift on each day) so anyone can recompute
the objective, recomputes it itself from those rows, and prints per instance our objective, the
file's reference value, the proven bound and the time, then a summary.

    python benchmarks/shift_design.py INSTANCES/DataSet*/*.txt \\
        [--time-limit 20] [--out solutions.csv]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.formats.shift_design import objective, read_instance  # noqa: E402
from staffing.shifts import SolverSettings, solve  # noqa: E402


def coverage_from_rows(instance, rows: list[dict]) -> np.ndarray:
    """Recompute coverage from the written rows alone (start, length, agents per day)."""
    per_day = 1440 // instance.slot_min
    total = instance.days * per_day
    coverage = np.zeros(total, dtype=np.int64)
    for row in rows:
        h, m = map(int, row["start"].split(":"))
        first = (h * 60 + m) // instance.slot_min
        count = int(row["length"]) // instance.slot_min
        for day in range(instance.days):
            agents = int(row[f"d{day + 1}"])
            if agents:
                slots = day * per_day + first + np.arange(count)
                slots = slots % total if instance.cyclic else slots[slots < total]
                np.add.at(coverage, slots, agents)
    return coverage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("instances", nargs="+", type=Path)
    parser.add_argument(
        "--time-limit", type=float, default=20.0, help="seconds per instance (default 20)"
    )
    parser.add_argument("--out", type=Path, default=None, help="write every solution here as CSV")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)

    all_rows: list[dict] = []
    results = []
    print("| instance | ours | reference | bound | distinct shifts | time (s) | vs reference |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for path in args.instances:
        instance = read_instance(path)
        started = time.perf_counter()
        plan = solve(
            instance.problem(), SolverSettings(time_limit_s=args.time_limit, workers=args.workers)
        )
        seconds = time.perf_counter() - started
        rows = []
        used = plan.starts[plan.starts["agents"] > 0]
        for (start, length), part in used.groupby(["start_min", "length_min"]):
            row = {
                "instance": instance.name,
                "start": f"{start // 60:02d}:{start % 60:02d}",
                "length": int(length),
            }
            for day in range(instance.days):
                row[f"d{day + 1}"] = int(part.loc[part["day"] == day, "agents"].sum())
            rows.append(row)
        ours = objective(instance, coverage_from_rows(instance, rows), len(rows))
        reference = instance.reference
        verdict = "better" if ours < reference else "matched" if ours == reference else "worse"
        bound = int(np.ceil(plan.bound - 1e-6))
        results.append((instance.name, ours, reference, bound, seconds, verdict))
        all_rows.extend(rows)
        print(
            f"| {instance.name} | {ours} | {reference} | {bound} | {len(rows)} | {seconds:.1f} | {verdict} |",
            flush=True,
        )
    if args.out:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=["instance", "start", "length"] + [f"d{i}" for i in range(1, 8)]
            )
            writer.writeheader()
            writer.writerows(all_rows)
    good = sum(1 for r in results if r[5] != "worse")
    better = sum(1 for r in results if r[5] == "better")
    proved = sum(1 for r in results if r[1] == r[3])
    print(
        f"\nsummary: matched or beat the reference on {good}/{len(results)} instances ({100 * good / len(results):.1f} %), "
        f"beat it on {better}, proved optimal on {proved}; time limit {args.time_limit:g} s, "
        f"mean time {np.mean([r[4] for r in results]):.1f} s"
    )
    worse = [r for r in results if r[5] == "worse"]
    for name, ours, reference, *_ in worse:
        print(f"  worse: {name} {ours} > {reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
