"""TwiML documents rendered once per worker.

Webhooks answer every caller with one of a few documents (the same greeting, the same
``<Enqueue>`` for a queue and language), and rendering a ``VoiceResponse`` through ElementTree
costs more than building it. So the response is still built with ``VoiceResponse``, but its
text is looked up by the document's shape: each verb's name, text, attributes as the library
writes them, and children. Equal shapes render to equal text, so a hit returns exactly what
``str(response)`` would.
"""

from __future__ import annotations

from typing import Any

from twilio.twiml import TwiML

KEPT = 4096  # documents remembered per worker; the memo starts over when full

_rendered: dict[tuple, str] = {}


class _Unshaped(Exception):
    """A node whose text is not a plain string (rendered without the memo)."""


def _attribute(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)  # as TwiML.xml() writes


def _shape(node: TwiML | str) -> tuple | str:
    if isinstance(node, str):  # text between verbs
        return node
    value = node.value
    if value is not None and not isinstance(value, str):
        raise _Unshaped
    return (
        node.name,
        value or None,  # TwiML.xml() writes no text for "" and None alike
        tuple(sorted((name, _attribute(v)) for name, v in node.attrs.items())),
        tuple(_shape(child) for child in node.verbs),
    )


def render(response: TwiML) -> str:
    """``str(response)``, remembered for the next document of the same shape."""
    try:
        key = _shape(response)
    except _Unshaped:
        return str(response)
    text = _rendered.get(key)
    if text is None:
        text = str(response)
        if len(_rendered) >= KEPT:
            _rendered.clear()
        _rendered[key] = text
    return text
