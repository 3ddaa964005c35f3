"""The line's configuration as typed, validated objects: every other part of Hotline reads its
settings from a :class:`HotlineConfig` (loaded by :mod:`ivr.config.loader`)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import babel
import holidays as holidays_lib
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
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
NumberPrefix = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{0,14}$")]  # "+39", "+39899"


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
    """Callbacks: attempts, the gap between them, and the numbers the line calls back. A number
    is called back if it is E.164, starts with one of ``allow_prefixes`` (none listed: any
    country) and with none of ``deny_prefixes`` (premium-rate ranges, say)."""

    max_attempts: int = Field(3, ge=1, le=10)
    retry_gap_s: int = Field(600, ge=30)
    allow_prefixes: list[NumberPrefix] = []
    deny_prefixes: list[NumberPrefix] = []


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
    error: str = "Sorry, something went wrong. Please log in again."
    locked: str = (
        "This agent login is locked after too many wrong PINs. Try again in a quarter of an hour, "
        "or ask your supervisor."
    )
    wait_poll_s: int = Field(10, ge=2, le=60)
    max_pin_attempts: int = Field(3, ge=1, le=10)  # on one call
    # wrong PINs for one agent, over any number of calls, that lock the agent's login...
    lock_after_wrong_pins: int = Field(5, ge=1, le=100)
    lock_minutes: int = Field(15, ge=1, le=24 * 60)  # ...for this long
    # an offered call not answered within this goes to the next agent; the agent is not ready
    ring_timeout_s: int = Field(15, ge=5, le=120)
    # why an agent may be not ready (``missed``, a call offered and not answered, is always one)
    not_ready_reasons: list[str] = Field(
        ["break", "lunch", "training", "meeting", "coaching", "other"], min_length=1
    )
    # what an agent records about a call on the desktop
    dispositions: list[str] = Field(
        ["resolved", "follow_up", "escalated", "complaint_logged", "wrong_number", "other"],
        min_length=1,
    )
    # the caller's number on the agent desktop: masked (country code and last three digits)
    show_caller_number: Literal["masked", "full"] = "masked"
    next_caller_language: str = "Next caller, from {queue}, speaks {language}."
    wrap_up: str = "Wrap-up. Press hash when you are ready for the next call."
    busy_elsewhere: str = "You are on a call on another device. Finish it, then log in again."
    not_ready: str = "You are not ready: {reason}. Press 1 when you are ready."


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
    "dispatch_calls",
    "check_alerts",
    "intraday_reforecast",
    "check_lost_calls",
    "close_orphan_waits",
    "replay_spool",
    "reforecast",
    "weekly_plan",
    "retention",
    "post_ticket_changes",
]
RETIRED_JOBS = frozenset({"rollup_stats"})  # a line.yaml may still name them
DEFAULT_JOBS: dict[str, JobSchedule] = {
    "dial_callbacks": JobSchedule(every_s=30),
    "dispatch_calls": JobSchedule(every_s=5),
    "check_alerts": JobSchedule(every_s=60),
    "intraday_reforecast": JobSchedule(every_s=900),
    "check_lost_calls": JobSchedule(every_s=300),
    "close_orphan_waits": JobSchedule(every_s=60),
    "replay_spool": JobSchedule(every_s=30),
    "reforecast": JobSchedule(cron="15 2 * * *"),
    "weekly_plan": JobSchedule(cron="0 6 * * thu"),
    "retention": JobSchedule(cron="30 3 * * *"),
    "post_ticket_changes": JobSchedule(every_s=15),
}


class SchedulerSettings(_Model):
    jobs: dict[JobName, JobSchedule | None] = DEFAULT_JOBS
    retries: int = Field(2, ge=0, le=10)
    retry_delay_s: int = Field(60, ge=1)
    plan_time_limit_s: float = Field(30, ge=1, le=600)
    keep_events_days: int = Field(400, ge=1)
    keep_recordings_days: int = Field(90, ge=1)
    # callers' numbers (calls, queue entries, callbacks that are over, tickets, call events,
    # remembered languages) are removed after this; the rows and so every count stay
    keep_numbers_days: int = Field(90, ge=1)

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


class AdherenceSettings(_Model):
    """How an agent's day is held against their published shifts (``/ops/adherence``)."""

    # inside a scheduled break, not ready for one of these counts as keeping to the schedule
    break_reasons: list[str] = ["break", "lunch"]
    # a start this late, or an end this early, is not yet late / early (minutes)
    grace_min: float = Field(2, ge=0, le=60)


class AlertSettings(_Model):
    """Conditions the ops team hears of: shown on the dashboard, posted as JSON to ``webhooks``."""

    webhooks: list[str] = []  # URLs that receive each alert as a JSON POST
    every_min: float = Field(30, ge=1, le=24 * 60)  # one condition is posted at most this often
    service_level_window_min: float = Field(30, ge=5, le=240)  # service level over the last...
    min_calls: int = Field(5, ge=1)  # ...when at least this many calls count in it
    post_timeout_s: float = Field(5, gt=0, le=30)

    @field_validator("webhooks")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return urls


class TicketSettings(_Model):
    """Complaint tickets: each status change posted as JSON to ``webhook_url`` (none: not posted)."""

    webhook_url: str | None = None
    post_timeout_s: float = Field(5, gt=0, le=30)
    max_attempts: int = Field(240, ge=1, le=10_000)  # failed posts of one change before giving up

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url


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
    adherence: AdherenceSettings = AdherenceSettings()
    alerts: AlertSettings = AlertSettings()
    tickets: TicketSettings = TicketSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    voicemail_max_s: int = Field(120, ge=10, le=600)
    # Twilio transcribes voicemails and survey comments in English (up to 2 minutes long); the
    # supervisors' inbox shows the text
    transcribe_messages: bool = True
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
    opens_on_date: str | None = None  # a week or more ahead: {weekday}, {date}, {time}
    closed_options: str
    voicemail_prompt: str
    voicemail_thanks: str
    callback_booked: str
    closed_options_no_callback: str
    callback_number_refused: str
    connecting: str
    complaint_reference: str
    hold_position: str
    hold_wait: str
    hold_wait_short: str
    hold_no_language_agent: str  # no agent on line speaks the caller's language
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
    # Babel (CLDR) locale for plural categories and spoken times and dates; default: ``code``
    locale: str | None = None
    prompts: Prompts
    keywords: dict[str, list[str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _without_plural_rule(cls, value: Any) -> Any:
        """``plural_rule`` of earlier versions is accepted and ignored: the plural categories
        now come from the CLDR rules of the language's locale."""
        if isinstance(value, dict) and "plural_rule" in value:
            return {k: v for k, v in value.items() if k != "plural_rule"}
        return value

    @model_validator(mode="after")
    def _known_locale(self) -> Language:
        try:
            _babel_locale(self.locale or self.code)
        except (ValueError, babel.UnknownLocaleError) as exc:
            raise ValueError(f"locale {self.locale or self.code!r} is unknown to Babel") from exc
        return self

    @property
    def babel_locale(self) -> babel.Locale:
        return _babel_locale(self.locale or self.code)


@functools.lru_cache(maxsize=64)
def _babel_locale(identifier: str) -> babel.Locale:
    return babel.Locale.parse(identifier.replace("-", "_"))


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
    # callers' mean patience before hanging up: the Erlang A staffing model (requirements)
    patience_s: PositiveSeconds | None = None
    # after this wait, agents with the skill who do not speak the caller's language may take
    # the caller too (None: never; 0: language-blind routing)
    overflow_after_s: float | None = Field(60.0, ge=0)
    # agents of these other queues may take this queue's callers after the same wait
    overflow_skills: list[str] = []
    wrap_up_s: int = Field(30, ge=0, le=3600)  # the agent's after-call work, then available
    # a caller waiting longer raises an alert (default: max_wait_before_callback_s)
    alert_wait_s: PositiveSeconds | None = None


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
    # A public holiday or closure on a day the line usually opens: the week's contract hours
    # (each agent's minimum and maximum) are reduced by `paid_day` (the day is paid as
    # holiday_paid_share of the weekly contract, the agent's max_hours_week; 1/6 as Italian law
    # pays a public holiday, L. 260/1949 art. 5), or by `prorate` (times the days open this
    # week over the days usually open), or not at all (`none`).
    holiday_hours: Literal["paid_day", "prorate", "none"] = "paid_day"
    holiday_paid_share: float = Field(1 / 6, gt=0, le=1)
    # whether such a day counts as a day off for the two-days-off-in-a-row rule
    holiday_counts_as_day_off: bool = True


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


def agent_number(agent_id: str) -> int | None:
    """The number an agent keys in on the agent line: the digits of the id (A007 is 7), or None
    for an id without digits."""
    digits = "".join(c for c in agent_id if c.isascii() and c.isdigit())
    return int(digits) if digits else None


class ImportSettings(_Model):
    """``import.yaml``: how foreign call records map onto our queues."""

    call_types: dict[str, str] = {}
    languages: dict[str, str] = {}


class User(_Model):
    username: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    password_hash: str = Field(min_length=20)
    role: Literal["ops", "supervisor", "agent"] = "ops"
    disabled: bool = False  # may not log in; their open logins end at their next request
    agent: str | None = None  # role agent: their id in agents.csv (the agent desktop, /agent)

    @model_validator(mode="after")
    def _agent_login(self) -> User:
        if (self.role == "agent") != (self.agent is not None):
            raise ValueError("an agent's login (role: agent) names its agent, and only it does")
        return self


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
