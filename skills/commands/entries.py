"""Custom commands and timed messages: config models, ``!cmd add`` parsing, reply templates.

A custom command answers ``<prefix><name>`` with a streamer's text. Its response may use the channel
variables of ``skills.templating`` plus ``{user}`` (who typed it), ``{touser}`` (the first argument when
it names a viewer seen in the channel, or any user name when a moderator typed it, as in a shoutout;
else who typed it: the bot never repeats a viewer's free text) and
``{count}`` (how many times it was used in the channel). A response never starts with ``/`` or ``.``:
chat clients read those as chat commands (``/ban``, ``.timeout``); nor with ``!`` or a look-alike of it
(``！`` ``﹗`` ``ǃ``...): another bot in the channel (StreamElements, Nightbot, often with moderator
rights) would run it as its command, so a text command ``!r`` answering ``!cmd add pwn hi`` let any viewer
add commands through the bot. Leading whitespace and invisible characters (zero-width spaces, ...) do not
hide these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.events import Role
from skills.base import Loc, repeats_at
from skills.templating import CHANNEL_VARIABLES, check_template, command_start, refuse_token

COMMAND_VARIABLES = (*CHANNEL_VARIABLES, "user", "touser", "count")
MAX_RESPONSE_CHARS = 400
NAME_PATTERN = r"^[a-z0-9][a-z0-9_]{0,24}$"
_NAME_RE = re.compile(NAME_PATTERN)
_USER_RE = re.compile(r"^@?([A-Za-z0-9_]{1,25})$")
NOT_USERS = frozenset({"everyone", "here", "channel", "chat"})  # "@{touser}" must never become "@everyone"
RoleName = Literal["everyone", "subscriber", "vip", "moderator", "broadcaster"]


def check_response(
    text: str, *, known: tuple[str, ...] = COMMAND_VARIABLES, what: str = "the response"
) -> str:
    """Validate a reply template (``skills.templating.check_template``) and refuse one that starts with
    ``/``, ``.`` or ``!`` (``command_start``); returns it stripped, with Nightbot's ``$(user)`` and
    StreamElements' ``${user}`` forms of a known variable written as ``{user}`` (``from_other_bots``).
    Raises ``ValueError`` with a reason fit for chat."""
    converted = from_other_bots(text, known)
    foreign = _FOREIGN_VARIABLE.search(converted)  # before the template check, which read "${customapi.x}"
    if foreign is not None:  # as a {variable} of ours; "$(urlfetch https://...)" was posted as typed
        shown = foreign.group(0) + (" ...)" if foreign.group(0).startswith("$(") else " ...}")
        raise ValueError(f"{what} uses {shown}, a variable of another bot that Chatcast does "
                         f"not have (it would be posted as typed); variables here: "
                         + ", ".join(f"{{{v}}}" for v in known))
    text = check_template(converted, known=known, max_chars=MAX_RESPONSE_CHARS, what=what)
    reason = command_start(text)
    if reason is not None:
        raise ValueError(f"{what} {reason}")
    return text


_OTHER_BOT_VARIABLE = re.compile(r"\$[({]\s*([a-z]+)\s*[)}]", re.I)
_OTHER_BOT_NAMES = {"sender": "user"}  # StreamElements' name for the viewer who typed the command
_FOREIGN_VARIABLE = re.compile(r"\$[({]\s*[a-z][a-z0-9_.]*", re.I)
"""What is left of another bot's variable once ours are converted: ``$(urlfetch``, ``${random.pick``."""


def from_other_bots(text: str, known: tuple[str, ...] = COMMAND_VARIABLES) -> str:
    """``"$(touser) hugs ${user}"`` -> ``"{touser} hugs {user}"``: Nightbot's ``$(name)`` and StreamElements'
    ``${name}`` of a variable we know (a command copied from those bots was saved with ``$(game)`` and
    posted it literally); StreamElements' ``${sender}`` is our ``{user}``. Others (``$(urlfetch ...)``)
    stay as typed; ``check_response`` refuses them."""
    def ours(m: re.Match[str]) -> str:
        name = m.group(1).lower()
        name = _OTHER_BOT_NAMES.get(name, name)
        return f"{{{name}}}" if name in known else m.group(0)

    return _OTHER_BOT_VARIABLE.sub(ours, text)


def check_name(name: str, prefix: str = "!") -> str:
    """``"!Discord"`` -> ``"discord"`` (a leading ``!`` or the channel's ``prefix``, as typed in chat, is
    dropped); raises ``ValueError`` unless 1-25 letters, digits or ``_``."""
    clean = name.strip()
    for lead in (prefix, "!"):
        if lead and clean.startswith(lead):
            clean = clean[len(lead):]
            break
    clean = clean.lower()
    if not _NAME_RE.match(clean):
        # "letters" read as any letter: "grüße" was refused without saying why (trial 19)
        hint = " (options such as -ul= go after the name)" if clean.startswith("-") else ""
        shown = name if len(name) <= 30 else name[:29] + "…"  # cut, and said to be (trial 23)
        raise ValueError(f"a command name is 1-25 letters a-z, digits 0-9 or _ (got {shown!r}){hint}")
    return clean


def mentioned_name(args: list[str]) -> str | None:
    """The first argument without its ``@`` when it looks like a user name (``"@Bob"`` -> ``"Bob"``):
    1-25 letters, digits or ``_`` (Twitch's login rule, which Discord names mostly fit)."""
    m = _USER_RE.match(args[0]) if args else None
    if m is None or m.group(1).lower() in NOT_USERS:
        return None
    return m.group(1)


class CustomCommand(BaseModel):
    """``[[skills.commands.entries]]``: ``name`` (without the prefix), ``response`` (template),
    ``aliases``, ``permission`` (lowest role allowed), cooldowns in seconds (per viewer, per channel)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    name: str
    response: str
    aliases: list[str] = Field(default_factory=list, max_length=10)
    permission: RoleName = "everyone"
    cooldown_user_s: float = Field(10.0, ge=0, le=86_400)
    cooldown_channel_s: float = Field(5.0, ge=0, le=86_400)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        return check_name(value) if isinstance(value, str) else value  # "!Discord" -> "discord", as in chat

    @field_validator("permission", mode="before")
    @classmethod
    def _permission(cls, value: object) -> object:
        # "mod", "sub", "Moderator" as in chat's -ul=; an unknown one names the roles
        return Role.parse(value).name.lower() if isinstance(value, str) else value

    @field_validator("response")
    @classmethod
    def _response(cls, value: str) -> str:
        return check_response(value)

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        return [check_name(a) for a in value]


class TimedMessage(BaseModel):
    """``[[skills.commands.timers]]``: ``message`` (template with the channel variables) posted every
    ``interval_s`` seconds (>= 300, Nightbot's minimum) once at least ``min_messages`` (>= 2) chat messages
    came since the last post, so a quiet chat is never spammed;
    ``only_when_live``: only while the stream is live (as Nightbot's timers)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    id: str = Field(pattern=NAME_PATTERN)
    message: str
    interval_s: float = Field(900.0, ge=300, le=86_400)  # Nightbot's shortest timer interval: 5 minutes
    min_messages: int = Field(5, ge=2, le=100_000)
    only_when_live: bool = True

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        return check_response(value, known=CHANNEL_VARIABLES, what="the message")


def shadowed(entries: list[CustomCommand], is_builtin: Callable[[str], bool]) -> list[tuple[Loc, str]]:
    """``(loc, message)`` per config command or alias named like a built-in command (``is_builtin(name)``):
    the router runs the built-in, so it never runs. ``loc`` is the name's place in the table
    (``("entries", 2, "name")``, ``("entries", 2, "aliases", 0)``), so ``config check`` can give its line.
    Used by the skill (log at start-up) and ``config check``."""
    out: list[tuple[Loc, str]] = []
    for i, entry in enumerate(entries):
        if is_builtin(entry.name):
            out.append((("entries", i, "name"), f"command {entry.name!r} is never run: {entry.name!r} is a "
                                                "built-in command; rename it"))
        out += [(("entries", i, "aliases", k), f"alias {alias!r} of command {entry.name!r} is never run: "
                                               f"{alias!r} is a built-in command; remove it")
                for k, alias in enumerate(entry.aliases) if is_builtin(alias)]
    return out


def repeated_names(entries: list[CustomCommand]) -> list[tuple[Loc, str]]:
    """``(loc, message)`` for every command name or alias defined a second time, at the second one
    (``("entries", 2, "name")``, ``("entries", 3, "aliases", 0)``)."""
    items: list[tuple[Loc, str]] = []
    for i, entry in enumerate(entries):
        items.append((("entries", i, "name"), entry.name))
        items += [(("entries", i, "aliases", k), alias) for k, alias in enumerate(entry.aliases)]
    return [(loc, f"command name {name!r} is already the name or an alias of an earlier command; rename "
                  "or remove one") for loc, name in repeats_at(items)]


@dataclass(frozen=True, slots=True)
class NewCommand:
    """A parsed ``!cmd add`` / ``!cmd edit``: name, response, permission and per-channel cooldown in
    seconds. ``None`` means unchanged on edit; on add, everyone / the configured cooldown (a response is
    always given on add)."""

    name: str
    response: str | None
    permission: str | None
    cooldown_s: float | None = None


MAX_OUTPUT_CHARS = 500
"""A custom command's reply after its variables are filled is cut to this many characters: one Twitch chat
message (Twitch's limit; Nightbot cuts at 400), so one viewer's command is never several bot messages."""

MAX_COOLDOWN_S = 86_400
_OPTION_RE = re.compile(r"^-([a-z]+)=(\S*)(?:\s+|$)", re.I)
_BARE_OPTION_RE = re.compile(r"^-(?:ul|cd)\b", re.I)
_TRAILING_OPTION_RE = re.compile(r"\s-(?:ul|cd)=\S*$", re.I)


NIGHTBOT_LEVELS = {"twitch_vip": "vip", "twitch_subscriber": "subscriber", "regular": "vip"}
"""Nightbot's ``-ul=`` names (https://docs.nightbot.tv/commands/commands) that are not ours: a command
copied from Nightbot keeps its level. Nightbot's "regular" (its own list, between subscriber and VIP)
becomes vip, the closest level that is not lower."""


def _option_value(key: str, value: str) -> str | float:
    """The value of a ``-ul=`` (a role name) or ``-cd=`` (seconds) option; ``ValueError`` fit for chat."""
    if key == "ul":
        if not value:
            raise ValueError(
                "write the level as -ul=moderator (everyone, subscriber, vip, moderator, broadcaster)"
            )
        return Role.parse(NIGHTBOT_LEVELS.get(value.strip().lower(), value)).name.lower()
    # plain digits with an optional decimal part: float() also took "1e3", "inf", "1_000" and " 30"
    seconds = float(value) if re.fullmatch(r"\d+(\.\d+)?", value) else -1.0
    if not 0 <= seconds <= MAX_COOLDOWN_S:
        raise ValueError(f"write the cooldown in seconds, 0 to {MAX_COOLDOWN_S}, as -cd=30")
    return seconds


def parse_add(rest: str, *, edit: bool = False, prefix: str = "!") -> NewCommand:
    """Parse ``NAME [-ul=ROLE] [-cd=SECONDS] RESPONSE`` (Nightbot's options: ``-ul=`` the lowest role
    allowed, ``-cd=`` the command's cooldown per channel, seconds). ``edit``: ``!cmd edit`` takes the same
    form and may leave out the response when it changes an option (``!cmd edit so -ul=everyone``).

    Raises ``ValueError`` with a message fit for chat: missing name or response, bad name, unknown role,
    bad cooldown, an option given twice (``-ul=everyone -ul=broadcaster hi`` stored ``-ul=broadcaster hi``
    as the response) or one that is not ``-ul=``/``-cd=`` (Nightbot's ``-a=`` was posted as the reply), an
    option after the response (``hi -ul=mod`` made a public command that said ``hi -ul=mod``), a bad
    response, a token in the response (``refuse_token``)."""
    usage = f"usage: !cmd {'edit' if edit else 'add'} <name> [-ul=moderator] [-cd=seconds] <response>"
    words = rest.split(None, 1)
    if not words:
        raise ValueError(usage)
    name = check_name(words[0], prefix)
    response = words[1].strip() if len(words) > 1 else ""
    options: dict[str, str | float] = {}
    while (m := _OPTION_RE.match(response)) is not None or _BARE_OPTION_RE.match(response):
        if m is None:  # "-ul mod hi", "-cd 30 hi": no "="
            raise ValueError(f"write the options as -ul=moderator and -cd=30; {usage}")
        key = m.group(1).lower()
        if key not in ("ul", "cd"):
            raise ValueError(f"unknown option -{key}=: the options are -ul= and -cd=; {usage}")
        if key in options:
            raise ValueError(f"give -{key}= once, before the response; {usage}")
        options[key] = _option_value(key, m.group(2))
        response = response[m.end():]
    if _TRAILING_OPTION_RE.search(response):
        raise ValueError(f"put -ul= and -cd= right after the name, before the response; {usage}")
    if not response and not (edit and options):
        raise ValueError(usage)
    permission = options.get("ul")
    cooldown = options.get("cd")
    if response:
        refuse_token(response, "the response")
    return NewCommand(
        name,
        check_response(response) if response else None,
        permission if isinstance(permission, str) else None,
        cooldown if isinstance(cooldown, float) else None,
    )

