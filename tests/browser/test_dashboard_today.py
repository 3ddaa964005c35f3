"""The dashboard's "Today" in headless Chromium: the chart of calls so far against the day-ahead
forecast and the reforecast with its band (Chart.js from the npm registry, axes, time labels,
tooltips), the strip of agents needed against on line and rostered with the shortages in words,
and the callers waiting now."""

from __future__ import annotations

import datetime as dt

from ivr.planning.drafts import save_draft
from ivr.store.agent_states import set_state
from ivr.store.db import session_scope
from ivr.store.models import AgentAccount, QueueEntry, RosterAssignment
from tests.browser.test_dashboard import (
    ARTIFACTS,
    BROWSER_FLAGS,
    CHROMIUM,
    _require_browser,
    log_in,
)
from tests.ivr.conftest import OPEN_TIME
from tests.ivr.test_intraday_outlook import forecast_csv

ROME = dt.timezone(dt.timedelta(hours=1))


def test_today_shows_forecast_against_actuals_and_the_agents_short(live_server, tmp_path):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    app, base = live_server(TWILIO_AUTH_TOKEN="browser-test-token", CLOCK=lambda: OPEN_TIME)
    with session_scope(app) as session:  # Wednesday 25 November 2026, 10:00 in Rome
        save_draft(session, "forecast", dt.date(2026, 11, 23), forecast_csv(20), {}, OPEN_TIME)
        save_draft(session, "intraday", dt.date(2026, 11, 25), forecast_csv(26), {}, OPEN_TIME)
        session.add(AgentAccount(agent_id="A001", state="offline"))
        session.add(
            RosterAssignment(
                week_start=dt.date(2026, 11, 23), agent_id="A001", date=dt.date(2026, 11, 25),
                shift_start=dt.datetime(2026, 11, 25, 9, tzinfo=ROME),
                shift_end=dt.datetime(2026, 11, 25, 17, tzinfo=ROME),
                break_start=dt.datetime(2026, 11, 25, 13, tzinfo=ROME), status="published",
            )
        )  # fmt: skip
        session.flush()
        set_state(session, "A001", "available", OPEN_TIME)
        for n, minutes in enumerate((3, 40)):
            at = OPEN_TIME - dt.timedelta(minutes=minutes)
            session.add(
                QueueEntry(call_sid=f"CAtoday{n}", queue="orders", language="it",
                           entered_at=at, original_entered_at=at)
            )  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        try:
            log_in(page, base)
            page.goto(f"{base}/ops")
            today = page.locator("#today")
            expect(today.locator("#shortages li").first).to_contain_text("short by")
            expect(today.locator("#shortages")).to_contain_text("in all queues")
            chart = "Chart.getChart(document.getElementById('today-chart'))"
            labels = page.evaluate(f"{chart}.data.datasets.map((d) => d.label)")
            assert labels[:2] == ["calls so far", "day-ahead forecast"]
            assert {
                "reforecast",
                "reforecast p10",
                "reforecast p90",
                "service level",
                "target",
            } <= set(labels)
            ticks = page.evaluate(f"{chart}.data.labels")
            assert len(ticks) == 48 and ticks[20] == "10:00"
            axes = page.evaluate(
                f"Object.fromEntries(Object.entries({chart}.scales).map(([k, s]) => [k, s.options.title.text]))"
            )
            assert axes == {
                "x": "time of day", "calls": "calls per half hour", "sl": "service level %"
            }  # fmt: skip
            reforecast_at_noon = page.evaluate(
                f"{chart}.data.datasets.find((d) => d.label === 'reforecast').data[24]"
            )
            assert reforecast_at_noon == 26 * 4  # all queues: the four queues' 26 calls at 12:00
            # a tooltip on hover
            box = page.locator("#today-chart").bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
            page.wait_for_timeout(200)
            assert page.evaluate(f"{chart}.tooltip.getActiveElements().length") > 0
            # the strip: from 10:00 to the end of the day, one agent on line for all queues
            strip = today.locator("#strip tbody tr")
            expect(strip.first).to_contain_text("10:00")
            assert strip.count() == 28
            expect(strip.first.locator("td").nth(3)).to_have_text("1")
            page.select_option("#today-queue", "technical")
            expect(strip.first.locator("td").nth(3)).to_have_text("0")
            waiting = today.locator("#waiting tbody tr")
            expect(waiting).to_have_count(2)
            expect(waiting.first).to_contain_text("2400 s")
            page.screenshot(path=str(ARTIFACTS / "dashboard-today.png"), full_page=True)
        finally:
            browser.close()
