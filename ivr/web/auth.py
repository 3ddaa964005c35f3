"""Who may see ops and supervisor pages and the JSON API.

- API: ``Authorization: Bearer <token>`` with tokens from ``HOTLINE_API_TOKENS`` (comma-separated),
  or the session of a logged-in user (the dashboard's own requests).
- Pages: a login form for users from ``config/users.yaml`` (hashed passwords), CSRF-protected.
- Every non-Twilio response carries security headers.

A missing or wrong credential is a 401 (API) or a redirect to the login page, and error bodies
say nothing more than "unauthorized".
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash

from ivr.config import hotline_config

bp = Blueprint("auth", __name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
}


def api_tokens() -> list[str]:
    return [t for t in current_app.config.get("API_TOKENS", []) if t]


def bearer_ok() -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    given = header[len("Bearer ") :].strip().encode()
    return any(hmac.compare_digest(given, token.encode()) for token in api_tokens())


def current_user() -> str | None:
    return session.get("user")


def api_auth(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not (bearer_ok() or current_user()):
            response = jsonify({"error": "unauthorized"})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="hotline"'
            return response
        return view(*args, **kwargs)

    return wrapper


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user():
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        g.user = current_user()
        return view(*args, **kwargs)

    return wrapper


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(400, "bad CSRF token")


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host after login."""
    if not target:
        return url_for("ops.dashboard")
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ops.dashboard")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        check_csrf()
        username = request.form.get("username", "")[:100]
        password = request.form.get("password", "")[:200]
        users = {u.username: u for u in hotline_config().users}
        user = users.get(username)
        if user is not None and check_password_hash(user.password_hash, password):
            session.clear()
            session["user"] = user.username
            session["role"] = user.role
            return redirect(safe_next(request.args.get("next")))
        error = "Wrong username or password."
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout() -> Response:
    check_csrf()
    session.clear()
    return redirect(url_for("auth.login"))


class WebhookFreeSessions(SecureCookieSessionInterface):
    """Twilio's webhooks carry no cookie of ours: no login session is opened or saved for them."""

    def open_session(self, app: Any, request: Any) -> Any:
        if request.path.startswith("/voice/"):
            return self.null_session_class()
        return super().open_session(app, request)


def init_app(app) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.session_interface = WebhookFreeSessions()

    @app.after_request
    def headers(response: Response) -> Response:
        if not request.path.startswith("/voice"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response
