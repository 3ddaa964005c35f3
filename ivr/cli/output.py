"""``--format table|csv|json`` for the commands that print a result: ``table`` is the text for a
terminal (the default), ``csv`` the command's rows, ``json`` one object for a script. Messages
that are not the result (progress, notes) go to stderr in the csv and json formats."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import click
import numpy as np

FORMATS = ("table", "csv", "json")


def format_option(func):
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for a terminal, csv (the rows) or json (one object) for a script",
    )(func)


def plain(value: Any) -> Any:
    """``value`` with numpy numbers, dates, NaN and tuples made JSON's own."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    return value


def echo_json(value: Any) -> None:
    click.echo(json.dumps(plain(value), indent=2, ensure_ascii=False))


def echo_csv(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: plain(row.get(k)) for k in columns})
    click.echo(out.getvalue(), nl=False)


def note(fmt: str):
    """Where a command's notes go: stdout for the table, stderr when stdout is the result."""
    return (lambda m: click.echo(m)) if fmt == "table" else (lambda m: click.echo(m, err=True))
