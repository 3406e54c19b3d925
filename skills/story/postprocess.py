"""Turning raw model output into a postable paragraph: clean it, cut it at a sentence end, detect loops
and copies of the story so far (the caller retries), and fit it to one chat message.

Small models loop ("and the fox ran and the fox ran ...") and copy their context; both are cheap to see
with word n-grams. The thresholds are defaults tuned by eye on Gemma 3 270M output (see docs/story.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "sir", "mt", "jr", "sr", "vs", "etc", "no", "ie", "eg"}
_STOPPERS = re.compile(r"\n\s*\n|\n-{3,}|\n(?:title|genre|story|listeners'? ideas|premise)\s*:|"
                       r"(?:opening|next|final) paragraph\s*:|<end_of_turn>|</s>|<eos>", re.IGNORECASE)
_LEADING_JUNK = re.compile(r"^[\s\-–—*•#>:;,.…_~|]+")
_WORD = re.compile(r"[\w']+")


_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\w) +(?=[.,!?;:…](?:\s|$))")


def clean_generation(raw: str) -> str:
    """First paragraph of ``raw`` with frame labels, special tokens and leading punctuation removed,
    whitespace collapsed and no space before closing punctuation (the tokenizer's ``"singing ."``).
    ``"  ... The fox ran .\\n\\nTitle: x"`` -> ``"The fox ran."``."""
    text = _STOPPERS.split(raw or "", maxsplit=1)[0]
    text = _LEADING_JUNK.sub("", text)
    return _SPACE_BEFORE_PUNCT.sub("", " ".join(text.split()))


def balance_quotes(text: str) -> str:
    """``text`` without quote marks that close or open nothing: an odd straight ``"`` (the last one), and
    curly ``”``/``“`` beyond their partners' count (the last ones). The cut after the last sentence
    often leaves ``...by ourselves?"`` with its opening quote in the part that was cut."""
    if text.count('"') % 2:
        i = text.rfind('"')
        text = text[:i] + text[i + 1:]
    for extra, partner in (("”", "“"), ("“", "”")):
        while text.count(extra) > text.count(partner):
            i = text.rfind(extra)
            text = text[:i] + text[i + 1:]
    return " ".join(text.split())


def _is_abbreviation(text: str, end: int) -> bool:
    """True when the period ending at ``end`` closes an abbreviation or an initial (``Mr.``, ``J.``)."""
    match = re.search(r"(\w+)\.$", text[:end])
    if not match:
        return False
    word = match.group(1)
    return word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isalpha() and word.isupper())


def sentence_ends(text: str) -> list[int]:
    """Character offsets just after each sentence end (``.``, ``!``, ``?``, ``…`` plus closing quotes or
    brackets, followed by whitespace or the end), skipping abbreviations and initials."""
    return [m.end() for m in _SENTENCE_END.finditer(text) if not _is_abbreviation(text, m.end())]


def cut_at_sentence_end(text: str, *, min_chars: int = 1) -> tuple[str, bool]:
    """``(text cut after its last complete sentence, True)``, or ``(text, False)`` when no sentence of at
    least ``min_chars`` characters ends in it (the caller may retry or fit with an ellipsis)."""
    text = text.strip()
    ends = [e for e in sentence_ends(text) if e >= min_chars]
    if not ends:
        return text, False
    return text[: ends[-1]].strip(), True


def words_of(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits, apostrophes)."""
    return [w.lower() for w in _WORD.findall(text)]


def ngrams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """Consecutive ``n``-word tuples; empty when ``len(words) < n``."""
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def find_loop(text: str, *, n: int = 4, max_repeats: int = 1, max_word_run: int = 3) -> str | None:
    """The repeated phrase when ``text`` loops, else ``None``.

    A loop is an ``n``-gram that occurs more than ``max_repeats`` times, or the same word more than
    ``max_word_run`` times in a row (``"no no no no"``). Defaults flag a 4-word phrase said twice, which a
    60-token paragraph almost never needs (cf. the repetition checks of Holtzman et al. 2020,
    "The Curious Case of Neural Text Degeneration").
    """
    words = words_of(text)
    run = 1
    for prev, cur in zip(words, words[1:], strict=False):
        run = run + 1 if cur == prev else 1
        if run > max_word_run:
            return cur
    counts = Counter(ngrams(words, n))
    for gram, count in counts.most_common(1):
        if count > max_repeats:
            return " ".join(gram)
    return None


MAX_WORD_CHARS = 64
"""A viewer line's longest word: longer than German's longest dictionary words (63 letters)."""
MAX_LETTER_RUN = 30
"""Characters of one word that repeat one letter or chunk (``xxx...``, ``hahaha...``) before it is spam."""
MAX_WORD_COPIES = 7
"""A word or phrase said this many times back to back is still a story ("no, no, no, no!")."""
MAX_PERIOD = 40  # the longest chunk looked for, in words (or characters within a word)
_SPAM_TOKEN = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
                         r"\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\u2460-\u27bf\U0001f000-\U0001faff]"
                         r"|[^\W_]+(?:'[^\W_]+)*")
"""A character of a script written without spaces (CJK, Thai, Lao, Khmer, Burmese) or an emoji, symbol or
circled letter alone (29 x "😀" passed: trial 27), else a word: letters and digits, split at spaces,
punctuation, dashes, ellipses and hyphens."""


def _longest_repeat(seq: Sequence[str]) -> tuple[int, int]:
    """``(length, copies)`` of the longest stretch of ``seq`` that is one item or chunk (of up to
    ``MAX_PERIOD`` items) back to back (``"ha ha ha ha"``: 4 items, 4 copies); ``(0, 0)`` when none."""
    best = (0, 0)
    for period in range(1, min(len(seq) // 2, MAX_PERIOD) + 1):
        run = 0
        for i in range(len(seq) - period + 1):
            run = run + 1 if i + period < len(seq) and seq[i] == seq[i + period] else 0
            if run and run + period > best[0] and (run + period) // period >= 2:
                best = (run + period, (run + period) // period)
    return best


def _mashed(word: str) -> bool:
    """True for a Latin-letter word of 12+ letters with at most 1 vowel in 5 (``"asdfghjklsdf"``,
    ``"asdfghjklqwerty"``)."""
    letters = [unicodedata.normalize("NFD", c)[0].lower() for c in word if c.isalpha()]
    if len(letters) < 12 or not all("a" <= c <= "z" for c in letters):
        return False
    return sum(c in "aeiouy" for c in letters) * 5 <= len(letters)


def spam_reason(text: str) -> str | None:
    """Why a viewer line is spam rather than a story line, or ``None``. Words are split at spaces,
    punctuation, dashes and hyphens; a character of a script written without spaces (CJK, Thai) counts
    as a word of its own, so such a sentence is never one long word. Spam is a word that repeats one
    letter or chunk over ``MAX_LETTER_RUN`` characters (``"xxx...x"``, ``"hahaha..."``), a word over
    ``MAX_WORD_CHARS``, a Latin word of 12+ letters with at most 20% vowels (keyboard mashing), or a word or
    phrase said back to back more than ``MAX_WORD_COPIES`` times, or 3+ times when that fills 8+ words and
    3/4 of the line (``"a a a ..."``, a long phrase looped). ``"ha ha ha ha said the dragon"`` stays."""
    tokens = [t.lower() for t in _SPAM_TOKEN.findall(text)]
    for word in tokens:
        if not word.isdigit() and _longest_repeat(word)[0] >= MAX_LETTER_RUN:  # 10^18 gold coins is no spam
            return "that line repeats the same letters over and over"
    longest = max((len(word) for word in tokens), default=0)
    if longest > MAX_WORD_CHARS:
        return f"that line has a {longest}-letter word"
    if any(_mashed(word) for word in tokens):
        return "that line looks like keyboard mashing"
    length, copies = _longest_repeat(tokens)
    if copies > MAX_WORD_COPIES or (copies >= 3 and length >= 8 and length * 4 >= len(tokens) * 3):
        return "that line says the same thing over and over"
    return None


def copy_overlap(text: str, story: str, *, n: int = 5) -> float:
    """Share (0..1) of ``text``'s word ``n``-grams that already occur in ``story``; 0 for short texts."""
    grams = ngrams(words_of(text), n)
    if not grams:
        return 0.0
    seen = set(ngrams(words_of(story), n))
    return sum(g in seen for g in grams) / len(grams)


def plain_words(text: str) -> str:
    """``text`` as its lower-case words joined by one space (``words_of``): for comparing word for word,
    case and punctuation ignored."""
    return " ".join(words_of(text))


def drop_copied_sentences(text: str, story: str) -> str:
    """``text`` without the sentences (of 4+ words) that appear word for word in ``story``."""
    story_norm = plain_words(story)
    kept = []
    for sentence in sentences(text):
        norm = plain_words(sentence)
        if len(norm.split()) >= 4 and norm in story_norm:
            continue
        kept.append(sentence)
    return " ".join(kept)


def sentences(text: str) -> list[str]:
    """``text`` cut at its sentence ends (``sentence_ends``), each stripped, empty ones dropped."""
    out, start = [], 0
    for end in [*sentence_ends(text), len(text)]:
        if text[start:end].strip():
            out.append(text[start:end].strip())
        start = end
    return out


def drop_sentences_quoting(text: str, quotes: Sequence[str]) -> str:
    """``text`` without its sentences that repeat one of ``quotes`` (a viewer's lines, compared word for
    word, case and punctuation ignored): a sentence holding a quoted sentence of 2+ words, or one of 2+
    words that a quote holds. For ``!forgetme``: the bot leads a paragraph with the viewer's line."""
    quoted = [plain_words(q) for quote in quotes for q in sentences(quote)]
    quoted = [q for q in quoted if len(q.split()) >= 2]
    whole = [plain_words(q) for q in quotes]
    kept = []
    for sentence in sentences(text):
        norm = plain_words(sentence)
        padded = f" {norm} "
        if any(f" {q} " in padded for q in quoted) or (
                len(norm.split()) >= 2 and any(f" {norm} " in f" {w} " for w in whole)):
            continue
        kept.append(sentence)
    return " ".join(kept)


def drop_sentences_naming(text: str, names: Sequence[str]) -> str:
    """``text`` without its sentences that hold one of ``names`` as a word (case and punctuation ignored;
    names of fewer than 3 characters are not looked for). For ``!forgetme``: the model retells a viewer's
    lines in its own words, name included ("Moe took off his helmet..."), which ``drop_sentences_quoting``
    does not see."""
    wanted = {plain_words(n) for n in names}
    wanted = {n for n in wanted if len(n) >= 3}
    if not wanted:
        return text
    return " ".join(s for s in sentences(text)
                    if not any(f" {n} " in f" {plain_words(s)} " for n in wanted))


def fit_message(text: str, max_len: int, *, prefix: str = "") -> str:
    """``prefix + text`` in at most ``max_len`` characters: whole sentences when they fit, else whole
    words and ``"…"``. Raises ``ValueError`` when ``max_len`` cannot hold the prefix and one character."""
    if max_len < len(prefix) + 2:
        raise ValueError(f"max_len {max_len} too small for prefix {prefix!r}")
    text = " ".join(text.split())
    if len(prefix) + len(text) <= max_len:
        return prefix + text
    room = max_len - len(prefix)
    ends = [e for e in sentence_ends(text) if e <= room]
    if ends and ends[-1] >= room // 3:
        return prefix + text[: ends[-1]].strip()
    cut = text[: room - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return prefix + cut.rstrip(" ,;:-–—") + "…"


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (all of it when it has no sentence end)."""
    ends = sentence_ends(text)
    return text[: ends[0]].strip() if ends else text.strip()


def recap(title: str, paragraphs: Sequence[str], max_len: int, *, prefix: str = "📖 ") -> str:
    """One chat message summing up a story: ``"📖 Title: opening sentence … latest text"``, fitted to
    ``max_len`` (the latest text is kept from its end when space is short)."""
    parts = [p.strip() for p in paragraphs if p and p.strip()]
    head = f"{prefix}{title}: "
    if not parts:
        return fit_message("the story has not started yet.", max_len, prefix=head)
    whole = " ".join(parts)
    if len(head) + len(whole) <= max_len:
        return head + whole
    opening = first_sentence(parts[0])
    if len(parts) == 1:
        return fit_message(parts[0], max_len, prefix=head)
    latest = " ".join(parts[-2:]) if len(parts) > 2 else parts[-1]
    room = max_len - len(head) - len(opening) - 3
    if room < 40:
        return fit_message(whole, max_len, prefix=head)
    if len(latest) > room:
        starts = [0, *sentence_ends(latest)]
        tail = next((latest[s:].strip() for s in starts if len(latest[s:].strip()) <= room), None)
        if tail is None:
            tail = "…" + latest[-(room - 1) :].split(" ", 1)[-1]
        latest = tail
    return f"{head}{opening} … {latest}"[:max_len]
