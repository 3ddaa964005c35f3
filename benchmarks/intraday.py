"""The intraday reforecast on real call-centre data: the rest of the day at 10:00, 12:00 and 14:00.

Series (from ../shared/data, see its README): the US bank 2003 (5-minute counts summed to 30
minutes) and the Israeli bank 1999 (6-minute counts summed to 30 minutes). For every day of the
last ``--weeks`` weeks of each series, at each update time, the rest of that day (every interval
from the update time to midnight) is forecast by:

- ``day-ahead``: Hotline's ``profile`` model fitted on the data before that day (refitted per day),
  forecasting the whole day;
- ``plain ratio``: the day-ahead forecast times actual ÷ forecast calls so far today (unshrunk);
- ``reforecast``: Hotline's :func:`forecasts.intraday.reforecast`, its prior fitted by
  :func:`forecasts.intraday.fit_intraday` on the days *before* the last ``--weeks`` weeks (each with
  its own day-ahead forecast); the test days are never used to fit;
- ``level known`` (a reference, not a method): the day-ahead shape scaled to the rest of the day's
  true total, what a perfect level update would give.

WAPE = sum |error| / sum actual over the rest-of-day intervals with data, pooled over days (and
over the three update times in the pooled rows). Coverage: share of those intervals inside the
p10-p90 band. Targets: pooled rest-of-day WAPE at least 20 % lower than day-ahead on the US series
and 12 % lower on the Israeli series.

    python benchmarks/intraday.py [--weeks 8] [--warmup-weeks 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# `forecasts` package.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from forecasts.calendar import Calendar  # noqa: E402
from forecasts.history import History, local_dates, read_history  # noqa: E402
from forecasts.intraday import (  # noqa: E402
    IntradayParams,
    day_ahead_forecasts,
    fit_intraday,
    reforecast,
)

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
UPDATE_HOURS = (10, 12, 14)
TARGETS = {"US": 20.0, "IL": 12.0}
METHODS = ("day-ahead", "plain ratio", "reforecast", "default prior", "level known")


def series() -> list[tuple[str, str, History, Calendar]] | None:
    files = ("us_bank_2003_5min.csv", "israel_bank_1999_6min_jan-aug.csv")
    missing = [name for name in files if not (DATA / name).exists()]
    if missing:
        print(
            f"skipped: {', '.join(missing)} not found in {DATA} (clone ../shared beside the repo)"
        )
        return None
    us = read_history(DATA / files[0], tz=None, freq="30min")
    il = read_history(DATA / files[1], tz=None, freq="30min")
    return [
        ("US", "US bank 2003, 30 min", us, Calendar("US")),
        ("IL", "Israeli bank 1999, 30 min", il, Calendar("IL")),
    ]


def git(*words: str) -> str:
    done = subprocess.run(["git", *words], cwd=REPO, capture_output=True, text=True)
    return done.stdout.strip()


def evaluate(
    history: History,
    calendar: Calendar,
    weeks: int,
    warmup_weeks: int,
    progress,
    rolling: bool = False,
) -> tuple[pd.DataFrame, dict]:
    """Per test day and update time: absolute errors, actual sums and band hits per method."""
    queue = history.queues[0]
    dates = pd.DatetimeIndex(pd.unique(local_dates(history.calls[queue].dropna().index)))
    test_start = dates[-1] - pd.Timedelta(weeks=weeks) + pd.Timedelta(days=1)
    first = dates[0] + pd.Timedelta(weeks=warmup_weeks)
    fit_days = dates[(dates >= first) & (dates < test_start)]
    test_days = dates[dates >= test_start]

    started = time.perf_counter()
    past = day_ahead_forecasts(history, fit_days, calendar=calendar)
    made = time.perf_counter() - started
    started = time.perf_counter()
    params = fit_intraday(history.before(test_start), past)
    fitted = time.perf_counter() - started
    progress(f"  {len(fit_days)} fit days: day-ahead {made:.1f} s, fit {fitted:.1f} s")
    progress("  " + params.describe().replace("\n", "\n  "))
    ahead = day_ahead_forecasts(history, test_days, calendar=calendar, bands=True)

    records, timings = [], []
    fits = {test_start: params}
    if rolling:
        both = pd.concat([past, ahead], ignore_index=True)
        for block in pd.date_range(test_start + pd.Timedelta(days=7), test_days[-1], freq="7D"):
            fits[block] = fit_intraday(history.before(block), both[both["interval_start"] < block])
            progress(f"  refit at {block.date()}: " + fits[block].describe())
    for day in test_days:
        params = fits[max(k for k in fits if k <= day)]
        mine = ahead[
            (ahead["interval_start"] >= day)
            & (ahead["interval_start"] < day + pd.Timedelta(days=1))
        ]
        for hour in UPDATE_HOURS:
            now = day + pd.Timedelta(hours=hour)
            seen = history.before(now)
            t0 = time.perf_counter()
            new = reforecast(seen, mine, now, params)
            timings.append(time.perf_counter() - t0)
            unfitted = reforecast(seen, mine, now, IntradayParams())
            index = pd.DatetimeIndex(new["interval_start"])
            actual = history.calls[queue].reindex(index).to_numpy(dtype=float)
            keep = np.isfinite(actual)
            if not keep.any():
                continue
            base = mine.set_index("interval_start").reindex(index)
            today = history.calls[queue][(history.calls.index >= day) & (history.calls.index < now)]
            f_so_far = float(
                mine.set_index("interval_start")["calls"].reindex(today.dropna().index).sum()
            )
            a_so_far = float(today.sum())
            ratio = a_so_far / f_so_far if f_so_far > 0 and a_so_far > 0 else 1.0
            f_rest = base["calls"].to_numpy(dtype=float)
            level = actual[keep].sum() / f_rest[keep].sum() if f_rest[keep].sum() > 0 else 1.0
            predictions = {
                "day-ahead": (f_rest, base["calls_p10"].to_numpy(), base["calls_p90"].to_numpy()),
                "plain ratio": (f_rest * ratio, None, None),
                "reforecast": (
                    new["calls"].to_numpy(),
                    new["calls_p10"].to_numpy(),
                    new["calls_p90"].to_numpy(),
                ),
                "default prior": (
                    unfitted["calls"].to_numpy(),
                    unfitted["calls_p10"].to_numpy(),
                    unfitted["calls_p90"].to_numpy(),
                ),
                "level known": (f_rest * level, None, None),
            }
            y = actual[keep]
            for method, (calls, lo, hi) in predictions.items():
                records.append(
                    {
                        "day": day,
                        "hour": hour,
                        "method": method,
                        "error": float(np.abs(calls[keep] - y).sum()),
                        "actual": float(y.sum()),
                        "inside": float(((y >= lo[keep]) & (y <= hi[keep])).sum())
                        if lo is not None
                        else np.nan,
                        "intervals": int(keep.sum()),
                    }
                )
    info = {
        "fit_days": int(len(fit_days)),
        "test_days": int(len(test_days)),
        "fit_from": str(fit_days[0].date()) if len(fit_days) else None,
        "test_from": str(test_days[0].date()),
        "test_to": str(test_days[-1].date()),
        "fit_s": round(fitted, 2),
        "reforecast_ms": round(1000 * float(np.median(timings)), 1),
        "params": {
            q: {
                "level_sd": round(p.level_sd, 4),
                "deviation_sd": round(p.deviation_sd, 4),
                "persistence_per_hour": round(p.persistence_per_hour, 3),
                "empirical_weight": p.empirical_weight,
                "band_scale": round(p.band_scale, 3),
            }
            for q, p in params.queues.items()
        },
    }
    return pd.DataFrame(records), info


def summarise(frame: pd.DataFrame) -> dict:
    sums = frame.groupby("method")[["error", "actual", "inside", "intervals"]].sum(min_count=1)
    out = {}
    for method in METHODS:
        row = sums.loc[method]
        out[method] = {
            "wape": float(row["error"] / row["actual"]),
            "coverage": float(row["inside"] / row["intervals"])
            if np.isfinite(row["inside"])
            else None,
            "intervals": int(row["intervals"]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weeks", type=int, default=8, help="test weeks at the end of each series")
    parser.add_argument(
        "--warmup-weeks",
        type=int,
        default=5,
        help="weeks at the start of each series used only as history (no fit day)",
    )
    parser.add_argument(
        "--rolling", action="store_true", help="refit the prior before every test week"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    data = series()
    if data is None:
        return 0

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results, rows = {}, []
    for key, name, history, calendar in data:
        progress(f"{name}...")
        frame, info = evaluate(
            history, calendar, args.weeks, args.warmup_weeks, progress, args.rolling
        )
        pooled = summarise(frame)
        by_hour = {hour: summarise(frame[frame["hour"] == hour]) for hour in UPDATE_HOURS}
        results[key] = {"name": name, **info, "pooled": pooled, "by_hour": by_hour}
        for label, table in (
            ("10:00, 12:00, 14:00", pooled),
            *((f"{h}:00", by_hour[h]) for h in UPDATE_HOURS),
        ):
            rows.append((name, label, table))

    commit = git("rev-parse", "--short", "HEAD") + (
        " (modified)" if git("status", "--porcelain") else ""
    )
    print(
        f"Intraday reforecast, rest of the day; measured {dt.date.today().isoformat()} at commit"
        f" {commit}, {os.cpu_count()} cores"
    )
    print()
    print(
        "| series | update at | day-ahead WAPE | plain ratio WAPE | reforecast WAPE"
        " | reforecast vs day-ahead | default prior WAPE | level known WAPE (reference)"
        " | p10-p90 coverage day-ahead | p10-p90 coverage reforecast | intervals |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, label, t in rows:
        base = t["day-ahead"]["wape"]

        def rel(method: str, t=t, base=base) -> str:
            return f"{(t[method]['wape'] / base - 1) * 100:+.1f}%"

        print(
            f"| {name} | {label} | {base:.4f} | {t['plain ratio']['wape']:.4f} ({rel('plain ratio')})"
            f" | {t['reforecast']['wape']:.4f} | {rel('reforecast')}"
            f" | {t['default prior']['wape']:.4f} ({rel('default prior')})"
            f" | {t['level known']['wape']:.4f} ({rel('level known')})"
            f" | {t['day-ahead']['coverage']:.2f} | {t['reforecast']['coverage']:.2f}"
            f" | {t['reforecast']['intervals']} |"
        )
    print()
    for key, result in results.items():
        pooled = result["pooled"]
        gain = (1 - pooled["reforecast"]["wape"] / pooled["day-ahead"]["wape"]) * 100
        verdict = "met" if gain >= TARGETS[key] else "MISSED"
        print(
            f"target {result['name']}: rest-of-day WAPE at least {TARGETS[key]:.0f} % lower than"
            f" day-ahead: {gain:.2f} % lower, {verdict}"
        )
    for result in results.values():
        print(
            f"{result['name']}: fitted on {result['fit_days']} days from {result['fit_from']},"
            f" tested on {result['test_days']} days {result['test_from']} to {result['test_to']};"
            f" fit {result['fit_s']} s, reforecast {result['reforecast_ms']} ms per call (median);"
            f" prior {json.dumps(result['params'])}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": dt.date.today().isoformat(),
                    "commit": commit,
                    "cores": os.cpu_count(),
                    "series": results,
                },
                indent=1,
                default=str,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
