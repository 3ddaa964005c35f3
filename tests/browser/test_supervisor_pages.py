"""A supervisor in headless Chromium: the forecast page, an agent's calendar feed fetched from
the calendars page and parsed, a voicemail played through the app's proxy (the Twilio stand-in
serves the audio) and marked handled, and the CSAT report."""

from __future__ import annotations

import datetime as dt

import icalendar

from ivr.demo.twilio_sim import RestStandIn
from ivr.planning.drafts import save_draft
from ivr.store.audit import commit_with_audit
from ivr.store.db import session_scope
from ivr.store.models import Call, Survey
from tests.browser.test_dashboard import (
    ARTIFACTS,
    BROWSER_FLAGS,
    CHROMIUM,
    _require_browser,
    log_in,
)
from tests.ivr.conftest import OPEN_TIME, store_roster
from tests.ivr.test_forecast_page import week_csv

SID = "AC" + "7" * 32
RECORDINGS = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Recordings/"


def test_a_supervisor_reads_the_forecast_feeds_plays_a_voicemail_and_reads_csat(
    live_server, tmp_path
):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    twilio = RestStandIn().start()
    twilio.recordings.add("REvoicemail1")
    app, base = live_server(
        CLOCK=lambda: OPEN_TIME,
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN="browser-test-token",
        TWILIO_REST_BASE_URL=twilio.base_url,
    )
    with session_scope(app) as session:
        save_draft(session, "forecast", dt.date(2026, 12, 7), week_csv(), {}, OPEN_TIME)
        session.add(
            Call(call_sid="CAvm1", from_number="+393471234567", queue="orders", language="it",
                 started_at=OPEN_TIME - dt.timedelta(hours=2),
                 voicemail_url=RECORDINGS + "REvoicemail1", voicemail_duration_s=1)
        )  # fmt: skip
        session.add(Call(call_sid="CAsv1", started_at=OPEN_TIME - dt.timedelta(hours=1)))
        session.add(
            Survey(call_sid="CAsv1", queue="complaints", language="en", score=1,
                   created_at=OPEN_TIME - dt.timedelta(hours=1))
        )  # fmt: skip
    store_roster(app, 2, "published", agent="A001")
    with session_scope(app) as session:
        commit_with_audit(session, "demo", "roster.publish", {"week": "2026-11-23"})

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1366, "height": 768})  # a laptop's screen
        try:
            log_in(page, base)

            page.goto(f"{base}/supervisor/forecast")
            expect(page.locator("body")).to_contain_text("eve of a holiday")
            points = page.evaluate(
                "Chart.getChart(document.querySelector('canvas')).data.datasets[0].data.length"
            )
            assert points == 7 * 16
            csv = page.request.get(f"{base}/supervisor/forecast.csv")
            assert csv.ok and csv.text().startswith("queue,interval_start,calls")

            page.goto(f"{base}/supervisor/calendars")
            link = page.locator("#feed-A001 code").inner_text()
            feed = page.request.get(link)  # as a calendar application would subscribe
            assert feed.ok and feed.headers["content-type"].startswith("text/calendar")
            events = list(icalendar.Calendar.from_ical(feed.body()).walk("VEVENT"))
            assert len(events) == 2
            assert {e["dtstart"].dt.date() for e in events} == {
                dt.date(2026, 11, 23),
                dt.date(2026, 11, 24),
            }

            page.goto(f"{base}/supervisor/inbox")
            row = page.locator("#voicemail-1")
            expect(row).to_contain_text("orders")
            expect(row).not_to_contain_text("1234567")  # the caller masked
            audio = row.locator("audio")
            assert "api.twilio.com" not in audio.get_attribute("src")
            played = audio.evaluate(
                """(el) => new Promise((resolve) => {
                    el.addEventListener('loadedmetadata', () => resolve(el.duration), {once: true});
                    el.addEventListener('error', () => resolve(-1), {once: true});
                    el.load();
                })"""
            )
            assert played > 0.5  # the stand-in's second of silence, decoded by the browser
            assert twilio.played == ["REvoicemail1"]
            row.locator("text=Handled").click()
            expect(page.locator("#voicemail-1")).to_have_count(0)  # handled: out of the list
            page.goto(f"{base}/supervisor/inbox?handled=1")
            expect(page.locator("#voicemail-1")).to_contain_text("handled by demo")

            page.goto(f"{base}/supervisor/csat")
            expect(page.locator("body")).to_contain_text("complaints")
            page.screenshot(path=str(ARTIFACTS / "supervisor-csat.png"))
        finally:
            browser.close()
            twilio.stop()
