"""The Erlang calculator: agents needed for a service level from one interval's calls and
handling time, with the figures they give (Erlang C, and Erlang A when callers hang up)."""

from __future__ import annotations

import math
import re

import click

from ivr.cli.output import echo_json

_UNITS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def seconds(text: str, name: str) -> float:
    """'240', '240s', '4min', '30min', '1h', '1.5h' -> seconds (positive)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h|)\s*", text or "")
    if not match or float(match.group(1)) <= 0:
        raise click.BadParameter(
            f"{text!r} is not a positive length of time (e.g. 240s, 4min, 30min, 1h)",
            param_hint=name,
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def share(text: str, name: str) -> float:
    """'0.3', '30%' or '30' -> 0.3."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text or "")
    if not match:
        raise click.BadParameter(f"{text!r} is not a share (e.g. 0.3 or 30%)", param_hint=name)
    value = float(match.group(1))
    return value / 100 if match.group(2) or value > 1 else value


def service_target(text: str) -> tuple[float, float]:
    """'80/20' (80% of calls answered within 20 s), '0.8/20s', '90%/15s' -> (0.8, 20.0)."""
    target, _, within = (text or "").partition("/")
    if not within:
        raise click.BadParameter(
            f"{text!r}: give the share answered and the answer time, e.g. 80/20",
            param_hint="--sl",
        )
    level = share(target, "--sl")
    if not 0 < level < 1:
        raise click.BadParameter(
            f"{text!r}: the share must be above 0 and below 100%", param_hint="--sl"
        )
    answer = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*s?\s*", within)
    if not answer:
        raise click.BadParameter(
            f"{text!r}: the answer time is seconds, e.g. 80/20", param_hint="--sl"
        )
    return level, float(answer.group(1))


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def calculate(
    calls: float,
    interval_s: float,
    aht_s: float,
    service_level: float,
    answer_time_s: float,
    shrinkage: float = 0.0,
    patience_s: float | None = None,
    max_occupancy: float = 1.0,
) -> dict:
    """The calculator's figures (what ``hotline erlang --format json`` prints)."""
    from staffing import erlang

    agents = int(
        erlang.agents_for_service_level(
            calls,
            interval_s=interval_s,
            aht_s=aht_s,
            service_level=service_level,
            answer_time_s=answer_time_s,
            max_occupancy=max_occupancy,
        )
    )
    perf = erlang.erlang_c_performance(
        calls, agents, interval_s=interval_s, aht_s=aht_s, answer_time_s=answer_time_s
    )
    out = {
        "calls": calls,
        "interval_s": interval_s,
        "aht_s": aht_s,
        "service_level_target": service_level,
        "answer_time_s": answer_time_s,
        "shrinkage": shrinkage,
        "max_occupancy": max_occupancy,
        "patience_s": patience_s,
        "traffic_erlangs": round(float(perf.load), 4),
        "erlang_c": {
            "agents": agents,
            "scheduled_agents": int(erlang.scheduled_agents(agents, shrinkage)),
            "service_level": round(float(perf.service_level), 4),
            "asa_s": _number(round(float(perf.asa_s), 1)),
            "occupancy": round(float(perf.occupancy), 4),
            "p_wait": round(float(perf.p_wait), 4),
        },
        "erlang_a": None,
    }
    if patience_s is not None:

        def figures(n: int) -> dict:
            a = erlang.erlang_a_performance(
                calls,
                n,
                interval_s=interval_s,
                aht_s=aht_s,
                patience_s=patience_s,
                answer_time_s=answer_time_s,
            )
            return {
                "agents": n,
                "service_level": round(float(a.service_level), 4),
                "abandon_rate": round(float(a.p_abandon), 4),
                "asa_s": _number(round(float(a.asa_s), 1)),
                "occupancy": round(float(a.occupancy), 4),
                "p_wait": round(float(a.p_wait), 4),
            }

        needed = int(
            erlang.agents_for_service_level_erlang_a(
                calls,
                interval_s=interval_s,
                aht_s=aht_s,
                patience_s=patience_s,
                service_level=service_level,
                answer_time_s=answer_time_s,
                max_occupancy=max_occupancy,
            )
        )
        out["erlang_a"] = {
            **figures(needed),
            "scheduled_agents": int(erlang.scheduled_agents(needed, shrinkage)),
            "with_erlang_c_agents": figures(agents),
        }
    return out


def _table(result: dict) -> list[str]:
    c = result["erlang_c"]
    asa = "–" if c["asa_s"] is None else f"{c['asa_s']:.1f} s"
    lines = [
        f"{result['calls']:g} calls in {result['interval_s'] / 60:g} min, AHT {result['aht_s']:g} s:"
        f" {result['traffic_erlangs']:.2f} erlangs of work",
        f"target {result['service_level_target']:.0%} answered within {result['answer_time_s']:g} s"
        + (
            f", occupancy at most {result['max_occupancy']:.0%}"
            if result["max_occupancy"] < 1
            else ""
        ),
        "",
        "Erlang C (callers never hang up)",
        f"  agents needed     {c['agents']}",
        f"  service level     {c['service_level']:.1%}",
        f"  ASA               {asa}",
        f"  occupancy         {c['occupancy']:.1%}",
        f"  calls that wait   {c['p_wait']:.1%}",
        f"  scheduled agents  {c['scheduled_agents']} (shrinkage {result['shrinkage']:.0%})",
    ]
    a = result["erlang_a"]
    if a:
        at_c = a["with_erlang_c_agents"]
        asa_a = "–" if a["asa_s"] is None else f"{a['asa_s']:.1f} s"
        lines += [
            "",
            f"Erlang A (callers hang up after {result['patience_s']:g} s on average)",
            f"  agents needed     {a['agents']}",
            f"  service level     {a['service_level']:.1%} of calls offered",
            f"  abandon rate      {a['abandon_rate']:.1%}",
            f"  ASA               {asa_a} (calls answered)",
            f"  occupancy         {a['occupancy']:.1%}",
            f"  scheduled agents  {a['scheduled_agents']} (shrinkage {result['shrinkage']:.0%})",
            f"  with Erlang C's {at_c['agents']} agents: service level {at_c['service_level']:.1%},"
            f" abandon rate {at_c['abandon_rate']:.1%}",
        ]
    return lines


@click.command("erlang")
@click.option("--calls", required=True, type=click.FloatRange(min=0), help="calls in the interval")
@click.option("--interval", default="30min", show_default=True, help="the interval's length")
@click.option("--aht", required=True, help="average handling time, e.g. 240s or 4min")
@click.option(
    "--sl", "sl", default="80/20", show_default=True, help="service level: % answered / within s"
)
@click.option(
    "--shrinkage",
    default="0",
    show_default=True,
    help="share of paid time off the phones, e.g. 0.3 or 30%",
)
@click.option(
    "--patience",
    default=None,
    help="callers' mean patience, e.g. 120s: adds Erlang A (abandonment)",
)
@click.option("--max-occupancy", default="1", show_default=True, help="occupancy cap, e.g. 0.85")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def erlang_command(calls, interval, aht, sl, shrinkage, patience, max_occupancy, fmt) -> None:
    """Agents needed to answer --sl of --calls within its time (Erlang C), with the service level,
    ASA, occupancy and scheduled agents after --shrinkage; with --patience, Erlang A's figures
    too (abandon rate, service level counting callers who hang up)."""
    level, answer = service_target(sl)
    lost = share(shrinkage, "--shrinkage")
    if not 0 <= lost < 1:
        raise click.BadParameter(
            f"{shrinkage!r} must be at least 0 and below 100%", param_hint="--shrinkage"
        )
    cap = share(max_occupancy, "--max-occupancy")
    if not 0 < cap <= 1:
        raise click.BadParameter(
            f"{max_occupancy!r} must be above 0 and at most 100%", param_hint="--max-occupancy"
        )
    try:
        result = calculate(
            calls,
            seconds(interval, "--interval"),
            seconds(aht, "--aht"),
            level,
            answer,
            lost,
            seconds(patience, "--patience") if patience else None,
            cap,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt == "json":
        echo_json(result)
    else:
        click.echo("\n".join(_table(result)))


# the hotline command's own (no app needed)
COMMANDS = [erlang_command]
APP_COMMANDS = []
