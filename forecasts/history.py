"""Call history in: a table with ``interval_start`` and one column of call counts per queue.

Columns named ``<queue>_aht_s`` hold that queue's average handling time per interval. Times
carry an offset, or are naive wall-clock times of the line's time zone. The result is a regular
grid in local time (DST days have 23 or 25 hours), with NaN where data is missing: a missing
interval or day is *unknown*, never zero calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

MAX_REPORTED = 20


class HistoryError(ValueError):
    """The history file was refused; ``problems`` lists (line, message) pairs."""

    def __init__(self, source: str, problems: list[tuple[int | None, str]]):
        self.source = source
        self.problems = problems
        shown = [
            f"  {source}:{line}: {message}" if line else f"  {source}: {message}"
            for line, message in problems[:MAX_REPORTED]
        ]
        more = len(problems) - MAX_REPORTED
        if more > 0:
            shown.append(f"  ... and {more} more")
        super().__init__(
            f"{source}: {len(problems)} problem(s) in the history:\n" + "\n".join(shown)
        )


@dataclass
class History:
    """Calls (and AHT) per queue on a regular local-time grid.

    ``calls`` and ``aht_s`` share one index: timestamps aware in ``tz`` (or naive local times
    when ``tz`` is None); their columns are queues. NaN = not observed.
    """

    calls: pd.DataFrame
    aht_s: pd.DataFrame
    freq: pd.Timedelta
    tz: ZoneInfo | None

    @property
    def queues(self) -> list[str]:
        return list(self.calls.columns)

    @property
    def end(self) -> pd.Timestamp:
        """The first instant after the last interval: where a forecast starts."""
        return self.calls.index[-1] + self.freq

    def before(self, moment: pd.Timestamp) -> History:
        keep = self.calls.index < moment
        return History(self.calls[keep], self.aht_s[keep], self.freq, self.tz)

    def aggregate(self, freq: str | pd.Timedelta) -> History:
        """Sum calls to a coarser interval; AHT weighted by volume. All-missing stays missing."""
        target = pd.Timedelta(freq)
        if target == self.freq:
            return self
        if target < self.freq or (target % self.freq) != pd.Timedelta(0):
            raise ValueError(
                f"cannot aggregate {self.freq} intervals to {target}: pick a multiple of {self.freq}"
            )
        calls = self.calls.resample(target).sum(min_count=1)
        weighted = (self.aht_s * self.calls).resample(target).sum(min_count=1)
        volume = self.calls.where(self.aht_s.notna()).resample(target).sum(min_count=1)
        aht = weighted / volume.where(volume > 0)
        return History(calls, aht.reindex(columns=self.calls.columns), target, self.tz)


def regular_grid(start: pd.Timestamp, end: pd.Timestamp, freq: pd.Timedelta) -> pd.DatetimeIndex:
    """Every interval from ``start`` up to ``end`` (exclusive), stepping in absolute time."""
    return pd.date_range(start, end, freq=freq, inclusive="left")


def _infer_freq(index: pd.DatetimeIndex) -> pd.Timedelta:
    steps = np.diff(index.asi8)
    steps = steps[steps > 0]
    if steps.size == 0:
        raise ValueError("cannot tell the interval length from fewer than two timestamps")
    values, counts = np.unique(steps, return_counts=True)
    return pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")


def read_history(source: str | Path, tz: str | ZoneInfo | None, freq: str | None = None) -> History:
    """Read and validate a history CSV; every bad row is reported with its line number."""
    path = Path(source)
    name = str(source)
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise HistoryError(name, [(None, f"cannot read as CSV: {exc}")]) from exc
    if "interval_start" not in raw.columns:
        raise HistoryError(name, [(1, "no 'interval_start' column")])
    value_columns = [c for c in raw.columns if c != "interval_start"]
    queues = [c for c in value_columns if not c.endswith("_aht_s")]
    if not queues:
        raise HistoryError(name, [(1, "no queue columns besides interval_start")])
    lines = np.arange(raw.shape[0]) + 2  # line 1 is the header
    problems: list[tuple[int | None, str]] = []

    text = raw["interval_start"].str.strip()
    has_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True)
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    aware = has_offset.to_numpy()
    if aware.any():
        parsed[aware] = pd.to_datetime(text[aware], errors="coerce", utc=True, format="ISO8601")
    naive_local = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if (~aware).any():
        naive_local[~aware] = pd.to_datetime(text[~aware], errors="coerce", format="ISO8601")
    bad_time = (aware & parsed.isna().to_numpy()) | (~aware & naive_local.isna().to_numpy())
    for line, value in zip(lines[bad_time], text[bad_time], strict=True):
        problems.append((int(line), f"interval_start {value!r} is not a date and time"))

    numbers = raw[value_columns].apply(
        lambda col: pd.to_numeric(col.str.strip().replace("", np.nan), errors="coerce")
    )
    for column in value_columns:
        given = raw[column].str.strip() != ""
        bad = given & numbers[column].isna()
        negative = numbers[column] < 0
        for line, value in zip(lines[bad.to_numpy()], raw.loc[bad, column], strict=True):
            problems.append((int(line), f"{column} {value!r} is not a number"))
        for line, value in zip(
            lines[negative.to_numpy()], numbers.loc[negative, column], strict=True
        ):
            problems.append((int(line), f"{column} {value:g} is negative"))

    # local wall time for naive rows; aware rows converted to the zone
    if zone is not None:
        local = pd.Series(pd.NaT, index=raw.index, dtype=f"datetime64[ns, {zone.key}]")
        if aware.any():
            local[aware] = parsed[aware].dt.tz_convert(zone)
        if (~aware).any():
            ok = ~aware & naive_local.notna().to_numpy()
            if ok.any():
                stamps = naive_local[ok]
                localized = stamps.dt.tz_localize(
                    zone, ambiguous=_ambiguous_by_order(stamps), nonexistent="NaT"
                )
                missing = localized.isna().to_numpy()
                for line, value in zip(lines[ok][missing], stamps[missing], strict=True):
                    problems.append(
                        (
                            int(line),
                            f"interval_start {value} does not exist in {zone.key} (DST gap)",
                        )
                    )
                local[ok] = localized
    else:
        local = naive_local.copy()
        if aware.any():
            problems.append(
                (
                    int(lines[aware][0]),
                    "timestamps with an offset need a time zone (the line's, or --tz)",
                )
            )

    valid = local.notna().to_numpy()
    duplicated = local.duplicated(keep=False).to_numpy() & valid
    if duplicated.any():
        first_seen: dict = {}
        for line, stamp in zip(lines[duplicated], local[duplicated], strict=True):
            if stamp in first_seen:
                problems.append(
                    (int(line), f"interval_start {stamp} repeats line {first_seen[stamp]}")
                )
            else:
                first_seen[stamp] = int(line)
    if problems:
        problems.sort(key=lambda p: p[0] or 0)
        raise HistoryError(name, problems)

    frame = numbers.set_index(pd.DatetimeIndex(local)).sort_index()
    if frame.empty:
        raise HistoryError(name, [(None, "no data rows")])
    step = _infer_freq(frame.index)
    grid = regular_grid(frame.index[0], frame.index[-1] + step, step)
    off_grid = ~frame.index.isin(grid)
    if off_grid.any():
        raise HistoryError(
            name,
            [
                (
                    None,
                    f"{int(off_grid.sum())} timestamp(s) are not on the {step} grid, e.g. {frame.index[off_grid][0]}",
                )
            ],
        )
    frame = frame.reindex(grid)
    calls = frame[queues].astype(float)
    aht = pd.DataFrame({q: frame.get(f"{q}_aht_s", np.nan) for q in queues}, index=grid).astype(
        float
    )
    history = History(calls, aht, step, zone)
    return history.aggregate(freq) if freq else history


def _ambiguous_by_order(stamps: pd.Series) -> np.ndarray:
    """At the autumn change a wall time happens twice: the first row is summer time (True)."""
    return ~stamps.duplicated(keep="first").to_numpy()


def local_dates(index: pd.DatetimeIndex) -> np.ndarray:
    """Local calendar date of each timestamp (aware or naive)."""
    return (
        index.tz_localize(None).normalize().to_numpy()
        if index.tz is not None
        else index.normalize().to_numpy()
    )


def slot_of_day(index: pd.DatetimeIndex, freq: pd.Timedelta) -> np.ndarray:
    """Index of the local time-of-day slot (0 = midnight) of each timestamp."""
    wall = index.tz_localize(None) if index.tz is not None else index
    seconds = (wall - wall.normalize()).total_seconds().to_numpy()
    return (seconds // freq.total_seconds()).astype(int)
