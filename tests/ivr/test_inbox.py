"""The supervisors' inbox: voicemails and comments in one list, played through the app with the
account's credentials (never the browser's), marked handled by whom, a callback booked from a
voicemail."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import threading

import pytest
from sqlalchemy import select

from ivr.store.db import session_scope
from ivr.store.models import Call, Callback, Survey

from .conftest import OPEN_TIME, csrf, login

SID, TOKEN = "AC" + "7" * 32, "test-auth-token"
AUDIO = b"ID3\x03\x00fake-mp3-bytes\xff\xfb"


@pytest.fixture
def twilio_media():
    """Twilio's recording URLs, stood in on loopback: the MP3 for the account's credentials."""
    seen: list[tuple[str, str | None]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_args):
            return

        def do_GET(self):  # noqa: N802 - the http.server API
            seen.append((self.path, self.headers.get("Authorization")))
            expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(AUDIO)))
            self.end_headers()
            self.wfile.write(AUDIO)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(make_app, clock, twilio_media):
    base, _seen = twilio_media
    app = make_app(CLOCK=clock, TWILIO_ACCOUNT_SID=SID, TWILIO_REST_BASE_URL=base)
    rec = "https://api.twilio.com/2010-04-01/Accounts/" + SID + "/Recordings/"
    with session_scope(app) as session:
        session.add(Call(call_sid="CAvm", from_number="+393471234567", queue="orders",
                         language="it", started_at=OPEN_TIME - dt.timedelta(hours=2),
                         voicemail_url=rec + "REvm", voicemail_duration_s=42))  # fmt: skip
        session.add(Call(call_sid="CAsv", from_number="+393479999999",
                         started_at=OPEN_TIME - dt.timedelta(hours=1)))  # fmt: skip
        session.add(Survey(call_sid="CAsv", queue="complaints", language="en", score=1,
                           comment_url=rec + "REsv", created_at=OPEN_TIME - dt.timedelta(hours=1)))  # fmt: skip
    return app


def test_the_inbox_lists_plays_and_marks_handled(app, twilio_media):
    _base, seen = twilio_media
    client = app.test_client()
    login(client)
    page = client.get("/supervisor/inbox").get_data(as_text=True)
    assert page.index('id="comment-1"') < page.index('id="voicemail-1"')  # newest first
    assert "+39*******567" in page and "42 s" in page
    assert "+393471234567" not in page and SID not in page  # masked; no Twilio link or account
    audio = client.get("/supervisor/inbox/voicemail/1/audio")
    assert audio.status_code == 200 and audio.mimetype == "audio/mpeg" and audio.data == AUDIO
    assert seen[-1][0] == f"/2010-04-01/Accounts/{SID}/Recordings/REvm.mp3"
    assert client.get("/supervisor/inbox/comment/1/audio").data == AUDIO
    assert client.get("/supervisor/inbox/voicemail/9/audio").status_code == 404
    done = client.post(
        "/supervisor/inbox/comment/1/handled", data={"csrf_token": csrf(client, page)}
    )
    assert done.status_code == 302
    page = client.get("/supervisor/inbox").get_data(as_text=True)
    assert 'id="comment-1"' not in page and 'id="voicemail-1"' in page
    everything = client.get("/supervisor/inbox?handled=1").get_data(as_text=True)
    assert "handled by demo" in everything


def test_a_callback_is_booked_from_a_voicemail(app, clock):
    client = app.test_client()
    login(client)
    page = client.get("/supervisor/inbox").get_data(as_text=True)
    booked = client.post(
        "/supervisor/inbox/voicemail/1/callback", data={"csrf_token": csrf(client, page)}
    )
    assert booked.status_code == 302
    with session_scope(app) as session:
        callback = session.scalars(select(Callback)).one()
        call = session.scalars(select(Call).where(Call.call_sid == "CAvm")).one()
    assert (callback.phone, callback.queue, callback.language, callback.dial_by) == (
        "+393471234567", "orders", "it", "agent"
    )  # fmt: skip
    assert callback.due_at == clock.at and call.voicemail_handled_by == "demo"


def test_without_credentials_the_recording_is_not_fetched(make_app, clock):
    app = make_app(CLOCK=clock)  # no TWILIO_ACCOUNT_SID
    with session_scope(app) as session:
        session.add(Call(call_sid="CAvm", started_at=OPEN_TIME,
                         voicemail_url="https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1"))  # fmt: skip
    client = app.test_client()
    login(client)
    response = client.get("/supervisor/inbox/voicemail/1/audio")
    assert response.status_code == 502 and b"no Twilio credentials" in response.data


def test_the_credentials_do_not_follow_a_redirect_to_another_host(make_app, twilio_media):
    """Twilio may send the media elsewhere: the account's credentials stay with Twilio's host."""
    from ivr.voice.twilio_rest import fetch_recording

    media, seen = twilio_media  # the host the redirect leads to

    class Redirector(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_args):
            return

        def do_GET(self):  # noqa: N802 - the http.server API
            self.send_response(302)
            self.send_header("Location", f"{media}/media/RE1.mp3")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = make_app(
            TWILIO_ACCOUNT_SID=SID,
            TWILIO_REST_BASE_URL=f"http://localhost:{server.server_address[1]}",
        )
        with pytest.raises(Exception, match="did not give the recording"):
            fetch_recording(app, "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1")
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [("/media/RE1.mp3", None)]  # reached without the Authorization header


def test_a_second_callback_for_the_same_call_is_refused_with_the_reason(app):
    client = app.test_client()
    login(client)
    page = client.get("/supervisor/inbox").get_data(as_text=True)
    token = csrf(client, page)
    assert (
        client.post(
            "/supervisor/inbox/voicemail/1/callback", data={"csrf_token": token}
        ).status_code
        == 302
    )
    again = client.post("/supervisor/inbox/voicemail/1/callback", data={"csrf_token": token})
    assert again.status_code == 409
    assert "already has a callback (pending)" in again.get_data(as_text=True)


def test_a_recording_twilio_no_longer_has_is_said_so(make_app, clock):
    from ivr.demo.twilio_sim import RestStandIn

    twilio = RestStandIn().start()
    try:
        app = make_app(CLOCK=clock, TWILIO_ACCOUNT_SID=SID, TWILIO_REST_BASE_URL=twilio.base_url)
        rec = "https://api.twilio.com/2010-04-01/Accounts/" + SID + "/Recordings/"
        with session_scope(app) as session:
            session.add(Call(call_sid="CAgone", queue="orders", started_at=OPEN_TIME,
                             voicemail_url=rec + "REgone", voicemail_duration_s=9))  # fmt: skip
        client = app.test_client()
        login(client)
        response = client.get("/supervisor/inbox/voicemail/1/audio")
        assert response.status_code == 502
        assert "Twilio no longer has this recording" in response.get_data(as_text=True)
        twilio.recordings.add("REgone")  # the stand-in serves it: played through the proxy
        played = client.get("/supervisor/inbox/voicemail/1/audio")
        assert played.status_code == 200 and played.data[:4] == b"RIFF"
        assert twilio.played == ["REgone"]
    finally:
        twilio.stop()
