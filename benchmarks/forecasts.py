"""Forecast accuracy on real call-centre data: our model against the usual baselines.

Series (from ../shared/data, see its README): the US bank 2003 at 5 minutes, and the Israeli
bank 1999 (6-minute totals summed to 30 minutes). For each, a rolling-origin backtest over the
last ``--origins`` weekly origins, one week ahead, refitting every model at every origin:

- ``profile``: ours (forecasts/models.py);
- ``seasonal_avg4``: mean of the same interval over the last 4 weeks (the baseline);
- ``seasonal_naive``: same interval last week;
- ``mstl``: statsforecast's MSTL with daily and weekly seasonality, fitted on the last 10 weeks of
  observed intervals (statsforecast is installed for this script only: ``make bench-forecasts``).

WAPE = sum|error| / sum(actual) over observed intervals. Two extra checks guard against
tuning to the test weeks: the same backtest on the 8 origins *before* the last 8 (``earlier``),
and every weekly origin whose week holds a public holiday (``holiday weeks``). ``festival weeks``
are the weekly origins whose week holds a day inside a festival period (Pesach, Sukkot,
Christmas to New Year) or of the week after one (``forecasts/calendar.py``); there ``profile`` is
also scored without its period factors (``profile (no periods)``), and each origin is listed.

The first line printed says when, at which commit and on how many cores the run was made.

    python benchmarks/forecasts.py [--origins 8] [--no-mstl]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# `forecasts` package.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from benchmarks.capacity import provenance  # noqa: E402
from forecasts import backtest  # noqa: E402
from forecasts.calendar import Calendar  # noqa: E402
from forecasts.history import History, read_history  # noqa: E402
from forecasts.models import Model, ProfileModel, SeasonalAverage, SeasonalNaive, nb_band  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


class MSTLModel(Model):
    """statsforecast's MSTL on the observed intervals only (closed nights are skipped)."""

    name = "mstl"

    def __init__(self, fit_weeks: int = 10):
        self.fit_weeks = fit_weeks

    def fit(self, y: pd.Series, calendar: Calendar | None = None) -> MSTLModel:
        observed = y.dropna()
        observed = observed[
            observed.index >= observed.index[-1] - pd.Timedelta(weeks=self.fit_weeks)
        ]
        per_day = int(observed.groupby(observed.index.normalize()).size().median())
        days_per_week = int(
            round(
                observed.index.normalize().nunique()
                / max((observed.index[-1] - observed.index[0]).days / 7, 1)
            )
        )
        self.seasons = [per_day, per_day * max(min(days_per_week, 7), 1)]
        self.values = observed.to_numpy(dtype=float)
        self.active = set(zip(observed.index.day_of_week, observed.index.time, strict=True))
        return self

    def predict(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        from statsforecast.models import MSTL

        keep = np.array([(t.day_of_week, t.time()) in self.active for t in index])
        mean = np.zeros(len(index))
        model = MSTL(season_length=self.seasons)
        fitted = model.fit(self.values)
        steps = int(keep.sum())
        if steps:
            mean[keep] = np.maximum(fitted.predict(h=steps)["mean"], 0.0)
        lo, hi = nb_band(mean, 0.02)
        return pd.DataFrame({"calls": mean, "calls_p10": lo, "calls_p90": hi}, index=index)


def series() -> list[tuple[str, History, Calendar]]:
    missing = [
        p
        for p in ("us_bank_2003_5min.csv", "israel_bank_1999_6min_jan-aug.csv")
        if not (DATA / p).exists()
    ]
    if missing:
        sys.exit(f"missing {', '.join(missing)} in {DATA}: clone ../shared beside the repo")
    us = read_history(DATA / "us_bank_2003_5min.csv", tz=None)
    il = read_history(DATA / "israel_bank_1999_6min_jan-aug.csv", tz=None, freq="30min")
    return [
        ("US bank 2003, 5 min", us, Calendar("US")),
        ("Israeli bank 1999, 30 min", il, Calendar("IL")),
    ]


def profile_without_periods() -> ProfileModel:
    model = ProfileModel(periods=False)
    model.name = "profile (no periods)"
    return model


def every_week_results(history: History, calendar: Calendar, factories) -> list:
    """Every weekly origin with at least 5 weeks of history before it."""
    weeks = int((history.end - history.calls.index[0]).days // 7) - 5
    return backtest.run(
        history, factories, count=weeks, horizon=pd.Timedelta(days=7), calendar=calendar
    )


def week_days(origin: pd.Timestamp) -> list:
    return [(origin + pd.Timedelta(days=k)).date() for k in range(7)]


def holiday_week_results(results: list, calendar: Calendar) -> list:
    return [r for r in results if any(calendar.holiday(d) for d in week_days(r.origin))]


def festival_labels(origin: pd.Timestamp, calendar: Calendar) -> set[str]:
    """``"<label> period"`` and ``"after <label>"`` for the festivals whose period, or the week
    after it, has a day in the week from ``origin``."""
    days = week_days(origin)
    inside = {calendar.period(d) for d in days} - {None}
    after = {calendar.after_period(d) for d in days} - {None}
    return {f"{label} period" for label in inside} | {f"after {label}" for label in after}


def festival_week_results(results: list, calendar: Calendar) -> list:
    return [r for r in results if festival_labels(r.origin, calendar)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--origins", type=int, default=8)
    parser.add_argument("--no-mstl", action="store_true", help="skip statsforecast's MSTL")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    factories = [ProfileModel, lambda: SeasonalAverage(4), SeasonalNaive]
    if not args.no_mstl:
        try:
            import statsforecast  # noqa: F401
        except ImportError:
            sys.exit(
                "statsforecast is not installed: run `make bench-forecasts`, or pass --no-mstl"
            )
        from statsforecast.models import MSTL

        MSTL(season_length=[4, 8]).fit(
            np.random.default_rng(0).poisson(5, 200).astype(float)
        )  # JIT warm-up, not timed
        factories.append(MSTLModel)

    rows = []
    notes = []
    per_origin = []
    horizon = pd.Timedelta(days=7)
    for name, history, calendar in series():
        started = time.perf_counter()
        print(f"{name}: last {args.origins} origins...", file=sys.stderr, flush=True)
        last = backtest.score(
            backtest.run(history, factories, count=args.origins, horizon=horizon, calendar=calendar)
        )
        earlier = backtest.score(
            backtest.run(
                history.before(history.end - pd.Timedelta(days=7 * args.origins)),
                factories[:2],
                count=args.origins,
                horizon=horizon,
                calendar=calendar,
            )
        )
        every = every_week_results(history, calendar, [*factories[:2], profile_without_periods])
        holidays = backtest.score(
            [r for r in holiday_week_results(every, calendar) if r.model != "profile (no periods)"]
        )
        festival = festival_week_results(every, calendar)
        print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        windows = [
            (f"last {args.origins} weeks", last),
            (f"earlier {args.origins} weeks", earlier),
            ("holiday weeks", holidays),
        ]
        first, end = history.calls.index[0], history.calls.index[-1]
        if festival:
            windows.append(("festival weeks", backtest.score(festival)))
            by_origin = backtest.score(festival, by=("origin", "model"))
            for origin, part in by_origin.groupby("origin", sort=True):
                wape = dict(zip(part["model"], part["wape"], strict=True))
                per_origin.append(
                    (name, origin, ", ".join(sorted(festival_labels(origin, calendar))), wape)
                )
        else:
            notes.append(
                f"{name}: no festival week (the series runs {first:%Y-%m-%d} to {end:%Y-%m-%d}:"
                " no day inside a festival period nor in the week after one)"
            )
        for window, table in windows:
            base = float(table.loc[table["model"] == "seasonal_avg4", "wape"].iloc[0])
            for _, r in table.iterrows():
                rows.append(
                    (
                        name,
                        window,
                        r["model"],
                        r["wape"],
                        (r["wape"] / base - 1) * 100,
                        r["wape_hourly"],
                        r["coverage_p10_p90"],
                        r["fit_s_per_origin"],
                    )
                )

    made = provenance()
    print(
        f"measured {made['date']} at commit {made['commit']}, {made['cores']} cores ({made['cpu']})"
        + ("; MSTL not run (--no-mstl)" if args.no_mstl else "")
    )
    print(
        "| series | window | model | WAPE | vs 4-week avg | WAPE hourly | p10-p90 coverage | fit+forecast s/origin |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for s, w, m, wape, rel, hourly, cover, secs in rows:
        print(
            f"| {s} | {w} | {m} | {wape:.4f} | {rel:+.1f}% | {hourly:.4f} | {cover:.2f} | {secs:.3f} |"
        )
    if per_origin:
        print("\nfestival weeks, WAPE per origin (the week from the origin):")
        print("| series | origin | festival | profile | profile (no periods) | seasonal_avg4 |")
        print("|---|---|---|---:|---:|---:|")
        for s, origin, labels, wape in per_origin:
            print(
                f"| {s} | {origin:%Y-%m-%d %a} | {labels} | {wape['profile']:.4f} |"
                f" {wape['profile (no periods)']:.4f} | {wape['seasonal_avg4']:.4f} |"
            )
    for note in notes:
        print(f"\n{note}")
    ours = [r for r in rows if r[2] == "profile" and r[1].startswith("last")]
    met = all(r[4] <= -15 for r in ours) and all(r[7] < 2 for r in ours)
    print(
        f"\ntarget (>= 15% lower WAPE than seasonal_avg4 on the last {args.origins} weeks, < 2 s per origin): {'met' if met else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
