"""Agents' requests: time off and shift preferences checked field by field, approved or refused
once, fed to the roster as hard days off and soft requests, the preferences a roster honours
counted; the supervisors' page and the agent desk's side of it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from ivr.config import hotline_config
from ivr.planning import agent_requests as reqs
from ivr.planning.agent_requests import NewRequest, RequestError
from ivr.store.db import session_scope
from ivr.store.models import AgentRequest, AuditEntry, RosterAssignment
from staffing.rostering import Cover, Request, RosterProblem, RosterShift, Staff, check, solve

from .conftest import OPEN_TIME, csrf, login

# the clock: Wednesday 25 November 2026, 10:00 in Rome; the week after starts Monday 30
WEEK = dt.date(2026, 11, 30)
ROME = dt.timezone(dt.timedelta(hours=1))


def day(n: int) -> dt.date:
    return WEEK + dt.timedelta(days=n)


def add(app, by: str = "demo", now: dt.datetime = OPEN_TIME, **fields) -> int:
    """A request created through the checks; its id."""
    fields.setdefault("agent_id", "A001")
    with session_scope(app) as session:
        row = reqs.create(session, hotline_config(app), NewRequest(**fields), by, now)
        return row.id


def decide(app, request_id: int, decision: str = "approve", note: str | None = None) -> None:
    with session_scope(app) as session:
        reqs.decide(session, request_id, decision, "demo", OPEN_TIME, note)


def count(app) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(AgentRequest))


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"agent_id": "A999", "kind": "time_off", "start_date": day(0)},
         "agent: unknown agent 'A999' (not in agents.csv)"),
        ({"kind": "holiday", "start_date": day(0)}, "kind: must be one of"),
        ({"kind": "time_off", "start_date": dt.date(2026, 11, 24)},
         "date: 2026-11-24 is in the past (today is 2026-11-25)"),
        ({"kind": "time_off", "start_date": day(2), "end_date": day(1)},
         "end date: 2026-12-01 is before the date 2026-12-02"),
        ({"kind": "time_off", "start_date": day(0), "end_date": day(400)},
         "end date: time off is asked for 366 days at most"),
        ({"kind": "prefer_shift", "start_date": day(0), "shift_start": "06:15"},
         "shift start: 06:15 is not a shift start on Monday 2026-11-30 (those are 06:00, 06:30"),
        ({"kind": "prefer_shift", "start_date": day(0)},
         "shift start: choose the start of the shift preferred"),
        ({"kind": "time_off", "start_date": day(0), "shift_start": "08:00"},
         "shift start: only a shift preference has a start time"),
        ({"kind": "prefer_off", "start_date": day(0), "end_date": day(1)},
         "end date: a preference is for one day"),
        ({"kind": "prefer_shift", "start_date": day(6), "shift_start": "09:00"},
         "date: the line is closed on Sunday 2026-12-06: nobody works that day"),
        ({"kind": "prefer_off", "start_date": dt.date(2026, 12, 24)},
         "date: the line is closed on Thursday 2026-12-24 (closure)"),
        ({"kind": "time_off", "start_date": day(0), "note": "x" * 501},
         "note: 501 characters; 500 at most"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(app, fields, message):
    fields.setdefault("agent_id", "A001")
    cfg = hotline_config(app)
    with session_scope(app) as session, pytest.raises(RequestError, match="^" + re.escape(message)):
        reqs.create(session, cfg, NewRequest(**fields), "demo", OPEN_TIME)
    assert count(app) == 0


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"kind": "time_off", "date": "2026-12-01"}, "agent: choose the agent"),
        ({"agent": "A001", "kind": "", "date": "2026-12-01"}, "kind: must be one of"),
        ({"agent": "A001", "kind": "time_off", "date": ""}, "date: enter the date"),
        ({"agent": "A001", "kind": "time_off", "date": "tomorrow"}, "date: 'tomorrow' is not a date"),
        ({"agent": "A001", "kind": "time_off", "date": "2026-12-01", "end_date": "2026-13-01"},
         "end date: '2026-13-01' is not a date"),
        ({"agent": "A001", "kind": "prefer_shift", "date": "2026-12-01", "shift_start": "25:00"},
         "shift start: '25:00' is not a time"),
    ],
)  # fmt: skip
def test_a_form_that_cannot_be_read_names_its_field(form, message):
    with pytest.raises(RequestError, match="^" + message):
        NewRequest.from_form(form)


def test_a_form_is_read_into_a_request():
    new = NewRequest.from_form(
        {"agent": "A002", "kind": "prefer_shift", "date": "2026-12-01", "shift_start": "8:00",
         "end_date": "", "note": "  school run  "}
    )  # fmt: skip
    assert new == NewRequest("A002", "prefer_shift", day(1), None, "08:00", "school run")
    # an agent's own form names no agent: the login does
    own = NewRequest.from_form(
        {"agent": "A009", "kind": "prefer_off", "date": "2026-12-01"}, "A001"
    )
    assert own.agent_id == "A001"


def test_saturday_starts_are_those_of_the_templates_that_run_on_saturday(app):
    cfg = hotline_config(app)
    templates = [
        t
        if t.name == "saturday"
        else t.model_copy(update={"days": [d for d in t.days if d != "saturday"]})
        for t in cfg.staffing.shift_templates
    ]
    weekday = cfg.model_copy(
        update={"staffing": cfg.staffing.model_copy(update={"shift_templates": templates})}
    )
    assert reqs.shift_starts(weekday, day(5)) == ["09:00"]
    assert "06:00" in reqs.shift_starts(weekday, day(4))


def test_overlapping_requests_are_refused_until_the_first_is_refused(app):
    first = add(app, kind="time_off", start_date=day(1), end_date=day(3))
    with pytest.raises(RequestError, match=rf"^date: time off Tue 2026-12-01 to Thu 2026-12-03 is already asked \(request #{first}, pending\)"):  # fmt: skip
        add(app, kind="time_off", start_date=day(3))
    with pytest.raises(RequestError, match="^date: time off .* is already asked"):
        add(app, kind="prefer_off", start_date=day(2))
    add(app, agent_id="A002", kind="prefer_off", start_date=day(2))  # another agent: free
    preference = add(app, kind="prefer_shift", start_date=day(4), shift_start="08:00")
    with pytest.raises(RequestError, match="^date: a preference for 2026-12-04 is already asked"):
        add(app, kind="prefer_off", start_date=day(4))
    add(
        app, kind="time_off", start_date=day(4)
    )  # time off over a preferred day: the time off decides
    decide(app, first, "refuse", "too many off that week")
    add(app, kind="prefer_off", start_date=day(2))  # a refused request stands in nobody's way
    assert count(app) == 5
    assert preference


# --------------------------------------------------------------------------- decisions


def test_a_request_is_decided_once_by_a_supervisor(app):
    asked = add(app, by="giulia", kind="time_off", start_date=day(1), note="wedding")
    decide(app, asked, "approve", "  enjoy  ")
    with session_scope(app) as session:
        row = session.get(AgentRequest, asked)
        assert (row.status, row.entered_by, row.decided_by) == ("approved", "giulia", "demo")
        assert (row.decided_at, row.decision_note, row.note) == (OPEN_TIME, "enjoy", "wedding")
    with pytest.raises(RequestError, match=f"^decision: request #{asked} is already approved"):
        decide(app, asked, "refuse")
    with pytest.raises(RequestError, match="^decision: must be approve or refuse"):
        decide(app, add(app, kind="prefer_off", start_date=day(2)), "maybe")
    with pytest.raises(LookupError):
        decide(app, 999)


def test_an_agent_withdraws_only_their_own_pending_request(app):
    asked = add(app, kind="prefer_off", start_date=day(2))
    with session_scope(app) as session, pytest.raises(LookupError):
        reqs.withdraw(session, asked, "A002", "marco", OPEN_TIME)
    with session_scope(app) as session:
        assert reqs.withdraw(session, asked, "A001", "giulia", OPEN_TIME).status == "withdrawn"
    with session_scope(app) as session, pytest.raises(RequestError, match="already withdrawn"):
        reqs.withdraw(session, asked, "A001", "giulia", OPEN_TIME)
    add(app, kind="prefer_off", start_date=day(2))  # withdrawn: the day may be asked again


def test_two_supervisors_deciding_one_request_at_once_the_second_is_refused(app):
    asked = add(app, kind="time_off", start_date=day(1))
    with session_scope(app) as second:
        seen = second.get(AgentRequest, asked)  # both read it pending...
        assert seen.status == "pending"
        decide(app, asked, "approve", "covered")  # ...the first decides and commits
        with pytest.raises(RequestError) as refused:
            reqs.decide(second, asked, "refuse", "anna", OPEN_TIME, "no")
    assert refused.value.field == "decision"  # the page answers 409
    assert str(refused.value) == (
        f"decision: request #{asked} was approved by demo meanwhile; look again"
    )
    with session_scope(app) as session:
        row = session.get(AgentRequest, asked)
        assert (row.status, row.decided_by, row.decision_note) == ("approved", "demo", "covered")


def test_an_approval_racing_the_agents_withdrawal_does_not_overwrite_it(app):
    withdrawn = add(app, kind="prefer_off", start_date=day(2))
    with session_scope(app) as supervisor:
        seen = supervisor.get(AgentRequest, withdrawn)
        assert seen.status == "pending"
        with session_scope(app) as desk:
            reqs.withdraw(desk, withdrawn, "A001", "giulia", OPEN_TIME)
        with pytest.raises(RequestError, match="was withdrawn by giulia meanwhile"):
            reqs.decide(supervisor, withdrawn, "approve", "demo", OPEN_TIME)
    approved = add(app, kind="prefer_off", start_date=day(3))
    with session_scope(app) as desk:
        seen = desk.get(AgentRequest, approved)
        assert seen.status == "pending"
        decide(app, approved)
        with pytest.raises(RequestError) as refused:
            reqs.withdraw(desk, approved, "A001", "giulia", OPEN_TIME)
    assert (
        str(refused.value)
        == f"request: request #{approved} was approved by demo meanwhile; look again"
    )
    with session_scope(app) as session:
        assert [(r.id, r.status, r.decided_by) for r in reqs.listed(session)] == [
            (withdrawn, "withdrawn", "giulia"),
            (approved, "approved", "demo"),
        ]


# --------------------------------------------------------------------------- for the roster


def test_roster_inputs_take_only_approved_requests_by_day_of_the_week(app):
    # time off across the week's start and across its end
    decide(app, add(app, kind="time_off", start_date=dt.date(2026, 11, 28), end_date=day(1)))
    decide(app, add(app, kind="time_off", start_date=day(6), end_date=day(9)))
    decide(app, add(app, agent_id="A002", kind="time_off", start_date=day(3)))
    add(app, agent_id="A003", kind="time_off", start_date=day(2))  # pending: nothing
    decide(app, add(app, agent_id="A004", kind="time_off", start_date=day(2)), "refuse")
    decide(app, add(app, agent_id="A005", kind="time_off", start_date=day(7)))  # next week
    decide(app, add(app, kind="prefer_off", start_date=day(2)))
    decide(app, add(app, kind="prefer_shift", start_date=day(3), shift_start="08:00"))
    decide(
        app, add(app, agent_id="A002", kind="prefer_shift", start_date=day(4), shift_start="11:00")
    )
    add(app, agent_id="A002", kind="prefer_off", start_date=day(5))  # pending: nothing
    decide(app, add(app, agent_id="A003", kind="prefer_off", start_date=day(1)))  # not asked about
    # a preference on a day then taken off does not count: the time off decides
    late = add(app, agent_id="A002", kind="prefer_off", start_date=day(1))
    decide(app, late)
    decide(app, add(app, agent_id="A002", kind="time_off", start_date=day(1)))
    agents = ["A001", "A002", "A003", "A004", "A005"]
    shift_ids = ["06:00-14:30", "08:00-16:30", "08:00-17:00", "11:00-19:30", "18:00-22:00"]
    with session_scope(app) as session:
        off, asked = reqs.roster_inputs(session, WEEK, agents, shift_ids)
        off_ids, asked_starts = reqs.roster_inputs(session, WEEK, {"A001", "A002"})
        assert reqs.roster_inputs(session, WEEK, [])[0] == {}
    assert off == {"A001": {0, 1, 6}, "A002": {1, 3}}
    w = reqs.PREFERENCE_WEIGHT
    assert sorted(asked, key=lambda r: (r.staff, r.day, r.shift or "")) == [
        Request("A001", 2, None, False, w),
        Request("A001", 3, "08:00-16:30", True, w),
        Request("A001", 3, "08:00-17:00", True, w),
        Request("A002", 4, "11:00-19:30", True, w),
        Request("A003", 1, None, False, w),
    ]
    assert off_ids == off
    assert sorted((r.staff, r.day, r.shift) for r in asked_starts) == [
        ("A001", 2, None), ("A001", 3, "08:00"), ("A002", 4, "11:00"),
    ]  # fmt: skip


def test_a_week_across_the_change_of_clocks_has_the_same_seven_days(app):
    then = dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC)
    week = dt.date(2026, 10, 19)  # Rome puts its clocks back on Sunday 25 October
    for request_id in (
        add(app, now=then, kind="time_off", start_date=dt.date(2026, 10, 25)),
        add(app, now=then, kind="time_off", start_date=dt.date(2026, 10, 26)),
        add(app, now=then, agent_id="A002", kind="prefer_off", start_date=dt.date(2026, 10, 19)),
    ):
        decide(app, request_id)
    with session_scope(app) as session:
        assert reqs.roster_inputs(session, week, ["A001", "A002"])[0] == {"A001": {6}}
        assert reqs.roster_inputs(session, week + dt.timedelta(days=7), ["A001"])[0] == {
            "A001": {0}
        }
        assert reqs.roster_inputs(session, week, ["A002"])[1] == [
            Request("A002", 0, None, False, reqs.PREFERENCE_WEIGHT)
        ]


def shift_row(agent: str, date: dt.date, start: str, end: str) -> dict:
    return {
        "agent": agent,
        "date": date.isoformat(),
        "shift_start": f"{date}T{start}:00+01:00",
        "shift_end": f"{date}T{end}:00+01:00",
        "break_start": "",
        "queue_skills": "general",
    }


def test_honoured_counts_the_approved_preferences_a_roster_keeps(app):
    decide(app, add(app, kind="prefer_shift", start_date=day(1), shift_start="08:00"))
    decide(app, add(app, kind="prefer_off", start_date=day(2)))
    decide(app, add(app, kind="prefer_shift", start_date=day(3), shift_start="11:00"))
    decide(app, add(app, agent_id="A002", kind="prefer_off", start_date=day(0)))
    decide(
        app, add(app, agent_id="A002", kind="prefer_shift", start_date=day(4), shift_start="08:00")
    )
    add(app, agent_id="A002", kind="prefer_off", start_date=day(3))  # pending: not counted
    decide(app, add(app, agent_id="A003", kind="prefer_off", start_date=day(1)), "refuse")
    decide(app, add(app, agent_id="A004", kind="prefer_off", start_date=day(7)))  # next week
    rows = [
        shift_row("A001", day(1), "08:00", "16:30"),  # kept
        shift_row("A001", day(2), "11:00", "19:30"),  # asked off: not kept
        shift_row("A001", day(3), "08:00", "16:30"),  # asked 11:00: not kept
        shift_row("A002", day(1), "08:00", "16:30"),  # off on day 0: kept
        shift_row("A002", day(4), "08:00", "17:00"),  # kept
        shift_row("A002", day(3), "08:00", "17:00"),
        shift_row("A003", day(1), "08:00", "17:00"),
    ]
    with session_scope(app) as session:
        assert reqs.honoured(session, WEEK, rows) == {"A001": (1, 3), "A002": (2, 2)}
        assert reqs.honoured(session, WEEK, []) == {"A001": (1, 3), "A002": (1, 2)}
        assert reqs.honoured(session, WEEK - dt.timedelta(days=7), rows) == {}


def test_approved_time_off_keeps_the_agent_off_in_a_solved_roster(app):
    """The days roster_inputs gives, as Staff.days_off of a small week that needs two agents
    every day: the agent is off those days whatever the cover asks; a preference is kept where
    the cover allows it."""
    decide(app, add(app, kind="time_off", start_date=day(1), end_date=day(2)))
    decide(app, add(app, agent_id="A002", kind="prefer_off", start_date=day(4)))
    shift = RosterShift("08:00-16:00", 480, 8 * 60, 16 * 60)
    agents = ["A001", "A002", "A003", "A004"]
    with session_scope(app) as session:
        off, asked = reqs.roster_inputs(session, WEEK, agents, [shift.id])
    staff = [
        Staff(a, max_minutes=5 * 480, max_consecutive=6, days_off=off.get(a, set())) for a in agents
    ]
    covers = [Cover(d, shift.id, 2, 1000, 1) for d in range(7)]
    problem = RosterProblem(7, [shift], staff, covers, requests=asked)
    result = solve(problem, time_limit_s=10, workers=2)
    assert check(problem, result.assignment) == []
    assert not {("A001", 1), ("A001", 2)} & set(result.assignment)
    assert ("A002", 4) not in result.assignment
    assert sum(1 for (_, d) in result.assignment if d in (1, 2)) == 4  # the cover still met


# --------------------------------------------------------------------------- the pages


@pytest.fixture
def supervisor(app):
    client = app.test_client()
    login(client)
    return client


@pytest.fixture
def agent(app):
    client = app.test_client()
    login(client, "giulia")
    return client


def form_token(client) -> str:
    return csrf(client, client.get("/supervisor/requests").get_data(as_text=True))


def audit_actions(app) -> list[tuple[str, str, dict]]:
    with session_scope(app) as session:
        return [
            (a.action, a.username, a.detail)
            for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_only_supervisors_open_the_requests_page(app, supervisor, agent):
    assert supervisor.get("/supervisor/requests").status_code == 200
    assert agent.get("/supervisor/requests").headers["Location"] == "/agent"
    anonymous = app.test_client().get("/supervisor/requests")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert supervisor.get("/supervisor/requests?week=not-a-date").status_code == 400
    assert supervisor.get("/supervisor/requests?status=maybe").status_code == 400


def test_a_supervisor_enters_a_request_and_approves_it_audited(app, supervisor):
    token = form_token(supervisor)
    entered = supervisor.post(
        "/supervisor/requests",
        data={"csrf_token": token, "agent": "A003", "kind": "time_off", "date": "2026-12-01",
              "end_date": "2026-12-02", "shift_start": "", "note": "dentist"},
    )  # fmt: skip
    assert entered.status_code == 302
    assert entered.headers["Location"].endswith("/supervisor/requests?week=2026-11-30#request-1")
    page = supervisor.get("/supervisor/requests?week=2026-12-02").get_data(as_text=True)
    assert "week of Mon 2026-11-30" in page
    assert "time off Tue 2026-12-01 to Wed 2026-12-02" in page and "dentist" in page
    decided = supervisor.post(
        "/supervisor/requests/1/decide",
        data={"csrf_token": token, "decision": "approve", "decision_note": "covered by A004",
              "status": "pending", "week": "2026-11-30"},
    )  # fmt: skip
    assert decided.status_code == 302
    assert decided.headers["Location"].endswith(
        "/supervisor/requests?status=pending&week=2026-11-30"
    )
    shown = supervisor.get("/supervisor/requests?status=approved").get_data(as_text=True)
    assert 'id="request-1" data-status="approved"' in shown
    assert "approved by demo 2026-11-25 10:00: covered by A004" in shown
    assert 'id="request-1"' not in supervisor.get("/supervisor/requests").get_data(as_text=True)
    again = supervisor.post(
        "/supervisor/requests/1/decide", data={"csrf_token": token, "decision": "refuse"}
    )
    assert again.status_code == 409
    assert "decision: request #1 is already approved" in again.get_data(as_text=True)
    missing = supervisor.post(
        "/supervisor/requests/9/decide", data={"csrf_token": token, "decision": "refuse"}
    )
    assert missing.status_code == 404
    unknown = supervisor.post(
        "/supervisor/requests/1/decide", data={"csrf_token": token, "decision": "maybe"}
    )
    assert unknown.status_code == 400
    assert "decision: must be approve or refuse" in unknown.get_data(as_text=True)
    actions = audit_actions(app)
    assert [(a, u) for a, u, _ in actions] == [
        ("request.create", "demo"),
        ("request.approve", "demo"),
    ]
    assert actions[0][2] == {"request": 1, "agent": "A003", "kind": "time_off",
                             "date": "2026-12-01", "end_date": "2026-12-02", "shift_start": None,
                             "status": "pending", "note": "dentist"}  # fmt: skip
    assert (actions[1][2]["status"], actions[1][2]["note"]) == ("approved", "covered by A004")


def test_bad_input_on_the_page_says_which_field_and_keeps_the_form(app, supervisor):
    token = form_token(supervisor)
    refused = supervisor.post(
        "/supervisor/requests",
        data={"csrf_token": token, "agent": "A003", "kind": "prefer_shift", "date": "2026-12-01",
              "shift_start": "06:10", "note": "early please"},
    )  # fmt: skip
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "shift start: 06:10 is not a shift start on Tuesday 2026-12-01" in page
    assert 'value="early please"' in page and '<option value="A003" selected>' in page
    no_token = supervisor.post(
        "/supervisor/requests",
        data={"agent": "A003", "kind": "time_off", "date": "2026-12-01"},
    )
    assert no_token.status_code == 400
    assert count(app) == 0 and audit_actions(app) == []


def test_the_page_counts_the_preferences_the_weeks_roster_honours(app, supervisor):
    decide(app, add(app, kind="prefer_shift", start_date=day(1), shift_start="08:00"))
    decide(app, add(app, kind="prefer_off", start_date=day(2)))
    with session_scope(app) as session:
        for d in (1, 2):
            start = dt.datetime.combine(day(d), dt.time(8), tzinfo=ROME)
            session.add(
                RosterAssignment(week_start=WEEK, agent_id="A001", date=day(d), shift_start=start,
                                 shift_end=start + dt.timedelta(hours=8), status="published")
            )  # fmt: skip
    page = supervisor.get("/supervisor/requests?week=2026-11-30&status=all").get_data(as_text=True)
    assert "By the week's published roster" in page
    assert '<tr id="honoured-A001"><td>A001 Giulia' in page
    assert "</td><td>1</td><td>2</td></tr>" in page
    before = supervisor.get("/supervisor/requests?week=2026-11-23").get_data(as_text=True)
    assert "No roster for the week of 2026-11-23 yet." in before


def test_a_roster_week_starting_on_another_day_is_shown_as_stored(app, supervisor):
    """A roster stored for a week from Wednesday 2 December: the page shows that week for any
    of its days, and counts the preferences it honours by its days; a week without a roster
    starts on a Monday."""
    decide(app, add(app, kind="prefer_off", start_date=day(2)))  # Wednesday 2
    decide(app, add(app, kind="prefer_shift", start_date=day(7), shift_start="08:00"))  # Mon 7
    wednesday = day(2)
    with session_scope(app) as session:
        for d in (0, 5):  # Wednesday 2 and Monday 7
            date = wednesday + dt.timedelta(days=d)
            start = dt.datetime.combine(date, dt.time(8), tzinfo=ROME)
            session.add(
                RosterAssignment(week_start=wednesday, agent_id="A001", date=date,
                                 shift_start=start, shift_end=start + dt.timedelta(hours=8),
                                 status="draft")
            )  # fmt: skip
    for asked in ("2026-12-02", "2026-12-04", "2026-12-08"):
        page = supervisor.get(f"/supervisor/requests?week={asked}&status=all")
        text = page.get_data(as_text=True)
        assert "week of Wed 2026-12-02" in text, asked
        assert "By the week's draft roster" in text
        assert "</td><td>1</td><td>2</td></tr>" in text  # the Monday shift kept, Wednesday not
    before = supervisor.get("/supervisor/requests?week=2026-12-01").get_data(as_text=True)
    assert "week of Mon 2026-11-30" in before and "No roster for the week of 2026-11-30" in before


def desk_headers(client) -> dict:
    return {"X-CSRFToken": csrf(client, client.get("/agent").get_data(as_text=True))}


def test_an_agent_asks_on_the_desk_and_sees_the_decision(app, agent, supervisor):
    headers = desk_headers(agent)
    asked = agent.post(
        "/agent/requests",
        json={"agent": "A009", "kind": "time_off", "date": "2026-12-01", "end_date": "2026-12-02",
              "note": "moving house"},
        headers=headers,
    )  # fmt: skip
    assert asked.status_code == 201
    body = asked.get_json()
    assert body["request"]["agent"] == "A001"  # their own, whatever the body says
    assert body["request"]["status"] == "pending"
    assert body["request"]["what"] == "time off Tue 2026-12-01 to Wed 2026-12-02"
    bad = agent.post(
        "/agent/requests", json={"kind": "prefer_shift", "date": "2026-12-03"}, headers=headers
    )
    assert bad.status_code == 400
    assert bad.get_json() == {
        "error": "shift start: choose the start of the shift preferred",
        "field": "shift start",
    }
    assert agent.post("/agent/requests", json={"kind": "time_off", "date": "2026-12-09"}).status_code == 400  # fmt: skip
    token = form_token(supervisor)
    supervisor.post(
        "/supervisor/requests/1/decide",
        data={"csrf_token": token, "decision": "refuse", "decision_note": "inventory week"},
    )
    (shown,) = agent.get("/agent/desk.json").get_json()["requests"]
    assert (shown["status"], shown["decision_note"], shown["decided_by"]) == (
        "refused", "inventory week", "demo",
    )  # fmt: skip
    assert agent.post("/agent/requests/1/withdraw", headers=headers).status_code == 409
    again = agent.post(
        "/agent/requests", json={"kind": "prefer_off", "date": "2026-12-02"}, headers=headers
    )
    assert again.status_code == 201
    withdrawn = agent.post("/agent/requests/2/withdraw", headers=headers)
    assert [r["status"] for r in withdrawn.get_json()["requests"]] == ["refused", "withdrawn"]
    # another agent's request is not theirs to withdraw
    other = add(app, agent_id="A002", kind="prefer_off", start_date=day(3))
    assert agent.post(f"/agent/requests/{other}/withdraw", headers=headers).status_code == 404
    assert [(a, u) for a, u, _ in audit_actions(app)] == [
        ("request.create", "giulia"), ("request.refuse", "demo"),
        ("request.create", "giulia"), ("request.withdraw", "giulia"),
    ]  # fmt: skip
