"""Commands that run inside the app (its database, its configuration): a group or command
class that opens the app context, as Flask's own ``AppGroup`` does."""

from __future__ import annotations

import click
from flask.cli import AppGroup


def with_appcontext_group(name: str):
    return click.group(name, cls=AppGroup)


class AppCommand(click.Command):
    """A command that runs inside the app context (like AppGroup's commands)."""

    def invoke(self, ctx: click.Context):
        from flask.cli import ScriptInfo

        info = ctx.ensure_object(ScriptInfo)
        with info.load_app().app_context():
            return super().invoke(ctx)
