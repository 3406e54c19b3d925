"""The skill base class and the context through which a skill reaches the core.

A skill never imports an adapter, never opens the database file and never loads a model: it uses
``self.ctx.storage`` (``storage.Database``), ``self.ctx.engine`` (``bot.inference.api.InferenceEngine``,
``None`` when inference is disabled) and ``self.ctx.post`` to speak unprompted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from bot.clock import Clock, SystemClock
from bot.events import ChatMessage, Presence, Priority, StreamStatus, Viewer
from bot.votes import NumberVotes

if TYPE_CHECKING:
    from bot.commands import CommandContext, CommandSpec
    from bot.inference.api import InferenceEngine
    from storage.db import Database


Loc = tuple[str | int, ...]
"""Where a value sits inside a settings model: ``("entries", 2, "name")``."""


def repeats_at(items: list[tuple[Loc, str]]) -> list[tuple[Loc, str]]:
    """``(loc, value)`` for each item of ``(loc, value)`` (in file order) whose value an earlier item
    already has: the second definition, where ``config check`` should point. (Messages name the value,
    not the first item's index: a channel's merged list and the second look of ``bot.config`` at a table
    with invalid entries number items differently from the file.)"""
    seen: set[str] = set()
    out = []
    for loc, value in items:
        if value in seen:
            out.append((loc, value))
        seen.add(value)
    return out


def raise_at(problems: list[tuple[Loc, str]]) -> None:
    """Raises one pydantic ``ValidationError`` holding ``(loc, message)`` problems at their own locations
    inside the model being validated (``bot.config`` then names each one's line: the second entry of a
    duplicate, not the table); does nothing without problems. For model and list validators, where a
    ``ValueError`` would sit at the table itself."""
    if not problems:
        return
    from pydantic import ValidationError
    from pydantic_core import InitErrorDetails, PydanticCustomError

    raise ValidationError.from_exception_data("settings", [
        InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=None)
        for loc, message in problems])


class SkillSettings(BaseModel):
    """Base of every skill's settings model: unknown keys are errors, ``enabled`` switches it per channel."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    enabled: bool = True


class ChannelInfo(Protocol):
    """What the core knows about a channel right now (for ``{game}``, ``{streamer}``, ``{uptime}``)."""

    platform: str
    channel: str
    streamer: str
    live: bool
    category: str | None
    title: str | None
    uptime_s: float | None  # seconds since the stream went online; None when offline/unknown
    max_message_len: int  # of the adapter serving the channel (Twitch 500, Discord 2000)
    bot_name: str  # the bot's account name on the platform (Twitch login), else the config's [bot] name


class Poster(Protocol):
    """``ctx.post``: queue a message; returns a future of its send time (``clock.monotonic()`` when it
    reached the platform, ``None`` if the outbox dropped it), or ``None`` where nothing can tell."""

    async def __call__(
        self, platform: str, channel: str, text: str, *, priority: Priority = Priority.NORMAL,
        in_reply_to: str | None = None, attachment: str | None = None,
        still_wanted: Callable[[], bool] | None = None,
    ) -> asyncio.Future[float | None] | None: ...


@dataclass
class SkillContext:
    """Everything the core lends a skill.

    ``settings_for(platform, channel)`` returns the skill's validated settings for that channel (channel
    overrides merged over ``[skills.<name>]`` defaults). ``channel_info(platform, channel)`` describes the
    channel. ``post`` sends an unprompted message (timers, vote results, late generations) through the
    same outgoing queue as replies. ``data_dir`` is where the skill may write files (exports, plots).
    """

    storage: Database
    engine: InferenceEngine | None
    post: Poster
    settings_for: Any  # Callable[[str, str], SkillSettings]
    channel_info: Any  # Callable[[str, str], ChannelInfo]
    data_dir: Path
    clock: Clock = field(default_factory=SystemClock)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("chatcast.skill"))
    votes: NumberVotes = field(default_factory=NumberVotes)  # shared by the runtime's skills (bot.votes)


class Skill:
    """Base class of every skill.

    Subclasses set ``name`` (the config key), ``Settings`` (a ``SkillSettings`` subclass), ``stores``
    (one sentence on what it keeps about viewers, shown by ``!mydata`` and in the README), declare
    commands with ``bot.commands.command`` and may override the hooks below. Hooks must not block the
    event loop: model work goes through ``ctx.engine`` (async), SQL through ``ctx.storage``.
    """

    name: ClassVar[str] = "skill"
    Settings: ClassVar[type[SkillSettings]] = SkillSettings
    stores: ClassVar[str] = "nothing"

    def __init__(self, ctx: SkillContext) -> None:
        self.ctx = ctx

    async def start(self) -> None:
        """Called once after storage and the engine are up (create tables via storage, load state)."""

    async def stop(self) -> None:
        """Called once at shutdown; flush state. Must not raise."""

    async def on_message(self, message: ChatMessage) -> None:
        """Called for every chat message that is not a command (mood scoring, FAQ matching, votes)."""

    def note_chatter(self, message: ChatMessage) -> None:
        """Called for every chat message, commands included, before it is routed: who has chatted in a
        channel (``{touser}``, names kept out of stories). Synchronous, on the event loop: must be quick
        (a dict update); an exception is logged and counted as a skill error."""

    async def on_presence(self, presence: Presence) -> None:
        """Viewer joined / was seen / left."""

    async def on_stream_status(self, status: StreamStatus) -> None:
        """Stream went online/offline or changed category."""

    def custom_command(self, platform: str, channel: str, name: str) -> CommandSpec | None:
        """The command a streamer defined at run time as ``name`` (one word, lower-case, no prefix) in that
        channel, or ``None``. The router asks only for names no skill declared, then runs ``run_custom``
        with the usual permission and cooldown checks. Must be quick (called on the event loop)."""
        return None

    def custom_commands(self, platform: str, channel: str) -> list[CommandSpec]:
        """Every custom command of that channel (for ``!help``). Default: none."""
        return []

    async def run_custom(self, ctx: CommandContext) -> None:
        """Handle a custom command found by ``custom_command`` (``ctx.spec`` is the one it returned)."""

    async def delete_user_data(self, viewer: Viewer) -> int:
        """Delete everything this skill stores about ``viewer``; returns the number of rows/items removed."""
        return 0

    async def user_data_summary(self, viewer: Viewer) -> str | None:
        """One short line for ``!mydata`` (``None`` when nothing is stored)."""
        return None

    def purge_older_than(self, cutoff: datetime) -> int:
        """Retention (``[bot] retention_days``): delete this skill's own rows recorded before ``cutoff``
        (timezone-aware UTC); returns the number removed. The runtime calls it for every running skill at
        start-up and every 24 h, after purging the core tables (rows that cascade from a purged viewer
        are already gone). Synchronous and quick: one ``DELETE`` through ``storage/<skill>.py``. The
        default keeps everything (a skill without dated rows of its own need not override it)."""
        return 0

    async def replay_step(self, timeout: float) -> None:
        """A replay read one more line and moved the clock to its time: run the timers due now and wait
        (at most ``timeout`` wall seconds, never cancelling anything) for quick background work that live
        would have finished before the next line, such as the bot's game move. Default: nothing. Must not
        raise."""

    def next_due(self) -> float | None:
        """The ``clock.monotonic()`` time of this skill's next timer (a vote window's close), or ``None``.
        A replay moves its clock there and runs ``replay_step`` before reading a later line, so a timer
        that ends in a quiet gap of the log fires at its own time, as live. Default: none. Must not raise."""
        return None

    async def report(self, report_dir: Path) -> dict[str, Any]:
        """End of a replay: write files into ``report_dir`` (plots), return a JSON-able summary section."""
        return {}
