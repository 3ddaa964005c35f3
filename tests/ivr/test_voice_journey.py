"""Every path of the caller's journey, walked by a helper that acts exactly like Twilio."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from ivr.config.loader import load_config
from ivr.demo.twilio_sim import Press, QueueOutcome, Recording, Silence, Speak
from ivr.store.db import session_scope
from ivr.store.models import Call, Callback, Caller, CallEvent, ComplaintTicket, QueueEntry

from .conftest import PUBLIC

CFG = load_config()
LANGS = {lang.code: lang for lang in CFG.languages}
QUEUES = {q.id: q for q in CFG.queues}


def names(events):
    return [name for name, _ in events]


# --------------------------------------------------------------------------- the greeting


def test_greeting_offers_every_language_in_its_own_voice(new_call):
    call = new_call()
    root = call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    assert [v.tag for v in root] == ["Gather", "Redirect"]
    gather, redirect = root
    assert gather.get("action") == "/voice/language?attempt=1&step=1"
    assert gather.get("numDigits") == "1"
    assert gather.get("input") == "dtmf"
    assert redirect.text == "/voice/language?attempt=1&step=1"
    says = [(s.text, s.get("voice"), s.get("language")) for s in gather]
    assert says == [
        ("Welcome to Hotline customer service.", "Polly.Amy", "en-GB"),
        ("For English, press 1.", "Polly.Amy", "en-GB"),
        ("Per l'italiano, premere 2.", "Polly.Bianca", "it-IT"),
        ("Aby wybrać język polski, naciśnij 3.", "Polly.Ewa", "pl-PL"),
        ("Pentru limba română, apăsați tasta 4.", "Polly.Carmen", "ro-RO"),
        ("For norsk, trykk 5.", "Polly.Liv", "nb-NO"),
    ]


def test_main_menu_twiml_is_exact(new_call):
    call = new_call()
    root = call.post(f"{PUBLIC}/voice/language?attempt=1&step=1", {"Digits": "2"})
    gather, redirect = root
    assert gather.tag == "Gather" and redirect.tag == "Redirect"
    assert gather.get("action") == "/voice/menu?lang=it&attempt=1&step=2"
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == "it-IT"
    assert "reclamo" in gather.get("hints")
    assert [s.text for s in gather] == [
        "Per ordini, premere 1.",
        "Per reclami, premere 2.",
        "Per assistenza tecnica, premere 3.",
        "Per domande generali e suggerimenti, premere 4.",
        "Per parlare con un operatore, premere 0.",
        "Per riascoltare le opzioni, premere *.",
        "Può anche dire il motivo della sua chiamata.",
    ]
    assert {s.get("voice") for s in gather} == {"Polly.Bianca"}


# --------------------------------------------------------------------------- every language x option


@pytest.mark.parametrize("lang_code", list(LANGS))
@pytest.mark.parametrize("queue_id", list(QUEUES))
def test_each_language_and_option_by_key(new_call, events, app, lang_code, queue_id):
    lang, queue = LANGS[lang_code], QUEUES[queue_id]
    call = new_call(
        from_number=f"+3933{list(LANGS).index(lang_code)}{list(QUEUES).index(queue_id)}000000"
    )
    call.ring([Press(lang.key), Press(queue.key)])
    assert call.enqueued == [queue_id]
    assert call.heard(lang.prompts.connecting.format(queue=queue.names[lang_code]))
    after_choice = call.said[6:]  # everything after the language menu is in the caller's voice
    assert after_choice and {s.voice for s in after_choice if s.verb == "Say"} == {lang.voice}
    stored = events(call.call_sid)
    assert names(stored)[:2] == ["call_started", "language_chosen"]
    choice = dict(stored)["menu_choice"]
    assert choice["queue"] == queue_id and choice["how"] == "dtmf"
    assert dict(stored)["enqueued"] == {"queue": queue_id}
    assert names(stored)[-2:] == ["queue_result", "call_completed"]
    with session_scope(app) as session:
        entry = session.scalars(
            select(QueueEntry).where(QueueEntry.call_sid == call.call_sid)
        ).one()
        assert (entry.queue, entry.language, entry.result) == (queue_id, lang_code, "bridged")
        call_row = session.scalars(select(Call).where(Call.call_sid == call.call_sid)).one()
        assert (call_row.language, call_row.queue, call_row.status, call_row.duration_s) == (
            lang_code,
            queue_id,
            "completed",
            95,
        )


SPOKEN = {
    "en": {
        "orders": "I want to know where my order is",
        "complaints": "I have a complaint",
        "technical": "the app is not working",
        "general": "I have a question",
    },
    "it": {
        "orders": "il mio pacco non è ancora arrivato",
        "complaints": "vorrei fare un reclamo",
        "technical": "ho un guasto, non funziona",
        "general": "ho una domanda",
    },
    "pl": {
        "orders": "chodzi o moje zamówienie",
        "complaints": "chcę złożyć reklamację",
        "technical": "mam awarię, nie działa",
        "general": "mam pytanie",
    },
    "ro": {
        "orders": "despre o comandă",
        "complaints": "vreau să fac o reclamatie",
        "technical": "am nevoie de asistență tehnică",
        "general": "am o întrebare",
    },
    "nb": {
        "orders": "det gjelder en bestilling",
        "complaints": "jeg vil klage",
        "technical": "innlogging virker ikke",
        "general": "jeg har et spørsmål",
    },
}


@pytest.mark.parametrize("lang_code", list(LANGS))
@pytest.mark.parametrize("queue_id", list(QUEUES))
def test_each_language_and_option_by_speech(new_call, events, lang_code, queue_id):
    call = new_call(
        from_number=f"+4799{list(LANGS).index(lang_code)}{list(QUEUES).index(queue_id)}0000"
    )
    call.ring([Press(LANGS[lang_code].key), Speak(SPOKEN[lang_code][queue_id])])
    assert call.enqueued == [queue_id]
    choice = dict(events(call.call_sid))["menu_choice"]
    assert choice == {
        "queue": queue_id,
        "how": "speech",
        "option": queue_id,
        "speech": SPOKEN[lang_code][queue_id],
    }


def test_asking_for_a_person_by_speech_goes_to_general(new_call):
    call = new_call()
    call.ring([Press("1"), Speak("can I talk to a human please")])
    assert call.enqueued == ["general"]


def test_low_confidence_or_ambiguous_speech_asks_again(new_call, events):
    call = new_call()
    call.ring([Press("1"), Speak("my order", confidence=0.1), Speak("order complaint"), Press("3")])
    assert call.enqueued == ["technical"]
    failures = [d for n, d in events(call.call_sid) if n == "invalid_input"]
    assert [f["reason"] for f in failures] == ["invalid_input", "invalid_input"]
    assert call.texts().count("Sorry, that is not a valid choice.") == 2


def test_operator_key_and_repeat(new_call, events):
    call = new_call()
    call.ring([Press("1"), Press("*"), Press("0")])
    assert call.enqueued == ["general"]
    assert call.texts().count("For orders, press 1.") == 2
    stored = events(call.call_sid)
    assert "invalid_input" not in names(stored)
    assert dict(stored)["menu_choice"]["option"] == "operator"


# --------------------------------------------------------------------------- bad or no input


def test_timeouts_reprompt_then_go_to_general(new_call, events):
    call = new_call()
    call.ring([Press("1"), Silence(), Silence(), Silence()])
    assert call.enqueued == ["general"]
    assert call.texts().count("Sorry, we did not receive your choice.") == 2
    assert call.heard("Let me put you through to an operator.")
    assert not call.hung_up or call.queue_results == ["bridged"]
    stored = events(call.call_sid)
    assert [d["reason"] for n, d in stored if n == "invalid_input"] == ["no_input"] * 3
    assert dict(stored)["fallback_to_operator"] == {"reason": "menu"}


def test_invalid_keys_up_to_the_fallback(new_call, events):
    call = new_call()
    call.ring([Press("1"), Press("7"), Press("8"), Press("#")])
    assert call.enqueued == ["general"]
    assert call.texts().count("Sorry, that is not a valid choice.") == 2
    assert [d["digits"] for n, d in events(call.call_sid) if n == "invalid_input"] == [
        "7",
        "8",
        "#",
    ]


def test_no_language_chosen_goes_to_general_in_default_language(new_call, events):
    call = new_call()
    call.ring([Silence(), Press("7"), Silence()])
    assert call.enqueued == ["general"]
    assert names(events(call.call_sid)).count("invalid_input") == 3
    assert dict(events(call.call_sid))["fallback_to_operator"] == {"reason": "language"}


def test_invalid_then_valid_input_recovers(new_call):
    call = new_call()
    call.ring([Press("6"), Press("4"), Press("8"), Press("1")])
    assert call.enqueued == ["orders"]
    assert call.heard("Pentru comenzi, apăsați tasta 1.")
    assert call.heard("Ne pare rău, opțiunea nu este validă.")


# --------------------------------------------------------------------------- language memory


def test_returning_caller_gets_their_language_with_a_key_to_change(new_call, app, events):
    first = new_call(from_number="+48601000111")
    first.ring([Press("3"), Press("1")])
    second = new_call(from_number="+48601000111")
    second.ring([Press("1")])
    assert second.texts()[0] == "Witamy ponownie w Hotline. Aby wybrać inny język, naciśnij 9."
    assert second.enqueued == ["orders"]
    assert dict(events(second.call_sid))["language_chosen"] == {
        "language": "pl",
        "how": "remembered",
    }
    third = new_call(from_number="+48601000111")
    third.ring([Press("9"), Press("5"), Press("2")])
    assert third.enqueued == ["complaints"]
    assert third.heard("For norsk, trykk 5.")
    with session_scope(app) as session:
        assert session.get(Caller, "+48601000111").language == "nb"


def test_anonymous_callers_are_not_remembered(new_call, app):
    new_call(from_number="anonymous").ring([Press("2"), Press("1")])
    again = new_call(from_number="anonymous")
    again.ring([Press("1"), Press("1")])
    assert again.texts()[0] == "Welcome to Hotline customer service."
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Caller)) == 0


# --------------------------------------------------------------------------- complaints


def test_complaint_reference_is_spoken_digit_by_digit_and_stored(new_call, app):
    call = new_call()
    call.ring([Press("1"), Press("2")])
    spoken = next(t for t in call.texts() if t.startswith("Your complaint reference number is"))
    match = re.fullmatch(
        r"Your complaint reference number is ((?:\d, ){7}\d)\. I repeat: \1\.", spoken
    )
    assert match, spoken
    with session_scope(app) as session:
        ticket = session.scalars(select(ComplaintTicket)).one()
    assert ticket.reference == match.group(1).replace(", ", "")
    assert (ticket.call_sid, ticket.language, ticket.status) == (call.call_sid, "en", "open")
    assert call.enqueued == ["complaints"]


def test_retried_menu_webhook_gives_the_same_ticket_and_no_duplicate_events(new_call, app):
    call = new_call()
    call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})  # Twilio retried
    call.post(f"{PUBLIC}/voice/language?attempt=1&step=1", {"Digits": "1"})
    url = f"{PUBLIC}/voice/menu?lang=en&attempt=1&step=2"
    first = ET.tostring(call.post(url, {"Digits": "2"}))
    again = ET.tostring(call.post(url, {"Digits": "2"}))
    assert first == again
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(ComplaintTicket)) == 1
        assert session.scalar(select(func.count()).select_from(QueueEntry)) == 1
        counts = dict(
            session.execute(select(CallEvent.event, func.count()).group_by(CallEvent.event)).all()
        )
    assert counts == {
        "call_started": 1,
        "language_chosen": 1,
        "menu_choice": 1,
        "ticket_opened": 1,
        "enqueued": 1,
    }


# --------------------------------------------------------------------------- queue results and status


def test_enqueue_points_twilio_at_our_wait_and_action_urls(new_call):
    call = new_call()
    call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    root = call.post(f"{PUBLIC}/voice/menu?lang=en&attempt=1&step=2", {"Digits": "3"})
    enqueue = root.find("Enqueue")
    assert enqueue.text == "technical"
    assert enqueue.get("waitUrl") == "/voice/wait?lang=en&queue=technical&step=2"
    assert enqueue.get("action") == "/voice/queue-result?lang=en&queue=technical&step=2"
    assert enqueue.get("method") == "POST" and enqueue.get("waitUrlMethod") == "POST"


def test_abandoned_and_full_queue_results(new_call, app, events):
    gone = new_call(queue_outcome=QueueOutcome(result="hangup", queue_time_s=48))
    gone.ring([Press("1"), Press("1")])
    full = new_call(from_number="+393330000999", queue_outcome=QueueOutcome(result="queue-full"))
    full.ring([Press("1"), Press("3")])
    assert full.enqueued == ["technical", "general"]
    with session_scope(app) as session:
        entry = session.scalars(
            select(QueueEntry).where(QueueEntry.call_sid == gone.call_sid)
        ).one()
        assert (entry.result, entry.wait_s) == ("hangup", 48.0)
        results = session.scalars(
            select(QueueEntry.result)
            .where(QueueEntry.call_sid == full.call_sid)
            .order_by(QueueEntry.id)
        ).all()
    assert results == [
        "queue-full",
        "queue-full",
    ]  # general was full too: the caller was offered voicemail
    assert full.heard("Please leave your message after the tone, then press the hash key.")


def test_duplicate_status_callbacks_change_nothing(new_call, app, events):
    call = new_call()
    call.ring([Press("1"), Press("1")])
    call.status_callback("completed")
    call.post(f"{PUBLIC}/voice/status", {"CallStatus": "completed", "CallDuration": "999"})
    assert names(events(call.call_sid)).count("call_completed") == 1
    with session_scope(app) as session:
        row = session.scalars(select(Call).where(Call.call_sid == call.call_sid)).one()
    assert row.duration_s == 95


# --------------------------------------------------------------------------- closed hours and holidays


def test_closed_outside_hours_with_next_opening_and_voicemail(new_call, clock, app, events):
    clock.at = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)  # Sunday afternoon
    call = new_call()
    call.ring([Press("1"), Press("1"), Recording(duration_s=21)])
    assert call.heard("Our lines are closed right now. We open again tomorrow at 8:00 AM.")
    assert call.heard("Thank you, we have your message. Goodbye.")
    assert call.enqueued == []
    stored = dict(events(call.call_sid))
    assert stored["closed"] == {
        "reason": "outside_hours",
        "next_opening": "2026-11-30T08:00:00+01:00",
    }
    assert stored["voicemail"]["duration_s"] == 21
    with session_scope(app) as session:
        row = session.scalars(select(Call).where(Call.call_sid == call.call_sid)).one()
    assert row.voicemail_url.endswith("RE0001") and row.voicemail_duration_s == 21


def test_holiday_closes_the_line_and_a_callback_is_booked_for_opening(new_call, clock, app, events):
    clock.at = dt.datetime(2026, 12, 25, 10, 0, tzinfo=dt.UTC)  # Christmas; 26th is Santo Stefano
    call = new_call(from_number="+393471112223")
    call.ring([Press("2"), Press("2")])
    assert call.heard("In questo momento il servizio è chiuso. Riapriamo lunedì alle 08:00.")
    assert call.heard("Grazie. La richiameremo lunedì alle 08:00. Arrivederci.")
    assert call.hung_up
    closed = dict(events(call.call_sid))["closed"]
    assert closed["reason"] == "Christmas Day"
    with session_scope(app) as session:
        callback = session.scalars(select(Callback)).one()
    assert callback.due_at == dt.datetime(2026, 12, 28, 7, 0, tzinfo=dt.UTC)
    assert (callback.phone, callback.language, callback.queue, callback.status) == (
        "+393471112223",
        "it",
        "general",
        "pending",
    )


def test_company_closure_day(new_call, clock, events):
    clock.at = dt.datetime(2026, 12, 24, 9, 0, tzinfo=dt.UTC)
    call = new_call()
    call.ring([Press("1"), Press("1"), Recording()])
    assert dict(events(call.call_sid))["closed"]["reason"] == "closure"
    assert call.recorded


def test_closed_line_never_hangs_up_on_a_silent_caller(new_call, clock, events):
    clock.at = dt.datetime(2026, 11, 28, 20, 0, tzinfo=dt.UTC)  # Saturday evening
    call = new_call()
    call.ring([Press("1"), Silence(), Press("5"), Silence(), Recording()])
    assert call.heard("We open again on Monday at 8:00 AM.")
    assert call.recorded
    assert names(events(call.call_sid)).count("invalid_input") == 3


# --------------------------------------------------------------------------- a caller never hears an error


def test_a_failing_webhook_still_routes_the_caller_and_records_where(
    app, new_call, monkeypatch, events
):
    """The caller hears the apology and goes to ``general``; their entry there is written at
    once, so agents are offered them and the statistics count them."""
    import ivr.store.calllog
    from ivr.store.db import session_scope
    from ivr.store.models import QueueEntry
    from ivr.voice import spool

    def broken(*_args, **_kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(ivr.store.calllog, "remembered_language", broken)
    call = new_call()
    call.ring([])
    assert (
        call.texts()[0]
        == "We are sorry, something went wrong. Please hold while we connect you to an operator."
    )
    assert call.enqueued == ["general"]
    assert events(call.call_sid) == [
        ("call_started", {"from": "+393331234567", "to": "+18005550100"}),
        ("fallback_to_queue", {"queue": "general"}),
        ("enqueued", {"queue": "general"}),
        ("queue_result", {"queue": "general", "result": "bridged", "wait_s": 35.0}),
        ("call_completed", {"status": "completed", "duration_s": 95}),
    ]
    with session_scope(app) as session:
        entry = session.scalars(
            select(QueueEntry).where(QueueEntry.call_sid == call.call_sid)
        ).one()
    assert (entry.queue, entry.result) == ("general", "bridged")
    assert spool.pending(app) == 0


def test_database_down_still_greets_and_routes_as_chosen(make_app, clock):
    from ivr.demo.twilio_sim import FlaskTransport, SimulatedCall

    app = make_app(
        CLOCK=clock, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:9/none", AUTO_MIGRATE=False
    )
    call = SimulatedCall(FlaskTransport(app.test_client(), PUBLIC), PUBLIC, "test-auth-token")
    root = call.post(f"{PUBLIC}/voice/incoming", {"CallStatus": "ringing"})
    assert [v.tag for v in root] == ["Say", "Enqueue"]
    assert root.find("Enqueue").text == "general"
    menu = call.post(f"{PUBLIC}/voice/menu?lang=ro&attempt=1&step=2", {"Digits": "1"})
    assert menu.find("Say").get("voice") == "Polly.Carmen"
    assert menu.find("Enqueue").text == "orders"  # the caller's choice, from the config
    unknown = call.post(f"{PUBLIC}/voice/menu?lang=ro&attempt=1&step=3", {"Digits": "8"})
    assert unknown.find("Enqueue").text == "general"  # no choice to honour: the apology


def test_signed_request_without_callsid_is_a_400(new_call):
    from ivr.demo.twilio_sim import twilio_signature

    call = new_call()
    client = call.transport.client
    url = f"{PUBLIC}/voice/incoming"
    params = {"From": "+1"}
    response = client.post(
        "/voice/incoming",
        data=params,
        headers={"X-Twilio-Signature": twilio_signature("test-auth-token", url, params)},
    )
    assert response.status_code == 400
