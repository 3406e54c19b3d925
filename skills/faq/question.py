"""Does a chat line ask something? A cheap, precise gate in front of semantic FAQ matching.

Chat is mostly statements and emotes; answering them is spam. A line counts as a question when it holds a
``?`` or starts (after an optional ``@mention``) with an interrogative or auxiliary verb in English
("what", "how", "is", "does", ...), the usual form of questions typed without a question mark
("what game is this"). Known limits: other languages, and rhetorical questions.

A line that ``@mentions`` someone else anywhere (another viewer: "@mossy_dev what keyboard do you use?",
"hey @mossy_dev what keyboard do you use?", "what keyboard do you use @mossy_dev") is addressed to that
person, whatever it asks: ``addressed_to`` finds it, so that the FAQ does not answer for them. Mentions of
the streamer or the bot are the usual ways to ask the channel. The text is NFKC-normalised first, so the
full-width ``＠`` of phone keyboards counts, and ``@ name`` (one space) too; an ``@`` inside a word (an
e-mail address) does not. Known limit: a viewer named without ``@`` ("mossy what keyboard...").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

QUESTION_OPENERS = frozenset(
    """what whats what's which when whens where wheres who whos who's whom whose why how hows how's
    is isnt are arent am was were do does doesnt did didnt dont can cant could will wont would should
    shall may might have has hasnt any anyone anybody wat wut wot wen wher y u ur""".split()
)
_WORD = re.compile(r"[a-z']+")
_MENTIONS = re.compile(r"^(?:@\S+[\s,:]*)+")
# "@name" or "@ name" not preceded by a word character (so not "me@mail.com"); the name up to punctuation
_ANY_MENTION = re.compile(r"(?<![\w@])@+ ?([^\s,:;.!?@\"()\[\]{}<>]+)")
_POSSESSIVE = re.compile(r"['’]s$")


def is_question(text: str) -> bool:
    """True when ``text`` looks like a question (see module docstring). Empty text -> False."""
    text = text.strip()
    if not text:
        return False
    if "?" in text:
        return True
    words = _WORD.findall(_MENTIONS.sub("", unicodedata.normalize("NFKC", text).lower()))
    return bool(words) and words[0] in QUESTION_OPENERS and len(words) >= 2


def mentions(text: str) -> list[str]:
    """Names (lower-case, without ``@``, trailing punctuation or possessive ``'s``) of every ``@mention``
    anywhere in ``text``, NFKC-normalised first (full-width ``＠`` counts), in order: ``"hey @Mossy_Dev,
    is ＠sam's pc new?"`` -> ``["mossy_dev", "sam"]``. ``@ name`` with one space counts; ``a@b.com`` not."""
    text = unicodedata.normalize("NFKC", text)
    names = (_mention_name(m) for m in _ANY_MENTION.finditer(text))
    return [name for name in names if name]


def _mention_name(m: re.Match[str]) -> str:
    """The name of one ``_ANY_MENTION`` match: lower case, without trailing punctuation or ``'s``."""
    return _POSSESSIVE.sub("", m.group(1).rstrip("'’-")).lower()


def _own(own_names: Iterable[str]) -> set[str]:
    """The streamer's and bot's names as mentions compare them: NFKC, lower case, no ``@``."""
    return {unicodedata.normalize("NFKC", name).strip().lstrip("@").lower() for name in own_names if name}


def addressed_to(text: str, own_names: Iterable[str]) -> str | None:
    """The first ``@mention`` anywhere in ``text`` (``mentions``) that is none of ``own_names`` (the bot's
    and the streamer's names; compared case-insensitively, as Twitch names are; ``@`` optional),
    lower-case and without its ``@``; ``None`` when the line mentions nobody or only them. A line that
    mentions another viewer ("hey @mossy_dev what keyboard do you use?") is theirs to answer: only a
    question whose every mention is of the streamer or the bot is asked of the channel."""
    own = _own(own_names)
    return next((name for name in mentions(text) if name not in own), None)


def matching_text(text: str, own_names: Iterable[str]) -> str:
    """``text`` as the FAQ embeds it: NFKC-normalised (full-width ``ｗｈａｔ ｇａｍｅ`` scored 0.15 against
    "what game is this") and without ``@mentions`` of the streamer or the bot (``own_names``), which
    only say whom the question is for ("@cozycoder what game is this?" scored 0.70, without the mention
    0.97). The text itself when nothing would be left."""
    text = unicodedata.normalize("NFKC", text)
    own = _own(own_names)
    kept = _ANY_MENTION.sub(lambda m: "" if _mention_name(m) in own else m.group(0), text)
    cleaned = " ".join(kept.split())
    cleaned = re.sub(r"\s+([,.;:!?])", r"\1", cleaned).lstrip(",.;:!- ").strip()
    return cleaned or text


def keyword_hit(text: str, keywords: list[str] | tuple[str, ...]) -> bool:
    """True when any keyword (case-insensitive, whole words, phrases allowed) occurs in ``text``."""
    low = " " + " ".join(_WORD.findall(text.lower())) + " "
    return any(f" {' '.join(_WORD.findall(k.lower()))} " in low for k in keywords if k.strip())


# words that carry no topic, left out of ``example_overlap`` (questions share them whatever they ask)
_STOPWORDS = frozenset(
    "a an the is are am was be do does did you your u ur i me my we it this that what which who when where "
    "how why to of in on at for with and or so any there here now right today ?".split()
)
_TOKEN = re.compile(r"[\w']+")  # words and numbers ("4070"), unlike ``_WORD``


def _content_words(text: str) -> frozenset[str]:
    return frozenset(w for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS)


_REQUEST_FILLERS = frozenset("pls plz please pleaseee thx ty bro chat again rn".split())


def covered(text: str, examples: Iterable[str]) -> bool:
    """Whether every content word of ``text`` (stop words and request fillers such as "pls" left out)
    occurs in ``examples``."""
    known: set[str] = set(_REQUEST_FILLERS)
    for example in examples:
        known |= _content_words(example)
    return _content_words(text) <= known


def example_overlap(text: str, examples: list[str] | tuple[str, ...]) -> float:
    """Highest Jaccard similarity (0..1) between the content words of ``text`` and of any of ``examples``
    (stop words left out); 0 when there are no examples."""
    words = _content_words(text)
    best = 0.0
    for example in examples:
        other = _content_words(example)
        union = words | other
        if union:
            best = max(best, len(words & other) / len(union))
    return best


_ASKER_ACTS = re.compile(r"\b(?:should|shall)\s+i\b|\bi\s+should\b")
"""Advice the viewer asks for themselves ("what game should I play?"). Wider patterns ("can I", "do I")
also refused 15 % of StackFAQ's real paraphrases of title-like entries; this one 1 in 1,249."""
_FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|i'm|im|i'd|i'll|i've)\b")


def about_the_asker(text: str, examples: Iterable[str]) -> bool:
    """True when ``text`` asks for advice for the viewer ("what game should I play after this?", which
    scored 0.68 against "what game is this") and no example question of the entry is in the first person:
    such an entry is about the stream, and its answer would not fit. An entry whose examples speak as the
    viewer ("should I use a capture card") takes these questions as usual."""
    low = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    if not _ASKER_ACTS.search(low):
        return False
    return not any(_FIRST_PERSON.search(q.lower().replace("\u2019", "'")) for q in examples)
