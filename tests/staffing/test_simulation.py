"""The line's simulation: Erlang's figures in the single-skill case, the dispatcher's language
and overflow rules, agents only on duty in their stretches, more agents never worse, and
confidence intervals that narrow with more replications."""

from __future__ import annotations

import numpy as np
import pytest

from forecasts.models import nb_band
from staffing.erlang import erlang_a_performance, erlang_c_performance
from staffing.simulation import (
    LineSimulation,
    SimAgent,
    SimQueue,
    band_dispersion,
    rank,
)

HOUR = 3600.0


def team(n: int, *, skills=("q",), languages=("en",), start=0.0, end=100 * HOUR, prefix="A"):
    return [
        SimAgent(f"{prefix}{i:03d}", tuple(skills), tuple(languages), ((start, end),))
        for i in range(n)
    ]


def single(calls: float, agents: int, patience_s: float | None, intervals: int = 40):
    queue = SimQueue("q", aht_s=180, answer_time_s=20, target=0.8, patience_s=patience_s)
    # agents stay on past the last interval: its callers are answered as in a steady state
    return LineSimulation(
        [queue], ["en"], team(agents), np.full((intervals, 1), calls), interval_s=1800
    )


def steady(report, column):
    """The queue's figure pooled over the intervals after the first two (the warm-up)."""
    df = report.intervals
    rows = df[(df["queue"] == "q") & (df["interval"] >= 2)]
    return float((rows[column] * rows["offered"]).sum() / rows["offered"].sum())


@pytest.mark.parametrize("calls, agents, patience_s", [(100, 11, 120.0), (200, 22, 300.0)])
def test_a_single_skill_line_agrees_with_erlang_a(calls, agents, patience_s):
    report = single(calls, agents, patience_s).run(10, seed=1)
    perf = erlang_a_performance(
        calls, agents, interval_s=1800, aht_s=180, patience_s=patience_s, answer_time_s=20
    )
    assert steady(report, "service_level") == pytest.approx(float(perf.service_level), abs=0.02)
    assert steady(report, "abandon_rate") == pytest.approx(float(perf.p_abandon), abs=0.01)


def test_a_single_skill_line_without_patience_agrees_with_erlang_c():
    report = single(100, 12, None).run(10, seed=2)
    perf = erlang_c_performance(100, 12, interval_s=1800, aht_s=180, answer_time_s=20)
    assert steady(report, "service_level") == pytest.approx(float(perf.service_level), abs=0.02)
    assert report.intervals["abandon_rate"].max() == 0.0


def two_languages(overflow_after_s: float | None):
    """English callers far outnumber the English speakers; Italian agents are mostly idle."""
    queue = SimQueue(
        "q",
        aht_s=240,
        answer_time_s=20,
        target=0.8,
        patience_s=600,
        overflow_after_s=overflow_after_s,
    )
    agents = team(3, languages=("en",), prefix="E") + team(4, languages=("it",), prefix="I")
    return LineSimulation(
        [queue],
        ["en", "it"],
        agents,
        np.full((16, 1), 60.0),
        interval_s=1800,
        language_shares=[[0.85, 0.15]],
    )


def test_an_agent_takes_another_languages_caller_only_after_the_overflow_wait():
    sim = two_languages(60.0)
    run = sim.replicate(4)
    speaks = np.array([["en", "it"].index(a.languages[0]) for a in sim.agents])
    answered = run.agent >= 0
    other = answered & (speaks[np.where(answered, run.agent, 0)] != run.language)
    assert other.sum() > 50  # the Italian agents do take English callers...
    assert (run.wait_s[other] >= 60.0 - 1e-6).all()  # ...never before they waited 60 s
    assert (run.wait_s[answered & ~other] < 60.0).any()

    never = two_languages(None).replicate(4)
    took = never.agent >= 0
    assert (speaks[never.agent[took]] == never.language[took]).all()


def test_a_caller_waiting_when_agents_start_goes_to_the_best_ranked_of_them():
    """Italian callers wait for the shift at 1 h; an English agent (the lower id) and an Italian
    one start together: the oldest caller goes to the Italian agent, the next to the English
    one (after the overflow wait), as the dispatcher ranks them."""
    queue = SimQueue("q", aht_s=600, answer_time_s=20, target=0.8, overflow_after_s=60)
    agents = [
        SimAgent("A001", ("q",), ("en",), ((HOUR, 10 * HOUR),)),
        SimAgent("A002", ("q",), ("it",), ((HOUR, 10 * HOUR),)),
    ]
    sim = LineSimulation(
        [queue], ["en", "it"], agents, [[10.0], [0.0]], interval_s=HOUR,
        language_shares=[[0.0, 1.0]],
    )  # fmt: skip
    run = sim.replicate(7)
    first, second = np.argsort(run.arrival_s)[:2]
    assert run.arrival_s[first] + run.wait_s[first] == pytest.approx(HOUR)
    assert [sim.agents[run.agent[first]].id, sim.agents[run.agent[second]].id] == ["A002", "A001"]


def test_overflow_skills_take_callers_only_after_the_wait():
    busy = SimQueue("busy", aht_s=300, answer_time_s=20, target=0.8, patience_s=900,
                    overflow_after_s=30, overflow_skills=("quiet",))  # fmt: skip
    quiet = SimQueue("quiet", aht_s=300, answer_time_s=20, target=0.8, patience_s=900)
    agents = team(2, skills=("busy",), prefix="B") + team(5, skills=("quiet",), prefix="Q")
    sim = LineSimulation(
        [busy, quiet], ["en"], agents, np.tile([40.0, 2.0], (12, 1)), interval_s=1800
    )
    run = sim.replicate(3)
    helped = (run.queue == 0) & (run.agent >= 2)  # a busy caller answered by a quiet agent
    assert helped.sum() > 20 and (run.wait_s[helped] >= 30 - 1e-6).all()
    assert ((run.queue == 1) & (run.agent.clip(0) < 2) & (run.agent >= 0)).sum() == 0


def test_agents_answer_only_while_on_duty():
    queue = SimQueue("q", aht_s=200, answer_time_s=20, target=0.8, patience_s=120)
    stretches = {
        "A001": ((0.0, 2 * HOUR), (2.5 * HOUR, 4 * HOUR)),  # a break from 2:00 to 2:30
        "A002": ((HOUR, 3 * HOUR),),
        "A003": ((3 * HOUR, 4 * HOUR),),
    }
    agents = [SimAgent(a, ("q",), ("en",), s) for a, s in stretches.items()]
    sim = LineSimulation([queue], ["en"], agents, np.full((8, 1), 25.0), interval_s=1800,
                         shrinkage=0.2)  # fmt: skip
    run = sim.replicate(11)
    answered = np.flatnonzero(run.agent >= 0)
    assert answered.size > 50
    for c in answered:
        at = run.arrival_s[c] + run.wait_s[c]
        spans = stretches[sim.agents[run.agent[c]].id]
        assert any(s <= at < e for s, e in spans), (c, at, spans)
    # nobody on duty from 2:00 to 2:30 but A002: callers then wait or hang up more
    assert sim.on_duty()[4, 0] == 1.0 and sim.on_duty()[0, 0] == 1.0 and sim.on_duty()[2, 0] == 2.0


def test_more_agents_are_never_worse_on_the_same_calls():
    queue = SimQueue("q", aht_s=240, answer_time_s=20, target=0.8, patience_s=180)
    calls = np.array([[30.0], [60.0], [90.0], [60.0], [30.0], [10.0]])

    def line(n):
        sim = LineSimulation([queue], ["en"], team(n), calls, interval_s=1800)
        report = sim.run(8, seed=5).intervals
        return report[report["queue"] == "total"]

    few, more = line(8), line(12)
    assert (few["offered"].to_numpy() == more["offered"].to_numpy()).all()  # the same calls
    assert (more["service_level"].to_numpy() >= few["service_level"].to_numpy() - 1e-12).all()
    assert more["service_level"].mean() > few["service_level"].mean() + 0.05
    assert more["abandon_rate"].mean() < few["abandon_rate"].mean()


def test_the_confidence_intervals_narrow_with_more_replications():
    sim = single(60, 7, 120.0, intervals=6)

    def width(replications):
        df = sim.run(replications, seed=9).intervals
        return float((df["service_level_high"] - df["service_level_low"]).mean())

    assert width(40) < 0.6 * width(5)
    report = sim.run(5, seed=9).intervals
    inside = (report["service_level_low"] <= report["service_level"]) & (
        report["service_level"] <= report["service_level_high"]
    )
    assert inside.all()


def test_same_seed_same_figures_and_two_replications_at_least():
    sim = single(50, 6, 120.0, intervals=4)
    assert sim.run(3, seed=1).intervals.equals(sim.run(3, seed=1).intervals)
    assert not sim.run(3, seed=1).intervals.equals(sim.run(3, seed=2).intervals)
    with pytest.raises(ValueError, match="replications = 1: at least 2"):
        sim.run(1)


def test_the_forecast_band_is_read_back_as_its_dispersion_and_drawn_per_day():
    mean = np.linspace(5, 120, 200)
    low, high = nb_band(mean, 0.04)
    assert band_dispersion(mean, low, high) == pytest.approx(0.04, rel=0.3)
    low, high = nb_band(mean, 0.0)
    assert band_dispersion(mean, low, high) < 0.005

    calls = np.full((96, 1), 40.0)
    low, high = nb_band(calls, 0.05)
    sim = LineSimulation(
        [SimQueue("q", aht_s=180, answer_time_s=20, target=0.8, patience_s=120)],
        ["en"], team(10), calls, interval_s=1800, calls_p10=low, calls_p90=high,
    )  # fmt: skip
    rates = sim.rates(np.random.default_rng(1), forecast_band=True)[:, 0]
    assert len(set(rates[:48])) == 1 and len(set(rates[48:])) == 1  # one draw per day
    assert rates[0] != rates[48]
    assert (sim.rates(np.random.default_rng(1), forecast_band=False) == calls).all()


def test_rank_follows_the_dispatchers_order():
    queue = SimQueue("orders", 200, 20, 0.8, overflow_after_s=60, overflow_skills=("general",))
    assert rank(("orders",), ("it",), queue, "it", 0) == 0
    assert rank(("orders",), ("en",), queue, "it", 59) is None
    assert rank(("orders",), ("en",), queue, "it", 60) == 1
    assert rank(("general",), ("it",), queue, "it", 59) is None
    assert rank(("general",), ("it",), queue, "it", 60) == 2
    assert rank(("general",), ("en",), queue, "it", 60) == 3
    assert rank(("technical",), ("it",), queue, "it", 600) is None


def test_bad_inputs_are_refused_by_name():
    queue = SimQueue("q", aht_s=180, answer_time_s=20, target=0.8)
    with pytest.raises(ValueError, match="calls has 2 queue columns, queues 1"):
        LineSimulation([queue], ["en"], [], [[1.0, 2.0]], interval_s=1800)
    with pytest.raises(ValueError, match=r"calls\[0, 0\] = -1\.0"):
        LineSimulation([queue], ["en"], [], [[-1.0]], interval_s=1800)
    with pytest.raises(ValueError, match="language_shares is 1 x 1"):
        LineSimulation([queue], ["en", "it"], [], [[1.0]], interval_s=1800, language_shares=[[1]])
    with pytest.raises(ValueError, match="agent A1: on duty 50-10 s"):
        LineSimulation([queue], ["en"], [SimAgent("A1", ("q",), ("en",), ((50, 10),))], [[1.0]],
                       interval_s=1800)  # fmt: skip
    with pytest.raises(ValueError, match="shrinkage = 1.0"):
        LineSimulation([queue], ["en"], [], [[1.0]], interval_s=1800, shrinkage=1.0)
