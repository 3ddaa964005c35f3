"""Hostile input to every webhook: always 403, 400/413, or 200 with valid TwiML; never a 500,
never a malformed stored row."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ivr.demo.twilio_sim import VOICE_VERBS, check_verbs, twilio_signature
from ivr.store.db import session_scope
from ivr.store.models import Call, CallEvent, QueueEntry

from .conftest import OPEN_TIME, PUBLIC, TOKEN

ROUTES = [
    "/voice/incoming", "/voice/language", "/voice/menu", "/voice/closed", "/voice/voicemail", "/voice/wait",
    "/voice/hold-key", "/voice/queue-result", "/voice/status", "/voice/survey", "/voice/survey/score",
    "/voice/survey/comment-choice", "/voice/survey/comment", "/voice/agent", "/voice/agent/login",
    "/voice/agent/pin", "/voice/agent/next", "/voice/agent/bridge", "/voice/agent/after",
    "/voice/callback/answer", "/voice/callback/status",
]  # fmt: skip
KEYS = [
    "CallSid",
    "From",
    "To",
    "Digits",
    "SpeechResult",
    "Confidence",
    "QueueResult",
    "QueueTime",
    "QueuePosition",
    "CallStatus",
    "CallDuration",
    "RecordingUrl",
    "RecordingDuration",
    "DialCallStatus",
    "AvgQueueTime",
]
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
params = st.dictionaries(
    st.one_of(st.sampled_from(KEYS), texts.filter(bool)),
    st.one_of(texts, st.integers(-(10**12), 10**12).map(str), st.just("9" * 5000)),
    max_size=8,
)
queries = st.dictionaries(
    st.sampled_from(["lang", "attempt", "step", "queue", "agent", "kind", "cb"]),
    st.one_of(texts, st.integers(-(10**9), 10**9).map(str)),
    max_size=4,
)


class Failures(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(
            record.getMessage() + (f" {record.exc_info[1]!r}" if record.exc_info else "")
        )


FAILURES = Failures()


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    from ivr import create_app
    from tests.conftest import CONFIG_DIR

    folder = tmp_path_factory.mktemp("hostile")
    logger = logging.getLogger("ivr.voice.webhook")
    logger.addHandler(FAILURES)  # only while this module's tests run
    yield create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{folder / 'h.db'}",
            "CONFIG_DIR": str(CONFIG_DIR),
            "TWILIO_AUTH_TOKEN": TOKEN,
            "HOTLINE_PUBLIC_URL": PUBLIC,
            "SECRET_KEY": "x",
            "CLOCK": lambda: OPEN_TIME,
        }
    )
    logger.removeHandler(FAILURES)


def assert_valid_twiml(body: str, route: str) -> None:
    root = ET.fromstring(body)
    assert root.tag == "Response"
    check_verbs(root, VOICE_VERBS, route)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=st.sampled_from(ROUTES), form=params, query=queries)
def test_signed_random_input_never_breaks_a_webhook(hostile_app, route, form, query):
    from urllib.parse import urlencode

    path = route + ("?" + urlencode(query) if query else "")
    signature = twilio_signature(TOKEN, PUBLIC + path, form)
    response = hostile_app.test_client().post(
        path, data=form, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code in (200, 400, 413), (route, form, response.status_code)
    if response.status_code == 200:
        assert_valid_twiml(response.get_data(as_text=True), route)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=st.sampled_from(ROUTES), form=params)
def test_unsigned_or_replayed_input_is_refused(hostile_app, route, form):
    client = hostile_app.test_client()
    assert client.post(route, data=form).status_code == 403
    replay = twilio_signature(TOKEN, PUBLIC + "/voice/incoming", {"CallSid": "CA1"})
    assert (
        client.post(
            route, data={**form, "Extra": "x"}, headers={"X-Twilio-Signature": replay}
        ).status_code
        == 403
    )


def test_oversized_and_wrongly_typed_bodies(hostile_app):
    client = hostile_app.test_client()
    big = {"CallSid": "CA" + "1" * 32, "SpeechResult": "x" * 100_000}
    response = client.post(
        "/voice/menu",
        data=big,
        headers={"X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + "/voice/menu", big)},
    )
    assert response.status_code == 413
    json_body = client.post(
        "/voice/incoming",
        data='{"CallSid": "CA1"}',
        content_type="application/json",
        headers={"X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + "/voice/incoming", {})},
    )
    assert json_body.status_code == 400  # no form parameters: no CallSid


def test_nothing_malformed_was_stored(hostile_app):
    with session_scope(hostile_app) as session:
        for call in session.scalars(select(Call)):
            assert call.call_sid and len(call.call_sid) <= 64
        for event in session.scalars(select(CallEvent)):
            assert event.call_sid and len(event.call_sid) <= 64 and len(event.dedupe_key) <= 160
        for entry in session.scalars(select(QueueEntry)):
            assert entry.queue in {"orders", "complaints", "technical", "general"}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from(ROUTES),
    form=params,
    query=queries,
    sid=st.sampled_from(["CA" + "a" * 32, "CA" + "b" * 32, "CAshort"]),
)
def test_random_input_with_a_real_call_sid_reaches_the_handlers(
    hostile_app, route, form, query, sid
):
    from urllib.parse import urlencode

    form = {**form, "CallSid": sid}
    before = len(FAILURES.records)
    path = route + ("?" + urlencode(query) if query else "")
    response = hostile_app.test_client().post(
        path,
        data=form,
        headers={"X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + path, form)},
    )
    assert response.status_code in (200, 413), (
        route,
        form,
        response.status_code,
        response.get_data(as_text=True)[:200],
    )
    if response.status_code == 200:
        assert_valid_twiml(response.get_data(as_text=True), route)
    assert FAILURES.records[before:] == [], (
        route,
        form,
        query,
    )  # no handler fell over  # no handler fell over
