"""Opening hours and closures in the line's time zone: is the line open now, and when next?"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import numpy as np
import pandas as pd

from ivr.config.schema import WEEKDAYS, HotlineConfig

MIDNIGHT = dt.time(0, 0)


@dataclass
class OpeningHours:
    """Weekly opening ranges (local wall time) minus public holidays and the company's closures."""

    tz: ZoneInfo
    weekly: dict[int, list[tuple[dt.time, dt.time]]]
    country: str | None = None
    subdivision: str | None = None
    closures: frozenset[dt.date] = frozenset()
    _calendar: holidays_lib.HolidayBase | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_config(cls, cfg: HotlineConfig) -> OpeningHours:
        weekly = {
            index: [(r.start, r.end) for r in cfg.hours.business_hours.get(name, [])]
            for index, name in enumerate(WEEKDAYS)
        }
        hol = cfg.hours.holidays
        return cls(cfg.tz, weekly, hol.country, hol.subdivision, frozenset(hol.closures))

    def closure_reason(self, day: dt.date) -> str | None:
        """The holiday's name or "closure" if the line is shut all day, else None."""
        if day in self.closures:
            return "closure"
        if self.country:
            if self._calendar is None:
                self._calendar = holidays_lib.country_holidays(
                    self.country, subdiv=self.subdivision
                )
            name = self._calendar.get(day)
            if name:
                return str(name)
        return None

    def wall_ranges(self, day: dt.date) -> list[tuple[dt.time, dt.time]]:
        """The day's opening ranges in local wall time (an end of 00:00 is midnight); none on a
        holiday or closure."""
        return [] if self.closure_reason(day) else self.weekly.get(day.weekday(), [])

    def _ranges(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The day's opening ranges as aware datetimes (DST-safe: built from local wall time)."""
        out = []
        for start, end in self.wall_ranges(day):
            begin = dt.datetime.combine(day, start, tzinfo=self.tz)
            finish_day = day + dt.timedelta(days=1) if end == MIDNIGHT else day
            finish = dt.datetime.combine(finish_day, end, tzinfo=self.tz)
            out.append((begin, finish))
        return out

    def is_open(self, at: dt.datetime) -> bool:
        local = at.astimezone(self.tz)
        return any(begin <= local < finish for begin, finish in self._ranges(local.date()))

    def open_during(self, starts: pd.Series, length: pd.Timedelta) -> np.ndarray:
        """Per interval (aware ``starts``, each ``length`` long): whether the line is open at any
        moment of it. One pass per day and opening range, not per interval."""
        starts = pd.to_datetime(starts, utc=True)
        ends = starts + length
        local_days = starts.dt.tz_convert(self.tz).dt.date
        days = set(local_days) | {day - dt.timedelta(days=1) for day in set(local_days)}
        open_ = np.zeros(len(starts), dtype=bool)
        for day in sorted(days):  # the day before too: a range may run past midnight
            for begin, finish in self._ranges(day):
                open_ |= ((starts < finish) & (ends > begin)).to_numpy()
        return open_

    def next_opening(self, at: dt.datetime, horizon_days: int = 366) -> dt.datetime | None:
        """The first opening time strictly after ``at`` (None if the line never opens)."""
        local = at.astimezone(self.tz)
        for offset in range(horizon_days + 1):
            for begin, _finish in self._ranges(local.date() + dt.timedelta(days=offset)):
                if begin > local:
                    return begin
        return None
