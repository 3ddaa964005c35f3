"""The roster page in headless Chromium: a supervisor opens the week, goes to its draft (the
published roster links to it), edits a cell picked in the table, sees an edit refused with the
rule and the agent named, locks a cell, solves the week again while the page follows its
progress, finds the lock kept, publishes and reads what changed."""

from __future__ import annotations

import re
import shutil
import threading

import pytest

from ivr.planning import rosters
from tests.browser.test_dashboard import (
    ARTIFACTS,
    BROWSER_FLAGS,
    CHROMIUM,
    _require_browser,
    log_in,
)
from tests.conftest import CONFIG_DIR
from tests.ivr.conftest import OPEN_TIME
from tests.ivr.test_roster_page import AGENTS, EARLY, LATE, store, store_plan, usual_week


@pytest.fixture
def roster_app(live_server, tmp_path, monkeypatch):
    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    (folder / "agents.csv").write_text(AGENTS)
    # the solve waits for the page to have seen it under way (a small week solves in well under
    # a second, before the page's first look)
    seen = threading.Event()
    solve = rosters.solve

    def solve_once_seen(problem, time_limit_s=30.0, **kwargs):
        if kwargs.get("on_stage"):
            kwargs["on_stage"]("CP-SAT on the whole week")
        seen.wait(30)
        return solve(problem, time_limit_s, **kwargs)

    monkeypatch.setattr(rosters, "solve", solve_once_seen)
    app, base = live_server(CONFIG_DIR=str(folder), CLOCK=lambda: OPEN_TIME)
    store(app, usual_week(), "published")
    store_plan(app)
    return app, base, seen


def test_a_supervisor_edits_locks_solves_again_and_publishes(roster_app):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    app, base, seen = roster_app
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        try:
            log_in(page, base)
            page.goto(f"{base}/supervisor/roster?week=2026-11-23")
            expect(page.locator("h1")).to_have_text("Roster (published), week of 2026-11-23")
            expect(page.locator("#edit-form")).to_have_count(0)  # changes are to the draft
            page.click("#to-draft a")
            expect(page.locator("h1")).to_have_text(
                "Roster (draft, from the published roster), week of 2026-11-23"
            )

            def cell(agent: str, date: str):
                return page.locator(f'table.roster td[data-agent="{agent}"][data-date="{date}"]')

            # an edit: the cell picked in the table fills the form
            cell("A003", "2026-11-23").click()
            expect(page.locator("#edit-agent")).to_have_value("A003")
            expect(page.locator("#edit-date")).to_have_value("2026-11-23")
            expect(page.locator("#edit-shift")).to_have_value("")
            page.select_option("#edit-shift", LATE)
            page.click("#edit-save")
            expect(page.locator("h1")).to_have_text("Roster (draft), week of 2026-11-23")
            expect(cell("A003", "2026-11-23")).to_have_text("13:00–21:30")
            # refused: an early on Tuesday after Monday's late leaves too little rest
            cell("A003", "2026-11-24").click()
            page.select_option("#edit-shift", EARLY)
            page.click("#edit-save")
            refused = page.locator("#refused")
            expect(refused).to_contain_text("A003 08:00-16:30 on Tue 24 Nov breaks a rule")
            expect(refused.locator("li")).to_have_text(
                "rest: A003: 08:00-16:30 after 13:00-21:30 on day 0 (Tue 24 Nov)"
            )
            expect(cell("A003", "2026-11-24")).to_have_text("")
            # a lock on Monday's late
            cell("A003", "2026-11-23").click()
            page.click("#edit-lock")
            expect(cell("A003", "2026-11-23")).to_have_class(re.compile(r"\blocked\b"))
            expect(page.locator("#locks")).to_contain_text("A003 Mon 23 Nov: 13:00-21:30")
            # solved again, its progress followed on the page
            page.fill("input[name=time_limit_s]", "5")
            page.click("#resolve-start")
            expect(page.locator("#resolve-progress")).to_be_visible()
            expect(page.locator("#resolve-message")).to_contain_text("CP-SAT on the whole week: ")
            expect(page.locator("#resolve-message")).to_contain_text(" s of 5 s")
            page.screenshot(path=str(ARTIFACTS / "roster-solving.png"), full_page=True)
            seen.set()
            expect(page.locator("#resolve-result")).to_contain_text(
                "keeping 1 locked cell(s): 0 rule(s) broken, 0 planned shift(s) without an agent",
                timeout=60_000,
            )
            expect(cell("A003", "2026-11-23")).to_have_class(re.compile(r"\blocked\b"))
            expect(cell("A003", "2026-11-23")).to_contain_text("13:00–21:30")
            page.screenshot(path=str(ARTIFACTS / "roster-solved.png"), full_page=True)
            # published: what changed against the publication before
            page.click("text=Publish this roster")
            expect(page.locator("h1")).to_have_text("Roster (published), week of 2026-11-23")
            publication = page.locator("#publication")
            expect(publication).to_contain_text("Last published by demo")
            expect(publication).to_contain_text("Added: ")
            expect(publication).to_contain_text("A003 Mon 23 13:00–21:30")
        finally:
            seen.set()
            browser.close()
