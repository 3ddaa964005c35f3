"""Slow clients hold no worker: with the shipped nginx configuration in front of ``hotline serve``,
50 sockets trickling their headers leave a signed menu request answered within a second (against
gunicorn alone, the same sockets hold its threads)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from benchmarks import proxy
from benchmarks.loopback import free_port, listening
from ivr.demo.twilio_sim import twilio_signature
from tests.conftest import CONFIG_DIR, REPO

TOKEN = "proxy-token"
SLOW_SOCKETS = 50


def nginx_binary() -> str:
    found = proxy.nginx_binary()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing (scripts/install-nginx.sh installs it)")
        pytest.skip("nginx not installed (scripts/install-nginx.sh installs it)")
    return found


def menu_latency(port: int, public: str, n: int, timeout: float) -> float:
    """Seconds a signed menu request to ``port`` took (``timeout`` if it was not answered)."""
    form = {"CallSid": f"CA{n:032x}", "From": "+393331112222", "To": "+18005550100", "Digits": "1"}
    path = "/voice/menu?lang=en&attempt=1&step=2"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(TOKEN, public + path, form),
    }
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, urllib.parse.urlencode(form), headers)
        response = connection.getresponse()
        assert response.status == 200 and b">orders</Enqueue>" in response.read()
    except TimeoutError:
        return timeout
    finally:
        connection.close()
    return time.monotonic() - started


def trickle(port: int, stop: threading.Event) -> None:
    """A client that sends a request's headers one byte at a time, for as long as it may."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        return
    with sock:
        try:
            sock.sendall(b"POST /voice/menu HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while not stop.wait(0.5):
                sock.sendall(b"X")
        except OSError:  # the proxy (or server) gave up on us: fine
            return


def with_slow_sockets(port: int, measure) -> float:
    stop = threading.Event()
    clients = [threading.Thread(target=trickle, args=(port, stop)) for _ in range(SLOW_SOCKETS)]
    for client in clients:
        client.start()
    try:
        time.sleep(1.0)  # every slow socket connected and started
        return measure()
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=5)


def test_slow_clients_hold_no_worker_behind_the_shipped_nginx(tmp_path):
    nginx = nginx_binary()
    app_port, proxy_port = free_port(), free_port()
    public = f"http://127.0.0.1:{proxy_port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hotline.db'}",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "HOTLINE_PUBLIC_URL": public,
        "HOTLINE_ALWAYS_OPEN": "1",
        "HOTLINE_INSTANCE_PATH": str(tmp_path / "instance"),
        "HOTLINE_CONFIG_DIR": str(CONFIG_DIR),
        "HOTLINE_SECRET_KEY": "k",
    }
    hotline = str(Path(sys.executable).parent / "hotline")
    server = subprocess.Popen(
        [hotline, "serve", "--bind", f"127.0.0.1:{app_port}", "--workers", "2", "--threads", "4",
         "--access-logfile", "/dev/null"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    nginx_process = None
    try:
        nginx_process = proxy.start_nginx(nginx, tmp_path / "proxy", app_port, proxy_port)
        assert listening(app_port), f"nothing listens on {app_port}"
        deadline = time.monotonic() + 60  # until both workers have loaded the app
        while menu_latency(proxy_port, public, 1, 10) >= 0.5 and time.monotonic() < deadline:
            time.sleep(0.5)
        behind_nginx = with_slow_sockets(
            proxy_port, lambda: max(menu_latency(proxy_port, public, n, 10) for n in (2, 3, 4))
        )
        alone = with_slow_sockets(app_port, lambda: menu_latency(app_port, public, 5, 3))
    finally:
        if nginx_process is not None:
            proxy.stop_nginx(nginx_process)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    assert behind_nginx < 1.0, f"behind nginx the menu took {behind_nginx:.2f} s"
    assert alone > 1.0, "gunicorn alone kept up: the slow sockets did not contest anything"


class DroppingUpstream(threading.Thread):
    """An upstream that reads each request and, in turn, drops the connection without an answer
    (a worker killed mid-request) or answers with ``status``."""

    def __init__(self, port: int, actions: list[str]) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_server(("127.0.0.1", port))
        self.sock.settimeout(10)
        self.actions = actions
        self.requests: list[bytes] = []

    def run(self) -> None:
        for action in self.actions:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(4096)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(
                    next(
                        (line.split(b":")[1] for line in head.split(b"\r\n")
                         if line.lower().startswith(b"content-length:")),
                        b"0",
                    )
                )  # fmt: skip
                while len(body) < length:
                    body += connection.recv(4096)
                self.requests.append(head.split(b"\r\n")[0] + b" " + body)
                if action == "drop":
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                    continue  # closed with a reset, nothing answered
                connection.sendall(
                    f"HTTP/1.1 {action} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    .encode()
                )  # fmt: skip
        self.sock.close()


@pytest.mark.parametrize(
    ("actions", "status", "tries"),
    [(["drop", "200"], 200, 2), (["500", "200"], 500, 1)],
    ids=["dropped-is-retried", "error-answer-is-not"],
)
def test_the_shipped_nginx_retries_a_webhook_whose_connection_was_dropped(
    tmp_path, actions, status, tries
):
    """A worker killed mid-request drops its connection: nginx sends the POST once more (the
    writes are idempotent), so Twilio sees an answer; an answer, even an error, is not resent."""
    nginx = nginx_binary()
    app_port, proxy_port = free_port(), free_port()
    upstream = DroppingUpstream(app_port, actions)
    upstream.start()
    nginx_process = proxy.start_nginx(nginx, tmp_path / "proxy", app_port, proxy_port)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=20)
        connection.request(
            "POST", "/voice/menu?step=2", "CallSid=CA1&Digits=1",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        answered = connection.getresponse().status
        connection.close()
    finally:
        proxy.stop_nginx(nginx_process)
        upstream.sock.close()
    assert answered == status
    assert upstream.requests == [b"POST /voice/menu?step=2 HTTP/1.1 CallSid=CA1&Digits=1"] * tries
