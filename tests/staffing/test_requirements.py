"""Agents required per queue and interval from a forecast table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from staffing.requirements import COLUMNS, QueueTarget, RequirementsError, requirements

TARGETS = {
    "orders": QueueTarget(0.8, 20, 180),
    "technical": QueueTarget(0.8, 60, 480),
    "vip": QueueTarget(0.9, 10, 180, asa_s=5),
}


def table(
    queue_calls: dict[str, list[float]], aht: dict[str, float] | None = None, p90: float = 1.3
) -> pd.DataFrame:
    rows = []
    index = pd.date_range(
        "2026-11-23 09:00",
        periods=len(next(iter(queue_calls.values()))),
        freq="30min",
        tz="Europe/Rome",
    )
    for queue, calls in queue_calls.items():
        for t, c in zip(index, calls, strict=True):
            row = {
                "queue": queue,
                "interval_start": t,
                "calls": c,
                "calls_p10": c * 0.7,
                "calls_p90": c * p90,
            }
            if aht:
                row["aht_s"] = aht.get(queue, np.nan)
            rows.append(row)
    return pd.DataFrame(rows)


def test_textbook_case_per_queue_with_total():
    out = requirements(table({"orders": [100, 0]}), TARGETS, shrinkage=0.3, max_occupancy=1.0)
    assert list(out.columns) == COLUMNS
    orders = out[out["queue"] == "orders"].iloc[0]
    assert (orders["agents"], orders["agents_scheduled"], orders["service_level"]) == (
        14,
        20,
        0.8884,
    )
    assert orders["asa_s"] == 7.8 and orders["occupancy"] == round(10 / 14, 4)
    empty = out[out["queue"] == "orders"].iloc[1]
    assert (empty["agents"], empty["agents_scheduled"]) == (0, 0)
    total = out[out["queue"] == "total"]
    assert total["agents_scheduled"].tolist() == [20, 0]


def test_forecast_aht_overrides_the_default_and_missing_aht_falls_back():
    out = requirements(
        table({"orders": [100], "technical": [30]}, aht={"orders": 360.0}),
        TARGETS,
        shrinkage=0.0,
        max_occupancy=1.0,
        interval_s=1800,
    )
    by_queue = out.set_index("queue")
    assert by_queue.loc["orders", "aht_s"] == 360.0 and by_queue.loc["technical", "aht_s"] == 480.0
    assert by_queue.loc["orders", "agents"] > 14  # double the AHT, more agents
    assert (
        by_queue.loc["total", "agents_scheduled"]
        == by_queue.loc["orders", "agents_scheduled"]
        + by_queue.loc["technical", "agents_scheduled"]
    )


def test_pooling_needs_fewer_agents_than_separate_teams():
    forecast = table({"orders": [60, 80], "technical": [60, 80]})
    separate = requirements(forecast, TARGETS, shrinkage=0.0, max_occupancy=1.0, interval_s=1800)
    pooled = requirements(
        forecast, TARGETS, shrinkage=0.0, max_occupancy=1.0, pool=True, interval_s=1800
    )
    assert set(pooled["queue"]) == {"pooled"}
    assert pooled["calls"].tolist() == [120.0, 160.0]
    assert pooled["aht_s"].tolist() == [330.0, 330.0]  # volume-weighted
    assert (
        pooled["agents"].to_numpy() < separate[separate["queue"] == "total"]["agents"].to_numpy()
    ).all()


def test_p90_staffs_to_the_upper_band_and_asa_targets():
    mean = requirements(
        table({"orders": [100]}), TARGETS, shrinkage=0.0, max_occupancy=1.0, interval_s=1800
    )
    upper = requirements(
        table({"orders": [100]}),
        TARGETS,
        shrinkage=0.0,
        max_occupancy=1.0,
        quantile="p90",
        interval_s=1800,
    )
    assert upper.iloc[0]["calls"] == 130.0 and upper.iloc[0]["agents"] > mean.iloc[0]["agents"]
    vip = requirements(
        table({"vip": [100]}), TARGETS, shrinkage=0.0, max_occupancy=1.0, interval_s=1800
    )
    assert vip.iloc[0]["agents"] == 15  # ASA <= 5 s needs one more than the 80/20 answer


def test_occupancy_cap_applies():
    out = requirements(
        table({"technical": [900]}), TARGETS, shrinkage=0.0, max_occupancy=0.85, interval_s=1800
    )
    assert out.iloc[0]["occupancy"] <= 0.85
    assert out.iloc[0]["agents"] == int(np.ceil(240 / 0.85))


@pytest.mark.parametrize(
    "frame, kwargs, message",
    [
        (table({"billing": [10, 20]}), {}, "no target for queue\\(s\\) billing"),
        (table({"orders": [10, 20]}).drop(columns="calls"), {}, "lacks column\\(s\\) calls"),
        (
            table({"orders": [10, 20]}).drop(columns="calls_p90"),
            {"quantile": "p90"},
            "no 'calls_p90' column",
        ),
    ],
)
def test_bad_forecasts_are_explained(frame, kwargs, message):
    with pytest.raises(RequirementsError, match=message):
        requirements(frame, TARGETS, shrinkage=0.1, max_occupancy=0.9, **kwargs)


PATIENT = {
    "orders": QueueTarget(0.8, 20, 180, patience_s=120),
    "technical": QueueTarget(0.8, 60, 480, patience_s=240),
}


def test_erlang_a_needs_no_more_agents_when_callers_hang_up():
    """Erlang A's count is the fewest agents meeting the target with callers who hang up; as
    an abandoning caller's wait ends, Erlang C's count meets it too here, so Erlang A needs at
    most as many: exactly when Erlang A's service level with Erlang C's count meets the target."""
    from staffing import erlang

    calls = {"orders": [100, 0, 3, 40, 250, 1.5], "technical": [12, 30, 0, 7, 60, 90]}
    kw = {"shrinkage": 0.3, "max_occupancy": 0.85}
    c = requirements(table(calls), PATIENT, **kw)
    a = requirements(table(calls), PATIENT, model="erlang-a", **kw)
    assert list(c.columns) == COLUMNS and list(a.columns) == [*COLUMNS, "abandon_rate"]
    assert (a["agents"] <= c["agents"]).all()
    assert (a["agents_scheduled"] <= c["agents_scheduled"]).all()
    assert (a["agents"] < c["agents"]).any()
    for queue, target in PATIENT.items():
        ours, theirs = a[a["queue"] == queue], c[c["queue"] == queue]
        volume = np.array(calls[queue], dtype=float)

        def meets(n, target=target, volume=volume):
            perf = erlang.erlang_a_performance(
                volume,
                np.asarray(n),
                interval_s=1800,
                aht_s=target.aht_s,
                patience_s=target.patience_s,
                answer_time_s=target.answer_time_s,
                asa_nodes=0,
            )
            return (perf.service_level >= target.service_level) & (perf.occupancy <= 0.85 + 1e-12)

        busy = volume > 0
        n_a, n_c = ours["agents"].to_numpy(), theirs["agents"].to_numpy()
        assert meets(n_a)[busy].all()
        assert not meets(np.maximum(n_a - 1, 0))[busy & (n_a > 1)].any()  # the fewest
        assert ((n_a <= n_c) == meets(n_c))[busy].all()
        assert (ours["abandon_rate"][busy] > 0).all() and (ours["abandon_rate"][~busy] == 0).all()
    assert a.loc[a["queue"] == "total", "agents"].tolist() == [
        int(a.loc[(a["queue"] != "total") & (a["interval_start"] == t), "agents"].sum())
        for t in a.loc[a["queue"] == "total", "interval_start"]
    ]


def test_erlang_a_names_a_queue_without_patience():
    targets = {**PATIENT, "vip": QueueTarget(0.9, 10, 180)}
    frame = table({"orders": [10, 10], "vip": [5, 5]})
    with pytest.raises(RequirementsError, match="queue vip: the erlang-a model needs"):
        requirements(frame, targets, shrinkage=0.3, max_occupancy=1.0, model="erlang-a")
    assert len(requirements(frame, targets, shrinkage=0.3, max_occupancy=1.0))  # erlang-c: fine
    asa = {"orders": QueueTarget(0.9, 10, 180, asa_s=5, patience_s=60)}
    with pytest.raises(RequirementsError, match="queue orders: its target is an ASA"):
        requirements(
            table({"orders": [10, 10]}), asa, shrinkage=0.3, max_occupancy=1.0, model="erlang-a"
        )
