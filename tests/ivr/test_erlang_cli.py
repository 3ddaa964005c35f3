"""`hotline erlang`: the calculator against staffing.erlang and the Call Centre Helper case."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ivr.cli import cli
from staffing import erlang

CASE = ["--calls", "100", "--interval", "30min", "--aht", "180s", "--sl", "80/20"]


def run(*args: str):
    return CliRunner().invoke(cli, ["erlang", *args])


def test_the_call_centre_helper_case():
    """100 calls in 30 minutes, 3 minutes each, 80% within 20 s: 14 agents, 88.84% answered
    in time, ASA 7.8 s, occupancy 71.4%, 20 scheduled with 30% shrinkage (Call Centre Helper's
    worked example, as tests/staffing/test_erlang.py checks it)."""
    result = run(*CASE, "--shrinkage", "0.3", "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    c = body["erlang_c"]
    assert body["traffic_erlangs"] == 10
    assert c["agents"] == 14 and c["scheduled_agents"] == 20
    assert c["service_level"] == pytest.approx(0.8884, abs=1e-4)
    assert c["asa_s"] == pytest.approx(7.8, abs=0.05)
    assert c["occupancy"] == pytest.approx(10 / 14, abs=1e-4)
    assert c["p_wait"] == pytest.approx(0.1741, abs=1e-4)
    assert body["erlang_a"] is None
    table = run(*CASE, "--shrinkage", "30%").output
    assert "agents needed     14" in table and "service level     88.8%" in table
    assert "scheduled agents  20 (shrinkage 30%)" in table and "Erlang A" not in table


@pytest.mark.parametrize(
    "calls, aht, sl, answer, patience",
    [(100, 180, 0.8, 20, 120), (37.5, 420, 0.9, 30, 240), (2, 240, 0.8, 20, 60)],
)
def test_the_figures_are_staffing_erlangs(calls, aht, sl, answer, patience):
    args = ["--calls", str(calls), "--aht", f"{aht / 60:g}min", "--sl", f"{sl:.0%}/{answer}s"]
    result = run(*args, "--patience", f"{patience}s", "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    n_c = int(
        erlang.agents_for_service_level(
            calls, interval_s=1800, aht_s=aht, service_level=sl, answer_time_s=answer
        )
    )
    n_a = int(
        erlang.agents_for_service_level_erlang_a(
            calls,
            interval_s=1800,
            aht_s=aht,
            patience_s=patience,
            service_level=sl,
            answer_time_s=answer,
        )
    )
    assert body["erlang_c"]["agents"] == n_c and body["erlang_a"]["agents"] == n_a
    a = erlang.erlang_a_performance(
        calls, n_a, interval_s=1800, aht_s=aht, patience_s=patience, answer_time_s=answer
    )
    assert body["erlang_a"]["abandon_rate"] == pytest.approx(float(a.p_abandon), abs=1e-4)
    assert body["erlang_a"]["service_level"] == pytest.approx(float(a.service_level), abs=1e-4)
    assert body["erlang_a"]["service_level"] >= sl
    at_c = erlang.erlang_a_performance(
        calls, n_c, interval_s=1800, aht_s=aht, patience_s=patience, answer_time_s=answer
    )
    same = body["erlang_a"]["with_erlang_c_agents"]
    assert same["agents"] == n_c
    assert same["abandon_rate"] == pytest.approx(float(at_c.p_abandon), abs=1e-4)


def test_erlang_a_in_the_table():
    table = run(*CASE, "--patience", "120s").output
    assert "Erlang A (callers hang up after 120 s on average)" in table
    assert "abandon rate" in table and "of calls offered" in table


@pytest.mark.parametrize(
    "args, message",
    [
        (["--calls", "100", "--aht", "soon"], "'soon' is not a positive length of time"),
        (["--calls", "100", "--aht", "180s", "--sl", "80"], "e.g. 80/20"),
        (["--calls", "100", "--aht", "180s", "--sl", "100/20"], "below 100%"),
        (["--calls", "100", "--aht", "180s", "--shrinkage", "1"], "below 100%"),
        (["--calls", "-1", "--aht", "180s"], "--calls"),
    ],
)
def test_bad_input_is_a_usage_error(args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
