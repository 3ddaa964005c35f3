"""The intraday reforecast (forecasts/intraday.py): the rest of today from the day-ahead forecast
and the calls so far."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasts.forecast import COLUMNS
from forecasts.history import History, read_history
from forecasts.intraday import (
    IntradayError,
    IntradayParams,
    day_ahead_forecasts,
    fit_intraday,
    reforecast,
)
from tests.conftest import shared_path

from .synthetic import expected_calls

TZ = "Europe/Rome"
HALF_HOUR = pd.Timedelta(minutes=30)


def day_ahead(day: str, queues: dict[str, float], tz: str | None = TZ) -> pd.DataFrame:
    """A day-ahead forecast of one local day: the synthetic shape, a band around it."""
    start = pd.Timestamp(day, tz=tz)
    index = pd.date_range(start, start + pd.Timedelta(days=1), freq=HALF_HOUR, inclusive="left")
    if tz is not None:  # on a DST day the day is 23 or 25 hours long
        index = pd.date_range(
            start,
            pd.Timestamp(pd.Timestamp(day) + pd.Timedelta(days=1), tz=tz),
            freq=HALF_HOUR,
            inclusive="left",
        )
    parts = []
    for queue, daily in queues.items():
        mean = expected_calls(index, daily=daily)
        parts.append(
            pd.DataFrame(
                {
                    "queue": queue,
                    "interval_start": index,
                    "calls": mean,
                    "calls_p10": mean * 0.8,
                    "calls_p90": mean * 1.2,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def history_of(forecast: pd.DataFrame, now: pd.Timestamp, factor: float) -> History:
    """Actual calls so far today: the forecast times ``factor`` (rounded), up to ``now``."""
    frame = forecast.pivot(index="interval_start", columns="queue", values="calls")
    frame = frame[frame.index + HALF_HOUR <= now]
    calls = (frame * factor).round()
    index = pd.DatetimeIndex(calls.index)
    return History(
        calls, pd.DataFrame(np.nan, index=index, columns=calls.columns), HALF_HOUR, index.tz
    )


def rest_ratio(table: pd.DataFrame, forecast: pd.DataFrame, queue: str = "orders") -> float:
    mine = table[table["queue"] == queue]
    before = forecast[
        (forecast["queue"] == queue) & forecast["interval_start"].isin(mine["interval_start"])
    ]
    return mine["calls"].sum() / before["calls"].sum()


def test_a_day_running_above_forecast_moves_the_rest_up_more_as_the_day_goes_on():
    forecast = day_ahead("2026-03-17", {"orders": 2000.0})
    ratios = {}
    for hour in (9, 12, 16):
        now = pd.Timestamp(f"2026-03-17 {hour:02d}:00", tz=TZ)
        table = reforecast(history_of(forecast, now, 1.3), forecast, now)
        ratios[hour] = rest_ratio(table, forecast)
    assert 1.0 < ratios[9] < 1.3
    assert ratios[9] < ratios[12] < ratios[16] <= 1.3 + 1e-6
    assert ratios[16] > 1.2  # late in the day the level is known: close to 1.3
    below = reforecast(
        history_of(forecast, pd.Timestamp("2026-03-17 12:00", tz=TZ), 0.7),
        forecast,
        pd.Timestamp("2026-03-17 12:00", tz=TZ),
    )
    assert 0.7 <= rest_ratio(below, forecast) < 1.0


def test_a_day_with_no_calls_so_far_keeps_the_day_ahead_forecast():
    forecast = day_ahead("2026-03-17", {"orders": 2000.0, "complaints": 300.0})
    now = pd.Timestamp("2026-03-17 06:00", tz=TZ)  # before the first call of the day
    history = history_of(forecast, now, 1.0)
    assert history.calls.sum().sum() == 0
    table = reforecast(history, forecast, now)
    expected = forecast[forecast["interval_start"] >= now].reset_index(drop=True)
    pd.testing.assert_frame_equal(table.reset_index(drop=True), expected[COLUMNS])


def test_a_queue_without_calls_keeps_its_rows_while_another_is_updated():
    forecast = day_ahead("2026-03-17", {"orders": 2000.0, "complaints": 300.0})
    now = pd.Timestamp("2026-03-17 11:00", tz=TZ)
    history = history_of(forecast, now, 1.3)
    history.calls["complaints"] = 0.0
    table = reforecast(history, forecast, now)
    quiet = table[table["queue"] == "complaints"].reset_index(drop=True)
    before = forecast[(forecast["queue"] == "complaints") & (forecast["interval_start"] >= now)]
    assert np.allclose(quiet["calls"], before["calls"])
    assert rest_ratio(table, forecast, "orders") > 1.05


@pytest.mark.parametrize(
    ("day", "hours"), [("2026-03-29", 23), ("2026-10-25", 25), ("2026-03-17", 24)]
)
def test_output_covers_now_to_the_end_of_the_local_day_on_dst_days(day, hours):
    forecast = pd.concat(
        [day_ahead(day, {"orders": 2000.0}), day_ahead("2026-10-26", {"orders": 2000.0})]
    )
    for clock, left in (("00:00", hours), ("01:00", hours - 1), ("13:00", 11)):
        now = pd.Timestamp(f"{day} {clock}", tz=TZ)
        history = history_of(forecast, now, 1.1)
        table = reforecast(history, forecast, now)
        times = pd.DatetimeIndex(table["interval_start"])
        assert list(table.columns) == COLUMNS
        assert len(times) == 2 * left, (day, clock)
        assert times[0] == now
        assert ((times[1:] - times[:-1]) == HALF_HOUR).all()  # consecutive in absolute time
        assert times[-1] + HALF_HOUR == pd.Timestamp(
            pd.Timestamp(day) + pd.Timedelta(days=1), tz=TZ
        )


def test_the_band_holds_the_reforecast_and_narrows_as_the_day_is_seen():
    forecast = day_ahead("2026-03-17", {"orders": 2000.0, "complaints": 60.0})
    widths = []
    for hour in (9, 15):
        now = pd.Timestamp(f"2026-03-17 {hour:02d}:00", tz=TZ)
        table = reforecast(history_of(forecast, now, 1.2), forecast, now)
        assert (table["calls_p10"] <= table["calls"]).all()
        assert (table["calls"] <= table["calls_p90"]).all()
        assert (table[["calls", "calls_p10", "calls_p90"]] >= 0).all().all()
        at = table[
            (table["queue"] == "orders")
            & (table["interval_start"] == table["interval_start"].max() - pd.Timedelta(hours=4))
        ]
        widths.append(float((at["calls_p90"] - at["calls_p10"]).iloc[0] / at["calls"].iloc[0]))
    assert widths[1] < widths[0]


def test_naive_wall_clock_history_and_forecast():
    forecast = day_ahead("2003-09-02", {"calls": 30000.0}, tz=None)
    now = pd.Timestamp("2003-09-02 12:00")
    table = reforecast(history_of(forecast, now, 0.8), forecast, now)
    assert table["interval_start"].iloc[0] == now and len(table) == 24
    assert 0.8 <= rest_ratio(table, forecast, "calls") < 1.0


def test_inputs_that_do_not_fit_together_are_refused():
    forecast = day_ahead("2026-03-17", {"orders": 2000.0})
    now = pd.Timestamp("2026-03-17 12:00", tz=TZ)
    history = history_of(forecast, now, 1.0)
    with pytest.raises(IntradayError, match="after now"):
        reforecast(history, forecast, pd.Timestamp("2026-03-17 10:00", tz=TZ))
    with pytest.raises(IntradayError, match="billing"):
        reforecast(history, forecast.assign(queue="billing"), now)
    with pytest.raises(IntradayError, match="does not cover"):
        reforecast(history, forecast, pd.Timestamp("2026-03-18 12:00", tz=TZ))
    with pytest.raises(IntradayError, match="does not cover"):
        reforecast(history, forecast[forecast["interval_start"] < "2026-03-17 20:00+01:00"], now)


def past_days(days: int, level_sd: float, seed: int) -> tuple[History, pd.DataFrame]:
    """``days`` weekdays whose level wanders around the forecast by ``level_sd`` (log scale)."""
    rng = np.random.default_rng(seed)
    parts, actual = [], []
    for day in pd.bdate_range("2026-01-05", periods=days):
        forecast = day_ahead(str(day.date()), {"orders": 1500.0})
        level = np.exp(rng.normal(0.0, level_sd))
        drift = np.exp(np.cumsum(rng.normal(0.0, 0.01, len(forecast))))  # a little shape noise
        parts.append(forecast)
        actual.append(
            pd.Series(
                rng.poisson(forecast["calls"] * level * drift), index=forecast["interval_start"]
            )
        )
    table = pd.concat(parts, ignore_index=True)
    calls = pd.concat(actual).astype(float)
    index = pd.date_range(
        calls.index[0], calls.index[-1] + HALF_HOUR, freq=HALF_HOUR, inclusive="left"
    )
    frame = pd.DataFrame({"orders": calls.reindex(index)})
    return History(frame, frame * np.nan, HALF_HOUR, index.tz), table


def test_the_fit_follows_the_calls_more_when_day_levels_are_noisier():
    quiet = fit_intraday(*past_days(30, 0.02, seed=1), empirical=False)
    noisy = fit_intraday(*past_days(30, 0.25, seed=2), empirical=False)
    q, n = quiet.for_queue("orders"), noisy.for_queue("orders")
    assert n.level_sd**2 + n.deviation_sd**2 > 4 * (q.level_sd**2 + q.deviation_sd**2)
    assert n.fit_days == q.fit_days == 30
    assert n.fit_wape < n.fit_wape_day_ahead  # on noisy days the update pays
    forecast = day_ahead("2026-03-17", {"orders": 1500.0})
    now = pd.Timestamp("2026-03-17 11:00", tz=TZ)
    history = history_of(forecast, now, 1.25)
    moved = {
        name: rest_ratio(reforecast(history, forecast, now, params), forecast)
        for name, params in (("quiet", quiet), ("noisy", noisy))
    }
    assert 1.0 <= moved["quiet"] < moved["noisy"] <= 1.25 + 1e-6


def test_unfitted_queues_use_the_default_prior():
    params = fit_intraday(*past_days(5, 0.1, seed=3))  # too few days to fit
    assert params.queues == {}
    assert params.for_queue("orders") == IntradayParams().default


def test_the_reforecast_beats_the_day_ahead_on_the_us_bank():
    """Fitted on five weeks, scored at noon on the last ten days of the series."""
    path = shared_path("data", "us_bank_2003_5min.csv")
    history = read_history(path, tz=None, freq="30min")
    days = pd.DatetimeIndex(sorted(set(history.calls["calls"].dropna().index.normalize())))
    fit_days, test_days = days[-35:-10], days[-10:]
    params = fit_intraday(
        history.before(test_days[0]), day_ahead_forecasts(history, fit_days), empirical=False
    )
    ahead = day_ahead_forecasts(history, test_days, bands=True)
    errors = {"day-ahead": 0.0, "reforecast": 0.0}
    for day in test_days:
        now = day + pd.Timedelta(hours=12)
        mine = ahead[
            (ahead["interval_start"] >= day)
            & (ahead["interval_start"] < day + pd.Timedelta(days=1))
        ]
        table = reforecast(history.before(now), mine, now, params)
        actual = history.calls["calls"].reindex(table["interval_start"]).to_numpy()
        seen = np.isfinite(actual)
        before = (
            mine.set_index("interval_start")["calls"].reindex(table["interval_start"]).to_numpy()
        )
        errors["day-ahead"] += np.abs(before - actual)[seen].sum()
        errors["reforecast"] += np.abs(table["calls"].to_numpy() - actual)[seen].sum()
    assert errors["reforecast"] < 0.95 * errors["day-ahead"]


def test_a_forecast_read_from_csv_text_gives_the_same_reforecast():
    forecast = day_ahead("2026-10-25", {"orders": 2000.0})  # 25 hours: two +02:00/+01:00 01:00s
    now = pd.Timestamp("2026-10-25 11:00", tz=TZ)
    history = history_of(forecast, now, 1.2)
    as_text = forecast.assign(interval_start=[t.isoformat() for t in forecast["interval_start"]])
    pd.testing.assert_frame_equal(
        reforecast(history, as_text, now), reforecast(history, forecast, now)
    )
