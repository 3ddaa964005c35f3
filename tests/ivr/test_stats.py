"""Every figure of the README's definitions against values computed by hand on a scripted day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from ivr import stats
from ivr.config import hotline_config
from ivr.store.db import session_scope
from ivr.store.models import AgentAccount, Callback, ComplaintTicket, QueueEntry, Survey

ROME = ZoneInfo("Europe/Rome")


def rome(h, m, s=0, day=25, month=11) -> dt.datetime:
    return dt.datetime(2026, month, day, h, m, s, tzinfo=ROME)


def entry(
    sid, entered, result=None, wait=None, handle=None, queue="orders", original=None, phone=None
):
    answered = entered + dt.timedelta(seconds=wait) if result == "bridged" else None
    return QueueEntry(
        call_sid=sid, queue=queue, language="en", from_number=phone, entered_at=entered, original_entered_at=original or entered,
        result=result, wait_s=wait, handle_s=handle, answered_at=answered,
        ended_at=None if result is None else entered + dt.timedelta(seconds=(wait or 0) + (handle or 0)),
    )  # fmt: skip


@pytest.fixture
def day(app):
    """Wednesday 25 November 2026 in Rome, seen at 10:00."""
    with session_scope(app) as session:
        session.add_all(
            [
                entry("A", rome(9, 0, 10), "bridged", 15, 200),  # answered within 20 s
                entry("B", rome(9, 10), "bridged", 45, 300),  # answered late
                entry("C", rome(9, 20), "hangup", 3),  # short abandon (< 5 s)
                entry("D", rome(9, 25), "hangup", 60, phone="+390655501234"),  # abandoned
                entry(
                    "E", rome(9, 29, 50), "bridged", 30, 100
                ),  # enters 09:29:50, answered 09:30:20
                entry("F", rome(9, 40), "leave", 100),  # asked for a callback
                entry(
                    "G", rome(10, 30), "bridged", 5, 120, original=rome(9, 40)
                ),  # the callback, queued again
                entry("H", rome(9, 55)),  # still waiting
                entry("T1", rome(8, 30), "bridged", 10, 60, queue="technical"),
                entry("Y", rome(9, 0, day=24), "bridged", 10, 60),  # yesterday: outside the window
            ]
        )
        session.add(
            Callback(
                call_sid="F",
                phone="+390600000001",
                language="en",
                queue="orders",
                original_entered_at=rome(9, 40),
                requested_at=rome(9, 41, 40),
                due_at=rome(9, 41, 40),
                status="completed",
                attempts=1,
                dial_by="agent",
            )
        )
        session.add(
            Callback(
                call_sid="Z",
                phone="+390600000002",
                language="en",
                queue="orders",
                original_entered_at=rome(9, 50),
                requested_at=rome(9, 51),
                due_at=rome(9, 51),
                status="pending",
                attempts=0,
                dial_by="agent",
            )
        )
        session.add_all(
            [
                Survey(call_sid="A", queue="orders", language="en", score=4, created_at=rome(9, 4)),
                Survey(
                    call_sid="E", queue="orders", language="en", score=5, created_at=rome(9, 33)
                ),
            ]
        )
        session.add(
            ComplaintTicket(
                reference="12345678", call_sid="K", created_at=rome(9, 15), status="open"
            )
        )
        session.add_all(
            [
                AgentAccount(agent_id="A001", state="on_call"),
                AgentAccount(agent_id="A010", state="available"),
                AgentAccount(agent_id="A004", state="offline"),
            ]
        )
    return stats.local_day(hotline_config(app), rome(10, 0))


def figures(app, window, now=None):
    with session_scope(app) as session:
        return {
            q["queue"]: q
            for q in stats.queue_stats(session, hotline_config(app), window, now or rome(10, 0))
        }


def test_window_figures_by_hand(app, day):
    orders = figures(app, day)["orders"]
    assert orders["offered"] == 7  # A B C D E F H; G is F's callback, not a new offer
    assert orders["answered"] == 3  # A B E
    assert orders["abandoned"] == 1  # D
    assert orders["short_abandoned"] == 1  # C
    assert orders["service_level"] == 0.25  # within 20 s: A only; / (3 answered + 1 abandoned)
    assert orders["asa_s"] == 30.0  # (15 + 45 + 30) / 3
    assert orders["aht_s"] == 200.0  # (200 + 300 + 100) / 3
    assert orders["abandon_rate"] == round(1 / 6, 4)  # 1 / (7 offered - 1 short)
    assert orders["waiting"] == 1 and orders["longest_wait_s"] == 300.0  # H since 09:55
    assert (orders["csat"], orders["surveys"]) == (4.5, 2)
    assert (
        orders["callbacks_requested"],
        orders["callbacks_completed"],
        orders["callbacks_pending"],
    ) == (2, 1, 1)
    assert (orders["agents_logged_in"], orders["agents_busy"]) == (
        2,
        1,
    )  # A001 on call, A010 available (both take orders)
    assert orders["tickets_opened"] == 0
    assert figures(app, day)["complaints"]["tickets_opened"] == 1
    technical = figures(app, day)["technical"]
    assert (technical["offered"], technical["answered"], technical["service_level"]) == (1, 1, 1.0)


def test_a_call_still_with_its_agent_counts_with_its_wait_so_far(app, day):
    """Answered at 09:58:12 after 12 s and still talking at 10:00: Twilio has not reported its
    wait yet (no queue result), so the wait is the time from entering to the answer."""
    with session_scope(app) as session:
        session.add(
            QueueEntry(
                call_sid="I", queue="orders", language="en", entered_at=rome(9, 58),
                original_entered_at=rome(9, 58), answered_at=rome(9, 58, 12),
            )
        )  # fmt: skip
    orders = figures(app, day)["orders"]
    assert (orders["offered"], orders["answered"]) == (8, 4)
    assert orders["service_level"] == 0.4  # within 20 s: A and I; / (4 answered + 1 abandoned)
    assert orders["asa_s"] == 25.5  # (15 + 45 + 30 + 12) / 4
    assert orders["waiting"] == 1  # H; I is with an agent


def test_answered_only_service_level_variant(app, day):
    cfg = hotline_config(app)
    variant = cfg.model_copy(
        update={"line": cfg.line.model_copy(update={"service_level_formula": "answered_only"})}
    )
    with session_scope(app) as session:
        orders = {q["queue"]: q for q in stats.queue_stats(session, variant, day, rome(10, 0))}[
            "orders"
        ]
    assert orders["service_level"] == round(1 / 3, 4)  # within 20 s: A, of 3 answered


def test_per_interval_counts_calls_by_the_interval_they_entered(app, day):
    with session_scope(app) as session:
        table = stats.interval_stats(
            session, hotline_config(app), day, pd.Timedelta("30min"), "orders"
        )
    assert len(table) == 48
    by_start = table.set_index(table["interval_start"].map(lambda t: t.strftime("%H:%M")))
    nine = by_start.loc["09:00"]
    assert (nine["offered"], nine["answered"], nine["abandoned"], nine["short_abandoned"]) == (
        5,
        3,
        1,
        1,
    )  # E counts here
    assert nine["service_level"] == 0.25 and nine["asa_s"] == 30.0
    assert (nine["surveys"], nine["csat"]) == (2, 4.5)
    half_past = by_start.loc["09:30"]
    assert (half_past["offered"], half_past["answered"], half_past["callbacks_requested"]) == (
        2,
        0,
        2,
    )
    assert by_start.loc["10:30", "offered"] == 0  # the callback's second entry is not an offer
    assert by_start.loc["03:00", "offered"] == 0 and pd.isna(by_start.loc["03:00", "service_level"])


def test_dst_day_has_fifty_half_hours_and_keeps_the_repeated_hour_apart(app):
    first = dt.datetime(2026, 10, 25, 0, 15, tzinfo=dt.UTC)  # 02:15 summer time
    second = dt.datetime(2026, 10, 25, 1, 15, tzinfo=dt.UTC)  # 02:15 winter time, an hour later
    with session_scope(app) as session:
        session.add_all([entry("S1", first, "bridged", 10, 50), entry("S2", second, "hangup", 40)])
    cfg = hotline_config(app)
    window = stats.local_day(cfg, dt.datetime(2026, 10, 25, 12, 0, tzinfo=ROME))
    assert window.until.astimezone(dt.UTC) - window.since.astimezone(dt.UTC) == dt.timedelta(
        hours=25
    )
    with session_scope(app) as session:
        table = stats.interval_stats(session, cfg, window, pd.Timedelta("30min"), "orders")
        history = stats.history_table(session, cfg, window, pd.Timedelta("1h"))
    assert len(table) == 50
    busy = table[table["offered"] > 0]
    assert [t.isoformat() for t in busy["interval_start"]] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
    ]
    assert busy["answered"].tolist() == [1, 0] and busy["abandoned"].tolist() == [0, 1]
    assert len(history) == 25 and history["orders"].sum() == 2


def test_history_table_writes_zeros_and_aht(app, day):
    cfg = hotline_config(app)
    with session_scope(app) as session:
        table = stats.history_table(session, cfg, day, pd.Timedelta("1h"))
    assert list(table.columns) == [
        "interval_start",
        "orders",
        "orders_aht_s",
        "complaints",
        "complaints_aht_s",
        "technical",
        "technical_aht_s",
        "general",
        "general_aht_s",
    ]
    assert len(table) == 24 and table["general"].sum() == 0
    nine = table[table["interval_start"] == pd.Timestamp("2026-11-25 09:00", tz=ROME)].iloc[0]
    # A, B, C, D, E, H; F left the queue for a callback: it counts when G, the callback, is queued
    assert nine["orders"] == 6 and nine["orders_aht_s"] == 200.0
    ten = table[table["interval_start"] == pd.Timestamp("2026-11-25 10:00", tz=ROME)].iloc[0]
    assert ten["orders"] == 1 and ten["orders_aht_s"] == 120.0
    assert (
        table[table["interval_start"] == pd.Timestamp("2026-11-25 08:00", tz=ROME)].iloc[0][
            "technical"
        ]
        == 1
    )


def test_history_counts_a_callback_booked_while_closed_at_the_opening_it_was_dialled(app, day):
    """No first entry (the caller heard the closed message and booked): the callback's entry is
    the only trace of that work, and forecasting must see it where agents did it."""
    cfg = hotline_config(app)
    with session_scope(app) as session:
        session.add(entry("N", rome(8, 0, 30), "bridged", 5, 90, original=rome(7, 0, day=24)))
    with session_scope(app) as session:
        table = stats.history_table(session, cfg, day, pd.Timedelta("1h"))
        figures_now = {q["queue"]: q for q in stats.queue_stats(session, cfg, day, rome(10, 0))}
    eight = table[table["interval_start"] == pd.Timestamp("2026-11-25 08:00", tz=ROME)].iloc[0]
    assert eight["orders"] == 1 and eight["orders_aht_s"] == 90.0
    # the ops figures are unchanged: N is a callback's entry, not a call offered to the queue
    assert figures_now["orders"]["offered"] == 7


def test_window_parsing(app):
    cfg = hotline_config(app)
    assert stats.parse_moment("2026-11-25", cfg) == rome(0, 0)
    assert stats.parse_moment("2026-11-25", cfg, end_of_day=True) == rome(0, 0, day=26)
    assert stats.parse_moment("2026-11-25T09:30", cfg) == rome(9, 30)
    assert stats.parse_moment("2026-11-25T08:30:00+00:00", cfg) == rome(9, 30)
    with pytest.raises(ValueError, match="not an ISO date"):
        stats.parse_moment("yesterday", cfg)
