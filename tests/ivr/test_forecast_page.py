"""/supervisor/forecast: the stored forecast by day and queue with its band and AHT, last year's
same weekdays from the call log, special days marked; the CSV is the stored forecast."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd

from ivr.config.loader import load_config
from ivr.planning.drafts import save_draft
from ivr.store.db import session_scope
from ivr.store.models import QueueEntry

from .conftest import OPEN_TIME, login

CFG = load_config()


def week_csv() -> str:
    starts = pd.date_range(
        pd.Timestamp("2026-12-07", tz="Europe/Rome"), periods=7 * 48, freq="30min"
    )
    rows = [
        {"queue": q, "interval_start": t.isoformat(), "calls": 2.0, "calls_p10": 1.0,
         "calls_p90": 3.5, "aht_s": 240.0}
        for q in CFG.queue_ids()
        for t in starts
        if 9 <= t.hour < 17
    ]  # fmt: skip
    return pd.DataFrame(rows).to_csv(index=False)


def test_the_forecast_page_by_day_with_last_year_and_special_days(app):
    content = week_csv()
    with session_scope(app) as session:
        save_draft(session, "forecast", dt.date(2026, 12, 7), content, {}, OPEN_TIME)
        last_year = dt.datetime(2025, 12, 9, 10, 0, tzinfo=dt.UTC)  # Tuesday, 52 weeks before
        for n in range(7):
            at = last_year + dt.timedelta(minutes=n)
            session.add(QueueEntry(call_sid=f"CAly{n}", queue="orders", entered_at=at,
                                   original_entered_at=at))  # fmt: skip
    client = app.test_client()
    login(client)
    page = client.get("/supervisor/forecast").get_data(as_text=True)
    rows = re.findall(r"<tr(?: class=\"special\")?><td>(\w{3} [\d-]+)</td><td>([^<]*)</td>", page)
    assert [r[0] for r in rows][:3] == ["Mon 2026-12-07", "Tue 2026-12-08", "Wed 2026-12-09"]
    specials = dict(rows)
    assert specials["Mon 2026-12-07"] == "eve of a holiday"
    assert specials["Tue 2026-12-08"] not in ("", "eve of a holiday")  # the Immaculate Conception
    assert specials["Wed 2026-12-09"] == "day after a holiday"
    # 16 intervals x 2 calls x 4 queues = 128 a day; orders last year on Tue 9 Dec 2025: 7
    assert "<td>128</td><td>64–224</td>" in page
    assert "last year 7)" in page
    assert "AHT 240 s" in page
    data = json.loads(re.search(r'id="forecast-data">(.*?)</script>', page, re.S).group(1))
    assert len(data) == 7 * 16 and data[0] == {
        "at": "Mon 07 09:00",
        "calls": 8.0,
        "p10": 4.0,
        "p90": 14.0,
    }
    assert client.get("/supervisor/forecast.csv").get_data(as_text=True) == content


def test_without_a_forecast_the_page_says_how_to_get_one(app):
    client = app.test_client()
    login(client)
    assert "No forecast is stored yet" in client.get("/supervisor/forecast").get_data(as_text=True)
    assert client.get("/supervisor/forecast.csv").status_code == 404
