"""The app's clock: real UTC time, or a fixed/fake one a test or simulation installs."""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context


def now() -> dt.datetime:
    """Timezone-aware current time; ``app.config["CLOCK"]`` (a callable) overrides it."""
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            value = clock()
            if value.tzinfo is None:
                raise ValueError("CLOCK returned a naive datetime")
            return value
    return dt.datetime.now(dt.UTC)
