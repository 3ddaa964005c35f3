"""A broken configuration never takes the line down: the running server keeps the last good one
through a reload, a killed worker and a recycle; only a cold start refuses an invalid one."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.loopback import free_port
from ivr import create_app
from ivr.cli import cli
from ivr.config import hotline_config, last_good
from ivr.config.loader import ConfigError
from ivr.demo.twilio_sim import twilio_signature
from tests.conftest import CONFIG_DIR, REPO

from .conftest import login

BROKEN = "languages: [en, it\n"  # a YAML flow list never closed


def settings(tmp_path: Path, config_dir: Path) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hotline.db'}",
        "CONFIG_DIR": str(config_dir),
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "k",
        "TWILIO_AUTH_TOKEN": "t",
    }


def break_line_yaml(config_dir: Path) -> None:
    line = config_dir / "line.yaml"
    line.write_text(line.read_text(encoding="utf-8") + BROKEN, encoding="utf-8")


def test_a_worker_starting_on_broken_files_runs_the_last_good_configuration(tmp_path, config_dir):
    create_app(settings(tmp_path, config_dir))  # loads, and is kept as the last good one
    break_line_yaml(config_dir)
    with pytest.raises(ConfigError):
        create_app(settings(tmp_path, config_dir))  # a cold start refuses
    app = create_app(settings(tmp_path, config_dir), server=True)  # a worker does not
    assert [lang.code for lang in hotline_config(app).languages] == ["en", "it", "pl", "ro", "nb"]
    health = app.test_client().get("/healthz")
    assert health.status_code == 503
    errors = health.get_json()["config"]["errors"]
    assert errors and all(error.startswith("config/line.yaml") for error in errors)
    client = app.test_client()
    login(client)
    page = client.get("/ops").get_data(as_text=True)
    assert "The configuration files are invalid" in page and "config/line.yaml" in page

    shutil.copy(CONFIG_DIR / "line.yaml", config_dir / "line.yaml")  # fixed
    assert app.test_client().get("/healthz").status_code == 200


def test_without_a_last_good_configuration_a_worker_refuses_too(tmp_path, config_dir):
    break_line_yaml(config_dir)
    with pytest.raises(ConfigError):
        create_app(settings(tmp_path, config_dir), server=True)


def test_the_last_good_copy_follows_each_configuration_that_loads(tmp_path, config_dir):
    create_app(settings(tmp_path, config_dir))
    first = last_good.saved_folder(tmp_path / "instance").resolve()
    line = config_dir / "line.yaml"
    line.write_text(line.read_text().replace("name: Hotline", "name: Helpline"))
    create_app(settings(tmp_path, config_dir))
    second = last_good.saved_folder(tmp_path / "instance")
    assert second.resolve() != first
    assert "name: Helpline" in (second / "line.yaml").read_text()


def test_serve_and_reload_refuse_an_invalid_configuration(tmp_path, config_dir, monkeypatch):
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'hotline.db'}")
    break_line_yaml(config_dir)
    for command in ("serve", "reload"):
        result = CliRunner().invoke(cli, [command])
        assert result.exit_code == 1, result.output
        assert "config/line.yaml:" in result.output and "refused" in result.output


def test_reload_checks_then_signals_the_running_server(tmp_path, config_dir, monkeypatch):
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'hotline.db'}")
    got = tmp_path / "got-hup"
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time\n"
            f"signal.signal(signal.SIGHUP, lambda *_: (open({str(got)!r}, 'w').write('hup'),"
            " sys.exit(0)))\n"
            "time.sleep(30)",
        ]
    )
    try:
        (tmp_path / "instance").mkdir()
        (tmp_path / "instance" / "gunicorn.pid").write_text(str(server.pid))
        time.sleep(0.3)  # the handler is installed
        result = CliRunner().invoke(cli, ["reload"])
        assert result.exit_code == 0, result.output
        server.wait(timeout=10)
        assert got.read_text() == "hup"
    finally:
        server.kill()


# --------------------------------------------------------------------------- a real server


def post_menu(port: int, base: str, sid: str) -> tuple[int, bytes]:
    form = {"CallSid": sid, "From": "+393331112222", "To": "+18005550100", "Digits": "1"}
    path = "/voice/menu?lang=en&attempt=1&step=2"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature("t", base + path, form),
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, urllib.parse.urlencode(form), headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def health(port: int) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def workers(master: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    )
    return [int(x) for x in out.stdout.split()]


def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def test_a_running_server_keeps_answering_through_a_broken_config_a_kill_and_reloads(
    tmp_path, config_dir
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hotline.db'}",
        "TWILIO_AUTH_TOKEN": "t",
        "HOTLINE_PUBLIC_URL": base,
        "HOTLINE_ALWAYS_OPEN": "1",
        "HOTLINE_INSTANCE_PATH": str(tmp_path / "instance"),
        "HOTLINE_CONFIG_DIR": str(config_dir),
        "HOTLINE_SECRET_KEY": "k",
    }
    hotline = str(Path(sys.executable).parent / "hotline")
    server = subprocess.Popen(
        [hotline, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--access-logfile", "/dev/null"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    answers: list[int] = []
    try:
        assert wait_for(lambda: health(port)[0] == 200), "the server did not start"
        break_line_yaml(config_dir)
        os.kill(workers(server.pid)[0], signal.SIGKILL)  # a worker starts again on broken files
        os.kill(server.pid, signal.SIGHUP)  # and every worker is replaced
        deadline = time.monotonic() + 6
        n = 0
        while time.monotonic() < deadline:
            n += 1
            status, body = post_menu(port, base, f"CA{n:032x}")
            answers.append(status)
            assert status == 200 and b">orders</Enqueue>" in body
        assert server.poll() is None, "the server exited"
        status, body = health(port)
        assert status == 503 and body["config"]["errors"][0].startswith("config/line.yaml")

        line = config_dir / "line.yaml"
        fixed = (CONFIG_DIR / "line.yaml").read_text().replace("[en, it,", "[it, en,")
        line.write_text(fixed)
        os.kill(server.pid, signal.SIGHUP)
        assert wait_for(
            lambda: health(port)[1]["config"]["languages"][:2] == ["it", "en"], seconds=30
        ), "the fixed configuration was not taken"
        problems = health(port)[1]["problems"]  # the worker killed above is reported for a minute
        assert problems and all(
            p.endswith("died without a clean exit") or "s ago" in p for p in problems
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    assert len(answers) > 10
