"""Every Twilio-facing route checks ``X-Twilio-Signature`` with the twilio library's validator.

The URL checked is the public one Twilio called: ``HOTLINE_PUBLIC_URL`` joined with the path and
query, so the check holds behind a proxy or tunnel. Forged, missing or stale (signed for another
URL, other parameters or an old token) signatures get 403 before anything is written.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, request
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    compare,
    get_signature_algorithm,
)

log = logging.getLogger(__name__)
_SETTINGS_ENVIRON = "HTTP_" + SIGNATURE_SETTINGS_HEADER.upper().replace("-", "_")


def public_url() -> str:
    """The URL Twilio requested, as Twilio saw it."""
    base = current_app.config.get("HOTLINE_PUBLIC_URL", "").rstrip("/")
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return f"{base}{request.script_root}{request.path}" + (f"?{query}" if query else "")


class _Parameters(dict):
    """The form as the validator reads it fastest: each name with its list of values."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def signature_is_valid() -> bool:
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    environ = request.environ
    signature = environ.get("HTTP_X_TWILIO_SIGNATURE", "")
    if not token or not signature:
        return False
    algorithm = get_signature_algorithm(environ.get(_SETTINGS_ENVIRON))
    validator = _validator(token)
    url = public_url()
    if "bodySHA256" not in request.args:  # a body-hash request: only validate() checks the hash
        try:  # the URL as configured first: one HMAC for a genuine request
            parameters = _Parameters(request.form.lists())
            if compare(validator.compute_signature(url, parameters, algorithm), signature):
                return True
        except ValueError:  # an algorithm the library does not know: validate() refuses, logs
            pass
    # then the library's full check (the URL with and without its port, a body hash)
    return validator.validate(url, request.form, signature, algorithm)


@functools.lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse with 403 any request Twilio did not sign."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Only an explicit test setting turns the check off, never debug mode.
        skip = current_app.testing and current_app.config.get("TWILIO_SIGNATURE_CHECK") is False
        if not skip and not signature_is_valid():
            log.warning(
                "refused unsigned or forged request to %s from %s",
                request.path,
                request.remote_addr,
            )
            abort(403)
        return view(*args, **kwargs)

    return wrapper
