"""create_app and /healthz."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.exc import OperationalError

from ivr import clock
from ivr.cli import cli
from ivr.store import db
from ivr.voice import spool


def test_healthz_reports_version_config_and_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["version"] == "0.1.0"
    assert body["config"]["languages"] == ["en", "it", "pl", "ro", "nb"]
    assert body["config"]["timezone"] == "Europe/Rome"
    head = db.head_revision()
    assert body["database"] == {
        "backend": "sqlite",
        "head": head,
        "revision": head,
        "ok": True,
        "writes": "ok",
    }
    assert body["problems"] == [] and body["spool"]["writable"] is True


def test_healthz_is_503_until_the_schema_is_migrated(make_app):
    app = make_app(AUTO_MIGRATE=False)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert "hotline db upgrade" in body["database"]["error"]


def test_healthz_on_postgresql(make_app, postgres_url):
    app = make_app(DATABASE_URL=postgres_url)
    body = app.test_client().get("/healthz").get_json()
    assert body["database"]["backend"] == "postgresql"
    assert body["database"]["ok"] is True


def test_cli_db_upgrade_on_a_new_sqlite_file(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("HOTLINE_AUTO_MIGRATE", "0")
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    head = db.head_revision()
    assert f"at {head}" in result.output
    result = CliRunner().invoke(cli, ["db", "current"])
    assert f"current {head}, head {head}" in result.output


def test_invalid_config_stops_the_app_with_the_reason(make_app, tmp_path):
    import shutil

    from ivr.config.loader import ConfigError
    from tests.conftest import CONFIG_DIR

    broken = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, broken)
    (broken / "line.yaml").write_text(
        (broken / "line.yaml")
        .read_text()
        .replace("timezone: Europe/Rome", "timezone: Nowhere/Land")
    )
    with pytest.raises(ConfigError, match="unknown IANA time zone 'Nowhere/Land'"):
        make_app(CONFIG_DIR=str(broken))


# --------------------------------------------------------------------------- health tells the truth


def test_a_database_that_reads_but_refuses_writes_is_reported(make_app, tmp_path):
    make_app()  # creates and migrates the database
    read_only = f"sqlite:///file:{tmp_path / 'hotline.db'}?mode=ro&uri=true"
    app = make_app(DATABASE_URL=read_only, AUTO_MIGRATE=False)
    response = app.test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 503 and body["database"]["ok"] is False
    assert "readonly database" in body["database"]["error"]
    assert body["problems"][0].startswith("database:")


def test_a_refused_write_makes_the_health_check_fail(make_app, monkeypatch):
    from ivr.store import db as store_db

    app = make_app()

    def refusing(engine, at):
        raise OperationalError(
            "UPDATE health_probe", {}, Exception("attempt to write a readonly database")
        )

    monkeypatch.setattr(store_db, "_probe_write", refusing)
    response = app.test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 503
    assert "readonly database" in body["database"]["error"]
    assert body["problems"][0].startswith("database:")


def test_a_spool_that_cannot_be_written_is_reported_and_requests_are_held(make_app, tmp_path):
    spool_dir = tmp_path / "spool-volume"
    app = make_app(SPOOL_DIR=str(spool_dir))
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert spool.spool_path(app).parent == spool_dir
    (spool_dir / "webhooks.jsonl").unlink(missing_ok=True)
    spool_dir.rmdir()
    spool_dir.write_text("a file where the folder was: nothing can be written there")
    with app.test_request_context("/voice/menu", method="POST", data={"CallSid": "CA1"}):
        spool.keep(app, clock.now())  # the disk refuses: held in memory
    assert spool.unwritten() == 1
    body = client.get("/healthz").get_json()
    assert body["spool"] == {"dir": str(spool_dir), "writable": False, "held_in_memory": 1}
    assert any("spool cannot be written" in p for p in body["problems"])
    spool_dir.unlink()  # the volume is back
    response = client.get("/healthz")
    assert response.status_code == 200 and spool.unwritten() == 0
    assert spool.pending(app) == 1  # written once it could be


def test_a_nearly_full_disk_is_reported(make_app):
    app = make_app(DISK_MIN_FREE_MB=10**12)  # more than any disk has free
    response = app.test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 503
    assert set(body["disk"]["low"]) == {"database", "spool"}
    assert any(problem.startswith("database disk:") for problem in body["problems"])


def test_a_worker_that_died_without_a_clean_exit_is_reported_for_20_seconds(app, tmp_path):
    from ivr.web import health

    gone = subprocess.Popen(["true"])
    gone.wait()
    instance = app.instance_path
    health.worker_started(instance)  # this process: alive, not reported
    (Path(instance) / health.WORKERS / str(gone.pid)).write_text("")  # never left cleanly
    body = app.test_client().get("/healthz").get_json()
    assert body["problems"] == [f"worker {gone.pid} died without a clean exit"]
    assert health.worker_deaths(instance, now=time.time() + 15) == [
        f"worker {gone.pid} died without a clean exit"
    ]
    assert health.worker_deaths(instance, now=time.time() + 21) == []  # forgotten
    health.worker_exited(instance)  # this process leaves cleanly
    assert app.test_client().get("/healthz").status_code == 200
