"""Every environment variable Hotline reads, in one place, typed.

A bad value is refused with :class:`SettingsError`, which names the variable, the value and what
was expected; an empty variable counts as unset. The line itself (menus, queues, hours, agents) is
configured in the config folder, not here: these are the deployment's settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class SettingsError(ValueError):
    """One or more environment variables have values Hotline cannot use."""


class Settings(BaseModel):
    """The deployment's settings, from the environment (names as written below, in capitals)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # where things are
    hotline_config_dir: Path | None = None  # the line's config folder (default: config/)
    database_url: str | None = None  # default: SQLite in the instance folder
    hotline_instance_path: Path | None = None  # database, plans, spool (default: ./instance)
    hotline_spool_dir: Path | None = (
        None  # webhooks kept through an outage (default: instance/spool)
    )
    # /healthz reports the disk of the database (SQLite) or the spool with less free than this
    hotline_disk_min_free_mb: float = Field(200, ge=0)
    hotline_secret_key: str | None = None  # default: a random key kept in the instance folder
    # Twilio
    twilio_auth_token: str = ""  # checks every webhook's signature; empty refuses them all
    twilio_account_sid: str = ""  # with the token: the REST client (callbacks, lost calls)
    hotline_public_url: str = ""  # the URL Twilio calls (behind a proxy or tunnel)
    # where the REST client sends what it would send to https://api.twilio.com (the demo's and
    # the tests' Twilio stand-in); empty: Twilio itself
    twilio_rest_base_url: str = ""
    # the agent desktop's softphone (Twilio Voice JS SDK): an API key for its access tokens and
    # the TwiML App whose voice URL is this line's /voice/agent/outgoing; tokens last this long
    twilio_api_key_sid: str = ""
    twilio_api_key_secret: str = ""
    twilio_twiml_app_sid: str = ""
    hotline_agent_token_ttl_s: int = Field(900, ge=300, le=86_400)
    # proxies in front of the app (nginx: 1) whose X-Forwarded-For/-Proto are trusted for the
    # client's address and scheme; 0 trusts none (the app is reached directly)
    hotline_proxy_hops: int = Field(0, ge=0, le=5)
    # behaviour
    hotline_auto_migrate: bool = True  # migrate the database when the app starts
    hotline_api_tokens: list[str] = []  # comma-separated bearer tokens
    hotline_always_open: bool = False  # the demo: the line open round the clock
    hotline_hold_estimate_cache_s: float = Field(2.0, ge=0, le=300)
    # hold polls start the dispatcher at most this often per worker (agents' events always do)
    hotline_dispatch_hold_gap_s: float = Field(0.5, ge=0, le=5)
    # a webhook is answered within this many seconds (Twilio waits 15): the server's database
    # waits end at three quarters of it, and the caller is then served from the configuration
    hotline_webhook_deadline_s: float = Field(8.0, ge=1, le=14)
    # the server waits at most this long for the database (a lock, a connection); then the
    # caller is answered from the configuration and the database left alone for 2 s
    hotline_db_wait_s: float = Field(2.0, gt=0, le=10)
    hotline_session_hours: float = Field(12, gt=0, le=24 * 31)  # a page login lasts this long
    # the most one statistics request (JSON API, `hotline stats`) may ask for
    hotline_api_max_days: int = Field(400, ge=1, le=36_500)
    hotline_api_max_intervals: int = Field(20_000, ge=1, le=1_000_000)
    # `hotline serve` (ivr/gunicorn_conf.py)
    hotline_bind: str = "127.0.0.1:8000"
    hotline_workers: int | None = Field(None, ge=1, le=256)  # default 2 x cores + 1
    hotline_threads: int = Field(4, ge=1, le=256)

    @field_validator("hotline_api_tokens", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [token.strip() for token in value.split(",") if token.strip()]
        return value


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``environ`` (default: the process's environment)."""
    source = os.environ if environ is None else environ
    values = {
        name: source[name.upper()] for name in Settings.model_fields if source.get(name.upper())
    }
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in error['loc']).upper()}={error['input']!r}: {error['msg']}"
            for error in exc.errors()
        ]
        raise SettingsError("bad environment variable(s): " + "; ".join(problems)) from None
