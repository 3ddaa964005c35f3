"""Agents' requests in headless Chromium: an agent asks for time off on the desk (a bad date
first, refused with the field named), a supervisor approves it on the requests page with a note,
and the desk shows the decision without a reload."""

from __future__ import annotations

from sqlalchemy import select

from ivr.store.db import session_scope
from ivr.store.models import AgentRequest
from tests.browser.test_dashboard import (
    ARTIFACTS,
    BROWSER_FLAGS,
    CHROMIUM,
    _require_browser,
    log_in,
)
from tests.ivr.conftest import OPEN_TIME


def test_time_off_asked_on_the_desk_is_approved_by_a_supervisor(live_server):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    app, base = live_server(TWILIO_AUTH_TOKEN="browser-test-token", CLOCK=lambda: OPEN_TIME)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS, headless=True)
        desk = browser.new_context(viewport={"width": 1400, "height": 1200}).new_page()
        office = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        desk.route(  # the softphone is off on this server: its library is not needed
            "**/static/vendor/twilio.min.js",
            lambda route: route.fulfill(body="", content_type="application/javascript"),
        )
        try:
            log_in(desk, base, "giulia")
            expect(desk).to_have_url(f"{base}/agent")
            panel = desk.locator("#requests")
            # the shift start shows only for a shift preference, the end date only for time off
            expect(panel.locator("#request-shift-field")).to_be_hidden()
            desk.select_option("#request-kind", "prefer_shift")
            expect(panel.locator("#request-shift-field")).to_be_visible()
            expect(panel.locator("#request-end-field")).to_be_hidden()
            desk.select_option("#request-kind", "time_off")

            desk.fill("#request-date", "2026-12-02")
            desk.fill("#request-end", "2026-12-01")
            desk.fill("#request-note", "moving house")
            panel.locator("button[type=submit]").click()
            expect(panel.locator("#request-message")).to_have_text(
                "end date: 2026-12-01 is before the date 2026-12-02"
            )
            desk.fill("#request-end", "2026-12-03")
            panel.locator("button[type=submit]").click()
            asked = panel.locator("#request-list tbody tr")
            expect(asked).to_have_count(1)
            expect(asked).to_contain_text("time off Wed 2026-12-02 to Thu 2026-12-03")
            expect(asked).to_have_attribute("data-status", "pending")
            expect(panel.locator("#request-message")).to_have_text("")
            expect(desk.locator("#request-note")).to_have_value("")  # the form is cleared

            log_in(office, base, "demo")
            office.goto(f"{base}/supervisor/requests")
            row = office.locator("#requests tbody tr")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("A001 Giulia Rossi")
            expect(row).to_contain_text("moving house")
            row.locator("input[name=decision_note]").fill("enjoy the new place")
            row.locator("button[value=approve]").click()
            expect(office.locator("#requests tbody")).to_contain_text("No requests.")
            office.goto(f"{base}/supervisor/requests?status=approved&week=2026-12-02")
            expect(office.locator("#requests tbody tr")).to_contain_text(
                "approved by demo 2026-11-25 10:00: enjoy the new place"
            )
            office.screenshot(path=str(ARTIFACTS / "requests-page.png"), full_page=True)

            # the desk polls its state: the decision shows without a reload
            expect(asked).to_have_attribute("data-status", "approved")
            expect(asked).to_contain_text("enjoy the new place")
            expect(asked.locator("button")).to_have_count(0)  # nothing left to withdraw
            desk.screenshot(path=str(ARTIFACTS / "agent-desktop-requests.png"), full_page=True)
        finally:
            browser.close()
    with session_scope(app) as session:
        row = session.scalars(select(AgentRequest)).one()
        assert (row.agent_id, row.status, row.entered_by, row.decided_by) == (
            "A001",
            "approved",
            "giulia",
            "demo",
        )
