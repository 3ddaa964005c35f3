"""`hotline forecast` and `hotline backtest` from a history file, as a supervisor runs them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from click.testing import CliRunner

from ivr.cli import cli

from .synthetic import history_frame


def history_csv(tmp_path, weeks: int = 6) -> str:
    """What `hotline history` writes: ISO times with offset, a column per queue, AHT columns."""
    index = pd.date_range(
        pd.Timestamp("2026-02-02", tz="Europe/Rome"), periods=weeks * 7 * 48, freq="30min"
    )
    frame = pd.DataFrame({"interval_start": [t.isoformat() for t in index]})
    frame["orders"] = history_frame(index, seed=1).to_numpy().astype(int)
    frame["complaints"] = history_frame(index, seed=2, daily=400).to_numpy().astype(int)
    frame["orders_aht_s"] = np.where(frame["orders"] > 0, 240.0, np.nan)
    frame["complaints_aht_s"] = np.where(frame["complaints"] > 0, 420.0, np.nan)
    path = tmp_path / "history.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_forecast_round_trip(tmp_path):
    source = history_csv(tmp_path)
    out, png = tmp_path / "forecast.csv", tmp_path / "forecast.png"
    result = CliRunner().invoke(
        cli, ["forecast", source, "--horizon", "7d", "-o", str(out), "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "queue",
        "interval_start",
        "calls",
        "calls_p10",
        "calls_p90",
        "aht_s",
    ]
    assert table["queue"].value_counts().to_dict() == {"orders": 336, "complaints": 336}
    assert (
        table["interval_start"].iloc[0] == "2026-03-16T00:00:00+01:00"
    )  # the first interval after the history
    assert (table["calls"] >= 0).all() and (table["calls_p90"] >= table["calls_p10"]).all()
    busy = table[table["calls"] > 1]
    assert busy.groupby("queue")["aht_s"].mean().round(0).to_dict() == {
        "complaints": 420.0,
        "orders": 240.0,
    }
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forecast_without_output_prints_a_summary_per_queue_and_day(tmp_path):
    result = CliRunner().invoke(
        cli, ["forecast", history_csv(tmp_path), "--horizon", "2d", "--freq", "1h"]
    )
    assert result.exit_code == 0, result.output
    lines = [
        line
        for line in result.output.splitlines()
        if line.startswith(("orders", "complaints", " "))
    ]
    assert any(line.startswith("orders") and "2026-03-16" in line for line in lines)
    assert "2026-03-17" in result.output and "2026-03-18" not in result.output


def test_forecast_without_aht_history_uses_the_configured_default(tmp_path):
    index = pd.date_range(
        pd.Timestamp("2026-02-02", tz="Europe/Rome"), periods=5 * 7 * 48, freq="30min"
    )
    path = tmp_path / "plain.csv"
    pd.DataFrame(
        {
            "interval_start": [t.isoformat() for t in index],
            "technical": history_frame(index, seed=3).to_numpy().astype(int),
        }
    ).to_csv(path, index=False)
    out = tmp_path / "f.csv"
    assert CliRunner().invoke(cli, ["forecast", str(path), "-o", str(out)]).exit_code == 0
    assert set(pd.read_csv(out)["aht_s"].round(0)) == {480.0}  # queues.yaml: technical aht_s


def test_bad_history_is_refused_with_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "interval_start,orders\n2026-03-02T09:00:00+01:00,4\n2026-03-02T09:30:00+01:00,-1\n"
    )
    result = CliRunner().invoke(cli, ["forecast", str(path)])
    assert result.exit_code == 1
    assert "bad.csv:3: orders -1 is negative" in result.output


def test_bad_horizon_and_model(tmp_path):
    source = history_csv(tmp_path, weeks=2)
    result = CliRunner().invoke(cli, ["forecast", source, "--horizon", "soon"])
    assert result.exit_code == 2 and "duration 'soon'" in result.output
    result = CliRunner().invoke(cli, ["forecast", source, "--model", "prophet"])
    assert result.exit_code == 2


def test_backtest_prints_every_model(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "backtest",
            history_csv(tmp_path, weeks=7),
            "--origins",
            "2",
            "--horizon",
            "7d",
            "--holidays",
            "IT",
        ],
    )
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.strip().startswith("model"))
    for column in ("mae", "rmse", "wape", "wape_hourly", "coverage_p10_p90", "fit_s_per_origin"):
        assert column in header
    rows = {
        line.split()[0]: float(line.split()[3])
        for line in result.output.splitlines()
        if line.split() and line.split()[0] in ("profile", "seasonal_avg4", "seasonal_naive")
    }
    assert set(rows) == {"profile", "seasonal_avg4", "seasonal_naive"}
    assert rows["profile"] < rows["seasonal_naive"]


def test_backtest_needs_enough_history(tmp_path):
    result = CliRunner().invoke(cli, ["backtest", history_csv(tmp_path, weeks=3), "--origins", "8"])
    assert result.exit_code == 1 and "need at least" in result.output
