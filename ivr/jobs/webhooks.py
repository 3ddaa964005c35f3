"""Posting JSON to a configured webhook: one POST, a timeout, and an exception for any failure
(a refused connection, a timeout, a status of 400 or more). The jobs that post (alerts, ticket
changes) keep what is not yet posted in the database and try it again at their next run.

A webhook's URL often carries its secret (a Slack-style path, a token in the query,
``user:password@``): logs and stored errors name the receiver by :func:`shown_url` only, and
:func:`failure` leaves out whatever of the URL an exception quotes."""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

HIDDEN = "[hidden]"


def post_json(url: str, body: dict[str, Any], timeout_s: float, user_agent: str) -> None:
    """POST ``body`` as JSON to ``url``; raises on any failure (``urllib.error.HTTPError`` for a
    status of 400 or more)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": user_agent},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - configured
        response.read()


def shown_url(url: str) -> str:
    """The webhook as logs show it: scheme, host and port; no user, password, path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a port: left out
        port = ""
    return f"{parts.scheme}://{host}{port}"


def failure(exc: BaseException, url: str) -> str:
    """``exc`` in words (``Type: message``), with the parts of ``url`` that may be secret replaced
    by ``[hidden]`` wherever the message quotes them."""
    text = f"{type(exc).__name__}: {exc}"
    parts = urlsplit(url)
    secrets = {url, parts.password or "", parts.query}
    if parts.username is not None or parts.password is not None:
        secrets.add(parts.netloc.rpartition("@")[0])  # user:password
    if len(parts.path) > 1:
        secrets.add(parts.path)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text
