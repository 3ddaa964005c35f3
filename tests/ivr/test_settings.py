"""Environment variables: read in one place, typed, and a bad value named in a clear error."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ivr import create_app, settings
from ivr.cli import cli


def test_values_are_typed_and_empty_means_unset():
    env = settings.load(
        {
            "HOTLINE_API_TOKENS": " one, two ,,",
            "HOTLINE_ALWAYS_OPEN": "yes",
            "HOTLINE_AUTO_MIGRATE": "0",
            "HOTLINE_HOLD_ESTIMATE_CACHE_S": "0.5",
            "HOTLINE_WORKERS": "",
            "UNRELATED": "x",
        }
    )
    assert env.hotline_api_tokens == ["one", "two"]
    assert env.hotline_always_open is True and env.hotline_auto_migrate is False
    assert env.hotline_hold_estimate_cache_s == 0.5
    assert env.hotline_workers is None and env.hotline_threads == 4


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HOTLINE_HOLD_ESTIMATE_CACHE_S", "two", "valid number"),
        ("HOTLINE_HOLD_ESTIMATE_CACHE_S", "-1", "greater than or equal to 0"),
        ("HOTLINE_AUTO_MIGRATE", "maybe", "valid boolean"),
        ("HOTLINE_WORKERS", "many", "valid integer"),
        ("HOTLINE_API_MAX_DAYS", "0", "greater than or equal to 1"),
        ("HOTLINE_API_MAX_INTERVALS", "lots", "valid integer"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_value(name, value, says):
    with pytest.raises(settings.SettingsError) as info:
        settings.load({name: value})
    assert f"{name}={value!r}" in str(info.value) and says in str(info.value)


def test_api_limits_reach_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("HOTLINE_API_MAX_DAYS", "31")
    monkeypatch.setenv("HOTLINE_API_MAX_INTERVALS", "5000")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"})
    assert (app.config["API_MAX_DAYS"], app.config["API_MAX_INTERVALS"]) == (31, 5000)
    defaults = settings.load({})
    assert (defaults.hotline_api_max_days, defaults.hotline_api_max_intervals) == (400, 20_000)


def test_the_app_refuses_to_start_with_a_bad_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("HOTLINE_ALWAYS_OPEN", "perhaps")
    with pytest.raises(settings.SettingsError, match="HOTLINE_ALWAYS_OPEN='perhaps'"):
        create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"})


def test_the_command_line_says_which_variable_is_wrong(monkeypatch):
    monkeypatch.setenv("HOTLINE_THREADS", "lots")
    result = CliRunner().invoke(cli, ["config", "check"])
    assert result.exit_code == 1
    assert "HOTLINE_THREADS='lots'" in result.output
    result = CliRunner().invoke(cli, ["db", "current"])
    assert result.exit_code == 1 and "HOTLINE_THREADS='lots'" in result.output
    assert "Traceback" not in result.output
