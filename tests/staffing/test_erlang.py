"""Erlang C and Erlang A: textbook values, agreement with pyworkforce, the simulation, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staffing.erlang import (
    agents_for_asa,
    agents_for_service_level,
    agents_for_service_level_erlang_a,
    erlang_a_performance,
    erlang_b,
    erlang_c,
    erlang_c_performance,
    scheduled_agents,
    traffic,
)
from staffing.simulation import simulate


def test_call_centre_helper_textbook_case():
    n = agents_for_service_level(
        100, interval_s=1800, aht_s=180, service_level=0.8, answer_time_s=20
    )
    assert int(n) == 14
    perf = erlang_c_performance(100, 14, interval_s=1800, aht_s=180, answer_time_s=20)
    assert float(perf.p_wait) == pytest.approx(0.1741, abs=5e-5)
    assert float(perf.service_level) == pytest.approx(0.8884, abs=5e-5)
    assert float(perf.asa_s) == pytest.approx(7.8, abs=0.05)
    assert float(perf.occupancy) == pytest.approx(10 / 14)
    assert int(scheduled_agents(n, 0.30)) == 20
    thirteen = erlang_c_performance(100, 13, interval_s=1800, aht_s=180, answer_time_s=20)
    assert float(thirteen.service_level) < 0.8


def test_erlang_b_known_values():
    # Classic table values: B(5, 2) = 0.0367, B(10, 5) = 0.0184
    assert erlang_b([5, 10], [2.0, 5.0]) == pytest.approx([0.03670, 0.01838], abs=5e-5)
    assert float(erlang_b(0, 3.0)) == 1.0


def test_pyworkforce_agrees_on_a_thousand_cases():
    pyworkforce = pytest.importorskip(
        "pyworkforce.queuing", reason="pyworkforce is the reference (test extra)"
    )
    rng = np.random.default_rng(7)
    cases = 1000
    calls = rng.integers(1, 1500, cases).astype(float)
    aht = rng.integers(30, 900, cases).astype(float)
    answer = rng.integers(5, 90, cases).astype(float)
    target = rng.uniform(0.5, 0.97, cases).round(3)
    ours = agents_for_service_level(
        calls, interval_s=1800, aht_s=aht, service_level=target, answer_time_s=answer
    )
    theirs = np.array(
        [
            pyworkforce.ErlangC(
                transactions=c, aht=h / 60, asa=t / 60, interval=30
            ).required_positions(service_level=s)["raw_positions"]
            for c, h, t, s in zip(calls, aht, answer, target, strict=True)
        ]
    )
    assert np.array_equal(ours, theirs), np.argwhere(ours != theirs)[:5]


def test_pyworkforce_service_levels_agree():
    pyworkforce = pytest.importorskip(
        "pyworkforce.queuing", reason="pyworkforce is the reference (test extra)"
    )
    rng = np.random.default_rng(11)
    calls = rng.integers(1, 800, 200).astype(float)
    agents = np.ceil(calls * 240 / 1800) + rng.integers(1, 10, 200)
    ours = erlang_c_performance(calls, agents, interval_s=1800, aht_s=240, answer_time_s=20)
    for c, n, sl, pw in zip(calls, agents, ours.service_level, ours.p_wait, strict=True):
        model = pyworkforce.ErlangC(transactions=c, aht=4, asa=20 / 60, interval=30)
        assert sl == pytest.approx(model.service_level(int(n)), abs=1e-9)
        assert pw == pytest.approx(model.waiting_probability(int(n)), abs=1e-9)


def test_zero_calls_need_zero_agents_and_fractions_of_an_erlang_work():
    n = agents_for_service_level(
        [0, 0.2, 1, 3], interval_s=1800, aht_s=300, service_level=0.8, answer_time_s=20
    )
    assert n.tolist() == [0, 1, 1, 2]
    perf = erlang_c_performance([0, 0.2], [0, 1], interval_s=1800, aht_s=300, answer_time_s=20)
    assert perf.service_level.tolist()[0] == 1.0 and perf.asa_s.tolist()[0] == 0.0
    assert 0 < perf.p_wait[1] < 0.05


def test_fifty_thousand_erlangs_is_finite_and_square_root_staffed():
    load = 50_000.0
    n = int(
        agents_for_service_level(
            load * 1800 / 180, interval_s=1800, aht_s=180, service_level=0.8, answer_time_s=20
        )
    )
    assert load < n < load + 3 * np.sqrt(load)
    perf = erlang_c_performance(load * 10, [n - 1, n], interval_s=1800, aht_s=180, answer_time_s=20)
    assert perf.service_level[0] < 0.8 <= perf.service_level[1]
    assert np.isfinite(perf.asa_s).all()


def test_unstable_intervals_wait_for_sure():
    perf = erlang_c_performance(100, [10, 5], interval_s=1800, aht_s=180, answer_time_s=20)
    assert perf.p_wait.tolist() == [1.0, 1.0]
    assert perf.service_level.tolist() == [0.0, 0.0]
    assert np.isinf(perf.asa_s).all()
    assert float(erlang_c(3, 0.0)) == 0.0


def test_asa_target_and_occupancy_cap():
    asa_n = agents_for_asa(100, interval_s=1800, aht_s=180, asa_s=7.9)
    assert int(asa_n) == 14
    assert int(agents_for_asa(100, interval_s=1800, aht_s=180, asa_s=7.8)) == 15
    capped = agents_for_service_level(
        1000, interval_s=1800, aht_s=180, service_level=0.5, answer_time_s=60, max_occupancy=0.85
    )
    assert int(capped) == int(np.ceil(100 / 0.85))


def test_scalars_broadcast_against_arrays():
    n = agents_for_service_level(
        np.array([[100, 200], [300, 400]]),
        interval_s=1800,
        aht_s=180,
        service_level=0.8,
        answer_time_s=20,
    )
    assert n.shape == (2, 2)
    assert n[0, 0] == 14


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"calls": [10, -3, 5]}, r"calls\[1\] = -3\.0: must be a finite number >= 0"),
        ({"calls": [10, np.nan]}, r"calls\[1\] = nan"),
        ({"aht_s": [180, 0, 180]}, r"aht_s\[1\] = 0\.0: must be a finite number > 0"),
        ({"service_level": 1.0}, r"service_level = 1\.0: must be a finite number > 0 and < 1"),
        ({"service_level": [0.8, 0.8, 0.0]}, r"service_level\[2\] = 0\.0"),
        ({"answer_time_s": -1}, r"answer_time_s = -1\.0"),
        ({"max_occupancy": 1.5}, r"max_occupancy = 1\.5: must be a finite number > 0 and <= 1"),
        ({"interval_s": 0}, r"interval_s = 0\.0"),
    ],
)
def test_invalid_input_names_argument_and_interval(kwargs, message):
    args = {
        "calls": [10, 20, 30],
        "interval_s": 1800,
        "aht_s": 180,
        "service_level": 0.8,
        "answer_time_s": 20,
    }
    args.update(kwargs)
    calls = args.pop("calls")
    with pytest.raises(ValueError, match=message):
        agents_for_service_level(calls, **args)


def test_agents_must_be_whole():
    with pytest.raises(ValueError, match=r"agents\[1\] = 2\.5: must be a whole number"):
        erlang_c_performance(10, [2, 2.5], interval_s=1800, aht_s=180, answer_time_s=20)
    with pytest.raises(ValueError, match=r"shrinkage = 1\.0"):
        scheduled_agents(10, 1.0)


@settings(max_examples=200, deadline=None)
@given(
    calls=st.floats(0.01, 20_000),
    aht=st.floats(10, 1200),
    target=st.floats(0.05, 0.99),
    answer=st.floats(0, 300),
)
def test_required_agents_are_the_fewest_that_meet_the_target(calls, aht, target, answer):
    n = int(
        agents_for_service_level(
            calls, interval_s=1800, aht_s=aht, service_level=target, answer_time_s=answer
        )
    )
    perf = erlang_c_performance(
        calls, [n, max(n - 1, 0)], interval_s=1800, aht_s=aht, answer_time_s=answer
    )
    assert perf.service_level[0] >= target
    assert perf.service_level[1] < target or n - 1 <= traffic(calls, 1800, aht)


# --------------------------------------------------------------------------- Erlang A


def test_erlang_a_tends_to_erlang_c_with_endless_patience():
    a = erlang_a_performance(100, 14, interval_s=1800, aht_s=180, patience_s=1e9, answer_time_s=20)
    c = erlang_c_performance(100, 14, interval_s=1800, aht_s=180, answer_time_s=20)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-6)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-6)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-4)
    assert float(a.p_abandon) < 1e-6


def test_erlang_a_can_staff_below_the_offered_load():
    calls = 5000  # 500 Erlangs
    n = int(
        agents_for_service_level_erlang_a(
            calls, interval_s=1800, aht_s=180, patience_s=60, service_level=0.5, answer_time_s=60
        )
    )
    assert n < 500
    perf = erlang_a_performance(
        calls, [n - 1, n], interval_s=1800, aht_s=180, patience_s=60, answer_time_s=60
    )
    assert perf.service_level[0] < 0.5 <= perf.service_level[1]
    assert (
        int(
            agents_for_service_level_erlang_a(
                0, interval_s=1800, aht_s=180, patience_s=60, service_level=0.5, answer_time_s=60
            )
        )
        == 0
    )


def test_erlang_a_abandonment_cap():
    loose = agents_for_service_level_erlang_a(
        400, interval_s=1800, aht_s=180, patience_s=120, service_level=0.5, answer_time_s=30
    )
    strict = agents_for_service_level_erlang_a(
        400,
        interval_s=1800,
        aht_s=180,
        patience_s=120,
        service_level=0.5,
        answer_time_s=30,
        max_abandon=0.02,
    )
    assert strict > loose
    perf = erlang_a_performance(
        400, strict, interval_s=1800, aht_s=180, patience_s=120, answer_time_s=30
    )
    assert perf.p_abandon <= 0.02


def test_erlang_a_with_nobody_on_line():
    perf = erlang_a_performance(10, 0, interval_s=1800, aht_s=180, patience_s=60, answer_time_s=20)
    assert (float(perf.p_abandon), float(perf.service_level)) == (1.0, 0.0)


def batch_estimate(result, column_num, column_den="offered"):
    df = result.intervals.iloc[2:]  # the queue starts empty: drop the warm-up
    ratios = df[column_num] / df[column_den]
    estimate = df[column_num].sum() / df[column_den].sum()
    return estimate, ratios.std(ddof=1) / np.sqrt(len(ratios))


@pytest.mark.parametrize(
    "calls, agents, patience_s, answer_time_s",
    [(400, 38, 120.0, 20.0), (100, 8, 60.0, 20.0), (3000, 290, 90.0, 30.0), (60, 7, 300.0, 15.0)],
)
def test_erlang_a_matches_the_simulation_within_sampling_error(
    calls, agents, patience_s, answer_time_s
):
    k = 60
    result = simulate(
        np.full(k, calls),
        np.full(k, agents),
        interval_s=1800,
        aht_s=180,
        answer_time_s=answer_time_s,
        patience_s=patience_s,
        seed=3,
    )
    perf = erlang_a_performance(
        calls,
        agents,
        interval_s=1800,
        aht_s=180,
        patience_s=patience_s,
        answer_time_s=answer_time_s,
    )
    sl, sl_se = batch_estimate(result, "answered_within")
    ab, ab_se = batch_estimate(result, "abandoned")
    assert abs(sl - float(perf.service_level)) < 4 * sl_se + 0.005, (
        sl,
        float(perf.service_level),
        sl_se,
    )
    assert abs(ab - float(perf.p_abandon)) < 4 * ab_se + 0.005, (ab, float(perf.p_abandon), ab_se)


def test_erlang_c_matches_the_simulation_within_sampling_error():
    k = 80
    result = simulate(
        np.full(k, 200), np.full(k, 24), interval_s=1800, aht_s=180, answer_time_s=20, seed=5
    )
    perf = erlang_c_performance(200, 24, interval_s=1800, aht_s=180, answer_time_s=20)
    sl, se = batch_estimate(result, "answered_within")
    assert abs(sl - float(perf.service_level)) < 4 * se + 0.005
    assert result.intervals["abandoned"].sum() == 0
