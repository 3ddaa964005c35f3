"""Complaint tickets in headless Chromium: an ops login finds a ticket by the first digits of its
reference, opens it, starts work on it, resolves it with a note and sees the note with its author;
the scheduler's job then posts each change of status to a webhook receiver exactly once."""

from __future__ import annotations

import datetime as dt

from ivr.jobs import scheduler
from ivr.store.db import session_scope
from ivr.store.models import Call, ComplaintTicket
from tests.browser.test_dashboard import (
    ARTIFACTS,
    BROWSER_FLAGS,
    CHROMIUM,
    _require_browser,
    log_in,
)
from tests.ivr.conftest import OPEN_TIME
from tests.ivr.test_alerts import Receiver
from tests.ivr.test_tickets import configure


def test_an_ops_login_works_a_ticket_and_the_webhook_hears_each_change_once(
    live_server, config_dir
):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    receiver = Receiver()
    app, base = live_server(
        TWILIO_AUTH_TOKEN="browser-test-token",
        CLOCK=lambda: OPEN_TIME,
        CONFIG_DIR=configure(config_dir, receiver.url),
    )
    with session_scope(app) as session:
        for n, reference in enumerate(("31415926", "27182818")):
            session.add(Call(call_sid=f"CAb{n}", from_number="+393471234567", queue="complaints",
                             language="it", started_at=OPEN_TIME - dt.timedelta(minutes=n)))  # fmt: skip
            session.add(ComplaintTicket(reference=reference, call_sid=f"CAb{n}", language="it",
                                        from_number="+393471234567",
                                        created_at=OPEN_TIME - dt.timedelta(minutes=n)))  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            try:
                log_in(page, base, "olga")
                page.click("text=Complaint tickets")
                expect(page.locator("#tickets tbody tr")).to_have_count(2)
                page.fill("#ticket-search input[name=q]", "3141")
                page.click("#ticket-search button")
                expect(page.locator("#tickets tbody tr")).to_have_count(1)
                page.click("#ticket-31415926 >> text=31415926")
                expect(page.locator("h1")).to_contain_text("Ticket 31415926")
                expect(page.locator("#ticket-caller")).to_have_text("+39*******567")
                page.click("#to-in_progress button")
                expect(page.locator("#ticket-status")).to_have_text("in progress")
                page.fill("#to-resolved textarea[name=note]", "Refund sent; the caller agreed.")
                page.click("#to-resolved button")
                expect(page.locator("#ticket-status")).to_have_text("resolved")
                note = page.locator("#notes li.note")
                expect(note).to_have_count(1)
                expect(note.locator(".note-author")).to_have_text("olga")
                expect(note.locator(".note-text")).to_have_text("Refund sent; the caller agreed.")
                expect(page.locator("#history tbody tr")).to_have_count(2)
                page.screenshot(path=str(ARTIFACTS / "ticket.png"), full_page=True)
            finally:
                browser.close()
        assert receiver.bodies == []  # the page only stored the changes
        first = scheduler.run_job(app, "post_ticket_changes", OPEN_TIME)
        assert first.outcome == "ok" and first.detail.startswith("2 ticket change(s) posted")
        scheduler.run_job(app, "post_ticket_changes", OPEN_TIME + dt.timedelta(seconds=15))
        assert [(b["reference"], b["old_status"], b["new_status"], b["by"], b["queue"])
                for b in receiver.bodies] == [
            ("31415926", "open", "in_progress", "olga", "complaints"),
            ("31415926", "in_progress", "resolved", "olga", "complaints"),
        ]  # fmt: skip
    finally:
        receiver.close()
