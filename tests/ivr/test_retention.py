"""The retention job: recordings deleted at Twilio (links kept until Twilio confirms), caller
numbers removed with every count unchanged, old call events deleted; the job run says which."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from sqlalchemy import select
from twilio.http import HttpClient
from twilio.http.response import Response

from ivr.config import hotline_config
from ivr.config.loader import ConfigError, load_config
from ivr.demo.twilio_sim import RestStandIn
from ivr.jobs import scheduler
from ivr.stats import Window, queues_report
from ivr.store.db import session_scope
from ivr.store.models import (
    Call,
    Callback,
    Caller,
    CallEvent,
    ComplaintTicket,
    QueueEntry,
    Survey,
)

from .conftest import OPEN_TIME, TOKEN

SID = "AC" + "5" * 32
RECORDINGS = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Recordings/"
OLD = OPEN_TIME - dt.timedelta(days=100)  # past the shipped 90 days of recordings and numbers
RECENT = OPEN_TIME - dt.timedelta(days=10)


@pytest.fixture
def twilio():
    stand_in = RestStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def app(make_app, clock, any_db_url, twilio):
    return make_app(
        CLOCK=clock,
        DATABASE_URL=any_db_url,
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_REST_BASE_URL=twilio.base_url,
    )


def run(app, day: int = 0) -> str:
    """The job as the scheduler runs it; what its run stored."""
    job = scheduler.run_job(app, "retention", OPEN_TIME + dt.timedelta(days=day))
    assert job.outcome == "ok", job.detail
    return job.detail


def voicemail(session, call_sid: str, at: dt.datetime, url: str | None) -> None:
    session.add(Call(call_sid=call_sid, started_at=at, voicemail_url=url, voicemail_duration_s=12))


def links(app) -> dict[str, str | None]:
    with session_scope(app) as session:
        calls = dict(session.execute(select(Call.call_sid, Call.voicemail_url)).all())
        surveys = dict(session.execute(select(Survey.call_sid, Survey.comment_url)).all())
    return {**calls, **{f"survey {sid}": url for sid, url in surveys.items()}}


def test_old_recordings_are_deleted_at_twilio_then_forgotten(app, twilio):
    twilio.recordings |= {"REold", "REcomment", "RErecent"}
    with session_scope(app) as session:
        voicemail(session, "CAold", OLD, RECORDINGS + "REold")
        voicemail(session, "CAgone", OLD - dt.timedelta(days=1), RECORDINGS + "REgone")
        voicemail(session, "CArecent", RECENT, RECORDINGS + "RErecent")
        voicemail(session, "CAsurvey", OLD, None)
        session.add(
            Survey(
                call_sid="CAsurvey", score=2, comment_url=RECORDINGS + "REcomment", created_at=OLD
            )
        )

    detail = run(app)

    assert detail.startswith("deleted 3 recordings at Twilio (1 already gone);")
    assert twilio.deleted == ["REold", "REcomment"]  # REgone: Twilio answered 404
    assert twilio.recordings == {"RErecent"}
    assert links(app) == {
        "CAold": None,
        "CAgone": None,
        "CArecent": RECORDINGS + "RErecent",
        "CAsurvey": None,
        "survey CAsurvey": None,
    }
    with session_scope(app) as session:
        assert session.scalar(select(Survey.score)) == 2  # the score stays
        assert (
            session.scalar(select(Call.voicemail_duration_s).where(Call.call_sid == "CAold")) == 12
        )
    assert run(app, day=1).startswith("no recording to delete;")  # nothing twice


class TwilioAnswers(HttpClient):
    """Twilio's REST API answering each recording's deletion as told (204 unless listed): a
    status, or an exception raised as if Twilio could not be reached."""

    def __init__(self, answers: dict[str, int | Exception]):
        super().__init__(logging.getLogger("fake-twilio"), is_async=False)
        self.answers = answers
        self.requests: list[tuple[str, str]] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **_kwargs):
        self.requests.append((method, uri))
        sid = uri.rsplit("/", 1)[1].removesuffix(".json")
        answer = self.answers.get(sid, 204)
        if isinstance(answer, Exception):
            raise answer
        if answer == 204:
            return Response(204, "")
        return Response(answer, json.dumps({"code": 20000 + answer, "message": "refused"}))


@pytest.fixture
def answering(make_app, clock):
    def build(answers: dict[str, int | Exception]):
        http = TwilioAnswers(answers)
        app = make_app(CLOCK=clock, TWILIO_ACCOUNT_SID=SID, TWILIO_HTTP_CLIENT=http)
        with session_scope(app) as session:
            voicemail(session, "CA1", OLD - dt.timedelta(days=1), RECORDINGS + "RE1")
            voicemail(session, "CA2", OLD, RECORDINGS + "RE2.mp3")
        return app, http

    return build


def test_a_refused_deletion_keeps_the_link_for_the_next_run_and_is_logged(answering, caplog):
    app, http = answering({"RE1": 500})
    with caplog.at_level(logging.WARNING, logger="ivr.jobs.retention"):
        detail = run(app)
    assert detail.startswith("deleted 1 recording at Twilio, 1 failed and kept for the next run;")
    assert http.requests == [
        ("DELETE", RECORDINGS + "RE1.json"),
        ("DELETE", RECORDINGS + "RE2.json"),
    ]
    assert links(app) == {"CA1": RECORDINGS + "RE1", "CA2": None}
    assert "voicemail RE1 of call CA1: Twilio answered 500" in caplog.text
    assert TOKEN not in caplog.text

    http.answers = {}  # Twilio is well again: the next run deletes it
    assert run(app, day=1).startswith("deleted 1 recording at Twilio;")
    assert links(app) == {"CA1": None, "CA2": None}


def test_when_twilio_cannot_be_reached_every_link_is_kept_and_the_run_stops_asking(
    answering, caplog
):
    app, http = answering({"RE1": ConnectionError("connection refused")})
    with caplog.at_level(logging.WARNING, logger="ivr.jobs.retention"):
        detail = run(app)
    assert detail.startswith(
        "deleted 0 recordings at Twilio, 2 failed and kept for the next run"
        " (Twilio could not be reached);"
    )
    assert len(http.requests) == 1  # the second would wait for the same timeout
    assert links(app) == {"CA1": RECORDINGS + "RE1", "CA2": RECORDINGS + "RE2.mp3"}
    assert "could not be reached" in caplog.text and TOKEN not in caplog.text


def test_a_link_that_is_not_a_twilio_recording_is_kept_and_counted_as_failed(answering):
    app, http = answering({})
    with session_scope(app) as session:
        voicemail(session, "CA3", OLD, "https://media.example.com/RE3.mp3")
    assert run(app).startswith("deleted 2 recordings at Twilio, 1 failed and kept")
    assert links(app)["CA3"] == "https://media.example.com/RE3.mp3"
    assert len(http.requests) == 2


def test_without_credentials_no_recording_is_deleted_nor_forgotten(make_app, clock):
    app = make_app(CLOCK=clock)  # no TWILIO_ACCOUNT_SID
    with session_scope(app) as session:
        voicemail(session, "CA1", OLD, RECORDINGS + "RE1")
    assert run(app).startswith("no Twilio credentials: 1 recording kept, none deleted;")
    assert links(app) == {"CA1": RECORDINGS + "RE1"}


def store_a_caller_history(session) -> None:
    """Two old calls (an inbound one, and the callback leg dialled to its caller) and a recent one,
    with their queue entries, callbacks, ticket, remembered callers and events."""
    line, old_caller, recent_caller = "+18005550100", "+393471111111", "+393473333333"
    session.add_all(
        [
            Call(call_sid="CAold", direction="inbound", from_number=old_caller,
                 to_number=line, queue="orders", started_at=OLD),
            Call(call_sid="CAleg", direction="outbound-api", from_number=line,
                 to_number=old_caller, started_at=OLD + dt.timedelta(hours=1)),
            Call(call_sid="CAnew", direction="inbound", from_number=recent_caller,
                 to_number=line, queue="orders", started_at=RECENT),
            QueueEntry(call_sid="CAold", queue="orders", language="en", from_number=old_caller,
                       entered_at=OLD, original_entered_at=OLD, ended_at=OLD, result="bridged",
                       wait_s=12, answered_at=OLD, handle_s=200, agent_id="A001"),
            QueueEntry(call_sid="CAnew", queue="orders", language="en", from_number=recent_caller,
                       entered_at=RECENT, original_entered_at=RECENT, ended_at=RECENT,
                       result="hangup", wait_s=40),
            Callback(call_sid="CAold", phone=old_caller, language="en", queue="orders",
                     original_entered_at=OLD, requested_at=OLD, due_at=OLD, status="completed"),
            Callback(call_sid="CAwaiting", phone="+393472222222", language="en", queue="orders",
                     original_entered_at=OLD, requested_at=OLD, due_at=OLD, status="pending"),
            Callback(call_sid="CAnew", phone=recent_caller, language="en", queue="orders",
                     original_entered_at=RECENT, requested_at=RECENT, due_at=RECENT,
                     status="failed"),
            ComplaintTicket(reference="10000001", call_sid="CAold", from_number=old_caller,
                            language="en", created_at=OLD),
            ComplaintTicket(reference="10000002", call_sid="CAnew", from_number=recent_caller,
                            language="en", created_at=RECENT),
            Caller(phone=old_caller, language="it", first_seen_at=OLD, last_seen_at=OLD),
            Caller(phone=recent_caller, language="en", first_seen_at=OLD, last_seen_at=RECENT),
            CallEvent(call_sid="CAold", event="call_started", dedupe_key="call_started", at=OLD,
                      detail={"from": old_caller, "to": line}),
            CallEvent(call_sid="CAold", event="menu_choice", dedupe_key="menu_choice:1", at=OLD,
                      detail={"queue": "orders", "how": "dtmf"}),
            CallEvent(call_sid="CAnew", event="call_started", dedupe_key="call_started",
                      at=RECENT, detail={"from": recent_caller, "to": line}),
            CallEvent(call_sid="CAancient", event="call_started", dedupe_key="call_started",
                      at=OPEN_TIME - dt.timedelta(days=500), detail={"from": old_caller}),
        ]
    )  # fmt: skip


def pairs(session, key, value) -> dict:
    return dict(session.execute(select(key, value)).all())


def test_old_caller_numbers_are_removed_and_every_count_stays(app):
    with session_scope(app) as session:
        store_a_caller_history(session)
    cfg = hotline_config(app)
    window = Window(OLD - dt.timedelta(days=1), OPEN_TIME)
    with session_scope(app) as session:
        before = queues_report(session, cfg, window, OPEN_TIME)
    orders = next(q for q in before["queues"] if q["queue"] == "orders")
    assert (orders["offered"], orders["answered"], orders["callbacks_requested"]) == (2, 1, 3)

    detail = run(app)

    assert detail == (
        "no recording to delete; caller numbers removed from 2 calls, 1 queue entry,"
        " 1 callback, 1 ticket, 1 call event; 1 remembered caller forgotten;"
        " deleted 1 call event"
    )
    with session_scope(app) as session:
        assert queues_report(session, cfg, window, OPEN_TIME) == before
        assert pairs(session, Call.call_sid, Call.from_number) == {
            "CAold": None, "CAleg": None, "CAnew": "+393473333333"
        }  # fmt: skip
        assert pairs(session, Call.call_sid, Call.to_number) == {
            "CAold": "+18005550100",  # the line's own number stays
            "CAleg": None,  # an outbound call's called number is the customer's
            "CAnew": "+18005550100",
        }
        assert pairs(session, QueueEntry.call_sid, QueueEntry.from_number) == {
            "CAold": None, "CAnew": "+393473333333"
        }  # fmt: skip
        assert pairs(session, Callback.call_sid, Callback.phone) == {
            "CAold": None,
            "CAwaiting": "+393472222222",  # still to be called: it keeps its number
            "CAnew": "+393473333333",
        }
        assert pairs(session, ComplaintTicket.reference, ComplaintTicket.from_number) == {
            "10000001": None, "10000002": "+393473333333"
        }  # fmt: skip
        assert session.scalars(select(Caller.phone)).all() == ["+393473333333"]
        events = {
            (sid, event): detail
            for sid, event, detail in session.execute(
                select(CallEvent.call_sid, CallEvent.event, CallEvent.detail)
            )
        }
        assert events == {
            ("CAold", "call_started"): {"from": None, "to": None},
            ("CAold", "menu_choice"): {"queue": "orders", "how": "dtmf"},
            ("CAnew", "call_started"): {"from": "+393473333333", "to": "+18005550100"},
        }  # the 500-day-old event is deleted
    assert run(app, day=1) == (
        "no recording to delete; no caller number to remove; deleted 0 call events"
    )


def test_keep_numbers_days_defaults_to_90_and_must_be_a_positive_whole_number(config_dir):
    line = config_dir / "line.yaml"
    text = line.read_text(encoding="utf-8")
    line.write_text(text.replace("  keep_numbers_days: 90", "  keep_numbers_days: 0"), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    (issue,) = [str(issue) for issue in info.value.issues]
    assert "scheduler.keep_numbers_days" in issue and "greater than or equal to 1" in issue

    kept = [row for row in text.splitlines(keepends=True) if "keep_numbers_days" not in row]
    line.write_text("".join(kept), encoding="utf-8")
    assert load_config(config_dir).line.scheduler.keep_numbers_days == 90
