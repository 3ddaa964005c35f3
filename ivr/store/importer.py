"""Import real per-call records (the Israeli bank's format) into the call log.

Each row becomes a call and, if the caller reached a queue, a queue entry with its wait, outcome
and service time, so the dashboard, the history export and the forecasts run on real data.
PHANTOM rows are skipped; malformed rows are reported with their line number and skipped;
re-importing adds nothing twice (calls and entries are keyed). Times are the line's local time;
a time earlier than the call's arrival belongs to the next day (calls crossing midnight).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.config.schema import HotlineConfig
from ivr.store.calllog import upsert_insert
from ivr.store.models import Call, QueueEntry

COLUMNS = [
    "vru+line",
    "call_id",
    "priority",
    "type",
    "date",
    "vru_entry",
    "vru_exit",
    "vru_time",
    "q_start",
    "q_exit",
    "q_time",
    "outcome",
    "ser_start",
    "ser_exit",
    "ser_time",
    "server",
]
TIME = r"^(\d{1,2}):(\d{2}):(\d{2})$"


@dataclass
class ImportReport:
    rows: int = 0
    phantom: int = 0
    calls_added: int = 0
    entries_added: int = 0
    malformed: list[tuple[int, str]] = field(default_factory=list)


def _seconds(column: pd.Series) -> pd.Series:
    parts = column.str.strip().str.extract(TIME).astype(float)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def _insert_ignore(session: Session, model: type, rows: list[dict]) -> None:
    if not rows:
        return
    session.execute(upsert_insert(session)(model).on_conflict_do_nothing(), rows)


def read_records(
    path: str | Path, cfg: HotlineConfig, zone: ZoneInfo, report: ImportReport, shift_days: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse and validate; returns (calls, queue entries) ready to insert."""
    raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}:1: missing column(s) {', '.join(missing)}")
    report.rows = len(raw)
    line = pd.Series(np.arange(len(raw)) + 2, index=raw.index)
    outcome = raw["outcome"].str.strip()
    phantom = outcome == "PHANTOM"
    report.phantom = int(phantom.sum())
    day = pd.to_datetime(raw["date"].str.strip(), format="%y%m%d", errors="coerce") + pd.Timedelta(
        days=shift_days
    )
    seconds = {
        c: _seconds(raw[c])
        for c in ("vru_entry", "vru_exit", "q_start", "q_exit", "ser_start", "ser_exit")
    }
    numbers = {
        c: pd.to_numeric(raw[c].str.strip(), errors="coerce") for c in ("q_time", "ser_time")
    }
    call_type = raw["type"].str.strip()
    queue = call_type.map(cfg.imports.call_types).fillna("general")

    problems = pd.Series("", index=raw.index)
    problems[day.isna()] = "date " + raw["date"] + " is not yymmdd"
    for name, values in seconds.items():
        problems[(problems == "") & values.isna()] = name + " " + raw[name] + " is not h:mm:ss"
    for name, values in numbers.items():
        problems[(problems == "") & (values.isna() | (values < 0))] = (
            name + " " + raw[name] + " is not a non-negative number"
        )
    problems[(problems == "") & ~outcome.isin(["AGENT", "HANG", "PHANTOM"])] = (
        "outcome " + outcome + " is not AGENT, HANG or PHANTOM"
    )
    problems[(problems == "") & (raw["call_id"].str.strip() == "")] = "call_id is empty"
    bad = (problems != "") & ~phantom
    report.malformed = list(zip(line[bad].tolist(), problems[bad].tolist(), strict=True))
    keep = ~bad & ~phantom
    if not keep.any():
        return pd.DataFrame(), pd.DataFrame()

    raw, day, queue, call_type, outcome = (
        raw[keep],
        day[keep],
        queue[keep],
        call_type[keep],
        outcome[keep],
    )
    seconds = {k: v[keep] for k, v in seconds.items()}
    numbers = {k: v[keep] for k, v in numbers.items()}
    arrival = seconds["vru_entry"]

    def moment(name: str) -> pd.Series:
        value = seconds[name]
        next_day = value < arrival - 60  # crossed midnight
        naive = day + pd.to_timedelta(value + next_day * 86_400, unit="s")
        ambiguous = np.zeros(
            len(naive), dtype=bool
        )  # the repeated autumn hour: read as standard time
        return naive.dt.tz_localize(
            zone, ambiguous=ambiguous, nonexistent="shift_forward"
        ).dt.tz_convert("UTC")

    started = moment("vru_entry")
    answered = outcome == "AGENT"
    queued = (seconds["q_start"] > 0) | (numbers["q_time"] > 0)
    q_start, q_exit, s_start, s_exit = (
        moment("q_start"),
        moment("q_exit"),
        moment("ser_start"),
        moment("ser_exit"),
    )
    entered = q_start.where(queued, s_start)
    ended = s_exit.where(answered, q_exit.where(queued, moment("vru_exit")))
    sid = (
        "IL-"
        + raw["vru+line"].str.strip()
        + "-"
        + raw["date"].str.strip()
        + "-"
        + raw["call_id"].str.strip()
    )
    server = raw["server"].str.strip()
    language = call_type.map(cfg.imports.languages)
    calls = pd.DataFrame(
        {
            "call_sid": sid,
            "direction": "inbound",
            "language": language.where(language.notna(), None),
            "queue": queue,
            "started_at": started,
            "ended_at": ended,
            "status": "completed",
            "duration_s": ((ended - started).dt.total_seconds()).clip(lower=0).round().astype(int),
        }
    )
    in_queue = queued | answered
    entries = pd.DataFrame(
        {
            "call_sid": sid,
            "queue": queue,
            "language": calls["language"],
            "entered_at": entered,
            "original_entered_at": entered,
            "ended_at": ended,
            "result": np.where(answered, "bridged", "hangup"),
            "wait_s": numbers["q_time"].where(queued, 0.0),
            "answered_at": s_start.where(answered),
            "handle_s": numbers["ser_time"].where(answered),
            "agent_id": server.where(answered & (server != "NO_SERVER")),
        }
    )[in_queue]
    return calls, entries


def import_calls(
    session_factory: Callable[[], Session],
    path: str | Path,
    cfg: HotlineConfig,
    tz: str | None = None,
    chunk: int = 20_000,
    progress: Callable[[str], None] | None = None,
    shift_days: int = 0,
) -> ImportReport:
    """Import the file; ``shift_days`` moves every date (the demo brings 1999 up to now)."""
    report = ImportReport()
    zone = ZoneInfo(tz) if tz else cfg.tz
    calls, entries = read_records(path, cfg, zone, report, shift_days)
    with session_factory() as session:
        before_calls = session.scalar(select(func.count()).select_from(Call))
        before_entries = session.scalar(select(func.count()).select_from(QueueEntry))
    for start in range(0, len(calls), chunk):
        part = calls.iloc[start : start + chunk]
        sids = set(part["call_sid"])
        with session_factory() as session, session.begin():
            _insert_ignore(session, Call, _records(part))
            _insert_ignore(session, QueueEntry, _records(entries[entries["call_sid"].isin(sids)]))
        if progress:
            progress(f"imported {min(start + chunk, len(calls))}/{len(calls)} calls")
    with session_factory() as session:
        report.calls_added = session.scalar(select(func.count()).select_from(Call)) - before_calls
        report.entries_added = (
            session.scalar(select(func.count()).select_from(QueueEntry)) - before_entries
        )
    return report


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.astype(object).where(frame.notna(), None)
    rows = out.to_dict(orient="records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                row[key] = value.to_pydatetime()
            elif isinstance(value, np.generic):
                row[key] = value.item()
    return rows


def last_record_date(path: str | Path) -> dt.date:
    dates = pd.read_csv(path, sep="\t", dtype=str, usecols=["date"])["date"].str.strip()
    return pd.to_datetime(dates, format="%y%m%d", errors="coerce").max().date()


def first_entry(session: Session) -> dt.datetime | None:
    return session.scalar(select(func.min(QueueEntry.entered_at)))
