"""The pages against misuse: password guessing held back (across workers), cookies, the client's
address behind a proxy."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from ivr.store.db import session_scope
from ivr.store.models import LoginFailure
from ivr.web import throttle

from .conftest import csrf, login

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


def test_every_worker_counts_the_same_failures(make_app, clock):
    """Two apps on one database (two gunicorn workers): failures on one hold back the other."""
    first, second = make_app(CLOCK=clock), make_app(CLOCK=clock)
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
