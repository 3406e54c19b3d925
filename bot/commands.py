"""Command declarations: the ``@command`` decorator and what it records.

A command is declared once, on a skill method, and works on every platform (prefix command in chat,
Discord slash command, console). The router (``bot/router.py``) does the parsing, permission check and
cooldowns; this module only holds the declaration.

Example::

    class Greeter(Skill):
        @command("hello", aliases=("hi",), help="Say hello.", cooldown_user=10)
        async def hello(self, ctx: CommandContext) -> None:
            await ctx.reply(f"Hello {ctx.author.display_name}!")

        @command("faq add", permission=Role.MODERATOR, help="Add an FAQ entry: !faq add \\"q1|q2\\" answer")
        async def faq_add(self, ctx: CommandContext) -> None: ...

Names may have two words (``"faq add"``): the router matches the longest declared name first, so
``!faq add x`` runs ``faq add`` and ``!faq`` alone runs ``faq`` (if declared).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.events import ChatMessage, Priority, Role, Viewer

if TYPE_CHECKING:
    from pydantic import BaseModel

COMMAND_ATTR = "__chatcast_command__"


@dataclass(frozen=True, slots=True)
class Cooldown:
    """Cooldowns in seconds; 0 disables that kind.

    ``global_s``: once per bot across all channels; ``channel_s``: once per channel; ``user_s``: once per
    viewer per channel. Moderators and the broadcaster bypass them when the config says so
    (``bot.mods_bypass_cooldowns``, default true, as Nightbot does).
    """

    global_s: float = 0.0
    channel_s: float = 0.0
    user_s: float = 0.0


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """What ``@command`` records on a method. ``name`` is lower-case, one or two words.

    ``permission_setting``: for a command whose level a streamer sets in config (the story's
    ``control_role``, the game's ``start_permission``), the key of the skill's settings holding that role
    name (``"moderator"``...). The router checks it like ``permission`` (the higher of the two applies)
    and ``!help`` lists the command only to viewers of that level.

    ``budget``: whether a use counts against the per-viewer command budget (``bot.flood``, checked by the
    router): ``True`` (the default), ``False`` (never: a request that must not be dropped silently, such as
    ``!forgetme``), or a function of the arguments (a list of str; true = counted), e.g. a game move
    ``!c4 4`` free while ``!c4`` alone counts. A command that is not counted may be used without limit:
    it must not answer every use with a reply of its own (or must rate-limit that reply itself)."""

    name: str
    aliases: tuple[str, ...] = ()
    help: str = ""
    usage: str = ""
    permission: Role = Role.EVERYONE
    cooldown: Cooldown = field(default_factory=Cooldown)
    time_budget_s: float | None = None  # None = the router's default
    permission_setting: str | None = None
    budget: bool | Callable[[Sequence[str]], bool] = True

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class CommandContext(Protocol):
    """What a command handler receives. Built by the router for each invocation.

    - ``message``: the chat message that invoked the command.
    - ``invoked_as``: the name or alias typed (lower-case).
    - ``args``: arguments split shell-style (double or single quotes group words; unbalanced quotes
      fall back to whitespace splitting, never an error).
    - ``rest``: the raw text after the command name, stripped.
    - ``settings``: this skill's validated settings for the message's channel.
    """

    message: ChatMessage
    invoked_as: str
    args: list[str]
    rest: str
    settings: BaseModel | Any

    @property
    def author(self) -> Viewer: ...

    @property
    def channel(self) -> str: ...

    async def reply(self, text: str, *, priority: Priority = Priority.HIGH, whisper: bool = False) -> None:
        """Queue a reply in the invoking channel; replies keep the order of the messages that caused them."""
        ...


Handler = Callable[[Any, CommandContext], Awaitable[None]]


def command(
    name: str,
    *,
    aliases: tuple[str, ...] | list[str] = (),
    help: str = "",
    usage: str = "",
    permission: Role = Role.EVERYONE,
    cooldown_global: float = 0.0,
    cooldown_channel: float = 0.0,
    cooldown_user: float = 0.0,
    time_budget_s: float | None = None,
    permission_setting: str | None = None,
    budget: bool | Callable[[Sequence[str]], bool] = True,
) -> Callable[[Handler], Handler]:
    """Declare a skill method as a chat command (see module docstring and ``CommandSpec``).

    Raises ``ValueError`` at import time for an empty name, more than two words, a negative cooldown, or a
    ``budget`` that is neither a bool nor callable.
    """
    clean = " ".join(name.lower().split())
    if not clean or len(clean.split()) > 2:
        raise ValueError(f"command name must be one or two words, got {name!r}")
    if min(cooldown_global, cooldown_channel, cooldown_user) < 0:
        raise ValueError(f"command {name!r}: cooldowns must be >= 0 seconds")
    if not isinstance(budget, bool) and not callable(budget):
        raise ValueError(f"command {name!r}: budget must be a bool or a function of the arguments")
    spec = CommandSpec(
        name=clean,
        aliases=tuple(" ".join(a.lower().split()) for a in aliases),
        help=help,
        usage=usage,
        permission=permission,
        cooldown=Cooldown(cooldown_global, cooldown_channel, cooldown_user),
        time_budget_s=time_budget_s,
        permission_setting=permission_setting,
        budget=budget,
    )

    def mark(func: Handler) -> Handler:
        setattr(func, COMMAND_ATTR, spec)
        return func

    return mark


def _declared_on(cls: type) -> list[tuple[CommandSpec, str]]:
    """``(spec, attribute name)`` of every command declared on ``cls``."""
    found = []
    for attr in dir(cls):
        spec = getattr(getattr(cls, attr, None), COMMAND_ATTR, None)
        if isinstance(spec, CommandSpec):
            found.append((spec, attr))
    return found


def declared_commands(obj: object) -> list[tuple[CommandSpec, Callable[[CommandContext], Awaitable[None]]]]:
    """All ``(spec, bound handler)`` pairs declared on ``obj``'s class, in definition order."""
    return [(spec, getattr(obj, attr)) for spec, attr in _declared_on(type(obj))]


def declared_names(cls: type) -> set[str]:
    """Every command name and alias (lower-case, one or two words) declared on a skill class."""
    return {name for spec, _ in _declared_on(cls) for name in spec.names}
