"""The agent desktop in headless Chromium: log in as an agent, go on line, the dispatcher offers
an Italian complaint, the screen pop shows it, the softphone rings (the Voice SDK's ``Device``
replaced at its boundary by a double that raises the SDK's own events), accept, mute, hang up,
disposition, end wrap-up, not ready with a reason; the token is refreshed before it expires."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ivr.demo.twilio_sim import HttpTransport, SimulatedCall
from ivr.store.db import session_scope
from ivr.store.models import AgentAccount, Call, ComplaintTicket, QueueEntry
from ivr.voice import dispatch
from tests.browser.test_dashboard import (
    ARTIFACTS,
    BROWSER_FLAGS,
    CHROMIUM,
    _require_browser,
    log_in,
)
from tests.ivr.conftest import OPEN_TIME, RecordingHttpClient

TOKEN = "desk-test-token"
# The Voice SDK's surface the page uses, and nothing else: Device (register, updateToken,
# events registered / incoming / tokenWillExpire) and Call (accept, reject, mute, isMuted,
# disconnect, events accept / disconnect / mute, customParameters).
FAKE_SDK = """
class Emitter {
  constructor() { this.handlers = {}; }
  on(name, f) { (this.handlers[name] = this.handlers[name] || []).push(f); return this; }
  emit(name, ...args) { (this.handlers[name] || []).forEach((f) => f(...args)); }
}
class FakeCall extends Emitter {
  constructor(params) {
    super();
    this.customParameters = new Map(Object.entries(params));
    this.parameters = { CallSid: "CAagentleg" };
    this.muted = false;
    this.log = [];
    window.__calls.push(this);
  }
  accept() { this.log.push("accept"); this.emit("accept", this); }
  reject() { this.log.push("reject"); this.emit("reject"); }
  mute(on = true) { this.muted = on; this.log.push("mute:" + on); this.emit("mute", on, this); }
  isMuted() { return this.muted; }
  disconnect() { this.log.push("disconnect"); this.emit("disconnect", this); }
}
class FakeDevice extends Emitter {
  constructor(token, options) { super(); this.token = token; window.__device = this; }
  async register() { this.emit("registered"); }
  updateToken(token) { this.token = token; window.__tokens.push(token); }
  destroy() {}
}
window.__calls = []; window.__tokens = [];
window.Twilio = { Device: FakeDevice, Call: FakeCall };
"""


def test_the_agent_desktop_takes_a_call_from_offer_to_wrap_up(live_server, tmp_path):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    fake_twilio = RecordingHttpClient()
    clock = {"at": OPEN_TIME}
    app, base = live_server(
        TWILIO_AUTH_TOKEN=TOKEN,
        CLOCK=lambda: clock["at"],
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_HTTP_CLIENT=fake_twilio,
        TWILIO_API_KEY_SID="SK" + "2" * 32,
        TWILIO_API_KEY_SECRET="x" * 32,
        TWILIO_TWIML_APP_SID="AP" + "3" * 32,
    )
    sid = "CA" + "7" * 32
    with session_scope(app) as session:  # an Italian complaint, waiting 50 s, called before
        session.add(Call(call_sid=sid, from_number="+393471234567", started_at=OPEN_TIME))
        session.add(
            ComplaintTicket(reference="4821", call_sid=sid, created_at=OPEN_TIME, language="it")
        )
        earlier = OPEN_TIME - dt.timedelta(days=3)
        session.add(
            QueueEntry(call_sid="CAearlier", queue="orders", language="it",
                       from_number="+393471234567", entered_at=earlier,
                       original_entered_at=earlier, result="hangup")
        )  # fmt: skip
        waiting = OPEN_TIME - dt.timedelta(seconds=50)
        session.add(
            QueueEntry(call_sid=sid, queue="complaints", language="it",
                       from_number="+393471234567", entered_at=waiting,
                       original_entered_at=waiting)
        )  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    caller = SimulatedCall(HttpTransport(), base, TOKEN, call_sid=sid)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.route(
            "**/static/vendor/twilio.min.js",
            lambda route: route.fulfill(body=FAKE_SDK, content_type="application/javascript"),
        )
        try:
            log_in(page, base, "giulia")
            expect(page).to_have_url(f"{base}/agent")
            expect(page.locator("#phone-status")).to_have_text("ready for calls")
            expect(page.locator("#state")).to_have_text("offline")
            # an agent's login opens no ops page
            page.goto(f"{base}/ops")
            expect(page).to_have_url(f"{base}/agent")

            page.click("#online")
            # on line: the dispatcher offers the waiting caller at once; the screen pop shows them
            expect(page.locator("#state")).to_have_text("ringing")
            assert dispatch.run(app) == []  # offered once, not again
            pop = page.locator("#call")
            expect(pop.locator("[data-call=queue_name]")).to_have_text("complaints")
            expect(pop.locator("[data-call=language_name]")).to_have_text("Italiano")
            expect(pop.locator("[data-call=caller]")).to_have_text("+39*******567")
            expect(pop.locator("[data-call=complaint_reference]")).to_have_text("4821")
            expect(pop.locator("[data-call=waited_s]")).to_have_text("50 s")
            expect(pop.locator("#history tbody tr")).to_have_count(1)
            expect(pop.locator("#history tbody tr")).to_contain_text("orders")

            # Twilio moves the caller to /voice/connect: it dials the agent's softphone
            ((moved_sid, url),) = fake_twilio.redirects()
            dial = caller.post(url).find("Dial")
            client = dial.find("Client")
            assert client.find("Identity").text == "A001"
            # ...and the SDK raises its incoming event with the Client's parameters
            page.evaluate(
                "window.__device.emit('incoming', new Twilio.Call("
                "{entry: '2', queue: 'complaints', language: 'it'}))"
            )
            expect(page.locator("#incoming")).to_be_visible()
            expect(page.locator("#incoming-what")).to_have_text("complaints · it")
            page.screenshot(path=str(ARTIFACTS / "agent-desktop-offer.png"), full_page=True)
            page.click("#accept")
            caller.post(base + client.get("url"))  # Twilio runs the Client's url on accept
            expect(page.locator("#state")).to_have_text("on call")
            expect(page.locator("#in-call")).to_be_visible()
            page.click("#mute")
            expect(page.locator("#mute")).to_have_text("Unmute")
            page.click("#hangup")
            assert page.evaluate("window.__calls[0].log") == ["accept", "mute:true", "disconnect"]
            clock["at"] += dt.timedelta(minutes=4)
            after = caller.post(base + dial.get("action"), {"DialCallStatus": "completed"})
            assert after.find("Redirect").text.startswith("/voice/survey")
            expect(page.locator("#state")).to_have_text("wrap up")
            expect(page.locator("#wrap-up-left")).to_be_visible()

            page.select_option("#code", "escalated")
            page.fill("#note", "Refund above my limit: passed to the team lead.")
            page.click("#disposition button[type=submit]")
            expect(page.locator("#saved")).to_have_text("saved: escalated")
            page.click("#end-wrap-up")
            expect(page.locator("#state")).to_have_text("available")
            expect(page.locator("#answered")).to_have_text("1")
            page.select_option("#reason", "lunch")
            page.click("#not-ready")
            expect(page.locator("#state")).to_have_text("not ready")
            expect(page.locator("#reason-shown")).to_have_text("(lunch)")

            page.evaluate("window.__device.emit('tokenWillExpire')")
            for _ in range(50):  # (wait_for_function evaluates a string: the page's CSP forbids)
                if page.evaluate("window.__tokens.length") == 1:
                    break
                page.wait_for_timeout(100)
            assert page.evaluate("window.__tokens.length") == 1
            page.screenshot(path=str(ARTIFACTS / "agent-desktop.png"), full_page=True)
        finally:
            browser.close()
    with session_scope(app) as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == sid))
        account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == "A001"))
    assert (call.disposition, call.disposition_by) == ("escalated", "A001")
    assert call.agent_note.startswith("Refund above my limit")
    assert (entry.result, entry.agent_id, entry.answered_in_language) == ("bridged", "A001", True)
    assert entry.handle_s == 240.0
    assert (account.state, account.state_reason) == ("not_ready", "lunch")
