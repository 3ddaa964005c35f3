"""What the line says: prompts in the caller's language and voice, plurals, dates, digits.

Plural categories and the spoken form of clock times and dates come from the CLDR data of
Babel, for the Babel locale of each language (:attr:`Language.babel_locale`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel import Locale
from babel.dates import format_skeleton, format_time

from ivr.config.schema import Language

# CLDR puts no-break spaces in some formats ("4:00\u202fPM"); text-to-speech wants plain ones.
_PLAIN_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


def plural_category(locale: Locale | str, n: int) -> str:
    """CLDR plural category ("one", "few", "many", "other", ...) of a whole number."""
    return Locale.parse(locale).plural_form(n)


def minutes_phrase(lang: Language, n: int) -> str:
    forms = lang.prompts.minutes
    template = getattr(forms, plural_category(lang.babel_locale, n), None) or forms.other
    return template.format(n=n)


def spoken_time(lang: Language, moment: dt.datetime) -> str:
    """A clock time as the language writes it, in the zone of ``moment``: "4:00 PM", "16:00"."""
    text_ = format_time(moment, format="short", tzinfo=moment.tzinfo, locale=lang.babel_locale)
    return text_.translate(_PLAIN_SPACES)


def spoken_date(lang: Language, day: dt.date) -> str:
    """Day and month as the language says them: "December 28", "28 grudnia", "28. desember"."""
    return format_skeleton("MMMMd", day, locale=lang.babel_locale).translate(_PLAIN_SPACES)


def text(lang: Language, prompt: str, /, **fields: Any) -> str:
    return getattr(lang.prompts, prompt).format(**fields)


def say(verb: Any, lang: Language, words: str) -> None:
    """Add a ``<Say>`` in the language's voice to a VoiceResponse or Gather."""
    verb.say(words, voice=lang.voice, language=lang.say_language)


def spoken_digits(reference: str) -> str:
    """Digits separated so text-to-speech reads them one by one: "4, 7, 1"."""
    return ", ".join(reference)


def opening_phrase(lang: Language, opening: dt.datetime, now: dt.datetime) -> str:
    """ "today at 4:00 PM", "tomorrow at 8:00 AM", "on Monday at 8:00 AM" or, a week or more
    ahead, "on Monday, January 4 at 8:00 AM" in the caller's language."""
    local_now = now.astimezone(opening.tzinfo)
    days = (opening.date() - local_now.date()).days
    time = spoken_time(lang, opening)
    if days == 0:
        return text(lang, "opens_today", time=time)
    if days == 1:
        return text(lang, "opens_tomorrow", time=time)
    weekday = lang.prompts.weekdays[opening.weekday()]
    if days >= 7 and lang.prompts.opens_on_date:
        date = spoken_date(lang, opening.date())
        return text(lang, "opens_on_date", weekday=weekday, date=date, time=time)
    return text(lang, "opens_on", weekday=weekday, time=time)
