"""Which agent may take which caller, and how well: the rule the live dispatcher
(``ivr.voice.dispatch``) pairs callers and agents by, and the simulation (``staffing.simulation``)
checks plans with.

0. the queue's skill and the caller's language;
1. the queue's skill, another language, once the caller has waited the queue's
   ``overflow_after_s`` (None: never);
2. an ``overflow_skills`` queue's agent who speaks the language, after the same wait;
3. an ``overflow_skills`` queue's agent in another language, after the same wait.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

LANGUAGE, OVERFLOW, OTHER_QUEUE_LANGUAGE, OTHER_QUEUE = 0, 1, 2, 3


class RoutedQueue(Protocol):
    """What the rule reads of a queue (the app's configured queue or the simulation's)."""

    @property
    def id(self) -> str: ...

    @property
    def overflow_after_s(self) -> float | None: ...

    @property
    def overflow_skills(self) -> Collection[str]: ...


def overflowed(queue: RoutedQueue, waited_s: float) -> bool:
    """A caller of ``queue`` who has waited ``waited_s`` may go to its agents in other languages
    and to its overflow queues' agents (the only way the wait changes :func:`rank`)."""
    return queue.overflow_after_s is not None and waited_s >= queue.overflow_after_s


def rank(
    skills: Sequence[str],
    languages: Sequence[str],
    queue: RoutedQueue,
    language: str,
    waited_s: float,
) -> int | None:
    """How well an agent with these ``skills`` and ``languages`` suits a caller of ``queue`` in
    ``language`` who has waited ``waited_s``: 0 (best) to 3, or None if they may not take the
    caller (yet)."""
    speaks = language in languages
    over = overflowed(queue, waited_s)
    if queue.id in skills:
        if speaks:
            return LANGUAGE
        return OVERFLOW if over else None
    if over and not set(skills).isdisjoint(queue.overflow_skills):
        return OTHER_QUEUE_LANGUAGE if speaks else OTHER_QUEUE
    return None
