"""Acting like Twilio: sign requests exactly as Twilio does, post its parameters, follow the TwiML.

Used by the tests (through Flask's test client) and by the caller simulator (over HTTP). A
response that is not 200, not XML, not a ``<Response>``, uses a verb Twilio would not accept in
that place, or that loops, raises :class:`TwilioCallError`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

VOICE_VERBS = {
    "Say", "Play", "Pause", "Gather", "Redirect", "Enqueue", "Record", "Hangup", "Leave",
    "Dial", "Reject", "Refer", "Connect", "Start", "Stop", "Pay", "Prompt", "Echo", "Sms",
}  # fmt: skip
GATHER_CHILDREN = {"Say", "Play", "Pause"}
WAIT_VERBS = {"Say", "Play", "Pause", "Gather", "Redirect", "Leave", "Hangup"}
DIAL_CHILDREN = {"Number", "Client", "Queue", "Sip", "Conference"}
# CallSids as Twilio's ("CA" and 32 hex digits), unique across runs: a simulator run again on the
# same database (`make demo` twice) must not continue the calls of the run before
_SID_PREFIX = secrets.token_hex(8)
_sids = itertools.count(1)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's webhook signature: HMAC-SHA1 over the URL and the sorted POST parameters, base64."""
    payload = url + "".join(key + params[key] for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class TwilioCallError(AssertionError):
    """The app answered something Twilio would reject, or looped."""


class Transport(Protocol):
    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str, str]:
        """POST form parameters; return (status, content type, body)."""


class HttpTransport:
    """Real HTTP against a running server (loopback only in this project's use)."""

    def __init__(self, timeout_s: float = 15.0):
        self.timeout_s = timeout_s

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(url, data=data, headers=dict(headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return (
                    response.status,
                    response.headers.get("Content-Type", ""),
                    response.read().decode(),
                )
        except urllib.error.HTTPError as exc:
            return (
                exc.code,
                exc.headers.get("Content-Type", ""),
                exc.read().decode(errors="replace"),
            )


class FlaskTransport:
    """Flask's test client, addressed with the public URLs Twilio would use."""

    def __init__(self, client, public_base: str):
        self.client = client
        self.public_base = public_base.rstrip("/")

    def post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str, str]:
        if not url.startswith(self.public_base):
            raise TwilioCallError(f"TwiML sent Twilio to a foreign URL {url!r}")
        path = url[len(self.public_base) :] or "/"
        response = self.client.post(path, data=dict(params), headers=dict(headers))
        body = response.get_data(as_text=True)
        response.close()  # as a server does once the answer is sent: its close hooks run
        return response.status_code, response.content_type or "", body


# --------------------------------------------------------------------------- caller inputs


@dataclass(frozen=True)
class Press:
    """Keys pressed at a ``<Gather>``."""

    digits: str


@dataclass(frozen=True)
class Speak:
    """Words said at a ``<Gather input="speech">``."""

    words: str
    confidence: float = 0.92


@dataclass(frozen=True)
class Silence:
    """No input: the ``<Gather>`` or ``<Record>`` times out."""


@dataclass(frozen=True)
class Recording:
    """A message left at a ``<Record>``."""

    url: str = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE0001"
    duration_s: int = 14


@dataclass(frozen=True)
class HoldPress:
    """Keys pressed at a ``<Gather>`` in the hold music (the wait URL)."""

    digits: str


@dataclass
class QueueOutcome:
    """What happens in the queue: how many hold polls, then how the wait ends."""

    result: str = "bridged"
    wait_polls: int = 1
    queue_time_s: int = 35
    position: int = 2
    queue_size: int = 3
    avg_queue_time_s: int = 40
    caller_stays: bool = (
        False  # after a bridged call: stay for the survey, or hang up with the agent
    )


@dataclass(frozen=True)
class Said:
    verb: str
    text: str
    voice: str | None = None
    language: str | None = None


@dataclass
class SimulatedCall:
    """One inbound call, from ringing to the status callback."""

    transport: Transport
    base_url: str
    auth_token: str
    from_number: str = "+393331234567"
    to_number: str = "+18005550100"
    call_sid: str = ""
    account_sid: str = "AC" + "0" * 32
    queue_outcome: QueueOutcome = field(default_factory=QueueOutcome)
    max_requests: int = 60
    duration_s: int = 95
    stop_at_enqueue: bool = False  # leave the queue to the caller of this class (the simulator)
    pending_enqueue: tuple[ET.Element, str] | None = None
    said: list[Said] = field(default_factory=list)
    requests: list[tuple[str, dict]] = field(default_factory=list)
    enqueued: list[str] = field(default_factory=list)
    recorded: bool = False
    hung_up: bool = False
    queue_results: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.call_sid:
            self.call_sid = f"CA{_SID_PREFIX}{next(_sids):016x}"

    # -- requests

    def params(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        base = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "CallStatus": "in-progress",
            "Called": self.to_number,
            "Caller": self.from_number,
            "Direction": "inbound",
            "From": self.from_number,
            "To": self.to_number,
        }
        base.update(extra or {})
        return base

    def post(
        self, url: str, extra: Mapping[str, str] | None = None, allowed: set[str] = VOICE_VERBS
    ) -> ET.Element:
        if len(self.requests) >= self.max_requests:
            raise TwilioCallError(
                f"more than {self.max_requests} requests: redirect loop? last {self.requests[-1][0]}"
            )
        params = self.params(extra)
        headers = {"X-Twilio-Signature": twilio_signature(self.auth_token, url, params)}
        self.requests.append((url, params))
        status, content_type, body = self.transport.post(url, params, headers)
        if status != 200:
            raise TwilioCallError(f"{url} answered {status}: {body[:300]}")
        if "xml" not in content_type:
            raise TwilioCallError(f"{url} answered content type {content_type!r}, not XML")
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise TwilioCallError(f"{url} answered invalid XML ({exc}): {body[:300]}") from exc
        if root.tag != "Response":
            raise TwilioCallError(f"{url} answered <{root.tag}>, not <Response>")
        check_verbs(root, allowed, url)
        return root

    def absolute(self, target: str, current: str) -> str:
        return urllib.parse.urljoin(current, target)

    # -- the call

    def ring(self, inputs: Iterable[object] = ()) -> SimulatedCall:
        """Ring the line, answer every prompt from ``inputs`` in order, then hang up."""
        pending = deque(inputs)
        url = self.base_url.rstrip("/") + "/voice/incoming"
        root = self.post(url, {"CallStatus": "ringing"})
        self.follow(root, url, pending)
        self.status_callback("completed")
        return self

    def status_callback(self, status: str) -> None:
        url = self.base_url.rstrip("/") + "/voice/status"
        self.post(url, {"CallStatus": status, "CallDuration": str(self.duration_s)})

    def follow(self, root: ET.Element, url: str, inputs: deque) -> None:
        while root is not None:
            root, url = self._run(root, url, inputs)

    def _run(self, root: ET.Element, url: str, inputs: deque) -> tuple[ET.Element | None, str]:
        for verb in root:
            tag = verb.tag
            if tag in ("Say", "Play", "Pause"):
                self._hear(verb)
            elif tag == "Gather":
                for child in verb:
                    self._hear(child)
                answer = inputs.popleft() if inputs else Silence()
                if isinstance(answer, Silence):
                    continue  # Twilio moves on to the next verb
                action = self.absolute(verb.get("action") or url, url)
                if isinstance(answer, Press):
                    return self.post(action, {"Digits": answer.digits}), action
                if isinstance(answer, Speak):
                    if "speech" not in (verb.get("input") or "dtmf"):
                        raise TwilioCallError(
                            f"caller spoke but the Gather at {url} takes no speech"
                        )
                    extra = {"SpeechResult": answer.words, "Confidence": f"{answer.confidence:.2f}"}
                    return self.post(action, extra), action
                raise TwilioCallError(f"a {type(answer).__name__} was given where a Gather listens")
            elif tag == "Redirect":
                target = self.absolute((verb.text or "").strip() or url, url)
                return self.post(target), target
            elif tag == "Enqueue":
                if self.stop_at_enqueue:
                    self.enqueued.append((verb.text or "").strip())
                    self.pending_enqueue = (verb, url)
                    return None, url
                return self._queue(verb, url, inputs)
            elif tag == "Record":
                answer = inputs.popleft() if inputs else Silence()
                if isinstance(answer, Recording):
                    self.recorded = True
                    action = self.absolute(verb.get("action") or url, url)
                    extra = {
                        "RecordingUrl": answer.url,
                        "RecordingDuration": str(answer.duration_s),
                        "RecordingSid": "RE" + "1" * 32,
                        "Digits": "#",
                    }
                    return self.post(action, extra), action
            elif tag in ("Hangup", "Reject"):
                self.hung_up = True
                return None, url
            elif tag in ("Leave", "Dial"):
                return None, url
        return None, url  # end of the document: Twilio hangs up

    def _hear(self, verb: ET.Element) -> None:
        if verb.tag not in GATHER_CHILDREN:
            raise TwilioCallError(f"<{verb.tag}> inside <Gather>")
        self.said.append(
            Said(verb.tag, (verb.text or "").strip(), verb.get("voice"), verb.get("language"))
        )

    def _queue(self, verb: ET.Element, url: str, inputs: deque) -> tuple[ET.Element | None, str]:
        name = (verb.text or "").strip()
        if not name:
            raise TwilioCallError(f"<Enqueue> without a queue name at {url}")
        self.enqueued.append(name)
        outcome = self.queue_outcome
        result = outcome.result
        wait_url = verb.get("waitUrl")
        for poll in range(outcome.wait_polls if wait_url else 0):
            target = self.absolute(wait_url, url)
            hold = {
                "QueuePosition": str(outcome.position),
                "QueueSid": "QU" + "2" * 32,
                "QueueTime": str(min(outcome.queue_time_s, 20 * poll)),
                "AvgQueueTime": str(outcome.avg_queue_time_s),
                "CurrentQueueSize": str(outcome.queue_size),
            }
            if self._hold(self.post(target, hold, allowed=WAIT_VERBS), target, inputs, hold):
                result = "leave"
                break
        self.queue_results.append(result)
        action = verb.get("action")
        if not action:
            return None, url
        target = self.absolute(action, url)
        extra = {
            "QueueResult": result,
            "QueueTime": str(outcome.queue_time_s),
            "QueueSid": "QU" + "2" * 32,
        }
        after = self.post(target, extra)
        if result in ("bridged", "hangup") and not outcome.caller_stays:
            return None, target  # the caller has hung up: Twilio posts the result, nobody hears it
        return after, target

    def _hold(self, root: ET.Element, url: str, inputs: deque, hold: dict) -> bool:
        """Play one hold document; True if the caller left the queue."""
        for verb in root:
            if verb.tag in ("Say", "Play", "Pause"):
                self._hear(verb)
            elif verb.tag == "Gather":
                for child in verb:
                    self._hear(child)
                if inputs and isinstance(inputs[0], HoldPress):
                    answer = inputs.popleft()
                    action = self.absolute(verb.get("action") or url, url)
                    return self._hold(
                        self.post(action, {**hold, "Digits": answer.digits}, allowed=WAIT_VERBS),
                        action,
                        inputs,
                        hold,
                    )
            elif verb.tag == "Leave":
                return True
            elif verb.tag == "Hangup":
                self.hung_up = True
                return True
            elif verb.tag == "Redirect":
                target = self.absolute((verb.text or "").strip() or url, url)
                return self._hold(self.post(target, hold, allowed=WAIT_VERBS), target, inputs, hold)
        return False

    # -- what the caller heard

    def texts(self) -> list[str]:
        return [s.text for s in self.said if s.verb == "Say"]

    def heard(self, fragment: str) -> bool:
        return any(fragment in t for t in self.texts())


def check_verbs(root: ET.Element, allowed: set[str], url: str) -> None:
    for verb in root:
        if verb.tag not in allowed:
            raise TwilioCallError(f"{url}: <{verb.tag}> is not a verb Twilio accepts here")
        if verb.tag == "Gather":
            for child in verb:
                if child.tag not in GATHER_CHILDREN:
                    raise TwilioCallError(f"{url}: <{child.tag}> inside <Gather>")
        if verb.tag == "Dial":
            for child in verb:
                if child.tag not in DIAL_CHILDREN:
                    raise TwilioCallError(f"{url}: <{child.tag}> inside <Dial>")


# --------------------------------------------------------------------------- the REST API


def _silence_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A WAV of silence: the stand-in's audio for every recording (browsers play it)."""
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(b"\x80" * int(seconds * rate))
    return buffer.getvalue()


SILENCE_WAV = _silence_wav()


class RestStandIn:
    """Twilio's REST API as far as Hotline uses it, on a loopback port (the app's
    ``TWILIO_REST_BASE_URL``): a call update (``POST .../Calls/<sid>.json`` with ``Url``) is
    queued for the simulator to act out, as Twilio would fetch the new TwiML; a new call
    (``POST .../Calls.json``) gets a fresh CallSid; a call's state (``GET``) is ``in-progress``
    for a call the stand-in knows, else 404; deleting a recording (``DELETE
    .../Recordings/<sid>.json``) answers 204 for one in ``recordings`` (then gone, its SID added
    to ``deleted``), else 404; a recording's audio (``GET .../Recordings/<sid>.mp3``) is a
    second of silence for one in ``recordings`` (its SID added to ``played``), else 404."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        import http.server
        import json
        import queue
        import threading

        self.moves: queue.Queue[tuple[str, str]] = queue.Queue()
        self.created: list[dict[str, str]] = []
        self.known: set[str] = set()
        self.recordings: set[str] = set()  # the recordings' SIDs the account holds
        self.deleted: list[str] = []  # recordings deleted, in order
        self.played: list[str] = []  # recordings whose audio was fetched, in order
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:  # quiet
                return

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                path = urllib.parse.urlparse(self.path).path
                if path.endswith("/Calls.json"):
                    sid = f"CA{_SID_PREFIX}{next(_sids):016x}"
                    stand_in.created.append({"sid": sid, **form})
                    self._answer(201, {"sid": sid, "status": "queued", "to": form.get("To")})
                    return
                if "/Calls/" in path and "Url" in form:
                    sid = path.rsplit("/", 1)[1].removesuffix(".json")
                    stand_in.moves.put((sid, form["Url"]))
                    self._answer(200, {"sid": sid, "status": "in-progress"})
                    return
                self._answer(404, {"code": 20404, "message": "not found"})

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                path = urllib.parse.urlparse(self.path).path
                if "/Recordings/" in path and path.endswith((".mp3", ".wav")):
                    recording = path.rsplit("/", 1)[1].rsplit(".", 1)[0]
                    if recording not in stand_in.recordings:
                        self._answer(404, {"code": 20404, "message": "not found"})
                        return
                    stand_in.played.append(recording)
                    self.send_response(200)
                    self.send_header("Content-Type", "audio/wav")
                    self.send_header("Content-Length", str(len(SILENCE_WAV)))
                    self.end_headers()
                    self.wfile.write(SILENCE_WAV)
                    return
                sid = path.rsplit("/", 1)[1].removesuffix(".json")
                if sid in stand_in.known:
                    self._answer(200, {"sid": sid, "status": "in-progress"})
                else:
                    self._answer(404, {"code": 20404, "message": "not found"})

            def do_DELETE(self) -> None:  # noqa: N802 - the http.server API
                path = urllib.parse.urlparse(self.path).path
                sid = path.rsplit("/", 1)[1].removesuffix(".json")
                if "/Recordings/" in path and sid in stand_in.recordings:
                    stand_in.recordings.discard(sid)
                    stand_in.deleted.append(sid)
                    self.send_response(204)
                    self.end_headers()
                    return
                self._answer(404, {"code": 20404, "message": "not found"})

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True, name="twilio-rest"
        )

    def start(self) -> RestStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def take_moves(self) -> list[tuple[str, str]]:
        """The call updates received since the last look, in order."""
        out = []
        while not self.moves.empty():
            out.append(self.moves.get_nowait())
        return out
