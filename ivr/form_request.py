"""The app's request class: Twilio's url-encoded forms read in one step.

Every webhook's parameters come as a small ``application/x-www-form-urlencoded`` body with a
``Content-Length``. Werkzeug's general form parser (stream wrappers, a parser object, the
content-type options) costs several times the parsing itself, so such a body is read and parsed
here directly, with werkzeug's own rules: the same size limit (413), strict UTF-8 (an undecodable
body gives an empty form, as in werkzeug), blank values kept, undecodable escapes kept as
percent-escapes. Anything else (multipart, other or parameterised content types, chunked bodies,
a body already read) goes to werkzeug unchanged.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import unquote

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" codec error handler
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.utils import cached_property

URLENCODED = "application/x-www-form-urlencoded"


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``urllib.parse.parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")``, as
    werkzeug reads a query or form, without its general machinery (its checks and coercions cost
    more than splitting a webhook's few parameters): ``&`` separates pairs, empty pieces are
    skipped, a piece with no ``=`` is a name with a blank value, ``+`` is a space and escapes are
    decoded as UTF-8 (undecodable ones kept as escapes)."""
    pairs = []
    for piece in text.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "+" in name:
            name = name.replace("+", " ")
        if "%" in name:
            name = unquote(name, errors="werkzeug.url_quote")
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = unquote(value, errors="werkzeug.url_quote")
        pairs.append((name, value))
    return pairs


class Parameters(ImmutableMultiDict):
    """The form's and query's parameters; ``get`` of a missing name answers the default without
    raising and catching werkzeug's ``BadRequestKeyError`` (webhooks ask for optional
    parameters, such as ``SpeechResult``, on every request)."""

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # noqa: A002
        values = dict.get(self, key)
        if not values:
            return default
        if type is None:
            return values[0]
        return super().get(key, default, type)


class FormRequest(Request):
    parameter_storage_class = Parameters

    @cached_property
    def args(self) -> Parameters:
        """The query's parameters, as werkzeug reads them (:func:`parse_pairs`)."""
        return self.parameter_storage_class(parse_pairs(self.query_string.decode()))

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        environ = self.environ
        length = environ.get("CONTENT_LENGTH") or ""
        if (
            environ.get("CONTENT_TYPE") != URLENCODED
            or not (length.isascii() and length.isdigit())
            or "HTTP_TRANSFER_ENCODING" in environ
            or "stream" in self.__dict__
            or getattr(self, "_cached_data", None) is not None
        ):
            super()._load_form_data()
            return
        size, limit = int(length), self.max_content_length
        if limit is not None and size > limit:
            raise RequestEntityTooLarge()
        body = environ["wsgi.input"].read(size) if size else b""
        if len(body) != size:
            raise ClientDisconnected()
        try:
            text = body.decode()
        except UnicodeDecodeError:  # werkzeug's parser gives an empty form too
            items: list[tuple[str, str]] = []
        else:
            items = parse_pairs(text)
        d = self.__dict__
        d["stream"] = io.BytesIO()  # read, as werkzeug leaves it
        d["form"] = self.parameter_storage_class(items)
        d["files"] = self.parameter_storage_class()
