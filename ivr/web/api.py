"""What every JSON API route shares: errors as JSON and the OpenAPI document.

Under ``/api/`` every error is a JSON object ``{"error": "..."}`` with the HTTP status (a missing
route is 404, a wrong method 405 with ``Allow``, a crash 500); pages keep their HTML errors.
``GET /api/openapi.json`` describes the API routes, their parameters and their JSON bodies, and
the exports a system fetches with the same bearer tokens (``HOTLINE_API_TOKENS``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from ivr.web.health import hotline_version

bp = Blueprint("api", __name__)


def under_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def json_error(status: int, message: str, headers: Any = None) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    for name, value in headers or []:
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def _http_error(exc: HTTPException) -> Any:
    if not under_api():
        return exc  # a page: Flask's own HTML error
    status = exc.code or 500
    return json_error(status, (exc.name or "error").lower(), exc.get_headers())


def _server_error(exc: InternalServerError) -> Any:
    if not under_api():
        return exc
    return json_error(500, "internal server error")


def _json_bodies(response: Response) -> Response:
    """A last guard: an error under /api/ that some other handler answered in text (a database
    restart's 503, say) still gets a JSON body."""
    if under_api() and response.status_code >= 400 and not response.is_json:
        message = (response.status or "error").partition(" ")[2].lower() or "error"
        return json_error(response.status_code, message, response.headers.items())
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.after_request(_json_bodies)


# --------------------------------------------------------------------------- OpenAPI

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_COUNT = {"type": "integer", "minimum": 0}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


_ERRORS = {
    "400": _json("A parameter is refused (``parameter`` names it).", "Error"),
    "401": _json("No valid bearer token and no login.", "Error"),
}
_WINDOW_PARAMETERS = [
    {
        "name": "since",
        "in": "query",
        "description": "Start of the window: an ISO date or date-time in the line's time zone "
        "(default: today's start).",
        "schema": {"type": "string"},
    },
    {
        "name": "until",
        "in": "query",
        "description": "End of the window (a date counts to its end; default: one day after "
        "since, or today's end).",
        "schema": {"type": "string"},
    },
]
_SECURITY = [{"bearer": []}, {"session": []}]

_FIGURES = {
    "offered": _COUNT,
    "answered": _COUNT,
    "abandoned": _COUNT,
    "short_abandoned": _COUNT,
    "service_level": _NUMBER_OR_NULL,
    "asa_s": _NUMBER_OR_NULL,
    "aht_s": _NUMBER_OR_NULL,
    "abandon_rate": _NUMBER_OR_NULL,
    "csat": _NUMBER_OR_NULL,
    "surveys": _COUNT,
    "callbacks_requested": _COUNT,
}
_QUEUE = {
    "queue": {"type": "string", "description": "The queue's id."},
    "name": {"type": "string", "description": "The queue's name in the default language."},
    "waiting": _COUNT,
    "longest_wait_s": {"type": "number"},
    "agents_logged_in": _COUNT,
    "agents_busy": {**_COUNT, "description": "Agents of the queue's skill on a call."},
    "agents_available": _COUNT,
    "agents_ringing": _COUNT,
    "agents_wrap_up": _COUNT,
    "agents_not_ready": _COUNT,
    "answer_time_s": {"type": "number", "description": "The service level's answer time."},
    "service_level_target": {"type": "number"},
    "callbacks_pending": _COUNT,
    "callbacks_completed": _COUNT,
    "tickets_opened": _COUNT,
    **_FIGURES,
}
_LANGUAGE = {
    "language": {"type": "string", "description": "The language's code."},
    "offered": _COUNT,
    "answered": _COUNT,
    "answered_in_language": {
        **_COUNT,
        "description": "Answered by an agent who speaks the caller's language.",
    },
    "in_language_share": _NUMBER_OR_NULL,
    "service_level": _NUMBER_OR_NULL,
    "asa_s": _NUMBER_OR_NULL,
    "abandoned": _COUNT,
}
_NULLABLE_STRING = {"type": ["string", "null"]}
_AGENT = {
    "id": {"type": "string"},
    "name": {"type": "string"},
    "state": {
        "type": "string",
        "enum": ["offline", "available", "ringing", "on_call", "wrap_up", "not_ready"],
    },
    "reason": {**_NULLABLE_STRING, "description": "Why not ready (missed: a call rang out)."},
    "since": {**_NULLABLE_STRING, "description": "The last change, line's time zone."},
    "queue": {**_NULLABLE_STRING, "description": "The queue of the call offered or taken."},
    "call_sid": _NULLABLE_STRING,
    "languages": {"type": "array", "items": {"type": "string"}},
    "skills": {"type": "array", "items": {"type": "string"}},
}
_INTERVAL = {"interval_start": {"type": "string", "format": "date-time"}, **_FIGURES}


def _object(properties: dict, required: list[str] | None = None, **extra: Any) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


def _export(summary: str, media_type: str, description: str) -> dict:
    return {
        "get": {
            "summary": summary,
            "tags": ["exports"],
            "security": [{"bearer": []}, {"session": []}],
            "parameters": [
                {
                    "name": "week",
                    "in": "query",
                    "description": "The Monday of the week (default: the latest rostered).",
                    "schema": {"type": "string", "format": "date"},
                },
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["draft", "published"]},
                },
            ],
            "responses": {
                "200": {
                    "description": description,
                    "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
                },
                "302": {"description": "No token and no login: to the login page."},
                "401": _json("A wrong bearer token.", "Error"),
                "403": {"description": "Logged in, but not a supervisor."},
                "404": {"description": "No roster stored."},
            },
        }
    }


def document(version: str) -> dict:
    """The OpenAPI 3.1 document of the API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hotline API",
            "version": version,
            "description": "Queue statistics of the line, agents' states and the roster exports. Every route "
            "but this document needs a bearer token from HOTLINE_API_TOKENS or a logged-in "
            'session; every error is {"error": "..."}.',
        },
        "paths": {
            "/api/openapi.json": {
                "get": {
                    "summary": "This document.",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/api/queues": {
                "get": {
                    "summary": "Every queue's figures over a window (default: today), and now.",
                    "tags": ["statistics"],
                    "security": _SECURITY,
                    "parameters": _WINDOW_PARAMETERS,
                    "responses": {"200": _json("The queues' figures.", "QueuesReport"), **_ERRORS},
                }
            },
            "/api/queues/{queue}/intervals": {
                "get": {
                    "summary": "One queue's figures interval by interval over a window.",
                    "tags": ["statistics"],
                    "security": _SECURITY,
                    "parameters": [
                        {
                            "name": "queue",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "freq",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["15min", "30min", "1h", "60min"],
                                "default": "30min",
                            },
                        },
                        *_WINDOW_PARAMETERS,
                    ],
                    "responses": {
                        "200": _json("The queue's intervals.", "IntervalsReport"),
                        **_ERRORS,
                        "404": _json("No such queue.", "Error"),
                    },
                }
            },
            "/api/intraday": {
                "get": {
                    "summary": "The rest of today: agents needed against agents on line and "
                    "rostered, per queue and interval, and the shortages in words.",
                    "tags": ["statistics"],
                    "security": _SECURITY,
                    "responses": {
                        "200": _json("Today's outlook.", "IntradayReport"),
                        "401": _ERRORS["401"],
                    },
                }
            },
            "/api/agents": {
                "get": {
                    "summary": "Every agent's state now, with the call offered or taken.",
                    "tags": ["agents"],
                    "security": _SECURITY,
                    "responses": {
                        "200": {
                            "description": "The agents of agents.csv.",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "array", "items": _ref("Agent")}
                                }
                            },
                        },
                        "401": _ERRORS["401"],
                    },
                }
            },
            "/api/agents/{agent}/state": {
                "post": {
                    "summary": "Set an agent available or not ready (with a configured reason).",
                    "tags": ["agents"],
                    "security": _SECURITY,
                    "parameters": [
                        {
                            "name": "agent",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _object(
                                    {
                                        "state": {
                                            "type": "string",
                                            "enum": ["available", "not_ready"],
                                        },
                                        "reason": {"type": "string"},
                                    },
                                    required=["state"],
                                )
                            }
                        },
                    },
                    "responses": {
                        "200": _json("The agent, as GET /api/agents shows them.", "Agent"),
                        **_ERRORS,
                        "404": _json("No such agent.", "Error"),
                        "409": _json("Offline or on a call: not now.", "Error"),
                    },
                }
            },
            "/supervisor/roster.csv": _export(
                "A week's roster as CSV.",
                "text/csv",
                "agent, date, shift_start, shift_end, break_start, queue_skills",
            ),
            "/supervisor/roster-ics.zip": _export(
                "A week's roster as one iCalendar file per agent, zipped.",
                "application/zip",
                "A zip of .ics files.",
            ),
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": {
                "Error": _object(
                    {
                        "error": {"type": "string"},
                        "parameter": {"type": "string", "description": "The refused parameter."},
                    },
                    required=["error"],
                ),
                "Window": _object(
                    {
                        "since": {"type": "string", "format": "date-time"},
                        "until": {"type": "string", "format": "date-time"},
                        "timezone": {"type": "string"},
                    }
                ),
                "QueueFigures": _object(_QUEUE),
                "IntervalFigures": _object(_INTERVAL),
                "LanguageFigures": _object(_LANGUAGE),
                "Agent": _object(_AGENT),
                "IntradayInterval": _object(
                    {
                        "queue": {"type": "string", "description": "A queue, or total."},
                        "interval_start": {"type": "string", "format": "date-time"},
                        "calls": {"type": "number"},
                        "required": {**_COUNT, "description": "Agents on the phones (Erlang C)."},
                        "on_line": {**_COUNT, "description": "Agents logged in and working now."},
                        "short_on_line": _COUNT,
                        "scheduled": {**_COUNT, "description": "Required, after shrinkage."},
                        "rostered": {**_COUNT, "description": "On shift in the published roster."},
                        "short_rostered": _COUNT,
                    }
                ),
                "IntradayReport": _object(
                    {
                        "as_of": {"type": "string", "format": "date-time"},
                        "forecast": {
                            "type": ["string", "null"],
                            "enum": ["intraday", "forecast", None],
                            "description": "The stored forecast used: today's reforecast or "
                            "the day-ahead forecast (null: none covers today).",
                        },
                        "intervals": {"type": "array", "items": _ref("IntradayInterval")},
                        "shortages": {"type": "array", "items": {"type": "string"}},
                        "shortages_rostered": {"type": "array", "items": {"type": "string"}},
                        "today": {"type": "array", "items": _ref("TodayInterval")},
                        "alerts": {"type": "array", "items": _ref("Alert")},
                        "waiting": {"type": "array", "items": _ref("Waiting")},
                        "callbacks_pending": {"type": "array", "items": _ref("PendingCallback")},
                    }
                ),
                "TodayInterval": _object(
                    {
                        "queue": {"type": "string"},
                        "interval_start": {"type": "string", "format": "date-time"},
                        "actual": {**_NUMBER_OR_NULL, "description": "Calls offered so far."},
                        "service_level": _NUMBER_OR_NULL,
                        "day_ahead": _NUMBER_OR_NULL,
                        "day_ahead_p10": _NUMBER_OR_NULL,
                        "day_ahead_p90": _NUMBER_OR_NULL,
                        "reforecast": _NUMBER_OR_NULL,
                        "reforecast_p10": _NUMBER_OR_NULL,
                        "reforecast_p90": _NUMBER_OR_NULL,
                    }
                ),
                "Alert": _object(
                    {
                        "alert": {"type": "string", "description": "condition:queue"},
                        "message": {"type": "string"},
                        "raised_at": {"type": "string", "format": "date-time"},
                    }
                ),
                "Waiting": _object(
                    {
                        "queue": {"type": "string"},
                        "language": {"type": "string"},
                        "waited_s": _COUNT,
                        "callback": {"type": "boolean"},
                        "offered_to": _NULLABLE_STRING,
                    }
                ),
                "PendingCallback": _object(
                    {
                        "queue": {"type": "string"},
                        "language": {"type": "string"},
                        "due_at": {"type": "string", "format": "date-time"},
                        "attempts": _COUNT,
                        "status": {"type": "string", "enum": ["pending", "dialing"]},
                    }
                ),
                "QueuesReport": _object(
                    {
                        "as_of": {"type": "string", "format": "date-time"},
                        "window": _ref("Window"),
                        "queues": {"type": "array", "items": _ref("QueueFigures")},
                        "languages": {"type": "array", "items": _ref("LanguageFigures")},
                    }
                ),
                "IntervalsReport": _object(
                    {
                        "queue": {"type": "string"},
                        "freq": {"type": "string"},
                        "window": _ref("Window"),
                        "intervals": {"type": "array", "items": _ref("IntervalFigures")},
                    }
                ),
            },
        },
    }


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(document(hotline_version()))
