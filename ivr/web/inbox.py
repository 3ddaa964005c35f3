"""The supervisors' inbox (``/supervisor/inbox``): voicemails and survey comments in one list,
newest first — when, queue, language, the caller (masked per ``agent_line.show_caller_number``),
length, the score for a comment, Twilio's transcript where it gave one — each played through the app (``.../audio``, fetched from Twilio
with the account's credentials, which the browser never gets), marked handled by whom, and a
callback booked from a voicemail for an agent to dial.
"""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from ivr import clock
from ivr.config import hotline_config
from ivr.store import audit
from ivr.store.db import get_session
from ivr.store.models import Call, Callback, Survey
from ivr.voice.callbacks import book, callable_number
from ivr.voice.twilio_rest import RecordingUnavailable, fetch_recording
from ivr.web.auth import check_csrf, login_required, supervisors_only, username
from ivr.web.desktop import shown_number

log = logging.getLogger(__name__)
bp = Blueprint("inbox", __name__, url_prefix="/supervisor/inbox")
LIMIT = 300


def items(session, cfg, show_handled: bool) -> list[dict]:
    voicemails = select(Call).where(Call.voicemail_url.is_not(None))
    comments = (
        select(Survey, Call.from_number)
        .outerjoin(Call, Call.call_sid == Survey.call_sid)
        .where(Survey.comment_url.is_not(None))
    )
    if not show_handled:
        voicemails = voicemails.where(Call.voicemail_handled_at.is_(None))
        comments = comments.where(Survey.comment_handled_at.is_(None))
    out = []
    for call in session.scalars(voicemails.order_by(Call.started_at.desc()).limit(LIMIT)):
        out.append(
            {
                "kind": "voicemail",
                "id": call.id,
                "at": call.started_at.astimezone(cfg.tz),
                "queue": call.queue,
                "language": call.language,
                "caller": shown_number(cfg, call.from_number) or "unknown",
                "duration_s": call.voicemail_duration_s,
                "score": None,
                "transcript": call.voicemail_transcript,
                "handled_by": call.voicemail_handled_by,
                "callback_possible": callable_number(cfg, call.from_number or ""),
            }
        )
    for survey, phone in session.execute(comments.order_by(Survey.created_at.desc()).limit(LIMIT)):
        out.append(
            {
                "kind": "comment",
                "id": survey.id,
                "at": survey.created_at.astimezone(cfg.tz),
                "queue": survey.queue,
                "language": survey.language,
                "caller": shown_number(cfg, phone) or "unknown",
                "duration_s": None,
                "score": survey.score,
                "transcript": survey.comment_transcript,
                "handled_by": survey.comment_handled_by,
                "callback_possible": False,
            }
        )
    return sorted(out, key=lambda item: item["at"], reverse=True)


def recording_of(session, kind: str, item_id: int) -> str | None:
    if kind == "voicemail":
        call = session.get(Call, item_id)
        return call.voicemail_url if call else None
    if kind == "comment":
        survey = session.get(Survey, item_id)
        return survey.comment_url if survey else None
    return None


@bp.get("")
@login_required
def inbox():
    supervisors_only()
    cfg = hotline_config()
    show_handled = request.args.get("handled") == "1"
    return render_template(
        "inbox.html", items=items(get_session(), cfg, show_handled), show_handled=show_handled
    )


@bp.get("/<kind>/<int:item_id>/audio")
@login_required
def audio(kind: str, item_id: int):
    """The recording, fetched from Twilio with the account's credentials."""
    supervisors_only()
    url = recording_of(get_session(), kind, item_id)
    if url is None:
        abort(404)
    try:
        body, mimetype = fetch_recording(current_app._get_current_object(), url)
    except RecordingUnavailable as exc:
        log.warning("inbox: %s %s: %s", kind, item_id, exc)
        return Response(
            f"The recording cannot be played: {exc}.", status=502, mimetype="text/plain"
        )
    return Response(body, mimetype=mimetype, headers={"Cache-Control": "private, max-age=3600"})


@bp.post("/<kind>/<int:item_id>/handled")
@login_required
def handled(kind: str, item_id: int):
    supervisors_only()
    check_csrf()
    session = get_session()
    now = clock.now()
    if kind == "voicemail":
        row = session.get(Call, item_id)
        if row is None or row.voicemail_url is None:
            abort(404)
        row.voicemail_handled_by, row.voicemail_handled_at = username(), now
    elif kind == "comment":
        row = session.get(Survey, item_id)
        if row is None or row.comment_url is None:
            abort(404)
        row.comment_handled_by, row.comment_handled_at = username(), now
    else:
        abort(404)
    audit.commit_with_audit(session, username(), "inbox.handled", {"kind": kind, "id": item_id})
    return redirect(url_for("inbox.inbox"))


@bp.post("/voicemail/<int:item_id>/callback")
@login_required
def callback(item_id: int):
    """Book a callback to the voicemail's caller, for the next free agent of its queue."""
    supervisors_only()
    check_csrf()
    cfg = hotline_config()
    session = get_session()
    call = session.get(Call, item_id)
    if call is None or call.voicemail_url is None:
        abort(404)
    if not callable_number(cfg, call.from_number or ""):
        return render_template(
            "message.html", message="This caller's number may not be called back."
        ), 400
    now = clock.now()
    queue = call.queue if call.queue in cfg.queue_ids() else "general"
    language = call.language or cfg.line.default_language
    if not book(
        session, call.call_sid, call.from_number, language, queue, now, now, now, dial_by="agent"
    ):
        existing = session.scalar(select(Callback.status).where(Callback.call_sid == call.call_sid))
        message = f"This call already has a callback ({existing}): nothing more was booked."
        return render_template("message.html", message=message), 409
    call.voicemail_handled_by = call.voicemail_handled_by or username()
    call.voicemail_handled_at = call.voicemail_handled_at or now
    audit.commit_with_audit(session, username(), "inbox.callback", {"call": call.call_sid})
    return redirect(url_for("inbox.inbox"))
