"""The deployment files in deploy/: systemd units that name real commands, and the nginx
configuration the documents point to."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from ivr.cli import TOPICS
from tests.conftest import REPO

SYSTEMD = REPO / "deploy" / "systemd"
UNITS = ("hotline.service", "hotline-scheduler.service")


def hotline_commands() -> set[str]:
    """The subcommands of ``hotline`` (its own and those registered on the app)."""
    return {
        command.name
        for topic in TOPICS
        for command in (*topic.COMMANDS, *topic.APP_COMMANDS)
        if command.name
    }


def read_unit(name: str) -> configparser.ConfigParser:
    # systemd allows a key more than once (ExecStartPre=...); strict=False keeps the last
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # keys are case-sensitive in systemd
    unit.read_string((SYSTEMD / name).read_text())
    return unit


def hotline_subcommand(command_line: str) -> str:
    """``/opt/hotline/.venv/bin/hotline serve`` -> ``serve``."""
    words = shlex.split(command_line)
    assert Path(words[0]).name == "hotline", f"{command_line!r} does not run hotline"
    return words[1]


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_has_its_sections_and_runs_a_hotline_command(name):
    unit = read_unit(name)
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    assert unit["Unit"].get("Description")
    assert unit["Install"].get("WantedBy") == "multi-user.target"
    assert hotline_subcommand(unit["Service"]["ExecStart"]) in hotline_commands()
    assert unit["Service"].get("Restart") == "always"


def test_the_app_unit_serves_and_reloads_through_hotline_reload():
    service = read_unit("hotline.service")["Service"]
    assert hotline_subcommand(service["ExecStart"]) == "serve"
    assert hotline_subcommand(service["ExecReload"]) == "reload"
    assert "reload" in hotline_commands()


def test_the_scheduler_unit_runs_the_scheduler():
    service = read_unit("hotline-scheduler.service")["Service"]
    assert hotline_subcommand(service["ExecStart"]) == "scheduler"
    assert "ExecReload" not in service  # it reads the configuration when it starts


def test_both_units_read_the_same_environment():
    files = {read_unit(name)["Service"]["EnvironmentFile"] for name in UNITS}
    assert len(files) == 1


def test_the_nginx_configuration_exists_and_the_documents_point_to_it():
    conf = REPO / "deploy" / "nginx" / "hotline.conf"
    assert "proxy_pass http://hotline;" in conf.read_text()
    for document in ("README.md", "docs/operations.md"):
        assert "deploy/nginx/hotline.conf" in (REPO / document).read_text(), document
    assert "deploy/systemd/" in (REPO / "docs" / "operations.md").read_text()
