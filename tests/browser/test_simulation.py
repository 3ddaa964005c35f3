"""The plan check in headless Chromium: a supervisor clicks "Simulate this week" on the roster
page, follows the check's progress, then reads the intervals that miss their target, the chart
of the service level with its confidence band against the target, and the table."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pandas as pd

from ivr.config import hotline_config
from ivr.planning import plan_check
from ivr.planning.drafts import save_draft
from ivr.store.db import session_scope
from ivr.store.models import RosterAssignment
from ivr.web import simulation
from tests.browser.test_dashboard import (
    ARTIFACTS,
    BROWSER_FLAGS,
    CHROMIUM,
    _require_browser,
    log_in,
)
from tests.ivr.conftest import OPEN_TIME

ROME = dt.timezone(dt.timedelta(hours=1))
WEEK = dt.date(2026, 11, 23)


def forecast_csv(queues: list[str]) -> str:
    """Each queue: 8 calls a half hour from 09:00 to 17:00, Monday to Friday of WEEK."""
    starts = pd.date_range(pd.Timestamp(WEEK, tz="Europe/Rome"), periods=5 * 48, freq="30min")
    rows = [
        {"queue": q, "interval_start": t.isoformat(), "calls": 8.0, "calls_p10": 4.0,
         "calls_p90": 12.0, "aht_s": 240.0}
        for q in queues
        for t in starts
        if 9 <= t.hour < 17
    ]  # fmt: skip
    return pd.DataFrame(rows).to_csv(index=False)


def test_the_supervisor_simulates_the_week_from_the_roster_page(live_server, monkeypatch):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    app, base = live_server(CLOCK=lambda: OPEN_TIME)
    cfg = hotline_config(app)
    with session_scope(app) as session:
        save_draft(session, "forecast", WEEK, forecast_csv(cfg.queue_ids()), {}, OPEN_TIME)
        for agent in ("A001", "A009", "A023"):  # three agents for Monday only
            session.add(
                RosterAssignment(
                    week_start=WEEK, agent_id=agent, date=WEEK,
                    shift_start=dt.datetime(2026, 11, 23, 9, tzinfo=ROME),
                    shift_end=dt.datetime(2026, 11, 23, 17, tzinfo=ROME),
                    break_start=dt.datetime(2026, 11, 23, 13, tzinfo=ROME), status="draft",
                )
            )  # fmt: skip
    release = threading.Event()

    def held(app, params, progress):  # the check waits until the page has shown its progress
        progress(0.02, "reading the roster and the forecast")
        assert release.wait(30)
        return plan_check.run_task(app, params, progress)

    monkeypatch.setattr(simulation, "run_task", held)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        try:
            log_in(page, base)
            page.goto(f"{base}/supervisor/roster?week={WEEK.isoformat()}")
            page.click("#simulate-start")
            expect(page).to_have_url(re.compile(r"/supervisor/simulation/\d+$"))
            expect(page.locator("#sim-message")).to_have_text("reading the roster and the forecast")
            assert page.evaluate("document.getElementById('sim-progress').value") > 0
            release.set()
            misses = page.locator("#sim-misses")
            expect(misses.locator("h2")).to_contain_text("Intervals that miss their target:")
            # nobody is on duty from Tuesday: every queue misses its target then
            expect(misses.locator("tbody tr").filter(has_text="Tue 24 09:00").first).to_be_visible()
            expect(page.locator("#sim-summary")).to_contain_text("The draft roster of the week")
            page.click("#sim-table summary")  # the table, folded at first
            table = page.locator("#sim-intervals tbody tr")
            assert table.count() == 5 * 16 * (len(cfg.queues) + 1)
            expect(table.first).to_be_visible()
            expect(table.first).to_contain_text("Mon 23 09:00")
            expect(table.first.locator("td").nth(4)).to_contain_text("%")
            chart = "Chart.getChart(document.getElementById('sim-chart'))"
            labels = page.evaluate(f"{chart}.data.datasets.map((d) => d.label)")
            assert labels == ["low", "95% confidence interval", "simulated service level", "target"]
            assert page.evaluate(f"{chart}.data.labels.length") == 5 * 16
            assert page.evaluate(f"{chart}.data.datasets[3].data[0]") == 80
            tuesday = page.evaluate(f"{chart}.data.datasets[2].data[16]")
            assert tuesday == 0  # all callers hang up: nobody answers on Tuesday
            page.select_option("#sim-queue", "technical")
            assert page.evaluate(f"{chart}.data.datasets[3].data[0]") == 80
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / "simulation.png"))
        finally:
            release.set()
            browser.close()
