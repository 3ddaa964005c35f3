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
    get_signature_algorithm,
)

log = logging.getLogger(__name__)


def public_url() -> str:
    """The URL Twilio requested, as Twilio saw it."""
    base = current_app.config.get("HOTLINE_PUBLIC_URL", "").rstrip("/")
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return f"{base}{request.script_root}{request.path}" + (f"?{query}" if query else "")


def signature_is_valid() -> bool:
    """The request's ``X-Twilio-Signature`` checked by the twilio library's validator, against
    the public URL and the form (or, for a JSON body, its ``bodySHA256``)."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    params = request.form if "bodySHA256" not in request.args else request.get_data(as_text=True)
    return RequestValidator(token).validate(public_url(), params, signature, algorithm)


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
