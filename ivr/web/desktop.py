"""The agent desktop (``/agent``): a softphone in the browser, the agent's state, the call
offered with what is known of the caller, a disposition and note per call, the agent's figures
for today, their roster for the week, and their requests (time off, shift preferences:
:mod:`ivr.planning.agent_requests`) entered here and decided by a supervisor.

The page logs in with an agent's login (``users.yaml``, ``role: agent``, ``agent: A007``). The
softphone is the Twilio Voice JS SDK (installed from the npm registry by ``make assets``, served
from ``static/vendor``), with an access token from ``/agent/token`` (the twilio library's
``AccessToken`` and ``VoiceGrant``, identity = the agent's id, ``HOTLINE_AGENT_TOKEN_TTL_S``).
Going on line opens a browser session: the dispatcher then rings the softphone
(``/voice/connect``), with the same routing and states as the phone line. An agent logged in
again (on the phone line or another browser) ends the earlier session: the newest login wins,
unless the agent is on a call, when it is refused.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from sqlalchemy import func, select, update
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from ivr import clock
from ivr.config import hotline_config
from ivr.config.schema import Agent, HotlineConfig
from ivr.planning import agent_requests
from ivr.store import audit
from ivr.store.agent_states import current_entry, described, set_state
from ivr.store.db import get_session
from ivr.store.models import (
    AgentAccount,
    AgentSession,
    AgentStateChange,
    Call,
    Callback,
    ComplaintTicket,
    QueueEntry,
    RosterAssignment,
)
from ivr.voice import dispatch
from ivr.voice.connect import agent_channel
from ivr.voice.twilio_rest import masked
from ivr.web.auth import current_user, login_required, username
from ivr.web.calendars import feed_url

bp = Blueprint("desktop", __name__, url_prefix="/agent")

FREE_TO_CHANGE = ("available", "wrap_up", "not_ready")  # an agent may leave these by a button
HISTORY_DAYS = 30
REQUESTS_PAST_DAYS = 14  # requests shown on the desk: those not over, and those over lately
# the softphone talks to Twilio from the page: the SDK's signalling and media hosts
SOFTPHONE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self' https://*.twilio.com wss://*.twilio.com; media-src 'self' "
    "https://*.twilio.com blob:; frame-ancestors 'none'; form-action 'self'"
)


def me() -> Agent:
    """The logged-in agent (403 for any other login)."""
    agent_id = getattr(current_user, "agent_id", None)
    agent = next((a for a in hotline_config().agents if a.id == agent_id), None)
    if agent is None:
        abort(403, "this page is for agents' logins (users.yaml: role agent)")
    return agent


def error(message: str, status: int):
    return jsonify({"error": message}), status


def softphone_ready() -> bool:
    config = current_app.config
    return all(
        config.get(name)
        for name in (
            "TWILIO_ACCOUNT_SID",
            "TWILIO_API_KEY_SID",
            "TWILIO_API_KEY_SECRET",
            "TWILIO_TWIML_APP_SID",
        )
    )


@bp.get("")
@login_required
def desk():
    agent = me()
    cfg = hotline_config()
    response = current_app.make_response(
        render_template(
            "agent.html",
            agent=agent,
            softphone=softphone_ready(),
            request_kinds=agent_requests.KIND_NAMES,
            shift_starts=agent_requests.shift_starts(cfg),
            today=agent_requests.today(cfg, clock.now()),
        )
    )
    response.headers["Content-Security-Policy"] = SOFTPHONE_CSP
    return response


@bp.get("/token")
@login_required
def token():
    """A short-lived access token for the softphone: identity = the agent's id."""
    agent = me()
    if not softphone_ready():
        return error(
            "the softphone is not set up: TWILIO_ACCOUNT_SID, TWILIO_API_KEY_SID, "
            "TWILIO_API_KEY_SECRET and TWILIO_TWIML_APP_SID are needed",
            503,
        )
    config = current_app.config
    ttl = int(config["AGENT_TOKEN_TTL_S"])
    access = AccessToken(
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_API_KEY_SID"],
        config["TWILIO_API_KEY_SECRET"],
        identity=agent.id,
        ttl=ttl,
    )
    access.add_grant(
        VoiceGrant(outgoing_application_sid=config["TWILIO_TWIML_APP_SID"], incoming_allow=True)
    )
    response = jsonify({"token": access.to_jwt(), "identity": agent.id, "ttl_s": ttl})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/session")
@login_required
def start_session():
    """Go on line in the browser: any earlier session of the agent is ended."""
    agent = me()
    session = get_session()
    now = clock.now()
    account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == agent.id))
    if account is None:
        account = AgentAccount(agent_id=agent.id, name=agent.name, state="offline")
        session.add(account)
        session.flush()
    if account.state in ("ringing", "on_call"):
        return error(
            f"{agent.id} is {account.state} on another device: finish that call first", 409
        )
    session.execute(
        update(AgentSession)
        .where(AgentSession.agent_id == agent.id, AgentSession.logged_out_at.is_(None))
        .values(logged_out_at=now)
    )
    session.add(
        AgentSession(
            agent_id=agent.id,
            call_sid=f"browser-{secrets.token_hex(12)}",
            logged_in_at=now,
            channel="browser",
        )
    )
    set_state(session, agent.id, "available", now)
    session.commit()
    dispatch.run_after_response()
    return jsonify(desk_state(session, hotline_config(), agent, now))


@bp.post("/session/end")
@login_required
def end_session():
    agent = me()
    session = get_session()
    now = clock.now()
    state = session.scalar(select(AgentAccount.state).where(AgentAccount.agent_id == agent.id))
    if state in ("ringing", "on_call"):
        return error(f"{agent.id} is {state}: finish the call first", 409)
    session.execute(
        update(AgentSession)
        .where(AgentSession.agent_id == agent.id, AgentSession.logged_out_at.is_(None))
        .values(logged_out_at=now)
    )
    set_state(session, agent.id, "offline", now)
    session.commit()
    return jsonify(desk_state(session, hotline_config(), agent, now))


@bp.post("/state")
@login_required
def change_state():
    """``{"state": "available"}`` or ``{"state": "not_ready", "reason": "lunch"}``; ending
    wrap-up is ``available``."""
    agent = me()
    cfg = hotline_config()
    body = request.get_json(silent=True) or {}
    state, reason = body.get("state"), body.get("reason")
    reasons = cfg.line.agent_line.not_ready_reasons
    if state not in ("available", "not_ready"):
        return error("state must be available or not_ready", 400)
    if state == "not_ready" and reason not in reasons:
        return error(f"reason must be one of {', '.join(reasons)}", 400)
    session = get_session()
    now = clock.now()
    if not set_state(session, agent.id, state, now, reason=reason, only_from=FREE_TO_CHANGE):
        current = session.scalar(
            select(AgentAccount.state).where(AgentAccount.agent_id == agent.id)
        )
        return error(f"you are {current or 'offline'}: your state cannot be set now", 409)
    session.commit()
    if state == "available":
        dispatch.run_after_response()
    return jsonify(desk_state(session, cfg, agent, now))


@bp.get("/desk.json")
@login_required
def desk_json():
    agent = me()
    return jsonify(desk_state(get_session(), hotline_config(), agent, clock.now()))


@bp.post("/disposition")
@login_required
def disposition():
    """``{"call_sid": ..., "code": ..., "note": ...}`` for a call the agent answered."""
    agent = me()
    cfg = hotline_config()
    body = request.get_json(silent=True) or {}
    sid, code = str(body.get("call_sid") or ""), body.get("code")
    note = str(body.get("note") or "")[:2000]
    codes = cfg.line.agent_line.dispositions
    if code not in codes:
        return error(f"code must be one of {', '.join(codes)}", 400)
    session = get_session()
    took = session.scalar(
        select(func.count())
        .select_from(QueueEntry)
        .where(QueueEntry.call_sid == sid, QueueEntry.agent_id == agent.id)
    )
    call = session.scalar(select(Call).where(Call.call_sid == sid))
    if not took or call is None:
        return error("not a call you answered", 404)
    call.disposition, call.agent_note, call.disposition_by = code, note or None, agent.id
    session.commit()
    return jsonify({"call_sid": sid, "disposition": code, "note": note or None})


@bp.post("/requests")
@login_required
def enter_request():
    """``{"kind": ..., "date": ..., "end_date": ..., "shift_start": ..., "note": ...}``: the
    agent's own request, pending until a supervisor decides it."""
    agent = me()
    cfg = hotline_config()
    session = get_session()
    now = clock.now()
    try:
        new = agent_requests.NewRequest.from_form(
            request.get_json(silent=True) or {}, agent_id=agent.id
        )
        row = agent_requests.create(session, cfg, new, username(), now)
    except agent_requests.RequestError as exc:
        session.rollback()
        return jsonify({"error": str(exc), "field": exc.field}), 400
    audit.commit_with_audit(
        session,
        username(),
        "request.create",
        agent_requests.audit_detail(row),
    )
    return jsonify(
        {
            "request": agent_requests.as_json(row, cfg.tz),
            "requests": my_requests(session, cfg, agent.id, now),
        }
    ), 201


@bp.post("/requests/<int:request_id>/withdraw")
@login_required
def withdraw_request(request_id: int):
    agent = me()
    cfg = hotline_config()
    session = get_session()
    now = clock.now()
    try:
        row = agent_requests.withdraw(session, request_id, agent.id, username(), now)
    except LookupError:
        return error("not a request of yours", 404)
    except agent_requests.RequestError as exc:
        session.rollback()
        return error(str(exc), 409)
    audit.commit_with_audit(
        session,
        username(),
        "request.withdraw",
        agent_requests.audit_detail(row),
    )
    return jsonify({"requests": my_requests(session, cfg, agent.id, now)})


# --------------------------------------------------------------------------- what the page shows


def my_requests(session, cfg: HotlineConfig, agent_id: str, now: dt.datetime) -> list[dict]:
    """The agent's requests not yet over, and those over in the last two weeks, by date."""
    since = agent_requests.today(cfg, now) - dt.timedelta(days=REQUESTS_PAST_DAYS)
    return [
        agent_requests.as_json(r, cfg.tz)
        for r in agent_requests.listed(session, agent_id=agent_id, ending_from=since)
    ]


def shown_number(cfg: HotlineConfig, phone: str | None) -> str | None:
    if not phone:
        return None
    return phone if cfg.line.agent_line.show_caller_number == "full" else masked(phone)


def caller_card(session, cfg: HotlineConfig, entry: QueueEntry, now: dt.datetime) -> dict:
    """The screen pop: who is calling, about what, how long they waited, what came before."""
    default = cfg.default_language.code
    language = cfg.language(entry.language)
    ticket = session.scalar(
        select(ComplaintTicket.reference).where(ComplaintTicket.call_sid == entry.call_sid)
    )
    called_back = bool(
        session.scalar(
            select(func.count()).select_from(Callback).where(Callback.call_sid == entry.call_sid)
        )
    ) or entry.original_entered_at < entry.entered_at - dt.timedelta(seconds=1)
    history = []
    if entry.from_number:
        since = now - dt.timedelta(days=HISTORY_DAYS)
        rows = session.execute(
            select(QueueEntry.entered_at, QueueEntry.queue, QueueEntry.result, Call.disposition)
            .outerjoin(Call, Call.call_sid == QueueEntry.call_sid)
            .where(
                QueueEntry.from_number == entry.from_number,
                QueueEntry.call_sid != entry.call_sid,
                QueueEntry.entered_at >= since,
            )
            .order_by(QueueEntry.entered_at.desc())
            .limit(20)
        ).all()
        history = [
            {
                "at": at.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M"),
                "queue": cfg.queue(queue).names[default] if queue in cfg.queue_ids() else queue,
                "result": result,
                "disposition": disposition_,
            }
            for at, queue, result, disposition_ in rows
        ]
    return {
        "call_sid": entry.call_sid,
        "queue": entry.queue,
        "queue_name": cfg.queue(entry.queue).names[default]
        if entry.queue in cfg.queue_ids()
        else entry.queue,
        "language": language.code,
        "language_name": language.name,
        "caller": shown_number(cfg, entry.from_number),
        "waited_s": round(((entry.answered_at or now) - entry.original_entered_at).total_seconds()),
        "complaint_reference": ticket,
        "callback": called_back,
        "history": history,
    }


def today_figures(session, cfg: HotlineConfig, agent_id: str, now: dt.datetime) -> dict:
    """The agent's day so far: calls answered, mean handle time, seconds in each state."""
    local = now.astimezone(cfg.tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    answered = session.execute(
        select(func.count(), func.avg(QueueEntry.handle_s)).where(
            QueueEntry.agent_id == agent_id, QueueEntry.answered_at >= start
        )
    ).one()
    before = session.execute(
        select(AgentStateChange.state)
        .where(AgentStateChange.agent_id == agent_id, AgentStateChange.at < start)
        .order_by(AgentStateChange.at.desc(), AgentStateChange.id.desc())
        .limit(1)
    ).scalar()
    changes = session.execute(
        select(AgentStateChange.state, AgentStateChange.at)
        .where(AgentStateChange.agent_id == agent_id, AgentStateChange.at >= start)
        .order_by(AgentStateChange.at, AgentStateChange.id)
    ).all()
    seconds: dict[str, float] = {}
    state, since = before or "offline", start
    for next_state, at in changes:
        seconds[state] = seconds.get(state, 0.0) + (at - since).total_seconds()
        state, since = next_state, at
    seconds[state] = seconds.get(state, 0.0) + (now - since).total_seconds()
    seconds.pop("offline", None)
    return {
        "answered": int(answered[0] or 0),
        "aht_s": round(float(answered[1]), 1) if answered[1] is not None else None,
        "seconds_by_state": {k: round(v) for k, v in sorted(seconds.items())},
    }


def roster_week(session, cfg: HotlineConfig, agent_id: str, now: dt.datetime) -> list[dict]:
    """The agent's published shifts of this week (Monday to Sunday, line's time zone)."""
    today = now.astimezone(cfg.tz).date()
    monday = today - dt.timedelta(days=today.weekday())
    rows = session.scalars(
        select(RosterAssignment)
        .where(
            RosterAssignment.agent_id == agent_id,
            RosterAssignment.week_start == monday,
            RosterAssignment.status == "published",
        )
        .order_by(RosterAssignment.shift_start)
    ).all()
    return [
        {
            "date": row.date.isoformat(),
            "start": row.shift_start.astimezone(cfg.tz).strftime("%H:%M"),
            "end": row.shift_end.astimezone(cfg.tz).strftime("%H:%M"),
            "break": row.break_start.astimezone(cfg.tz).strftime("%H:%M")
            if row.break_start
            else None,
        }
        for row in rows
    ]


def desk_state(session, cfg: HotlineConfig, agent: Agent, now: dt.datetime) -> dict[str, Any]:
    account = session.scalar(select(AgentAccount).where(AgentAccount.agent_id == agent.id))
    shown = described(account, cfg.tz)
    state = shown["state"]
    entry = current_entry(session, account)
    channel = agent_channel(session, agent.id)
    wrap_up_s = cfg.queue(entry.queue).wrap_up_s if entry and entry.queue in cfg.queue_ids() else 0
    wrap_up_left = None
    if state == "wrap_up" and account.state_since is not None:
        wrap_up_left = max(wrap_up_s - (now - account.state_since).total_seconds(), 0.0)
    return {
        "agent": {
            "id": agent.id,
            "name": agent.name,
            "languages": agent.languages,
            "skills": agent.skills,
        },
        **shown,
        "channel": channel,
        "call": caller_card(session, cfg, entry, now) if entry is not None else None,
        "wrap_up_s": wrap_up_s,
        "wrap_up_left_s": None if wrap_up_left is None else round(wrap_up_left),
        "reasons": cfg.line.agent_line.not_ready_reasons,
        "dispositions": cfg.line.agent_line.dispositions,
        "today": today_figures(session, cfg, agent.id, now),
        "roster": roster_week(session, cfg, agent.id, now),
        "calendar_url": feed_url(session, agent.id),
        "requests": my_requests(session, cfg, agent.id, now),
    }
