"""Opening hours across DST and holidays, plural forms, and spoken menu choices."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import babel
import pandas as pd
import pytest
from babel.dates import format_skeleton, format_time

from ivr.config.hours import OpeningHours
from ivr.config.loader import load_config
from ivr.config.schema import Language
from ivr.voice.prompts import minutes_phrase, opening_phrase, plural_category, spoken_time
from ivr.voice.speech import match_queue

CFG = load_config()
ROME = ZoneInfo("Europe/Rome")
HOURS = OpeningHours.from_config(CFG)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ROME)


@pytest.mark.parametrize(
    "moment, expected",
    [
        (at(2026, 11, 25, 7, 59), False),
        (at(2026, 11, 25, 8, 0), True),
        (at(2026, 11, 25, 19, 59), True),
        (at(2026, 11, 25, 20, 0), False),
        (at(2026, 11, 28, 12, 0), True),  # Saturday morning
        (at(2026, 11, 28, 13, 0), False),
        (at(2026, 11, 29, 12, 0), False),  # Sunday
        (at(2026, 12, 8, 12, 0), False),  # Immacolata Concezione (IT holiday)
        (at(2026, 12, 24, 12, 0), False),  # company closure
        (at(2026, 3, 30, 9, 0), True),  # first Monday of summer time
    ],
)
def test_is_open(moment, expected):
    assert HOURS.is_open(moment) is expected


def test_next_opening_across_the_autumn_dst_change():
    # Saturday 24 Oct 2026 after closing; Sunday 25th has 25 hours; Monday opens 08:00 CET.
    opening = HOURS.next_opening(at(2026, 10, 24, 14, 0))
    assert opening == at(2026, 10, 26, 8, 0)
    assert opening.utcoffset() == dt.timedelta(hours=1)
    assert opening.astimezone(dt.UTC) == dt.datetime(2026, 10, 26, 7, 0, tzinfo=dt.UTC)


def test_next_opening_across_the_spring_dst_change():
    opening = HOURS.next_opening(at(2026, 3, 28, 14, 0))
    assert opening.astimezone(dt.UTC) == dt.datetime(2026, 3, 30, 6, 0, tzinfo=dt.UTC)


def test_next_opening_skips_holidays_and_closures():
    assert HOURS.next_opening(at(2026, 12, 23, 21, 0)) == at(2026, 12, 28, 8, 0)
    assert HOURS.closure_reason(dt.date(2026, 12, 26)) == "Saint Stephen's Day"


def test_a_line_that_never_opens():
    never = OpeningHours(ROME, {d: [] for d in range(7)})
    assert never.next_opening(at(2026, 1, 1, 0, 0)) is None


def test_midnight_closing_time_and_utc_input():
    late = OpeningHours(ROME, {d: [(dt.time(18), dt.time(0))] for d in range(7)})
    assert late.is_open(dt.datetime(2026, 7, 1, 21, 30, tzinfo=dt.UTC))  # 23:30 in Rome
    assert not late.is_open(dt.datetime(2026, 7, 1, 22, 0, tzinfo=dt.UTC))


def test_open_during_intervals_of_a_week():
    """30-min intervals of Wed 25 Nov to Thu 10 Dec 2026: open from 08:00 to 20:00 on weekdays,
    09:00-13:00 on Saturday, never on Sunday or on the 8 December holiday."""
    starts = pd.Series(pd.date_range("2026-11-25", "2026-12-10", freq="30min", tz=ROME))
    is_open = HOURS.open_during(starts, pd.Timedelta("30min"))
    expected = [HOURS.is_open(t.to_pydatetime()) for t in starts]  # aligned: one test at the start
    assert is_open.tolist() == expected
    assert is_open.sum() == 10 * 24 + 2 * 8  # ten open weekdays and two Saturdays, in intervals


def test_open_during_counts_a_partly_open_interval_and_a_dst_day():
    early = OpeningHours(ROME, {6: [(dt.time(1), dt.time(4))], 5: [(dt.time(8, 15), dt.time(9))]})
    # Sunday 29 March 2026: 01:00-04:00 local is two real hours (02:00 does not exist)
    starts = pd.Series(pd.date_range("2026-03-28 22:00", periods=12, freq="30min", tz="UTC"))
    assert early.open_during(starts, pd.Timedelta("30min")).sum() == 4
    # Saturday 28 March 08:15-09:00: the 08:00 interval is partly open
    saturday = pd.Series(pd.date_range("2026-03-28 07:30", periods=4, freq="30min", tz=ROME))
    assert early.open_during(saturday, pd.Timedelta("30min")).tolist() == [False, True, True, False]


@pytest.mark.parametrize(
    "locale, numbers, expected",
    [
        (
            "pl",
            [1, 2, 4, 5, 12, 14, 22, 25, 112],
            ["one", "few", "few", "many", "many", "many", "few", "many", "many"],
        ),
        (
            "ro",
            [1, 2, 19, 20, 101, 102, 120],
            ["one", "few", "few", "other", "few", "few", "other"],  # CLDR: 101 is "few"
        ),
        ("en", [1, 2, 0], ["one", "other", "other"]),
        ("nb", [1, 2, 0], ["one", "other", "other"]),
    ],
)
def test_plural_categories(locale, numbers, expected):
    assert [plural_category(locale, n) for n in numbers] == expected


def test_minutes_phrases_read_naturally():
    pl, ro, en = CFG.language("pl"), CFG.language("ro"), CFG.language("en")
    assert [minutes_phrase(pl, n) for n in (1, 3, 5, 22)] == [
        "1 minuta",
        "3 minuty",
        "5 minut",
        "22 minuty",
    ]
    assert [minutes_phrase(ro, n) for n in (1, 4, 25)] == ["1 minut", "4 minute", "25 de minute"]
    assert [minutes_phrase(en, n) for n in (1, 4)] == ["1 minute", "4 minutes"]


LANGUAGES = ("en", "it", "pl", "ro", "nb")


@pytest.mark.parametrize("code", LANGUAGES)
@pytest.mark.parametrize("n", [1, 2, 5, 22])
def test_minutes_phrase_follows_the_cldr_plural_category(code, n):
    lang = CFG.language(code)
    category = babel.Locale.parse(code).plural_form(n)
    template = getattr(lang.prompts.minutes, category) or lang.prompts.minutes.other
    assert minutes_phrase(lang, n) == template.format(n=n)
    if code == "pl":
        assert category == {1: "one", 2: "few", 5: "many", 22: "few"}[n]


@pytest.mark.parametrize("code", LANGUAGES)
def test_opening_time_is_spoken_in_the_language_convention(code):
    lang = CFG.language(code)
    opening, now = at(2026, 11, 27, 16, 0), at(2026, 11, 27, 9, 0)
    babel_time = format_time(opening, format="short", tzinfo=ROME, locale=code)
    time = babel_time.replace("\u202f", " ").replace("\u00a0", " ")
    assert spoken_time(lang, opening) == time
    assert opening_phrase(lang, opening, now) == lang.prompts.opens_today.format(time=time)


def test_an_english_caller_hears_a_twelve_hour_clock():
    en = CFG.language("en")
    assert spoken_time(en, at(2026, 11, 27, 16, 0)) == "4:00 PM"
    assert (
        spoken_time(en, at(2026, 11, 27, 16, 0).astimezone(dt.UTC)) == "3:00 PM"
    )  # the zone given
    assert "16:00" not in opening_phrase(en, at(2026, 11, 27, 16, 0), at(2026, 11, 27, 9, 0))
    assert spoken_time(CFG.language("it"), at(2026, 11, 27, 16, 0)) == "16:00"


def test_opening_phrases():
    now = at(2026, 11, 27, 21, 0)  # Friday night
    assert opening_phrase(CFG.language("en"), at(2026, 11, 28, 9, 0), now) == "tomorrow at 9:00 AM"
    assert (
        opening_phrase(CFG.language("pl"), at(2026, 11, 30, 8, 0), now) == "w poniedziałek od 08:00"
    )
    assert opening_phrase(CFG.language("nb"), at(2026, 11, 27, 22, 0), now) == "i dag klokken 22:00"


def test_an_opening_a_week_or_more_ahead_names_the_date():
    now = at(2026, 12, 23, 21, 0)
    opening = at(2027, 1, 4, 8, 0)  # a Monday
    assert opening_phrase(CFG.language("en"), opening, now) == "on Monday, January 4, at 8:00 AM"
    assert (
        opening_phrase(CFG.language("pl"), opening, now) == "w poniedziałek, 4 stycznia, od 08:00"
    )
    assert opening_phrase(CFG.language("nb"), opening, now) == "mandag 4. januar klokken 08:00"
    for code in LANGUAGES:
        date = format_skeleton("MMMMd", opening, locale=code)
        assert date in opening_phrase(CFG.language(code), opening, now)


def test_a_language_file_of_an_earlier_version_with_plural_rule_still_loads():
    raw = CFG.language("pl").model_dump()
    raw["plural_rule"] = "pl"
    del raw["locale"]
    assert Language.model_validate(raw).babel_locale == babel.Locale.parse("pl")
    with pytest.raises(ValueError, match="unknown to Babel"):
        Language.model_validate({**raw, "locale": "xx_YY"})


@pytest.mark.parametrize(
    "code, said, expected",
    [
        ("ro", "am o reclamatie", "complaints"),  # without diacritics still matches
        ("en", "ORDER!!", "orders"),
        ("en", "weather forecast", None),
        ("en", "order complaint", None),  # a tie is asked again, not guessed
        ("nb", "jeg vil snakke med et menneske", "general"),
    ],
)
def test_speech_matching(code, said, expected):
    assert match_queue(CFG.language(code), said) == expected


@pytest.mark.parametrize(
    "phone, callable_, known",
    [
        ("+393471112223", True, True),  # an Italian mobile
        ("+390612345678", True, True),  # a landline in Rome
        ("+3934711122", True, True),  # 11 digits
        ("0612345678", False, True),  # not E.164
        ("+12345", False, True),
        ("anonymous", False, False),
        ("Restricted", False, False),
        ("", False, False),
        (None, False, False),
        ("+39 347", False, True),
        ("+" + "1" * 20, False, True),
        ("+3934711122233344455", False, True),  # 19 digits
        ("+0393471112223", False, True),  # no country code starts with 0
        ("+393471112223\n", False, True),
        ("+39347111222\u0663", False, True),  # an Arabic-Indic digit
        ("+39899123456", False, True),  # premium rate
        ("+39892424", False, True),
        ("+48601000111", False, True),  # Poland: only Italian numbers are called back
        ("+18005550199", False, True),
    ],
)
def test_which_numbers_are_remembered_and_called_back(phone, callable_, known):
    from ivr.store import calllog
    from ivr.voice.callbacks import callable_number

    assert callable_number(CFG, phone) is callable_
    assert calllog.known_number(phone) is known
