"""The full answer decision for one chat message (question gate, threshold, margin, keywords), shared by
the skill and ``chatcast eval faq`` so that the evaluation measures exactly what the bot does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from skills.faq.matcher import Match, decide
from skills.faq.question import is_question, keyword_hit


def keywords_ok(text: str, keywords: Sequence[str], score: float, bypass: float) -> bool:
    """An entry with keywords needs one of them in ``text`` unless ``score >= bypass`` (near-verbatim)."""
    return not keywords or score >= bypass or keyword_hit(text, list(keywords))


def should_answer(text: str, row: np.ndarray, entries: Sequence[Any], settings: Any) -> tuple[int, Match]:
    """Entry index to answer with (``-1`` for none) and the raw match, for one message.

    ``row``: ``(len(entries),)`` scores from ``FaqIndex.scores``; ``entries`` have ``.keywords``;
    ``settings`` has ``threshold``, ``margin``, ``require_question``, ``keyword_bypass``, ``min_chars``.
    """
    match = decide(row, settings.threshold, settings.margin)
    text = text.strip()
    if len(text) < settings.min_chars or text.startswith("!"):
        return -1, match
    if settings.require_question and not is_question(text):
        return -1, match
    if not match.accepted:
        return -1, match
    if not keywords_ok(text, entries[match.entry].keywords, match.score, settings.keyword_bypass):
        return -1, match
    return match.entry, match


def refusal_reason(text: str, match: Match, entries: Sequence[Any], settings: Any) -> str:
    """Why ``should_answer`` gave no answer, in the order it checks (for ``!faq test``)."""
    text = text.strip()
    if len(text) < settings.min_chars:
        return f"shorter than min_chars ({settings.min_chars})"
    if text.startswith("!"):
        return "a command"
    if settings.require_question and not is_question(text):
        return "not a question"
    if match.score < settings.threshold:
        return "score below the threshold"
    if match.margin < settings.margin:
        return "too close to the second-best entry (margin)"
    keywords = entries[match.entry].keywords
    if not keywords_ok(text, keywords, match.score, settings.keyword_bypass):
        return f"none of its keywords ({', '.join(keywords[:5])}) is in the message"
    return "no reason found"
