"""``/voice/transcript``: Twilio's text of a voicemail or a survey comment (``<Record
transcribe>``, asked for by :func:`ivr.voice.webhook.record_message`), kept with the recording for
the supervisors' inbox. A failed transcription leaves nothing; the recording is still played."""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import update
from twilio.twiml.voice_response import VoiceResponse

from ivr.store.db import get_session
from ivr.store.models import Call, Survey
from ivr.voice.signatures import twilio_signed
from ivr.voice.webhook import call_sid, event, twilio_callback

bp = Blueprint("transcripts", __name__, url_prefix="/voice")

TEXT_MAX = 10_000  # a two-minute message is far shorter

WHERE = {
    "voicemail": (Call, Call.voicemail_url, "voicemail_transcript"),
    "comment": (Survey, Survey.comment_url, "comment_transcript"),
}


@bp.post("/transcript")
@twilio_signed
@twilio_callback
def transcript() -> VoiceResponse:
    kind = request.args.get("kind", "")
    status = request.form.get("TranscriptionStatus", "")
    words = request.form.get("TranscriptionText", "").strip()[:TEXT_MAX]
    if kind in WHERE and status == "completed" and words:
        model, link, column = WHERE[kind]
        query = update(model).where(model.call_sid == call_sid(), link.is_not(None))
        recording = request.form.get("RecordingUrl", "")
        if recording:  # the text of the recording stored, not of one retention has forgotten
            query = query.where(link == recording[:2000])
        get_session().execute(query.values({column: words}))
        event(f"{kind}_transcript", f"{kind}_transcript", length=len(words))
    return VoiceResponse()
