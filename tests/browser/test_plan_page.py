"""/supervisor/plan in headless Chromium: a supervisor opens the week's plan (Chart.js: axes,
time labels, tooltips, a queue selector), runs a what-if of +20 % volume, sees it queued with
its progress, then sees the scenario beside the stored plan with more paid hours, and draws its
cover over the plan's."""

from __future__ import annotations

import re
import threading

from ivr.jobs.tasks import submit
from tests.browser.test_dashboard import (
    ARTIFACTS,
    BROWSER_FLAGS,
    CHROMIUM,
    _require_browser,
    log_in,
)
from tests.ivr.conftest import OPEN_TIME
from tests.ivr.test_plan_page import plan_the_week, store

CHART = "Chart.getChart(document.getElementById('plan-chart'))"


def test_a_what_if_of_more_calls_beside_the_stored_plan(live_server, config_dir):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    line = config_dir / "line.yaml"
    line.write_text(line.read_text().replace("plan_time_limit_s: 30", "plan_time_limit_s: 3"))
    app, base = live_server(CONFIG_DIR=str(config_dir), CLOCK=lambda: OPEN_TIME)
    week = plan_the_week()
    store(app, week)
    baseline_paid = round(week.summary.paid_hours, 1)

    # the worker's one task at a time is held busy: the what-if waits behind it, visibly
    release = threading.Event()
    submit(app, "hold", {}, "test", run=lambda _app, _params, _progress: release.wait(120) and {})
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        try:
            log_in(page, base)
            page.goto(f"{base}/supervisor/plan")
            expect(page.locator("h1")).to_contain_text("week of Mon 30 Nov 2026")
            expect(page.locator("#paid-hours")).to_have_text(f"{baseline_paid:.1f}")
            expect(page.locator("#stored-note")).to_contain_text("never change it")
            page.wait_for_function(f"{CHART} !== undefined")
            labels = page.evaluate(f"{CHART}.data.datasets.map((d) => d.label)")
            assert labels == ["required", "planned cover"]
            ticks = page.evaluate(f"{CHART}.data.labels")
            assert ticks[0].startswith("Mon 30") and {"Mon 30 09:00", "Fri 04 16:30"} <= set(ticks)
            assert "Sun 06 12:00" not in ticks  # closed: nothing required or planned
            axes = page.evaluate(
                f"Object.fromEntries(Object.entries({CHART}.scales).map(([k, s]) => [k, s.options.title.text]))"
            )
            assert axes == {"x": "day and time (line time)", "y": "agents scheduled"}
            box = page.locator("#plan-chart").bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
            page.wait_for_function(f"{CHART}.tooltip.getActiveElements().length > 0")

            page.fill("input[name=volume_pct]", "+20")
            page.click("#what-if-form button[type=submit]")
            task = page.locator("#what-if-tasks [data-task]")
            expect(task).to_contain_text("volume +20 %")
            expect(task.locator("progress")).to_be_visible()
            expect(task.locator(".task-message")).to_have_text("waiting to start")
            expect(page.locator("#scenario-table tr.scenario")).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "plan-what-if-running.png"), full_page=True)

            release.set()  # the what-if runs, then the page reloads with it
            row = page.locator("#scenario-table tr.scenario")
            expect(row).to_have_count(1, timeout=90_000)
            expect(row.locator(".scenario-label")).to_have_text("volume +20 %")
            expect(row).to_contain_text("demo")
            paid = float(re.match(r"[\d.]+", row.locator(".paid-hours").inner_text()).group())
            assert paid > baseline_paid
            expect(page.locator("#what-if-tasks [data-task]")).to_have_count(0)

            row.locator("input.overlay").check()
            labels = page.evaluate(f"{CHART}.data.datasets.map((d) => d.label)")
            assert labels == [
                "required",
                "planned cover",
                "required: volume +20 %",
                "planned cover: volume +20 %",
            ]
            ours = page.evaluate(f"{CHART}.data.datasets[3].data.reduce((a, b) => a + b, 0)")
            theirs = page.evaluate(f"{CHART}.data.datasets[1].data.reduce((a, b) => a + b, 0)")
            assert ours > theirs  # more agents on duty over the week
            page.select_option("#plan-queue", "orders")
            labels = page.evaluate(f"{CHART}.data.datasets.map((d) => d.label)")
            assert labels == ["required: orders", "required: volume +20 %"]
            expect(page.locator("#queue-note")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "plan-what-if.png"), full_page=True)
        finally:
            release.set()
            browser.close()
