"""The full answer decision for one chat message (question gate, addressee, threshold, margin, keywords),
shared by the skill and ``chatcast eval faq`` so that the evaluation measures exactly what the bot does."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from skills.faq.matcher import Match, decide
from skills.faq.question import (
    about_the_asker,
    addressed_to,
    covered,
    is_question,
    keyword_hit,
    matching_text,
)

SHORT_REQUEST_WORDS = 3
"""A message of at most this many words that is no question ("discord link", "game name") is asked
anyway when it is a near-verbatim example (score >= ``keyword_bypass``): such requests are how viewers
type a question ("discord link" scored 0.92 against the example "discord link?" and got no answer)."""


def asks(text: str, score: float, settings: Any, entry: Any = None) -> bool:
    """Whether ``text`` counts as asked: a question (``is_question``), or a short request that is a
    near-verbatim example (``SHORT_REQUEST_WORDS``) of ``entry`` and says nothing its examples and
    keywords do not ("nice pc specs" scored 0.87 against "pc specs?"); always when ``require_question``
    is off."""
    if not settings.require_question or is_question(text):
        return True
    if len(text.split()) > SHORT_REQUEST_WORDS or score < settings.keyword_bypass:
        return False
    return entry is not None and _covered_by(text, entry)


def _covered_by(text: str, entry: Any) -> bool:
    """Whether ``entry``'s examples and keywords hold every content word of ``text`` (``covered``)."""
    return covered(text, [*entry.questions, *getattr(entry, "keywords", ())])


def asked(text: str, match: Match, entries: Sequence[Any], settings: Any, own_names: Iterable[str] = ()
          ) -> bool:
    """``asks`` for a chat message as the bot matched it: its ``matching_text`` and best entry."""
    entry = entries[match.entry] if match.entry >= 0 else None
    return asks(matching_text(text, own_names), match.score, settings, entry)


def keywords_ok(text: str, keywords: Sequence[str], score: float, bypass: float) -> bool:
    """An entry with keywords needs one of them in ``text`` unless ``score >= bypass`` (near-verbatim)."""
    return not keywords or score >= bypass or keyword_hit(text, list(keywords))


def worth_scoring(
    text: str, settings: Any, own_names: Iterable[str] = (), entries: Sequence[Any] | None = None
) -> bool:
    """Whether a chat line could get an answer at all, before it is embedded: long enough, no command, not
    addressed to another viewer, and a question, or (when ``require_question``) a short request
    (``SHORT_REQUEST_WORDS``) whose words some entry's examples and keywords cover (``asks``; checked
    only when ``entries`` is given). ``should_answer`` refuses every line this refuses, so the skill and
    ``chatcast eval faq`` embed only the lines that pass: on two real chat days (3,304 lines, the example
    config's FAQ) 15 % of them."""
    text = text.strip()
    if len(text) < settings.min_chars or text.startswith("!") or addressed_to(text, own_names) is not None:
        return False
    if not settings.require_question or is_question(text):
        return True
    if len(text.split()) > SHORT_REQUEST_WORDS:
        return False
    if entries is None:
        return True
    asked_text = matching_text(text, own_names)
    return any(_covered_by(asked_text, e) for e in entries)


def should_answer(
    text: str, row: np.ndarray, entries: Sequence[Any], settings: Any, own_names: Iterable[str] = ()
) -> tuple[int, Match]:
    """Entry index to answer with (``-1`` for none) and the raw match, for one message.

    ``row``: ``(len(entries),)`` scores from ``FaqIndex.scores``; ``entries`` have ``.keywords``;
    ``settings`` has ``threshold``, ``margin``, ``require_question``, ``keyword_bypass``, ``min_chars``;
    ``own_names``: the bot's and the streamer's names (a line with an ``@mention`` of anyone else, anywhere
    in it, is addressed to them and gets no answer; with none given, no line with a mention does).
    """
    match = decide(row, settings.threshold, settings.margin)
    text = text.strip()
    if len(text) < settings.min_chars or text.startswith("!"):
        return -1, match
    if addressed_to(text, own_names) is not None:
        return -1, match
    if not asked(text, match, entries, settings, own_names):
        return -1, match
    if not match.accepted:
        return -1, match
    if not keywords_ok(text, entries[match.entry].keywords, match.score, settings.keyword_bypass):
        return -1, match
    if match.score < settings.keyword_bypass and about_the_asker(text, entries[match.entry].questions):
        return -1, match  # "what game should I play after this?" scored 0.68 against "what game is this"
    return match.entry, match


def addressee_reason(name: str) -> str:
    """The refusal of a line addressed to ``name`` (another viewer), as ``!faq test`` says it."""
    return f"addressed to @{name}, not to the streamer or the bot"


def refusal_reason(
    text: str, match: Match, entries: Sequence[Any], settings: Any, own_names: Iterable[str] = ()
) -> str:
    """Why ``should_answer`` gave no answer, in the order it checks (for ``!faq test``)."""
    text = text.strip()
    if len(text) < settings.min_chars:
        return f"shorter than min_chars ({settings.min_chars})"
    if text.startswith("!"):
        return "a command"
    other = addressed_to(text, own_names)
    if other is not None:
        return addressee_reason(other)
    if not asked(text, match, entries, settings, own_names):
        return "not a question"
    if match.score < settings.threshold:
        return "score below the threshold"
    if match.margin < settings.margin:
        return "too close to the second-best entry (margin)"
    keywords = entries[match.entry].keywords
    if not keywords_ok(text, keywords, match.score, settings.keyword_bypass):
        return f"none of its keywords ({', '.join(keywords[:5])}) is in the message"
    if match.score < settings.keyword_bypass and about_the_asker(text, entries[match.entry].questions):
        return "asks for advice for the viewer (should I ...); the entry's examples ask about the stream"
    return "no reason found"
