"""Make outgoing text safe to post as plain chat: it is never read as a chat command or as another bot's
command, and never becomes two lines on a platform that has no line breaks.

Whatever a reply contains (a streamer's template, a game category, a viewer's story line, a split
point), Twitch chat clients and IRC read a message whose first visible character is ``/`` or ``.`` as a
chat command (``/ban``, ``.timeout``; Twitch documents the ``/`` form, the ``.`` form is the legacy IRC
one). ``defuse`` swaps that one character for a look-alike that is not a command character (``/`` ->
U+2215 DIVISION SLASH, ``.`` -> U+2024 ONE DOT LEADER), so ``.hack//G.U.`` still reads as itself.

A message starting with ``!`` is a command to the *other* bots in the channel: StreamElements, Nightbot or
Fossabot, often with moderator rights, would run ``!cmd add pwn hi`` if Chatcast said it. So a leading
``!``, or a character that is or may be read as one (``BANG_CHARS``: full-width ``！``, small ``﹗`` and
vertical ``︕``, which NFKC turns into ``!``; ``ǃ`` U+01C3 and ``ⵑ`` U+2D51, which look like it), is
swapped for ``❕`` U+2755 WHITE EXCLAMATION MARK ORNAMENT: still an exclamation mark to a reader, but no
normalisation makes it ``!``. Swapping one character keeps the length, which matters: the outbox has
already fitted each part to the platform's limit.

Leading whitespace and invisible characters (``invisible``: format characters such as U+200B, controls,
combining marks, blank-looking letters such as U+3164 and the braille blank U+2800) are looked through,
since clients and bots trim or ignore them. On single-line platforms control characters (newlines, tabs,
NUL) become spaces first: a raw newline would start a second message line.
"""

from __future__ import annotations

import re
import unicodedata

SAFE_BANG = "\u2755"  # ❕: reads as "!", is not "!" under NFKC or Unicode's confusables
BANG_CHARS = frozenset("!\uff01\ufe57\ufe15\u01c3\u2d51")
"""``!`` and what a bot may read as it: ！ (U+FF01), ﹗ (U+FE57), ︕ (U+FE15), ǃ (U+01C3), ⵑ (U+2D51). Not
Spanish ``¡`` ("¡Hola!"): no normalisation makes it ``!`` and Spanish replies start with it."""
COMMAND_CHARS = {
    "/": "\u2215", ".": "\u2024", "\uff0f": "\u2215", "\uff0e": "\u2024",  # also full-width
    **dict.fromkeys(BANG_CHARS, SAFE_BANG),
}
"""Each character a message must not start with -> the look-alike ``defuse`` puts in its place."""
BLANK_LETTERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")
"""Characters that show nothing (Hangul fillers, the braille blank): a line starting with them still reads
as starting with what follows."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Mn", "Me"})


def single_line(text: str) -> str:
    """Control characters (newlines, tabs, NUL...) as single spaces."""
    return _CONTROL.sub(" ", text)


def invisible(char: str) -> bool:
    """True for one character a reader or a bot does not see at the start of a line: whitespace, format
    and control characters, combining marks, blank-looking letters (``BLANK_LETTERS``)."""
    return char.isspace() or char in BLANK_LETTERS or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def first_visible(text: str) -> int | None:
    """Index of the first character of ``text`` that is not ``invisible``; ``None`` when there is none."""
    for i, char in enumerate(text):
        if not invisible(char):
            return i
    return None


def defuse(text: str) -> str:
    """``text`` with a leading command character (``COMMAND_CHARS``, after whitespace and invisible
    characters) replaced by its look-alike (see module docstring); other text unchanged. The length never
    changes. Never raises for a ``str``."""
    i = first_visible(text)
    if i is None:
        return text
    swap = COMMAND_CHARS.get(text[i])
    return text if swap is None else text[:i] + swap + text[i + 1:]
