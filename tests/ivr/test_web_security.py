"""The pages and the API against misuse: password guessing held back (across workers), cookies,
the client's address behind a proxy, CSRF on every form, JSON errors and the OpenAPI document of
the API, and the exports fetched with a bearer token."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from sqlalchemy import select

from ivr import stats
from ivr.demo.twilio_sim import Press, QueueOutcome
from ivr.store.db import session_scope
from ivr.store.models import LoginFailure
from ivr.web import throttle

from .conftest import csrf, login, store_roster

TOKEN = "export-token"


@pytest.fixture
def app(make_app, clock):
    return make_app(CLOCK=clock, API_TOKENS=[TOKEN])


def bearer(token: str = TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def wrong_login(client, username: str = "demo", **environ):
    return client.post(
        "/login",
        data={"username": username, "password": "guess", "csrf_token": csrf(client)},
        environ_base=environ,
    )


# --------------------------------------------------------------------------- password guessing


def test_the_sixth_failed_login_in_15_minutes_is_429_and_logged(app, client, clock, caplog):
    for _ in range(5):
        assert wrong_login(client).status_code == 401
    with caplog.at_level(logging.WARNING, logger="ivr.web.auth"):
        refused = login(client)  # even the right password: it is not checked
    assert refused.status_code == 429 and "Too many failed logins" in refused.get_data(True)
    assert refused.headers["Retry-After"] == "900"
    (line,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "'demo'" in line.getMessage() and "username" in line.getMessage()
    assert "hotline-demo" not in line.getMessage()
    assert client.get("/ops").status_code == 302  # not logged in

    clock.at += throttle.WINDOW - dt.timedelta(seconds=1)
    assert login(client).status_code == 429
    clock.at += dt.timedelta(seconds=1)  # the first failure is 15 minutes old
    assert login(client).status_code == 302 and client.get("/ops").status_code == 200


def test_one_address_guessing_many_usernames_is_held_back(app, client):
    for n in range(5):
        assert wrong_login(client, f"user{n}").status_code == 401
    assert wrong_login(client, "someone-else").status_code == 429
    other = app.test_client()  # another address may still log in
    assert (
        other.post(
            "/login",
            data={"username": "demo", "password": "hotline-demo", "csrf_token": csrf(other)},
            environ_base={"REMOTE_ADDR": "192.0.2.7"},
        ).status_code
        == 302
    )


def test_a_right_password_clears_the_username_s_failures(app, client):
    for _ in range(4):
        wrong_login(client)
    assert login(client).status_code == 302
    with session_scope(app) as db:
        assert db.scalars(select(LoginFailure.username)).all() == []


def test_every_worker_counts_the_same_failures(make_app, clock, any_db_url):
    """Two apps on one database (two gunicorn workers): failures on one hold back the other."""
    first = make_app(CLOCK=clock, DATABASE_URL=any_db_url)
    second = make_app(CLOCK=clock, DATABASE_URL=any_db_url)
    for _ in range(5):
        wrong_login(first.test_client())
    assert login(second.test_client()).status_code == 429


def test_behind_a_proxy_the_forwarded_address_counts(make_app, clock):
    proxied = make_app(CLOCK=clock, PROXY_HOPS=1)
    client = proxied.test_client()
    for n in range(5):
        wrong_login(client, f"user{n}", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert wrong_login(client, "x", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert wrong_login(client, "x", HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 401
    with session_scope(proxied) as db:
        assert set(db.scalars(select(LoginFailure.address))) == {"203.0.113.9", "203.0.113.10"}

    direct = make_app(CLOCK=clock).test_client()  # 0 hops: the header is not believed
    wrong_login(direct, "y", HTTP_X_FORWARDED_FOR="198.51.100.1")
    with session_scope(proxied) as db:
        assert "198.51.100.1" not in set(db.scalars(select(LoginFailure.address)))


# --------------------------------------------------------------------------- cookies


@pytest.mark.parametrize(
    ("public", "secure"), [("https://line.example.com", True), ("http://localhost:8000", False)]
)
def test_the_session_cookie_is_secure_over_https_only(make_app, public, secure):
    client = make_app(HOTLINE_PUBLIC_URL=public).test_client()
    response = login(client)
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite"} <= attributes and "SameSite=Lax" in cookie
    assert ("secure" in attributes) is secure


# --------------------------------------------------------------------------- CSRF


def post_routes(app) -> list[str]:
    """Every POST route of the app but Twilio's webhooks (signed by Twilio instead)."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith("/voice"):
            routes.append(rule.rule)
    return sorted(routes)


def test_every_post_route_refuses_a_post_without_a_csrf_token(app, client):
    routes = post_routes(app)
    assert {"/login", "/logout", "/supervisor/roster/publish"} <= set(routes)
    login(client)  # logged in as a supervisor: only the missing token stands in the way
    for rule in routes:
        path = re.sub(r"<[^>]*>", "1", rule)  # any converter's value
        assert client.post(path, data={"week": "2026-11-23"}).status_code == 400, rule
        assert client.post(path, data={"csrf_token": "forged"}).status_code == 400, rule
    assert client.get("/ops").status_code == 200  # /logout without a token logged nobody out


# --------------------------------------------------------------------------- API errors


def test_api_errors_are_json(app, client):
    missing = client.get("/api/nope", headers=bearer())
    assert missing.status_code == 404 and missing.get_json() == {"error": "not found"}
    wrong_method = client.post("/api/queues", headers=bearer())
    assert wrong_method.status_code == 405 and wrong_method.is_json
    assert wrong_method.get_json() == {"error": "method not allowed"}
    assert "GET" in wrong_method.headers["Allow"]
    refused = client.get("/api/queues?since=tomorrow-ish", headers=bearer())
    assert refused.status_code == 400 and refused.get_json()["parameter"] == "since"
    no_token = client.get("/api/queues")
    assert no_token.status_code == 401 and no_token.get_json() == {"error": "unauthorized"}
    page = client.get("/nope")  # a page keeps its HTML error
    assert page.status_code == 404 and not page.is_json


def test_an_api_error_answered_in_text_elsewhere_is_json(app):
    """A database restart's 503 (answered in text by the store's handler) is JSON under /api/."""
    app.add_url_rule("/api/busy", "busy", lambda: ("try again", 503, {"Retry-After": "1"}))
    response = app.test_client().get("/api/busy")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.get_json() == {"error": "service unavailable"}


def test_an_api_crash_is_a_json_500(make_app, clock, monkeypatch):
    app = make_app(CLOCK=clock, API_TOKENS=[TOKEN], PROPAGATE_EXCEPTIONS=False)

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(stats, "queue_stats", broken)
    response = app.test_client().get("/api/queues", headers=bearer())
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error"}


# --------------------------------------------------------------------------- OpenAPI


def response_validator(document: dict, path: str, status: str) -> Draft202012Validator:
    """A JSON Schema validator for one response of the document (its $refs resolved inside)."""
    schema = document["paths"][path]["get"]["responses"][status]["content"]["application/json"]
    return Draft202012Validator({**schema["schema"], "components": document["components"]})


def test_the_openapi_document_is_valid_and_the_responses_match_it(app, client, new_call):
    new_call(queue_outcome=QueueOutcome(result="hangup", queue_time_s=48)).ring(
        [Press("1"), Press("1")]
    )
    new_call().ring([Press("1"), Press("1")])
    document = client.get("/api/openapi.json").get_json()  # public: no token
    validate(document)
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    documented = {p.replace("{", "<").replace("}", ">") for p in document["paths"]}
    assert api_rules <= documented

    checks = [
        ("/api/queues", "/api/queues", "200"),
        ("/api/queues?since=2026-11-24", "/api/queues", "200"),
        ("/api/queues/orders/intervals?freq=1h", "/api/queues/{queue}/intervals", "200"),
        ("/api/queues/general/intervals", "/api/queues/{queue}/intervals", "200"),
        ("/api/queues?since=nonsense", "/api/queues", "400"),
        ("/api/queues/nope/intervals", "/api/queues/{queue}/intervals", "404"),
        ("/api/queues/orders/intervals?freq=7min", "/api/queues/{queue}/intervals", "400"),
        ("/api/agents", "/api/agents", "200"),
        ("/api/intraday", "/api/intraday", "200"),
    ]
    for url, path, status in checks:
        response = client.get(url, headers=bearer())
        assert str(response.status_code) == status, url
        errors = list(response_validator(document, path, status).iter_errors(response.get_json()))
        assert errors == [], (url, [e.message for e in errors])
    unauthorized = client.get("/api/queues")
    validator = response_validator(document, "/api/queues", "401")
    assert list(validator.iter_errors(unauthorized.get_json())) == []

    # the document is strict: a field it does not describe is refused
    body = client.get("/api/queues", headers=bearer()).get_json()
    body["queues"][0]["surprise"] = 1
    assert not response_validator(document, "/api/queues", "200").is_valid(body)


# --------------------------------------------------------------------------- exports


@pytest.fixture
def roster(app):
    store_roster(app, 1, "published")


@pytest.mark.parametrize("path", ["/supervisor/roster.csv", "/supervisor/roster-ics.zip"])
def test_exports_take_a_bearer_token_or_a_supervisor_login(app, client, roster, path):
    fetched = client.get(path, headers=bearer())
    assert fetched.status_code == 200
    assert fetched.data.startswith(b"agent,date," if path.endswith(".csv") else b"PK")
    wrong = client.get(path, headers=bearer("wrong"))
    assert wrong.status_code == 401 and wrong.get_json() == {"error": "unauthorized"}
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    login(client)
    assert client.get(path).status_code == 200


def test_the_statistics_api_takes_a_bearer_token(client):
    assert client.get("/api/queues", headers=bearer()).status_code == 200
