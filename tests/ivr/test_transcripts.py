"""Transcripts of voicemails and survey comments: asked of Twilio where it can give one
(English), stored from its signed callback for the recording still stored, shown in the inbox,
forgotten with the recording."""

from __future__ import annotations

import datetime as dt

from ivr.config import hotline_config, use_config
from ivr.jobs import retention
from ivr.store.db import session_scope
from ivr.store.models import Call, Survey

from .conftest import OPEN_TIME, login, signed_post

REC = "https://api.twilio.com/2010-04-01/Accounts/AC" + "1" * 32 + "/Recordings/"


def stored(app):
    with session_scope(app) as session:
        session.add(Call(call_sid="CAvm", from_number="+393471234567", queue="orders",
                         language="en", started_at=OPEN_TIME - dt.timedelta(hours=2),
                         voicemail_url=REC + "REvm", voicemail_duration_s=12))  # fmt: skip
        session.add(Call(call_sid="CAsv", started_at=OPEN_TIME - dt.timedelta(hours=1)))
        session.add(Survey(call_sid="CAsv", queue="complaints", language="en", score=2,
                           comment_url=REC + "REsv", created_at=OPEN_TIME))  # fmt: skip


def transcripts(app) -> tuple[str | None, str | None]:
    with session_scope(app) as session:
        call = session.query(Call).filter_by(call_sid="CAvm").one()
        survey = session.query(Survey).filter_by(call_sid="CAsv").one()
        return call.voicemail_transcript, survey.comment_transcript


def callback(client, kind: str, sid: str, recording: str, text: str, status="completed"):
    form = {"CallSid": sid, "AccountSid": "AC" + "1" * 32, "RecordingUrl": recording,
            "TranscriptionStatus": status, "TranscriptionText": text}  # fmt: skip
    return signed_post(client, f"/voice/transcript?kind={kind}", form)


def test_english_messages_are_sent_for_a_transcript_others_are_not(app, client):
    english = signed_post(client, "/voice/survey/comment-choice?lang=en",
                          {"CallSid": "CA1", "Digits": "1"}).get_data(as_text=True)  # fmt: skip
    assert 'transcribe="true"' in english
    assert 'transcribeCallback="/voice/transcript?kind=comment"' in english
    italian = signed_post(client, "/voice/survey/comment-choice?lang=it",
                          {"CallSid": "CA2", "Digits": "1"}).get_data(as_text=True)  # fmt: skip
    assert "<Record" in italian and "transcribe" not in italian
    cfg = hotline_config(app)
    line = cfg.line.model_copy(update={"transcribe_messages": False})
    use_config(app, cfg.model_copy(update={"line": line}))
    off = signed_post(client, "/voice/survey/comment-choice?lang=en",
                      {"CallSid": "CA3", "Digits": "1"}).get_data(as_text=True)  # fmt: skip
    assert "<Record" in off and "transcribe" not in off


def test_the_transcript_is_kept_with_its_recording_and_shown_in_the_inbox(app, client):
    stored(app)
    assert (
        callback(client, "voicemail", "CAvm", REC + "REvm", "Please call <me> back").status_code
        == 200
    )
    assert callback(client, "comment", "CAsv", REC + "REsv", "Too long a wait").status_code == 200
    assert transcripts(app) == ("Please call <me> back", "Too long a wait")
    login(client)
    page = client.get("/supervisor/inbox").get_data(as_text=True)
    assert "Please call &lt;me&gt; back" in page and "Too long a wait" in page


def test_forged_failed_and_stale_callbacks_store_nothing(app, client):
    stored(app)
    forged = client.post("/voice/transcript?kind=voicemail",
                         data={"CallSid": "CAvm", "TranscriptionStatus": "completed",
                               "TranscriptionText": "forged"},
                         headers={"X-Twilio-Signature": "bogus"})  # fmt: skip
    assert forged.status_code == 403
    callback(client, "voicemail", "CAvm", REC + "REvm", "", status="failed")
    callback(client, "voicemail", "CAvm", REC + "REother", "of another recording")
    callback(client, "nonsense", "CAvm", REC + "REvm", "of no kind")
    assert transcripts(app) == (None, None)


def test_retention_forgets_the_transcript_with_the_recording(app, client):
    stored(app)
    callback(client, "voicemail", "CAvm", REC + "REvm", "Please call me back")
    with session_scope(app) as session:
        row_id = session.query(Call).filter_by(call_sid="CAvm").one().id
    link = retention.RECORDING_LINKS[0]
    retention.forget_link(app, retention.StoredRecording(link, row_id, "CAvm", REC + "REvm"))
    with session_scope(app) as session:
        call = session.query(Call).filter_by(call_sid="CAvm").one()
        assert call.voicemail_url is None and call.voicemail_transcript is None
