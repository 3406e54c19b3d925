"""Does a chat line ask something? A cheap, precise gate in front of semantic FAQ matching.

Chat is mostly statements and emotes; answering them is spam. A line counts as a question when it holds a
``?`` or starts (after an optional ``@mention``) with an interrogative or auxiliary verb in English
("what", "how", "is", "does", ...), the usual form of questions typed without a question mark
("what game is this"). Known limits: other languages, and rhetorical questions.
"""

from __future__ import annotations

import re

QUESTION_OPENERS = frozenset(
    """what whats what's which when whens where wheres who whos who's whom whose why how hows how's
    is isnt are arent am was were do does doesnt did didnt dont can cant could will wont would should
    shall may might have has hasnt any anyone anybody wat wut wot wen wher y u ur""".split()
)
_WORD = re.compile(r"[a-z']+")
_MENTIONS = re.compile(r"^(?:@\S+[\s,:]*)+")


def is_question(text: str) -> bool:
    """True when ``text`` looks like a question (see module docstring). Empty text -> False."""
    text = text.strip()
    if not text:
        return False
    if "?" in text:
        return True
    words = _WORD.findall(_MENTIONS.sub("", text.lower()))
    return bool(words) and words[0] in QUESTION_OPENERS and len(words) >= 2


def keyword_hit(text: str, keywords: list[str] | tuple[str, ...]) -> bool:
    """True when any keyword (case-insensitive, whole words, phrases allowed) occurs in ``text``."""
    low = " " + " ".join(_WORD.findall(text.lower())) + " "
    return any(f" {' '.join(_WORD.findall(k.lower()))} " in low for k in keywords if k.strip())
