"""Measurable quality of one continuation, for the benchmark and for tests.

Three checks a viewer would notice: the paragraph ends at a sentence end (not mid-word), it does not loop
(``postprocess.find_loop``), and it picks up at least one content word of the viewers' latest line
(compared after lower-casing and stripping a plural/verb ending, stop words ignored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from skills.story.postprocess import find_loop, sentence_ends

# A small English stop-word list (function words that do not make an idea "mentioned").
STOP_WORDS = frozenset("""
a an the and or but if then so of to in on at by for with from into onto over under up down out off about
is are was were be been being am do does did has have had will would can could shall should may might must
it its it's he him his she her they them their we us our you your i me my this that these those there here
who whom which what when where why how not no yes all any some very too just also only again more most
one two as than like get gets got now
""".split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Stemmed lower-case words of 3+ letters that are not stop words."""
    return {_stem(w) for w in re.findall(r"[a-z']+", text.lower()) if len(w) >= 3 and w not in STOP_WORDS}


@dataclass(frozen=True, slots=True)
class ContinuationQuality:
    """``clean_end``: ends after a sentence; ``no_loop``: no repeated n-gram loop; ``uses_idea``: shares a
    content word with the viewers' latest line (True when there was no line)."""

    clean_end: bool
    no_loop: bool
    uses_idea: bool

    @property
    def all_ok(self) -> bool:
        return self.clean_end and self.no_loop and self.uses_idea


def assess(text: str, latest_idea: str | None) -> ContinuationQuality:
    """Quality of ``text`` (a posted continuation) given the viewers' latest line (or ``None``)."""
    stripped = text.strip()
    ends = sentence_ends(stripped)
    clean_end = bool(ends) and ends[-1] == len(stripped)
    uses_idea = True if not latest_idea else bool(content_words(stripped) & content_words(latest_idea))
    return ContinuationQuality(clean_end, find_loop(stripped) is None, uses_idea)
