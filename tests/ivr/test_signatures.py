"""Signature checks: only requests Twilio signed for this URL and these parameters get through."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.demo.twilio_sim import twilio_signature
from ivr.store.db import session_scope
from ivr.store.models import Call, CallEvent

from .conftest import PUBLIC, TOKEN

PARAMS = {
    "CallSid": "CA" + "5" * 32,
    "AccountSid": "AC" + "0" * 32,
    "From": "+393330001111",
    "To": "+18005550100",
    "CallStatus": "ringing",
}
ROUTES = [
    "/voice/incoming",
    "/voice/language",
    "/voice/menu?lang=en",
    "/voice/closed?lang=en",
    "/voice/voicemail",
    "/voice/wait?lang=en&queue=orders",
    "/voice/queue-result?lang=en&queue=orders",
    "/voice/status",
]


def test_our_signature_matches_the_twilio_library_test_vector():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    expected = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="  # twilio-python tests/unit/test_request_validator.py
    assert twilio_signature("12345", url, params) == expected
    assert RequestValidator("12345").compute_signature(url, params) == expected


def stored_rows(app) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(CallEvent)) + session.scalar(
            select(func.count()).select_from(Call)
        )


@pytest.mark.parametrize("path", ROUTES)
def test_unsigned_and_forged_requests_get_403_and_write_nothing(client, app, path):
    assert client.post(path, data=PARAMS).status_code == 403
    assert (
        client.post(
            path, data=PARAMS, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
        ).status_code
        == 403
    )
    assert stored_rows(app) == 0


def test_signed_request_passes_and_tampering_fails(client, app):
    url = f"{PUBLIC}/voice/incoming"
    good = twilio_signature(TOKEN, url, PARAMS)
    assert (
        client.post(
            "/voice/incoming", data=PARAMS, headers={"X-Twilio-Signature": good}
        ).status_code
        == 200
    )
    before = stored_rows(app)
    tampered = {**PARAMS, "From": "+390000000000"}
    assert (
        client.post(
            "/voice/incoming", data=tampered, headers={"X-Twilio-Signature": good}
        ).status_code
        == 403
    )
    extra = {**PARAMS, "Digits": "1"}
    assert (
        client.post("/voice/incoming", data=extra, headers={"X-Twilio-Signature": good}).status_code
        == 403
    )
    assert stored_rows(app) == before


def test_signature_for_another_url_or_query_is_refused(client):
    menu = {**PARAMS, "Digits": "2"}
    signed_for_en = twilio_signature(TOKEN, f"{PUBLIC}/voice/menu?lang=en&attempt=1&step=2", menu)
    assert (
        client.post(
            "/voice/menu?lang=en&attempt=1&step=2",
            data=menu,
            headers={"X-Twilio-Signature": signed_for_en},
        ).status_code
        == 200
    )
    # the same signature replayed on a URL whose query was changed (attempt counter reset)
    assert (
        client.post(
            "/voice/menu?lang=en&attempt=3&step=2",
            data=menu,
            headers={"X-Twilio-Signature": signed_for_en},
        ).status_code
        == 403
    )
    other_host = twilio_signature(
        TOKEN, "https://evil.example.com/voice/menu?lang=en&attempt=1&step=2", menu
    )
    assert (
        client.post(
            "/voice/menu?lang=en&attempt=1&step=2",
            data=menu,
            headers={"X-Twilio-Signature": other_host},
        ).status_code
        == 403
    )


def test_stale_signature_from_an_old_token_is_refused(client):
    old = twilio_signature("previous-auth-token", f"{PUBLIC}/voice/incoming", PARAMS)
    assert (
        client.post("/voice/incoming", data=PARAMS, headers={"X-Twilio-Signature": old}).status_code
        == 403
    )


def test_port_variants_are_accepted_as_the_library_does(client):
    with_port = twilio_signature(TOKEN, "https://line.example.com:443/voice/incoming", PARAMS)
    assert (
        client.post(
            "/voice/incoming", data=PARAMS, headers={"X-Twilio-Signature": with_port}
        ).status_code
        == 200
    )


def test_public_url_is_used_not_the_internal_host(make_app):
    app = make_app(HOTLINE_PUBLIC_URL="https://abc123.tunnel.example/")
    signed = twilio_signature(TOKEN, "https://abc123.tunnel.example/voice/incoming", PARAMS)
    response = app.test_client().post(
        "/voice/incoming",
        data=PARAMS,
        headers={"X-Twilio-Signature": signed},
        base_url="http://10.0.0.7:8000",
    )
    assert response.status_code == 200


def test_without_public_url_the_request_url_is_checked(make_app):
    app = make_app(HOTLINE_PUBLIC_URL="")
    signed = twilio_signature(TOKEN, "http://localhost/voice/incoming", PARAMS)
    assert (
        app.test_client()
        .post("/voice/incoming", data=PARAMS, headers={"X-Twilio-Signature": signed})
        .status_code
        == 200
    )


def test_no_auth_token_configured_refuses_everything(make_app):
    app = make_app(TWILIO_AUTH_TOKEN="")
    signed = twilio_signature("", f"{PUBLIC}/voice/incoming", PARAMS)
    assert (
        app.test_client()
        .post("/voice/incoming", data=PARAMS, headers={"X-Twilio-Signature": signed})
        .status_code
        == 403
    )


def test_debug_mode_does_not_switch_validation_off(make_app):
    app = make_app(DEBUG=True, TESTING=False, TWILIO_SIGNATURE_CHECK=True)
    assert app.test_client().post("/voice/incoming", data=PARAMS).status_code == 403
    not_testing = make_app(TESTING=False, TWILIO_SIGNATURE_CHECK=False)
    assert not_testing.test_client().post("/voice/incoming", data=PARAMS).status_code == 403


def test_only_the_explicit_test_setting_switches_validation_off(make_app):
    app = make_app(TESTING=True, TWILIO_SIGNATURE_CHECK=False)
    assert app.test_client().post("/voice/incoming", data=PARAMS).status_code == 200


def test_a_body_hash_request_is_checked_against_its_body(client):
    """A JSON body is signed through ``bodySHA256`` in the URL: the library's validator checks
    the hash of the body as received, so a changed body is refused."""
    body = '{"CallSid": "CA1"}'
    validator = RequestValidator(TOKEN)
    path = f"/voice/status?bodySHA256={validator.compute_hash(body)}"
    signed = validator.compute_signature(f"{PUBLIC}{path}", {})
    headers = {"X-Twilio-Signature": signed, "Content-Type": "application/json"}
    assert client.post(path, data=body, headers=headers).status_code != 403
    changed = '{"CallSid": "CA2"}'
    assert client.post(path, data=changed, headers=headers).status_code == 403
