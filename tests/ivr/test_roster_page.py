"""The roster page a supervisor acts on: weeks to move between, a cell of the draft edited (and
refused, rule and agent named, when it newly breaks a hard rule), cells locked, the week solved
again in the background keeping its locks, and the agents' preferences honoured."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from ivr.config import hotline_config
from ivr.jobs.tasks import wall_now
from ivr.planning import roster_edits, rosters
from ivr.store.db import session_scope
from ivr.store.models import (
    AgentRequest,
    AuditEntry,
    BackgroundTask,
    PlanDraft,
    RosterAssignment,
    RosterLock,
)
from tests.conftest import CONFIG_DIR

from .conftest import OPEN_TIME, csrf, login

WEEK = dt.date(2026, 11, 23)  # Monday; the clock is Wednesday 25 November, 10:00 in Rome
ROME = ZoneInfo("Europe/Rome")
EARLY, LATE = "08:00-16:30", "13:00-21:30"  # a late then an early leaves 10.5 h: too little rest
SKILLS = "orders;complaints;technical;general,en;it;pl;ro;nb"
AGENTS = f"""id,name,skills,languages,min_hours_week,max_hours_week,unavailable_days
A001,Ada Early,{SKILLS},0,40,
A002,Bea Late,{SKILLS},0,40,
A003,Cy Spare,{SKILLS},0,40,
A004,Dee Short,{SKILLS},16,40,
"""


def plan_csv(week: dt.date = WEEK) -> str:
    """One early and one late shift each weekday, one agent each."""
    lines = ["date,shift_start,shift_end,break_start,agents,paid_hours"]
    for d in range(5):
        day = week + dt.timedelta(days=d)
        for start, end, brk in (("08:00", "16:30", "12:00"), ("13:00", "21:30", "17:00")):
            lines.append(
                f"{day},{day}T{start}:00+01:00,{day}T{end}:00+01:00,{day}T{brk}:00+01:00,1,8.0"
            )
    return "\n".join(lines) + "\n"


@pytest.fixture
def app(make_app, clock, tmp_path):
    folder = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, folder)
    (folder / "agents.csv").write_text(AGENTS)
    return make_app(CLOCK=clock, CONFIG_DIR=str(folder))


def store(app, cells: dict[tuple[str, int], str], status: str = "draft", week=WEEK) -> None:
    """A roster of these (agent, day) -> shift cells, times in Rome."""
    with session_scope(app) as db:
        store_cells(db, cells, status, week)


def store_cells(db, cells: dict[tuple[str, int], str], status: str, week: dt.date) -> None:
    for (agent, day), shift in cells.items():
        date = week + dt.timedelta(days=day)
        start, end = (dt.time.fromisoformat(t) for t in shift.split("-"))
        at = dt.datetime.combine(date, start, tzinfo=ROME)
        db.add(
            RosterAssignment(
                week_start=week, agent_id=agent, date=date, shift_start=at,
                shift_end=dt.datetime.combine(date, end, tzinfo=ROME),
                break_start=at + dt.timedelta(hours=4), status=status,
            )
        )  # fmt: skip


def store_plan(app, week=WEEK) -> None:
    with session_scope(app) as db:
        db.add(
            PlanDraft(kind="shifts", week_start=week, created_at=OPEN_TIME, status="draft",
                      content=plan_csv(week))
        )  # fmt: skip


def usual_week() -> dict[tuple[str, int], str]:
    """Ada early and Bea late Monday to Friday: every rule kept but Dee's 16 hours."""
    return {(a, d): s for d in range(5) for a, s in (("A001", EARLY), ("A002", LATE))}


@pytest.fixture
def supervisor(app):
    client = app.test_client()
    login(client)
    return client


def page_of(client, week=WEEK, status="draft") -> str:
    return client.get(f"/supervisor/roster?week={week}&status={status}").get_data(as_text=True)


def version_of(page: str) -> str:
    """The draft's version the page's edit form sends."""
    found = re.search(r'name="version" value="(\d+)"', page)
    return found.group(1) if found else ""


def post(client, path: str, **form):
    """The draft page's form posted as loaded now (its token and draft version)."""
    page = page_of(client)
    data = {"week": str(WEEK), "csrf_token": csrf(client, page), "version": version_of(page)}
    return client.post(f"/supervisor/roster/{path}", data={**data, **form})


def draft(app, week=WEEK) -> dict[tuple[str, int], str]:
    with session_scope(app) as db:
        return {
            (r.agent_id, (r.date - week).days): f"{r.shift_start.astimezone(ROME):%H:%M}-"
            f"{r.shift_end.astimezone(ROME):%H:%M}"
            for r in db.scalars(
                select(RosterAssignment).where(
                    RosterAssignment.week_start == week, RosterAssignment.status == "draft"
                )
            )
        }


def audit_actions(app) -> list[tuple[str, dict]]:
    with session_scope(app) as db:
        return [
            (e.action, e.detail) for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


# --------------------------------------------------------------------------- weeks


def test_the_page_links_the_weeks_around_and_those_with_a_roster(app, supervisor):
    store(app, usual_week(), "published", week=WEEK - dt.timedelta(days=7))
    store(app, usual_week(), "draft")
    store(app, usual_week(), "published")
    page = page_of(supervisor)
    assert 'href="/supervisor/roster?week=2026-11-16" rel="prev"' in page
    assert 'href="/supervisor/roster?week=2026-11-30" rel="next"' in page
    weeks = page.split('<section id="weeks">')[1]
    assert weeks.index("week of 2026-11-23: ") < weeks.index("week of 2026-11-16: ")
    assert '<a href="/supervisor/roster?week=2026-11-23&amp;status=draft">draft</a>' in weeks
    assert (
        '<a href="/supervisor/roster?week=2026-11-23&amp;status=published">published</a>' in weeks
    )
    assert (
        '<a href="/supervisor/roster?week=2026-11-16&amp;status=published">published</a>' in weeks
    )
    # a week with no roster still shows its links and says so
    empty = supervisor.get("/supervisor/roster?week=2026-11-30")
    assert empty.status_code == 200
    assert 'href="/supervisor/roster?week=2026-11-23" rel="prev"' in empty.get_data(as_text=True)
    # a week that is over has no forms to change it
    past = page_of(supervisor, WEEK - dt.timedelta(days=7), "published")
    assert "The week is over" in past and 'id="edit-form"' not in past
    assert 'id="edit-form"' in page and 'id="resolve-form"' not in page  # no plan stored yet


# --------------------------------------------------------------------------- edits


def test_an_edit_is_saved_as_the_draft_with_its_summary_and_audited(app, supervisor):
    store(app, usual_week())
    store_plan(app)
    answer = post(supervisor, "edit", agent="A003", date="2026-11-24", shift=EARLY)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/supervisor/roster?week=2026-11-23&status=draft")
    assert draft(app) == {**usual_week(), ("A003", 1): EARLY}
    with session_scope(app) as db:
        newest = db.scalars(
            select(PlanDraft).where(PlanDraft.kind == "roster").order_by(PlanDraft.id.desc())
        ).first()
        summary = newest.summary
    assert summary["status"] == "edited" and summary["shifts"] == 11
    assert summary["unfilled"] == 0
    # Dee's contract minimum was broken before the edit, and still is
    assert [(r["rule"], r["agent"]) for r in summary["rules_broken"]] == [("min hours", "A004")]
    (action, detail) = audit_actions(app)[-1]
    assert action == "roster.edit"
    assert detail == {"week": "2026-11-23", "agent": "A003", "date": "2026-11-24", "before": None,
                      "after": EARLY, "rules_broken": 1}  # fmt: skip
    page = page_of(supervisor)
    assert 'data-agent="A003" data-date="2026-11-24" data-shift="08:00-16:30"' in page
    assert "Rules broken: 1" in page and "A004 works 0 minutes, outside [960, 2400]" in page
    # the same cell again: nothing changes, nothing is audited
    again = post(supervisor, "edit", agent="A003", date="2026-11-24", shift=EARLY)
    assert again.status_code == 200 and "Nothing changed" in again.get_data(as_text=True)
    assert len(audit_actions(app)) == 1
    # changed to another shift, then removed
    assert post(supervisor, "edit", agent="A003", date="2026-11-24", shift=LATE).status_code == 302
    assert draft(app)[("A003", 1)] == LATE
    assert post(supervisor, "edit", agent="A003", date="2026-11-24", shift="").status_code == 302
    assert draft(app) == usual_week()


def test_an_edit_that_breaks_a_rule_is_refused_naming_the_rule_and_the_agent(app, supervisor):
    store(app, usual_week())
    store_plan(app)
    assert post(supervisor, "edit", agent="A003", date="2026-11-23", shift=LATE).status_code == 302
    refused = post(supervisor, "edit", agent="A003", date="2026-11-24", shift=EARLY)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "Refused: A003 08:00-16:30 on Tue 24 Nov breaks a rule the draft keeps" in page
    assert "<li>rest: A003: 08:00-16:30 after 13:00-21:30 on day 0 (Tue 24 Nov)</li>" in page
    assert ("A003", 1) not in draft(app)
    # taking Ada's Monday away leaves the morning without anyone: a cover, named by its hours
    refused = post(supervisor, "edit", agent="A001", date="2026-11-23", shift="")
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "<li>attribute cover: Monday 2026-11-23: needs 1 " in text
    assert "at 08:00, 09:00, 10:00, 11:00, 12:00</li>" in text
    assert draft(app)[("A001", 0)] == EARLY
    assert [a for a, _d in audit_actions(app)] == ["roster.edit"]


def test_only_rules_newly_broken_refuse_an_edit(app, supervisor):
    """Dee is short of her 16 hours before the edit; one shift leaves her short still, and is
    taken."""
    store(app, usual_week())
    assert post(supervisor, "edit", agent="A004", date="2026-11-26", shift=EARLY).status_code == 302
    assert draft(app)[("A004", 3)] == EARLY


def test_approved_time_off_is_a_day_off_an_edit_may_not_fill(app, supervisor):
    store(app, usual_week())
    with session_scope(app) as db:
        db.add(
            AgentRequest(agent_id="A003", kind="time_off", start_date=dt.date(2026, 11, 26),
                         end_date=dt.date(2026, 11, 27), status="approved", entered_by="demo",
                         entered_at=OPEN_TIME)
        )  # fmt: skip
    refused = post(supervisor, "edit", agent="A003", date="2026-11-27", shift=EARLY)
    assert refused.status_code == 409
    assert "day off: A003 works day off 4 (Fri 27 Nov)" in refused.get_data(as_text=True)


def test_wrong_fields_and_past_weeks_are_refused_with_the_field_named(app, supervisor):
    store(app, usual_week())
    cases = [
        ({"agent": "Z999", "date": "2026-11-24", "shift": EARLY}, "agent: &#39;Z999&#39; is not in agents.csv"),
        ({"agent": "A003", "date": "2026-12-24", "shift": EARLY}, "date: 2026-12-24 is not in the week of 2026-11-23"),
        ({"agent": "A003", "date": "tuesday", "shift": EARLY}, "date: &#39;tuesday&#39; is not a date"),
        ({"agent": "A003", "date": "2026-11-24", "shift": "07:00-15:00"}, "shift: &#39;07:00-15:00&#39; is not a shift of the week"),
    ]  # fmt: skip
    for form, message in cases:
        answer = post(supervisor, "edit", **form)
        assert answer.status_code == 400 and message in answer.get_data(as_text=True), form
    token = csrf(supervisor, page_of(supervisor))
    past = supervisor.post(
        "/supervisor/roster/edit",
        data={"week": "2026-11-16", "agent": "A003", "date": "2026-11-17", "shift": EARLY,
              "version": "0", "csrf_token": token},
    )  # fmt: skip
    assert past.status_code == 400
    assert "week: the week of 2026-11-16 ended on 2026-11-22" in past.get_data(as_text=True)
    assert draft(app) == usual_week() and audit_actions(app) == []


def test_the_first_edit_of_a_published_week_starts_its_draft(app, supervisor):
    store(app, usual_week(), "published")
    assert post(supervisor, "edit", agent="A003", date="2026-11-25", shift=EARLY).status_code == 302
    assert draft(app) == {**usual_week(), ("A003", 2): EARLY}
    token = csrf(supervisor, page_of(supervisor))
    supervisor.post("/supervisor/roster/publish", data={"week": str(WEEK), "csrf_token": token})
    page = page_of(supervisor, status="published")
    assert "Added: A003 Wed 25 08:00–16:30" in page


# --------------------------------------------------------------------------- locks


def test_a_locked_cell_keeps_its_shift_or_day_off_against_edits(app, supervisor):
    store(app, usual_week())
    locked = post(supervisor, "lock", agent="A001", date="2026-11-23", lock="lock", shift=EARLY)
    assert locked.status_code == 302
    assert post(supervisor, "lock", agent="A003", date="2026-11-25", lock="lock").status_code == 302
    with session_scope(app) as db:
        locks = {
            (r.agent_id, r.date.isoformat(), r.shift, r.locked_by)
            for r in db.scalars(select(RosterLock))
        }
    assert locks == {("A001", "2026-11-23", EARLY, "demo"), ("A003", "2026-11-25", None, "demo")}
    page = page_of(supervisor)
    assert (
        'data-agent="A001" data-date="2026-11-23" data-shift="08:00-16:30" class="locked"' in page
    )
    assert "Locked cells: 2" in page and "A003 Wed 25 Nov: off" in page
    refused = post(supervisor, "edit", agent="A003", date="2026-11-25", shift=EARLY)
    assert refused.status_code == 409
    assert (
        "locked cell: A003 works 08:00-16:30 on day 2, a day locked off (Wed 25 Nov)"
        in refused.get_data(as_text=True)
    )
    refused = post(supervisor, "edit", agent="A001", date="2026-11-23", shift=LATE)
    assert (
        "locked cell: A001 works 13:00-21:30 on day 0, locked to 08:00-16:30"
        in refused.get_data(as_text=True)
    )
    assert (
        post(supervisor, "lock", agent="A003", date="2026-11-25", lock="unlock").status_code == 302
    )
    assert post(supervisor, "edit", agent="A003", date="2026-11-25", shift=EARLY).status_code == 302
    assert [a for a, _d in audit_actions(app)] == [
        "roster.lock",
        "roster.lock",
        "roster.unlock",
        "roster.edit",
    ]
    again = post(supervisor, "lock", agent="A001", date="2026-11-23", lock="lock", shift=EARLY)
    assert again.status_code == 200 and "already locked" in again.get_data(as_text=True)


# --------------------------------------------------------------------------- the draft changed


def test_the_published_view_links_to_the_draft_where_the_changes_are(app, supervisor):
    store(app, usual_week(), "published")
    store(app, {**usual_week(), ("A003", 2): EARLY}, "draft")
    shown = supervisor.get(f"/supervisor/roster?week={WEEK}").get_data(as_text=True)
    assert "Roster (published), week of 2026-11-23" in shown  # the default with both
    assert 'id="edit-form"' not in shown and 'id="resolve-form"' not in shown
    assert '<a href="/supervisor/roster?week=2026-11-23&amp;status=draft">change the draft' in shown
    assert 'id="edit-form"' in page_of(supervisor)
    # a week with only its publication: the draft view starts from it, with nothing to publish
    store(app, usual_week(), "published", week=WEEK + dt.timedelta(days=7))
    later = page_of(supervisor, WEEK + dt.timedelta(days=7))
    assert "Roster (draft, from the published roster), week of 2026-11-30" in later
    assert 'id="edit-form"' in later and "Publish this roster" not in later
    assert "roster.csv?week=2026-11-30&amp;status=published" in later


def test_a_lock_of_a_shift_the_draft_does_not_have_there_is_refused(app, supervisor):
    """The published roster has Cy late on Monday, the draft has him off: a lock sent with the
    late shift (as the published view showed it) would lock him off, and is refused."""
    store(app, {**usual_week(), ("A003", 0): LATE}, "published")
    store(app, usual_week(), "draft")
    refused = post(supervisor, "lock", agent="A003", date="2026-11-23", lock="lock", shift=LATE)
    assert refused.status_code == 409
    assert (
        "lock: the draft has A003 off on Mon 23 Nov, not 13:00-21:30 as the form showed"
        in refused.get_data(as_text=True)
    )
    with session_scope(app) as db:
        assert db.scalars(select(RosterLock)).all() == []
    assert post(supervisor, "lock", agent="A003", date="2026-11-23", lock="lock").status_code == 302


def test_a_change_against_a_draft_that_changed_since_the_page_was_loaded_is_refused(
    app, supervisor
):
    store(app, usual_week())
    loaded = page_of(supervisor)  # a second supervisor's page, loaded before the first edit
    assert post(supervisor, "edit", agent="A003", date="2026-11-24", shift=EARLY).status_code == 302
    assert version_of(page_of(supervisor)) != version_of(loaded)
    for path, form in (
        ("edit", {"agent": "A003", "date": "2026-11-25", "shift": EARLY}),
        ("lock", {"agent": "A001", "date": "2026-11-23", "lock": "lock", "shift": EARLY}),
    ):
        stale = supervisor.post(
            f"/supervisor/roster/{path}",
            data={"week": str(WEEK), "csrf_token": csrf(supervisor, loaded),
                  "version": version_of(loaded), **form},
        )  # fmt: skip
        assert stale.status_code == 409, path
        assert "the draft changed since the page was loaded: reload" in stale.get_data(as_text=True)
    assert draft(app) == {**usual_week(), ("A003", 1): EARLY}
    with session_scope(app) as db:
        assert db.scalars(select(RosterLock)).all() == []
    assert [a for a, _d in audit_actions(app)] == ["roster.edit"]
    missing = post(supervisor, "edit", agent="A003", date="2026-11-25", shift=EARLY, version="")
    assert missing.status_code == 400 and "version: " in missing.get_data(as_text=True)


def test_a_draft_saved_by_another_change_at_the_same_moment_refuses_the_edit(
    app, supervisor, monkeypatch
):
    """Another change stored between this edit's look at the version and its write: the edit
    stores nothing and says so (the other change stays)."""
    store(app, usual_week())
    real = roster_edits.save_roster_draft
    other = {**usual_week(), ("A004", 3): EARLY}

    def another_first(session, rows, summary, week_start, status, at):
        with session_scope(app) as db:
            db.execute(delete(RosterAssignment).where(RosterAssignment.status == "draft"))
            store_cells(db, other, "draft", WEEK)
            db.add(PlanDraft(kind="roster", week_start=WEEK, created_at=OPEN_TIME,
                             status="draft", content="agent,date\n", summary={}))  # fmt: skip
        return real(session, rows, summary, week_start, status, at)

    monkeypatch.setattr(roster_edits, "save_roster_draft", another_first)
    refused = post(supervisor, "edit", agent="A003", date="2026-11-24", shift=EARLY)
    assert refused.status_code == 409
    assert "the draft changed while the change was saved" in refused.get_data(as_text=True)
    assert draft(app) == other
    assert audit_actions(app) == []


def test_a_lock_stored_at_the_same_moment_as_another_is_a_conflict_not_an_error(
    app, supervisor, monkeypatch
):
    store(app, usual_week())
    real = roster_edits.draft_rows

    def locked_meanwhile(session, cfg, week_start):
        with session_scope(app) as db:
            db.add(RosterLock(week_start=WEEK, agent_id="A001", date=WEEK, shift=EARLY,
                              locked_by="other", locked_at=OPEN_TIME))  # fmt: skip
        return real(session, cfg, week_start)

    monkeypatch.setattr(roster_edits, "draft_rows", locked_meanwhile)
    refused = post(supervisor, "lock", agent="A001", date="2026-11-23", lock="lock", shift=EARLY)
    assert refused.status_code == 409
    assert "the draft changed since the page was loaded" in refused.get_data(as_text=True)
    with session_scope(app) as db:
        assert [r.locked_by for r in db.scalars(select(RosterLock))] == ["other"]
    assert audit_actions(app) == []


# --------------------------------------------------------------------------- re-solving


def test_solving_again_keeps_the_locks_and_shows_the_new_draft(app, supervisor, run_tasks_inline):
    """Cy is locked on Tuesday's early shift and off on Wednesday, Ada early on Monday: the new
    draft keeps all three and fills the plan."""
    store(app, usual_week())
    store_plan(app)
    assert post(supervisor, "edit", agent="A003", date="2026-11-24", shift=EARLY).status_code == 302
    for agent, date, shift in (
        ("A003", "2026-11-24", EARLY),
        ("A003", "2026-11-25", ""),
        ("A001", "2026-11-23", EARLY),
    ):
        locked = post(supervisor, "lock", agent=agent, date=date, lock="lock", shift=shift)
        assert locked.status_code == 302
    started = post(supervisor, "resolve", time_limit_s="5")
    assert started.status_code == 302
    with session_scope(app) as db:
        (task,) = db.scalars(select(BackgroundTask)).all()
        assert (task.kind, task.status, task.created_by) == ("roster_resolve", "done", "demo")
        assert task.params == {"week": "2026-11-23", "time_limit_s": 5.0, "by": "demo"}
        result = task.result
    assert result["locks_kept"] == 3 and result["rules_broken"] == [] and result["unfilled"] == 0
    cells = draft(app)
    assert cells[("A003", 1)] == EARLY and ("A003", 2) not in cells and cells[("A001", 0)] == EARLY
    assert result["shifts"] == len(cells) >= 10  # every planned shift has an agent
    assert audit_actions(app)[-1][0] == "roster.resolve"
    page = page_of(supervisor)
    assert 'id="resolve-result"' in page
    assert f"stored a draft of {len(cells)} shifts, keeping 3 locked cell(s)" in page
    task_json = supervisor.get(f"/supervisor/tasks/{task.id}").get_json()
    assert task_json["status"] == "done" and task_json["result"]["shifts"] == len(cells)


def test_locks_that_make_the_week_break_a_rule_store_nothing_and_say_which(
    app, supervisor, run_tasks_inline
):
    store(app, usual_week())
    store_plan(app)
    with session_scope(app) as db:  # Cy locked late on Monday and early on Tuesday: too little rest
        for day, shift in ((0, LATE), (1, EARLY)):
            db.add(RosterLock(week_start=WEEK, agent_id="A003", date=WEEK + dt.timedelta(days=day),
                              shift=shift, locked_by="demo", locked_at=OPEN_TIME))  # fmt: skip
    before = draft(app)
    assert post(supervisor, "resolve", time_limit_s="5").status_code == 302
    with session_scope(app) as db:
        (task,) = db.scalars(select(BackgroundTask)).all()
        assert task.status == "failed"
        error = task.error
    assert "the locked cells make the week break rules it keeps without them" in error
    assert (
        "rest: A003: 08:00-16:30 on day 1 too soon after 13:00-21:30 on day 0 (rest) (Tue 24 Nov)"
        in error
    )
    assert draft(app) == before
    assert "roster.resolve" not in [a for a, _d in audit_actions(app)]
    page = page_of(supervisor)
    assert 'id="resolve-error"' in page and "stored nothing" in page
    assert "rest: A003: 08:00-16:30 on day 1 too soon after 13:00-21:30 on day 0" in page


def test_solving_again_needs_a_plan_a_week_not_over_and_a_sensible_limit(app, supervisor):
    store(app, usual_week())
    refused = post(supervisor, "resolve", time_limit_s="5")
    assert refused.status_code == 400
    assert "no shift plan is stored for the week of 2026-11-23" in refused.get_data(as_text=True)
    store_plan(app)
    refused = post(supervisor, "resolve", time_limit_s="9999")
    assert refused.status_code == 400 and "time limit: &#39;9999&#39;" in refused.get_data(
        as_text=True
    )
    token = csrf(supervisor, page_of(supervisor))
    past = supervisor.post(
        "/supervisor/roster/resolve", data={"week": "2026-11-16", "csrf_token": token}
    )
    assert past.status_code == 400 and "ended on 2026-11-22" in past.get_data(as_text=True)
    with session_scope(app) as db:
        assert db.scalars(select(BackgroundTask)).all() == []
        db.add(
            BackgroundTask(kind="roster_resolve", params={"week": str(WEEK)}, status="running",
                           progress=0.2, message="CP-SAT on the whole week: 2 s of 10 s",
                           created_by="demo", created_at=wall_now(), updated_at=wall_now())
        )  # fmt: skip
    page = page_of(supervisor)
    assert 'id="resolve-progress"' in page and "CP-SAT on the whole week: 2 s of 10 s" in page
    assert 'id="resolve-start" disabled' in page
    twice = post(supervisor, "resolve", time_limit_s="5")
    assert twice.status_code == 409 and "is already under way" in twice.get_data(as_text=True)


def test_no_edit_or_lock_while_the_week_is_solved_again(app, supervisor):
    store(app, usual_week())
    with session_scope(app) as db:
        db.add(
            BackgroundTask(kind="roster_resolve", params={"week": str(WEEK)}, status="queued",
                           progress=0.0, message="waiting to start", created_by="demo",
                           created_at=wall_now(), updated_at=wall_now())
        )  # fmt: skip
    page = page_of(supervisor)
    assert 'id="edit-save" disabled' in page and 'id="edit-waits"' in page
    for path, form in (
        ("edit", {"agent": "A003", "date": "2026-11-24", "shift": EARLY}),
        ("lock", {"agent": "A001", "date": "2026-11-23", "lock": "lock", "shift": EARLY}),
        ("lock", {"agent": "A001", "date": "2026-11-23", "lock": "unlock"}),
    ):
        refused = post(supervisor, path, **form)
        assert refused.status_code == 409, form
        assert "the week of 2026-11-23 is being solved again (task " in refused.get_data(
            as_text=True
        )
    assert draft(app) == usual_week() and audit_actions(app) == []
    # a solve no worker refreshes any more (its server stopped) holds nothing up
    with session_scope(app) as db:
        task = db.scalars(select(BackgroundTask)).one()
        task.updated_at = wall_now() - dt.timedelta(hours=1)
    assert post(supervisor, "edit", agent="A003", date="2026-11-24", shift=EARLY).status_code == 302


def test_a_solve_whose_draft_changed_meanwhile_stores_nothing(
    app, supervisor, run_tasks_inline, monkeypatch
):
    """An edit stored while the solver runs (here: by the solve's own clock, through the page's
    function) is kept; the solve's roster is not."""
    store(app, usual_week())
    store_plan(app)
    solve = rosters.solve

    def edited_meanwhile(problem, time_limit_s=30.0, **kwargs):
        with session_scope(app) as db:
            version = roster_edits.draft_version(db, WEEK)
            roster_edits.edit_cell(
                db, hotline_config(app), WEEK, "A003", dt.date(2026, 11, 24), EARLY,
                version, OPEN_TIME,
            )  # fmt: skip
        return solve(problem, time_limit_s, **kwargs)

    monkeypatch.setattr(rosters, "solve", edited_meanwhile)
    assert post(supervisor, "resolve", time_limit_s="5").status_code == 302
    with session_scope(app) as db:
        (task,) = db.scalars(select(BackgroundTask)).all()
        assert task.status == "failed" and task.result is None
        assert "changed while it was solved again" in task.error
        assert "nothing stored" in task.error
    assert draft(app) == {**usual_week(), ("A003", 1): EARLY}
    assert "roster.resolve" not in [a for a, _d in audit_actions(app)]
    page = page_of(supervisor)
    assert 'id="resolve-error"' in page and "changed while it was solved again" in page


# --------------------------------------------------------------------------- requests


def test_the_page_says_how_many_preferences_each_agent_had_honoured(app, supervisor):
    store(app, usual_week())
    with session_scope(app) as db:
        for kind, day, start in (("prefer_shift", 0, "08:00"), ("prefer_off", 2, None)):
            db.add(
                AgentRequest(agent_id="A001", kind=kind, start_date=WEEK + dt.timedelta(days=day),
                             end_date=WEEK + dt.timedelta(days=day), shift_start=start,
                             status="approved", entered_by="demo", entered_at=OPEN_TIME)
            )  # fmt: skip
    page = page_of(supervisor)
    assert "<th>Preferences honoured</th>" in page
    assert '<td class="preferences">1 of 2</td>' in page  # the Monday early, not Wednesday off


def test_the_weekly_job_keeps_the_locks_too(app, tmp_path):
    """The Thursday draft (rosters.draft_roster, also the demo's) solves the week with its locks."""
    out = tmp_path / "plans"
    out.mkdir()
    (out / "plan.csv").write_text(plan_csv())
    with session_scope(app) as db:
        for agent, day, shift in (("A004", 1, EARLY), ("A001", 0, None)):
            db.add(RosterLock(week_start=WEEK, agent_id=agent, date=WEEK + dt.timedelta(days=day),
                              shift=shift, locked_by="demo", locked_at=OPEN_TIME))  # fmt: skip
    with app.app_context():
        rosters.draft_roster(app, out, lambda _message: None, 5)
    cells = draft(app)
    assert cells[("A004", 1)] == EARLY and ("A001", 0) not in cells
