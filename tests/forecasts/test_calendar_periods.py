"""Festival periods and the week after them, found from the holiday names of the calendar."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from forecasts.calendar import Calendar, festival_periods


def kinds(calendar: Calendar, start: str, end: str) -> pd.DataFrame:
    frame = calendar.day_kinds(pd.date_range(start, end).to_numpy())
    frame.index = frame.index.date
    return frame


def labelled(frame: pd.DataFrame, column: str, label: str) -> list[dt.date]:
    return [day for day, value in frame[column].items() if value == label]


def days(first: str, last: str) -> list[dt.date]:
    return list(pd.date_range(first, last).date)


def test_pesach_1999_intermediate_days_and_the_week_after_in_israel():
    frame = kinds(Calendar("IL"), "1999-03-01", "1999-05-31")
    assert "Pesach" in frame.loc[dt.date(1999, 4, 1), "holiday"]
    assert "Pesach" in frame.loc[dt.date(1999, 4, 7), "holiday"]
    assert labelled(frame, "period", "pesach") == days("1999-04-02", "1999-04-06")
    assert labelled(frame, "after_period", "pesach") == days("1999-04-08", "1999-04-14")
    # the holidays themselves are no period days, and nothing else in spring is
    assert frame["period"].notna().sum() == 5
    assert frame["after_period"].notna().sum() == 7


def test_sukkot_1999_runs_to_shemini_atzeret_and_is_followed_by_its_week():
    frame = kinds(Calendar("IL"), "1999-09-01", "1999-10-31")
    assert labelled(frame, "period", "sukkot") == days("1999-09-26", "1999-10-01")
    assert labelled(frame, "after_period", "sukkot") == days("1999-10-03", "1999-10-09")
    assert pd.notna(frame.loc[dt.date(1999, 10, 2), "holiday"])
    assert pd.isna(frame.loc[dt.date(1999, 10, 2), "period"])


def test_christmas_to_new_year_in_italy_leaves_the_holidays_out():
    frame = kinds(Calendar("IT"), "2003-12-01", "2004-01-31")
    assert labelled(frame, "period", "christmas") == [
        dt.date(2003, 12, 24),
        *days("2003-12-27", "2003-12-31"),
    ]
    after = labelled(frame, "after_period", "christmas")
    assert after == [d for d in days("2004-01-02", "2004-01-08") if d != dt.date(2004, 1, 6)]
    assert pd.notna(frame.loc[dt.date(2004, 1, 6), "holiday"])  # Epiphany keeps its own kind
    assert frame.loc[dt.date(2003, 12, 24), "eve"]  # and the existing columns are unchanged


def test_no_christmas_period_where_the_calendar_has_no_christmas():
    frame = kinds(Calendar("IL"), "2003-12-01", "2004-01-31")
    assert frame["period"].isna().all() and frame["after_period"].isna().all()
    assert kinds(Calendar(), "1999-03-01", "1999-12-31")["period"].isna().all()


def test_an_observed_christmas_does_not_move_the_period():
    # 2021: Christmas on a Saturday, observed on Friday 24th; New Year observed on the 31st
    frame = kinds(Calendar("US"), "2021-12-15", "2022-01-15")
    assert labelled(frame, "period", "christmas") == days("2021-12-26", "2021-12-30")
    assert labelled(frame, "after_period", "christmas") == days("2022-01-02", "2022-01-08")


def test_periods_come_from_the_names_not_from_dates():
    extra = {dt.date(2030, 3, 10): "Pesach", dt.date(2030, 3, 16): "Seventh day of Pesach"}
    frame = kinds(Calendar(extra_holidays=extra), "2030-03-01", "2030-03-31")
    assert labelled(frame, "period", "pesach") == days("2030-03-11", "2030-03-15")
    assert labelled(frame, "after_period", "pesach") == days("2030-03-17", "2030-03-23")
    assert festival_periods({dt.date(2030, 3, 10): "Pesach"}) == []  # no last day: no period
