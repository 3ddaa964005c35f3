"""The webhooks' shortcuts give exactly what the general code gives: the form read in one step
(:mod:`ivr.form_request`) and TwiML remembered by shape (:mod:`ivr.twiml_memo`)."""

from __future__ import annotations

import io
from urllib.parse import parse_qsl, quote_from_bytes

import pytest
from flask import Request
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.twiml.voice_response import VoiceResponse

from ivr import twiml_memo
from ivr.form_request import URLENCODED, FormRequest, parse_pairs


def environ(body: bytes, content_type: str = URLENCODED, length: str | None = None) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/voice/menu",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)) if length is None else length,
        "wsgi.input": io.BytesIO(body),
    }


def forms(body: bytes, content_type: str = URLENCODED) -> tuple[list, list]:
    ours = FormRequest(environ(body, content_type)).form
    theirs = Request(environ(body, content_type)).form
    return list(ours.items(multi=True)), list(theirs.items(multi=True))


pieces = st.one_of(
    st.text(max_size=20),
    st.binary(max_size=20).map(lambda b: quote_from_bytes(b)),  # escapes, valid UTF-8 or not
    st.sampled_from(["&", "=", "+", "%", "%zz", "%e2%82", ";", "&&", "=="]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(pieces, max_size=12).map(lambda parts: "".join(parts).encode()))
def test_the_form_is_what_werkzeug_reads(body):
    ours, theirs = forms(body)
    assert ours == theirs


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_what_werkzeug_gives(body):
    ours, theirs = forms(body)
    assert ours == theirs


@settings(max_examples=300, deadline=None)
@given(
    st.lists(pieces, max_size=12).map(lambda parts: "".join(parts).encode()),
    st.one_of(st.sampled_from(["Digits", "a", "", "%", "missing"]), st.text(max_size=3)),
)
def test_a_parameter_is_what_werkzeug_answers(body, name):
    """Form and query parameters answer ``get`` as werkzeug's do, missing names included."""
    query = body.decode("latin-1")
    ours = FormRequest({**environ(body), "QUERY_STRING": query})
    theirs = Request({**environ(body), "QUERY_STRING": query})
    for mine, werkzeugs in ((ours.form, theirs.form), (ours.args, theirs.args)):
        assert mine.get(name) == werkzeugs.get(name)
        for kind in (None, int, float, str.upper):
            assert mine.get(name, "default", kind) == werkzeugs.get(name, "default", kind)
        assert (name in mine) == (name in werkzeugs)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(pieces, max_size=12).map("".join), st.text(max_size=40)))
def test_pairs_are_what_the_standard_library_parses(text):
    assert parse_pairs(text) == parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")


@settings(max_examples=100, deadline=None)
@given(st.lists(pieces, max_size=12).map(lambda parts: "".join(parts).encode()))
def test_a_query_is_what_werkzeug_reads(query):
    query = query.decode("latin-1")  # as the server hands it over
    ours = FormRequest({**environ(b""), "QUERY_STRING": query}).args
    theirs = Request({**environ(b""), "QUERY_STRING": query}).args
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))


def test_twilio_parameters_and_other_content_types():
    body = b"CallSid=CA1&From=%2B393331234567&Digits=&SpeechResult=caf%C3%A9+ordini&Digits=2"
    ours, theirs = forms(body)
    assert ours == theirs
    assert ("From", "+393331234567") in ours and ("SpeechResult", "café ordini") in ours
    assert ours.count(("Digits", "")) == 1 and ("Digits", "2") in ours
    for content_type in (f"{URLENCODED}; charset=utf-8", "text/plain", "application/json"):
        assert forms(body, content_type)[0] == forms(body, content_type)[1]


def test_a_body_shorter_than_its_length_is_a_bad_request():
    from werkzeug.exceptions import ClientDisconnected

    request = FormRequest(environ(b"CallSid=CA1", length="50"))
    with pytest.raises(ClientDisconnected):
        _ = request.form


def test_a_body_over_the_limit_is_refused_before_it_is_read(make_app):
    app = make_app(MAX_CONTENT_LENGTH=100)
    body = b"CallSid=CA1&SpeechResult=" + b"x" * 200
    response = app.test_client().post(
        "/voice/menu", data=body, content_type=URLENCODED, headers={"X-Twilio-Signature": "x"}
    )
    assert response.status_code == 413


# --------------------------------------------------------------------------- TwiML memo

words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=15)
values = st.one_of(words, st.booleans(), st.integers(-3, 3))


@st.composite
def documents(draw) -> VoiceResponse:
    response = VoiceResponse()
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["say", "enqueue", "gather", "pause", "redirect", "text"]))
        if kind == "say":
            response.say(draw(words), voice=draw(st.none() | words), loop=draw(values))
        elif kind == "enqueue":
            response.enqueue(draw(words), wait_url=draw(words), action=draw(values))
        elif kind == "gather":
            gather = response.gather(num_digits=draw(values), timeout=draw(values))
            gather.say(draw(words))
        elif kind == "pause":
            response.pause(length=draw(values))
        elif kind == "redirect":
            response.redirect(draw(words), method="POST")
        else:
            response.append(draw(words))  # text between verbs
    return response


@settings(max_examples=300, deadline=None)
@given(st.lists(documents(), min_size=1, max_size=6))
def test_a_remembered_document_is_exactly_what_the_library_writes(responses):
    for response in responses + responses:  # the second round comes from the memo
        assert twiml_memo.render(response) == str(response)


def test_true_and_1_are_different_documents():
    one, true = VoiceResponse(), VoiceResponse()
    one.pause(length=1)
    true.pause(length=True)
    assert twiml_memo.render(one) == str(one) and 'length="1"' in str(one)
    assert twiml_memo.render(true) == str(true) and 'length="true"' in str(true)


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(twiml_memo, "KEPT", 3)
    monkeypatch.setattr(twiml_memo, "_rendered", {})
    for n in range(10):
        response = VoiceResponse()
        response.say(f"position {n}")
        assert twiml_memo.render(response) == str(response)
        assert len(twiml_memo._rendered) <= 3


def test_a_document_with_structured_text_is_rendered_without_the_memo(monkeypatch):
    monkeypatch.setattr(twiml_memo, "_rendered", {})
    response = VoiceResponse()
    response.add_child("Custom", {"a": 1})  # text that is not a string: json, per the library
    assert twiml_memo.render(response) == str(response)
    assert twiml_memo._rendered == {}
