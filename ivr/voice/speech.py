"""Spoken menu choices: map Twilio's ``SpeechResult`` to a queue by keywords per language."""

from __future__ import annotations

import re
import unicodedata

from ivr.config.schema import Language


def _fold(words: str) -> str:
    """Case- and accent-insensitive form, so "reclamatie" matches "reclamație"."""
    decomposed = unicodedata.normalize("NFKD", words.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " " + re.sub(r"[^\w]+", " ", stripped).strip() + " "


def match_queue(lang: Language, speech: str) -> str | None:
    """The queue whose keywords the caller said most (``operator`` counts as ``general``).

    Returns None when nothing matched or two queues matched equally: better to ask again than
    to send a caller to the wrong queue.
    """
    said = _fold(speech)
    scores: dict[str, int] = {}
    for queue, words in lang.keywords.items():
        target = "general" if queue == "operator" else queue
        hits = sum(1 for word in words if _fold(word) in said)
        if hits:
            scores[target] = scores.get(target, 0) + hits
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def hints(lang: Language) -> str:
    """Twilio ``hints``: the keywords, comma-separated."""
    return ", ".join(word for words in lang.keywords.values() for word in words)
