"""Complaint tickets: the status workflow (open -> in progress -> resolved, reopen; nothing else),
assignee and notes through the pages, each change audited; search by reference and status; the
ticket's call shown with the caller masked; every change of status posted once, in order, by the
scheduler's job to a real webhook receiver, retried after a failure and never by the page."""

from __future__ import annotations

import datetime as dt
import http.client
import logging

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy import select

from ivr.config import hotline_config
from ivr.config.schema import TicketSettings
from ivr.demo.twilio_sim import Press
from ivr.jobs import ticket_posts
from ivr.store import tickets as workflow
from ivr.store.db import session_scope
from ivr.store.models import (
    AgentAccount,
    AuditEntry,
    Call,
    ComplaintTicket,
    QueueEntry,
    TicketNote,
    TicketStatusChange,
)

from .conftest import OPEN_TIME, csrf, login
from .test_alerts import Receiver


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def configure(config_dir, webhook_url: str | None) -> str:
    line = config_dir / "line.yaml"
    data = yaml.safe_load(line.read_text())
    data["tickets"] = {"webhook_url": webhook_url, "max_attempts": 3}
    line.write_text(yaml.safe_dump(data, allow_unicode=True))
    users = config_dir / "users.yaml"
    listed = yaml.safe_load(users.read_text())
    known = next(u["password_hash"] for u in listed["users"] if u["username"] == "demo")
    listed["users"] += [
        {"username": "olga", "password_hash": known, "role": "ops"},  # hotline-demo too
        {"username": "otto", "password_hash": known, "role": "ops", "disabled": True},
    ]
    users.write_text(yaml.safe_dump(listed))
    return str(config_dir)


@pytest.fixture
def app(make_app, clock, config_dir, receiver):
    return make_app(CLOCK=clock, CONFIG_DIR=configure(config_dir, receiver.url))


@pytest.fixture
def ticket(app, new_call) -> str:
    """A complaint's reference, from a call that chose complaints (key 2)."""
    new_call().ring([Press("1"), Press("2")])
    with session_scope(app) as session:
        return session.scalars(select(ComplaintTicket.reference)).one()


@pytest.fixture
def ops(app):
    client = app.test_client()
    assert login(client, "olga").status_code == 302
    return client


def post(client, path: str, **form):
    page = client.get("/ops/tickets").get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf(client, page), **form})


def stored(app, reference: str):
    with session_scope(app) as session:
        t = session.scalars(
            select(ComplaintTicket).where(ComplaintTicket.reference == reference)
        ).one()
        notes = [(n.author, n.text) for n in session.scalars(select(TicketNote))]
        changes = [
            (c.old_status, c.new_status, c.changed_by, c.post_state)
            for c in session.scalars(select(TicketStatusChange).order_by(TicketStatusChange.id))
        ]
        audits = [
            (a.username, a.action, a.detail)
            for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
        return t.status, t.assignee, notes, changes, audits


# --------------------------------------------------------------------------- workflow


def test_a_ticket_goes_open_in_progress_resolved_and_is_reopened(app, ops, ticket):
    listing = ops.get("/ops/tickets").get_data(as_text=True)
    assert f'href="/ops/tickets/{ticket}"' in listing
    started = post(ops, f"/ops/tickets/{ticket}/status", status="in_progress")
    assert started.status_code == 303 and started.headers["Location"] == f"/ops/tickets/{ticket}"
    resolved = post(ops, f"/ops/tickets/{ticket}/status", status="resolved", note=" Refunded. ")
    assert resolved.status_code == 303
    status, _who, notes, changes, audits = stored(app, ticket)
    assert status == "resolved" and notes == [("olga", "Refunded.")]
    assert changes == [
        ("open", "in_progress", "olga", "pending"),
        ("in_progress", "resolved", "olga", "pending"),
    ]
    assert [(user, action, d["from"], d["to"]) for user, action, d in audits] == [
        ("olga", "ticket.status", "open", "in_progress"),
        ("olga", "ticket.status", "in_progress", "resolved"),
    ]
    page = ops.get(f"/ops/tickets/{ticket}").get_data(as_text=True)
    assert 'data-status="resolved"' in page and "Refunded." in page
    assert "olga</span>, 2026-11-25 10:00" in page  # the note's author and time, in Rome
    assert 'id="to-open"' in page and 'id="to-in_progress"' not in page  # only Reopen offered
    assert post(ops, f"/ops/tickets/{ticket}/status", status="open").status_code == 303
    assert stored(app, ticket)[0] == "open"


@pytest.mark.parametrize(
    ("moves", "to", "code", "message"),
    [
        (
            [],
            "resolved",
            409,
            "a ticket open cannot become resolved; it can only become in progress",
        ),
        ([], "open", 409, "a ticket open cannot become open"),
        (["in_progress"], "open", 409, "a ticket in progress cannot become open"),
        (["in_progress", "resolved"], "in_progress", 409, "it can only become open"),
        ([], "closed", 400, "status: &#39;closed&#39; is not one of open, in_progress, resolved"),
        ([], "", 400, "status: &#39;&#39; is not one of"),
    ],
)
def test_other_changes_of_status_are_refused_and_nothing_is_kept(
    app, ops, ticket, moves, to, code, message
):
    for move in moves:
        assert post(ops, f"/ops/tickets/{ticket}/status", status=move).status_code == 303
    before = stored(app, ticket)
    refused = post(ops, f"/ops/tickets/{ticket}/status", status=to, note="lost with the change")
    page = refused.get_data(as_text=True)
    assert refused.status_code == code and message in page
    assert "lost with the change" in page  # kept in the form, not stored
    assert stored(app, ticket) == before


def test_a_ticket_changed_meanwhile_is_not_changed_again(app, ops, ticket):
    page = ops.get(f"/ops/tickets/{ticket}").get_data(as_text=True)  # seen while open
    with session_scope(app) as session:  # someone else starts it meanwhile
        session.scalars(select(ComplaintTicket)).one().status = "in_progress"
    again = ops.post(
        f"/ops/tickets/{ticket}/status",
        data={"csrf_token": csrf(ops, page), "status": "in_progress"},
    )
    assert again.status_code == 409 and "cannot become in progress" in again.get_data(as_text=True)
    assert stored(app, ticket)[3] == []


def test_a_change_of_status_racing_another_is_refused(app, ticket):
    cfg = hotline_config(app)
    with session_scope(app) as session:
        seen = workflow.find(session, ticket)  # read while open...
        session.expunge(seen)
    with session_scope(app) as session:  # ...then someone else starts it
        workflow.change_status(session, cfg, workflow.find(session, ticket), "in_progress",
                               "demo", OPEN_TIME)  # fmt: skip
    with session_scope(app) as session, pytest.raises(workflow.TicketRefused) as refused:
        workflow.change_status(session, cfg, seen, "in_progress", "olga", OPEN_TIME)
    assert refused.value.status == 409 and "changed by someone else meanwhile" in str(refused.value)
    assert [c[2] for c in stored(app, ticket)[3]] == ["demo"]


def test_notes_have_an_author_and_an_empty_one_is_refused(app, ops, ticket):
    assert (
        post(ops, f"/ops/tickets/{ticket}/notes", note="Called back, no answer").status_code == 303
    )
    empty = post(ops, f"/ops/tickets/{ticket}/notes", note="  \n ")
    assert empty.status_code == 400
    assert "note: write something before adding a note" in empty.get_data(as_text=True)
    long = post(ops, f"/ops/tickets/{ticket}/notes", note="x" * 4001)
    assert long.status_code == 400 and "note: 4001 characters" in long.get_data(as_text=True)
    _s, _a, notes, _c, audits = stored(app, ticket)
    assert notes == [("olga", "Called back, no answer")]
    assert [(user, action) for user, action, _d in audits] == [("olga", "ticket.note")]


def test_the_assignee_is_an_enabled_ops_or_supervisor_login(app, ops, ticket):
    assert post(ops, f"/ops/tickets/{ticket}/assignee", assignee="demo").status_code == 303
    assert stored(app, ticket)[1] == "demo"
    for who in ("giulia", "otto", "nobody"):  # an agent, a disabled login, no login at all
        refused = post(ops, f"/ops/tickets/{ticket}/assignee", assignee=who)
        assert refused.status_code == 400
        assert f"assignee: &#39;{who}&#39; is not an enabled ops or supervisor login" in (
            refused.get_data(as_text=True)
        )
    page = ops.get(f"/ops/tickets/{ticket}").get_data(as_text=True)
    assert '<option value="olga">' in page and 'value="giulia"' not in page
    assert post(ops, f"/ops/tickets/{ticket}/assignee", assignee="").status_code == 303
    _s, assignee, _n, _c, audits = stored(app, ticket)
    assert assignee is None
    assert [(a, d["from"], d["to"]) for _u, a, d in audits] == [
        ("ticket.assignee", None, "demo"),
        ("ticket.assignee", "demo", None),
    ]


def test_unknown_tickets_forged_forms_and_agents_are_refused(app, ops, ticket):
    assert ops.get("/ops/tickets/99999999").status_code == 404
    assert ops.get("/ops/tickets/not-a-ref").status_code == 404
    assert post(ops, "/ops/tickets/99999999/status", status="in_progress").status_code == 404
    assert post(ops, "/ops/tickets/99999999/notes", note="x").status_code == 404
    forged = ops.post(
        f"/ops/tickets/{ticket}/status", data={"csrf_token": "forged", "status": "in_progress"}
    )
    assert forged.status_code == 400
    assert ops.post(f"/ops/tickets/{ticket}/notes", data={"note": "x"}).status_code == 400
    agent = app.test_client()
    login(agent, "giulia")
    assert agent.get("/ops/tickets").headers["Location"] == "/agent"
    assert agent.get(f"/ops/tickets/{ticket}").headers["Location"] == "/agent"
    desk = agent.get("/agent").get_data(as_text=True)
    moved = agent.post(
        f"/ops/tickets/{ticket}/status",
        data={"csrf_token": csrf(agent, desk), "status": "in_progress"},
    )
    assert moved.status_code == 302 and moved.headers["Location"] == "/agent"
    assert stored(app, ticket)[0] == "open" and stored(app, ticket)[4] == []
    anonymous = app.test_client().get(f"/ops/tickets/{ticket}")
    assert anonymous.headers["Location"].startswith("/login?next=")


# --------------------------------------------------------------------------- list and page


def add_tickets(app, *rows: tuple[str, str]) -> None:
    with session_scope(app) as session:
        for n, (reference, status) in enumerate(rows):
            session.add(
                ComplaintTicket(reference=reference, call_sid=f"CAt{n}", from_number="+39333000111",
                                language="it", status=status,
                                created_at=OPEN_TIME - dt.timedelta(hours=n))
            )  # fmt: skip


def listed(client, query: str) -> list[str]:
    page = client.get(f"/ops/tickets{query}").get_data(as_text=True)
    return [
        line.split('<tr id="ticket-')[1][:8]
        for line in page.splitlines()
        if '<tr id="ticket-' in line
    ]


def test_tickets_are_found_by_reference_or_its_first_digits_and_by_status(app, ops):
    add_tickets(app, ("12345678", "open"), ("12349999", "resolved"), ("55512345", "in_progress"))
    assert listed(ops, "") == ["12345678", "12349999", "55512345"]  # newest first
    assert listed(ops, "?q=1234") == ["12345678", "12349999"]  # a prefix, not "contains"
    assert listed(ops, "?q=12345678") == ["12345678"]
    assert listed(ops, "?q=+1234+5678+") == ["12345678"]  # spaces as read out are ignored
    assert listed(ops, "?q=1234&status=resolved") == ["12349999"]
    assert listed(ops, "?status=in_progress") == ["55512345"]
    assert listed(ops, "?q=4") == []
    assert "No ticket matches." in ops.get("/ops/tickets?q=4").get_data(as_text=True)
    for query, message in (
        ("?q=12%25", "reference: &#39;12%&#39; is not a reference or its first digits"),
        ("?status=closed", "status: &#39;closed&#39; is not one of open, in_progress, resolved"),
    ):
        refused = ops.get(f"/ops/tickets{query}")
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)


def test_the_ticket_shows_its_call_masked_caller_voicemail_and_agent(app, ops):
    rec = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    with session_scope(app) as session:
        session.add(Call(call_sid="CAvm", from_number="+393471234567", queue="complaints",
                         language="it", started_at=OPEN_TIME, duration_s=95,
                         voicemail_url=rec, voicemail_duration_s=42))  # fmt: skip
        session.add(Call(call_sid="CAnone", from_number="+393470000999", queue="complaints",
                         language="en", started_at=OPEN_TIME))  # fmt: skip
        session.add(QueueEntry(call_sid="CAvm", queue="complaints", language="it",
                               entered_at=OPEN_TIME, original_entered_at=OPEN_TIME,
                               answered_at=OPEN_TIME + dt.timedelta(seconds=20), agent_id="A002"))  # fmt: skip
        session.add(AgentAccount(agent_id="A002", name="Marco Bianchi", state="offline"))
        for sid, reference in (("CAvm", "10000001"), ("CAnone", "10000002")):
            session.add(ComplaintTicket(reference=reference, call_sid=sid, language="it",
                                        from_number="+393471234567", created_at=OPEN_TIME))  # fmt: skip
    page = ops.get("/ops/tickets/10000001").get_data(as_text=True)
    assert "+39*******567" in page and "+393471234567" not in page
    assert "2026-11-25 10:00" in page and "reclami" not in page and ">complaints<" in page
    assert "A002 Marco Bianchi" in page and "95 s" in page
    assert "Voicemail (42 s)" in page and "supervisors play it in their inbox" in page
    assert "/supervisor/inbox/voicemail/1/audio" not in page  # ops may not play it
    supervisor = app.test_client()
    login(supervisor)
    page = supervisor.get("/ops/tickets/10000001").get_data(as_text=True)
    assert 'src="/supervisor/inbox/voicemail/1/audio"' in page
    other = ops.get("/ops/tickets/10000002").get_data(as_text=True)
    assert "No voicemail." in other and "no agent took it" in other and "+39*******999" in other


# --------------------------------------------------------------------------- the webhook


def test_each_change_is_posted_once_in_order_by_the_job_never_by_the_page(
    app, ops, ticket, receiver
):
    post(ops, f"/ops/tickets/{ticket}/assignee", assignee="olga")
    post(ops, f"/ops/tickets/{ticket}/status", status="in_progress")
    post(ops, f"/ops/tickets/{ticket}/status", status="resolved", note="done")
    assert receiver.bodies == []  # the page stored the changes, posted nothing
    assert ticket_posts.post_pending(app) == "2 ticket change(s) posted, 0 post(s) failed"
    assert ticket_posts.post_pending(app) == "no ticket change to post"
    assert receiver.bodies == [
        {"reference": ticket, "old_status": "open", "new_status": "in_progress", "by": "olga",
         "at": "2026-11-25T10:00:00+01:00", "assignee": "olga", "queue": "complaints",
         "line": "Hotline"},
        {"reference": ticket, "old_status": "in_progress", "new_status": "resolved", "by": "olga",
         "at": "2026-11-25T10:00:00+01:00", "assignee": "olga", "queue": "complaints",
         "line": "Hotline"},
    ]  # fmt: skip
    assert [c[3] for c in stored(app, ticket)[3]] == ["posted", "posted"]
    assert "posted 10:00" in ops.get(f"/ops/tickets/{ticket}").get_data(as_text=True)


def test_a_failed_post_is_logged_retried_and_the_later_change_waits_for_it(
    app, ops, ticket, receiver, caplog
):
    post(ops, f"/ops/tickets/{ticket}/status", status="in_progress")
    receiver.failing = True
    with caplog.at_level(logging.WARNING, logger="ivr.jobs.ticket_posts"):
        assert ticket_posts.post_pending(app).endswith("1 post(s) failed")
    assert f"ticket {ticket} (open -> in_progress): posting to http://127.0.0.1:" in caplog.text
    post(ops, f"/ops/tickets/{ticket}/status", status="resolved")
    page = ops.get(f"/ops/tickets/{ticket}").get_data(as_text=True)
    assert "waiting (1 failed: HTTPError: HTTP Error 500" in page
    assert ticket_posts.post_pending(app).endswith("1 post(s) failed")  # not 2
    receiver.failing = False
    assert ticket_posts.post_pending(app).startswith("2 ticket change(s) posted")
    assert [b["new_status"] for b in receiver.bodies] == ["in_progress", "resolved"]


def test_after_max_attempts_a_change_is_given_up_with_an_error(app, ops, ticket, receiver, caplog):
    post(ops, f"/ops/tickets/{ticket}/status", status="in_progress")
    receiver.failing = True
    for _ in range(2):
        ticket_posts.post_pending(app)
    with caplog.at_level(logging.ERROR, logger="ivr.jobs.ticket_posts"):
        assert ticket_posts.post_pending(app).endswith("1 given up")
    assert "failed 3 times" in caplog.text and "given up" in caplog.text
    receiver.failing = False
    assert ticket_posts.post_pending(app) == "no ticket change to post"
    assert receiver.bodies == [] and stored(app, ticket)[3][0][3] == "failed"


def test_a_change_another_run_is_posting_is_left_alone_until_its_lease_ends(
    app, ops, ticket, receiver, clock
):
    post(ops, f"/ops/tickets/{ticket}/status", status="in_progress")
    assert ticket_posts.claim(app, 1, OPEN_TIME)  # another scheduler process took it
    assert not ticket_posts.claim(app, 1, OPEN_TIME)
    assert ticket_posts.post_pending(app).startswith("0 ticket change(s) posted")
    clock.at = OPEN_TIME + ticket_posts.LEASE  # not yet over
    assert ticket_posts.post_pending(app).startswith("0 ticket change(s) posted")
    clock.at += dt.timedelta(seconds=1)  # it died meanwhile
    assert ticket_posts.post_pending(app).startswith("1 ticket change(s) posted")
    assert len(receiver.bodies) == 1


class SlowReceiver:
    """Stands in for ``post_json``: each post takes ``minutes`` on the line's clock; ``during``,
    when set, runs once in the middle of the post numbered ``during_post`` (from 1)."""

    def __init__(self, clock, minutes: float):
        self.clock, self.step = clock, dt.timedelta(minutes=minutes)
        self.bodies: list[dict] = []
        self.posts = 0
        self.during, self.during_post = None, 0

    def __call__(self, url, body, timeout_s, user_agent):
        self.posts += 1
        self.clock.at += self.step / 2
        if self.posts == self.during_post and self.during is not None:
            self.during()
        self.clock.at += self.step / 2
        self.bodies.append(body)


def tickets_changed(app, n: int) -> list[str]:
    """``n`` tickets, each with one change of status waiting for its post; their references."""
    cfg = hotline_config(app)
    references = [f"2000000{i}" for i in range(n)]
    with session_scope(app) as session:
        for reference in references:
            ticket = ComplaintTicket(reference=reference, call_sid=f"CA{reference}",
                                     created_at=OPEN_TIME)  # fmt: skip
            session.add(ticket)
            session.flush()
            workflow.change_status(session, cfg, ticket, "in_progress", "olga", OPEN_TIME)
    return references


def test_a_second_run_never_posts_a_change_the_first_is_still_posting(app, clock, monkeypatch):
    """A slow receiver (2 min a post): the first run claims its second change 2 min after it
    started. A second scheduler process runs 6 min after the first started, in the middle of
    that post: past a lease counted from the first run's start, inside the claim's own."""
    references = tickets_changed(app, 3)
    slow = SlowReceiver(clock, minutes=2)
    monkeypatch.setattr(ticket_posts, "post_json", slow)
    second: list[str] = []

    def second_run():
        clock.at = OPEN_TIME + dt.timedelta(minutes=6)
        second.append(ticket_posts.post_pending(app))

    slow.during_post, slow.during = 2, second_run
    first = ticket_posts.post_pending(app)
    assert second == ["1 ticket change(s) posted, 0 post(s) failed"]  # the third, unclaimed
    assert first == (
        "2 ticket change(s) posted, 0 post(s) failed; the run took long, the rest waits for the next"
    )
    assert [b["reference"] for b in slow.bodies] == [references[0], references[2], references[1]]
    with session_scope(app) as session:
        changes = session.scalars(select(TicketStatusChange).order_by(TicketStatusChange.id)).all()
        assert [c.post_state for c in changes] == ["posted"] * 3
        assert [c.attempted_at for c in changes] == [
            OPEN_TIME + dt.timedelta(minutes=m) for m in (0, 2, 6)
        ]  # each when it was claimed


def test_a_run_stops_claiming_after_half_a_lease_and_the_next_goes_on(app, clock, monkeypatch):
    tickets_changed(app, 4)
    slow = SlowReceiver(clock, minutes=1)
    monkeypatch.setattr(ticket_posts, "post_json", slow)
    assert dt.timedelta(minutes=2, seconds=30) == ticket_posts.CLAIMING  # half the lease
    first = ticket_posts.post_pending(app)  # claims at 0, 1 and 2 min; not at 3
    assert first.startswith("3 ticket change(s) posted") and first.endswith("waits for the next")
    assert ticket_posts.post_pending(app) == "1 ticket change(s) posted, 0 post(s) failed"
    assert len(slow.bodies) == 4


@pytest.mark.parametrize("quoted", [False, True])
def test_logs_and_stored_errors_name_the_receiver_by_its_host_only(
    make_app, clock, config_dir, receiver, caplog, monkeypatch, quoted
):
    """A webhook URL's path, query and password stay out of the log and of the ticket's page:
    a real receiver that fails, and a failure whose message quotes the whole URL."""
    url = receiver.url + "/T0001/B0002/XSECRETPATH?token=tok123"
    if quoted:  # userinfo: its post is faked (no lookup of a host named "hook:pa55word@...")
        url = url.replace("http://", "http://hook:pa55word@")

        def refused(url, body, timeout_s, user_agent):
            raise http.client.InvalidURL(f"URL can't contain control characters. {url!r}")

        monkeypatch.setattr(ticket_posts, "post_json", refused)
    else:
        receiver.failing = True
    app = make_app(CLOCK=clock, CONFIG_DIR=configure(config_dir, url))
    (reference,) = tickets_changed(app, 1)
    with caplog.at_level(logging.WARNING, logger="ivr.jobs.ticket_posts"):
        assert ticket_posts.post_pending(app).endswith("1 post(s) failed")
    host = receiver.url.removesuffix("/hook")
    assert f"ticket {reference} (open -> in_progress): posting to {host} failed" in caplog.text
    with session_scope(app) as session:
        error = session.scalars(select(TicketStatusChange.post_error)).one()
    assert error.startswith("InvalidURL: URL can't" if quoted else "HTTPError: HTTP Error 500")
    for secret in ("XSECRETPATH", "tok123", "pa55word", "hook:"):
        assert secret not in caplog.text and secret not in error


def test_without_a_webhook_changes_are_kept_and_not_posted(make_app, clock, config_dir):
    app = make_app(CLOCK=clock, CONFIG_DIR=configure(config_dir, None))
    with session_scope(app) as session:
        session.add(ComplaintTicket(reference="10000001", call_sid="CAx", created_at=OPEN_TIME))
    client = app.test_client()
    login(client, "olga")
    assert post(client, "/ops/tickets/10000001/status", status="in_progress").status_code == 303
    assert stored(app, "10000001")[3] == [("open", "in_progress", "olga", None)]
    assert ticket_posts.post_pending(app) == "no ticket change to post"
    assert "no webhook" in client.get("/ops/tickets/10000001").get_data(as_text=True)


def test_the_webhook_url_is_checked():
    assert TicketSettings().webhook_url is None
    with pytest.raises(ValidationError, match="'ftp://x' is not an http"):
        TicketSettings(webhook_url="ftp://x")
