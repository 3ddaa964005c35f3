"""``/healthz``: version, configuration and database status, for load balancers and people."""

from __future__ import annotations

import os
import shutil
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from ivr import clock
from ivr.config import hotline_config, last_good
from ivr.store import db
from ivr.voice import spool

bp = Blueprint("health", __name__)


def hotline_version() -> str:
    try:
        return version("hotline")
    except PackageNotFoundError:
        return "unknown"


WORKERS = "workers"  # instance/workers/: a file per serving worker, removed when it exits cleanly
DEATH_SHOWN_S = 20.0  # /healthz reports a worker that died without a clean exit this long


def worker_started(instance_path: str | Path) -> None:
    """Called in each server worker once the app is loaded (gunicorn's ``post_worker_init``)."""
    folder = Path(instance_path) / WORKERS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(os.getpid())).write_text("")


def worker_exited(instance_path: str | Path) -> None:
    """Called in a server worker leaving cleanly (gunicorn's ``worker_exit``)."""
    (Path(instance_path) / WORKERS / str(os.getpid())).unlink(missing_ok=True)


def worker_deaths(instance_path: str | Path, now: float | None = None) -> list[str]:
    """Workers that died without a clean exit (killed, out of memory, crashed) in the last
    ``DEATH_SHOWN_S`` seconds, as problems; older ones are forgotten."""
    folder = Path(instance_path) / WORKERS
    if not folder.exists():
        return []
    now = time.time() if now is None else now
    deaths = []
    for path in folder.iterdir():
        try:
            if path.suffix == ".died":
                seen = float(path.read_text() or 0)
                if now - seen > DEATH_SHOWN_S:
                    path.unlink(missing_ok=True)
                else:
                    deaths.append(f"worker {path.stem} died without a clean exit")
            elif path.name.isdigit() and not _alive(int(path.name)):
                path.with_suffix(".died").write_text(str(now))
                path.unlink(missing_ok=True)
                deaths.append(f"worker {path.name} died without a clean exit")
        except (OSError, ValueError):
            continue  # another worker moved it meanwhile
    return sorted(deaths)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def low_disks(folders: dict[str, Path | None], min_free_mb: float) -> dict[str, float]:
    """The named folders whose disk has less than ``min_free_mb`` free: name -> MB free."""
    low = {}
    for name, folder in folders.items():
        if folder is None:
            continue
        while not folder.exists() and folder != folder.parent:  # the disk it will be on
            folder = folder.parent
        try:
            free = shutil.disk_usage(folder).free / 1e6
        except OSError:
            continue  # reported by the check that writes there
        if free < min_free_mb:
            low[name] = round(free, 1)
    return low


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the line can do its work, else 503 with every reason (``problems``): the
    database refuses writes or is behind its migrations, the spool cannot be written or holds
    requests in memory, a disk is nearly full, the configuration files on disk are invalid."""
    app = current_app._get_current_object()
    cfg = hotline_config()
    engine = db.get_engine()
    database = db.status(engine, probe_at=clock.now())
    config_dir = current_app.config["CONFIG_DIR"]
    problems = last_good.problems_on_disk(config_dir)
    database_file = db.database_file(engine)
    disks = low_disks(
        {
            "database": database_file.parent if database_file else None,
            "spool": spool.spool_folder(app),
        },
        current_app.config["DISK_MIN_FREE_MB"],
    )
    spool_error = spool.writable(app)
    held = spool.flush_unwritten()
    reasons = (
        ([f"database: {database.get('error', 'not ok')}"] if not database["ok"] else [])
        + ([f"spool cannot be written: {spool_error}"] if spool_error else [])
        + (
            [f"{held} spooled request(s) held in memory: the spool cannot take them"]
            if held
            else []
        )
        + [f"{name} disk: {mb} MB free" for name, mb in disks.items()]
        + ([f"configuration files invalid ({len(problems)} error(s))"] if problems else [])
        + worker_deaths(app.instance_path)
    )
    healthy = not reasons
    body = {
        "status": "ok" if healthy else "degraded",
        "problems": reasons,
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
        "spool": {
            "dir": str(spool.spool_folder(app)),
            "writable": spool_error is None,
            "held_in_memory": held,
        },
        "disk": {"min_free_mb": current_app.config["DISK_MIN_FREE_MB"], "low": disks},
    }
    return jsonify(body), 200 if healthy else 503
