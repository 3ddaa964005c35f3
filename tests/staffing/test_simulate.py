"""The discrete-event simulation: reproducible, conserving calls, honouring the staffing vector."""

from __future__ import annotations

import numpy as np
import pytest

from staffing.simulation import simulate


def run(**overrides):
    args = {
        "calls": [50, 120, 80, 0],
        "agents": [6, 14, 10, 1],
        "interval_s": 1800,
        "aht_s": 180,
        "answer_time_s": 20,
        "patience_s": 90.0,
        "seed": 42,
    }
    args.update(overrides)
    calls, agents = args.pop("calls"), args.pop("agents")
    return simulate(calls, agents, **args)


def test_same_seed_same_result_other_seed_other_result():
    a, b, c = run(), run(), run(seed=43)
    assert a.intervals.equals(b.intervals)
    assert not a.intervals.equals(c.intervals)


def test_every_call_is_answered_or_abandoned_once():
    result = run()
    df = result.intervals
    assert (df["answered"] + df["abandoned"] == df["offered"]).all()
    assert len(result.waits_s) == df["answered"].sum()
    assert (df["answered_within"] <= df["answered"]).all()
    assert df.loc[3, "offered"] == 0 and df.loc[3, "service_level"] == 1.0


def test_without_patience_nobody_abandons_and_all_are_answered_eventually():
    result = run(patience_s=None)
    assert result.intervals["abandoned"].sum() == 0
    assert result.intervals["answered"].sum() == result.intervals["offered"].sum()


def test_nobody_on_line_means_everybody_abandons():
    result = simulate(
        [40], [0], interval_s=1800, aht_s=180, answer_time_s=20, patience_s=60.0, seed=1
    )
    row = result.intervals.iloc[0]
    assert row["offered"] > 0 and row["answered"] == 0 and row["abandon_rate"] == 1.0


def test_more_agents_give_better_service_on_the_same_arrivals():
    few = run(agents=[5, 10, 8, 1]).total()
    many = run(agents=[9, 18, 13, 1]).total()
    assert many["service_level"] > few["service_level"]
    assert many["abandon_rate"] < few["abandon_rate"]
    assert many["offered"] == few["offered"]  # arrivals depend on the seed only


def test_empirical_handling_times_are_used():
    fixed = run(handle_times_s=[60.0], patience_s=None, agents=[30, 30, 30, 30])
    assert fixed.total()["service_level"] == pytest.approx(1.0)
    assert np.all(fixed.waits_s == 0)


def test_mismatched_lengths_and_bad_values_are_refused():
    with pytest.raises(ValueError, match="agents has 2 intervals, calls 3"):
        simulate([1, 2, 3], [1, 2], interval_s=1800, aht_s=180, answer_time_s=20)
    with pytest.raises(ValueError, match=r"calls\[2\] = -1\.0"):
        simulate([1, 2, -1], [1, 2, 3], interval_s=1800, aht_s=180, answer_time_s=20)
