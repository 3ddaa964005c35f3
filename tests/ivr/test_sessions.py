"""Page logins that can be ended (logout, users.yaml, expiry) and the audit log of changes."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from ivr import settings
from ivr.config import hotline_config, use_config
from ivr.config.schema import User
from ivr.store.db import session_scope
from ivr.store.models import AuditEntry, WebSession

from .conftest import OPEN_TIME, csrf, login, store_roster

WEEK = dt.date(2026, 11, 23)  # a Monday
OPS_PASSWORD = "ops-password"


def with_users(app, *users: User) -> None:
    """Run ``app`` with these users in place of users.yaml's (as if the file had been edited)."""
    cfg = hotline_config(app)
    use_config(app, cfg.model_copy(update={"users": list(users)}))


def demo_user(app, **changes) -> User:
    user = next(u for u in hotline_config(app).users if u.username == "demo")
    return user.model_copy(update=changes)


def ops_user(**changes) -> User:
    values = {
        "username": "ops1",
        "password_hash": generate_password_hash(OPS_PASSWORD),
        "role": "ops",
        **changes,
    }
    return User(**values)


def logged_in(client) -> bool:
    """The client's cookie still opens a page (and the dashboard's API)."""
    page = client.get("/ops")
    api = client.get("/api/queues")
    assert (page.status_code == 200) == (api.status_code == 200), (page, api)
    if page.status_code == 302:
        assert page.headers["Location"].startswith("/login?next=")
        assert api.status_code == 401 and api.get_json() == {"error": "unauthorized"}
    return page.status_code == 200


def copy_of(app, client):
    """Another browser holding the same session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def log_out(client) -> None:
    page = client.get("/ops").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf(client, page)}).status_code == 302


def test_a_cookie_copied_before_logout_is_refused_after_it(app, client):
    assert login(client).status_code == 302
    thief = copy_of(app, client)
    assert logged_in(thief)  # the same login, as long as it lasts
    log_out(client)
    assert not logged_in(client)
    assert not logged_in(thief)
    with session_scope(app) as db:
        row = db.scalars(select(WebSession)).one()
        assert (row.username, row.end_reason, row.ended_at) == ("demo", "logout", OPEN_TIME)


def test_logging_out_ends_only_that_login(app):
    desk, laptop = app.test_client(), app.test_client()
    login(desk)
    login(laptop)
    log_out(desk)
    assert not logged_in(desk) and logged_in(laptop)


def test_the_cookie_holds_a_token_the_database_keeps_only_hashed(app, client):
    login(client)
    with session_scope(app) as db:
        stored = db.scalars(select(WebSession.id)).one()
    assert stored not in client.get_cookie("session").value
    assert len(stored) == 64


def test_a_user_removed_from_users_yaml_is_logged_out_at_the_next_request(app, client):
    demo = demo_user(app)
    login(client)
    assert logged_in(client)
    with_users(app, ops_user())
    assert not logged_in(client)
    with_users(app, demo)  # put back: the ended login stays ended
    assert not logged_in(client)
    with session_scope(app) as db:
        assert db.scalars(select(WebSession.end_reason)).one() == "removed"
    assert login(client).status_code == 302 and logged_in(client)


def test_a_disabled_user_cannot_log_in_and_is_logged_out(app, client, caplog):
    login(client)
    with_users(app, demo_user(app, disabled=True))
    with caplog.at_level(logging.WARNING):
        assert not logged_in(client)
    assert "login of demo ended: the user is disabled in users.yaml" in caplog.text
    refused = login(client)
    assert refused.status_code == 401 and "Wrong username or password." in refused.get_data(
        as_text=True
    )
    assert not logged_in(client)


def test_users_yaml_accepts_disabled(config_dir):
    from ivr.config.loader import load_config

    text = (config_dir / "users.yaml").read_text()
    (config_dir / "users.yaml").write_text(text + "    disabled: true\n")
    demo, giulia = load_config(config_dir).users  # the line added belongs to the last user
    assert (demo.disabled, giulia.disabled) == (False, True)


def test_a_role_changed_in_users_yaml_counts_at_the_next_request(app, client):
    login(client)
    assert client.get("/supervisor/roster").status_code == 200
    with_users(app, demo_user(app, role="ops"))
    assert client.get("/supervisor/roster").status_code == 403
    assert logged_in(client)


def test_a_login_expires_after_the_session_hours(app, client, clock):
    assert app.config["SESSION_HOURS"] == 12  # the default
    login(client)
    clock.at = OPEN_TIME + dt.timedelta(hours=11, minutes=59)
    assert logged_in(client)  # busy or not, a login lasts 12 hours from the login
    clock.at = OPEN_TIME + dt.timedelta(hours=12)
    assert not logged_in(client)
    clock.at = OPEN_TIME  # a clock set back does not revive it
    assert not logged_in(client)
    with session_scope(app) as db:
        row = db.scalars(select(WebSession)).one()
        assert row.end_reason == "expired"
        assert row.last_seen_at == OPEN_TIME + dt.timedelta(hours=11, minutes=59)


def test_the_session_hours_come_from_the_environment(make_app, clock, monkeypatch):
    monkeypatch.setenv("HOTLINE_SESSION_HOURS", "0.5")
    app = make_app(CLOCK=clock)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(minutes=30)
    client = app.test_client()
    login(client)
    clock.at = OPEN_TIME + dt.timedelta(minutes=30)
    assert not logged_in(client)
    with pytest.raises(settings.SettingsError, match="HOTLINE_SESSION_HOURS='0'"):
        settings.load({"HOTLINE_SESSION_HOURS": "0"})


def test_a_login_cookie_from_before_logins_were_recorded_opens_nothing(app):
    """The cookie of earlier versions named the user; it is no login now."""
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["user"] = "demo"
        cookie["role"] = "supervisor"
    assert not logged_in(client)


# --------------------------------------------------------------------------- audit


def draft_week(app) -> None:
    store_roster(app, 3, "draft")


def publish(client):
    page = client.get("/supervisor/roster").get_data(as_text=True)
    return client.post(
        "/supervisor/roster/publish",
        data={"week": WEEK.isoformat(), "csrf_token": csrf(client, page)},
    )


def test_publishing_writes_an_audit_row_and_a_warning(app, client, caplog):
    draft_week(app)
    login(client)
    with caplog.at_level(logging.WARNING, logger="ivr.audit"):
        assert publish(client).status_code == 302
    with session_scope(app) as db:
        (entry,) = db.scalars(select(AuditEntry)).all()
        assert (entry.username, entry.action, entry.at) == ("demo", "roster.publish", OPEN_TIME)
        assert (entry.detail["week"], entry.detail["shifts"], entry.detail["replaced_shifts"]) == (
            "2026-11-23", 3, 0
        )  # fmt: skip
        assert len(entry.detail["added"]) == 3 and entry.detail["removed"] == []
    (record,) = [r for r in caplog.records if r.name == "ivr.audit"]
    assert record.levelno == logging.WARNING
    assert "roster.publish by demo at 2026-11-25T09:00:00+00:00" in record.getMessage()


def test_the_audit_page_shows_supervisors_newest_first_and_not_ops(app, client, clock):
    draft_week(app)
    login(client)
    assert "Nothing changed yet." in client.get("/supervisor/audit").get_data(as_text=True)
    publish(client)
    clock.at = OPEN_TIME + dt.timedelta(minutes=5)
    assert publish(client).status_code == 404  # no draft left: the published week stays
    draft_week(app)
    publish(client)  # a new draft replaces the published week
    page = client.get("/supervisor/audit").get_data(as_text=True)
    assert 'href="/supervisor/audit"' in page  # in the nav
    rows = page.split("<tbody>")[1].split("<tr>")[1:]
    assert len(rows) == 2
    assert "2026-11-25 10:05:00 CET" in rows[0] and "replaced_shifts: 3" in rows[0]
    assert "2026-11-25 10:00:00 CET" in rows[1] and "shifts: 3" in rows[1]
    assert all("demo" in row and "roster.publish" in row for row in rows)
    assert client.get("/supervisor/audit?page=0").status_code == 400

    with_users(app, demo_user(app), ops_user())
    ops = app.test_client()
    login(ops, "ops1", OPS_PASSWORD)
    assert ops.get("/supervisor/audit").status_code == 403
    assert 'href="/supervisor/audit"' not in ops.get("/ops").get_data(as_text=True)


def test_the_audit_page_is_paged(app, client, monkeypatch):
    from ivr.web import supervisor

    monkeypatch.setattr(supervisor, "AUDIT_PAGE", 2)
    with session_scope(app) as db:
        for i in range(5):
            db.add(
                AuditEntry(
                    at=OPEN_TIME + dt.timedelta(minutes=i),
                    username="demo",
                    action=f"test.{i}",
                    detail={},
                )
            )
    login(client)
    first = client.get("/supervisor/audit").get_data(as_text=True)
    assert "test.4" in first and "test.3" in first and "test.2" not in first
    assert "?page=2" in first and "Newer" not in first
    last = client.get("/supervisor/audit?page=3").get_data(as_text=True)
    assert "test.0" in last and "test.1" not in last
    assert "Older" not in last and "?page=2" in last
