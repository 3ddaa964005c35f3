"""``hotline demo``: a newcomer's tour from a fresh clone, with real data and no network.

Set-up (shows progress, a minute or two on 2 cores): import five weeks of real call records
(moved forward to end before today, the bank's working week on the line's), set the sample team's
PINs, export the history (up to the sample's end), forecast from there through next week, compute
next week's requirements, plan its shifts, draft its roster, write the plots. Then serve the
app, run the scheduler and the caller simulator in the background, and print where to look.
Ctrl-C stops everything.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from flask import Flask

from ivr import clock
from ivr.config import hotline_config
from ivr.jobs.bodies import next_monday
from ivr.planning.drafts import save_draft
from ivr.store.db import session_scope
from ivr.store.importer import import_calls, last_record_date
from ivr.voice.agents import set_pin

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "israel_bank_1999_sample_5weeks.tsv.gz"
DEMO_PIN = "1234"
DEMO_USER = ("demo", "hotline-demo")


WEEK_ALIGN_DAYS = 1  # the bank's Sunday-to-Thursday week onto the line's Monday-to-Friday


def shift_to_recent(last: dt.date, today: dt.date) -> int:
    """Days that move the sample forward to end before ``today``: whole weeks and one day, so
    that the Israeli bank's working week (Sunday to Thursday, a short Friday, no calls on the
    Sabbath) falls on the line's (Monday to Friday, Saturday morning, closed on Sunday)."""
    weeks = (today - dt.timedelta(days=1 + WEEK_ALIGN_DAYS) - last).days // 7
    return weeks * 7 + WEEK_ALIGN_DAYS


def setup(
    app: Flask, out_dir: Path, progress: Callable[[str], None], time_limit_s: float = 20.0
) -> dict:
    from forecasts.forecast import write_csv
    from forecasts.plot import plot_forecast
    from ivr.planning.pipeline import (
        closed_calls,
        history_from_table,
        line_forecast,
        log_history_table,
        plan_week,
        requirement_table,
        summarise,
        week_of,
    )
    from ivr.stats import local_midnight
    from staffing.shift_plan import plot_plan

    cfg = hotline_config(app)
    out_dir.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        now = clock.now()
    today = now.astimezone(cfg.tz).date()
    last = last_record_date(SAMPLE)
    shift = shift_to_recent(last, today)
    data_end = last + dt.timedelta(days=shift + 1)  # the day after the last imported one
    week_start = next_monday(now, cfg.tz)  # the week planned, as the weekly job plans it
    progress(
        f"importing {SAMPLE.name} (moved forward {shift // 7} weeks and {shift % 7} day: the"
        " bank's Sunday-to-Thursday week falls on Monday to Friday)"
    )
    report = import_calls(
        app.extensions["hotline.sessionmaker"], SAMPLE, cfg, shift_days=shift, progress=progress
    )
    progress(
        f"{report.calls_added} calls and {report.entries_added} queue entries added ({report.phantom} phantom rows skipped)"
    )
    with session_scope(app) as session:
        for agent in cfg.agents:
            set_pin(session, agent, DEMO_PIN)
    progress(f"agent line PIN {DEMO_PIN} set for {len(cfg.agents)} agents")

    with app.app_context():  # up to the sample's end: the days since then are not zero-call days
        table = log_history_table(cfg, until=data_end)
    history = history_from_table(cfg, table)
    written = table.assign(interval_start=[t.isoformat() for t in table["interval_start"]])
    written.to_csv(out_dir / "history.csv", index=False)
    progress(f"history: {len(table)} intervals -> {out_dir / 'history.csv'}")

    # from the sample's end (the history's) through the planned week
    week_ends = local_midnight(cfg, week_start + dt.timedelta(days=7))
    predicted = line_forecast(cfg, history, week_ends - history.end)
    write_csv(predicted, str(out_dir / "forecast.csv"))
    plot_forecast(history, predicted, str(out_dir / "forecast.png"))
    predicted = week_of(cfg, predicted, week_start)
    progress(
        f"forecast: {predicted['calls'].sum():.0f} calls in the week from {week_start:%a %d %b}"
        f" (forecast from {data_end:%a %d %b}, the day after the sample ends) -> forecast.csv,"
        " forecast.png"
    )

    reqs = requirement_table(cfg, predicted)
    out = reqs.copy()
    out["interval_start"] = [
        pd.Timestamp(t).tz_convert(cfg.tz).isoformat() for t in out["interval_start"]
    ]
    out.to_csv(out_dir / "requirements.csv", index=False)
    progress(
        f"requirements: peak {int(reqs.loc[reqs['queue'] == 'total', 'agents_scheduled'].max())} agents scheduled -> requirements.csv"
        f" ({closed_calls(cfg, predicted):.0f} forecast calls fall while the line is closed: no agents)"
    )

    progress(f"planning shifts (up to {time_limit_s:g} s)")
    week, plan = plan_week(cfg, reqs, time_limit_s, allow_uncovered=True)
    summary = summarise(cfg, week, plan)
    summary.rows.to_csv(out_dir / "plan.csv", index=False)
    plot_plan(week, plan, str(out_dir / "plan.png"))
    progress(
        f"shift plan: {summary.paid_hours:.0f} paid hours in {summary.shifts} shifts, cost {summary.cost:.0f}, shortage {summary.shortage_hours:.1f} agent-hours -> plan.csv, plan.png"
        + (f" (within what the team can work: {summary.team.describe()})" if summary.team else "")
    )
    with app.app_context(), session_scope(app) as session:
        now = clock.now()
        calls = {"calls": round(float(predicted["calls"].sum()))}
        forecast_csv = (out_dir / "forecast.csv").read_text()
        save_draft(session, "forecast", week.days[0], forecast_csv, calls, now)
        figures = {"paid_hours": round(summary.paid_hours, 1), "cost": round(summary.cost, 2)}
        plan_csv = (out_dir / "plan.csv").read_text()
        save_draft(session, "shifts", week.days[0], plan_csv, figures, now)
    result = {"out_dir": out_dir, "week_start": week.days[0], "plan": summary, "requirements": reqs}
    from ivr.planning.rosters import NoRoster, draft_roster

    try:
        result["roster"] = draft_roster(app, out_dir, progress, time_limit_s)
    except NoRoster as exc:  # the rest of the demo still runs; the roster page stays empty
        progress(f"roster draft: none stored: {exc}")
    return result


def serve(
    app: Flask, host: str, port: int, simulate_s: float, rate: str, say: Callable[[str], None]
) -> None:
    """Web app, scheduler and caller simulator until Ctrl-C."""
    import logging

    from werkzeug.serving import make_server

    from ivr.demo.simulator import Simulator, covering_agents, parse_rate
    from ivr.demo.twilio_sim import RestStandIn
    from ivr.jobs.scheduler import build

    logging.getLogger("werkzeug").setLevel(
        logging.WARNING
    )  # one line a request would bury the URLs below
    cfg = hotline_config(app)
    token = app.config["TWILIO_AUTH_TOKEN"]
    simulating = simulate_s > 0 and bool(token)
    rest = None
    if simulating and not app.config.get("TWILIO_REST_BASE_URL"):
        # no Twilio here: the dispatcher's REST calls go to the simulator's stand-in
        rest = RestStandIn()
        app.config["TWILIO_REST_BASE_URL"] = rest.base_url
        app.config["TWILIO_ACCOUNT_SID"] = app.config.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32
    agents = covering_agents(cfg, 6)
    server = make_server(host, port, app, threaded=True)
    web = threading.Thread(target=server.serve_forever, daemon=True, name="web")
    web.start()
    scheduler = build(app, blocking=False)
    scheduler.start()
    base = f"http://{host}:{port}"

    def simulate() -> None:
        sim = Simulator(
            cfg,
            base,
            token,
            rate_per_s=parse_rate(rate),
            duration_s=simulate_s,
            seed=1,
            agents=agents,
            agent_pin=DEMO_PIN,
            handle_s=45,
            patience_s=90,
            rest=rest,
        )
        report = sim.run()
        say("caller simulator finished: " + report.lines()[0])

    if simulating:
        threading.Thread(target=simulate, daemon=True, name="simulator").start()
    say("")
    say(f"Hotline is running on {base}")
    say(f"  ops dashboard   {base}/ops   (login {DEMO_USER[0]} / {DEMO_USER[1]})")
    say(f"  scheduled jobs  {base}/ops/jobs        roster  {base}/supervisor/roster")
    say(f"  JSON API        {base}/api/queues      health  {base}/healthz")
    say(
        f"  Twilio webhooks {base}/voice/incoming  {base}/voice/status   agent line {base}/voice/agent"
    )
    say(
        f"  caller simulator: {rate} for {simulate_s:.0f} s, agents {', '.join(agents)} "
        f"(PIN {DEMO_PIN}) on the agent line"
    )
    say(f"  agents' states  {base}/api/agents")
    say("Ctrl-C stops everything.")
    try:
        while web.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping...")
    finally:
        scheduler.shutdown(wait=False)
        server.shutdown()
        say("stopped")
