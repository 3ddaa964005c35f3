"""create_app and /healthz."""

from __future__ import annotations

from click.testing import CliRunner

from ivr.cli import cli
from ivr.store import db


def test_healthz_reports_version_config_and_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["version"] == "0.1.0"
    assert body["config"]["languages"] == ["en", "it", "pl", "ro", "nb"]
    assert body["config"]["timezone"] == "Europe/Rome"
    head = db.head_revision()
    assert body["database"] == {"backend": "sqlite", "head": head, "revision": head, "ok": True}


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

    import pytest

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
