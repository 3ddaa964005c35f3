"""Special days: public holidays (the ``holidays`` package plus extra dates), the days around
them, festival periods and the week after them, and known events such as renewal mailings (a CSV
of dates with a label).

A festival period runs from a festival's first holiday to its last: Pesach (first day to seventh
day), Sukkot (first day to Shemini Atzeret / Simchat Torah) and Christmas (Christmas Eve to New
Year's Day). They are found from the holiday names of the year (in English where the ``holidays``
package has them), so they follow the country's calendar and never depend on fixed dates.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import holidays as holidays_lib
import numpy as np
import pandas as pd


class EventsError(ValueError):
    pass


# Festivals whose days in between make a period: label, words naming its first day, words naming
# its last day (matched in lower-case holiday names), and its longest first-to-last span in days.
FESTIVALS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], int], ...] = (
    ("pesach", ("pesach", "passover"), ("pesach", "passover"), 9),
    (
        "sukkot",
        ("sukkot", "sukkoth", "tabernacles"),
        ("shemini atzeret", "simchat torah", "simhat torah", "sukkot", "sukkoth"),
        10,
    ),
)
CHRISTMAS_TO_NEW_YEAR_DAYS = 10  # longest span from Christmas Day to New Year's Day
WEEK_AFTER_DAYS = 7
NOT_THE_DAY = re.compile(r"\b(eve|observed)\b")  # "Christmas Eve", "New Year's Day (observed)"


def festival_periods(names: dict[dt.date, str]) -> list[tuple[str, dt.date, dt.date]]:
    """``(label, first, last)`` of each festival period found in ``names`` (date -> holiday name),
    both ends included; Christmas runs from the eve of the first December holiday named Christmas
    to the next January holiday named New Year."""
    lowered = {day: name.lower() for day, name in names.items()}
    periods = []
    for label, first_words, last_words, span in FESTIVALS:
        firsts = sorted(d for d, n in lowered.items() if any(w in n for w in first_words))
        taken: dt.date | None = None
        for first in firsts:
            if taken is not None and first <= taken:
                continue  # a later day of a festival already placed
            lasts = [
                d
                for d, n in lowered.items()
                if first < d <= first + dt.timedelta(days=span) and any(w in n for w in last_words)
            ]
            if lasts:
                taken = max(lasts)
                periods.append((label, first, taken))
    christmas_days = sorted(
        d
        for d, n in lowered.items()
        if d.month == 12 and "christmas" in n and not NOT_THE_DAY.search(n)
    )
    for christmas in christmas_days:
        if periods and periods[-1][0] == "christmas" and christmas <= periods[-1][2]:
            continue  # Boxing Day / second day of Christmas: the same period
        new_year = [
            d
            for d, n in lowered.items()
            if d.month == 1
            and christmas < d <= christmas + dt.timedelta(days=CHRISTMAS_TO_NEW_YEAR_DAYS)
            and "new year" in n
            and not NOT_THE_DAY.search(n)
        ]
        if new_year:
            periods.append(("christmas", christmas - dt.timedelta(days=1), min(new_year)))
    return periods


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
        self._periods: dict[int, tuple[dict[dt.date, str], dict[dt.date, str]]] = {}

    def holiday(self, day: dt.date) -> str | None:
        if day in self.extra_holidays:
            return self.extra_holidays[day]
        if self._calendar is not None:
            name = self._calendar.get(day)
            if name:
                return str(name)
        return None

    def _english_names(self, years: range) -> dict[dt.date, str]:
        """Holiday names of these years, in English where the package has them, plus extras."""
        names: dict[dt.date, str] = {}
        if self.country:
            languages = holidays_lib.country_holidays(self.country).supported_languages
            english = holidays_lib.country_holidays(
                self.country,
                subdiv=self.subdivision,
                years=years,
                language="en_US" if "en_US" in languages else None,
            )
            names.update((day, str(name)) for day, name in english.items())
        for day, name in self.extra_holidays.items():
            if day.year in years:
                names[day] = f"{names[day]}; {name}" if day in names else name
        return names

    def periods(self, year: int) -> tuple[dict[dt.date, str], dict[dt.date, str]]:
        """Days of ``year`` inside a festival period that are not holidays themselves, and the
        days of the week after a period (also not holidays), each mapped to the festival's label."""
        if year not in self._periods:
            inside: dict[dt.date, str] = {}
            after: dict[dt.date, str] = {}
            for label, first, last in festival_periods(
                self._english_names(range(year - 1, year + 2))
            ):
                days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
                for day in days:
                    if day.year == year and self.holiday(day) is None:
                        inside.setdefault(day, label)
                for k in range(1, WEEK_AFTER_DAYS + 1):
                    day = last + dt.timedelta(days=k)
                    if day.year == year and self.holiday(day) is None:
                        after.setdefault(day, label)
            self._periods[year] = (inside, after)
        return self._periods[year]

    def period(self, day: dt.date) -> str | None:
        """The festival's label if ``day`` is inside its period and not a holiday, else None."""
        return self.periods(day.year)[0].get(day)

    def after_period(self, day: dt.date) -> str | None:
        """The festival's label if ``day`` is in the week after its period, else None."""
        return self.periods(day.year)[1].get(day)

    def day_kinds(self, dates: np.ndarray) -> pd.DataFrame:
        """Per date: ``holiday`` name, ``eve`` (day before a holiday), ``after`` (day after),
        ``event`` label (or None), ``period`` (the festival's label, e.g. "pesach", "sukkot",
        "christmas", on the days inside its period that are not holidays, else None) and
        ``after_period`` (the label on the 7 days after a period's last day, holidays left out).
        A day inside one period and in the week after another has only ``period`` set."""
        days = [pd.Timestamp(d).date() for d in dates]
        names = [self.holiday(d) for d in days]
        before = [self.holiday(d + dt.timedelta(days=1)) for d in days]
        after = [self.holiday(d - dt.timedelta(days=1)) for d in days]
        inside = [self.period(d) for d in days]
        return pd.DataFrame(
            {
                "holiday": names,
                "eve": [b is not None and n is None for b, n in zip(before, names, strict=True)],
                "after": [a is not None and n is None for a, n in zip(after, names, strict=True)],
                "event": [self.events.get(d) for d in days],
                "period": inside,
                "after_period": [
                    None if p is not None else self.after_period(d)
                    for d, p in zip(days, inside, strict=True)
                ],
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
