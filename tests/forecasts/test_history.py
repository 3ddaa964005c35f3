"""Reading call history: time zones, DST days, missing data and bad rows by line number."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasts.history import HistoryError, read_history
from tests.conftest import shared_path


def write(tmp_path, text: str):
    path = tmp_path / "history.csv"
    path.write_text(text)
    return path


def test_offsets_are_converted_to_the_line_zone(tmp_path):
    path = write(
        tmp_path,
        "interval_start,orders\n2026-06-01T08:00:00+00:00,4\n2026-06-01T08:30:00+00:00,6\n",
    )
    history = read_history(path, "Europe/Rome")
    assert str(history.calls.index[0]) == "2026-06-01 10:00:00+02:00"
    assert history.freq == pd.Timedelta("30min")
    assert history.end == pd.Timestamp("2026-06-01 11:00", tz="Europe/Rome")


def test_missing_intervals_and_days_are_unknown_not_zero(tmp_path):
    rows = ["interval_start,orders"] + [
        f"2026-03-0{d} {h:02d}:00,{d}" for d in (2, 3, 6) for h in (9, 10, 11)
    ]
    history = read_history(write(tmp_path, "\n".join(rows) + "\n"), "Europe/Rome")
    calls = history.calls["orders"]
    assert calls.loc["2026-03-03 11:00"] == 3
    assert np.isnan(calls.loc["2026-03-04 10:00"])  # a missing day
    assert np.isnan(calls.loc["2026-03-02 15:00"])  # a missing night
    assert calls.notna().sum() == 9


def test_bad_rows_are_reported_with_their_line_numbers(tmp_path):
    text = (
        "interval_start,orders,orders_aht_s\n"
        "2026-03-02 09:00,4,200\n"
        "yesterday,5,200\n"
        "2026-03-02 10:00,-2,200\n"
        "2026-03-02 10:30,many,200\n"
        "2026-03-02 09:00,7,200\n"
        "2026-03-02 11:00,1,abc\n"
    )
    with pytest.raises(HistoryError) as info:
        read_history(write(tmp_path, text), "Europe/Rome")
    assert info.value.problems == [
        (3, "interval_start 'yesterday' is not a date and time"),
        (4, "orders -2 is negative"),
        (5, "orders 'many' is not a number"),
        (6, "interval_start 2026-03-02 09:00:00+01:00 repeats line 2"),
        (7, "orders_aht_s 'abc' is not a number"),
    ]
    assert "history.csv:4: orders -2 is negative" in str(info.value)


def test_missing_column_and_empty_file(tmp_path):
    with pytest.raises(HistoryError, match="no 'interval_start' column"):
        read_history(write(tmp_path, "time,orders\n2026-01-01,1\n"), "UTC")
    with pytest.raises(HistoryError, match="no queue columns"):
        read_history(write(tmp_path, "interval_start\n2026-01-01\n"), "UTC")


def test_autumn_dst_day_has_25_hours(tmp_path):
    index = pd.date_range("2026-10-25 00:00", periods=50, freq="30min", tz="Europe/Rome")
    text = "interval_start,orders\n" + "".join(f"{t.isoformat()},1\n" for t in index)
    history = read_history(write(tmp_path, text), "Europe/Rome")
    day = history.calls.index[
        history.calls.index.normalize() == pd.Timestamp("2026-10-25", tz="Europe/Rome")
    ]
    assert len(day) == 50
    assert history.calls["orders"].sum() == 50


def test_naive_times_on_the_spring_change_day(tmp_path):
    # 02:00-03:00 does not exist in Rome on 29 March 2026: a naive row there is an error
    text = "interval_start,orders\n2026-03-29 01:30,1\n2026-03-29 02:30,1\n2026-03-29 03:00,1\n"
    with pytest.raises(
        HistoryError,
        match=r"history.csv:3: interval_start 2026-03-29 02:30:00 does not exist in Europe/Rome",
    ):
        read_history(write(tmp_path, text), "Europe/Rome")
    ok = read_history(
        write(tmp_path, "interval_start,orders\n2026-03-29 01:30,1\n2026-03-29 03:00,1\n"),
        "Europe/Rome",
    )
    assert ok.calls.index[1] - ok.calls.index[0] == pd.Timedelta(
        "30min"
    )  # 01:30 -> 03:00 is 30 minutes


def test_naive_times_on_the_autumn_change_day_take_the_first_as_summer_time(tmp_path):
    text = "interval_start,orders\n2026-10-25 02:00,1\n2026-10-25 02:30,2\n2026-10-25 02:00,3\n2026-10-25 02:30,4\n"
    history = read_history(write(tmp_path, text), "Europe/Rome")
    assert history.calls["orders"].tolist() == [1, 2, 3, 4]
    assert [t.utcoffset().total_seconds() / 3600 for t in history.calls.index] == [2, 2, 1, 1]


def test_aggregate_sums_calls_and_weights_aht_by_volume(tmp_path):
    text = "interval_start,orders,orders_aht_s\n2026-03-02 09:00,10,100\n2026-03-02 09:30,30,200\n2026-03-02 10:00,,\n2026-03-02 10:30,,\n"
    history = read_history(write(tmp_path, text), "Europe/Rome", freq="1h")
    assert history.calls["orders"].tolist()[0] == 40
    assert history.aht_s["orders"].tolist()[0] == pytest.approx(175.0)
    assert np.isnan(history.calls["orders"].tolist()[1])
    with pytest.raises(ValueError, match="multiple"):
        history.aggregate("45min")


def test_reads_the_shared_israeli_data_with_its_missing_days():
    path = shared_path("data", "israel_bank_1999_30min_by_type_jan-jul.csv")
    history = read_history(path, None)
    assert history.queues == ["PS", "NW", "NE", "IN", "TT", "PE", "other", "total"]
    assert history.calls["total"].notna().sum() == 10_080
    assert history.calls.loc["1999-01-11", "total"].isna().all()
