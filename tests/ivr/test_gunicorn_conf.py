"""The production server's settings (``ivr/gunicorn_conf.py``)."""

from __future__ import annotations

import gc
import runpy

import pytest

from tests.conftest import REPO


def test_settings_answer_within_twilios_15_seconds():
    settings = runpy.run_path(str(REPO / "ivr" / "gunicorn_conf.py"))
    assert settings["timeout"] < 15 and settings["worker_class"] == "gthread"


def test_a_worker_moves_what_loading_the_app_allocated_out_of_the_collectors_way():
    settings = runpy.run_path(str(REPO / "ivr" / "gunicorn_conf.py"))
    gc.unfreeze()
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


class _Server:
    """What gunicorn's arbiter hands the ``when_ready`` hook: its settings and its log."""

    def __init__(self, workers: int) -> None:
        self.cfg = type("Cfg", (), {"workers": workers})()
        self.warnings: list[str] = []
        self.log = type(
            "Log", (), {"warning": lambda _self, message: self.warnings.append(message)}
        )()


@pytest.mark.postgres
def test_starting_more_workers_than_postgresql_has_connections_for_is_warned_of(
    postgres_url, monkeypatch
):
    from ivr.store.db import CONNECTIONS_PER_WORKER, connection_budget

    settings = runpy.run_path(str(REPO / "ivr" / "gunicorn_conf.py"))
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    # the test server accepts 200 connections, 3 of them reserved for superusers
    fits = (200 - 3) // CONNECTIONS_PER_WORKER
    assert connection_budget(postgres_url, fits) is None
    few, many = _Server(fits), _Server(fits + 1)
    settings["when_ready"](few)
    settings["when_ready"](many)
    assert few.warnings == []
    (warning,) = many.warnings
    peak = (fits + 1) * CONNECTIONS_PER_WORKER
    assert f"{fits + 1} workers" in warning and f"{peak} at a peak" in warning
    assert "accepts 197" in warning and "max_connections 200" in warning


def test_no_connection_budget_on_sqlite_nor_without_a_server(tmp_path, monkeypatch):
    from ivr.store.db import connection_budget

    assert connection_budget(f"sqlite:///{tmp_path / 'h.db'}", 1000) is None
    # a PostgreSQL nobody listens on: the check cannot ask, and says nothing rather than fail
    assert connection_budget("postgresql://hotline@127.0.0.1:9/none", 1000) is None
    settings = runpy.run_path(str(REPO / "ivr" / "gunicorn_conf.py"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    server = _Server(1000)
    settings["when_ready"](server)
    assert server.warnings == []
