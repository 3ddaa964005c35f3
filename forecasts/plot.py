"""Pictures of forecasts: the tail of the history, the forecast and its p10-p90 band per queue."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .history import History  # noqa: E402


def plot_forecast(history: History, table: pd.DataFrame, path: str, tail_days: int = 14) -> None:
    queues = list(dict.fromkeys(table["queue"]))
    fig, axes = plt.subplots(
        len(queues), 1, figsize=(13, 2.8 * len(queues)), squeeze=False, sharex=True
    )
    start = history.end - pd.Timedelta(days=tail_days)
    for ax, queue in zip(axes[:, 0], queues, strict=True):
        past = history.calls[queue][history.calls.index >= start]
        part = table[table["queue"] == queue]
        ax.plot(past.index, past.to_numpy(), color="#555555", linewidth=0.8, label="history")
        ax.plot(
            part["interval_start"], part["calls"], color="#1f77b4", linewidth=1.0, label="forecast"
        )
        ax.fill_between(
            part["interval_start"],
            part["calls_p10"],
            part["calls_p90"],
            color="#1f77b4",
            alpha=0.2,
            label="p10-p90",
        )
        ax.set_ylabel("calls")
        ax.set_title(queue, loc="left", fontsize=10)
        ax.axvline(history.end, color="#d62728", linewidth=0.8, linestyle="--")
    axes[0, 0].legend(loc="upper left", fontsize=8, ncol=3)
    # a tick at each local midnight (every few days on long spans), labelled with the weekday
    span_days = (table["interval_start"].max() - start).days + 1
    bottom = axes[-1, 0].xaxis
    bottom.set_major_locator(mdates.DayLocator(interval=max(1, span_days // 21 + 1), tz=history.tz))
    bottom.set_major_formatter(mdates.DateFormatter("%a %d %b", tz=history.tz))
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
