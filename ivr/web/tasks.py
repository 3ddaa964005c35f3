"""``GET /supervisor/tasks/<id>``: a background task's progress and result, which the what-if,
re-solve and plan-check pages poll (``static/tasks.js``)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ivr.jobs.tasks import task_json
from ivr.store.db import get_session
from ivr.store.models import BackgroundTask
from ivr.web.auth import login_required, supervisors_only

bp = Blueprint("tasks", __name__)


@bp.get("/supervisor/tasks/<int:task_id>")
@login_required
def task(task_id: int) -> Response | tuple[Response, int]:
    supervisors_only()
    found = get_session().get(BackgroundTask, task_id)
    if found is None:
        return jsonify({"error": f"no task {task_id}"}), 404
    response = jsonify(task_json(found))
    response.headers["Cache-Control"] = "no-store"
    return response
