"""A week's plan checked by simulation (``hotline simulate-plan``, the supervisor's "Simulate this
week"): the stored forecast's calls answered by the stored roster's agents, routed as the live
dispatcher routes them (:class:`staffing.simulation.LineSimulation`), replicated; per interval
and queue the service level, ASA and abandonment with their 95 % confidence intervals, and the
intervals that miss their queue's target.

What is read, all from the app's database and configuration:

- the week's roster: the published one if there is one, else the draft (or the one asked for);
  each agent on duty from the start to the end of their shift less its break (the break of the
  shift's template, as adherence counts it), with their skills and languages from agents.csv;
- the calls: the newest stored forecast that covers the week (its mean per queue and interval,
  its AHT where it has one, else the queue's; nothing while the line is closed, as the plan
  counts them), split by language as the queue's callers chose in the last
  :data:`LANGUAGE_WEEKS` weeks of the call log (no calls logged: all in the default language);
- the staffing rules' ``shrinkage``: in each replication each agent is off the phones for each
  interval on duty with that probability (paid breaks, training, absence: what the plan's
  requirements were scaled up for);
- each queue's target and answer time, patience (:data:`DEFAULT_PATIENCE_S` where it has none),
  overflow wait and overflow skills, and wrap-up after each call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.config import hotline_config
from ivr.config.schema import HotlineConfig
from ivr.planning.adherence import break_minutes
from ivr.planning.drafts import forecast_rows
from ivr.planning.pipeline import only_open_hours
from ivr.planning.rosters import newest_roster_week, week_roster
from ivr.stats import local_midnight
from ivr.store.db import session_scope
from ivr.store.models import PlanDraft, QueueEntry, RosterAssignment
from staffing.requirements import RequirementsError, interval_seconds
from staffing.simulation import TOTAL, LineReport, LineSimulation, SimAgent, SimQueue

KIND = "simulate_plan"  # the background task's kind
SOURCES = ("published", "draft")
DEFAULT_REPLICATIONS = 20
MAX_REPLICATIONS = 500
DEFAULT_PATIENCE_S = 180.0  # callers of a queue without patience_s hang up after this, on average
LANGUAGE_WEEKS = 8  # the call log's weeks before the week that give each queue's language mix


class PlanCheckError(ValueError):
    """Input the check cannot run with; ``field`` names the option or form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PlanInputs:
    """What one week's check simulates, and where it came from."""

    week_start: dt.date
    roster: str  # "published" or "draft"
    forecast_made_at: dt.datetime
    starts: pd.DatetimeIndex  # each interval's start, UTC
    simulation: LineSimulation
    notes: list[str] = field(default_factory=list)


def week_to_check(session: Session, week: dt.date | None) -> dt.date:
    """The week asked for (a roster's week starts on the day it was made for), else the newest
    week with a roster."""
    if week is None:
        week = newest_roster_week(session)
        if week is None:
            raise PlanCheckError("week", "no roster is stored yet (hotline roster makes one)")
    return week


def roster_rows(
    session: Session, week: dt.date, source: str | None
) -> tuple[str, list[RosterAssignment]]:
    """The week's roster: of ``source`` (published or draft), else the published one if any,
    else the draft."""
    if source is not None and source not in SOURCES:
        raise PlanCheckError("source", f"source {source!r}: use published or draft")
    status, rows = week_roster(session, week, (source,) if source else SOURCES)
    if status is not None:
        return status, rows
    if source:
        raise PlanCheckError("source", f"the week of {week} has no {source} roster")
    raise PlanCheckError("week", f"no roster for the week of {week} (hotline roster makes one)")


def covering_forecast(
    session: Session, cfg: HotlineConfig, since: pd.Timestamp, until: pd.Timestamp
) -> tuple[PlanDraft, pd.DataFrame]:
    """The newest stored forecast with rows in ``since``..``until`` (UTC), and those rows."""
    found = forecast_rows(session, "forecast", since, until, queues=cfg.queue_ids())
    if found is not None:
        return found
    local = since.tz_convert(cfg.tz).date()
    raise PlanCheckError(
        "week",
        f"no stored forecast covers the week of {local} (the nightly reforecast or"
        " hotline demo stores one)",
    )


def language_shares(
    session: Session, cfg: HotlineConfig, before: dt.datetime
) -> tuple[np.ndarray, str | None]:
    """Queues x the line's languages: each queue's callers by language in the call log's last
    :data:`LANGUAGE_WEEKS` weeks before ``before`` (a queue with none: the line's mix; a log with
    none: the default language), and a note when the log held none."""
    languages = list(cfg.line.languages)
    default = cfg.default_language.code
    queues = cfg.queue_ids()
    counts = np.zeros((len(queues), len(languages)))
    for queue, language, n in session.execute(
        select(QueueEntry.queue, QueueEntry.language, func.count())
        .where(
            QueueEntry.entered_at >= before - dt.timedelta(weeks=LANGUAGE_WEEKS),
            QueueEntry.entered_at < before,
            QueueEntry.queue.in_(queues),
        )
        .group_by(QueueEntry.queue, QueueEntry.language)
    ):
        code = language if language in languages else default
        counts[queues.index(queue), languages.index(code)] += n
    note = None
    line = counts.sum(axis=0)
    if not line.any():
        line[languages.index(default)] = 1.0
        note = (
            f"no calls in the log in the {LANGUAGE_WEEKS} weeks before the week: every caller"
            f" is taken to speak {default}"
        )
    empty = counts.sum(axis=1) == 0
    counts[empty] = line
    return counts, note


def on_duty(
    cfg: HotlineConfig, rows: list[RosterAssignment], t0: dt.datetime
) -> dict[str, list[tuple[float, float]]]:
    """Per agent, the stretches on duty in seconds from ``t0``: each shift less its break."""
    out: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        start = (row.shift_start - t0).total_seconds()
        end = (row.shift_end - t0).total_seconds()
        stretches = [(start, end)]
        if row.break_start is not None:
            length_min = (row.shift_end - row.shift_start).total_seconds() / 60
            b0 = (row.break_start - t0).total_seconds()
            b1 = b0 + 60 * break_minutes(cfg, length_min)
            stretches = [(s, e) for s, e in ((start, min(b0, end)), (max(b1, start), end)) if e > s]
        out.setdefault(row.agent_id, []).extend(stretches)
    return out


def sim_queues(cfg: HotlineConfig) -> list[SimQueue]:
    return [
        SimQueue(
            id=q.id,
            aht_s=q.aht_s,
            answer_time_s=q.service_level.answer_time_s,
            target=q.service_level.target,
            patience_s=q.patience_s or DEFAULT_PATIENCE_S,
            overflow_after_s=q.overflow_after_s,
            overflow_skills=tuple(q.overflow_skills),
            wrap_up_s=q.wrap_up_s,
        )
        for q in cfg.queues
    ]


def plan_inputs(
    session: Session,
    cfg: HotlineConfig,
    week: dt.date | None = None,
    source: str | None = None,
    shrinkage: float | None = None,
) -> PlanInputs:
    """The week's simulation from the stored roster and forecast (``week`` default: the newest
    week with a roster; ``shrinkage`` default: the staffing rules')."""
    if shrinkage is not None and not 0 <= shrinkage < 1:
        raise PlanCheckError("shrinkage", f"shrinkage {shrinkage:g}: use 0 to below 1")
    week = week_to_check(session, week)
    status, rows = roster_rows(session, week, source)
    t0 = local_midnight(cfg, week)
    t1 = local_midnight(cfg, week + dt.timedelta(days=7))
    since, until = pd.Timestamp(t0).tz_convert("UTC"), pd.Timestamp(t1).tz_convert("UTC")
    draft, table = covering_forecast(session, cfg, since, until)
    notes: list[str] = []
    try:
        step = pd.Timedelta(seconds=interval_seconds(table))
    except RequirementsError as exc:
        raise PlanCheckError("week", f"the forecast covering the week: {exc}") from exc
    starts = pd.date_range(since, until, freq=step, inclusive="left")
    first, last = table["interval_start"].min(), table["interval_start"].max() + step
    if first > since or last < until:
        notes.append(
            f"the forecast covers only {first.tz_convert(cfg.tz):%a %d %H:%M} to"
            f" {last.tz_convert(cfg.tz):%a %d %H:%M} of the week: no calls outside that"
        )
    table = only_open_hours(cfg, table)
    queues = cfg.queue_ids()
    grid = pd.MultiIndex.from_product([starts, queues], names=["interval_start", "queue"])
    indexed = table.groupby(["interval_start", "queue"]).first().reindex(grid)

    def matrix(column: str, fill: float) -> np.ndarray | None:
        if column not in indexed:
            return None
        values = pd.to_numeric(indexed[column], errors="coerce").to_numpy(dtype=float)
        return np.nan_to_num(values, nan=fill).clip(min=0).reshape(len(starts), len(queues))

    calls = matrix("calls", 0.0)
    shares, note = language_shares(session, cfg, t0)
    if note:
        notes.append(note)
    known = {a.id: a for a in cfg.agents}
    duty = on_duty(cfg, rows, t0)
    gone = sorted(set(duty) - set(known))
    if gone:
        notes.append(f"not in agents.csv, left out: {', '.join(gone)}")
    agents = [
        SimAgent(a, tuple(known[a].skills), tuple(known[a].languages), tuple(stretches))
        for a, stretches in duty.items()
        if a in known
    ]
    simulation = LineSimulation(
        sim_queues(cfg),
        list(cfg.line.languages),
        agents,
        calls,
        interval_s=step.total_seconds(),
        language_shares=shares,
        aht_s=matrix("aht_s", np.nan),
        calls_p10=matrix("calls_p10", 0.0),
        calls_p90=matrix("calls_p90", 0.0),
        shrinkage=cfg.staffing.shrinkage if shrinkage is None else shrinkage,
    )
    return PlanInputs(week, status, draft.created_at, starts, simulation, notes)


@dataclass(frozen=True)
class PlanCheck:
    """A week checked: its inputs and the replications' figures."""

    inputs: PlanInputs
    report: LineReport

    def rows(self, cfg: HotlineConfig) -> pd.DataFrame:
        """The report's rows for intervals with calls expected, with ``interval_start`` (local
        time) and ``miss`` (a queue's mean service level below its target)."""
        df = self.report.intervals
        df = df[df["calls"] > 0].copy()
        starts = self.inputs.starts.tz_convert(cfg.tz)
        df.insert(0, "interval_start", starts[df["interval"].to_numpy()])
        df["miss"] = (df["queue"] != TOTAL) & (df["service_level"] < df["target"])
        return df.drop(columns="interval").reset_index(drop=True)

    def misses(self, cfg: HotlineConfig) -> pd.DataFrame:
        """The queue intervals that miss their target, with ``sure`` (even the confidence
        interval's upper end is below it)."""
        df = self.report.misses()
        df = df[df["calls"] > 0].copy()
        starts = self.inputs.starts.tz_convert(cfg.tz)
        df.insert(0, "interval_start", starts[df["interval"].to_numpy()])
        return df.drop(columns="interval").reset_index(drop=True)

    def as_dict(self, cfg: HotlineConfig) -> dict[str, Any]:
        """The check as JSON's own values (the task's result, ``--format json``)."""
        return {
            "week": self.inputs.week_start.isoformat(),
            "roster": self.inputs.roster,
            "forecast_made_at": self.inputs.forecast_made_at.astimezone(cfg.tz).isoformat(),
            "replications": self.report.replications,
            "seed": self.report.seed,
            "forecast_band": self.report.forecast_band,
            "shrinkage": self.inputs.simulation.shrinkage,
            "interval_min": round(self.inputs.simulation.interval_s / 60),
            "notes": list(self.inputs.notes),
            "queues": [
                {
                    "id": q.id,
                    "target": q.service_level.target,
                    "answer_time_s": q.service_level.answer_time_s,
                }
                for q in cfg.queues
            ],
            "intervals": [_record(r) for r in self.rows(cfg).to_dict(orient="records")],
            "misses": [_record(r) for r in self.misses(cfg).to_dict(orient="records")],
        }


ROUNDING = {
    "calls": 2, "agents": 2, "offered": 2,
    "service_level": 4, "service_level_low": 4, "service_level_high": 4,
    "asa_s": 1, "asa_s_low": 1, "asa_s_high": 1,
    "abandon_rate": 4, "abandon_rate_low": 4, "abandon_rate_high": 4, "target": 4,
}  # fmt: skip


def _record(row: dict) -> dict:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, pd.Timestamp):
            out[key] = value.isoformat()
            out["at"] = value.strftime("%a %d %H:%M")
        elif isinstance(value, (bool, np.bool_)):
            out[key] = bool(value)
        elif isinstance(value, (int, np.integer)):
            out[key] = int(value)
        elif isinstance(value, (float, np.floating)):
            out[key] = round(float(value), ROUNDING.get(key, 3)) if np.isfinite(value) else None
        else:
            out[key] = value
    return out


def check_plan(
    session: Session,
    cfg: HotlineConfig,
    week: dt.date | None = None,
    source: str | None = None,
    *,
    replications: int = DEFAULT_REPLICATIONS,
    seed: int = 0,
    forecast_band: bool = False,
    shrinkage: float | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> PlanCheck:
    """Simulate the week ``replications`` times (``forecast_band``: each replication draws each
    day's volume from the forecast's band too; ``shrinkage`` default: the staffing rules');
    ``progress(share done, message)``."""
    if not 2 <= replications <= MAX_REPLICATIONS:
        raise PlanCheckError(
            "replications",
            f"replications {replications}: use 2 to {MAX_REPLICATIONS} (the confidence"
            " intervals need at least 2)",
        )
    say = progress or (lambda _share, _message: None)
    say(0.0, "reading the roster and the forecast")
    inputs = plan_inputs(session, cfg, week, source, shrinkage)
    say(0.05, f"simulating the week of {inputs.week_start}")
    report = inputs.simulation.run(
        replications,
        seed,
        forecast_band=forecast_band,
        progress=lambda done, total: say(
            0.05 + 0.95 * done / total, f"replication {done} of {total}"
        ),
    )
    return PlanCheck(inputs, report)


def run_task(app: Flask, params: dict, progress: Callable[[float, str], None]) -> dict:
    """The background task (kind :data:`KIND`): ``params`` ``week`` (ISO date or None),
    ``source``, ``replications``, ``seed``, ``forecast_band``, ``shrinkage``; the result is
    :meth:`PlanCheck.as_dict`."""
    cfg = hotline_config(app)
    week = dt.date.fromisoformat(params["week"]) if params.get("week") else None
    with session_scope(app) as session:
        check = check_plan(
            session,
            cfg,
            week,
            params.get("source") or None,
            replications=int(params.get("replications", DEFAULT_REPLICATIONS)),
            seed=int(params.get("seed", 0)),
            forecast_band=bool(params.get("forecast_band", False)),
            shrinkage=params.get("shrinkage"),
            progress=progress,
        )
        return check.as_dict(cfg)
