"""Special days: public holidays (the ``holidays`` package plus extra dates), the days around
them, and known events such as renewal mailings (a CSV of dates with a label)."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import holidays as holidays_lib
import numpy as np
import pandas as pd


class EventsError(ValueError):
    pass


@dataclass
class Calendar:
    """What kind of day each date is, for the models."""

    country: str | None = None
    subdivision: str | None = None
    extra_holidays: dict[dt.date, str] = field(default_factory=dict)
    events: dict[dt.date, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.country and self.country not in holidays_lib.list_supported_countries():
            raise ValueError(f"unknown holiday country code {self.country!r}")
        self._calendar = (
            holidays_lib.country_holidays(self.country, subdiv=self.subdivision)
            if self.country
            else None
        )

    def holiday(self, day: dt.date) -> str | None:
        if day in self.extra_holidays:
            return self.extra_holidays[day]
        if self._calendar is not None:
            name = self._calendar.get(day)
            if name:
                return str(name)
        return None

    def day_kinds(self, dates: np.ndarray) -> pd.DataFrame:
        """Per date: ``holiday`` name, ``eve`` (day before a holiday), ``after`` (day after),
        and ``event`` label (or None)."""
        days = [pd.Timestamp(d).date() for d in dates]
        names = [self.holiday(d) for d in days]
        before = [self.holiday(d + dt.timedelta(days=1)) for d in days]
        after = [self.holiday(d - dt.timedelta(days=1)) for d in days]
        return pd.DataFrame(
            {
                "holiday": names,
                "eve": [b is not None and n is None for b, n in zip(before, names, strict=True)],
                "after": [a is not None and n is None for a, n in zip(after, names, strict=True)],
                "event": [self.events.get(d) for d in days],
            },
            index=pd.DatetimeIndex(dates),
        )


def read_events(path: str | Path) -> dict[dt.date, str]:
    """A CSV with columns ``date,label`` (e.g. ``2026-03-02,renewal mailing``)."""
    events: dict[dt.date, str] = {}
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"date", "label"} <= set(reader.fieldnames):
            raise EventsError(f"{path}:1: expected columns 'date,label'")
        for row in reader:
            try:
                day = dt.date.fromisoformat((row["date"] or "").strip())
            except ValueError as exc:
                raise EventsError(
                    f"{path}:{reader.line_num}: date {row['date']!r} is not YYYY-MM-DD"
                ) from exc
            label = (row["label"] or "").strip()
            if not label:
                raise EventsError(f"{path}:{reader.line_num}: empty label")
            events[day] = label
    return events
