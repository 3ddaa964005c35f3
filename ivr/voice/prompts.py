"""What the line says: prompts in the caller's language and voice, plurals, dates, digits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ivr.config.schema import Language


def plural_category(rule: str, n: int) -> str:
    """CLDR plural category of a whole number for the rules our languages need."""
    if rule == "pl":
        if n == 1:
            return "one"
        if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
            return "few"
        return "many"
    if rule == "ro":
        if n == 1:
            return "one"
        if n == 0 or 1 < n % 100 < 20:
            return "few"
        return "other"
    return "one" if n == 1 else "other"


def minutes_phrase(lang: Language, n: int) -> str:
    forms = lang.prompts.minutes
    template = getattr(forms, plural_category(lang.plural_rule, n)) or forms.other
    return template.format(n=n)


def text(lang: Language, prompt: str, /, **fields: Any) -> str:
    return getattr(lang.prompts, prompt).format(**fields)


def say(verb: Any, lang: Language, words: str) -> None:
    """Add a ``<Say>`` in the language's voice to a VoiceResponse or Gather."""
    verb.say(words, voice=lang.voice, language=lang.say_language)


def spoken_digits(reference: str) -> str:
    """Digits separated so text-to-speech reads them one by one: "4, 7, 1"."""
    return ", ".join(reference)


def opening_phrase(lang: Language, opening: dt.datetime, now: dt.datetime) -> str:
    """ "today at 08:00", "tomorrow at 08:00" or "on Monday at 08:00" in the caller's language."""
    local_now = now.astimezone(opening.tzinfo)
    days = (opening.date() - local_now.date()).days
    time = opening.strftime("%H:%M")
    if days == 0:
        return text(lang, "opens_today", time=time)
    if days == 1:
        return text(lang, "opens_tomorrow", time=time)
    weekday = lang.prompts.weekdays[opening.weekday()]
    return text(lang, "opens_on", weekday=weekday, time=time)
