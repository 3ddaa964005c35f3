"""Who may see ops and supervisor pages and the JSON API.

- API: ``Authorization: Bearer <token>`` with tokens from ``HOTLINE_API_TOKENS`` (comma-separated),
  or the session of a logged-in user (the dashboard's own requests). The supervisors' exports
  (roster CSV, calendars) take the same tokens, or a supervisor's login (``export_auth``).
- Pages: a login form for users from ``config/users.yaml`` (hashed passwords), with Flask-Login.
  Each login is recorded in the database (:mod:`ivr.web.logins`) and looked up on every request:
  logging out ends it (a copied cookie stops working), so do removing or disabling the user in
  users.yaml, and it expires ``HOTLINE_SESSION_HOURS`` after the login.
- Password guessing is held back: 5 wrong passwords for a username or from an address within 15
  minutes make the login page answer 429 (:mod:`ivr.web.throttle`).
- Every form outside Twilio's webhooks (``/voice/``) needs a CSRF token (Flask-WTF).
- Every non-Twilio response carries security headers.

A missing or wrong credential is a 401 (API) or a redirect to the login page, and error bodies
say nothing more than "unauthorized".
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_login import login_required as login_required
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash

from ivr.web import logins, throttle

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
}


class WebUser(UserMixin):
    """A logged-in user of the pages. Flask-Login's id is the login's token, not the username:
    the session cookie names one login, which can be ended on its own."""

    def __init__(self, username: str, role: str, token: str, agent_id: str | None = None):
        self.username = username
        self.role = role
        self.token = token
        self.agent_id = agent_id  # an agent's login: their id in agents.csv

    def get_id(self) -> str:
        return self.token

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    @property
    def is_agent(self) -> bool:
        return self.role == "agent"


@login_manager.user_loader
def load_user(token: str) -> WebUser | None:
    app = current_app._get_current_object()
    max_age = dt.timedelta(hours=app.config["SESSION_HOURS"])
    user = logins.live_user(app, token, max_age)
    return None if user is None else WebUser(user.username, user.role, token, user.agent)


@login_manager.unauthorized_handler
def to_login() -> Response:
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


AGENT_AREAS = {"desktop", "auth", "static", "health", "calendars"}  # what an agent's login may open


def json_forbidden() -> Response:
    response = jsonify({"error": "an agent's login may not use this"})
    response.status_code = 403
    return response


def api_tokens() -> list[str]:
    return [t for t in current_app.config.get("API_TOKENS", []) if t]


def bearer_ok() -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    given = header[len("Bearer ") :].strip().encode()
    return any(hmac.compare_digest(given, token.encode()) for token in api_tokens())


def username() -> str:
    """The logged-in user's name (in a view behind ``login_required``)."""
    return current_user.username


def unauthorized() -> Response:
    response = jsonify({"error": "unauthorized"})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="hotline"'
    return response


def api_auth(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not (bearer_ok() or current_user.is_authenticated):
            return unauthorized()
        return view(*args, **kwargs)

    return wrapper


def export_auth(view: Callable[..., Any]) -> Callable[..., Any]:
    """A download another system fetches as well as a supervisor: a bearer token from
    ``HOTLINE_API_TOKENS``, or a supervisor's login. A wrong token is a 401; no credential at all
    is the login page, as for any page."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if bearer_ok():
            return view(*args, **kwargs)
        if "Authorization" in request.headers:
            return unauthorized()
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        supervisors_only()
        return view(*args, **kwargs)

    return wrapper


def supervisors_only() -> None:
    if not (current_user.is_authenticated and current_user.is_supervisor):
        abort(403)


def check_csrf() -> None:
    """Check the form's CSRF token (every form outside the webhooks is already checked before
    its view runs; this says so where a view changes something)."""
    csrf.protect()


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host after login."""
    if not target:
        return url_for("ops.dashboard")
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("ops.dashboard")
    return target


def end_this_login() -> None:
    token = session.get("_user_id")
    if token:
        logins.end_login(current_app._get_current_object(), token)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        name = request.form.get("username", "")[:100]
        password = request.form.get("password", "")[:200]
        address = request.remote_addr or "unknown"
        app = current_app._get_current_object()
        why = throttle.refused(app, name, address)
        if why is not None:
            log.warning(
                "login refused for %r from %s: %d failed logins for this %s within %d minutes",
                name,
                address,
                throttle.MAX_FAILURES,
                why,
                throttle.WINDOW.total_seconds() // 60,
            )
            page = render_template(
                "login.html", error="Too many failed logins. Try again in a quarter of an hour."
            )
            retry = str(int(throttle.WINDOW.total_seconds()))
            return page, 429, {"Retry-After": retry}
        user = logins.enabled_user(app, name)
        if user is not None and check_password_hash(user.password_hash, password):
            throttle.forget_user(app, name)
            end_this_login()
            session.clear()
            token = logins.open_login(app, user.username)
            login_user(WebUser(user.username, user.role, token, user.agent))
            if user.role == "agent":
                return redirect(url_for("desktop.desk"))
            return redirect(safe_next(request.args.get("next")))
        throttle.record_failure(app, name, address)
        log.info("failed login for %r from %s", name, address)
        error = "Wrong username or password."
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout() -> Response:
    end_this_login()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


class WebhookFreeSessions(SecureCookieSessionInterface):
    """Twilio's webhooks carry no cookie of ours: no login session is opened or saved for them."""

    def open_session(self, app: Any, request: Any) -> Any:
        if request.path.startswith("/voice/"):
            return self.null_session_class()
        return super().open_session(app, request)


def init_app(app) -> None:
    app.session_interface = WebhookFreeSessions()
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=app.config["SESSION_HOURS"])
    login_manager.init_app(app)
    # The token of a form is good for as long as the login; the check runs in check_forms below,
    # for every path but the webhooks (signed by Twilio instead).
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)

    @app.before_request
    def check_forms() -> None:
        # a path with no route, or a method the route does not take, is answered 404/405
        # before any form is read; a request with a valid bearer token carries no cookie a
        # forged page could borrow, so it needs no form token
        if (
            not request.path.startswith("/voice/")
            and request.routing_exception is None
            and not bearer_ok()
        ):
            csrf.protect()

    @app.before_request
    def agents_at_their_desk() -> Response | None:
        """An agent's login opens the agent desktop, not the ops and supervisor pages nor the
        API (whose state changes reach every agent)."""
        if request.path.startswith("/voice/"):
            return None  # Twilio's webhooks: no login at all
        endpoint = request.endpoint or ""
        if endpoint.split(".")[0] in AGENT_AREAS or not current_user.is_authenticated:
            return None
        if getattr(current_user, "is_agent", False):
            if request.path.startswith("/api/"):
                return json_forbidden()
            return redirect(url_for("desktop.desk"))
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        if not request.path.startswith("/voice"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response
