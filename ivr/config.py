"""The line's configuration: YAML and CSV files in one folder, loaded into typed, validated objects.

Every other part of Hotline reads its settings from a :class:`HotlineConfig` built here. A file
that is wrong is refused with :class:`ConfigError`, whose issues name the file, the field path,
the line (where YAML gives one) and what was wrong.

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
import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DtmfKey = Annotated[str, Field(pattern=r"^[0-9*#]$")]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Fraction = Annotated[float, Field(gt=0, lt=1)]
PositiveSeconds = Annotated[float, Field(gt=0)]


def default_config_dir() -> Path:
    """The config folder: ``HOTLINE_CONFIG_DIR`` if set, else ``config/`` of this checkout."""
    env = os.environ.get("HOTLINE_CONFIG_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "config"


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


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MenuSettings(_Model):
    max_attempts: int = Field(3, ge=1, le=10)
    gather_timeout_s: int = Field(6, ge=1, le=30)
    operator_key: DtmfKey = "0"
    repeat_key: DtmfKey = "*"
    change_language_key: DtmfKey = "9"
    speech: bool = True
    speech_min_confidence: float = Field(0.3, ge=0, le=1)


class HoldSettings(_Model):
    music_url: str = "http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3"
    announce_every_s: int = Field(60, ge=15)
    callback_key: DtmfKey = "1"


class CallbackSettings(_Model):
    max_attempts: int = Field(3, ge=1, le=10)
    retry_gap_s: int = Field(600, ge=30)


class AgentLineSettings(_Model):
    """The agents' phone line: spoken in the line's default language."""

    welcome: str = "Hotline agent line. Enter your agent number, then press hash."
    pin: str = "Enter your PIN, then press hash."
    wrong: str = "That agent number or PIN is not right."
    logged_in: str = "You are logged in, {name}."
    waiting: str = (
        "No callers are waiting. Stay on the line for the next one, or press star to log out."
    )
    next_caller: str = "Next caller, from {queue}."
    callback: str = "Calling a customer back, for {queue}."
    call_ended: str = "Call ended."
    logged_out: str = "You are logged out. Goodbye."
    wait_poll_s: int = Field(10, ge=2, le=60)
    max_pin_attempts: int = Field(3, ge=1, le=10)


class JobSchedule(_Model):
    """Run every ``every_s`` seconds, or on a crontab line in the line's time zone."""

    every_s: int | None = Field(None, ge=5)
    cron: str | None = None

    @model_validator(mode="after")
    def _one(self) -> JobSchedule:
        if (self.every_s is None) == (self.cron is None):
            raise ValueError("give exactly one of every_s or cron")
        if self.cron is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(self.cron)
            except ValueError as exc:
                raise ValueError(f"cron {self.cron!r}: {exc}") from exc
        return self


JobName = Literal[
    "dial_callbacks",
    "check_lost_calls",
    "close_orphan_waits",
    "replay_spool",
    "reforecast",
    "weekly_plan",
    "retention",
]
RETIRED_JOBS = frozenset({"rollup_stats"})  # a line.yaml may still name them
DEFAULT_JOBS: dict[str, JobSchedule] = {
    "dial_callbacks": JobSchedule(every_s=30),
    "check_lost_calls": JobSchedule(every_s=300),
    "close_orphan_waits": JobSchedule(every_s=60),
    "replay_spool": JobSchedule(every_s=30),
    "reforecast": JobSchedule(cron="15 2 * * *"),
    "weekly_plan": JobSchedule(cron="0 6 * * thu"),
    "retention": JobSchedule(cron="30 3 * * *"),
}


class SchedulerSettings(_Model):
    jobs: dict[JobName, JobSchedule | None] = DEFAULT_JOBS
    retries: int = Field(2, ge=0, le=10)
    retry_delay_s: int = Field(60, ge=1)
    plan_time_limit_s: float = Field(30, ge=1, le=600)
    keep_events_days: int = Field(400, ge=1)
    keep_recordings_days: int = Field(90, ge=1)

    @field_validator("jobs", mode="before")
    @classmethod
    def _without_retired(cls, jobs: Any) -> Any:
        """Jobs of earlier versions that no longer exist are accepted and ignored."""
        if isinstance(jobs, dict):
            return {name: s for name, s in jobs.items() if name not in RETIRED_JOBS}
        return jobs

    @field_validator("jobs", mode="after")
    @classmethod
    def _with_defaults(cls, jobs: dict[str, JobSchedule | None]) -> dict[str, JobSchedule]:
        """A job the file leaves out runs on its default schedule (so a job added in a new
        version reaches an existing line.yaml); ``name: null`` turns a job off."""
        merged = {**DEFAULT_JOBS, **jobs}
        return {name: schedule for name, schedule in merged.items() if schedule is not None}


class LineSettings(_Model):
    name: str = Field(min_length=1)
    phone_number: str | None = Field(None, pattern=r"^\+[1-9]\d{6,14}$")
    timezone: str
    languages: list[Identifier] = Field(min_length=1)
    default_language: Identifier
    menu: MenuSettings = MenuSettings()
    hold: HoldSettings = HoldSettings()
    callbacks: CallbackSettings = CallbackSettings()
    agent_line: AgentLineSettings = AgentLineSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    voicemail_max_s: int = Field(120, ge=10, le=600)
    short_abandon_s: float = Field(5, ge=0)
    service_level_formula: Literal["answered_plus_abandoned", "answered_only"] = (
        "answered_plus_abandoned"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _default_is_offered(self) -> LineSettings:
        if self.default_language not in self.languages:
            raise ValueError(
                f"default_language {self.default_language!r} is not among languages {self.languages}"
            )
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages lists a language twice")
        keys = [self.menu.operator_key, self.menu.repeat_key, self.menu.change_language_key]
        if len(set(keys)) != len(keys):
            raise ValueError("menu operator, repeat and change-language keys must differ")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class PluralForms(_Model):
    """CLDR plural categories; ``other`` is required, the rest as the language needs."""

    one: str | None = None
    few: str | None = None
    many: str | None = None
    other: str


class Prompts(_Model):
    """Everything the line says, in one language. ``{name}`` fields are filled at run time."""

    welcome: str
    language_offer: str
    welcome_back: str
    menu_option: str
    menu_speech_hint: str
    operator_option: str
    repeat_option: str
    invalid_input: str
    no_input: str
    to_operator: str
    closed: str
    opens_today: str
    opens_tomorrow: str
    opens_on: str
    closed_options: str
    voicemail_prompt: str
    voicemail_thanks: str
    callback_booked: str
    connecting: str
    complaint_reference: str
    hold_position: str
    hold_wait: str
    hold_wait_short: str
    minutes: PluralForms
    callback_offer: str
    callback_confirmed: str
    callback_greeting: str
    agent_connecting: str
    survey_question: str
    survey_comment_offer: str
    survey_comment_prompt: str
    survey_thanks: str
    goodbye: str
    error_apology: str
    weekdays: list[str] = Field(min_length=7, max_length=7)


class Language(_Model):
    code: Identifier
    name: str
    key: DtmfKey
    say_language: str = Field(pattern=r"^[a-z]{2,3}-[A-Z]{2}$")
    voice: str = Field(min_length=1)
    plural_rule: Literal["one_other", "pl", "ro"] = "one_other"
    prompts: Prompts
    keywords: dict[str, list[str]] = {}


class ServiceTarget(_Model):
    target: Fraction
    answer_time_s: PositiveSeconds


class Queue(_Model):
    id: Identifier
    key: DtmfKey
    names: dict[str, str]
    service_level: ServiceTarget
    asa_target_s: PositiveSeconds | None = None
    aht_s: PositiveSeconds
    max_wait_before_callback_s: PositiveSeconds
    opens_ticket: bool = False  # callers hear a ticket reference before queueing (complaints)


class QueuesFile(_Model):
    queues: list[Queue] = Field(min_length=1)


class TimeRange(_Model):
    start: dt.time
    end: dt.time

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", value)
            if not match:
                raise ValueError(f"expected 'HH:MM-HH:MM', got {value!r}")
            return {"start": match.group(1), "end": match.group(2)}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end != dt.time(0) and self.end <= self.start:
            raise ValueError(
                f"closing time {self.end:%H:%M} is not after opening {self.start:%H:%M}"
            )
        return self


class HolidaySettings(_Model):
    country: str | None = None
    subdivision: str | None = None
    closures: list[dt.date] = []

    @model_validator(mode="after")
    def _known_country(self) -> HolidaySettings:
        if self.country is None:
            return self
        supported = holidays_lib.list_supported_countries()
        if self.country not in supported:
            raise ValueError(f"unknown holiday country code {self.country!r}")
        if self.subdivision is not None and self.subdivision not in supported[self.country]:
            raise ValueError(f"unknown subdivision {self.subdivision!r} for {self.country}")
        return self


class HoursFile(_Model):
    business_hours: dict[Weekday, list[TimeRange]]
    holidays: HolidaySettings = HolidaySettings()


class BreakRule(_Model):
    length_min: int = Field(ge=0, le=120)
    earliest_after_start_min: int = Field(ge=0)
    latest_before_end_min: int = Field(ge=0)


class ShiftTemplate(_Model):
    name: Identifier
    start_earliest: dt.time
    start_latest: dt.time
    start_step_min: int = Field(ge=5, le=240)
    length_min_min: int = Field(ge=60, le=16 * 60)
    length_max_min: int = Field(ge=60, le=16 * 60)
    length_step_min: int = Field(60, ge=5, le=240)
    unpaid_break: BreakRule | None = None
    days: list[Weekday] = list(WEEKDAYS)
    hourly_cost: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _ranges(self) -> ShiftTemplate:
        if self.length_max_min < self.length_min_min:
            raise ValueError("length_max_min is below length_min_min")
        return self


class RestRules(_Model):
    min_rest_h: float = Field(11, ge=0, le=24)
    max_consecutive_days: int = Field(6, ge=1, le=14)
    min_consecutive_days_off: int = Field(2, ge=0, le=7)


class ObjectiveWeights(_Model):
    shortage: float = Field(100, ge=0)
    excess: float = Field(5, ge=0)
    distinct_shift: float = Field(50, ge=0)
    cost: float = Field(1, ge=0)


class StaffingRules(_Model):
    interval_min: Literal[15, 30, 60] = 30
    cyclic_week: bool = True  # Sunday night shifts cover Monday morning
    fte_hours_week: float = Field(40, gt=0, le=60)
    shrinkage: float = Field(ge=0, lt=1)
    max_occupancy: float = Field(gt=0, le=1)
    hourly_cost: float = Field(gt=0)
    rest: RestRules = RestRules()
    weights: ObjectiveWeights = ObjectiveWeights()
    shift_templates: list[ShiftTemplate] = Field(min_length=1)


class Agent(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1)
    skills: list[str] = Field(min_length=1)
    languages: list[str] = Field(min_length=1)
    min_hours_week: float = Field(ge=0, le=80)
    max_hours_week: float = Field(gt=0, le=80)
    unavailable_days: list[dt.date | Weekday] = []

    @field_validator("max_hours_week")
    @classmethod
    def _hours(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min_hours_week")
        if low is not None and value < low:
            raise ValueError(f"max_hours_week {value:g} is below min_hours_week {low:g}")
        return value


class ImportSettings(_Model):
    """``import.yaml``: how foreign call records map onto our queues."""

    call_types: dict[str, str] = {}
    languages: dict[str, str] = {}


class User(_Model):
    username: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    password_hash: str = Field(min_length=20)
    role: Literal["ops", "supervisor"] = "ops"


class UsersFile(_Model):
    users: list[User] = []


class HotlineConfig(_Model):
    """The whole line, validated across files."""

    source_dir: Path
    line: LineSettings
    languages: list[Language]
    queues: list[Queue]
    hours: HoursFile
    staffing: StaffingRules
    agents: list[Agent]
    users: list[User] = []
    imports: ImportSettings = ImportSettings()

    @property
    def tz(self) -> ZoneInfo:
        return self.line.tz

    def language(self, code: str | None) -> Language:
        """The language with this code, or the default one for an unknown or empty code."""
        for lang in self.languages:
            if lang.code == code:
                return lang
        return self.default_language

    @property
    def default_language(self) -> Language:
        return next(lang for lang in self.languages if lang.code == self.line.default_language)

    def queue(self, queue_id: str) -> Queue:
        for q in self.queues:
            if q.id == queue_id:
                return q
        raise KeyError(f"unknown queue {queue_id!r}")

    def queue_ids(self) -> list[str]:
        return [q.id for q in self.queues]


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
                line, languages, queues_file, agents, root, rel, line_maps, language_lines
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


def _cross_checks(line, languages, queues_file, agents, root, rel, line_maps, language_lines):
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
