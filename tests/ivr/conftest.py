"""Fixtures for the caller-facing tests: an app on a fixed clock and calls that act like Twilio."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select
from twilio.http import HttpClient
from twilio.http.response import Response

from ivr.demo.twilio_sim import FlaskTransport, QueueOutcome, SimulatedCall, twilio_signature
from ivr.store.db import session_scope
from ivr.store.models import Callback, CallEvent, RosterAssignment

PUBLIC = "https://line.example.com"
TOKEN = "test-auth-token"
# Wednesday 25 November 2026, 10:00 in Rome: the line is open.
OPEN_TIME = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


class RecordingHttpClient(HttpClient):
    """Stands in for Twilio's REST API: records each request, answers like Twilio."""

    def __init__(self):
        super().__init__(logging.getLogger("fake-twilio"), is_async=False)
        self.requests: list[tuple[str, str, dict]] = []
        self.calls: dict[str, dict] = {}  # what a GET of each call answers
        self.unreachable = False

    def request(
        self,
        method,
        uri,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        self.requests.append((method, uri, dict(data or {})))
        if self.unreachable:
            raise ConnectionError("connection refused")
        if method == "GET" and "/Calls/" in uri:  # a call's state, as set in ``calls``
            sid = uri.rsplit("/", 1)[1].removesuffix(".json")
            if sid not in self.calls:
                return Response(404, json.dumps({"code": 20404, "message": "not found"}))
            return Response(200, json.dumps({"sid": sid, **self.calls[sid]}))
        body = {
            "sid": f"CA{len(self.requests):032x}",
            "status": "queued",
            "to": (data or {}).get("To"),
            "from": (data or {}).get("From"),
        }
        return Response(201, json.dumps(body))

    def redirects(self) -> list[tuple[str, str]]:
        """The calls moved by the REST API since the last look: (CallSid, URL) in order."""
        seen = getattr(self, "_seen", 0)
        self._seen = len(self.requests)
        return [
            (uri.rsplit("/", 1)[1].removesuffix(".json"), data["Url"])
            for method, uri, data in self.requests[seen:]
            if method == "POST" and "/Calls/" in uri and "Url" in data
        ]


@pytest.fixture
def fake_twilio():
    return RecordingHttpClient()


def follow_redirects(fake: RecordingHttpClient, *calls: SimulatedCall) -> dict[str, ET.Element]:
    """Act out the REST redirects since the last look, as Twilio does: each moved call requests
    its new URL. Returns what each call was answered, by CallSid (unknown calls are skipped)."""
    by_sid = {call.call_sid: call for call in calls}
    out = {}
    for sid, url in fake.redirects():
        if sid in by_sid:
            out[sid] = by_sid[sid].post(url)
    return out


def signed_post(client, path: str, form: dict):
    """POST ``form`` to ``path`` signed as Twilio signs it."""
    signature = twilio_signature(TOKEN, PUBLIC + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


class Clock:
    def __init__(self, at: dt.datetime):
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(OPEN_TIME)


@pytest.fixture
def app(make_app, clock):
    return make_app(CLOCK=clock)


@pytest.fixture
def new_call(app):
    """Make a call that acts like Twilio against the app."""

    def make(**kwargs) -> SimulatedCall:
        kwargs.setdefault("queue_outcome", QueueOutcome())
        return SimulatedCall(FlaskTransport(app.test_client(), PUBLIC), PUBLIC, TOKEN, **kwargs)

    return make


@pytest.fixture
def events(app):
    """The stored events of a call, as (event, detail) pairs in order."""

    def read(call_sid: str) -> list[tuple[str, dict]]:
        with session_scope(app) as session:
            rows = session.scalars(
                select(CallEvent).where(CallEvent.call_sid == call_sid).order_by(CallEvent.id)
            ).all()
            return [(row.event, row.detail or {}) for row in rows]

    return read


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, page: str | None = None) -> str:
    """The CSRF token of ``page`` (default: a fresh login page)."""
    return CSRF.search(
        page if page is not None else client.get("/login").get_data(as_text=True)
    ).group(1)


def login(client, username: str = "demo", password: str = "hotline-demo"):
    return client.post(
        "/login?next=/ops",
        data={"username": username, "password": password, "csrf_token": csrf(client)},
    )


def due_callback(
    call_sid: str,
    phone: str,
    *,
    dial_by: str = "system",
    language: str = "en",
    queue: str = "general",
    original: dt.datetime = OPEN_TIME,
    due: dt.datetime = OPEN_TIME,
) -> Callback:
    """A pending callback, due at ``due``, that keeps the caller's original place."""
    return Callback(
        call_sid=call_sid,
        phone=phone,
        language=language,
        queue=queue,
        original_entered_at=original,
        requested_at=due,
        due_at=due,
        status="pending",
        attempts=0,
        dial_by=dial_by,
    )


def store_roster(app, days: int, status: str, agent: str = "A001") -> None:
    """``agent`` on an 08:00-16:00 UTC shift each of the first ``days`` days of the week of
    Monday 23 November 2026, stored as a roster of ``status``."""
    start = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    with session_scope(app) as db:
        for day in range(days):
            at = start + dt.timedelta(days=day)
            db.add(
                RosterAssignment(
                    week_start=start.date(),
                    agent_id=agent,
                    date=at.date(),
                    shift_start=at,
                    shift_end=at + dt.timedelta(hours=8),
                    status=status,
                )
            )
