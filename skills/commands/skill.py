"""The custom-commands skill: a streamer's text commands and timed messages, as on Nightbot.

- Commands come from ``[[skills.commands.entries]]`` (every channel) and from ``!cmd add`` (one channel,
  stored by ``storage.commands``). The router asks ``custom_command`` about any one-word command no skill
  declared, then applies the permission level and cooldowns of the returned spec; a declared command
  (``!help``, ``!rec``...) cannot be shadowed.
- Timers (``[[skills.commands.timers]]``) post when a chat message arrives, the interval has passed and
  enough chat happened since the last post: a quiet chat is never spammed, and a replay behaves as live.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from bot.commands import CommandContext, CommandSpec, Cooldown, command
from bot.events import ChatMessage, Priority, Role, Viewer
from bot.splitting import fit_items, truncate_message
from skills.base import Skill, SkillSettings, raise_at, repeats_at
from skills.commands.entries import (
    MAX_OUTPUT_CHARS,
    CustomCommand,
    NewCommand,
    TimedMessage,
    check_name,
    command_start,
    mentioned_name,
    parse_add,
    repeated_names,
    shadowed,
)
from skills.templating import render_template
from storage import commands as store
from storage.viewers import chatter_display_name

log = logging.getLogger(__name__)


class CommandsSettings(SkillSettings):
    """``[skills.commands]`` (see docs/commands.md): ``entries`` (custom commands), ``timers`` (timed
    messages), ``max_commands`` added from chat per channel, and the cooldowns (seconds) ``!cmd add`` gives
    a new command."""

    entries: list[CustomCommand] = Field(default_factory=list)
    timers: list[TimedMessage] = Field(default_factory=list)
    max_commands: int = Field(200, ge=1, le=2000)
    added_cooldown_user_s: float = Field(10.0, ge=0, le=86_400)
    added_cooldown_channel_s: float = Field(5.0, ge=0, le=86_400)

    @model_validator(mode="after")
    def _unique(self) -> CommandsSettings:
        timers = repeats_at([(("timers", i, "id"), t.id) for i, t in enumerate(self.timers)])
        raise_at(repeated_names(self.entries) + [
            (loc, f"timer id {tid!r} is already the id of an earlier timer") for loc, tid in timers])
        return self


@dataclass
class _Timer:
    last_post: datetime | None = None  # None: not seen a message yet (the interval starts then)
    posted_at_line: int = 0  # the channel's line count (``_Channel.lines``) at its last post (or start)


@dataclass
class _Channel:
    stored: dict[str, store.StoredCommand]
    timers: dict[str, _Timer] = field(default_factory=dict)
    lines: int = 0  # chat lines seen, commands included (``note_chatter``)
    last_timer_line: int = 0  # ``lines`` at the channel's last timer post of any timer
    chatters: dict[str, str] = field(default_factory=dict)  # lower-case name -> display name, recent


MAX_CHATTERS = 5_000  # recent chatters remembered per channel for {touser} (the database knows the rest)


def _remember(state: _Channel, viewer: Viewer) -> None:
    """Note a chatter for ``{touser}`` (the newest ``MAX_CHATTERS`` are kept)."""
    chatters = state.chatters
    key = viewer.display_name.lower()
    chatters.pop(key, None)  # re-inserted last: the oldest go first when trimmed
    chatters[key] = viewer.display_name
    if len(chatters) > MAX_CHATTERS:
        del chatters[next(iter(chatters))]


def _spec(name: str, aliases: tuple[str, ...], permission: str, user_s: float, channel_s: float,
          where: str) -> CommandSpec:
    return CommandSpec(
        name=name, aliases=aliases, help=f"A text command ({where}).", permission=Role.parse(permission),
        cooldown=Cooldown(0.0, channel_s, user_s),
    )


class CommandsSkill(Skill):
    """Custom text commands and timed messages (see module docstring)."""

    name = "commands"
    Settings = CommandsSettings
    stores = "which moderator added a custom command (their platform id) and how often each was used"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.router: Any = None
        self._channels: dict[tuple[str, str], _Channel] = {}

    def attach_router(self, router: Any) -> None:
        """Called by the router: ``!cmd add`` refuses names its declared commands use, and a config command
        named like one (it would never run) is reported in the log."""
        self.router = router
        try:
            settings: CommandsSettings = self.ctx.settings_for("", "")
        except Exception:  # noqa: BLE001 - no defaults to check
            return
        for _, line in shadowed(settings.entries, self._builtin):
            log.warning("commands: [skills.commands] %s", line)

    async def start(self) -> None:
        self.ctx.storage.migrate(store.COMPONENT, store.MIGRATIONS)

    # ---- lookup ---------------------------------------------------------------------------------

    def _channel(self, platform: str, channel: str) -> _Channel:
        key = (platform, channel)
        state = self._channels.get(key)
        if state is None:
            rows = store.channel_commands(self.ctx.storage, platform, channel)
            state = self._channels[key] = _Channel({r.name: r for r in rows})
            try:
                settings: CommandsSettings = self.ctx.settings_for(platform, channel)
            except Exception:  # noqa: BLE001 - no settings for this channel: nothing to compare
                return state
            for name in sorted(state.stored):  # said once per channel and start (trial 19: silent)
                if _config_entry(settings, name) is not None:
                    log.warning("commands: %s/%s: the config's !%s hides the one added in chat (!cmd remove "
                                "%s deletes that one)", platform, channel, name, name)
        return state

    def _reload(self, platform: str, channel: str) -> None:
        """Read the channel's added commands again (after a change); timers and chatters are kept."""
        state = self._channel(platform, channel)
        state.stored = {r.name: r for r in store.channel_commands(self.ctx.storage, platform, channel)}

    def _find(self, platform: str, channel: str, name: str) -> tuple[CommandSpec, str] | None:
        """``(spec, response template)`` of the command ``name`` (or an alias) in that channel."""
        settings: CommandsSettings = self.ctx.settings_for(platform, channel)
        stored = self._channel(platform, channel).stored  # first: loading it warns of hidden ones
        entry = _config_entry(settings, name)
        if entry is not None:
            return self._config_spec(entry), entry.response
        row = stored.get(name)
        if row is None:
            return None
        return self._stored_spec(row), row.response

    def custom_command(self, platform: str, channel: str, name: str) -> CommandSpec | None:
        found = self._find(platform, channel, name)
        return found[0] if found else None

    def custom_commands(self, platform: str, channel: str) -> list[CommandSpec]:
        settings: CommandsSettings = self.ctx.settings_for(platform, channel)
        specs = [self._config_spec(e) for e in settings.entries]
        taken = {s.name for s in specs} | {a for s in specs for a in s.aliases}
        stored = self._channel(platform, channel).stored.values()
        specs += [self._stored_spec(r) for r in stored if r.name not in taken]
        return specs

    @staticmethod
    def _config_spec(entry: CustomCommand) -> CommandSpec:
        return _spec(entry.name, tuple(entry.aliases), entry.permission, entry.cooldown_user_s,
                     entry.cooldown_channel_s, "config")

    @staticmethod
    def _stored_spec(row: store.StoredCommand) -> CommandSpec:
        return _spec(
            row.name, (), row.permission, row.cooldown_user_s, row.cooldown_channel_s, "added in chat"
        )

    async def run_custom(self, ctx: CommandContext) -> None:
        """Reply with the command's response, its variables filled and cut to one message (no reply when it
        needs ``{game}`` and the platform has not said which, nor when the response itself starts with
        ``!``, ``/`` or ``.``: one stored before those were refused). A variable's value that starts with one
        (a category ``.hack//G.U.`` for ``{game}``) is sent: the outbox swaps that character for a look-alike
        (``bot.defuse``), as for every reply; dropping it silenced a ``{game}`` command for the stream."""
        platform = ctx.message.platform
        found = self._find(platform, ctx.channel, ctx.spec.name)  # type: ignore[attr-defined]
        if found is None:  # removed between the lookup and now
            return
        _, template = found
        extra = {"user": ctx.author.display_name}
        if "{touser}" in template:
            trusted = ctx.author.level >= Role.MODERATOR
            named = self._touser(platform, ctx.channel, ctx.args, trusted=trusted)
            if named is None and trusted and ctx.args:
                # "!so /ban x" or a typo: a moderator's shoutout to themselves is no use; say how instead
                await ctx.reply(f"That is not a user name. Usage: {self._prefix(ctx)}"
                                f"{ctx.spec.name} @name")  # type: ignore[attr-defined]
                return
            extra["touser"] = named or ctx.author.display_name
        info = self.ctx.channel_info(platform, ctx.channel)
        if not _sendable(template, f"{platform}/{ctx.channel} command {found[0].name!r}"):
            return  # a variable's value ("{game}" = ".hack//G.U.") is defused by the outbox instead
        if "{count}" in template:
            if not render_template(template, info, {**extra, "count": "0"}, any_category=True):
                return  # not sent ({game} unknown): not counted either (the first answer said "n4")
            extra["count"] = str(store.count_use(self.ctx.storage, platform, ctx.channel, found[0].name))
        # one message at most: 66 x {user} of a 400-character response made 4 messages per viewer command
        # None while {game} is unknown; "Just Chatting" is a category the streamer's command may name
        rendered = render_template(template, info, extra, any_category=True)
        if rendered:
            await ctx.reply(truncate_message(rendered, MAX_OUTPUT_CHARS))

    def _builtin(self, name: str) -> bool:
        """Whether a declared command owns ``name`` (a config command so named never runs)."""
        return self.router is not None and self.router.lookup(name) is not None

    def _touser(self, platform: str, channel: str, args: list[str], *, trusted: bool = False) -> str | None:
        """The viewer the first argument names, if seen in this channel (this session or stored); when
        ``trusted`` (a moderator typed it: ``!so @raider``), any user name as typed."""
        name = mentioned_name(args)
        if name is None:
            return None
        if trusted:
            return name
        seen = self._channel(platform, channel).chatters
        if name.lower() in seen:
            return seen[name.lower()]
        try:
            return chatter_display_name(self.ctx.storage, platform, channel, name)
        except Exception:  # noqa: BLE001 - no core tables (a test database): nobody is known
            return None

    # ---- moderators' commands -------------------------------------------------------------------

    def _prefix(self, ctx: CommandContext) -> str:
        """The channel's command prefix (replies name commands as viewers must type them)."""
        return self.router.prefix(ctx.message.platform, ctx.channel) if self.router is not None else "!"

    def _taken_reason(self, name: str, settings: CommandsSettings, p: str = "!") -> str | None:
        """Why ``name`` cannot be added, edited or removed from chat (a declared or config command)."""
        if self._builtin(name):
            return f"{p}{name} is a built-in command"
        if _config_entry(settings, name) is not None:
            return f"{p}{name} is defined in the config file; change it there"
        return None

    @command(
        "cmd", aliases=("cmd list", "commands list"), permission=Role.MODERATOR,
        help="List this channel's text commands (config and added in chat) with their levels.",
    )
    async def cmd_list(self, ctx: CommandContext) -> None:
        specs = self.custom_commands(ctx.message.platform, ctx.channel)
        specs = [s for s in specs if not self._builtin(s.name)]
        if not specs:
            await ctx.reply("No text commands yet. Add one: !cmd add <name> <response>")
            return
        p = self._prefix(ctx)
        shown = [
            p + s.name + ("" if s.permission is Role.EVERYONE else f" ({s.permission.name.lower()})")
            for s in specs
        ]
        # one message at most (200 commands made three, their continuations starting with a defused "!")
        manage = ". Manage: !cmd add|edit|remove"
        await ctx.reply(fit_items("Text commands: ", shown, manage, MAX_OUTPUT_CHARS))

    @command(
        "cmd add", aliases=("addcom", "commands add"), permission=Role.MODERATOR,
        usage="<name> [-ul=moderator] [-cd=seconds] <response>",
        help="Add a text command to this channel ({user} {touser} {count} {game} {uptime} work).",
    )
    async def cmd_add(self, ctx: CommandContext) -> None:
        p = self._prefix(ctx)
        platform, channel, settings = ctx.message.platform, ctx.channel, ctx.settings
        try:
            new = parse_add(ctx.rest, prefix=p)
        except ValueError as exc:
            await ctx.reply(f"Not added: {exc}")
            return
        reason = self._taken_reason(new.name, settings, p) or _above_caller(ctx, new.permission)
        state = self._channel(platform, channel)
        if reason is None and new.name in state.stored:
            reason = f"{p}{new.name} exists; use {p}cmd edit"
        if reason is None and len(state.stored) >= settings.max_commands:
            reason = f"this channel has {len(state.stored)} commands (max {settings.max_commands})"
        if reason is not None:
            await ctx.reply(f"Not added: {reason}.")
            return
        permission = new.permission or "everyone"
        assert new.response is not None  # parse_add requires one on add
        try:
            store.add_command(
                self.ctx.storage, platform, channel, new.name, new.response, permission,
                cooldown_user_s=settings.added_cooldown_user_s,
                cooldown_channel_s=(settings.added_cooldown_channel_s if new.cooldown_s is None
                                    else new.cooldown_s),
                created_by=ctx.author.user_id, created_at=ctx.message.timestamp,  # a replay: the log's time
            )
        except sqlite3.IntegrityError:
            await ctx.reply(f"Not added: {p}{new.name} exists; use {p}cmd edit.")
            return
        self._reload(platform, channel)
        await ctx.reply(f"Added {p}{new.name}{_options_note(new)}.")

    @command(
        "cmd edit", aliases=("editcom", "commands edit"), permission=Role.MODERATOR,
        usage="<name> [-ul=moderator] [-cd=seconds] [<response>]",
        help="Change a text command added in this channel: its response, level or cooldown.",
    )
    async def cmd_edit(self, ctx: CommandContext) -> None:
        p = self._prefix(ctx)
        platform, channel = ctx.message.platform, ctx.channel
        try:
            new = parse_add(ctx.rest, edit=True, prefix=p)
        except ValueError as exc:
            await ctx.reply(f"Not changed: {exc}")
            return
        stored = self._channel(platform, channel).stored.get(new.name)
        if stored is None:
            reason = self._taken_reason(new.name, ctx.settings, p) or f"no command {p}{new.name}"
        elif _config_entry(ctx.settings, new.name) is not None:  # "Changed" while the config's ran on
            reason = (f"{p}{new.name} is defined in the config file, which hides the one added in chat; "
                      f"change it there ({p}cmd remove {new.name} deletes the hidden one)")
        else:
            reason = _above_caller(ctx, stored.permission, p + new.name) or _above_caller(ctx, new.permission)
        if reason is not None:
            await ctx.reply(f"Not changed: {reason}.")
            return
        store.update_command(self.ctx.storage, platform, channel, new.name, new.response, new.permission,
                             cooldown_channel_s=new.cooldown_s)
        self._reload(platform, channel)
        await ctx.reply(f"Changed {p}{new.name}{_options_note(new)}.")

    @command(
        "cmd remove", aliases=("cmd del", "cmd delete", "delcom", "commands remove", "commands delete"),
        permission=Role.MODERATOR, usage="<name>", help="Remove a text command added in this channel.",
    )
    async def cmd_remove(self, ctx: CommandContext) -> None:
        p = self._prefix(ctx)
        platform, channel = ctx.message.platform, ctx.channel
        try:
            name = check_name_or_none(ctx.rest, p)
        except ValueError as exc:
            await ctx.reply(f"Not removed: {exc}.")
            return
        if name is None:
            await ctx.reply("usage: !cmd remove <name>")
            return
        stored = self._channel(platform, channel).stored.get(name)
        reason = _above_caller(ctx, stored.permission, p + name) if stored is not None else None
        if reason is not None:
            await ctx.reply(f"Not removed: {reason}.")
            return
        config = _config_entry(ctx.settings, name)
        # the config's own !name goes on answering: its {count} stays (trial 24: a clean-up reset it)
        keep = config is not None and config.name == name
        if store.remove_command(self.ctx.storage, platform, channel, name, keep_count=keep):
            self._reload(platform, channel)
            if config is not None:  # "Removed" while the config's ran on
                await ctx.reply(f"Removed the {p}{name} added in chat; the config file's {p}{name} stays "
                                "(change it there).")
                return
            await ctx.reply(f"Removed {p}{name}.")
            return
        reason = self._taken_reason(name, ctx.settings, p) or f"no command {p}{name}"
        await ctx.reply(f"Not removed: {reason}.")

    # ---- timers ---------------------------------------------------------------------------------

    def note_chatter(self, message: ChatMessage) -> None:
        """Remember the chatter for ``{touser}`` and count the line for the timers: any message, commands
        included (the router calls this for every chat message; a viewer who had only typed ``!mood`` or
        ``!help`` was unknown, and a chat of commands never got a timer: trial 25)."""
        state = self._channel(message.platform, message.channel)
        _remember(state, message.author)
        state.lines += 1

    async def on_message(self, message: ChatMessage) -> None:
        """Post a timer that is due (at most one per message; ``note_chatter`` counted the line).

        A timer is due when its ``interval_s`` has passed and ``min_messages`` chat lines (commands
        included) came since its own last post. Timers due together take turns, the one that posted
        longest ago first, at least as many lines apart as the smallest ``min_messages`` of the channel's
        timers: three timers due together posted on three lines in a row (trial 24), and counting every
        timer's lines from any timer's post silenced a timer of 20 lines behind one of 5 (trial 26)."""
        state = self._channel(message.platform, message.channel)
        settings: CommandsSettings = self.ctx.settings_for(message.platform, message.channel)
        if not settings.timers:
            return
        info = self.ctx.channel_info(message.platform, message.channel)
        now = message.timestamp
        gap = min(timer.min_messages for timer in settings.timers)
        due: list[tuple[datetime, int, TimedMessage]] = []
        for i, timer in enumerate(settings.timers):
            t = state.timers.setdefault(timer.id, _Timer())
            if t.last_post is None:  # the first interval starts with the first message seen (not counted)
                t.last_post, t.posted_at_line = now, state.lines
                continue
            if ((now - t.last_post).total_seconds() >= timer.interval_s
                    and state.lines - t.posted_at_line >= timer.min_messages
                    and (getattr(info, "live", False) or not timer.only_when_live)):
                due.append((t.last_post, i, timer))
        if not due or state.lines - state.last_timer_line < gap:
            return
        _, _, chosen = min(due)  # the one that posted longest ago (then config order)
        t = state.timers[chosen.id]
        t.last_post, t.posted_at_line = now, state.lines
        state.last_timer_line = state.lines
        text = render_template(chosen.message, info, any_category=True)
        if text and _sendable(chosen.message, f"{message.platform}/{message.channel} timer {chosen.id!r}"):
            await self.ctx.post(message.platform, message.channel, text, priority=Priority.LOW)

    # ---- privacy --------------------------------------------------------------------------------

    async def delete_user_data(self, viewer: Viewer) -> int:
        removed = store.forget_creator(self.ctx.storage, viewer.platform, viewer.user_id)
        for (platform, _), state in self._channels.items():
            if platform == viewer.platform and state.chatters.pop(viewer.display_name.lower(), None):
                removed += 1
        for key in list(self._channels):
            self._reload(*key)
        return removed

    async def user_data_summary(self, viewer: Viewer) -> str | None:
        n = store.created_count(self.ctx.storage, viewer.platform, viewer.user_id)
        return f"commands: you added {n} custom command{'' if n == 1 else 's'}" if n else None


def _config_entry(settings: CommandsSettings, name: str) -> CustomCommand | None:
    """The config's command named ``name`` (or with that alias), if any: it wins over one added in chat."""
    return next((e for e in settings.entries if name == e.name or name in e.aliases), None)


def _above_caller(ctx: CommandContext, permission: str | None, command: str | None = None) -> str | None:
    """Why the caller may not add, change or remove a command of level ``permission`` (``None``: allowed).
    A moderator could rewrite or delete the broadcaster's broadcaster-only commands, and lock commands
    away at a level above their own; as on StreamElements, managing a command needs its level."""
    if permission is None:
        return None
    role = Role.parse(permission)
    if role <= ctx.author.level:
        return None
    if command is None:
        return f"a moderator cannot set -ul={role.name.lower()}, above their own level"
    return f"{command} is for {role.plural}: only they can change or remove it"


def _options_note(new: NewCommand) -> str:
    """`` (moderators and up, cooldown 30 s)`` for the options a ``!cmd add``/``edit`` set, else ``""``."""
    said = []
    if new.permission is not None:
        role = Role.parse(new.permission)
        said.append("everyone" if role is Role.EVERYONE else f"{role.plural} and up")
    if new.cooldown_s is not None:
        said.append(f"cooldown {new.cooldown_s:g} s")
    return f" ({', '.join(said)})" if said else ""


def _sendable(template: str, what: str) -> bool:
    """False (and a warning naming ``what``) when a stored response or timer ``template`` itself starts like
    a command (``command_start``: stored before that was refused)."""
    reason = command_start(template)
    if reason is not None:
        log.warning("commands: %s not sent: it %s", what, reason)
    return reason is None


def check_name_or_none(text: str, prefix: str = "!") -> str | None:
    """The command name in ``!cmd remove NAME`` (``None`` when empty); raises ``ValueError`` when bad."""
    words = text.split()
    return check_name(words[0], prefix) if words else None
