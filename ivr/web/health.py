"""``/healthz``: version, configuration and database status, for load balancers and people."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from ivr.config import hotline_config, last_good
from ivr.store import db
from ivr.voice import spool

bp = Blueprint("health", __name__)


def hotline_version() -> str:
    try:
        return version("hotline")
    except PackageNotFoundError:
        return "unknown"


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    cfg = hotline_config()
    database = db.status(db.get_engine())
    config_dir = current_app.config["CONFIG_DIR"]
    problems = last_good.problems_on_disk(config_dir)
    healthy = database["ok"] and not problems
    body = {
        "status": "ok" if healthy else "degraded",
        "version": hotline_version(),
        "config": {
            # the files on disk; the running configuration is the last good one while they fail
            "ok": not problems,
            "errors": problems,
            "dir": str(config_dir),
            "running_from": str(cfg.source_dir),
            "timezone": cfg.line.timezone,
            "languages": [lang.code for lang in cfg.languages],
            "queues": cfg.queue_ids(),
            "agents": len(cfg.agents),
        },
        "database": database,
        "twilio": {"signature_secret_set": bool(current_app.config["TWILIO_AUTH_TOKEN"])},
        # what waits on local disk for the database: webhooks spooled in an outage (replayed by
        # the replay_spool job), and those it refused for good
        "spooled_webhooks": spool.pending(current_app),
        "refused_webhooks": spool.refused(current_app),
    }
    return jsonify(body), 200 if healthy else 503
