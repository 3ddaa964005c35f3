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
and every weekly origin whose week holds a public holiday (``holiday weeks``).

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


def holiday_week_results(history: History, calendar: Calendar, factories) -> list:
    weeks = int((history.end - history.calls.index[0]).days // 7) - 5
    results = backtest.run(
        history, factories, count=weeks, horizon=pd.Timedelta(days=7), calendar=calendar
    )

    def has_holiday(origin: pd.Timestamp) -> bool:
        return any(calendar.holiday((origin + pd.Timedelta(days=k)).date()) for k in range(7))

    return [r for r in results if has_holiday(r.origin)]


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
        holidays = backtest.score(holiday_week_results(history, calendar, factories[:2]))
        print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        for window, table in (
            (f"last {args.origins} weeks", last),
            (f"earlier {args.origins} weeks", earlier),
            ("holiday weeks", holidays),
        ):
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

    print(
        "| series | window | model | WAPE | vs 4-week avg | WAPE hourly | p10-p90 coverage | fit+forecast s/origin |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for s, w, m, wape, rel, hourly, cover, secs in rows:
        print(
            f"| {s} | {w} | {m} | {wape:.4f} | {rel:+.1f}% | {hourly:.4f} | {cover:.2f} | {secs:.3f} |"
        )
    ours = [r for r in rows if r[2] == "profile" and r[1].startswith("last")]
    met = all(r[4] <= -15 for r in ours) and all(r[7] < 2 for r in ours)
    print(
        f"\ntarget (>= 15% lower WAPE than seasonal_avg4 on the last {args.origins} weeks, < 2 s per origin): {'met' if met else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
