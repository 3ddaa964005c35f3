"""The production server's settings (``gunicorn.conf.py``)."""

from __future__ import annotations

import gc
import runpy

from tests.conftest import REPO


def test_settings_answer_within_twilios_15_seconds():
    settings = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    assert settings["timeout"] < 15 and settings["worker_class"] == "gthread"


def test_a_worker_moves_what_loading_the_app_allocated_out_of_the_collectors_way():
    settings = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
