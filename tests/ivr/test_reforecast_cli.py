"""`hotline reforecast`: the rest of today from the history so far and `hotline forecast`'s file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from forecasts.forecast import COLUMNS
from ivr.cli import cli
from tests.forecasts.synthetic import expected_calls

TZ = "Europe/Rome"
TODAY = "2026-03-16"  # a Monday: the shipped hours.yaml opens 08:00-20:00


@pytest.fixture
def files(tmp_path):
    """Five weeks of calls to today 10:00 (today 30 % busier than usual), and the forecast that
    `hotline forecast` made for today from the calls up to midnight."""
    index = pd.date_range(
        pd.Timestamp("2026-02-09", tz=TZ),
        pd.Timestamp(f"{TODAY} 10:00", tz=TZ),
        freq="30min",
        inclusive="left",
    )
    rng = np.random.default_rng(7)
    busier = np.where(index >= pd.Timestamp(TODAY, tz=TZ), 1.3, 1.0)
    frame = pd.DataFrame({"interval_start": [t.isoformat() for t in index]})
    frame["orders"] = rng.poisson(expected_calls(index) * busier)
    frame["complaints"] = rng.poisson(expected_calls(index, daily=300) * busier)
    history = tmp_path / "history.csv"
    frame.to_csv(history, index=False)
    midnight = tmp_path / "history_midnight.csv"
    frame[index < pd.Timestamp(TODAY, tz=TZ)].to_csv(midnight, index=False)
    forecast = tmp_path / "forecast.csv"
    made = CliRunner().invoke(
        cli, ["forecast", str(midnight), "--horizon", "1d", "-o", str(forecast)]
    )
    assert made.exit_code == 0, made.output
    return {"history": str(history), "forecast": str(forecast), "dir": tmp_path}


def run(files, *extra: str, now: str = f"{TODAY} 10:00", forecast: str | None = None):
    out = files["dir"] / "rest.csv"
    args = [
        "reforecast",
        files["history"],
        "--forecast",
        forecast or files["forecast"],
        "--now",
        now,
        "-o",
        str(out),
        *extra,
    ]
    return CliRunner().invoke(cli, args), out


def test_round_trip_writes_the_rest_of_today(files):
    result, out = run(files, "--fit-weeks", "0")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == COLUMNS
    assert table["queue"].value_counts().to_dict() == {"orders": 28, "complaints": 28}
    assert table["interval_start"].iloc[0] == f"{TODAY}T10:00:00+01:00"
    assert table["interval_start"].iloc[27] == f"{TODAY}T23:30:00+01:00"
    assert (table["calls_p10"] <= table["calls"]).all()
    assert (table["calls"] <= table["calls_p90"]).all()
    forecast = pd.read_csv(files["forecast"])
    rest = forecast[forecast["interval_start"].isin(table["interval_start"])]
    before = rest.groupby("queue")["calls"].sum()
    after = table.groupby("queue")["calls"].sum()
    assert (after > before * 1.03).all() and (after < before * 1.3).all()  # today runs busier
    assert "orders:" in result.output and "calls so far against" in result.output


def test_the_prior_is_fitted_on_the_history_by_default(files):
    result, out = run(files)
    assert result.exit_code == 0, result.output
    assert "fitting the prior on 21 past days" in result.output
    assert len(pd.read_csv(out)) == 56


def test_a_finer_history_is_summed_to_the_forecasts_interval(files):
    history = pd.read_csv(files["history"])
    index = pd.to_datetime(history["interval_start"], utc=True)
    fine = pd.DataFrame(
        {
            "interval_start": [
                t.tz_convert(TZ).isoformat() for t in (*index, *(index + pd.Timedelta("15min")))
            ],
            "orders": [*(history["orders"] // 2), *(history["orders"] - history["orders"] // 2)],
            "complaints": [*history["complaints"], *([0] * len(history))],
        }
    )
    fine["sort"] = pd.to_datetime(fine["interval_start"], utc=True)
    fine.sort_values("sort").drop(columns="sort").to_csv(files["history"], index=False)
    result, out = run(files, "--fit-weeks", "0")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 56
    result, _out = run(files, "--fit-weeks", "0", "--freq", "15min")
    assert result.exit_code == 2 and "--freq" in result.output


def test_a_history_that_runs_past_now_is_refused(files):
    result, _out = run(files, now=f"{TODAY} 09:00")
    assert result.exit_code == 1
    assert "history.csv" in result.output and "after --now" in result.output


def test_a_forecast_that_does_not_cover_today_is_refused(files):
    result, _out = run(files, now="2026-03-17 10:00")
    assert result.exit_code == 1
    assert "forecast.csv" in result.output and "does not cover 2026-03-17" in result.output


def test_a_forecast_that_stops_before_the_end_of_today_is_refused(files):
    forecast = pd.read_csv(files["forecast"])
    short = files["dir"] / "short.csv"
    forecast[~forecast["interval_start"].str.startswith(f"{TODAY}T2")].to_csv(short, index=False)
    result, _out = run(files, "--fit-weeks", "0", forecast=str(short))
    assert result.exit_code == 1
    assert "short.csv" in result.output and "does not cover" in result.output


def test_unknown_queues_in_the_forecast_are_refused(files):
    forecast = pd.read_csv(files["forecast"])
    forecast["queue"] = forecast["queue"].replace({"complaints": "billing"})
    other = files["dir"] / "other.csv"
    forecast.to_csv(other, index=False)
    result, _out = run(files, forecast=str(other))
    assert result.exit_code == 1
    assert "other.csv" in result.output and "billing" in result.output


@pytest.mark.parametrize(
    "now", ["tomorrow", "2026-03-16 25:00", "2026-02-30 10:00", "16/03/2026 10:00"]
)
def test_a_now_that_is_not_a_time_is_refused(files, now):
    result, _out = run(files, now=now)
    assert result.exit_code == 2
    assert "--now" in result.output


def test_a_now_when_the_line_is_closed_is_refused(files):
    sunday, _out = run(files, now="2026-03-22 10:00")
    assert sunday.exit_code == 2 and "--now" in sunday.output and "closed all day" in sunday.output
    late, _out = run(files, now=f"{TODAY} 21:00")
    assert late.exit_code == 2 and "--now" in late.output and "closes at 20:00" in late.output
    anyway, out = run(files, "--any-hours", "--fit-weeks", "0", now=f"{TODAY} 21:00")
    assert anyway.exit_code == 0, anyway.output
    assert len(pd.read_csv(out)) == 2 * 6  # 21:00 to midnight


def test_missing_files_and_flags_are_named(files):
    result, _out = run(files, forecast=str(files["dir"] / "nowhere.csv"))
    assert result.exit_code == 2 and "--forecast" in result.output
    result = CliRunner().invoke(cli, ["reforecast", files["history"], "--now", f"{TODAY} 10:00"])
    assert result.exit_code == 2 and "--forecast" in result.output
    broken = files["dir"] / "broken.csv"
    broken.write_text("queue,interval_start,calls\norders,2026-03-16T10:00:00+01:00,3\n")
    result, _out = run(files, forecast=str(broken))
    assert (
        result.exit_code == 1
        and "broken.csv:1: missing column(s) calls_p10, calls_p90" in result.output
    )


def test_wall_clock_history_without_a_zone(files):
    for key in ("history", "forecast"):
        table = pd.read_csv(files[key])
        table["interval_start"] = table["interval_start"].str[:19]
        table.to_csv(files[key], index=False)
    result, out = run(files, "--tz", "none", "--fit-weeks", "0")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert table["interval_start"].iloc[0] == f"{TODAY}T10:00:00"
