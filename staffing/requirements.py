"""Agents required per queue and interval, from a forecast table (``forecasts`` output).

Each queue's target (service level within an answer time, or an average speed of answer), its
AHT (the forecast's ``aht_s`` where present, else the queue's default), the occupancy cap and
shrinkage apply interval by interval. Output columns:
``queue, interval_start, calls, aht_s, agents, agents_scheduled, service_level, asa_s, occupancy``.

Per queue, plus a ``total`` row per interval (the sum: what separate teams need), or ``pooled``:
one requirement for multi-skilled agents serving all queues together, with AHT weighted by
volume and the strictest of the queues' targets.

``model``: ``erlang-c`` (callers wait as long as it takes) or ``erlang-a`` (callers hang up
after a mean patience, the queue's ``patience_s``: M/M/n+M). With Erlang A the service level
is the share of *offered* calls answered within the answer time (a caller who hangs up counts
as not answered), ``asa_s`` the mean wait of the calls answered, and a further column
``abandon_rate`` the share of callers who hang up; a queue whose target is an ASA
(``asa_s``) has no Erlang A staffing here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import erlang

COLUMNS = [
    "queue",
    "interval_start",
    "calls",
    "aht_s",
    "agents",
    "agents_scheduled",
    "service_level",
    "asa_s",
    "occupancy",
]


@dataclass(frozen=True)
class QueueTarget:
    service_level: float
    answer_time_s: float
    aht_s: float
    asa_s: float | None = None
    patience_s: float | None = None  # callers' mean patience (Erlang A)


MODELS = ("erlang-c", "erlang-a")


class RequirementsError(ValueError):
    pass


def interval_seconds(table: pd.DataFrame) -> float:
    """The length of the table's intervals (the most common step between them)."""
    starts = pd.DatetimeIndex(table["interval_start"].drop_duplicates().sort_values())
    if len(starts) < 2:
        raise RequirementsError("the forecast needs at least two intervals to tell their length")
    return float(pd.Series(starts[1:] - starts[:-1]).mode().iloc[0].total_seconds())


def _staff(
    calls: np.ndarray,
    aht: np.ndarray,
    target: QueueTarget,
    interval_s: float,
    shrinkage: float,
    max_occupancy: float,
    model: str = "erlang-c",
) -> dict[str, np.ndarray]:
    if model == "erlang-a":
        return _staff_erlang_a(calls, aht, target, interval_s, shrinkage, max_occupancy)
    if target.asa_s:
        agents = erlang.agents_for_asa(
            calls, interval_s=interval_s, aht_s=aht, asa_s=target.asa_s, max_occupancy=max_occupancy
        )
    else:
        agents = erlang.agents_for_service_level(
            calls,
            interval_s=interval_s,
            aht_s=aht,
            service_level=target.service_level,
            answer_time_s=target.answer_time_s,
            max_occupancy=max_occupancy,
        )
    perf = erlang.erlang_c_performance(
        calls, agents, interval_s=interval_s, aht_s=aht, answer_time_s=target.answer_time_s
    )
    return {
        "agents": agents,
        "agents_scheduled": erlang.scheduled_agents(agents, shrinkage),
        "service_level": np.round(perf.service_level, 4),
        "asa_s": np.round(np.where(np.isfinite(perf.asa_s), perf.asa_s, np.nan), 1),
        "occupancy": np.round(perf.occupancy, 4),
    }


def _staff_erlang_a(
    calls: np.ndarray,
    aht: np.ndarray,
    target: QueueTarget,
    interval_s: float,
    shrinkage: float,
    max_occupancy: float,
) -> dict[str, np.ndarray]:
    agents = erlang.agents_for_service_level_erlang_a(
        calls,
        interval_s=interval_s,
        aht_s=aht,
        patience_s=target.patience_s,
        service_level=target.service_level,
        answer_time_s=target.answer_time_s,
        max_occupancy=max_occupancy,
    )
    perf = erlang.erlang_a_performance(
        calls,
        agents,
        interval_s=interval_s,
        aht_s=aht,
        patience_s=target.patience_s,
        answer_time_s=target.answer_time_s,
    )
    quiet = np.asarray(calls) <= 0  # no calls: nobody waits, nobody hangs up
    return {
        "agents": agents,
        "agents_scheduled": erlang.scheduled_agents(agents, shrinkage),
        "service_level": np.round(np.where(quiet, 1.0, perf.service_level), 4),
        "asa_s": np.round(np.where(quiet, 0.0, perf.asa_s), 1),
        "occupancy": np.round(perf.occupancy, 4),
        "abandon_rate": np.round(np.where(quiet, 0.0, perf.p_abandon), 4),
    }


def _check_model(model: str, targets: dict[str, QueueTarget], queues) -> None:
    if model not in MODELS:
        raise RequirementsError(f"model {model!r}: use one of {', '.join(MODELS)}")
    if model != "erlang-a":
        return
    for queue in queues:
        target = targets[queue]
        if target.patience_s is None:
            raise RequirementsError(
                f"queue {queue}: the erlang-a model needs the callers' mean patience:"
                " add patience_s to the queue in queues.yaml"
            )
        if target.asa_s:
            raise RequirementsError(
                f"queue {queue}: its target is an ASA (asa_target_s), which the erlang-a model"
                " does not staff to: use --model erlang-c, or a service level for the queue"
            )


def requirements(
    forecast: pd.DataFrame,
    targets: dict[str, QueueTarget],
    *,
    shrinkage: float,
    max_occupancy: float,
    pool: bool = False,
    quantile: str | None = None,
    interval_s: float | None = None,
    model: str = "erlang-c",
) -> pd.DataFrame:
    """Agents required per queue and interval (see the module doc for the columns and the
    models). ``interval_s`` is read from the table's timestamps unless given."""
    needed = {"queue", "interval_start", "calls"}
    missing = needed - set(forecast.columns)
    if missing:
        raise RequirementsError(f"the forecast lacks column(s) {', '.join(sorted(missing))}")
    column = {"p90": "calls_p90", "p10": "calls_p10", None: "calls", "mean": "calls"}.get(quantile)
    if column is None or column not in forecast.columns:
        raise RequirementsError(
            f"--quantile {quantile}: the forecast has no {column or quantile!r} column"
        )
    unknown = sorted(set(forecast["queue"]) - set(targets))
    if unknown:
        raise RequirementsError(
            f"no target for queue(s) {', '.join(unknown)}: add them to queues.yaml"
        )
    _check_model(model, targets, forecast["queue"].unique())
    columns = COLUMNS + (["abandon_rate"] if model == "erlang-a" else [])
    table = forecast.copy()
    table["interval_start"] = (
        table["interval_start"]
        if pd.api.types.is_datetime64_any_dtype(table["interval_start"])
        else pd.to_datetime(table["interval_start"], utc=True)  # text (object or str dtype)
    )
    interval_s = interval_s or interval_seconds(table)
    table["volume"] = table[column].astype(float).clip(lower=0)
    default_aht = table["queue"].map({q: t.aht_s for q, t in targets.items()})
    aht = table["aht_s"].astype(float) if "aht_s" in table else pd.Series(np.nan, index=table.index)
    table["aht"] = aht.where(aht > 0, default_aht)

    if pool:
        grouped = table.assign(work=table["volume"] * table["aht"]).groupby(
            "interval_start", sort=True
        )
        merged = grouped[["volume", "work"]].sum()
        merged["aht"] = (merged["work"] / merged["volume"].where(merged["volume"] > 0)).fillna(
            np.mean([t.aht_s for t in targets.values()])
        )
        used = [targets[q] for q in table["queue"].unique()]
        strictest = QueueTarget(
            service_level=max(t.service_level for t in used),
            answer_time_s=min(t.answer_time_s for t in used),
            aht_s=float(np.mean([t.aht_s for t in used])),
            asa_s=min((t.asa_s for t in used if t.asa_s), default=None),
            patience_s=min((t.patience_s for t in used if t.patience_s), default=None),
        )
        figures = _staff(
            merged["volume"].to_numpy(),
            merged["aht"].to_numpy(),
            strictest,
            interval_s,
            shrinkage,
            max_occupancy,
            model,
        )
        out = pd.DataFrame(
            {
                "queue": "pooled",
                "interval_start": merged.index,
                "calls": merged["volume"].round(3).to_numpy(),
                "aht_s": merged["aht"].round(1).to_numpy(),
                **figures,
            }
        )
        return out[columns]

    parts = []
    for queue, part in table.groupby("queue", sort=False):
        part = part.sort_values("interval_start")
        figures = _staff(
            part["volume"].to_numpy(),
            part["aht"].to_numpy(),
            targets[queue],
            interval_s,
            shrinkage,
            max_occupancy,
            model,
        )
        parts.append(
            pd.DataFrame(
                {
                    "queue": queue,
                    "interval_start": part["interval_start"].to_numpy(),
                    "calls": part["volume"].round(3).to_numpy(),
                    "aht_s": part["aht"].round(1).to_numpy(),
                    **figures,
                }
            )
        )
    per_queue = pd.concat(parts, ignore_index=True)
    total = (
        per_queue.groupby("interval_start", sort=True)
        .agg(
            calls=("calls", "sum"),
            agents=("agents", "sum"),
            agents_scheduled=("agents_scheduled", "sum"),
        )
        .reset_index()
    )
    work = (per_queue["calls"] * per_queue["aht_s"]).groupby(per_queue["interval_start"]).sum()
    total["aht_s"] = (
        total["interval_start"].map(work) / total["calls"].where(total["calls"] > 0)
    ).round(1)
    total["queue"] = "total"
    weights = per_queue["calls"].groupby(per_queue["interval_start"]).sum()
    for metric in columns[COLUMNS.index("service_level") :]:
        weighted = (
            (per_queue[metric].fillna(0) * per_queue["calls"])
            .groupby(per_queue["interval_start"])
            .sum()
        )
        total[metric] = (
            total["interval_start"].map(weighted)
            / total["interval_start"].map(weights).where(lambda w: w > 0)
        ).round(4)
    return pd.concat([per_queue, total[columns]], ignore_index=True)[columns]
