"""Loading the configuration folder: YAML and CSV read with their line numbers, validated into a
:class:`~ivr.config.schema.HotlineConfig`, every problem reported as file:line: field.

Files in the config folder:

``line.yaml``       name, time zone, languages offered (in menu order), menu behaviour, hold music
``languages/XX.yaml`` one per language: Twilio voice, prompts, weekday names, speech keywords
``queues.yaml``     queues: menu key, display names, service target, AHT, callback threshold
``hours.yaml``      business hours per weekday, holiday calendar and extra closures
``staffing.yaml``   shrinkage, occupancy cap, cost, rest rules, objective weights, shift templates
``agents.csv``      id, name, skills, languages, contract hours, days unavailable
``users.yaml``      (optional) supervisor and ops logins with hashed passwords
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ivr import settings
from ivr.config.schema import (
    Agent,
    HotlineConfig,
    HoursFile,
    ImportSettings,
    Language,
    LineSettings,
    QueuesFile,
    StaffingRules,
    User,
    UsersFile,
    agent_number,
)


def default_config_dir() -> Path:
    """The config folder: ``HOTLINE_CONFIG_DIR`` if set, else ``config/`` of the source checkout
    Hotline runs from, else (an installed package) ``config/`` of the current directory."""
    configured = settings.load().hotline_config_dir
    if configured:
        return configured
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "config").is_dir():
        return checkout / "config"
    return Path.cwd() / "config"


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong with one file."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ConfigError(ValueError):
    """The configuration was refused; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__("invalid configuration:\n" + "\n".join(f"  {i}" for i in issues))


# --------------------------------------------------------------------------- YAML with lines


def _yaml_lines(node: yaml.Node | None, path: tuple = (), out: dict | None = None) -> dict:
    """Map each field path (tuple of keys and indexes) to its 1-based line in the YAML text."""
    out = {} if out is None else out
    if node is None:
        return out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _yaml_lines(value_node, path + (key,), out)
            out[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_lines(item, path + (index,), out)
    return out


def _line_for(lines: dict, loc: tuple) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _format_loc(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


# pydantic puts the union member or validator tried into error locations; they are not fields
_UNION_TAG = re.compile(
    r"^(function-|literal\[|list\[|dict\[|date$|time$|float$|int$|str$|bool$|none$)"
)


def _pydantic_issues(exc: ValidationError, file: str, lines: dict, prefix: tuple = ()) -> list:
    issues = []
    for err in exc.errors():
        # pydantic appends the union member or validator name to some locations; keep data keys
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and _UNION_TAG.match(p)))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] not in ("missing", "extra_forbidden") and "input" in err:
            shown = err["input"]
            if not isinstance(shown, dict | list):
                message += f" (got {shown!r})"
        if err["type"] == "extra_forbidden":
            message = "unknown field (misspelt?)"
        issues.append(
            ConfigIssue(file, _format_loc(prefix + loc), message, _line_for(lines, prefix + loc))
        )
    return issues


def _read_yaml(path: Path, root: Path, issues: list[ConfigIssue]) -> tuple[Any, dict]:
    rel = str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)
    if not path.exists():
        issues.append(ConfigIssue(rel, "", "file is missing"))
        return None, {}
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        issues.append(
            ConfigIssue(rel, "", f"not valid YAML: {problem}", mark.line + 1 if mark else None)
        )
        return None, {}
    if data is None:
        issues.append(ConfigIssue(rel, "", "file is empty"))
        return None, {}
    return data, _yaml_lines(node)


def _parse(model: type[BaseModel], data: Any, rel: str, lines: dict, issues: list) -> Any:
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues.extend(_pydantic_issues(exc, rel, lines))
        return None


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;|]", value or "") if part.strip()]


AGENT_COLUMNS = (
    "id",
    "name",
    "skills",
    "languages",
    "min_hours_week",
    "max_hours_week",
    "unavailable_days",
)


def load_agents(path: Path, issues: list[ConfigIssue], rel: str | None = None) -> list[Agent]:
    """Read an agents CSV (lists separated by ``;``); problems go to ``issues`` with line numbers."""
    rel = rel or str(path)
    if not path.exists():
        issues.append(ConfigIssue(rel, "", "file is missing"))
        return []
    agents: list[Agent] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in AGENT_COLUMNS if c not in header]
        if missing:
            issues.append(ConfigIssue(rel, "", f"missing column(s) {', '.join(missing)}", 1))
            return []
        seen: dict[str, int] = {}
        numbers: dict[int, tuple[str, int]] = {}  # agent number -> (id, line) of its first agent
        for row in reader:
            line = reader.line_num
            record = {
                "id": (row["id"] or "").strip(),
                "name": (row["name"] or "").strip(),
                "skills": _split_list(row["skills"]),
                "languages": _split_list(row["languages"]),
                "min_hours_week": (row["min_hours_week"] or "").strip(),
                "max_hours_week": (row["max_hours_week"] or "").strip(),
                "unavailable_days": [d.lower() for d in _split_list(row["unavailable_days"])],
            }
            try:
                agent = Agent.model_validate(record)
            except ValidationError as exc:
                for err in exc.errors():
                    field = str(err["loc"][0]) if err["loc"] else "row"
                    msg = err["msg"].removeprefix("Value error, ")
                    issues.append(
                        ConfigIssue(rel, f"agent {record['id'] or '?'}.{field}", msg, line)
                    )
                continue
            if agent.id in seen:
                issues.append(
                    ConfigIssue(
                        rel,
                        f"agent {agent.id}.id",
                        f"duplicate id (first on line {seen[agent.id]})",
                        line,
                    )
                )
                continue
            number = agent_number(agent.id)
            if number is not None and number in numbers:
                first_id, first_line = numbers[number]
                issues.append(
                    ConfigIssue(
                        rel,
                        f"agent {agent.id}.id",
                        f"agent number {number} is also {first_id}'s (line {first_line}): "
                        "the agent line could not tell them apart",
                        line,
                    )
                )
                continue
            if number is not None:
                numbers[number] = (agent.id, line)
            seen[agent.id] = line
            agents.append(agent)
    return agents


def load_config(config_dir: str | Path | None = None) -> HotlineConfig:
    """Load and validate the whole configuration folder, or raise :class:`ConfigError`."""
    root = Path(config_dir) if config_dir else default_config_dir()
    issues: list[ConfigIssue] = []
    if not root.is_dir():
        raise ConfigError([ConfigIssue(str(root), "", "config folder does not exist")])

    def rel(path: Path) -> str:
        return f"{root.name}/{path.relative_to(root)}"

    parsed: dict[str, Any] = {}
    line_maps: dict[str, dict] = {}
    for name, model in (
        ("line.yaml", LineSettings),
        ("queues.yaml", QueuesFile),
        ("hours.yaml", HoursFile),
        ("staffing.yaml", StaffingRules),
    ):
        data, lines = _read_yaml(root / name, root, issues)
        line_maps[name] = lines
        parsed[name] = _parse(model, data, rel(root / name), lines, issues)

    line: LineSettings | None = parsed["line.yaml"]
    languages: list[Language] = []
    language_lines: dict[str, tuple[str, dict]] = {}
    if line is not None:
        for code in line.languages:
            path = root / "languages" / f"{code}.yaml"
            data, lines = _read_yaml(path, root, issues)
            lang = _parse(Language, data, rel(path), lines, issues)
            if lang is None:
                continue
            if lang.code != code:
                issues.append(
                    ConfigIssue(
                        rel(path),
                        "code",
                        f"code {lang.code!r} does not match file name {code!r}",
                        lines.get(("code",)),
                    )
                )
                continue
            languages.append(lang)
            language_lines[code] = (rel(path), lines)

    agents = load_agents(root / "agents.csv", issues, rel(root / "agents.csv"))
    users: list[User] = []
    if (root / "users.yaml").exists():
        data, lines = _read_yaml(root / "users.yaml", root, issues)
        users_file = _parse(UsersFile, data, rel(root / "users.yaml"), lines, issues)
        users = list(users_file.users) if users_file else []
        line_maps["users.yaml"] = lines

    imports = ImportSettings()
    if (root / "import.yaml").exists():
        data, lines = _read_yaml(root / "import.yaml", root, issues)
        imports = (
            _parse(ImportSettings, data, rel(root / "import.yaml"), lines, issues)
            or ImportSettings()
        )
        if parsed["queues.yaml"] is not None:
            known = {q.id for q in parsed["queues.yaml"].queues}
            for code, queue in imports.call_types.items():
                if queue not in known:
                    issues.append(
                        ConfigIssue(
                            rel(root / "import.yaml"),
                            f"call_types.{code}",
                            f"unknown queue {queue!r}",
                            _line_for(lines, ("call_types", code)),
                        )
                    )

    queues_file: QueuesFile | None = parsed["queues.yaml"]
    if line is not None and queues_file is not None:
        issues.extend(
            _cross_checks(
                line, languages, queues_file, agents, root, rel, line_maps, language_lines, users
            )
        )
    if issues:
        raise ConfigError(issues)
    return HotlineConfig(
        source_dir=root,
        line=line,
        languages=languages,
        queues=queues_file.queues,
        hours=parsed["hours.yaml"],
        staffing=parsed["staffing.yaml"],
        agents=agents,
        users=users,
        imports=imports,
    )


def _cross_checks(
    line, languages, queues_file, agents, root, rel, line_maps, language_lines, users=()
):
    issues: list[ConfigIssue] = []
    qfile = rel(root / "queues.yaml")
    qlines = line_maps["queues.yaml"]
    codes = list(line.languages)
    reserved = {
        line.menu.operator_key: "menu.operator_key",
        line.menu.repeat_key: "menu.repeat_key",
        line.menu.change_language_key: "menu.change_language_key",
    }
    queue_ids = [q.id for q in queues_file.queues]
    if "general" not in queue_ids:
        issues.append(
            ConfigIssue(
                qfile,
                "queues",
                "a 'general' queue is required (the operator and fallback queue)",
                qlines.get(("queues",)),
            )
        )
    seen_keys: dict[str, str] = {}
    seen_ids: set[str] = set()
    for index, queue in enumerate(queues_file.queues):
        where = ("queues", index)
        if queue.id in seen_ids:
            issues.append(
                ConfigIssue(
                    qfile,
                    f"queues[{index}].id",
                    f"duplicate queue id {queue.id!r}",
                    _line_for(qlines, where + ("id",)),
                )
            )
        seen_ids.add(queue.id)
        if queue.key in reserved:
            issues.append(
                ConfigIssue(
                    qfile,
                    f"queues[{index}].key",
                    f"key {queue.key!r} is already line.yaml {reserved[queue.key]}",
                    _line_for(qlines, where + ("key",)),
                )
            )
        elif queue.key in seen_keys:
            issues.append(
                ConfigIssue(
                    qfile,
                    f"queues[{index}].key",
                    f"key {queue.key!r} is already used by queue {seen_keys[queue.key]!r}",
                    _line_for(qlines, where + ("key",)),
                )
            )
        seen_keys[queue.key] = queue.id
        for skill in queue.overflow_skills:
            if skill not in queue_ids or skill == queue.id:
                issues.append(
                    ConfigIssue(
                        qfile,
                        f"queues[{index}].overflow_skills",
                        f"{skill!r} is not another queue (known: {', '.join(queue_ids)})",
                        _line_for(qlines, where + ("overflow_skills",)),
                    )
                )
        for code in codes:
            if not queue.names.get(code):
                issues.append(
                    ConfigIssue(
                        qfile,
                        f"queues[{index}].names.{code}",
                        f"no display name in language {code!r}",
                        _line_for(qlines, where + ("names",)),
                    )
                )
    lang_keys: dict[str, str] = {}
    for lang in languages:
        lfile, llines = language_lines[lang.code]
        if lang.key in lang_keys:
            issues.append(
                ConfigIssue(
                    lfile,
                    "key",
                    f"key {lang.key!r} is already used by language {lang_keys[lang.key]!r}",
                    llines.get(("key",)),
                )
            )
        lang_keys[lang.key] = lang.code
        for word_queue in lang.keywords:
            if word_queue not in queue_ids and word_queue != "operator":
                issues.append(
                    ConfigIssue(
                        lfile,
                        f"keywords.{word_queue}",
                        f"unknown queue {word_queue!r} (known: {', '.join(queue_ids)}, operator)",
                        _line_for(llines, ("keywords", word_queue)),
                    )
                )
        if line.menu.speech:
            for qid in queue_ids:
                if not lang.keywords.get(qid):
                    issues.append(
                        ConfigIssue(
                            lfile,
                            f"keywords.{qid}",
                            "speech is on but this queue has no keywords",
                            _line_for(llines, ("keywords",)),
                        )
                    )
    afile = rel(root / "agents.csv")
    agent_ids = {agent.id for agent in agents}
    for index, user in enumerate(users):
        if user.agent is not None and user.agent not in agent_ids:
            issues.append(
                ConfigIssue(
                    rel(root / "users.yaml"),
                    f"users[{index}].agent",
                    f"unknown agent {user.agent!r} (not in agents.csv)",
                    _line_for(line_maps.get("users.yaml", {}), ("users", index, "agent")),
                )
            )
    for agent in agents:
        for skill in agent.skills:
            if skill not in queue_ids:
                issues.append(
                    ConfigIssue(afile, f"agent {agent.id}.skills", f"unknown queue {skill!r}")
                )
        for code in agent.languages:
            if code not in codes:
                issues.append(
                    ConfigIssue(afile, f"agent {agent.id}.languages", f"unknown language {code!r}")
                )
    return issues
