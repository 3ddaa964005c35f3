"""The Twilio-acting helper itself fails on what Twilio would reject."""

from __future__ import annotations

import pytest

from ivr.demo.twilio_sim import Press, SimulatedCall, TwilioCallError


class Canned:
    """A transport that answers every request with the same response."""

    def __init__(self, status=200, content_type="text/xml", body="<Response/>"):
        self.answer = (status, content_type, body)
        self.count = 0

    def post(self, url, params, headers):
        self.count += 1
        return self.answer


def ring(transport, inputs=()):
    return SimulatedCall(transport, "https://line.example.com", "t").ring(inputs)


def test_redirect_loop_is_detected():
    transport = Canned(body="<Response><Redirect>/voice/incoming</Redirect></Response>")
    with pytest.raises(TwilioCallError, match="redirect loop"):
        ring(transport)
    assert transport.count == 60


@pytest.mark.parametrize(
    "answer, message",
    [
        ((500, "text/html", "oops"), "answered 500"),
        ((200, "text/html", "<html/>"), "not XML"),
        ((200, "text/xml", "<Response><Say>unclosed</Response>"), "invalid XML"),
        ((200, "text/xml", "<Twiml/>"), "not <Response>"),
        ((200, "text/xml", "<Response><Speak>hi</Speak></Response>"), "<Speak> is not a verb"),
        (
            (200, "text/xml", "<Response><Gather><Enqueue>x</Enqueue></Gather></Response>"),
            "<Enqueue> inside <Gather>",
        ),
    ],
)
def test_bad_responses_fail(answer, message):
    with pytest.raises(TwilioCallError, match=message):
        ring(Canned(*answer))


def test_speech_into_a_dtmf_only_gather_fails():
    from ivr.demo.twilio_sim import Speak

    transport = Canned(
        body='<Response><Gather input="dtmf" action="/x"><Say>hi</Say></Gather></Response>'
    )
    with pytest.raises(TwilioCallError, match="takes no speech"):
        ring(transport, [Speak("hello")])


def test_gather_posts_digits_to_the_action_resolved_against_the_current_url():
    seen = []

    class Recorder(Canned):
        def post(self, url, params, headers):
            seen.append((url, params.get("Digits")))
            if len(seen) == 1:
                return (
                    200,
                    "text/xml",
                    '<Response><Gather action="/voice/menu?lang=en"><Say>x</Say></Gather></Response>',
                )
            return 200, "text/xml", "<Response><Hangup/></Response>"

    call = ring(Recorder(), [Press("4")])
    assert seen[:2] == [
        ("https://line.example.com/voice/incoming", None),
        ("https://line.example.com/voice/menu?lang=en", "4"),
    ]
    assert call.hung_up


def test_call_sids_look_like_twilios_and_are_not_reused_by_a_second_run():
    """`make demo` run twice on one database: the second run's calls must not continue the
    first run's (their events would be taken for retries and dropped)."""
    import re
    import subprocess
    import sys

    code = (
        "from ivr.demo.twilio_sim import SimulatedCall;"
        "print(SimulatedCall(None, 'http://x', 't').call_sid, SimulatedCall(None, 'http://x', 't').call_sid)"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    sids = [sid for run in runs for sid in run]
    assert all(re.fullmatch(r"CA[0-9a-f]{32}", sid) for sid in sids)
    assert len(set(sids)) == 4
