"""The ops dashboard in real headless Chromium (Debian's), driven by Playwright.

Log in, watch a queue card update when a caller is enqueued through the signed webhooks (no page
reload), open the abandoned-calls page. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ivr.config import hotline_config
from ivr.demo.twilio_sim import HttpTransport, Press, QueueOutcome, SimulatedCall
from tests.conftest import REPO
from tests.ivr.conftest import OPEN_TIME

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
BROWSER_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def log_in(page, base: str, username: str = "demo", password: str = "hotline-demo") -> None:
    """Sign in on the login page as ``username`` (the demo's users)."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def _require_browser():
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if not Path(CHROMIUM).exists():
        missing.append(CHROMIUM)
    if missing:
        message = f"browser test needs {' and '.join(missing)} (`make test` installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: it must run)")
        pytest.skip(message)


@pytest.fixture
def live_app(live_server):
    # a Wednesday morning: the line is open
    return live_server(TWILIO_AUTH_TOKEN="browser-test-token", CLOCK=lambda: OPEN_TIME)


def test_dashboard_updates_live_and_lists_abandoned_calls(live_app, tmp_path):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    app, base = live_app
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS, headless=True)
        profile = tmp_path / "profile"
        profile.mkdir()
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(f"{base}/ops")
            expect(page).to_have_url(f"{base}/login?next=/ops")
            page.fill("input[name=username]", "demo")
            page.fill("input[name=password]", "hotline-demo")
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{base}/ops")
            waiting = page.locator("#card-technical [data-field=waiting]")
            expect(waiting).to_have_text("0", timeout=10_000)

            # a caller reaches the technical queue and stays there: the card must update by itself
            transport = HttpTransport()
            caller = SimulatedCall(
                transport, base, "browser-test-token", from_number="+393331112233"
            )
            caller.post(f"{base}/voice/incoming", {"CallStatus": "ringing"})
            caller.post(f"{base}/voice/language?attempt=1&step=1", {"Digits": "1"})
            caller.post(f"{base}/voice/menu?lang=en&attempt=1&step=2", {"Digits": "3"})
            marker = page.evaluate("() => (window.__no_reload = true)")
            expect(waiting).to_have_text("1", timeout=15_000)
            assert (
                page.evaluate("() => window.__no_reload") is marker
            )  # same page: no reload happened
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            # another caller gives up waiting: the abandoned-calls page lists them
            SimulatedCall(
                transport,
                base,
                "browser-test-token",
                from_number="+48601002003",
                queue_outcome=QueueOutcome(result="hangup", queue_time_s=42),
            ).ring([Press("1"), Press("1")])
            page.click("text=Abandoned calls")
            expect(page.locator("#abandoned tbody tr").first).to_contain_text("+48601002003")
            expect(page.locator("#abandoned tbody tr").first).to_contain_text("42 s")
            page.screenshot(path=str(ARTIFACTS / "abandoned.png"), full_page=True)

            # the supervisor's roster page, with a small published week
            import datetime as dt

            from ivr.store.db import session_scope
            from ivr.store.models import RosterAssignment

            week = dt.date(2026, 11, 23)
            with session_scope(app) as session:
                for i, agent in enumerate(hotline_config(app).agents):
                    for d in range(7):
                        if (d + i) % 7 in (5, 6):
                            continue  # two days off in a row
                        start = dt.datetime(
                            2026, 11, 23, 7 + i % 4, 0, tzinfo=dt.UTC
                        ) + dt.timedelta(days=d)
                        session.add(
                            RosterAssignment(
                                week_start=week,
                                agent_id=agent.id,
                                date=week + dt.timedelta(days=d),
                                shift_start=start,
                                shift_end=start + dt.timedelta(hours=8, minutes=30),
                                status="published",
                            )
                        )
            page.click("text=Roster")
            expect(page.locator("table.roster")).to_contain_text("A001 Giulia Rossi")
            page.screenshot(path=str(ARTIFACTS / "roster.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
    assert shutil.which  # artifacts stay for the README and CI logs
