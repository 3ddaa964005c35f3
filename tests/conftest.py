"""Fixtures shared by every test package: apps, a real PostgreSQL server, the shared data folder."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO / "config"
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A file under ../shared/, or skip the test with a message saying it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared material not found at {path} (clone ../shared beside the repo)")
    return path


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A private copy of the embedded config, free to edit."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hotline.db'}"


@pytest.fixture
def make_app(sqlite_url: str, tmp_path: Path):
    """Build an app on a fresh SQLite database; keyword arguments override settings."""
    from ivr import create_app

    def build(**overrides):
        settings = {
            "TESTING": True,
            "DATABASE_URL": sqlite_url,
            "CONFIG_DIR": str(CONFIG_DIR),
            "TWILIO_AUTH_TOKEN": "test-auth-token",
            "HOTLINE_PUBLIC_URL": "https://line.example.com",
            "SECRET_KEY": "test-secret",
            "AUTO_MIGRATE": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),  # plans, spool, demo files: per test
            # tests post hold polls milliseconds apart: each may start the dispatcher (the
            # throttle of production has a test of its own)
            "DISPATCH_HOLD_GAP_S": 0.0,
        }
        settings.update(overrides)
        return create_app(settings)

    return build


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


# --------------------------------------------------------------------------- PostgreSQL


def _pg_bindir() -> str | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return str(Path(found).resolve().parent)
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "pg_ctl").exists() and Path(candidate, "initdb").exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A throwaway PostgreSQL cluster on a temporary folder and a free loopback port."""

    def __init__(self, bindir: str):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user_prefix: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root: run the server as the `postgres` system user.
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError("running as root and no 'postgres' user exists") from exc
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.user_prefix = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run(self.user_prefix + list(args), check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            f"{self.bindir}/initdb",
            "-D",
            str(self.data),
            "-U",
            "hotline",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            f"{self.bindir}/pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://hotline@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=hotline dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self.user_prefix
            + [f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"],
            capture_output=True,
            timeout=60,
        )

    def restart(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            f"{self.bindir}/pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    bindir = _pg_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found; `make test` installs them"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: these tests must run)")
        pytest.skip(message)
    server = PostgresServer(bindir)
    try:
        server.start()
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        server.cleanup()
        message = f"could not start PostgreSQL: {exc} {detail.decode(errors='replace')[-400:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    yield server
    server.cleanup()


_db_counter = iter(range(1, 10_000))


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return postgres_server.create_database(f"hotline_test_{os.getpid()}_{next(_db_counter)}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request, tmp_path: Path) -> str:
    """Run the test once on SQLite and once on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'any.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def live_server(make_app, tmp_path):
    """Serve an app on a free loopback port in a thread: call it with settings; yields (app, base)."""
    from werkzeug.serving import make_server

    servers = []

    def start(**settings):
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        app = make_app(HOTLINE_PUBLIC_URL=base, TESTING=False, **settings)
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return app, base

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def run_tasks_inline(monkeypatch):
    """Background tasks (ivr.jobs.tasks.submit) run to their end before submit returns."""
    from ivr.jobs import tasks

    monkeypatch.setattr(tasks, "INLINE", True)
