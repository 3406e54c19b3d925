"""Fit a reply into a platform's message length: split on word boundaries, or truncate with an ellipsis.

Lengths are counted in code points (Python ``len``). (A platform that counted UTF-16 units would see an
emoji outside the BMP as 2; an adapter unsure of its platform's unit can declare a smaller
``max_message_len``.) A Python ``str`` cannot be cut inside a UTF-8 multi-byte sequence, so the
remaining hazards are:

- **grapheme clusters** (what a viewer sees as one character: an emoji with skin tone or ZWJ sequence
  such as a family, a flag, a letter with combining accents). Cuts are made only at extended grapheme
  cluster boundaries (Unicode UAX #29, via the ``regex`` module's ``\\X``);
- **words and emote names** (``PogChamp``, ``catJAM``): parts break at whitespace, preferring a newline,
  and only a single word longer than the limit is hard-split (at grapheme boundaries).

A single grapheme cluster longer than the limit (hundreds of stacked combining marks, "zalgo") is cut
by code point: nothing else would fit.
"""

from __future__ import annotations

import re
from typing import Literal

try:  # ships with transformers; the fallback below handles the common emoji/combining cases
    import regex as _regex

    _GRAPHEME = _regex.compile(r"\X")
except ImportError:  # pragma: no cover - exercised only without the regex package
    _regex = None
    _GRAPHEME = re.compile(
        r"(?:[\U0001F1E6-\U0001F1FF]{2})"  # regional-indicator flag pair
        r"|(?:.(?:[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f"
        r"\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F]|\u200d.)*)",
        re.DOTALL,
    )

Overflow = Literal["split", "truncate"]
ELLIPSIS = "\u2026"

_WS = re.compile(r"\s")


def graphemes(text: str) -> list[str]:
    """``text`` as a list of extended grapheme clusters (``"".join(graphemes(t)) == t``)."""
    return _GRAPHEME.findall(text)


def _grapheme_cut(text: str, limit: int) -> int:
    """Largest index ``<= limit`` that is a grapheme boundary of ``text`` (``>= 1`` when ``text``)."""
    if len(text) <= limit:
        return len(text)
    end = 0
    for match in _GRAPHEME.finditer(text, 0, min(len(text), limit + 64)):
        if match.end() > limit:
            break
        end = match.end()
    if end == 0:  # one cluster longer than the limit: cut by code point (see module docstring)
        end = max(1, limit)
    return end


def _word_cut(text: str, limit: int) -> tuple[int, int] | None:
    """Where to cut ``text`` at whitespace so the head fits ``limit``: ``(head_end, tail_start)``.

    Prefers the last newline in the second half, else the last whitespace, within
    ``text[:limit + 1]`` (the whitespace itself may sit at ``limit``).
    ``None`` when there is no whitespace to cut at.
    """
    window = text[: limit + 1]
    cut = window.rfind("\n")
    if cut < limit // 2:  # a newline that leaves a short part is not worth preferring
        cut = -1
        for match in _WS.finditer(window):
            if match.start() > 0:
                cut = match.start()
    if cut <= 0:
        return None
    head_end = len(text[:cut].rstrip())
    tail_start = cut
    while tail_start < len(text) and text[tail_start].isspace():
        tail_start += 1
    if head_end == 0:
        return None
    return head_end, tail_start


def split_message(text: str, max_len: int, *, max_parts: int | None = None) -> list[str]:
    """Split ``text`` into parts of at most ``max_len`` code points, on word boundaries.

    Whitespace at the cut is dropped; a word longer than ``max_len`` is hard-split at grapheme
    boundaries. With ``max_parts``, the last part kept ends with an ellipsis and the rest is dropped.
    Returns ``[]`` for blank text. Raises ``ValueError`` when ``max_len < 2`` or ``max_parts < 1``.
    """
    if max_len < 2:
        raise ValueError(f"max_len must be >= 2, got {max_len}")
    if max_parts is not None and max_parts < 1:
        raise ValueError(f"max_parts must be >= 1, got {max_parts}")
    rest = text.strip()
    parts: list[str] = []
    while rest:
        if max_parts is not None and len(parts) == max_parts - 1 and len(rest) > max_len:
            parts.append(truncate_message(rest, max_len))
            break
        if len(rest) <= max_len:
            parts.append(rest)
            break
        cut = _word_cut(rest, max_len)
        if cut is None:
            end = _grapheme_cut(rest, max_len)
            parts.append(rest[:end])
            rest = rest[end:].lstrip()
        else:
            parts.append(rest[: cut[0]])
            rest = rest[cut[1]:]
    return parts


def truncate_message(text: str, max_len: int, *, ellipsis: str = ELLIPSIS) -> str:
    """Cut ``text`` to at most ``max_len`` code points, ending with ``ellipsis`` when cut.

    Cuts at the last whitespace when it keeps at least half of the room (so an emote is not cut in
    half), else at a grapheme boundary. Raises ``ValueError`` when ``max_len <= len(ellipsis)``.
    """
    if max_len <= len(ellipsis):
        raise ValueError(f"max_len must exceed the ellipsis length, got {max_len}")
    text = text.strip()
    if len(text) <= max_len:
        return text
    room = max_len - len(ellipsis)
    cut = _word_cut(text, room)
    end = cut[0] if cut is not None and cut[0] >= room // 2 else _grapheme_cut(text, room)
    return text[:end].rstrip() + ellipsis


def fit_message(
    text: str, max_len: int, overflow: Overflow = "split", *, max_parts: int | None = None
) -> list[str]:
    """``split_message`` or ``[truncate_message]`` per ``overflow``; ``ValueError`` for another mode."""
    if overflow == "split":
        return split_message(text, max_len, max_parts=max_parts)
    if overflow == "truncate":
        out = truncate_message(text, max_len)
        return [out] if out else []
    raise ValueError(f'overflow must be "split" or "truncate", got {overflow!r}')


def fit_items(head: str, items: list[str], tail: str, max_len: int, *, sep: str = ", ") -> str:
    """``head + items joined by sep + tail`` in at most ``max_len`` characters: whole items while they fit,
    then `` +N more`` (a channel with 200 text commands listed them in three messages). When not even one
    item fits, the joined text is cut (``truncate_message``)."""
    return fit_page(head, items, tail, max_len, sep=sep)[0]


def fit_page(head: str, items: list[str], tail: str, max_len: int, *, sep: str = ", ",
             more_hint: str = "") -> tuple[str, int]:
    """``fit_items`` that also says how many items it showed (0 when even the first one was cut);
    ``more_hint`` follows `` +N more`` (" on !help 2")."""
    body = head + sep.join(items)
    if len(body) + len(tail) <= max_len:
        return body + tail, len(items)
    shown: list[str] = []
    for i, item in enumerate(items):
        more = f" +{len(items) - i - 1} more{more_hint}" if i < len(items) - 1 else ""
        if len(head + sep.join([*shown, item])) + len(more) + len(tail) > max_len:
            break
        shown.append(item)
    if not shown:
        return truncate_message(body, max_len - len(tail)) + tail, 0
    left = len(items) - len(shown)
    return head + sep.join(shown) + (f" +{left} more{more_hint}" if left else "") + tail, len(shown)
