"""The post-call survey, in the caller's language: a score from 1 to 5, then an optional
recorded comment. Invalid input re-asks once, then thanks and hangs up."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from sqlalchemy import update
from twilio.twiml.voice_response import VoiceResponse

from ivr import clock
from ivr.config.schema import Language
from ivr.store import calllog
from ivr.store.db import get_session
from ivr.store.models import Survey
from ivr.voice.prompts import say, text
from ivr.voice.signatures import twilio_signed
from ivr.voice.webhook import (
    arg_int,
    call_sid,
    caller_language,
    config,
    event,
    record_message,
    safe_twiml,
)

bp = Blueprint("survey", __name__, url_prefix="/voice/survey")


def thanks(lang: Language) -> VoiceResponse:
    response = VoiceResponse()
    say(response, lang, text(lang, "survey_thanks"))
    response.hangup()
    return response


def question(lang: Language, queue: str, attempt: int, preface: str | None = None) -> VoiceResponse:
    response = VoiceResponse()
    if preface:
        say(response, lang, preface)
    action = url_for("survey.score", lang=lang.code, queue=queue, attempt=attempt)
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=config().line.menu.gather_timeout_s,
        action=action,
        method="POST",
    )
    say(gather, lang, text(lang, "survey_question"))
    response.redirect(action, method="POST")
    return response


@bp.post("")
@twilio_signed
@safe_twiml
def question_view() -> VoiceResponse:
    lang = caller_language()
    return question(lang, request.args.get("queue", ""), attempt=1)


@bp.post("/score")
@twilio_signed
@safe_twiml
def score() -> VoiceResponse:
    lang = caller_language()
    queue = request.args.get("queue", "")[:32] or None
    attempt = arg_int("attempt", 1)
    digits = request.form.get("Digits", "").strip()
    if digits in {"1", "2", "3", "4", "5"}:
        session = get_session()
        sid = call_sid()
        values = {
            "call_sid": sid,
            "queue": queue,
            "language": lang.code,
            "score": int(digits),
            "created_at": clock.now(),
        }
        if not calllog.insert_ignore(session, Survey, values):
            session.execute(update(Survey).where(Survey.call_sid == sid).values(score=int(digits)))
        event("survey_score", score=int(digits), queue=queue)
        response = VoiceResponse()
        gather = response.gather(
            input="dtmf",
            num_digits=1,
            timeout=5,
            action=url_for("survey.comment_choice", lang=lang.code),
            method="POST",
        )
        say(gather, lang, text(lang, "survey_comment_offer"))
        say(response, lang, text(lang, "survey_thanks"))
        response.hangup()
        return response
    event(
        "invalid_input",
        f"invalid_input:survey:{attempt}",
        stage="survey",
        digits=digits[:32] or None,
    )
    if attempt >= 2:
        return thanks(lang)
    return question(
        lang, queue or "", attempt=2, preface=text(lang, "invalid_input" if digits else "no_input")
    )


@bp.post("/comment-choice")
@twilio_signed
@safe_twiml
def comment_choice() -> VoiceResponse:
    lang = caller_language()
    if request.form.get("Digits", "").strip() != "1":
        return thanks(lang)
    response = VoiceResponse()
    say(response, lang, text(lang, "survey_comment_prompt"))
    return record_message(
        response,
        lang,
        url_for("survey.comment", lang=lang.code),
        60,
        "survey_thanks",
        transcript="comment",
    )


@bp.post("/comment")
@twilio_signed
@safe_twiml
def comment() -> VoiceResponse:
    lang = caller_language()
    url = request.form.get("RecordingUrl", "")[:2000]
    if url:
        get_session().execute(
            update(Survey).where(Survey.call_sid == call_sid()).values(comment_url=url)
        )
        event("survey_comment", url=url)
    return thanks(lang)
