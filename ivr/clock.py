"""The app's clock: real UTC time, or a fixed/fake one a test or simulation installs."""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context, has_request_context, request

AT_ENVIRON = "hotline.at"  # a replayed request's own time, in its WSGI environ


def now() -> dt.datetime:
    """Timezone-aware current time; ``app.config["CLOCK"]`` (a callable) overrides it, and a
    replayed request (``AT_ENVIRON`` in its environ) keeps the time it first arrived."""
    if has_request_context():
        replayed = request.environ.get(AT_ENVIRON)
        if replayed is not None:
            return replayed
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            value = clock()
            if value.tzinfo is None:
                raise ValueError("CLOCK returned a naive datetime")
            return value
    return dt.datetime.now(dt.UTC)
