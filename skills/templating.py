"""Reply templates shared by the skills whose replies a streamer writes (FAQ answers, custom commands).

A template is plain text with ``{name}`` placeholders (``str.format`` syntax; ``{{`` and ``}}`` for literal
braces). Channel variables come from ``ChannelInfo`` (``skills.base``): ``{game}``, ``{streamer}``,
``{uptime}``, ``{title}``, ``{channel}``; a skill may add its own (``{user}``, ``{count}``...).
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from bot.config_errors import holds_token
from bot.defuse import BANG_CHARS, COMMAND_CHARS, first_visible
from bot.logs import holds_secret

CHANNEL_VARIABLES = ("game", "streamer", "uptime", "title", "channel")


def template_fields(template: str) -> list[str]:
    """Names of the ``{placeholders}`` in ``template``. Raises ``ValueError`` for unbalanced braces and
    for a format spec or conversion (``{user:>300000000}`` built a 300 MB reply; ``{user!r}``): a
    streamer's template has plain ``{name}`` placeholders only."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise ValueError(f"write plain {{{name}}}, not {shown[:40]}")
        names.append(name)
    return names


def check_template(template: str, *, known: Iterable[str], max_chars: int, what: str = "the answer") -> str:
    """Validate a reply template; returns it stripped.

    Raises ``ValueError`` with a reason fit for chat: empty, longer than ``max_chars`` characters,
    unbalanced braces, or a placeholder not in ``known``."""
    template = template.strip()
    if not template:
        raise ValueError(f"{what} is empty")
    if len(template) > max_chars:
        raise ValueError(f"{what} is {len(template)} characters; at most {max_chars}")
    try:
        names = template_fields(template)
    except ValueError as exc:
        if str(exc).startswith("write plain"):
            raise ValueError(f"{what}: {exc}") from None
        raise ValueError(
            f"{what} has unbalanced braces ({exc}); write {{{{ and }}}} for literal ones"
        ) from None
    known = tuple(known)
    unknown = sorted({n for n in names if n not in known})
    if unknown:
        raise ValueError(
            f"unknown variable(s) {', '.join('{' + u + '}' for u in unknown)}; "
            f"known: {', '.join('{' + v + '}' for v in known)}"
        )
    return template


def refuse_token(text: str, what: str = "the answer") -> None:
    """Raises ``ValueError`` (fit for chat, never repeating ``text``) when text typed in chat for the bot to
    store and post (``!cmd add``, ``!faq add``) is or holds a token: a token shape
    (``bot.config_errors.holds_token``) or a loaded secret's value (``bot.logs.holds_secret``). A token
    pasted into chat by mistake was stored and posted again on every use. (The config file has its own
    check, ``token_in_config``.)"""
    folded = unicodedata.normalize("NFKC", text)  # a full-width "ｏａｕｔｈ:" prefix got round the shapes
    if holds_token(folded) or holds_secret(text) or holds_secret(folded):
        raise ValueError(f"{what} looks like a token, so it is not saved: tokens go only in an environment "
                         "variable or the secrets file")


def format_uptime(seconds: float | None) -> str:
    """``5025`` -> ``"1h 23m"``; ``None`` -> ``"offline"``."""
    if seconds is None:
        return "offline"
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


NON_GAME_CATEGORIES = frozenset(c.casefold() for c in (
    "Just Chatting", "IRL", "Music", "Art", "ASMR", "Talk Shows & Podcasts", "Special Events",
    "Pools, Hot Tubs, and Beaches", "Software and Game Development", "Science & Technology",
    "Makers & Crafting", "Food & Drink", "Travel & Outdoors", "Sports", "Fitness & Health", "Politics",
    "Beauty & Body Art", "Animals, Aquariums, and Zoos", "Co-working & Studying", "Crypto", "DJs",
    "I'm Only Sleeping", "Always On", "Games + Demos", "Retro", "Writing & Reading",
))
"""Twitch categories that are not games: ``{game}`` counts as unknown in them ("We're playing Just
Chatting!" answered "what are you playing now?" in a real Just Chatting stream)."""


def render_template(
    template: str, info: Any, extra: Mapping[str, str] | None = None, *, any_category: bool = False
) -> str | None:
    """Fill the channel variables from a ``ChannelInfo`` (and ``extra`` ones) into ``template``.

    ``None`` when the template needs the game or the title and the platform has not said which (no
    category, or, unless ``any_category``, one of ``NON_GAME_CATEGORIES``: an FAQ answer "We're playing
    Just Chatting!" is worse than no reply; a streamer's own command ``!game`` -> "{game}" says the
    category as Twitch names it, as Nightbot's ``$(game)`` does; "merch at {title}" read "merch at").
    A template using ``{uptime}`` while the channel is not live
    (``uptime_s`` is ``None``) becomes ``"<streamer> is not live right now."``. A missing channel gives
    ``""``, a missing streamer ``"the streamer"``. Never raises."""
    streamer = getattr(info, "streamer", None) or getattr(info, "channel", None) or "the streamer"
    if "{uptime}" in template and getattr(info, "uptime_s", None) is None:
        # "x has been live for offline" reads as a bug; say what is true instead
        return f"{streamer} is not live right now."
    game = getattr(info, "category", None)
    if game and not any_category and game.strip().casefold() in NON_GAME_CATEGORIES:
        game = None
    if "{game}" in template and not game:
        return None
    title = getattr(info, "title", None)
    if "{title}" in template and not title:
        return None  # "merch at {title}" was posted as "@fay merch at"
    values = {
        "game": game or "",
        "streamer": streamer,
        "uptime": format_uptime(getattr(info, "uptime_s", None)),
        "title": title or "",
        "channel": getattr(info, "channel", None) or "",
        **(extra or {}),
    }
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError, AttributeError):
        return template


def command_start(text: str) -> str | None:
    """Why ``text`` must not be sent as typed, when its first visible character (after whitespace and
    invisible characters: zero-width and other format characters, combining marks, blank-looking
    letters; ``bot.defuse.invisible``) makes it a command: ``/`` or ``.`` (chat clients run ``/ban``,
    ``.timeout``; full-width ``／`` ``．`` too) or ``!`` or a character another bot may read as ``!``
    (``bot.defuse.BANG_CHARS``: ``！`` ``﹗`` ``︕`` ``ǃ`` ``ⵑ``); ``None`` when it is plain text. The
    outbox would defuse such a reply anyway; refusing it at ``!cmd add`` / ``!faq add`` says so instead
    of sending a response that reads differently from what was typed."""
    i = first_visible(text)
    if i is None:
        return None
    char = text[i]
    if char in BANG_CHARS:
        what = "" if char == "!" else f"U+{ord(char):04X}, a look-alike of '!': "
        return (f"cannot start with '{char}' ({what}another bot in the channel, such as StreamElements or "
                "Nightbot, would run it as a command)")
    if char in COMMAND_CHARS:
        return f"cannot start with '{char}' (chat would read it as a chat command)"
    return None
