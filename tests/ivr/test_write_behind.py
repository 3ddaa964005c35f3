"""The menu's write-behind journal: the same rows as writing at once, nothing twice, nothing lost
when a worker is killed or the database is down."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import func, select

from ivr.demo.twilio_sim import FlaskTransport, Press, QueueOutcome, SimulatedCall
from ivr.store import write_behind
from ivr.store.db import session_scope
from ivr.store.models import CallEvent, QueueEntry
from ivr.store.write_behind import journal_for, read_journal
from tests.conftest import CONFIG_DIR, REPO

from .conftest import PUBLIC, TOKEN
from .conftest import signed_post as post

MENU = "/voice/menu?lang=en&attempt=1&step=2"
NEVER = 3600.0  # the journal's thread never flushes by itself: the test says when


def calls(app, **kwargs) -> SimulatedCall:
    kwargs.setdefault("queue_outcome", QueueOutcome())
    return SimulatedCall(FlaskTransport(app.test_client(), PUBLIC), PUBLIC, TOKEN, **kwargs)


def stored(app) -> tuple[list, list]:
    """Events and queue entries, without ids and clock readings."""
    with session_scope(app) as session:
        events = session.execute(
            select(CallEvent.call_sid, CallEvent.event, CallEvent.dedupe_key, CallEvent.detail)
        ).all()
        entries = session.execute(
            select(
                QueueEntry.call_sid,
                QueueEntry.queue,
                QueueEntry.language,
                QueueEntry.result,
                QueueEntry.wait_s,
                QueueEntry.last_position,
                QueueEntry.last_estimate_s,
            )
        ).all()
    # a complaint reference is random: only its presence is compared
    events = [
        (*row[:3], {**(row[3] or {}), **dict.fromkeys({"reference"} & set(row[3] or {}))})
        for row in events
    ]
    return sorted(map(repr, events)), sorted(map(repr, entries))


def counts(app, sid: str) -> tuple[dict, int]:
    with session_scope(app) as session:
        events = dict(
            session.execute(
                select(CallEvent.event, func.count())
                .where(CallEvent.call_sid == sid)
                .group_by(CallEvent.event)
            ).all()
        )
        entries = session.scalar(
            select(func.count()).select_from(QueueEntry).where(QueueEntry.call_sid == sid)
        )
    return events, entries


JOURNEYS = [
    ([Press("1")], QueueOutcome(result="bridged")),  # language, then orders: answered
    ([Press("1"), Press("2")], QueueOutcome(result="hangup")),  # complaint ticket, gave up
    ([Press("1"), Press("0")], QueueOutcome(result="bridged")),  # operator
    ([Press("2"), Press("3")], QueueOutcome(result="hangup")),  # Italian, technical
]


def test_write_behind_stores_the_same_rows_as_writing_at_once(make_app, clock, tmp_path):
    at_once = make_app(CLOCK=clock)
    behind = make_app(
        CLOCK=clock,
        WRITE_BEHIND_S=NEVER,
        DATABASE_URL=f"sqlite:///{tmp_path / 'behind.db'}",
        INSTANCE_PATH=str(tmp_path / "behind"),
    )
    for app in (at_once, behind):
        for n, (keys, outcome) in enumerate(JOURNEYS):
            calls(
                app, from_number=f"+3933300000{n}", call_sid=f"CA{n:032x}", queue_outcome=outcome
            ).ring(
                [*keys, Press("1")]  # the survey's first answer
            )
    journal = journal_for(behind)
    assert journal is not None and journal_for(at_once) is None
    assert journal.flush()
    assert journal.pending() == 0
    assert stored(behind) == stored(at_once)
    events, entries = stored(behind)
    assert sum("menu_choice" in row for row in events) == len(JOURNEYS)
    assert len(entries) == len(JOURNEYS) and all("None" not in row for row in entries)


def test_menu_rows_wait_in_the_journal_and_a_retry_writes_nothing_twice(make_app, clock):
    app = make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER)
    client = app.test_client()
    journal = journal_for(app)
    sid = "CA" + "1" * 32
    form = {"CallSid": sid, "From": "+393331112222", "To": "+18005550100", "Digits": "1"}
    assert b"<Enqueue" in post(client, MENU, form).data
    assert counts(app, sid) == ({}, 0)  # not yet in the database
    assert journal.pending() == 1
    waiting = client.get("/healthz").get_json()["write_behind"]
    assert waiting["journal_files"] == 1 and waiting["journal_bytes"] > 0
    clock.at += dt.timedelta(seconds=5)
    post(client, MENU, form)  # Twilio retries the same webhook, in the same batch
    journal.flush()
    assert counts(app, sid) == ({"menu_choice": 1, "enqueued": 1}, 1)
    clock.at += dt.timedelta(seconds=5)
    post(client, MENU, form)  # and once more, after the first was written
    journal.flush()
    assert counts(app, sid) == ({"menu_choice": 1, "enqueued": 1}, 1)
    assert list(journal.folder.glob("*.jnl")) == []


@pytest.mark.parametrize("waited", ["0", "45"])  # 45: Twilio's count, though the entry is new
def test_queue_result_right_after_the_menu_finds_its_entry(make_app, clock, waited):
    app = make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER)
    client = app.test_client()
    sid = "CA" + "2" * 32
    form = {"CallSid": sid, "From": "+393331113333", "To": "+18005550100"}
    post(client, MENU, {**form, "Digits": "1"})
    post(
        client,
        "/voice/queue-result?lang=en&queue=orders&step=2",
        {**form, "QueueResult": "hangup", "QueueTime": waited},
    )
    assert journal_for(app).flush()  # the queue result writes behind too
    entry = stored_entry(app, sid)
    assert entry.result == "hangup" and entry.ended_at is not None


def stored_entry(app, sid: str) -> QueueEntry:
    """The call's one queue entry as stored now."""
    with session_scope(app) as session:
        return session.scalars(select(QueueEntry).where(QueueEntry.call_sid == sid)).one()


def entry_of(app, sid: str) -> tuple:
    entry = stored_entry(app, sid)
    return entry.result, entry.wait_s, entry.ended_at


def enqueued_call(app, sid: str, phone: str) -> tuple:
    """A caller put in the orders queue through the menu, written: (client, journal, form)."""
    client, journal = app.test_client(), journal_for(app)
    form = {"CallSid": sid, "From": phone, "To": "+18005550100"}
    post(client, MENU, {**form, "Digits": "1"})
    assert journal.flush()
    return client, journal, form


def test_queue_result_waits_in_the_journal_and_a_retry_changes_nothing(make_app, clock):
    app = make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER)
    sid = "CA" + "4" * 32
    client, journal, form = enqueued_call(app, sid, "+393331114444")
    result = "/voice/queue-result?lang=en&queue=orders&step=2"
    clock.at += dt.timedelta(seconds=30)
    ended = clock.at
    assert (
        b"<Hangup"
        in post(client, result, {**form, "QueueResult": "hangup", "QueueTime": "30"}).data
    )
    assert entry_of(app, sid) == (None, None, None)  # journalled, not written yet
    assert journal.pending() == 1
    clock.at += dt.timedelta(seconds=5)  # Twilio retries it (other values), in the same batch
    post(client, result, {**form, "QueueResult": "hangup", "QueueTime": "35"})
    assert journal.flush()
    assert entry_of(app, sid) == ("hangup", 30.0, ended)
    clock.at += dt.timedelta(seconds=5)  # and again, after the first was written
    post(client, result, {**form, "QueueResult": "hangup", "QueueTime": "40"})
    assert journal.flush()
    assert entry_of(app, sid) == ("hangup", 30.0, ended)
    assert counts(app, sid)[0]["queue_result"] == 1


KILLED_WORKER = """
import os, signal, sys
sys.path.insert(0, {repo!r})
from ivr import create_app
from ivr.demo.twilio_sim import twilio_signature
app = create_app({{"DATABASE_URL": {url!r}, "CONFIG_DIR": {config!r}, "INSTANCE_PATH": {instance!r},
    "TWILIO_AUTH_TOKEN": {token!r}, "HOTLINE_PUBLIC_URL": {public!r}, "SECRET_KEY": "k",
    "ALWAYS_OPEN": True, "WRITE_BEHIND_S": 3600}})
client = app.test_client()
for i in range(20):
    form = {{"CallSid": f"CA{{i:032x}}", "From": f"+3933300{{i:05d}}", "Digits": "1"}}
    path = "/voice/menu?lang=en&attempt=1&step=2"
    sig = twilio_signature({token!r}, {public!r} + path, form)
    assert client.post(path, data=form, headers={{"X-Twilio-Signature": sig}}).status_code == 200
print("answered", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_workers_journal_is_taken_over_once(make_app, tmp_path, sqlite_url):
    app = make_app(WRITE_BEHIND_S=NEVER)  # migrates the database
    script = KILLED_WORKER.format(
        repo=str(REPO),
        url=sqlite_url,
        config=str(CONFIG_DIR),
        instance=app.instance_path,
        token=TOKEN,
        public=PUBLIC,
    )
    worker = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr[-2000:]
    assert "answered" in worker.stdout
    journal = journal_for(app)
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(CallEvent)) == 0
    files = list(journal.folder.glob("*.jnl"))
    assert len(files) == 1 and len(read_journal(files[0])) == 20
    assert journal.recover() == 20
    assert journal.flush()
    assert journal.recover() == 0  # taken once: nothing left for another worker
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(QueueEntry)) == 20
        menu = session.scalar(
            select(func.count()).select_from(CallEvent).where(CallEvent.event == "menu_choice")
        )
    assert menu == 20


def test_a_record_cut_short_ends_the_journal(tmp_path, make_app, clock):
    app = make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER)
    client = app.test_client()
    for n in range(3):
        form = {"CallSid": f"CA{n:032x}", "From": "+393331114444", "Digits": "1"}
        post(client, MENU, form)
    journal = journal_for(app)
    (path,) = journal.folder.glob("*.jnl")
    data = path.read_bytes()
    cut = tmp_path / "cut.jnl"
    cut.write_bytes(data[:-7])  # the writer was killed inside the last record
    assert len(read_journal(path)) == 3
    assert len(read_journal(cut)) == 2


@pytest.mark.postgres
def test_menu_answers_while_the_database_is_down_and_writes_when_back(
    make_app, clock, postgres_server, postgres_url
):
    app = make_app(CLOCK=clock, DATABASE_URL=postgres_url, WRITE_BEHIND_S=NEVER)
    client = app.test_client()
    journal = journal_for(app)
    sid = "CA" + "3" * 32
    form = {"CallSid": sid, "From": "+393331115555", "To": "+18005550100", "Digits": "3"}
    postgres_server.stop("fast")
    try:
        response = post(client, MENU, form)
        assert b">technical</Enqueue>" in response.data  # routed as asked, not apologised
        assert not journal.flush()  # refused: kept
        assert journal.pending() == 1 and len(list(journal.folder.glob("*.jnl"))) == 1
    finally:
        postgres_server.restart()
    assert journal.flush()
    assert counts(app, sid) == ({"menu_choice": 1, "enqueued": 1}, 1)
    assert list(journal.folder.glob("*.jnl")) == []


@pytest.mark.postgres
def test_a_restarted_server_does_not_hold_up_the_journal(
    make_app, clock, postgres_server, postgres_url
):
    app = make_app(CLOCK=clock, DATABASE_URL=postgres_url, WRITE_BEHIND_S=NEVER)
    client, journal = app.test_client(), journal_for(app)
    first, second = "CA" + "7" * 32, "CA" + "8" * 32
    post(client, MENU, {"CallSid": first, "From": "+393331119999", "Digits": "1"})
    assert journal.flush()  # the pool now holds a connection to the server
    postgres_server.stop("fast")
    postgres_server.restart()
    post(client, MENU, {"CallSid": second, "From": "+393331110000", "Digits": "1"})
    assert journal.flush()  # written at once, on a new connection
    assert counts(app, second) == ({"menu_choice": 1, "enqueued": 1}, 1)


def test_the_journal_thread_writes_within_its_interval(make_app, clock):
    app = make_app(CLOCK=clock, WRITE_BEHIND_S=0.05)
    sid = "CA" + "4" * 32
    post(app.test_client(), MENU, {"CallSid": sid, "From": "+393331116666", "Digits": "1"})
    deadline = time.monotonic() + 10
    while counts(app, sid)[1] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert counts(app, sid) == ({"menu_choice": 1, "enqueued": 1}, 1)
    journal_for(app).close()
    assert journal_for(app).pending() == 0


def test_the_journal_knows_which_calls_wait_in_it(make_app, clock):
    """What a queue result asks before it reads a caller's entry: this worker's open file, the
    files it sealed and the journals it took over from dead workers, until they are written."""
    app = make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER)
    client, journal = app.test_client(), journal_for(app)
    first, second, orphan = ("CA" + digit * 32 for digit in "abc")
    post(client, MENU, {"CallSid": first, "From": "+393331112222", "Digits": "1"})
    assert journal.holds(first) and not journal.holds(second)
    journal.flush()
    assert not journal.holds(first)
    post(client, MENU, {"CallSid": second, "From": "+393331113333", "Digits": "2"})
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    event = {
        "call_sid": orphan,
        "event": "call_started",
        "dedupe_key": "call_started",
        "at": clock.at,
        "detail": None,
    }
    orphaned = journal.folder / f"{int(gone.stdout)}-0badf00d.1-1.jnl"
    orphaned.write_bytes(write_behind._record([("insert", "call_events", event)]))
    assert journal.recover() == 1
    assert journal.holds(second) and journal.holds(orphan) and not journal.holds(first)
    assert journal.flush()
    assert not any(journal.holds(sid) for sid in (first, second, orphan))
    assert counts(app, orphan) == ({"call_started": 1}, 0)


def calls_around_a_refused_request(app, clock, good: list[str], numbers: list[str]):
    """Two menu calls (``good``, from ``numbers``) journalled with a request the database will
    refuse (a call event without a CallSid: NOT NULL) between them. Returns (client, journal)."""
    client = app.test_client()
    journal = journal_for(app)
    post(client, MENU, {"CallSid": good[0], "From": numbers[0], "Digits": "1"})
    journal.append([("insert", "call_events", {"call_sid": None, "event": "x", "at": clock.at})])
    post(client, MENU, {"CallSid": good[1], "From": numbers[1], "Digits": "2"})
    return client, journal


def test_a_request_the_database_refuses_is_set_aside_and_holds_up_nothing(make_app, clock):
    app = make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER)
    good = ["CA" + "5" * 32, "CA" + "6" * 32]
    client, journal = calls_around_a_refused_request(
        app, clock, good, ["+393331117777", "+393331118888"]
    )
    assert journal.flush()  # NOT NULL refused: not a reason to stop
    assert [counts(app, sid)[1] for sid in good] == [1, 1]
    assert journal.pending() == 0
    rejected = read_journal(journal.folder / "rejected.jnl")
    assert len(rejected) == 1 and rejected[0][0][2]["call_sid"] is None
    health = client.get("/healthz").get_json()["write_behind"]
    assert (health["journal_files"], health["rejected"]) == (0, 1)


def test_a_refused_request_met_again_is_set_aside_once(make_app, clock):
    """A worker killed after setting a request aside but before its journal dropped it leaves
    the request to whoever takes the journal over: it is refused again, and kept only once."""
    app = make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER)
    _client, journal = calls_around_a_refused_request(
        app,
        clock,
        ["CA" + "5" * 31 + "1", "CA" + "6" * 31 + "1"],
        ["+393331117761", "+393331117762"],
    )
    assert journal.flush()
    journal.append([("insert", "call_events", {"call_sid": None, "event": "x", "at": clock.at})])
    assert journal.flush() and journal.pending() == 0
    assert len(read_journal(journal.folder / write_behind.REJECTED)) == 1


SIP = "sip:a.very.long.customer.name@pbx.example-customer.sip.twilio.com"


def test_a_long_sip_caller_is_routed_and_stored_as_unknown(make_app, clock):
    app = make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER)
    assert len(SIP) > 40
    client = app.test_client()
    sid = "CA" + "8" * 32
    post(client, "/voice/incoming", {"CallSid": sid, "From": SIP, "To": "+18005550100"})
    response = post(client, MENU, {"CallSid": sid, "From": SIP, "Digits": "1"})
    assert b">orders</Enqueue>" in response.data
    assert journal_for(app).flush()
    assert stored_entry(app, sid).from_number is None


@pytest.mark.postgres
def test_a_long_sip_caller_is_routed_on_postgresql_too(make_app, clock, postgres_url):
    from ivr.store.models import Call
    from ivr.voice import spool

    app = make_app(CLOCK=clock, DATABASE_URL=postgres_url)  # written at once: a 40-char column
    client = app.test_client()
    sid = "CA" + "9" * 32
    ring = post(client, "/voice/incoming", {"CallSid": sid, "From": SIP, "To": "+18005550100"})
    assert b"went wrong" not in ring.data
    response = post(client, MENU, {"CallSid": sid, "From": SIP, "Digits": "1"})
    assert b">orders</Enqueue>" in response.data
    assert spool.pending(app) == 0
    with session_scope(app) as session:
        call = session.scalars(select(Call).where(Call.call_sid == sid)).one()
    assert call is not None and call.from_number is None


def test_two_apps_in_one_process_never_take_each_others_journal(make_app, clock):
    first, second = (make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER) for _ in range(2))
    sid = "CA" + "a" * 32
    post(first.test_client(), MENU, {"CallSid": sid, "From": "+393331119999", "Digits": "1"})
    post(second.test_client(), MENU, {"CallSid": "CA" + "b" * 32, "Digits": "1"})
    assert journal_for(second).recover() == 0  # the first app's file is live, not an orphan
    assert journal_for(first).pending() == 1
    assert journal_for(first).flush() and journal_for(second).flush()
    assert counts(first, sid)[1] == 1


def test_an_outage_while_sorting_out_a_refused_request_sets_it_aside_once(
    make_app, clock, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    app = make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER)
    good = ["CA" + "a" * 32, "CA" + "b" * 32]
    client, journal = calls_around_a_refused_request(
        app, clock, good, ["+393331117771", "+393331117772"]
    )
    real, down = write_behind.apply, [True]

    def apply_then_go_down(engine, requests):  # the database goes away at the last request
        requests = list(requests)
        if down[0] and len(requests) == 1 and good[1] in write_behind._calls(requests[0]):
            down[0] = False
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real(engine, requests)

    monkeypatch.setattr(write_behind, "apply", apply_then_go_down)
    assert not journal.flush()  # the bad request was set aside, then the database went away
    assert journal.pending() == 1  # only the request not sorted out waits, in memory...
    assert len([r for p in journal.folder.glob("*-*.jnl") for r in read_journal(p)]) == 1  # on disk
    assert journal.flush()
    assert [counts(app, sid)[1] for sid in good] == [1, 1]
    assert len(read_journal(journal.folder / write_behind.REJECTED)) == 1


def test_hold_polls_write_behind_in_their_order(make_app, clock):
    app = make_app(CLOCK=clock, WRITE_BEHIND_S=NEVER)
    sid = "CA" + "c" * 32
    client, journal, form = enqueued_call(app, sid, "+393331117773")
    wait = "/voice/wait?lang=en&queue=orders&step=2"
    for position in (5, 4, 3):  # announced each time: a minute apart, all in one batch
        clock.at += dt.timedelta(seconds=61)
        answer = post(client, wait, {**form, "QueuePosition": str(position)}).data
        assert f"number {position}".encode() in answer or str(position).encode() in answer
    assert stored_entry(app, sid).last_position is None  # journalled, not written yet
    assert journal.pending() == 3
    assert journal.flush()
    entry = stored_entry(app, sid)
    assert (entry.last_position, entry.last_announced_at) == (3, clock.at)
