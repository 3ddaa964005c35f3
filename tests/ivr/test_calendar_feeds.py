"""Agents' calendar feeds: the published shifts as a valid RFC 5545 calendar behind a secret
link, a SEQUENCE that rises with each republication, rotation by a supervisor."""

from __future__ import annotations

import icalendar
import pytest
from sqlalchemy import select

from ivr.store.audit import commit_with_audit
from ivr.store.db import session_scope
from ivr.store.models import AuditEntry
from ivr.web.calendars import feed_url

from .conftest import PUBLIC, csrf, login, store_roster


@pytest.fixture
def published(app):
    store_roster(app, 2, "published", agent="A001")
    store_roster(app, 3, "draft", agent="A001")
    store_roster(app, 1, "published", agent="A002")
    with session_scope(app) as session:  # the week was published twice
        for _ in range(2):
            commit_with_audit(session, "demo", "roster.publish", {"week": "2026-11-23"})
    return app


def url_of(app, agent: str) -> str:
    with app.test_request_context(), session_scope(app) as session:
        return feed_url(session, agent)


def test_the_feed_is_the_agents_published_shifts_behind_a_secret_link(published):
    app = published
    client = app.test_client()
    url = url_of(app, "A001")
    assert url.startswith(f"{PUBLIC}/calendar/A001/") and url.endswith(".ics")
    response = client.get(url.removeprefix(PUBLIC))
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 2  # published only, this agent only
    assert {str(e["uid"]) for e in events} == {
        "A001-2026-11-23-0900-1700@hotline",
        "A001-2026-11-24-0900-1700@hotline",
    }
    assert {int(e["sequence"]) for e in events} == {1}  # published twice: one change
    assert str(events[0]["dtstart"].dt.tzinfo) == "Europe/Rome"
    assert len(list(calendar.walk("VTIMEZONE"))) == 1
    assert calendar["version"] == "2.0" and calendar["prodid"]
    wrong = url.removeprefix(PUBLIC).replace("/A001/", "/A002/")
    assert client.get(wrong).status_code == 404  # another agent's link is not this one's
    assert client.get("/calendar/A999/0123.ics").status_code == 404


def test_a_supervisor_rotates_a_link_and_the_old_one_stops_working(published):
    app = published
    old = url_of(app, "A001").removeprefix(PUBLIC)
    supervisor = app.test_client()
    login(supervisor)
    page = supervisor.get("/supervisor/calendars").get_data(as_text=True)
    assert old in page
    rotated = supervisor.post(
        "/supervisor/calendars/A001/rotate", data={"csrf_token": csrf(supervisor, page)}
    )
    assert rotated.status_code == 302
    new = url_of(app, "A001").removeprefix(PUBLIC)
    assert new != old
    client = app.test_client()
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    with session_scope(app) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "calendar.rotate" in actions
    agent = app.test_client()
    login(agent, "giulia")
    assert agent.get("/agent/desk.json").get_json()["calendar_url"] == PUBLIC + new
    assert agent.get(new).status_code == 200  # an agent's login may open a feed too
    refused = agent.post("/supervisor/calendars/A001/rotate", data={"csrf_token": csrf(agent)})
    assert refused.status_code in (302, 403)  # an agent's login is sent back to the desk
    assert url_of(app, "A001").removeprefix(PUBLIC) == new


def test_republishing_says_what_changed_and_the_feed_cancels_a_removed_shift(app):
    import datetime as dt

    from ivr.planning.drafts import save_draft
    from ivr.store.models import PlanDraft, RosterAssignment

    from .conftest import OPEN_TIME

    week = dt.date(2026, 11, 23)

    def draft(days: list[int]) -> None:
        with session_scope(app) as session:
            for day in days:
                at = dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC) + dt.timedelta(days=day)
                session.add(RosterAssignment(week_start=week, agent_id="A001", date=at.date(),
                                             shift_start=at, shift_end=at + dt.timedelta(hours=8),
                                             status="draft"))  # fmt: skip
            save_draft(session, "roster", week, "agent,date\n", {}, OPEN_TIME)

    supervisor = app.test_client()
    login(supervisor)

    def publish() -> None:
        page = supervisor.get("/supervisor/roster?week=2026-11-23&status=draft").get_data(
            as_text=True
        )
        assert (
            supervisor.post(
                "/supervisor/roster/publish",
                data={"week": "2026-11-23", "csrf_token": csrf(supervisor, page)},
            ).status_code
            == 302
        )

    draft([0, 1])
    publish()
    draft([0, 2])  # Tuesday's shift moves to Wednesday
    publish()
    page = supervisor.get("/supervisor/roster?week=2026-11-23&status=published").get_data(
        as_text=True
    )
    assert "Last published by demo" in page
    assert "Added: A001 Wed 25 09:00–17:00" in page
    assert "Removed (cancelled in the agents' calendar feeds): A001 Tue 24 09:00–17:00" in page
    with session_scope(app) as session:
        drafts = session.scalars(select(PlanDraft).where(PlanDraft.kind == "roster")).all()
    assert [d.published_by for d in drafts] == ["demo", "demo"]
    feed = app.test_client().get(url_of(app, "A001").removeprefix(PUBLIC))
    events = {
        str(e["uid"]): (str(e.get("status", "")), int(e["sequence"]))
        for e in icalendar.Calendar.from_ical(feed.data).walk("VEVENT")
    }
    assert events == {
        "A001-2026-11-23-0900-1700@hotline": ("", 1),
        "A001-2026-11-24-0900-1700@hotline": ("CANCELLED", 1),
        "A001-2026-11-25-0900-1700@hotline": ("", 1),
    }
