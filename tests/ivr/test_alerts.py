"""Alerts: raised when a condition holds, posted once per condition and interval to a real
webhook receiver, retried after a failed post, cleared when the condition ends, shown on the
dashboard's API."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import threading

import pytest

from ivr.jobs import alerts
from ivr.store.db import session_scope
from ivr.store.models import Alert, QueueEntry

from .conftest import OPEN_TIME, login


class Receiver:
    """A webhook receiver on loopback that records each JSON body (or answers 500)."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.failing = False
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args):
                return

            def do_POST(self):  # noqa: N802 - the http.server API
                data = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failing:
                    self.send_response(500)
                else:
                    receiver.bodies.append(json.loads(data))
                    self.send_response(204)
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def app(make_app, clock, config_dir, receiver):
    import yaml

    line = config_dir / "line.yaml"
    data = yaml.safe_load(line.read_text())
    data["alerts"] = {"webhooks": [receiver.url], "every_min": 30}
    line.write_text(yaml.safe_dump(data, allow_unicode=True))
    return make_app(CLOCK=clock, CONFIG_DIR=str(config_dir))


def waiting(app, minutes: float, queue: str = "orders") -> None:
    at = OPEN_TIME - dt.timedelta(minutes=minutes)
    with session_scope(app) as session:
        session.add(
            QueueEntry(call_sid=f"CAwait{minutes}", queue=queue, language="en", entered_at=at,
                       original_entered_at=at)
        )  # fmt: skip


def test_a_long_wait_is_posted_once_per_interval_retried_and_cleared(app, receiver, clock, caplog):
    waiting(app, minutes=6)  # orders: an alert after max_wait_before_callback_s, 300 s
    assert alerts.check(app, clock.at).startswith("1 alert(s) holding, 1 posted")
    (body,) = receiver.bodies
    assert body["alert"] == "wait:orders"
    assert body["message"] == "orders: a caller has waited 6 min (alert after 5 min)"
    assert body["detail"] == {"queue": "orders", "waited_s": 360, "limit_s": 300.0}
    clock.at += dt.timedelta(minutes=10)
    alerts.check(app, clock.at)
    assert len(receiver.bodies) == 1  # still holding, not due again yet
    clock.at += dt.timedelta(minutes=21)
    receiver.failing = True
    assert "1 post(s) failed" in alerts.check(app, clock.at)
    assert "posting to http://127.0.0.1" in caplog.text
    receiver.failing = False
    clock.at += dt.timedelta(minutes=1)
    alerts.check(app, clock.at)  # the failed post is tried again at the next check
    assert [b["alert"] for b in receiver.bodies] == ["wait:orders", "wait:orders"]
    with session_scope(app) as session:
        session.execute(QueueEntry.__table__.update().values(result="bridged"))
    clock.at += dt.timedelta(minutes=1)
    assert alerts.check(app, clock.at).startswith("0 alert(s) holding")
    with session_scope(app) as session:
        (alert,) = session.query(Alert).all()
        assert alert.cleared_at == clock.at and alert.failures == 1
    assert len(receiver.bodies) == 2


def test_a_service_level_below_target_and_the_api_shows_what_holds(app, receiver, clock):
    with session_scope(app) as session:  # 6 calls in the last half hour, 2 answered in time
        for n in range(6):
            at = OPEN_TIME - dt.timedelta(minutes=25 - n)
            session.add(
                QueueEntry(call_sid=f"CAsl{n}", queue="technical", language="en", entered_at=at,
                           original_entered_at=at, answered_at=at + dt.timedelta(seconds=30 if n < 2 else 200),
                           result="bridged", wait_s=30 if n < 2 else 200, ended_at=at + dt.timedelta(minutes=5))
            )  # fmt: skip
    alerts.check(app, clock.at)
    keys = [b["alert"] for b in receiver.bodies]
    assert keys == ["service_level:technical"]
    assert receiver.bodies[0]["detail"]["service_level"] == pytest.approx(2 / 6, abs=1e-4)
    client = app.test_client()
    login(client)
    shown = client.get("/api/intraday").get_json()["alerts"]
    assert [a["alert"] for a in shown] == ["service_level:technical"]
    assert shown[0]["message"].startswith("technical support: service level 33% over the last 30")


def test_fewer_agents_on_line_than_the_next_hour_needs(app, receiver, clock):
    from ivr.planning.drafts import save_draft

    from .test_intraday_outlook import forecast_csv

    with session_scope(app) as session:
        save_draft(session, "forecast", dt.date(2026, 11, 23), forecast_csv(20), {}, clock.at)
    alerts.check(app, clock.at)  # 10:00, nobody on line
    posted = {b["alert"]: b for b in receiver.bodies}
    assert {"staffing:orders", "staffing:total"} <= set(posted)
    orders = posted["staffing:orders"]
    assert orders["detail"]["on_line"] == 0
    assert orders["detail"]["short"] == orders["detail"]["required"] > 3
    assert orders["message"].startswith("orders: short by ")


def test_a_failed_post_is_logged_by_the_receivers_host_only(
    make_app, clock, config_dir, receiver, caplog, monkeypatch
):
    """Webhook URLs carry secrets (a Slack-style path, a token, a password): the log names the
    receiver by scheme, host and port, even when the failure's message quotes the whole URL."""
    import http.client

    import yaml

    path_secret = receiver.url + "/services/T0001/B0002/XSECRETPATH?token=tok123"
    with_password = "https://hook:pa55word@alerts.example.com/hooks/ZSECRETPATH"
    line = config_dir / "line.yaml"
    data = yaml.safe_load(line.read_text())
    data["alerts"] = {"webhooks": [path_secret, with_password]}
    line.write_text(yaml.safe_dump(data, allow_unicode=True))
    app = make_app(CLOCK=clock, CONFIG_DIR=str(config_dir))
    real = alerts.post_json

    def post_json(url, body, timeout_s, user_agent):
        if url == with_password:  # no lookup of a host on the network
            raise http.client.InvalidURL(f"URL can't contain control characters. {url!r}")
        real(url, body, timeout_s, user_agent)

    monkeypatch.setattr(alerts, "post_json", post_json)
    receiver.failing = True
    waiting(app, minutes=6)
    with caplog.at_level(logging.WARNING, logger="ivr.jobs.alerts"):
        assert alerts.check(app, clock.at).endswith("0 posted, 1 post(s) failed")
    port = receiver.server.server_address[1]
    assert f"alert wait:orders: posting to http://127.0.0.1:{port} failed (HTTPError" in caplog.text
    assert (
        "alert wait:orders: posting to https://alerts.example.com failed (InvalidURL" in caplog.text
    )
    for secret in ("XSECRETPATH", "tok123", "ZSECRETPATH", "pa55word", "hook:"):
        assert secret not in caplog.text
