"""The core skill: ``!help`` / ``!commands`` and ``!help CMD``, generated from the command declarations.

The router hands itself to this skill (``attach_router``), so help always matches what is declared,
enabled in the channel and allowed to the viewer who asks. ``!help`` fits in one message of the
channel's platform (names only, cut with an ellipsis if there are very many); ``!help CMD`` shows one
command's help text, usage, aliases, who may use it and its cooldowns, as "About !CMD ...": no help line
starts with the prefix, which another bot in the channel would run as its command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from bot.commands import CommandContext, CommandSpec, Cooldown, command
from bot.events import ChatMessage, Role
from bot.splitting import fit_page, truncate_message
from skills.base import Skill, SkillSettings

if TYPE_CHECKING:
    from bot.router import Router

DEFAULT_MAX_LEN = 500

MAX_HELP_PAGE = 50  # "!help 99999999" must not loop through pages that do not exist
HELP_LIST_COOLDOWN = Cooldown(channel_s=5, user_s=15)
"""``!help`` (the list): a raid's 30 "!help" in 20 s got the same list up to 6 times, late."""
HELP_COMMAND_COOLDOWN = Cooldown(channel_s=5, user_s=5)
"""``!help CMD``, per command asked about: its own, so "!help" then "!help lurk" 9 s later is answered
(trial 19: it was silent behind the list's 15 s)."""


class BuiltinSettings(SkillSettings):
    """``[skills.core]``: only ``enabled`` (disable to hide ``!help`` in a channel)."""


def describe_command(spec: CommandSpec, prefix: str) -> str:
    """One line for ``!help CMD``, e.g. ``About !so <user> (moderators and up): Shout out a streamer.
    Cooldown: 30 s per channel.`` It starts with a word, never with the command: a line starting
    ``!cmd ...`` would be run as a command by another bot in the channel (StreamElements' ``!cmd``)."""
    head = f"About {prefix}{spec.name}"
    if spec.usage:
        head += f" {spec.usage}"
    if spec.permission > Role.EVERYONE:
        head += f" ({spec.permission.plural} and up)"
    bits = [f"{head}: {spec.help or 'no description.'}".rstrip()]
    if spec.aliases:
        bits.append("Aliases: " + ", ".join(prefix + a for a in spec.aliases) + ".")
    cd = spec.cooldown
    cooldowns = [
        f"{value:g} s {label}"
        for value, label in ((cd.global_s, "global"), (cd.channel_s, "per channel"), (cd.user_s, "per user"))
        if value > 0
    ]
    if cooldowns:
        bits.append("Cooldown: " + ", ".join(cooldowns) + ".")
    return " ".join(bits)


def group_names(names: list[str], prefix: str) -> list[str]:
    """Fold sub-commands under their command: ``["story", "story add", "story end"]`` with ``!`` ->
    ``["!story [add|end]"]``; ``["c4 top"]`` alone -> ``["!c4 top"]``. Order of first appearance kept."""
    groups: dict[str, tuple[bool, list[str]]] = {}
    for name in names:
        head, _, sub = name.partition(" ")
        has_base, subs = groups.setdefault(head, (False, []))
        if sub:
            subs.append(sub)
        else:
            groups[head] = (True, subs)
    out = []
    for head, (has_base, subs) in groups.items():
        subs = sorted(set(subs))
        if not subs:
            out.append(prefix + head)
        elif has_base:
            out.append(f"{prefix}{head} [{'|'.join(subs)}]")
        elif len(subs) == 1:
            out.append(f"{prefix}{head} {subs[0]}")
        else:
            out.append(f"{prefix}{head} {'|'.join(subs)}")
    return out


def command_list(specs: list[CommandSpec], prefix: str, max_len: int, page: int = 1) -> str | None:
    """``Commands: !a, !b [x|y], ... (!help CMD for details)`` in at most ``max_len`` characters: whole
    names while they fit, then ``+N more on !help 2``; ``page`` 2, 3... lists the next ones
    (``Commands, page 2: ...``; a channel with 60 commands showed 14 and "+46 more" with no way to see
    them). ``None`` for a page past the end.

    A one-word alias shorter than its command is shown beside it (``!recommend/!rec``): viewers type
    the short form, and ``!help`` should teach it; longer synonyms (``!commands``) are left out."""
    tail = f" ({prefix}help CMD for details)"
    grouped = group_names([s.name for s in specs], prefix)
    for spec in specs:
        short = [a for a in spec.aliases if " " not in a and len(a) < len(spec.name)]
        if short and " " not in spec.name:
            head = prefix + spec.name
            grouped = [
                head + "".join(f"/{prefix}{a}" for a in short) + g[len(head):]
                if g == head or g.startswith(head + " ") else g
                for g in grouped
            ]
    start, number = 0, 1
    while start < len(grouped) or number == 1:
        head = "Commands: " if number == 1 else f"Commands, page {number}: "
        hint = f" on {prefix}help {number + 1}"
        text, shown = fit_page(head, grouped[start:], tail, max_len, more_hint=hint)
        if number == page:
            return text
        if shown == 0:
            break
        start, number = start + shown, number + 1
    return None


class BuiltinSkill(Skill):
    """Help generated from the router's declarations (see module docstring). Stores nothing."""

    name: ClassVar[str] = "core"
    Settings: ClassVar[type[SkillSettings]] = BuiltinSettings
    stores: ClassVar[str] = "nothing"

    router: Router | None = None

    def attach_router(self, router: Router) -> None:
        """Called by ``Router`` on construction."""
        self.router = router

    @staticmethod
    def _cooling(router: Router, msg: ChatMessage, key: str, cooldown: Cooldown) -> bool:
        """True when ``key``'s cooldown stops this use (and it is counted as a cooldown hit); else the
        cooldown starts now. Moderators pass when the router lets them bypass cooldowns."""
        if router.mods_bypass_cooldowns and msg.author.level >= Role.MODERATOR:
            return False
        hit = router.cooldowns.try_acquire(key, cooldown, platform=msg.platform, channel=msg.channel,
                                           user_id=msg.author.user_id)
        if hit is not None:
            router.stats["cooldown_hits"] += 1
        return hit is not None

    def _max_len(self, platform: str, channel: str) -> int:
        info_fn = getattr(getattr(self, "ctx", None), "channel_info", None)
        if callable(info_fn):
            try:
                return int(info_fn(platform, channel).max_message_len)
            except Exception:  # noqa: BLE001 - fall back to Twitch's length, the smallest
                pass
        return DEFAULT_MAX_LEN

    @command("help", aliases=("commands",), help="List the commands you can use (once per 5 s in a channel), "
             "or explain one.", usage="[command]")
    async def help(self, ctx: CommandContext) -> None:
        """``!help``: the commands the caller may use here; ``!help CMD``: one command in detail. Each form
        has its own cooldowns (``HELP_LIST_COOLDOWN``, ``HELP_COMMAND_COOLDOWN``), moderators bypass them
        as the router's ``mods_bypass_cooldowns`` says; a use they stop gets no reply."""
        router = self.router
        if router is None:
            return
        msg = ctx.message
        prefix = router.prefix(msg.platform, msg.channel)
        visible = router.visible_commands(msg.platform, msg.channel, msg.author.level)
        max_len = self._max_len(msg.platform, msg.channel)
        page = int(ctx.args[0]) if ctx.args and ctx.args[0].isascii() and ctx.args[0].isdigit() else None
        if not ctx.args or (page is not None and 1 <= page <= MAX_HELP_PAGE):
            first = (page or 1) == 1
            cooldown = HELP_LIST_COOLDOWN if first else HELP_COMMAND_COOLDOWN
            if self._cooling(router, msg, "help" if first else f"help page {page}", cooldown):
                return
            text = command_list([spec for _, spec in visible], prefix, max_len, page or 1)
            await ctx.reply(text or f"The list is shorter than that: {prefix}help shows its start.")
            return
        words = [w.lower().removeprefix(prefix) for w in ctx.args[:2]]
        by_name = {n: spec for _, spec in visible for n in spec.names}
        spec = by_name.get(" ".join(words)) or by_name.get(words[0])
        if self._cooling(router, msg, f"help {spec.name if spec else '?'}", HELP_COMMAND_COOLDOWN):
            return
        if spec is None:  # never repeat the viewer's word: the bot would say whatever they typed
            await ctx.reply(f"No such command here. Try {prefix}help for the list.")
            return
        text = describe_command(spec, prefix)
        # "!help faq" told a moderator only the viewer form: name the sub-commands they may use too, except
        # those the help text already names ("!help story" listed "!story add" twice)
        subs = sorted({s.name for _, s in visible if s.name.startswith(spec.name + " ")
                       and prefix + s.name not in text})
        if subs:
            text += " Also: " + ", ".join(prefix + name for name in subs) + "."
        await ctx.reply(truncate_message(text, max_len))
