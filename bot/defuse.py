"""Make outgoing text safe to post as plain chat: it is never read as a chat command, and never becomes two
lines on a platform that has no line breaks.

Whatever a reply contains (a streamer's template, a game category, a viewer's story line, a split
point), Twitch chat clients and IRC read a message whose first visible character is ``/`` or ``.`` as a
chat command (``/ban``, ``.timeout``; Twitch documents the ``/`` form, the ``.`` form is the legacy IRC
one). ``defuse`` swaps that one character for a look-alike that is not a command character (``/`` ->
U+2215 DIVISION SLASH, ``.`` -> U+2024 ONE DOT LEADER), so ``.hack//G.U.`` still reads as itself. Leading
whitespace and invisible format characters (category Cf, e.g. U+200B) are looked through, since clients
trim or ignore them. On single-line platforms control characters (newlines, tabs, NUL) become spaces
first: a raw newline would start a second message line.
"""

from __future__ import annotations

import re
import unicodedata

COMMAND_CHARS = {"/": "\u2215", ".": "\u2024", "\uff0f": "\u2215", "\uff0e": "\u2024"}  # also full-width
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def single_line(text: str) -> str:
    """Control characters (newlines, tabs, NUL...) as single spaces."""
    return _CONTROL.sub(" ", text)


def defuse(text: str) -> str:
    """``text`` with a leading command character (after whitespace and invisible characters) replaced by
    its look-alike (see module docstring); other text unchanged. Never raises for a ``str``."""
    for i, ch in enumerate(text):
        if ch.isspace() or unicodedata.category(ch) == "Cf":
            continue
        swap = COMMAND_CHARS.get(ch)
        return text if swap is None else text[:i] + swap + text[i + 1:]
    return text
