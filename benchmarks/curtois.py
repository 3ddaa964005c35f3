"""Employee shift scheduling benchmark (Curtois & Qu): our roster engine on the public instances.

Uses the same engine as ``hotline roster`` (staffing/rostering/) through a reader for the format
(benchmarks/formats/curtois.py); writes each roster as CSV rows ``employee,day,shift`` (day 0-based,
worked days only) so anyone can recompute the objective; checks every hard rule itself; prints
objective, best known, gap and time.

    python benchmarks/curtois.py INSTANCES/Instance*.txt \\
        [--time-limit 60] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.formats.curtois import objective, read_instance  # noqa: E402
from staffing.rostering import check, solve  # noqa: E402

BEST_KNOWN = {
    1: 607,
    3: 1001,
    5: 1143,
    7: 1056,
    9: 439,
    11: 3443,
    13: 1905,
    15: 3928,
    17: 5750,
    19: 3218,
}


def number(path: Path) -> int:
    return int(re.search(r"(\d+)", path.stem).group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("instances", nargs="+", type=Path)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument(
        "--workers", type=int, default=None, help="CP-SAT threads (default: the CPUs available)"
    )
    args = parser.parse_args(argv)
    if args.out_dir:
        args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    print(
        "| instance | days x staff x shifts | ours | best known | gap | proven bound | hard rules | time (s) |"
    )
    print("|---|---|---:|---:|---:|---:|---|---:|")
    for path in sorted(args.instances, key=number):
        problem = read_instance(path)
        started = time.perf_counter()
        try:
            result = solve(problem, args.time_limit, args.workers)
        except RuntimeError as exc:
            print(
                f"| {path.name} | | no roster | {BEST_KNOWN.get(number(path), '')} | | | {exc} | {time.perf_counter() - started:.0f} |",
                flush=True,
            )
            rows.append((path.name, None, BEST_KNOWN.get(number(path))))
            continue
        seconds = time.perf_counter() - started
        ours = objective(problem, result.assignment)
        broken = check(problem, result.assignment)
        best = BEST_KNOWN.get(number(path))
        gap = f"{(ours - best) / best:+.1%}" if best else ""
        if args.out_dir:
            with (args.out_dir / f"{path.stem}.csv").open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["employee", "day", "shift"])
                for (sid, day), shift in sorted(
                    result.assignment.items(), key=lambda kv: (kv[0][0], kv[0][1])
                ):
                    writer.writerow([sid, day, shift])
        shape = f"{problem.days} x {len(problem.staff)} x {len(problem.shifts)}"
        print(
            f"| {path.name} | {shape} | {ours} | {best} | {gap} | {result.bound:.0f} | {'all kept' if not broken else '; '.join(map(str, broken[:3]))} | {seconds:.0f} |",
            flush=True,
        )
        rows.append((path.name, ours, best))
    within = [
        r
        for r in rows
        if r[1] is not None and r[2] and number(Path(r[0])) <= 11 and (r[1] - r[2]) / r[2] <= 0.01
    ]
    small = [r for r in rows if number(Path(r[0])) <= 11]
    print(
        f"\nsummary: within 1 % of the best known on {len(within)}/{len(small)} instances up to Instance11; valid rosters on {sum(1 for r in rows if r[1] is not None)}/{len(rows)}; time limit {args.time_limit:g} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
