"""The line's configuration: its schema, the loader that reads the config folder with line
numbers, and the opening hours computed from it. The app keeps the configuration it loaded;
:func:`hotline_config` is the one way to read it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from ivr.config.schema import HotlineConfig

EXTENSION = "hotline.config"


def hotline_config(app: Flask | None = None) -> HotlineConfig:
    """The configuration ``app`` (default: the current app) runs with."""
    return (app or current_app).extensions[EXTENSION]


def use_config(app: Flask, cfg: HotlineConfig) -> None:
    """Make ``cfg`` the configuration ``app`` runs with."""
    app.extensions[EXTENSION] = cfg
