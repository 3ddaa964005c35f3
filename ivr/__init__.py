"""Hotline's Flask app: Twilio voice webhooks, ops and supervisor pages, JSON API and CLI."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr import settings
from ivr.config import use_config


def _secret_key(instance_path: str, configured: str | None) -> str:
    """``HOTLINE_SECRET_KEY``, else a random key kept in the instance folder across restarts."""
    if configured:
        return configured
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(test_config: dict[str, Any] | None = None, server: bool = False) -> Flask:
    """Build the app: settings, the line's configuration, the database and the blueprints.

    ``server`` (the workers of ``hotline serve``): when the configuration files are invalid, run
    with the last configuration that loaded instead of failing (:mod:`ivr.config.last_good`), and
    end every database wait well inside the webhook deadline (:func:`ivr.store.db.make_engine`)."""
    from ivr.cli import register as register_commands
    from ivr.config import last_good
    from ivr.config.loader import default_config_dir
    from ivr.store import db
    from ivr.voice import agents, callbacks, connect, menu, queue, survey, transcripts
    from ivr.web import (
        agent_requests,
        agents_api,
        api,
        auth,
        calendars,
        desktop,
        health,
        inbox,
        ops,
        plan,
        roster,
        simulation,
        supervisor,
        tasks,
        tickets,
    )

    env = settings.load()  # SettingsError names any bad environment variable
    instance = (test_config or {}).get("INSTANCE_PATH") or env.hotline_instance_path
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(instance) if instance else None,
        template_folder="web/templates",
        static_folder="web/static",
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        CONFIG_DIR=str(default_config_dir()),
        DATABASE_URL=db.default_url(app.instance_path),
        TWILIO_AUTH_TOKEN=env.twilio_auth_token,
        TWILIO_ACCOUNT_SID=env.twilio_account_sid,
        TWILIO_HTTP_CLIENT=None,
        TWILIO_REST_BASE_URL=env.twilio_rest_base_url,
        TWILIO_API_KEY_SID=env.twilio_api_key_sid,
        TWILIO_API_KEY_SECRET=env.twilio_api_key_secret,
        TWILIO_TWIML_APP_SID=env.twilio_twiml_app_sid,
        AGENT_TOKEN_TTL_S=env.hotline_agent_token_ttl_s,
        HOTLINE_PUBLIC_URL=env.hotline_public_url,
        AUTO_MIGRATE=env.hotline_auto_migrate,
        MAX_CONTENT_LENGTH=64 * 1024,
        API_TOKENS=list(env.hotline_api_tokens),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        PROXY_HOPS=env.hotline_proxy_hops,
        # Only a test may switch signature checks off, and only together with TESTING.
        TWILIO_SIGNATURE_CHECK=True,
        ALWAYS_OPEN=env.hotline_always_open,
        HOLD_ESTIMATE_CACHE_S=env.hotline_hold_estimate_cache_s,
        DISPATCH_HOLD_GAP_S=env.hotline_dispatch_hold_gap_s,
        WEBHOOK_DEADLINE_S=env.hotline_webhook_deadline_s,
        DB_WAIT_S=env.hotline_db_wait_s,
        SPOOL_DIR=str(env.hotline_spool_dir) if env.hotline_spool_dir else None,
        DISK_MIN_FREE_MB=env.hotline_disk_min_free_mb,
        SESSION_HOURS=env.hotline_session_hours,
        API_MAX_DAYS=env.hotline_api_max_days,
        API_MAX_INTERVALS=env.hotline_api_max_intervals,
    )
    if test_config:
        app.config.update(test_config)
    # cookies only over https when the site is served over https
    secure = str(app.config.get("HOTLINE_PUBLIC_URL") or "").lower().startswith("https://")
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if name not in (test_config or {}):
            app.config[name] = secure
    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(app.instance_path, env.hotline_secret_key)

    app.config["SERVER"] = server
    loaded = last_good.load(app.config["CONFIG_DIR"], app.instance_path, keep_last_good=server)
    use_config(app, loaded.config)
    db.init_app(app)
    register_commands(app)
    auth.init_app(app)
    api.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    for blueprint in (
        menu.bp,
        queue.bp,
        survey.bp,
        transcripts.bp,
        agents.bp,
        callbacks.bp,
        connect.bp,
        auth.bp,
        ops.bp,
        tickets.bp,
        agents_api.bp,
        desktop.bp,
        calendars.bp,
        inbox.bp,
        supervisor.bp,
        roster.bp,
        plan.bp,
        tasks.bp,
        simulation.bp,
        agent_requests.bp,
    ):
        app.register_blueprint(blueprint)
    return app
