"""Logins to the pages, recorded in the database so that they can be ended.

The session cookie (signed by Flask) holds a random token; the ``web_sessions`` row is keyed by
the token's SHA-256. Every request looks the row up (one primary-key read), so every gunicorn
worker sees a logout, an expiry or a user removed from users.yaml at once: nothing is kept in a
worker's memory. A login counts while:

- it has not been ended (logout),
- it is younger than ``HOTLINE_SESSION_HOURS`` (from the login, however busy),
- its user is still in the configuration the app runs with, and not ``disabled``.

A login refused for one of these reasons is ended for good: putting the user back in users.yaml
does not bring an old cookie back to life.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from flask import Flask
from sqlalchemy.orm import Session

from ivr import clock
from ivr.config import hotline_config
from ivr.config.schema import User
from ivr.store.db import session_scope
from ivr.store.models import WebSession

log = logging.getLogger(__name__)
SEEN_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enabled_user(app: Flask, username: str) -> User | None:
    """The user of this name in the app's configuration, or None if absent or disabled."""
    for user in hotline_config(app).users:
        if user.username == username:
            return None if user.disabled else user
    return None


def open_login(app: Flask, username: str) -> str:
    """Record a new login for ``username``; the token to keep in the session cookie."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    with session_scope(app) as db:
        db.add(WebSession(id=token_id(token), username=username, created_at=now, last_seen_at=now))
    return token


def _end(db: Session, row: WebSession, now: dt.datetime, reason: str) -> None:
    row.ended_at = now
    row.end_reason = reason


def live_user(app: Flask, token: str, max_age: dt.timedelta) -> User | None:
    """The user of the login this token opened, if the login still counts; else None (and the
    login is ended, with the reason)."""
    now = clock.now()
    with session_scope(app) as db:
        row = db.get(WebSession, token_id(token))
        if row is None or row.ended_at is not None:
            return None
        user = enabled_user(app, row.username)
        if user is None:
            listed = any(u.username == row.username for u in hotline_config(app).users)
            reason = "disabled" if listed else "removed"
            _end(db, row, now, reason)
            log.warning("login of %s ended: the user is %s in users.yaml", row.username, reason)
            return None
        if now - row.created_at >= max_age:
            _end(db, row, now, "expired")
            return None
        if now - row.last_seen_at >= SEEN_EVERY:
            row.last_seen_at = now
        return user


def end_login(app: Flask, token: str, reason: str = "logout") -> None:
    """End the login this token opened (if it is still open)."""
    with session_scope(app) as db:
        row = db.get(WebSession, token_id(token))
        if row is not None and row.ended_at is None:
            _end(db, row, clock.now(), reason)
