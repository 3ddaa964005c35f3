"""Servers on 127.0.0.1 for the benchmarks and the tests that start real processes: a free port,
and waiting until something listens on one."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int, seconds: float = 30.0, process: subprocess.Popen | None = None) -> bool:
    """Whether something listens on ``port`` within ``seconds``; False at once if ``process``
    (the one meant to listen) has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False
