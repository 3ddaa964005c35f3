"""Password guessing on the login page is held back: after ``MAX_FAILURES`` wrong passwords for
one username, or from one client address, within ``WINDOW``, further logins for that username or
from that address are answered 429 (without checking the password) until the oldest of those
failures is ``WINDOW`` old.

The failures are rows of ``login_failures``, so every gunicorn worker (and every server on the same
database) counts the same ones. The client address is ``request.remote_addr``: behind nginx, set
``HOTLINE_PROXY_HOPS`` so that it is the caller's and not the proxy's.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import delete, func, or_, select

from ivr import clock
from ivr.store.db import session_scope
from ivr.store.models import LoginFailure

MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=15)


def _key(value: str, size: int) -> str:
    return value[:size]


def refused(app: Flask, username: str, address: str) -> str | None:
    """Why a login for ``username`` from ``address`` is refused now ("username" or "address"),
    or None if it may be tried."""
    since = clock.now() - WINDOW
    with session_scope(app) as db:
        by_user, by_address = db.execute(
            select(
                func.count().filter(LoginFailure.username == _key(username, 100)),
                func.count().filter(LoginFailure.address == _key(address, 64)),
            ).where(
                LoginFailure.at > since,
                or_(
                    LoginFailure.username == _key(username, 100),
                    LoginFailure.address == _key(address, 64),
                ),
            )
        ).one()
    if by_user >= MAX_FAILURES:
        return "username"
    if by_address >= MAX_FAILURES:
        return "address"
    return None


def record_failure(app: Flask, username: str, address: str) -> None:
    """Count a wrong password (and forget failures too old to count)."""
    now = clock.now()
    with session_scope(app) as db:
        db.execute(delete(LoginFailure).where(LoginFailure.at <= now - WINDOW))
        db.add(LoginFailure(at=now, username=_key(username, 100), address=_key(address, 64)))


def forget_user(app: Flask, username: str) -> None:
    """A right password: that username's earlier failures no longer count against it."""
    with session_scope(app) as db:
        db.execute(delete(LoginFailure).where(LoginFailure.username == _key(username, 100)))
