"""FAQ entries: the config model, ``!faq add`` parsing and validation, and answer templating.

An entry is several example questions, one answer and optional keywords. Answers may use ``{game}``,
``{streamer}``, ``{uptime}``, ``{title}`` and ``{channel}`` (filled from ``ctx.channel_info``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from skills.templating import CHANNEL_VARIABLES, check_template, command_start, refuse_token, render_template

VARIABLES = CHANNEL_VARIABLES
MAX_QUESTIONS = 20
MAX_QUESTION_CHARS = 200
MAX_ANSWER_CHARS = 400
MAX_KEYWORDS = 20


def check_answer(answer: str) -> str:
    """Validate an answer template; returns it stripped. Raises ``ValueError`` with the reason, also for
    an answer starting with ``/``, ``.`` or ``!`` (``command_start``: the rule of ``!cmd add``; the two
    add commands disagreed, and ``!faq add "why ban?" .ban everyone`` was accepted)."""
    answer = check_template(answer, known=VARIABLES, max_chars=MAX_ANSWER_CHARS)
    reason = command_start(answer)
    if reason is not None:
        raise ValueError(f"the answer {reason}")
    return answer


class FaqEntry(BaseModel):
    """``[[skills.faq.entries]]``: ``id`` (short name, unique), ``questions`` (1-20 examples),
    ``answer`` (template, <= 400 characters), ``keywords`` (optional; when set, at least one must occur in
    the message unless it is a near-verbatim example), ``not_questions`` (optional, 0-20: near misses that
    must not get this answer; a message closer to one of them than to every example is not answered with
    this entry, ``skills.faq.matcher``)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    id: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    questions: list[str] = Field(min_length=1, max_length=MAX_QUESTIONS)
    answer: str
    keywords: list[str] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    not_questions: list[str] = Field(default_factory=list, max_length=MAX_QUESTIONS)

    @field_validator("questions", "not_questions")
    @classmethod
    def _questions(cls, value: list[str], info: ValidationInfo) -> list[str]:
        what = "an example question" if info.field_name == "questions" else "a not_question"
        out = [q.strip() for q in value]
        if any(not q for q in out):
            raise ValueError(f"{what} is empty")
        if any(len(q) > MAX_QUESTION_CHARS for q in out):
            raise ValueError(f"{what.split(' ', 1)[1]}s are at most {MAX_QUESTION_CHARS} characters")
        return out

    @field_validator("not_questions")
    @classmethod
    def _not_an_example(cls, value: list[str], info: ValidationInfo) -> list[str]:
        """Checked at the ``not_questions`` key (its line), after ``_questions`` trimmed the items."""
        for i, q in enumerate(value):
            clash = not_question_clash(q, info.data.get("questions", []), value[:i])
            if clash == "example":
                raise ValueError(f"{q!r} is also an example question of this entry")
            if clash == "twice":
                raise ValueError(f"{q!r} is listed twice")
        return value

    @field_validator("answer")
    @classmethod
    def _answer(cls, value: str) -> str:
        return check_answer(value)


def not_question_clash(
    question: str, examples: Iterable[str], not_questions: Iterable[str]
) -> Literal["example", "twice"] | None:
    """Why ``question`` cannot be one more not_question of an entry, compared as ``normalise_question``
    does: ``"example"`` when it reads as one of the entry's ``examples``, ``"twice"`` when as one of its
    ``not_questions`` already; ``None`` when it can (the config's validator and ``!faq not`` both ask)."""
    key = normalise_question(question)
    if key in {normalise_question(q) for q in examples}:
        return "example"
    if key in {normalise_question(q) for q in not_questions}:
        return "twice"
    return None


def index_texts(entries: Sequence[Any]) -> tuple[list[str], list[int], list[int]]:
    """What to embed for an entry set (``matcher.index_from``): every example question, then every "not"
    question; the entry index of each example and of each "not" question."""
    texts = [q for e in entries for q in e.questions]
    owners = [i for i, e in enumerate(entries) for _ in e.questions]
    nots = [getattr(e, "not_questions", ()) for e in entries]  # entries of other shapes have none
    texts += [q for qs in nots for q in qs]
    return texts, owners, [i for i, qs in enumerate(nots) for _ in qs]


def normalise_question(text: str) -> str:
    """Lower-case words only (for duplicate detection): ``"What game?!"`` -> ``"what game"``; NFKC first
    (full-width letters fold, as the matcher folds them) and apostrophes dropped (``what's`` = ``whats``)."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("'", "").replace("\u2019", "")
    return " ".join(re.findall(r"[a-z0-9]+", folded))


_ID_SKIP = frozenset("""a an the is are was were be do does did can could will would should i you your
yours we our they he she it this that these those what whats which who whom how when where why to of in
on for at with and or me my mine there here any some""".split())


def slug(text: str, taken: Iterable[str] = ()) -> str:
    """A short unique id from a question's first three content words: ``"What game is this?"`` ->
    ``"game"``, ``"what is the wifi password"`` -> ``"wifi-password"`` (``-2`` if taken). Ids of question
    words ("what-is-the", "what-is-the-2" ...) told moderators nothing."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    content = [w for w in words if w not in _ID_SKIP] or words
    base = "-".join(content[:3])[:30] or "entry"
    taken = set(taken)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A parsed ``!faq add``: questions, answer (validated) and keywords."""

    questions: list[str]
    answer: str
    keywords: list[str]


USAGE = 'usage: !faq add "question 1|question 2" answer'
_QUOTES = {'"': '"', "'": "'", "“": "”“", "„": "“”", "‘": "’‘", "‚": "‘’", "«": "»", "»": "«"}


def parse_add(rest: str, existing: Sequence[FaqEntry], *, max_entries: int = 100) -> NewEntry:
    """Parse and validate ``!faq add "q1|q2" answer [keywords: k1, k2]``.

    The first argument holds ``|``-separated example questions, in quotes (straight, or a phone's curly
    ``“…”``/``‘…’``, or ``«…»``); without quotes the questions run to the first ``?``
    (``!faq add what is love? baby don't hurt me``). The rest of the line is the answer; an optional
    trailing ``keywords: a, b`` (or ``[keywords: a, b]``) sets keywords. Raises ``ValueError`` with a
    message fit for chat: no quotes and no ``?`` (the first word used to become the whole question), empty,
    too long, too many, unknown variable, an answer starting with ``/ . !``, a token in the answer,
    questions or keywords (``refuse_token``), or a duplicate of a question of another entry.
    """
    rest = rest.strip()
    if not rest:
        raise ValueError(USAGE)
    close = _QUOTES.get(rest[0])
    if close is not None:
        end = min((i for i in (rest.find(c, 1) for c in close) if i > 0), default=-1)
        if end < 0:
            raise ValueError("missing closing quote after the questions")
        raw_q, answer = rest[1:end], rest[end + 1 :]
    elif "?" in rest:
        end = rest.index("?") + 1
        raw_q, answer = rest[:end], rest[end:]
        if "|" in answer:  # !faq add lunch When is lunch? | noon: which part are the questions?
            raise ValueError(f"put the questions in quotes; {USAGE}")
    else:
        raise ValueError(f"put the questions in quotes or end them with '?'; {USAGE}")
    keywords: list[str] = []
    # "keywords: a, b" or, as the usage line shows it, "[keywords: a, b]" (the bracket stayed in the answer)
    m = re.search(r"\s*(\[\s*)?\bkeywords:\s*(.*?)\s*(?(1)\]|)\s*$", answer, flags=re.I)
    if m:
        keywords = [k.strip() for k in m.group(2).split(",") if k.strip()]
        answer = answer[: m.start()]
    questions = [q.strip() for q in raw_q.split("|") if q.strip()]
    if not questions:
        raise ValueError("give at least one example question")
    if len(questions) > MAX_QUESTIONS:
        raise ValueError(f"at most {MAX_QUESTIONS} example questions")
    for q in questions:
        if len(q) > MAX_QUESTION_CHARS:
            raise ValueError(f"example questions are at most {MAX_QUESTION_CHARS} characters")
    if len(keywords) > MAX_KEYWORDS:
        raise ValueError(f"at most {MAX_KEYWORDS} keywords")
    answer = check_answer(answer)
    for text in (answer, *questions, *keywords):
        refuse_token(text, "the answer" if text is answer else "a question or keyword")
    if len(existing) >= max_entries:
        raise ValueError(f"this channel already has {len(existing)} FAQ entries (max {max_entries})")
    taken = question_owner(questions, existing)
    if taken is not None:
        raise ValueError(f"{taken[2]!r} is already a question of entry '{taken[0]}'")
    if len({normalise_question(q) for q in questions}) < len(questions):
        raise ValueError("the same question is listed twice")
    return NewEntry(questions, answer, keywords)


def question_owner(questions: Iterable[str], entries: Iterable[Any]) -> tuple[str, str, str] | None:
    """The first of ``questions`` that one of ``entries`` already has as an example (compared by
    ``normalise_question``): ``(entry id, the entry's wording, the question as given)``; ``None``."""
    seen = {normalise_question(q): (e.id, q) for e in entries for q in e.questions}
    return next(((*seen[k], q) for q in questions if (k := normalise_question(q)) in seen), None)


def render_answer(template: str, info: Any) -> str | None:
    """An FAQ answer filled from a ``ChannelInfo`` (``skills.templating.render_template``): ``None`` when
    it needs ``{game}`` and none is known, or when nothing is left once filled (``"{title}"`` with no
    title known was posted as a bare ``@viewer``). Never raises."""
    text = render_template(template, info)
    return text if text is not None and text.strip() else None
