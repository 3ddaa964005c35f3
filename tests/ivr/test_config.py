"""The line's configuration: the embedded files load, and each kind of mistake is named exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import cli
from ivr.config.loader import ConfigError, load_config


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def issues_of(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    return [str(issue) for issue in info.value.issues]


def test_embedded_config_loads_with_every_language_and_queue():
    cfg = load_config()
    assert [lang.code for lang in cfg.languages] == ["en", "it", "pl", "ro", "nb"]
    assert cfg.queue_ids() == ["orders", "complaints", "technical", "general"]
    assert cfg.queue("complaints").service_level.answer_time_s == 30
    assert cfg.language("it").voice == "Polly.Bianca"
    assert cfg.language("xx").code == "en"  # unknown code falls back to the default language
    assert str(cfg.tz) == "Europe/Rome"
    assert {a.id for a in cfg.agents} >= {"A001", "A010"}
    assert cfg.staffing.shift_templates[0].name == "early"


def test_unknown_time_zone_names_file_line_and_field(config_dir):
    edit(config_dir / "line.yaml", "timezone: Europe/Rome", "timezone: Europe/Atlantis")
    assert issues_of(config_dir) == [
        "config/line.yaml:4: timezone: unknown IANA time zone 'Europe/Atlantis' (got 'Europe/Atlantis')"
    ]


def test_service_level_target_outside_zero_one(config_dir):
    edit(
        config_dir / "queues.yaml",
        "service_level: {target: 0.80, answer_time_s: 30}",
        "service_level: {target: 1.5, answer_time_s: 30}",
    )
    (issue,) = issues_of(config_dir)
    assert issue.startswith("config/queues.yaml:13: queues[1].service_level.target:")
    assert "less than 1" in issue and "1.5" in issue


def test_duplicate_menu_key_names_the_other_queue(config_dir):
    text = (config_dir / "queues.yaml").read_text()
    (config_dir / "queues.yaml").write_text(text.replace('key: "3"', 'key: "1"'))
    (issue,) = issues_of(config_dir)
    assert (
        issue == "config/queues.yaml:19: queues[2].key: key '1' is already used by queue 'orders'"
    )


def test_menu_key_colliding_with_operator_key(config_dir):
    edit(config_dir / "queues.yaml", 'key: "4"', 'key: "0"')
    (issue,) = issues_of(config_dir)
    assert (
        issue
        == "config/queues.yaml:26: queues[3].key: key '0' is already line.yaml menu.operator_key"
    )


def test_missing_prompt_in_one_language(config_dir):
    path = config_dir / "languages" / "pl.yaml"
    lines = [
        line
        for line in path.read_text().splitlines()
        if not line.strip().startswith("closed_options:")
    ]
    path.write_text("\n".join(lines) + "\n")
    (issue,) = issues_of(config_dir)
    assert issue == "config/languages/pl.yaml:6: prompts.closed_options: Field required"


def test_misspelt_field_is_refused(config_dir):
    edit(config_dir / "staffing.yaml", "shrinkage: 0.30", "shrinkge: 0.30")
    found = issues_of(config_dir)
    assert "config/staffing.yaml:3: shrinkge: unknown field (misspelt?)" in found
    assert "config/staffing.yaml:2: shrinkage: Field required" in found


def test_opening_hours_closing_before_opening(config_dir):
    edit(config_dir / "hours.yaml", 'tuesday:   ["08:00-20:00"]', 'tuesday:   ["20:00-08:00"]')
    (issue,) = issues_of(config_dir)
    assert issue.startswith(
        "config/hours.yaml:4: business_hours.tuesday[0]: closing time 08:00 is not after opening 20:00"
    )


def test_unknown_holiday_country(config_dir):
    edit(config_dir / "hours.yaml", "country: IT", "country: XX")
    (issue,) = issues_of(config_dir)
    assert issue.startswith("config/hours.yaml:10: holidays: unknown holiday country code 'XX'")


def test_broken_yaml_syntax_gives_line(config_dir):
    edit(config_dir / "queues.yaml", "  - id: technical", "  - id: technical: [")
    (issue,) = issues_of(config_dir)
    assert re.match(r"config/queues\.yaml:1[78]: not valid YAML: ", issue), issue


def test_agents_csv_errors_carry_line_numbers(config_dir):
    path = config_dir / "agents.csv"
    text = path.read_text()
    text = text.replace(
        "A003,Anna Kowalska,orders;complaints;general,pl;en,20,30,",
        "A003,Anna Kowalska,orders;billing,pl;en,40,30,",
    )
    path.write_text(text + "A001,Someone Else,orders,en,10,20,\n")
    found = issues_of(config_dir)
    assert (
        "config/agents.csv:4: agent A003.max_hours_week: max_hours_week 30 is below min_hours_week 40"
        in found
    )
    last = len(text.splitlines()) + 1  # the appended line
    assert f"config/agents.csv:{last}: agent A001.id: duplicate id (first on line 2)" in found


def test_agents_whose_agent_numbers_collide(config_dir, monkeypatch):
    """The agent line knows an agent by the digits of the id: B007 would be A007's number."""
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(config_dir))  # --config-dir sets it; restored
    path = config_dir / "agents.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "B007,Someone Else,orders,en,10,20,\n", encoding="utf-8")
    last = len(text.splitlines()) + 1
    found = issues_of(config_dir)
    assert found == [
        f"config/agents.csv:{last}: agent B007.id: agent number 7 is also A007's (line 8): "
        "the agent line could not tell them apart"
    ]
    checked = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "config", "check"])
    assert checked.exit_code != 0 and f"agents.csv:{last}" in checked.output


def test_agent_with_unknown_skill(config_dir):
    edit(
        config_dir / "agents.csv",
        "A004,Piotr Nowak,technical;orders",
        "A004,Piotr Nowak,technical;billing",
    )
    assert issues_of(config_dir) == [
        "config/agents.csv: agent A004.skills: unknown queue 'billing'"
    ]


def test_missing_file_and_missing_general_queue(config_dir):
    (config_dir / "staffing.yaml").unlink()
    path = config_dir / "queues.yaml"
    path.write_text(path.read_text().split("  - id: general")[0])
    found = issues_of(config_dir)
    assert "config/staffing.yaml: file is missing" in found
    assert any(
        f.startswith("config/queues.yaml:2: queues: a 'general' queue is required") for f in found
    )


def test_every_error_is_reported_at_once(config_dir):
    edit(config_dir / "line.yaml", "timezone: Europe/Rome", "timezone: Mars/Olympus")
    edit(config_dir / "staffing.yaml", "max_occupancy: 0.85", "max_occupancy: 1.85")
    found = issues_of(config_dir)
    assert len(found) == 2
    assert found[0].startswith("config/line.yaml:4: timezone")
    assert found[1].startswith("config/staffing.yaml:4: max_occupancy")


def test_cli_config_check_ok_and_errors(config_dir):
    runner = cli.make_context  # noqa: F841 - the group itself is the entry point
    ok = CliRunner().invoke(cli, ["config", "check", "--config-dir", str(config_dir)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("ok (")

    edit(config_dir / "line.yaml", "default_language: en", "default_language: de")
    bad = CliRunner().invoke(cli, ["config", "check", "--config-dir", str(config_dir)])
    assert bad.exit_code == 1
    assert "config/line.yaml:" in bad.output
    assert "default_language 'de' is not among languages" in bad.output
    assert "1 error(s)" in bad.output


def test_jobs_left_out_keep_their_default_schedule_and_null_turns_one_off(config_dir):
    """A line.yaml written before a job existed still runs it; ``name: null`` switches one off."""
    line = config_dir / "line.yaml"
    text = line.read_text(encoding="utf-8")
    kept = [row for row in text.splitlines(keepends=True) if "close_orphan_waits:" not in row]
    line.write_text("".join(kept), encoding="utf-8")
    edit(line, 'retention: {cron: "30 3 * * *"}', "retention: null")
    jobs = load_config(config_dir).line.scheduler.jobs
    assert jobs["close_orphan_waits"].every_s == 60  # left out: its default
    assert jobs["dial_callbacks"].every_s == 30 and "retention" not in jobs

    edit(line, "retention: null", "retension: null")
    assert any("retension" in issue for issue in issues_of(config_dir))


def test_a_retired_job_named_in_line_yaml_is_accepted_and_not_run(config_dir):
    """``rollup_stats`` wrote a table nothing read; a line.yaml that still names it loads."""
    line = config_dir / "line.yaml"
    edit(line, "    retention:", "    rollup_stats: {every_s: 900}\n    retention:")
    jobs = load_config(config_dir).line.scheduler.jobs
    assert "rollup_stats" not in jobs and "retention" in jobs


def test_one_config_folder_option_for_every_command(config_dir, monkeypatch, tmp_path):
    """``hotline --config-dir X`` reaches the commands that load the app as well as those that
    read the folder themselves."""
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(tmp_path / "elsewhere"))  # restored afterwards
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path / "instance"))
    agents = config_dir / "agents.csv"
    rows = agents.read_text(encoding="utf-8").splitlines(keepends=True)
    agents.write_text("".join(rows[:3]), encoding="utf-8")  # the header and two agents
    checked = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "config", "check"])
    assert checked.exit_code == 0 and "2 agents" in checked.output
    listed = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "agents", "list"])
    assert listed.exit_code == 0, listed.output
    assert len([row for row in listed.output.splitlines() if row.startswith("A0")]) == 2


def test_the_default_config_folder_of_a_checkout_and_of_an_installed_package(tmp_path, monkeypatch):
    from ivr.config import loader

    monkeypatch.delenv("HOTLINE_CONFIG_DIR", raising=False)
    assert loader.default_config_dir() == Path(loader.__file__).resolve().parents[2] / "config"
    # installed (not editable): no checkout around the package, so ./config of the current folder
    installed = tmp_path / "site-packages" / "ivr" / "config" / "loader.py"
    monkeypatch.setattr(loader, "__file__", str(installed))
    monkeypatch.chdir(tmp_path)
    assert loader.default_config_dir() == tmp_path / "config"
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(tmp_path / "elsewhere"))
    assert loader.default_config_dir() == tmp_path / "elsewhere"
