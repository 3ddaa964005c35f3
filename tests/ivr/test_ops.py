"""Ops API and pages: authentication, the JSON contract, escaping, CSRF, headers, and the CLI."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from sqlalchemy import func, select

from ivr import stats
from ivr.demo.twilio_sim import Press, QueueOutcome
from ivr.store.db import session_scope
from ivr.store.models import Call, QueueEntry
from tests.conftest import shared_path

from .conftest import OPEN_TIME, csrf, login

TOKEN = "ops-token-1"


@pytest.fixture
def app(make_app, clock):
    return make_app(CLOCK=clock, API_TOKENS=[TOKEN, "ops-token-2"])


def bearer(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- API


@pytest.mark.parametrize("path", ["/api/queues", "/api/queues/orders/intervals"])
def test_api_refuses_without_or_with_a_wrong_token(client, path):
    for headers in (
        {},
        bearer("wrong"),
        {"Authorization": "Basic ZGVtbzpob3RsaW5lLWRlbW8="},
        {"Authorization": "Bearer "},
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.get_json() == {"error": "unauthorized"}
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="hotline"'


def test_api_queues_contract(client, new_call):
    new_call(queue_outcome=QueueOutcome(result="hangup", queue_time_s=48)).ring(
        [Press("1"), Press("1")]
    )
    body = client.get("/api/queues", headers=bearer("ops-token-2")).get_json()
    assert body["as_of"] == "2026-11-25T10:00:00+01:00"
    assert body["window"] == {
        "since": "2026-11-25T00:00:00+01:00",
        "until": "2026-11-26T00:00:00+01:00",
        "timezone": "Europe/Rome",
    }
    assert [q["queue"] for q in body["queues"]] == ["orders", "complaints", "technical", "general"]
    orders = body["queues"][0]
    for field in (
        "queue",
        "waiting",
        "longest_wait_s",
        "offered",
        "answered",
        "abandoned",
        "short_abandoned",
        "service_level",
        "asa_s",
        "aht_s",
        "abandon_rate",
        "csat",
        "surveys",
        "callbacks_pending",
    ):
        assert field in orders
    assert (
        orders["offered"],
        orders["abandoned"],
        orders["abandon_rate"],
        orders["service_level"],
    ) == (1, 1, 1.0, 0.0)


def test_api_window_and_intervals(client):
    body = client.get("/api/queues?since=2026-11-20&until=2026-11-21", headers=bearer()).get_json()
    assert (
        body["window"]["since"] == "2026-11-20T00:00:00+01:00"
        and body["window"]["until"] == "2026-11-22T00:00:00+01:00"
    )
    intervals = client.get(
        "/api/queues/technical/intervals?freq=1h&since=2026-11-25", headers=bearer()
    ).get_json()
    assert intervals["queue"] == "technical" and len(intervals["intervals"]) == 24
    assert intervals["intervals"][9]["interval_start"] == "2026-11-25T09:00:00+01:00"


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("/api/queues?since=yesterday", 400, "'yesterday' is not an ISO date or date-time"),
        ("/api/queues?since=2026-11-25&until=2026-11-01", 400, "until must be after since"),
        ("/api/queues?since=2020-01-01&until=2026-01-01", 400, "a window is at most 400 days"),
        ("/api/queues/orders/intervals?freq=7min", 400, "freq must be one of"),
        ("/api/queues/billing/intervals", 404, "unknown queue"),
        ("/api/queues?since=2026-11-25%27%20OR%201=1--", 400, "is not an ISO date"),
    ],
)
def test_api_bad_parameters(client, query, status, message):
    response = client.get(query, headers=bearer())
    assert response.status_code == status
    assert message in response.get_json()["error"]


@pytest.fixture
def nothing_computed(monkeypatch):
    """Statistics that fail the test if a refused request reaches them."""

    def refuse(*args, **kwargs):
        raise AssertionError("a refused request computed statistics")

    for name in ("queue_stats", "interval_stats"):
        monkeypatch.setattr(stats, name, refuse)


@pytest.mark.parametrize(
    "query, parameter, message",
    [
        ("/api/queues?since=9999-12-31", "since", "since=9999-12-31 is out of range"),
        ("/api/queues?until=9999-12-31", "until", "until=9999-12-31 is out of range"),
        ("/api/queues?since=0001-01-01", "since", "since=0001-01-01 is out of range"),
        ("/api/queues?since=0001-01-01T00:00&until=0001-01-02", "since", "out of range"),
        ("/api/queues?since=1975-12-31", "since", "in the years 1976 to 2076"),
        ("/api/queues?since=2077-01-01T00:00:01", "since", "50 years either side"),
        ("/api/queues/orders/intervals?since=9999-12-31", "since", "out of range"),
        ("/api/queues/orders/intervals?since=0001-01-01", "since", "out of range"),
        (
            "/api/queues?since=2025-01-01&until=2026-11-24",
            "until",
            "is 693 days; a window is at most 400 days: ask for a later since or an earlier until",
        ),
        (
            "/api/queues/orders/intervals?freq=15min&since=2025-11-01&until=2026-11-24",
            "freq",
            "37344 intervals of 15 minutes in the window; at most 20000 per request: ask for "
            "a window of at most 208.333 days at this freq, or a longer freq",
        ),
    ],
)
def test_api_refuses_dates_far_off_and_too_much_work(
    client, nothing_computed, query, parameter, message
):
    response = client.get(query, headers=bearer())
    assert response.status_code == 400
    assert response.get_json()["parameter"] == parameter
    assert message in response.get_json()["error"]


def test_api_answers_within_the_limits(client):
    ok = client.get("/api/queues?since=1976-01-01&until=1976-01-02", headers=bearer())
    assert ok.status_code == 200
    late = client.get("/api/queues?since=2076-12-31", headers=bearer())
    assert late.status_code == 200
    assert late.get_json()["window"]["until"] == "2077-01-01T00:00:00+01:00"
    year = client.get("/api/queues?since=2025-11-26&until=2026-11-25", headers=bearer())
    assert year.status_code == 200
    half_hours = client.get(
        "/api/queues/orders/intervals?freq=30min&since=2026-01-01&until=2026-01-31",
        headers=bearer(),
    )
    assert half_hours.status_code == 200 and len(half_hours.get_json()["intervals"]) == 31 * 48


def test_api_limits_come_from_the_settings(make_app, clock, nothing_computed):
    app = make_app(CLOCK=clock, API_TOKENS=[TOKEN], API_MAX_DAYS=7, API_MAX_INTERVALS=100)
    client = app.test_client()
    week = client.get("/api/queues?since=2026-11-01&until=2026-11-08", headers=bearer())
    assert week.get_json()["error"].endswith(
        "is 8 days; a window is at most 7 days: ask for a later since or an earlier until"
    )
    two_days = client.get(
        "/api/queues/orders/intervals?freq=15min&since=2026-11-01&until=2026-11-02",
        headers=bearer(),
    )
    assert "192 intervals" in two_days.get_json()["error"]
    assert "at most 100 per request" in two_days.get_json()["error"]


def test_a_logged_in_session_may_use_the_api(client):
    assert login(client).status_code == 302
    assert client.get("/api/queues").status_code == 200


# --------------------------------------------------------------------------- pages


@pytest.mark.parametrize("path", ["/ops", "/ops/abandoned", "/ops/tickets"])
def test_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert client.get(path, headers=bearer()).status_code == 302  # API tokens do not open pages


def test_the_root_leads_to_the_dashboard(client):
    assert client.get("/").headers["Location"] == "/ops"
    login(client)
    followed = client.get("/", follow_redirects=True)
    assert followed.status_code == 200 and 'id="card-orders"' in followed.get_data(as_text=True)


def test_login_logout_and_wrong_password(client):
    wrong = login(client, password="guess")
    assert wrong.status_code == 401 and "Wrong username or password." in wrong.get_data(
        as_text=True
    )
    assert login(client, username="nobody").status_code == 401
    ok = login(client)
    assert ok.status_code == 302 and ok.headers["Location"] == "/ops"
    page = client.get("/ops").get_data(as_text=True)
    assert 'id="card-orders"' in page and 'id="card-general"' in page
    assert client.post("/logout", data={"csrf_token": csrf(client, page)}).status_code == 302
    assert client.get("/ops").status_code == 302


def test_forms_need_the_csrf_token(client):
    assert (
        client.post("/login", data={"username": "demo", "password": "hotline-demo"}).status_code
        == 400
    )
    client.get("/login")
    assert (
        client.post(
            "/login", data={"username": "demo", "password": "hotline-demo", "csrf_token": "forged"}
        ).status_code
        == 400
    )
    login(client)
    assert client.post("/logout", data={}).status_code == 400


def test_login_never_redirects_to_another_site(client):
    token = csrf(client)
    for target in ("https://evil.example.com/", "//evil.example.com/x", "javascript:alert(1)"):
        response = client.post(
            f"/login?next={target}",
            data={"username": "demo", "password": "hotline-demo", "csrf_token": token},
        )
        assert response.headers["Location"] == "/ops"
        token = csrf(client)


def test_caller_supplied_text_is_escaped(client, new_call):
    evil = "<script>alert('x')</script>"
    new_call(from_number=evil, queue_outcome=QueueOutcome(result="hangup", queue_time_s=30)).ring(
        [Press("1"), Press("1")]
    )
    login(client)
    page = client.get("/ops/abandoned").get_data(as_text=True)
    assert evil not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "30 s" in page


def test_security_headers_on_pages_not_on_twiml(client, new_call):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    call = new_call()
    call.post(
        "https://line.example.com/voice/incoming", {"CallStatus": "ringing"}
    )  # TwiML stays plain XML


def test_tickets_page_lists_references(client, new_call):
    new_call().ring([Press("1"), Press("2")])
    login(client)
    page = client.get("/ops/tickets").get_data(as_text=True)
    assert re.search(
        r"<td><a href=\"/ops/tickets/(\d{8})\">\1</a></td><td>2026-11-25 10:00</td>"
        r"<td>\+39\*+567</td><td>en</td><td>open</td>",
        page,
    )


# --------------------------------------------------------------------------- CLI


def test_stats_cli_formats(app, new_call):
    new_call().ring([Press("1"), Press("3")])
    runner = app.test_cli_runner()
    as_json = json.loads(runner.invoke(args=["stats", "--format", "json"]).output)
    technical = next(r for r in as_json["queues"] if r["queue"] == "technical")
    assert technical["offered"] == 1 and technical["answered"] == 1
    csv_out = runner.invoke(
        args=["stats", "--queue", "technical", "--freq", "1h", "--format", "csv"]
    ).output.splitlines()
    assert csv_out[0].startswith("queue,interval_start,offered,answered")
    assert len(csv_out) == 25 and "technical,2026-11-25T10:00:00+01:00,1,1" in csv_out[11]
    table = runner.invoke(args=["stats", "--since", "2026-11-25", "--until", "2026-11-25"]).output
    assert "2026-11-25T00:00:00+01:00 .. 2026-11-26T00:00:00+01:00" in table
    lines = table.splitlines()  # a column per queue, a row per figure, "–" where none
    assert lines[1].split() == ["queue", "orders", "complaints", "technical", "general"]
    offered = next(line.split() for line in lines if line.startswith("offered "))
    assert offered == ["offered", "0", "0", "1", "0"]
    csat = next(line.split() for line in lines if line.startswith("csat "))
    assert csat[1] == "–" and "nan" not in table.lower()
    backwards = runner.invoke(args=["stats", "--since", "2026-11-25", "--until", "2026-11-01"])
    assert backwards.exit_code == 2 and "until must be after since" in backwards.output
    bad = runner.invoke(args=["stats", "--queue", "billing"])
    assert bad.exit_code == 2 and "unknown queue 'billing'" in bad.output


def test_stats_cli_json_is_the_api_body(app, client, new_call):
    new_call(queue_outcome=QueueOutcome(result="hangup", queue_time_s=48)).ring(
        [Press("1"), Press("1")]
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["stats", "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body) == {"as_of", "window", "queues", "languages"}
    assert body == client.get("/api/queues", headers=bearer()).get_json()
    one = json.loads(runner.invoke(args=["stats", "--queue", "orders", "--format", "json"]).output)
    assert [q["queue"] for q in one["queues"]] == ["orders"]
    intervals = json.loads(
        runner.invoke(
            args=["stats", "--queue", "orders", "--freq", "30min", "--format", "json"]
        ).output
    )
    api = client.get("/api/queues/orders/intervals?freq=30min", headers=bearer()).get_json()
    assert intervals["window"] == api["window"] and len(intervals["intervals"]) == 48
    assert {k: v for k, v in intervals["intervals"][20].items() if k != "queue"} == api[
        "intervals"
    ][20]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--since", "9999-12-31"],
            "Invalid value for --since: since=9999-12-31 is out of range",
        ),
        (
            ["--until", "0001-01-01"],
            "Invalid value for --until: until=0001-01-01 is out of range",
        ),
        (["--since", "2025-01-01", "--until", "2026-11-25"], "a window is at most 400 days"),
        (
            ["--since", "2026-01-01", "--until", "2026-11-25", "--freq", "15min"],
            "Invalid value for --freq: 31584 intervals of 15 minutes in the window; at most 20000",
        ),
        (["--freq", "soon"], "--freq: 'soon' is not a length of time (e.g. 15min, 30min, 1h)"),
        (["--freq", "-30min"], "freq must be a positive length of time"),
    ],
)
def test_stats_cli_refuses_dates_far_off_and_too_much_work(app, nothing_computed, args, message):
    result = app.test_cli_runner().invoke(args=["stats", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())  # click wraps long messages
    assert "Traceback" not in result.output


def test_stats_cli_limits_come_from_the_settings(make_app, clock):
    app = make_app(CLOCK=clock, API_MAX_DAYS=2)
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["stats", "--since", "2026-11-24", "--until", "2026-11-25"]).exit_code
        == 0
    )
    refused = runner.invoke(args=["stats", "--since", "2026-11-23", "--until", "2026-11-25"])
    assert refused.exit_code == 2 and "a window is at most 2 days" in refused.output


def test_history_cli_writes_every_interval(app, new_call, tmp_path):
    new_call().ring([Press("1"), Press("1")])
    out = tmp_path / "history.csv"
    result = app.test_cli_runner().invoke(args=["history", "--freq", "30min", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert (
        lines[0]
        == "interval_start,orders,orders_aht_s,complaints,complaints_aht_s,technical,technical_aht_s,general,general_aht_s"
    )
    assert len(lines) == 1 + 48
    assert lines[21].startswith("2026-11-25T10:00:00+01:00,1,")
    assert (
        lines[1] == "2026-11-25T00:00:00+01:00,0,,0,,0,,0,"
    )  # empty intervals are zeros, not skipped


TSV_HEADER = "vru+line\tcall_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver\n"


def write_tsv(path, rows, gz=False):
    text = TSV_HEADER + "".join("\t".join(r) + "\n" for r in rows)
    if gz:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)


def test_import_calls_maps_types_skips_phantom_and_bad_rows_and_is_idempotent(app, tmp_path):
    rows = [
        [
            "AA0101",
            "1",
            "2",
            "PS",
            "991124",
            "10:00:00",
            "10:00:10",
            "10",
            "10:00:10",
            "10:00:40",
            "30",
            "AGENT",
            "10:00:40",
            "10:03:40",
            "180",
            "S001",
        ],
        [
            "AA0101",
            "2",
            "0",
            "IN",
            "991124",
            "10:05:00",
            "10:05:08",
            "8",
            "10:05:08",
            "10:06:08",
            "60",
            "HANG",
            "0:00:00",
            "0:00:00",
            "0",
            "NO_SERVER",
        ],
        [
            "AA0101",
            "3",
            "0",
            "NW",
            "991124",
            "10:07:00",
            "10:07:09",
            "9",
            "0:00:00",
            "0:00:00",
            "0",
            "HANG",
            "0:00:00",
            "0:00:00",
            "0",
            "NO_SERVER",
        ],
        [
            "AA0101",
            "4",
            "0",
            "PS",
            "991124",
            "10:08:00",
            "10:08:05",
            "5",
            "0:00:00",
            "0:00:00",
            "0",
            "PHANTOM",
            "0:00:00",
            "0:00:00",
            "0",
            "NO_SERVER",
        ],
        [
            "AA0101",
            "5",
            "0",
            "PE",
            "991124",
            "23:59:00",
            "23:59:10",
            "10",
            "23:59:10",
            "0:00:20",
            "70",
            "AGENT",
            "0:00:20",
            "0:02:20",
            "120",
            "S002",
        ],
        [
            "AA0101",
            "6",
            "0",
            "PS",
            "991124",
            "ten",
            "10:00:10",
            "10",
            "10:00:10",
            "10:00:40",
            "30",
            "AGENT",
            "10:00:40",
            "10:03:40",
            "180",
            "S001",
        ],
        [
            "AA0101",
            "7",
            "0",
            "PS",
            "991124",
            "10:00:00",
            "10:00:10",
            "10",
            "10:00:10",
            "10:00:40",
            "-3",
            "AGENT",
            "10:00:40",
            "10:03:40",
            "180",
            "S001",
        ],
        [
            "AA0101",
            "8",
            "0",
            "TT",
            "991124",
            "11:00:00",
            "11:00:10",
            "10",
            "11:00:10",
            "11:00:13",
            "3",
            "HANG",
            "0:00:00",
            "0:00:00",
            "0",
            "NO_SERVER",
        ],
    ]
    path = tmp_path / "calls.tsv.gz"
    write_tsv(path, rows, gz=True)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-calls", str(path), "--tz", "Asia/Jerusalem"])
    assert result.exit_code == 0, result.output
    assert f"{path}:7: vru_entry ten is not h:mm:ss (skipped)" in result.output
    assert f"{path}:8: q_time -3 is not a non-negative number (skipped)" in result.output
    assert (
        "8 rows: 5 calls and 4 queue entries added, 1 phantom skipped, 2 malformed skipped"
        in result.output
    )
    again = runner.invoke(args=["import-calls", str(path), "--tz", "Asia/Jerusalem"])
    assert "0 calls and 0 queue entries added" in again.output
    with session_scope(app) as session:
        entries = {e.call_sid.split("-")[-1]: e for e in session.scalars(select(QueueEntry))}
        assert session.scalar(select(func.count()).select_from(Call)) == 5
    first = entries["1"]
    assert (first.queue, first.result, first.wait_s, first.handle_s, first.agent_id) == (
        "general",
        "bridged",
        30.0,
        180.0,
        "S001",
    )
    assert first.entered_at.isoformat() == "1999-11-24T08:00:10+00:00"  # 10:00:10 in Israel (UTC+2)
    assert (entries["2"].queue, entries["2"].result, entries["2"].wait_s) == (
        "technical",
        "hangup",
        60.0,
    )
    assert "3" not in entries  # hung up in the voice menu: never queued
    crossing = entries["5"]  # entered 23:59:10, answered 00:00:20 the next day
    assert (
        crossing.answered_at.isoformat() == "1999-11-24T22:00:20+00:00"
        and crossing.language == "en"
    )
    assert entries["8"].queue == "complaints"


def test_import_calls_refuses_a_file_without_the_columns(app, tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("a\tb\n1\t2\n")
    result = app.test_cli_runner().invoke(args=["import-calls", str(path)])
    assert result.exit_code == 1 and "missing column(s)" in result.output


def test_import_of_the_shared_israeli_records_sample(app, tmp_path):
    source = shared_path("data", "israel_bank_1999_calls_jan-jul.tsv.gz")
    with gzip.open(source, "rt") as handle:
        lines = [next(handle) for _ in range(3001)]
    sample = tmp_path / "sample.tsv"
    sample.write_text("".join(lines))
    result = app.test_cli_runner().invoke(
        args=["import-calls", str(sample), "--tz", "Asia/Jerusalem"]
    )
    assert result.exit_code == 0, result.output
    match = re.search(
        r"3000 rows: (\d+) calls and (\d+) queue entries added, (\d+) phantom skipped, 0 malformed",
        result.output,
    )
    calls, entries, phantom = map(int, match.groups())
    assert calls + phantom == 3000 and 0 < entries <= calls
    assert OPEN_TIME  # the sample is 1999; the clock of the app does not matter here
