"""The models recover a known shape, level, trend and holidays, across DST, never negative."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecasts.calendar import Calendar
from forecasts.history import local_dates
from forecasts.models import ProfileModel, SeasonalAverage, SeasonalNaive, make_model, nb_band

from .synthetic import WEEKDAY, expected_calls, history_frame

ROME = "Europe/Rome"


def grid(start: str, days: int, freq: str = "30min", tz: str | None = ROME) -> pd.DatetimeIndex:
    begin = pd.Timestamp(start, tz=tz)
    return pd.date_range(begin, begin + pd.Timedelta(days=days), freq=freq, inclusive="left")


def wape(actual, forecast) -> float:
    return float(np.abs(actual - forecast).sum() / actual.sum())


def test_recovers_the_intraday_profile_and_weekday_pattern():
    train = grid("2026-01-05", 10 * 7)
    model = ProfileModel().fit(history_frame(train, seed=1))
    target = grid("2026-03-16", 7)
    forecast = model.predict(target)["calls"].to_numpy()
    truth = expected_calls(target)
    assert wape(truth, forecast) < 0.04
    assert np.corrcoef(truth, forecast)[0, 1] > 0.995
    daily = pd.Series(forecast).groupby(local_dates(target)).sum().to_numpy()
    assert daily / daily[0] == pytest.approx(WEEKDAY / WEEKDAY[0], rel=0.05)
    night = (target.hour < 7) | (target.hour >= 21)
    assert forecast[night].max() == 0.0


def test_follows_a_trend_better_than_the_seasonal_average():
    train = grid("2026-01-05", 10 * 7)
    y = history_frame(train, seed=2, trend_per_week=0.04)
    target = grid("2026-03-16", 7)
    truth = expected_calls(grid("2026-01-05", 11 * 7), trend_per_week=0.04)[-len(target) :]
    ours = wape(truth, ProfileModel().fit(y).predict(target)["calls"].to_numpy())
    baseline = wape(truth, SeasonalAverage(4).fit(y).predict(target)["calls"].to_numpy())
    assert ours < 0.7 * baseline


def test_learns_a_holiday_effect_and_applies_it_to_a_future_holiday():
    # Every Italian public holiday has 30 % of a normal day's calls; Easter Monday opens the week.
    calendar = Calendar("IT")
    train = grid("2025-11-03", 22 * 7)
    days = pd.date_range("2025-11-03", "2026-04-12").date
    holidays = {d: 0.3 for d in days if calendar.holiday(d)}
    y = history_frame(train, seed=3, holidays=holidays)
    model = ProfileModel().fit(y, calendar)
    ratio, _profile, seen = model.special["holiday"]
    assert seen >= 2  # Epiphany plus the December holidays
    target = grid("2026-04-06", 7)  # Easter Monday opens the forecast week
    forecast = model.predict(target)["calls"]
    daily = forecast.groupby(local_dates(target)).sum()
    normal_monday = model.level * model.weekday_factor[0]
    assert ratio == pytest.approx(0.3, rel=0.15)
    assert daily.iloc[0] / normal_monday == pytest.approx(ratio, rel=0.05)
    assert daily.iloc[0] < 0.5 * daily.iloc[1]


def test_days_around_holidays_are_learned_when_history_shows_them():
    calendar = Calendar("IT")
    days = pd.date_range("2025-11-03", "2026-01-25").date
    eves = {
        d: 1.5
        for d in days
        if calendar.holiday(d + dt.timedelta(days=1)) and not calendar.holiday(d)
    }
    y = history_frame(grid("2025-11-03", 12 * 7), seed=4, holidays=eves)
    model = ProfileModel().fit(y, calendar)
    assert "eve" in model.special
    assert model.special["eve"][0] == pytest.approx(1.5, rel=0.1)


def test_known_events_from_a_csv_are_learned(tmp_path):
    from forecasts.calendar import read_events

    (tmp_path / "events.csv").write_text(
        "date,label\n2026-02-02,renewal mailing\n2026-03-02,renewal mailing\n2026-04-06,renewal mailing\n"
    )
    events = read_events(tmp_path / "events.csv")
    y = history_frame(
        grid("2026-01-05", 12 * 7),
        seed=5,
        holidays={dt.date(2026, 2, 2): 1.6, dt.date(2026, 3, 2): 1.6},
    )
    model = ProfileModel().fit(y, Calendar(events=events))
    ratio = model.special["event:renewal mailing"][0]
    assert ratio == pytest.approx(1.6, rel=0.1)
    daily = (
        model.predict(grid("2026-04-06", 2))["calls"]
        .groupby(local_dates(grid("2026-04-06", 2)))
        .sum()
    )
    assert daily.iloc[0] / daily.iloc[1] == pytest.approx(1.6 * WEEKDAY[0] / WEEKDAY[1], rel=0.1)


def test_events_csv_errors_name_the_line(tmp_path):
    from forecasts.calendar import EventsError, read_events

    (tmp_path / "bad.csv").write_text("date,label\n2026-02-02,ok\n02/03/2026,bad\n")
    with pytest.raises(EventsError, match=r"bad.csv:3: date '02/03/2026' is not YYYY-MM-DD"):
        read_events(tmp_path / "bad.csv")


def test_forecast_across_dst_keeps_the_local_shape():
    train = grid("2026-02-02", 8 * 7)
    model = ProfileModel().fit(history_frame(train, seed=6))
    target = grid("2026-03-23", 14)  # crosses the spring change on Sunday 29 March
    forecast = model.predict(target)["calls"]
    days = pd.Series(target).groupby(local_dates(target)).size()
    assert days.loc[pd.Timestamp("2026-03-29")] == 46  # a 23-hour day
    by_day = forecast.groupby(local_dates(target))
    peak_hours = by_day.idxmax().map(lambda t: t.hour)[
        by_day.sum() > 0
    ]  # the window ends 01:00 on 6 April
    assert set(peak_hours[pd.DatetimeIndex(peak_hours.index).day_of_week < 5]) == {10}
    truth = expected_calls(target)
    assert wape(truth, forecast.to_numpy()) < 0.06


def test_autumn_dst_day_in_the_history_does_not_break_the_fit():
    train = grid("2026-09-07", 8 * 7)  # includes Sunday 25 October (25 hours)
    y = history_frame(train, seed=7)
    forecast = ProfileModel().fit(y).predict(grid("2026-11-02", 7))
    assert np.isfinite(forecast.to_numpy()).all()


def test_missing_days_are_not_zero_calls():
    train = grid("2026-01-05", 8 * 7)
    y = history_frame(train, seed=8)
    holes = y.copy()
    holes[
        (holes.index >= pd.Timestamp("2026-02-23", tz=ROME))
        & (holes.index < pd.Timestamp("2026-02-26", tz=ROME))
    ] = np.nan
    target = grid("2026-03-02", 7)
    full = ProfileModel().fit(y).predict(target)["calls"].sum()
    gappy = ProfileModel().fit(holes).predict(target)["calls"].sum()
    assert gappy == pytest.approx(full, rel=0.04)
    zeros = y.copy()
    zeros[holes.isna()] = 0.0
    assert (
        ProfileModel().fit(zeros).predict(target)["calls"].sum() < gappy
    )  # zeros would drag it down


@pytest.mark.parametrize("name", ["profile", "seasonal_avg4", "seasonal_naive"])
def test_forecasts_are_never_negative_and_bands_are_ordered(name):
    y = history_frame(grid("2026-01-05", 6 * 7), seed=9)
    forecast = make_model(name).fit(y).predict(grid("2026-02-16", 7))
    assert (forecast["calls"] >= 0).all()
    assert (forecast["calls_p10"] <= forecast["calls"] + 1).all()
    assert (forecast["calls_p90"] >= forecast["calls_p10"]).all()


def test_band_covers_about_eighty_percent_out_of_sample():
    y = history_frame(grid("2026-01-05", 10 * 7), seed=10, trend_per_week=0.01)
    target = grid("2026-03-16", 7)
    actual = history_frame(grid("2026-01-05", 11 * 7), seed=11, trend_per_week=0.01).to_numpy()[
        -len(target) :
    ]
    forecast = ProfileModel().fit(y).predict(target)
    busy = forecast["calls"].to_numpy() > 1
    inside = (actual >= forecast["calls_p10"].to_numpy()) & (
        actual <= forecast["calls_p90"].to_numpy()
    )
    assert 0.7 <= inside[busy].mean() <= 0.95


def test_seasonal_baselines_are_what_they_say():
    index = grid("2026-01-05", 35)
    y = pd.Series(np.arange(len(index), dtype=float), index=index)
    target = grid("2026-02-09", 1)
    naive = SeasonalNaive().fit(y).predict(target)["calls"].to_numpy()
    assert naive.tolist() == y.to_numpy()[-7 * 48 : -6 * 48].tolist()
    avg = SeasonalAverage(4).fit(y).predict(target)["calls"].to_numpy()
    lags = np.stack([y.to_numpy()[-k * 7 * 48 :][:48] for k in (1, 2, 3, 4)])
    assert avg == pytest.approx(lags.mean(axis=0))


def test_negative_binomial_band():
    lo, hi = nb_band(np.array([0.0, 10.0, 100.0]), 0.0)
    assert lo.tolist() == [0.0, 6.0, 87.0] and hi.tolist() == [0.0, 14.0, 113.0]
    wide_lo, wide_hi = nb_band(np.array([100.0]), 0.1)
    assert wide_lo[0] < 87 and wide_hi[0] > 113


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model 'prophet'"):
        make_model("prophet")


JERUSALEM = "Asia/Jerusalem"


def festival_effects(
    calendar: Calendar, start: str, end: str, period: float = 0.6, after: float = 1.2
) -> dict[dt.date, float]:
    """Day factors: holidays at 30 %, festival period days at ``period``, the week after at
    ``after``."""
    kinds = calendar.day_kinds(pd.date_range(start, end).to_numpy())
    effects = {}
    for day, row in kinds.iterrows():
        if pd.notna(row["holiday"]):
            effects[day.date()] = 0.3
        elif pd.notna(row["period"]):
            effects[day.date()] = period
        elif pd.notna(row["after_period"]):
            effects[day.date()] = after
    return effects


def daily_totals(frame: pd.DataFrame, index: pd.DatetimeIndex) -> pd.Series:
    return frame["calls"].groupby(local_dates(index)).sum()


def test_festival_periods_and_the_week_after_are_learned_and_applied_a_year_on():
    # Pesach and Sukkot 2025 in the history, Pesach 2026 in the two weeks forecast
    calendar = Calendar("IL")
    effects = festival_effects(calendar, "2025-03-01", "2026-04-30")
    train = grid("2025-03-10", 385, tz=JERUSALEM)
    target = grid("2026-03-30", 14, tz=JERUSALEM)
    y = history_frame(train, seed=12, holidays=effects)
    ours = ProfileModel().fit(y, calendar)
    plain = ProfileModel(periods=False).fit(y, calendar)
    factors = {column: f[0] for column, f in ours.period_factors.items()}
    assert factors["period"]["pesach"] == pytest.approx(0.6, rel=0.12)
    assert factors["after_period"]["pesach"] == pytest.approx(1.2, rel=0.06)

    kinds = calendar.day_kinds(pd.date_range("2026-03-30", periods=14).to_numpy())
    other = (kinds["eve"] | kinds["after"]).to_numpy()
    usual = kinds[["holiday", "event", "period", "after_period"]].isna().all(axis=1).to_numpy()
    usual = usual & ~other
    in_period = kinds["period"].notna().to_numpy() & ~other
    after = kinds["after_period"].notna().to_numpy() & ~other
    assert in_period.sum() >= 2 and after.sum() >= 2 and usual.sum() >= 2

    ours_daily = daily_totals(ours.predict(target), target).to_numpy()
    plain_daily = daily_totals(plain.predict(target), target).to_numpy()
    truth_daily = (
        pd.Series(expected_calls(target, holidays=effects))
        .groupby(local_dates(target))
        .sum()
        .to_numpy()
    )
    assert ours_daily[in_period] / truth_daily[in_period] == pytest.approx(1.0, rel=0.15)
    assert ours_daily[after] / truth_daily[after] == pytest.approx(1.0, rel=0.1)
    assert ours_daily[in_period] / plain_daily[in_period] == pytest.approx(0.6, rel=0.12)
    assert ours_daily[after] / plain_daily[after] == pytest.approx(1.2, rel=0.06)
    assert ours_daily[usual] == pytest.approx(plain_daily[usual], rel=1e-9)
    assert wape(truth_daily, ours_daily) < wape(truth_daily, plain_daily)


def test_no_festival_period_in_the_history_changes_nothing():
    calendar = Calendar("IL")
    effects = festival_effects(calendar, "2026-01-01", "2026-04-30")
    y = history_frame(grid("2026-01-05", 12 * 7, tz=JERUSALEM), seed=13, holidays=effects)
    target = grid("2026-03-30", 14, tz=JERUSALEM)  # Pesach 2026 and the week after
    ours = ProfileModel().fit(y, calendar)
    assert ours.period_factors == {}
    expected = ProfileModel(periods=False).fit(y, calendar).predict(target)
    pd.testing.assert_frame_equal(ours.predict(target), expected)


def test_a_period_seen_on_few_days_is_shrunk_toward_no_change():
    # the history ends two intermediate days into Pesach 2025
    calendar = Calendar("IL")
    effects = festival_effects(calendar, "2025-01-01", "2025-04-30", period=0.5)
    y = history_frame(grid("2025-01-06", 101, tz=JERUSALEM), seed=14, holidays=effects)
    kinds = calendar.day_kinds(pd.date_range("2025-01-06", periods=101).to_numpy())
    seen = kinds["period"].notna() & ~kinds["eve"] & ~kinds["after"]
    assert 1 <= seen.sum() <= 3
    shrunk = ProfileModel().fit(y, calendar).period_factors["period"][0]["pesach"]
    raw = ProfileModel(period_shrink_days=0.0).fit(y, calendar).period_factors["period"][0]
    assert raw["pesach"] == pytest.approx(0.5, rel=0.15)
    assert raw["pesach"] < shrunk < 1.0
