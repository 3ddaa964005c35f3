"""The hotline command's conventions: its own version, help without side effects, a broken
configuration reported as `hotline config check` reports it, and machine-readable output."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from ivr.cli import cli
from tests.conftest import REPO

HOTLINE = Path(sys.executable).with_name("hotline")


def run_hotline(
    args: list[str], cwd: Path, python: str | None = None, **env: str
) -> subprocess.CompletedProcess:
    """The installed ``hotline`` script (or ``python`` code), in ``cwd``, without any
    HOTLINE_* variable."""
    if not HOTLINE.exists():
        pytest.skip(f"no hotline script beside {sys.executable}")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "FLASK_"))}
    clean["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-c", python] if python else [str(HOTLINE), *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_version_is_hotlines():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"hotline {metadata.version('hotline')}"
    assert "Flask" not in result.output


EVERY_HELP = """
import sys
from ivr.cli import cli
for name in sorted(cli.commands):
    try:
        cli.main([name, "--help"], prog_name="hotline")
    except SystemExit as exc:
        assert not exc.code, (name, exc.code)
    else:
        raise AssertionError(name)
"""


def test_help_leaves_an_empty_folder_empty(tmp_path):
    """`hotline --help` and every `hotline CMD --help` build no app: no instance folder, secret
    key, database or migrations, in the folder or in the default instance folder."""
    default_instance = Path(Flask("ivr", root_path=str(REPO / "ivr")).instance_path)
    existed = default_instance.exists()
    before = sorted(default_instance.rglob("*")) if existed else []
    for args in (["--help"], ["stats", "--help"]):
        result = run_hotline(args, tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        assert "Usage:" in result.stdout
        assert list(tmp_path.iterdir()) == [], args
    every = run_hotline([], tmp_path, python=EVERY_HELP)  # one process for all the commands
    assert every.returncode == 0, every.stderr
    assert every.stdout.count("Usage: hotline ") == len(cli.commands)
    assert list(tmp_path.iterdir()) == []
    assert default_instance.exists() == existed
    assert (sorted(default_instance.rglob("*")) if existed else []) == before


def test_help_makes_no_instance_folder_where_one_is_configured(tmp_path):
    instance = tmp_path / "instance"
    for args in (["--help"], ["stats", "--help"], ["db", "upgrade", "--help"], ["jobs"]):
        result = run_hotline(args, tmp_path, HOTLINE_INSTANCE_PATH=str(instance))
        assert result.returncode in (0, 2), (args, result.stderr)  # a bare group shows its help
        assert "Usage:" in result.stdout + result.stderr
    assert not instance.exists()


@pytest.fixture
def broken_config(config_dir):
    line = config_dir / "line.yaml"
    line.write_text(line.read_text(encoding="utf-8") + "timezone: [\n", encoding="utf-8")
    return config_dir


def test_a_broken_configuration_lists_every_command_and_is_reported(broken_config, tmp_path):
    env = {
        "HOTLINE_CONFIG_DIR": str(broken_config),
        "HOTLINE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    listed = run_hotline(["--help"], tmp_path, **env)
    assert listed.returncode == 0, listed.stderr
    names = {row.split()[0] for row in listed.stdout.split("Commands:")[1].splitlines() if row}
    assert {"roster", "stats", "plan", "db", "agents", "jobs", "erlang"} <= names
    checked = run_hotline(["config", "check"], tmp_path, **env)
    assert checked.returncode == 1 and "config/line.yaml:" in checked.stderr
    for args in (["stats"], ["jobs", "list"], ["agents", "list"]):
        result = run_hotline(args, tmp_path, **env)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stderr == checked.stderr
        assert "Traceback" not in result.stderr + result.stdout


def test_agents_list_and_jobs_list_formats(app):
    import csv
    import io
    import json

    from ivr.config import hotline_config

    runner = app.test_cli_runner()
    agents = hotline_config(app).agents
    table = runner.invoke(args=["agents", "list"])
    assert table.exit_code == 0 and table.output.splitlines()[0].startswith(agents[0].id)
    body = json.loads(runner.invoke(args=["agents", "list", "--format", "json"]).output)
    assert [a["id"] for a in body["agents"]] == [a.id for a in agents]
    assert body["agents"][0]["state"] == "no PIN"
    assert body["agents"][0]["skills"] == list(agents[0].skills)
    rows = list(
        csv.DictReader(
            io.StringIO(runner.invoke(args=["agents", "list", "--format", "csv"]).output)
        )
    )
    assert [r["id"] for r in rows] == [a.id for a in agents]

    jobs = json.loads(runner.invoke(args=["jobs", "list", "--format", "json"]).output)["jobs"]
    assert {"dial_callbacks", "retention"} <= {j["job"] for j in jobs}
    assert all(j["last_started"] is None and j["next_run"] for j in jobs)
    lines = runner.invoke(args=["jobs", "list", "--format", "csv"]).output.splitlines()
    assert lines[0] == "job,schedule,last_started,last_outcome,last_detail,next_run"
    assert len(lines) == len(jobs) + 1
