"""How the commands report a refused configuration: every issue with its file, line and field,
then the count, on stderr, and exit status 1 (as ``hotline config check``)."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from ivr.config.loader import ConfigError


def config_refused(exc: ConfigError, summary: str = "error(s)") -> NoReturn:
    for issue in exc.issues:
        click.echo(str(issue), err=True)
    click.echo(f"{len(exc.issues)} {summary}", err=True)
    sys.exit(1)
