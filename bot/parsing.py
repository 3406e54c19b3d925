"""Chat command parsing: prefix, command name (one or two words), quoted arguments.

Pure functions, no I/O. Work is bounded: input longer than ``MAX_COMMAND_CHARS`` is cut before parsing,
and every step is a single linear pass, so a 10,000-character message costs microseconds, not seconds.

What is cleaned before parsing (``clean_text``):

- characters that are invisible and carry no meaning in chat: zero-width space U+200B, word joiner
  U+2060, BOM U+FEFF, Mongolian vowel separator U+180E, soft hyphen U+00AD, bidirectional controls
  U+202A-U+202E / U+2066-U+2069 / U+200E-U+200F (used to spoof text), and the tag block U+E0000-U+E007F
  that Twitch clients (Chatterino, 7TV, BTTV) append to defeat Twitch's duplicate-message check.
  Complete subdivision flag sequences (U+1F3F4, tag letters, U+E007F: England's flag) are kept;
- ZWJ U+200D and ZWNJ U+200C only where they touch whitespace or the ends of the text (inside a word
  they build emoji sequences and Indic/Persian words, so they stay);
- C0/C1 control characters (newlines, tabs, escapes, NUL) become spaces;
- the result is NFC-normalised. The command name itself is NFKC-normalised and lower-cased, so a
  full-width ``！ＨＥＬＰ`` typed with a CJK input method works like ``!help``.

Arguments follow discord.py's rules rather than POSIX shell rules, because apostrophes are everywhere in
chat (``!ask what's up``): a quote (``"``, ``'``, or the typographic pairs ``“”`` ``‘’`` ``«»`` that phone
keyboards insert) only opens a group at the start of an argument and only closes before whitespace or
the end. If any group is left open, the whole argument string falls back to a plain whitespace split.
There are no backslash escapes. (Source: discord.py ``ext.commands.view.StringView``, whose quote table
this follows.)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass

from bot.defuse import BLANK_LETTERS

MAX_COMMAND_CHARS = 10_000
"""Longest input parsed; the rest is cut (Discord's longest message is 4,000 characters, Twitch's 500)."""

MAX_ARGS = 512
"""At most this many arguments are produced; the remainder stays visible in ``rest``."""

_INVISIBLE = "\u00ad\u180e\u200b\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff" + "".join(
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
# group 1 keeps a whole subdivision flag (U+1F3F4, tag letters, U+E007F CANCEL TAG); any other
# invisible or tag character matches without a group and is removed
_INVISIBLE_RE = re.compile(
    "(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)"
    "|[" + re.escape(_INVISIBLE) + "\U000e0000-\U000e007f]"
)
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]+")
_JOINER_EDGE_RE = re.compile(r"(?:(?<=\s)|^)[\u200c\u200d]+|[\u200c\u200d]+(?=\s|$)")
# Characters stripped from the left before the prefix check (fast path, no regex).
_LEADING_JUNK = " \t\r\n\x0b\x0c" + _INVISIBLE + "\u200c\u200d\U000e0000"

_QUOTES = {
    '"': '"',
    "'": "'",
    "\u201c": "\u201d",  # “ ”
    "\u201e": "\u201d",  # „ ”
    "\u2018": "\u2019",  # ‘ ’
    "\u00ab": "\u00bb",  # « »
    "\u300c": "\u300d",  # 「 」
    "\uff02": "\uff02",  # full-width "
}


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A recognised command.

    ``name``: the declared name matched, lower-case, one or two words (``"faq add"``).
    ``args``: arguments split as described in the module docstring. ``rest``: the cleaned text after
    the name, stripped (may be ``""``).
    """

    name: str
    args: tuple[str, ...]
    rest: str


def _keep_flags(match: re.Match[str]) -> str:
    return match.group(1) or ""


def clean_text(text: str, *, max_chars: int = MAX_COMMAND_CHARS) -> str:
    """Remove invisible/control characters as the module docstring describes, NFC-normalise, strip.

    ``text`` longer than ``max_chars`` is cut first (bounded work). Never raises for any ``str``;
    non-``str`` input raises ``TypeError``.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    text = text[:max_chars]
    if text.isascii():
        # the common case: only control characters can be wrong
        return _CONTROL_RE.sub(" ", text).strip()
    text = _INVISIBLE_RE.sub(_keep_flags, text)
    text = _CONTROL_RE.sub(" ", text)
    text = _JOINER_EDGE_RE.sub("", text)
    # lone surrogates cannot be normalised or encoded; drop them
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        text = "".join(ch for ch in text if not "\ud800" <= ch <= "\udfff")
    return unicodedata.normalize("NFC", text).strip()


def normalize_name(word: str) -> str:
    """Command-name form of one word: NFKC, lower-case, with format characters (category Cf), combining
    marks (Mn: the grapheme joiner U+034F) and blank-looking letters (``BLANK_LETTERS``: the braille blank and
    Hangul fillers that chat tools glue on to get round Twitch's duplicate check) removed: ``!lurk⠀`` is
    ``!lurk``."""
    word = unicodedata.normalize("NFKC", word)
    if not word.isascii():
        word = "".join(ch for ch in word
                       if ch not in BLANK_LETTERS and unicodedata.category(ch) not in ("Cf", "Mn"))
    return word.lower()


def _fullwidth(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if 0x21 <= ord(ch) <= 0x7E else ch


class CommandParser:
    """Recognise ``<prefix><name> [sub] args...`` for a fixed set of declared names.

    ``names``: declared lower-case names and aliases, one or two words. Two-word names are tried first
    (longest match), so with ``faq`` and ``faq add`` declared, ``!faq add x`` is ``faq add`` and
    ``!faq x`` is ``faq``. The prefix must touch the name (``! help`` is not a command, as on Nightbot).

    Cost: a message that does not start with the prefix costs one ``str.lstrip`` and one comparison.
    """

    def __init__(self, names: Container[str]) -> None:
        self._names = names

    def parse(self, text: str, prefix: str = "!") -> ParsedCommand | None:
        """Return the command in ``text`` or ``None`` (no prefix, unknown name, empty name, bad input)."""
        if not isinstance(text, str) or not prefix:
            return None
        head = text.lstrip(_LEADING_JUNK)
        if not head:
            return None
        first = head[0]
        if first != prefix[0] and first != _fullwidth(prefix[0]):
            return None
        return parse_command(text, prefix, self._names)


_WORD_RE = re.compile(r"\S+")


def parse_command(text: str, prefix: str, names: Container[str]) -> ParsedCommand | None:
    """Parse ``text`` as a command among ``names`` (see ``CommandParser``); ``None`` when it is not one."""
    cleaned = clean_text(text)
    words = _WORD_RE.finditer(cleaned)
    first = next(words, None)
    if first is None:
        return None
    token = normalize_name(first.group())
    norm_prefix = normalize_name(prefix)
    if not token.startswith(norm_prefix):
        return None
    name = token[len(norm_prefix):]
    if not name:
        return None
    end = first.end()
    second = next(words, None)
    if second is not None:
        two = f"{name} {normalize_name(second.group())}"
        if two in names:
            rest = cleaned[second.end():].strip()
            return ParsedCommand(two, split_args(rest), rest)
    if name not in names:
        return None
    rest = cleaned[end:].strip()
    return ParsedCommand(name, split_args(rest), rest)


def split_args(rest: str, *, max_args: int = MAX_ARGS) -> tuple[str, ...]:
    """Split an argument string (see module docstring for the quoting rules).

    ``split_args('add "best game" 5')`` -> ``("add", "best game", "5")``;
    ``split_args('say "oops')`` -> ``("say", '"oops')``. Linear time, never raises.
    """
    out: list[str] = []
    i, n = 0, len(rest)
    while i < n and len(out) < max_args:
        ch = rest[i]
        if ch.isspace():
            i += 1
            continue
        close = _QUOTES.get(ch)
        if close is not None:
            j = i + 1
            while True:
                j = rest.find(close, j)
                if j < 0:
                    return tuple(rest.split()[:max_args])  # unbalanced: plain whitespace split
                if j + 1 == n or rest[j + 1].isspace():
                    break
                j += 1
            out.append(rest[i + 1 : j])
            i = j + 1
            continue
        j = i
        while j < n and not rest[j].isspace():
            j += 1
        out.append(rest[i:j])
        i = j
    return tuple(out)
