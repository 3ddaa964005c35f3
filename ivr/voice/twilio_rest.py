"""The Twilio REST client, built in one place from ``TWILIO_ACCOUNT_SID``/``TWILIO_AUTH_TOKEN``.

Without credentials (the demo) calls are not placed: what would be dialled is logged and a
made-up call SID returned. Tests inject an HTTP client that records the requests
(``app.config["TWILIO_HTTP_CLIENT"]``), since Twilio itself is not reachable from here.
"""

from __future__ import annotations

import logging
import urllib.parse
import urllib.request
import uuid

from flask import Flask
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

log = logging.getLogger(__name__)
REST_TIMEOUT_S = 10  # a REST request to Twilio gives up after this (the library waits for ever)


def masked(phone: str) -> str:
    """A phone number fit for logs: country code and last three digits."""
    return phone[:3] + "*" * max(len(phone) - 6, 0) + phone[-3:] if len(phone) > 6 else "***"


TWILIO_API = "https://api.twilio.com"


class RebasedHttpClient(TwilioHttpClient):
    """Sends the REST requests meant for ``api.twilio.com`` to another base URL (the Twilio
    stand-in of the demo and the tests: ``TWILIO_REST_BASE_URL``)."""

    def __init__(self, base: str, timeout: float = REST_TIMEOUT_S):
        super().__init__(timeout=timeout)
        self.base = base.rstrip("/")

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if url.startswith(TWILIO_API):
            url = self.base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def rest_client(app: Flask) -> Client | None:
    sid = app.config.get("TWILIO_ACCOUNT_SID")
    token = app.config.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        return None
    http = app.config.get("TWILIO_HTTP_CLIENT")
    if http is None:
        base = app.config.get("TWILIO_REST_BASE_URL")
        http = RebasedHttpClient(base) if base else TwilioHttpClient(timeout=REST_TIMEOUT_S)
    return Client(sid, token, http_client=http)


def redirect_call(app: Flask, call_sid: str | None, url: str) -> None:
    """Move a call in progress to the TwiML at ``url`` (Twilio's call update)."""
    if not call_sid:
        raise ValueError("no call to redirect")
    client = rest_client(app)
    if client is None:
        log.info("no Twilio credentials: would move call %s to %s", call_sid, url)
        return
    client.calls(call_sid).update(url=url, method="POST")


def place_call(app: Flask, to: str, from_: str | None, url: str, status_callback: str) -> str:
    """Dial ``to``; Twilio fetches ``url`` when answered and posts the outcome to ``status_callback``."""
    client = rest_client(app)
    if client is None:
        fake = "CA" + uuid.uuid4().hex
        log.info(
            "no Twilio credentials: would dial %s from %s (answer URL %s) as %s",
            masked(to),
            from_,
            url,
            fake,
        )
        return fake
    call = client.calls.create(
        to=to,
        from_=from_,
        url=url,
        method="POST",
        status_callback=status_callback,
        status_callback_method="POST",
        status_callback_event=["completed"],
    )
    return call.sid


class CredentialsStayHome(urllib.request.HTTPRedirectHandler):
    """Follows a redirect without the account's credentials when it leaves the host they were
    meant for (a media CDN): urllib would otherwise send them along."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if (
            new is not None
            and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc
        ):
            new.remove_header("Authorization")
        return new


class RecordingUnavailable(Exception):
    """A recording cannot be fetched: no credentials, not Twilio's, or Twilio refused."""


def fetch_recording(app: Flask, url: str, timeout_s: float = 20.0) -> tuple[bytes, str]:
    """A recording's audio (MP3) and its content type, fetched with the account's credentials
    (the browser never sees them). Only Twilio's own recording URLs are fetched (or the REST
    stand-in's, ``TWILIO_REST_BASE_URL``)."""
    import base64
    import urllib.error

    sid = app.config.get("TWILIO_ACCOUNT_SID")
    token = app.config.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise RecordingUnavailable("no Twilio credentials (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)")
    if not url.startswith(f"{TWILIO_API}/"):
        raise RecordingUnavailable("not a Twilio recording URL")
    base = app.config.get("TWILIO_REST_BASE_URL")
    if base:
        url = base.rstrip("/") + url[len(TWILIO_API) :]
    if not url.endswith(".mp3"):
        url += ".mp3"
    credentials = base64.b64encode(f"{sid}:{token}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {credentials}"})
    opener = urllib.request.build_opener(CredentialsStayHome())
    try:
        with opener.open(request, timeout=timeout_s) as response:
            return response.read(), response.headers.get("Content-Type", "audio/mpeg")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise RecordingUnavailable(
                "Twilio no longer has this recording (deleted there, or past its keeping time)"
            ) from exc
        raise RecordingUnavailable(f"Twilio did not give the recording ({exc})") from exc
    except (urllib.error.URLError, TimeoutError) as exc:
        raise RecordingUnavailable(f"Twilio did not give the recording ({exc})") from exc
