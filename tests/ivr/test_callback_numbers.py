"""Callbacks go only to numbers the line may call: E.164, the home country, no premium rates.
Callers asking for one from any other number hear why; stored callbacks to such numbers (booked
before the rule) are failed, never dialled."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy import select

from ivr.config.loader import ConfigError, load_config
from ivr.demo.twilio_sim import HoldPress, Press, QueueOutcome, Recording
from ivr.store.db import session_scope
from ivr.store.models import Callback
from ivr.voice.callbacks import dial_due_callbacks

from .conftest import OPEN_TIME, PUBLIC, RecordingHttpClient, due_callback, follow_redirects
from .test_queue_agents import agent_call, log_in, with_pin

SUNDAY = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)  # the line is closed
MONDAY_OPENING = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)
REFUSED = (
    "Sorry, we cannot call back the number you are calling from, so we cannot book a callback."
)
CLOSED_OPTIONS = "To leave a message, press 1. To be called back when we open, press 2."
OFFER = "To leave the queue and be called back without losing your place, press 1."


@pytest.fixture
def fake_twilio():
    return RecordingHttpClient()


@pytest.fixture
def app(make_app, clock, fake_twilio):
    return make_app(CLOCK=clock, TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_HTTP_CLIENT=fake_twilio)


def callbacks_of(app) -> list[Callback]:
    with session_scope(app) as session:
        return session.scalars(select(Callback).order_by(Callback.id)).all()


# --------------------------------------------------------------------------- closed hours


@pytest.mark.parametrize(
    "number",
    [
        "+3934711122233344455",  # 19 digits
        "+39899123456",  # premium rate
        "+48601000111",  # Poland: only Italian numbers are called back
        "anonymous",
    ],
)
def test_closed_hours_refuse_a_callback_to_a_number_the_line_may_not_call(
    app, new_call, clock, events, fake_twilio, number
):
    clock.at = SUNDAY
    call = new_call(from_number=number)
    call.ring([Press("1"), Press("2"), Recording()])
    texts = call.texts()
    assert "To leave a message, press 1." in texts  # the callback is not offered
    assert CLOSED_OPTIONS not in texts
    assert texts[texts.index(REFUSED) + 1].startswith("Please leave your message after the tone")
    assert call.recorded  # they may leave a message instead
    assert callbacks_of(app) == []
    assert [d for n, d in events(call.call_sid) if n == "callback_refused"] == [
        {"reason": "closed"}
    ]
    assert dial_due_callbacks(app, now=MONDAY_OPENING) == [] and fake_twilio.requests == []


def test_an_italian_mobile_is_offered_booked_and_dialled(app, new_call, clock, fake_twilio):
    clock.at = SUNDAY
    call = new_call(from_number="+393471234567")
    call.ring([Press("1"), Press("2")])
    assert CLOSED_OPTIONS in call.texts() and REFUSED not in call.texts()
    assert call.heard("We will call you back tomorrow at 8:00 AM.")
    (callback,) = callbacks_of(app)
    assert (callback.phone, callback.status, callback.due_at) == (
        "+393471234567",
        "pending",
        MONDAY_OPENING,
    )
    assert dial_due_callbacks(app, now=MONDAY_OPENING) == [callback.id]
    (request,) = fake_twilio.requests
    assert request[2]["To"] == "+393471234567"


# --------------------------------------------------------------------------- the hold loop


def long_wait(new_call, number: str):
    """A caller second in line for orders with one agent: an 8-minute wait, over the 3 minutes
    after which the callback is offered."""
    return new_call(from_number=number, queue_outcome=QueueOutcome(wait_polls=2, position=2))


def test_the_hold_loop_offers_no_callback_to_a_foreign_number(app, new_call):
    log_in(app, "A010")
    call = long_wait(new_call, "+48601000111")
    call.ring([Press("1"), Press("1")])
    assert "Your expected wait is about 8 minutes." in call.texts()
    assert OFFER not in call.texts()
    wait = f"{PUBLIC}/voice/wait?lang=en&queue=orders&step=2"
    assert call.post(wait, {"QueuePosition": "2"}).find("Gather") is None


@pytest.mark.parametrize("number", ["+48601000111", "+39892123456", "+3934711122233344455"])
def test_the_callback_key_refuses_a_number_the_line_may_not_call(app, new_call, events, number):
    """The offer was made (say the deny list changed during the wait): the key is refused with
    the reason, and the caller keeps their place."""
    call = new_call(from_number=number)
    root = call.post(f"{PUBLIC}/voice/hold-key?lang=en&queue=orders", {"Digits": "1"})
    assert [verb.tag for verb in root] == ["Say", "Play"]
    assert root.find("Say").text == REFUSED
    assert root.find("Leave") is None
    assert callbacks_of(app) == []
    assert dict(events(call.call_sid))["callback_refused"] == {
        "reason": "long_wait",
        "queue": "orders",
    }


def test_an_italian_caller_on_hold_is_offered_the_callback_and_keeps_it(app, new_call):
    log_in(app, "A010")
    call = long_wait(new_call, "+393471234567")
    call.ring([Press("1"), Press("1"), HoldPress("1")])
    assert OFFER in call.texts() and REFUSED not in call.texts()
    assert call.queue_results == ["leave"]
    assert [(cb.phone, cb.dial_by) for cb in callbacks_of(app)] == [("+393471234567", "agent")]


# --------------------------------------------------------------------------- stored callbacks


def test_the_dialler_fails_a_stored_callback_to_a_number_it_may_not_call(app, fake_twilio):
    with session_scope(app) as session:  # booked before the rule
        session.add(due_callback("CAold1", "+3934711122233344455"))
        session.add(due_callback("CAold2", "+39899000111"))
        session.add(due_callback("CAgood", "+393470000055"))
    assert dial_due_callbacks(app, now=OPEN_TIME) == [3]
    assert [request[2]["To"] for request in fake_twilio.requests] == ["+393470000055"]
    old1, old2, good = callbacks_of(app)
    for old in (old1, old2):
        assert (old.status, old.outcome, old.attempts, old.dial_call_sid) == (
            "failed",
            "refused_number",
            0,
            None,
        )
    assert good.status == "dialing"
    assert dial_due_callbacks(app, now=OPEN_TIME + dt.timedelta(hours=1)) == []
    assert len(fake_twilio.requests) == 1


def test_an_agent_is_not_given_a_stored_callback_to_a_number_it_may_not_call(
    app, new_call, fake_twilio
):
    with session_scope(app) as session:
        session.add(due_callback("CAold", "+48601000111", dial_by="agent"))
        session.add(due_callback("CAgood", "+393470000056", dial_by="agent"))
    with_pin(app, "A002")
    agent = agent_call(app, new_call)
    agent.post(f"{PUBLIC}/voice/agent/pin?agent=A002&attempt=1", {"Digits": "2468"})
    agent.post(f"{PUBLIC}/voice/agent/next?agent=A002")
    root = follow_redirects(fake_twilio, agent)[agent.call_sid]
    numbers = [n.text for n in root.iter("Number")]
    assert numbers == ["+393470000056"]
    old, good = callbacks_of(app)
    assert (old.status, old.outcome) == ("failed", "refused_number")
    assert good.status == "dialing"


# --------------------------------------------------------------------------- configuration


def test_the_prefix_lists_are_checked(config_dir):
    line = config_dir / "line.yaml"
    data = yaml.safe_load(line.read_text())
    data["callbacks"]["deny_prefixes"] = ["39899"]
    line.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="deny_prefixes"):
        load_config(config_dir)


def test_with_no_prefixes_listed_any_country_is_called_back(config_dir):
    from ivr.voice.callbacks import callable_number

    line = config_dir / "line.yaml"
    data = yaml.safe_load(line.read_text())
    del data["callbacks"]["allow_prefixes"], data["callbacks"]["deny_prefixes"]
    line.write_text(yaml.safe_dump(data))
    cfg = load_config(config_dir)
    assert callable_number(cfg, "+48601000111") and callable_number(cfg, "+39899123456")
    assert not callable_number(cfg, "+3934711122233344455")
