"""The router: one event in, the right skill hooks and command handlers run, replies out in order.

What it owns (see ``docs/routing.md``):

- **Commands.** ``<prefix><name> args`` (``bot.parsing``) goes to the declaring skill's handler after the
  permission check (``Viewer.level >= CommandSpec.permission``, and the role named by the skill's
  setting ``CommandSpec.permission_setting`` where one is declared) and the cooldown check
  (``bot.cooldowns``; moderators and the broadcaster bypass cooldowns when ``mods_bypass_cooldowns``).
  A viewer who is denied sees nothing, as on Nightbot and Fossabot (both ignore a command the viewer may
  not use and one that is cooling down: a reply would itself be spam). ``notify_denied=True``
  (``bot.notify_denied``) answers a permission denial with one short line instead. Denials are counted.
  Then the per-viewer budget (``bot.flood``): viewers ``viewer_commands_per_30s``, moderators and the
  broadcaster ``staff_commands_per_30s`` commands per 30 s in a channel; a use stopped by a cooldown or
  the permission check is not counted, nor one the command declares free (``CommandSpec.budget``).
  A viewer over the budget is ignored silently; a moderator or the broadcaster is told, at most once per
  30 s (``THROTTLED_NOTICE_COOLDOWN``), that they are sending commands too fast.
- **Custom commands.** A skill that overrides ``custom_command`` (``skills.commands``: a streamer's text
  commands, defined in config or added from chat) is asked about a one-word ``<prefix><name>`` that no
  skill declared; what it returns goes through the same permission, cooldown, ordering and isolation as
  a declared command. A declared command always wins over a custom one of the same name.
- **Hooks.** Every chat message that is not a command goes to ``on_message`` of every skill enabled in
  that channel; presence and stream status to ``on_presence`` / ``on_stream_status``. Every chat message,
  commands included, first goes to ``note_chatter`` (synchronous: who chatted where). Hooks a skill did
  not override are detected once, at construction, and never scheduled.
- **Concurrency and order.** Every handler runs in its own task, so a slow skill never delays another.
  ``ctx.reply`` is buffered per invoking message and released in the order the messages arrived in that
  channel: the oldest message still running streams its replies straight out; later ones wait.
- **Isolation.** A handler that raises is logged with its traceback and counted (``skill_errors``); one that
  runs past its time budget (``CommandSpec.time_budget_s``, a skill's ``time_budget_s`` attribute, or the
  router's default) is cancelled, logged and counted (``skill_timeouts``). The router never raises.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import replace
from typing import Any

from bot.clock import Clock
from bot.commands import CommandSpec, Cooldown, declared_commands
from bot.cooldowns import CooldownBuckets
from bot.events import ChatMessage, Presence, Priority, Reply, Role, StreamStatus, Viewer
from bot.flood import ViewerBudget
from bot.parsing import CommandParser
from skills.base import Skill, SkillSettings

log = logging.getLogger("chatcast.router")

ChannelKey = tuple[str, str]


class _Route:
    __slots__ = ("skill", "spec", "handler")

    def __init__(self, skill: Skill, spec: CommandSpec, handler: Callable[..., Awaitable[None]]) -> None:
        self.skill = skill
        self.spec = spec
        self.handler = handler


class _Slot:
    """Replies of one invoking message: buffered until every older message in the channel finished."""

    __slots__ = ("buffer", "done", "live")

    def __init__(self, live: bool) -> None:
        self.buffer: deque[Reply] = deque()
        self.done = False
        self.live = live  # head of its channel's queue: replies may go straight out


class Invocation:
    """The ``bot.commands.CommandContext`` the router hands a command handler.

    ``message``, ``invoked_as`` (the declared name matched, lower-case), ``args`` (list of str), ``rest``
    (text after the name), ``settings`` (the skill's settings for this channel), ``skill_name``, ``spec``.
    """

    __slots__ = (
        "message", "invoked_as", "args", "rest", "settings", "skill_name", "spec", "_router", "_slot",
    )

    def __init__(
        self, router: Router, slot: _Slot, message: ChatMessage, invoked_as: str, args: list[str], rest: str,
        settings: Any, skill_name: str, spec: CommandSpec,
    ) -> None:
        self.message = message
        self.invoked_as = invoked_as
        self.args = args
        self.rest = rest
        self.settings = settings
        self.skill_name = skill_name
        self.spec = spec
        self._router = router
        self._slot = slot

    @property
    def author(self) -> Viewer:
        """The viewer who typed the command."""
        return self.message.author

    @property
    def channel(self) -> str:
        """The channel the command was typed in."""
        return self.message.channel

    @property
    def platform(self) -> str:
        """The platform of the invoking message."""
        return self.message.platform

    async def reply(self, text: str, *, priority: Priority = Priority.HIGH, whisper: bool = False) -> None:
        """Queue ``text`` for the invoking channel (or a whisper to the author); empty text is ignored.
        A ``HIGH`` reply to a moderator or the broadcaster goes out as ``STAFF`` (ahead of viewers').

        Replies keep the order of the messages that caused them; this returns once the reply is handed
        to the outgoing queue (or buffered behind an older message still running). Never raises.
        """
        if not isinstance(text, str) or not text.strip():
            return
        msg = self.message
        if priority is Priority.HIGH and msg.author.level >= Role.MODERATOR:
            priority = Priority.STAFF  # the streamer's !help must not wait behind 400 viewers' !mydata
        reply = Reply(
            platform=msg.platform, channel=msg.channel, text=text, in_reply_to=msg.message_id,
            priority=priority, whisper_to=msg.author.user_id if whisper else None,
            addressee=msg.author.display_name or None,
        )
        await self._router._emit((msg.platform, msg.channel), self._slot, reply)


STAFF_BUDGET_FACTOR = 3
"""Without ``staff_commands_per_30s``, moderators and the broadcaster may use this many times the viewers'
commands per 30 s (12 with the default 4)."""

THROTTLED_NOTICE_COOLDOWN = Cooldown(user_s=30.0)
"""One "you are sending commands too fast" notice per moderator (or broadcaster) and channel every 30 s,
whatever the command: further ignored commands in that time are silent."""

DENIED_NOTICE_COOLDOWN = Cooldown(channel_s=5.0, user_s=30.0)
"""With ``notify_denied``: one "is for moderators" notice per viewer and command every 30 s, one per
command and channel every 5 s (a viewer spamming a moderator command must not make the bot spam)."""


def _needed_level(spec: CommandSpec, settings: Any) -> Role:
    """The level a command needs in a channel: ``spec.permission``, raised to the role the skill's
    setting ``spec.permission_setting`` names. Raises ``AttributeError``/``ValueError`` on a bad setting."""
    if spec.permission_setting is None:
        return spec.permission
    return max(spec.permission, Role.parse(str(getattr(settings, spec.permission_setting))))


class _OneWordNames:
    """Every one-word name (what a custom command may be called); the parser asks ``in``."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and " " not in name


def _overrides(skill: object, hook: str) -> bool:
    """True when ``skill``'s class replaces ``Skill.<hook>`` (the base one does nothing)."""
    return getattr(type(skill), hook, None) is not getattr(Skill, hook)


class Router:
    """Routes events to skills (see module docstring).

    Parameters (all callables are called on the event loop, per event, and must be cheap):

    - ``skills``: the skill instances, in priority order (a command name declared twice goes to the first).
    - ``prefix_for(platform, channel) -> str``: the command prefix there (default ``"!"`` in config).
    - ``enabled_for(skill_name, platform, channel) -> bool``.
    - ``settings_for(skill_name, platform, channel) -> SkillSettings``.
    - ``send(reply) -> awaitable``: hands a reply to the outgoing queue (``Outbox.put``); must not block.
    - ``clock``: drives cooldowns.
    - ``mods_bypass_cooldowns``: moderators and the broadcaster ignore cooldowns.
    - ``time_budget_s``: default seconds a handler may run before it is cancelled (> 0).
    - ``max_in_flight``: handlers running at once; beyond it ``handle`` waits for one to finish
      (back-pressure on the adapter instead of unbounded memory in a fast replay).
    - ``notify_denied``: answer a permission denial with a short line (default: silent, like Nightbot).
    - ``viewer_commands_per_30s``: commands one viewer (below moderator) may use per 30 s in a channel;
      more are ignored silently and counted as ``viewer_throttled`` (``bot.flood``); 0 = no limit.
    - ``staff_commands_per_30s``: the same for each moderator and the broadcaster (counted as
      ``staff_throttled``, and answered with one "too fast" notice per person every 30 s);
      ``None`` = 3 x ``viewer_commands_per_30s``; 0 = no limit. Twitch's 20 messages per 30 s are per
      connection, so one channel's moderator must not use them all.

    Skills with an ``attach_router(router)`` method (``bot.builtin.BuiltinSkill``) get this router.
    Raises ``ValueError`` for a non-positive ``time_budget_s`` or ``max_in_flight``, or a negative budget.
    """

    def __init__(
        self,
        skills: Iterable[Skill],
        *,
        prefix_for: Callable[[str, str], str],
        enabled_for: Callable[[str, str, str], bool],
        settings_for: Callable[[str, str, str], SkillSettings | Any],
        send: Callable[[Reply], Awaitable[None]],
        clock: Clock,
        mods_bypass_cooldowns: bool = True,
        time_budget_s: float = 10.0,
        max_in_flight: int = 10_000,
        notify_denied: bool = False,
        cooldowns: CooldownBuckets | None = None,
        viewer_commands_per_30s: int = 4,
        staff_commands_per_30s: int | None = None,
    ) -> None:
        if time_budget_s <= 0:
            raise ValueError(f"time_budget_s must be > 0, got {time_budget_s}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        self.skills: list[Skill] = list(skills)
        self._prefix_for = prefix_for
        self._enabled_for = enabled_for
        self._settings_for = settings_for
        self._send = send
        self.clock = clock
        self.mods_bypass_cooldowns = mods_bypass_cooldowns
        self.time_budget_s = time_budget_s
        self.max_in_flight = max_in_flight
        self.notify_denied = notify_denied
        self.cooldowns = cooldowns or CooldownBuckets(clock)
        self.viewer_budget = ViewerBudget(clock, viewer_commands_per_30s, 30.0)
        if staff_commands_per_30s is None:
            staff_commands_per_30s = STAFF_BUDGET_FACTOR * viewer_commands_per_30s
        self.staff_budget = ViewerBudget(clock, staff_commands_per_30s, 30.0)
        self.stats: dict[str, int] = {
            "messages": 0, "commands_handled": 0, "commands_denied": 0, "cooldown_hits": 0,
            "viewer_throttled": 0, "staff_throttled": 0, "skill_errors": 0, "skill_timeouts": 0,
            "hooks_run": 0, "replies": 0, "send_errors": 0, "events_rejected": 0,
        }
        self._routes: dict[str, _Route] = {}
        self._specs: list[tuple[str, CommandSpec]] = []
        for skill in self.skills:
            for spec, handler in declared_commands(skill):
                taken = [n for n in spec.names if n in self._routes]
                if taken:
                    log.warning(
                        "skill %s: command name(s) %s already declared by %s; ignored",
                        skill.name, ", ".join(taken), self._routes[taken[0]].skill.name,
                    )
                free = [n for n in spec.names if n not in self._routes]
                if not free:
                    continue
                route = _Route(skill, spec, handler)
                for n in free:
                    self._routes[n] = route
                self._specs.append((skill.name, spec))
        self._parser = CommandParser(self._routes)
        self._custom_sources = [skill for skill in self.skills if _overrides(skill, "custom_command")]
        self._custom_parser = CommandParser(_OneWordNames())
        self._message_hooks = self._hooks("on_message")
        self._chatter_hooks = [skill for skill in self.skills if _overrides(skill, "note_chatter")]
        self._presence_hooks = self._hooks("on_presence")
        self._status_hooks = self._hooks("on_stream_status")
        # in-flight task -> (loop-time deadline, budget s, skill name, what it runs, channel key, slot)
        self._tasks: dict[asyncio.Task[None], tuple[float, float, str, str, Any, Any]] = {}
        self._expired: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.TimerHandle | None = None
        self._watch_period = 0.25  # seconds; lowered to budget/4 for short budgets
        self._capacity: asyncio.Event | None = None  # set when a slot frees up under max_in_flight
        self._order: dict[ChannelKey, deque[_Slot]] = {}
        self._releasing: set[ChannelKey] = set()
        for skill in self.skills:
            attach = getattr(skill, "attach_router", None)
            if callable(attach):
                attach(self)

    # ---- public API -------------------------------------------------------------------------------

    def commands(self) -> list[tuple[str, CommandSpec]]:
        """Every declared command as ``(skill_name, spec)``, in skill order (for help / slash commands)."""
        return list(self._specs)

    def visible_commands(self, platform: str, channel: str, level: Role) -> list[tuple[str, CommandSpec]]:
        """Commands a viewer of ``level`` may use in that channel (skill enabled, permission met): the
        declared ones, then the custom ones (``Skill.custom_commands``) no declared name shadows. A command
        whose level is a setting (``permission_setting``) comes with that channel's level as its
        ``permission``."""
        out = []
        for skill in self._custom_sources:
            try:
                if not self._enabled_for(skill.name, platform, channel):
                    continue
                custom = skill.custom_commands(platform, channel)
            except Exception:  # noqa: BLE001 - a broken skill must not break help
                log.exception("custom commands of %s in %s/%s failed", skill.name, platform, channel)
                continue
            out.extend(
                # an alias a declared command also uses never reaches the custom one: do not show it
                (skill.name, replace(spec, aliases=tuple(a for a in spec.aliases if a not in self._routes)))
                for spec in custom
                if spec.permission <= level and spec.name not in self._routes
            )
        custom_part, out = out, []
        for skill_name, spec in self._specs:
            if spec.permission > level:
                continue
            try:
                if not self._enabled_for(skill_name, platform, channel):
                    continue
                if spec.permission_setting is not None:
                    settings = self._settings_for(skill_name, platform, channel)
                    needed = _needed_level(spec, settings)
                    if needed > level:
                        continue
                    # "!help c4 start" said nobody's level: its level is this channel's setting (trial 24)
                    spec = replace(spec, permission=needed)
            except Exception:  # noqa: BLE001 - a config callback must not break help
                log.exception("enabled_for(%s, %s, %s) failed", skill_name, platform, channel)
                continue
            out.append((skill_name, spec))
        return out + custom_part

    def prefix(self, platform: str, channel: str) -> str:
        """The command prefix in that channel (``prefix_for``; ``"!"`` if it fails or is empty)."""
        try:
            return self._prefix_for(platform, channel) or "!"
        except Exception:  # noqa: BLE001
            log.exception("prefix_for(%s, %s) failed", platform, channel)
            return "!"

    def lookup(self, name: str) -> tuple[str, CommandSpec] | None:
        """``(skill_name, spec)`` of a declared name or alias (lower-case), else ``None``."""
        route = self._routes.get(name)
        return (route.skill.name, route.spec) if route else None

    @property
    def in_flight(self) -> int:
        """Handlers running now."""
        return len(self._tasks)

    async def handle(self, event: ChatMessage | Presence | StreamStatus) -> None:
        """Route one event. Returns once handlers are scheduled (or waits while ``max_in_flight`` are
        running). Never raises: bad events are logged and counted in ``events_rejected``."""
        try:
            kind = type(event)
            if kind is ChatMessage:
                await self._on_chat(event)  # type: ignore[arg-type]
            elif kind is Presence:
                await self._fan_out(self._presence_hooks, "on_presence", event)
            elif kind is StreamStatus:
                await self._fan_out(self._status_hooks, "on_stream_status", event)
            else:
                self.stats["events_rejected"] += 1
                log.warning("router: ignored event of unknown type %s", kind.__name__)
        except Exception:  # noqa: BLE001 - the bot carries on whatever one event does
            self.stats["events_rejected"] += 1
            log.exception("router: failed to route %r", type(event).__name__)

    async def settle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds (wall) for the handlers running now to finish, then give their
        replies a few loop turns to be handed to ``send``. True when no handler is left running.

        Replays call it after every line so the log's clock does not run ahead of the handlers."""
        for _ in range(3):  # quick handlers (most) finish within a few loop turns: no waiter needed
            if not self._tasks:
                break
            await asyncio.sleep(0)
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        for key in list(self._order):  # hand finished messages' replies to ``send`` now, in order
            await self._release(key)
        return not any(not t.done() for t in self._tasks)

    async def drain(self) -> None:
        """Wait until every in-flight handler finished and its replies were handed to ``send``."""
        while True:
            self._reap()
            pending = [t for t in self._tasks if not t.done()]
            if not pending:
                break
            await asyncio.gather(*pending, return_exceptions=True)
        for key in list(self._order):
            await self._release(key)

    async def stop(self) -> None:
        """Cancel every in-flight handler and wait for them (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._tasks.clear()
        self._expired.clear()
        self._order.clear()  # replies still buffered behind cancelled handlers are dropped
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    # ---- chat messages ----------------------------------------------------------------------------

    async def _on_chat(self, msg: ChatMessage) -> None:
        stats = self.stats
        stats["messages"] += 1
        text = msg.text
        if not isinstance(text, str) or not isinstance(msg.author, Viewer):
            stats["events_rejected"] += 1
            log.warning("router: malformed chat message %r skipped", msg.message_id)
            return
        if self._chatter_hooks:
            self._note_chatter(msg)
        parsed = None
        if self._routes:
            parsed = self._parser.parse(text, self.prefix(msg.platform, msg.channel))
        if parsed is not None:
            route = self._routes[parsed.name]
            if self._enabled_for(route.skill.name, msg.platform, msg.channel):
                await self._dispatch_command(msg, route, parsed.name, list(parsed.args), parsed.rest)
                return
        elif self._custom_sources and await self._dispatch_custom(msg, text):
            return
        if self._message_hooks:
            await self._fan_out(self._message_hooks, "on_message", msg)

    def _note_chatter(self, msg: ChatMessage) -> None:
        """``note_chatter`` of every enabled skill that overrides it (a command counts as chat too: a viewer
        who only typed ``!mood`` had not "chatted" for ``{touser}``). Never raises."""
        for skill in self._chatter_hooks:
            try:
                if self._enabled_for(skill.name, msg.platform, msg.channel):
                    skill.note_chatter(msg)
            except Exception:  # noqa: BLE001 - isolation, as for the other hooks
                self.stats["skill_errors"] += 1
                log.exception("skill %s: note_chatter failed", skill.name)

    async def _dispatch_command(
        self, msg: ChatMessage, route: _Route, name: str, args: list[str], rest: str
    ) -> None:
        spec = route.spec
        author = msg.author
        level = author.level
        skill = route.skill
        try:
            settings = self._settings_for(skill.name, msg.platform, msg.channel)
            needed = _needed_level(spec, settings)
        except Exception:  # noqa: BLE001
            self.stats["skill_errors"] += 1
            log.exception("settings for skill %s in %s/%s failed", skill.name, msg.platform, msg.channel)
            return
        if level < needed:
            self.stats["commands_denied"] += 1
            log.debug("denied %s to %s (needs %s)", name, author.user_id, needed.name)
            if self.notify_denied and self.cooldowns.try_acquire(
                f"denied:{spec.name}", DENIED_NOTICE_COOLDOWN,
                platform=msg.platform, channel=msg.channel, user_id=author.user_id,
            ) is None:
                prefix = self.prefix(msg.platform, msg.channel)
                who = author.display_name
                await self._notice(msg, f"@{who} {prefix}{name} is for {needed.plural} and above.")
            return
        cd = spec.cooldown
        cooling = (cd.global_s > 0 or cd.channel_s > 0 or cd.user_s > 0) and not (
            self.mods_bypass_cooldowns and level >= Role.MODERATOR
        )
        if cooling:  # before the budget: a use the cooldown stops (no reply) must not use it up
            hit = self.cooldowns.check(
                spec.name, cd, platform=msg.platform, channel=msg.channel, user_id=author.user_id
            )
            if hit is not None:
                self.stats["cooldown_hits"] += 1
                # said at info in the console, where one person testing saw commands vanish without a word
                (log.info if msg.platform == "console" else log.debug)(
                    "%s on %s cooldown for %.1f s: no reply", name, hit.kind.value, hit.remaining_s)
                return
        if not self._within_budget(msg, spec, name, args):
            # moderator-level commands count too (trial 19: 30 "!cmd list" of ~500 characters in 15 s went
            # out, from the connection's 20 messages per 30 s); a moderator over the budget is told once
            if level >= Role.MODERATOR:
                await self._notify_throttled(msg, name)
            return
        if cooling:  # checked above, nothing awaited since
            self.cooldowns.start(
                spec.name, cd, platform=msg.platform, channel=msg.channel, user_id=author.user_id
            )
        self.stats["commands_handled"] += 1
        key = (msg.platform, msg.channel)
        slot = self._new_slot(key)
        ctx = Invocation(self, slot, msg, name, args, rest, settings, skill.name, spec)
        budget = spec.time_budget_s or getattr(skill, "time_budget_s", None) or self.time_budget_s
        what = f"command {name}"
        if len(self._tasks) >= self.max_in_flight:
            await self._wait_capacity()
        self._start(self._run_command(route, ctx, key, slot, what), skill.name, what, budget, key, slot)

    def _within_budget(self, msg: ChatMessage, spec: CommandSpec, name: str, args: list[str]) -> bool:
        """True when this use may run, counting it: not counted at all (``spec.budget`` false, or its
        function of ``args`` returns false), or within the author's budget (``staff_budget`` for
        moderators and the broadcaster, else ``viewer_budget``). False is counted (``viewer_throttled`` /
        ``staff_throttled``) and logged at debug level. A ``spec.budget`` function that raises counts the
        use (logged). Never raises."""
        counted = spec.budget
        if counted is not True and counted is not False:
            try:
                counted = bool(counted(args))  # type: ignore[operator]
            except Exception:  # noqa: BLE001 - a skill's predicate must not stop the command
                log.exception("budget check of %s failed; counted", name)
                counted = True
        if not counted:
            return True
        author = msg.author
        staff = author.level >= Role.MODERATOR
        budget = self.staff_budget if staff else self.viewer_budget
        if budget.allow(msg.platform, msg.channel, author.user_id):
            return True
        self.stats["staff_throttled" if staff else "viewer_throttled"] += 1
        # a moderator's ignored command is said in the log (a viewer flood would fill it)
        (log.info if staff or msg.platform == "console" else log.debug)(
            "%s ignored: %s used more than %d commands in 30 s (bot.%s_commands_per_30s)", name,
            author.display_name if staff else author.user_id, budget.limit, "staff" if staff else "viewer")
        return False

    async def _notify_throttled(self, msg: ChatMessage, name: str) -> None:
        """Tell a moderator or the broadcaster that a command was ignored for the staff budget, at most
        once per ``THROTTLED_NOTICE_COOLDOWN`` (a moderator is not a flood, and a silently ignored command
        looks like a broken bot). Viewers over their budget are not told: a notice per flood message would
        be the flood."""
        author = msg.author
        if self.cooldowns.try_acquire(
            "throttled:staff", THROTTLED_NOTICE_COOLDOWN,
            platform=msg.platform, channel=msg.channel, user_id=author.user_id,
        ) is not None:
            return
        budget = self.staff_budget
        wait = math.ceil(budget.retry_in(msg.platform, msg.channel, author.user_id))
        await self._notice(
            msg,
            f"@{author.display_name} you are sending commands too fast ({budget.limit} per "
            f"{budget.window_s:g} s): {self.prefix(msg.platform, msg.channel)}{name} was ignored; try again "
            f"in {max(1, wait)} s.",
            Priority.STAFF,
        )

    async def _notice(self, msg: ChatMessage, text: str, priority: Priority = Priority.NORMAL) -> None:
        """Reply ``text`` to ``msg`` from the router itself (no handler ran), in the channel's reply order."""
        key = (msg.platform, msg.channel)
        slot = self._new_slot(key)
        slot.done = True
        slot.buffer.append(
            Reply(msg.platform, msg.channel, text, in_reply_to=msg.message_id, priority=priority)
        )
        await self._release(key)

    async def _dispatch_custom(self, msg: ChatMessage, text: str) -> bool:
        """Run ``<prefix><name>`` as a custom command if a skill defines ``name`` here; True if one did."""
        parsed = self._custom_parser.parse(text, self.prefix(msg.platform, msg.channel))
        if parsed is None or parsed.name in self._routes:  # a declared command of a disabled skill
            return False
        for skill in self._custom_sources:
            try:
                if not self._enabled_for(skill.name, msg.platform, msg.channel):
                    continue
                spec = skill.custom_command(msg.platform, msg.channel, parsed.name)
            except Exception:  # noqa: BLE001 - the bot carries on whatever one skill does
                self.stats["skill_errors"] += 1
                log.exception("custom command lookup of %s failed", skill.name)
                continue
            if spec is not None:
                route = _Route(skill, spec, skill.run_custom)
                await self._dispatch_command(msg, route, parsed.name, list(parsed.args), parsed.rest)
                return True
        return False

    async def _run_command(
        self, route: _Route, ctx: Invocation, key: ChannelKey, slot: _Slot, what: str
    ) -> None:
        try:
            await self._guarded(route.skill.name, what, route.handler(ctx), finish=False)
        finally:
            slot.done = True
            try:
                await self._release(key)
            finally:
                self._finish(asyncio.current_task())

    async def _release_and_finish(self, key: ChannelKey) -> None:
        try:
            await self._release(key)
        finally:
            self._finish(asyncio.current_task())

    # ---- hooks -------------------------------------------------------------------------------------

    def _hooks(self, hook: str) -> list[tuple[Skill, Callable[[Any], Awaitable[None]], float]]:
        """``(skill, bound hook, budget)`` for every skill that overrides ``hook`` (found once)."""
        return [
            (skill, getattr(skill, hook), getattr(skill, "time_budget_s", None) or self.time_budget_s)
            for skill in self.skills
            if _overrides(skill, hook)
        ]

    async def _fan_out(
        self, hooks: list[tuple[Skill, Callable[[Any], Awaitable[None]], float]], hook: str, event: Any
    ) -> None:
        platform, channel = event.platform, event.channel
        for skill, method, budget in hooks:
            try:
                if not self._enabled_for(skill.name, platform, channel):
                    continue
            except Exception:  # noqa: BLE001
                self.stats["events_rejected"] += 1
                log.exception("enabled_for(%s, %s, %s) failed", skill.name, platform, channel)
                continue
            self.stats["hooks_run"] += 1
            if len(self._tasks) >= self.max_in_flight:
                await self._wait_capacity()
            self._start(self._guarded(skill.name, hook, method(event)), skill.name, hook, budget)

    # ---- tasks, budgets, isolation ----------------------------------------------------------------

    async def _wait_capacity(self) -> None:
        """Wait until fewer than ``max_in_flight`` handlers run (back-pressure on the caller)."""
        while len(self._tasks) >= self.max_in_flight:
            if self._capacity is None:
                self._capacity = asyncio.Event()
            self._capacity.clear()
            await self._capacity.wait()

    def _start(
        self, coro: Coroutine[Any, Any, None], skill_name: str, what: str, budget: float,
        key: ChannelKey | None = None, slot: _Slot | None = None,
    ) -> None:
        """Run ``coro`` in its own task under a deadline ``budget`` seconds of loop time away.

        Deadlines are enforced by one watchdog timer for all tasks, and a task removes itself from
        ``_tasks`` when it ends: no ``asyncio.timeout`` and no done-callback per task, each of which
        would cost the (pure-Python) event loop another handle per message per skill.
        """
        loop = asyncio.get_running_loop()
        task = loop.create_task(coro)
        self._tasks[task] = (loop.time() + budget, budget, skill_name, what, key, slot)
        if budget < self._watch_period * 4:
            self._watch_period = max(0.001, budget / 4)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._watch_period, self._watch)

    def _finish(self, task: asyncio.Task[Any] | None) -> None:
        """Forget a finished task and wake ``_wait_capacity``."""
        if task is None:
            return
        self._tasks.pop(task, None)
        self._expired.discard(task)
        if self._capacity is not None and len(self._tasks) < self.max_in_flight:
            self._capacity.set()

    def _reap(self) -> None:
        """Clean up tasks that ended without running (cancelled before their first step)."""
        for task, entry in list(self._tasks.items()):
            if not task.done():
                continue
            self._finish(task)
            key, slot = entry[4], entry[5]
            if slot is not None and key is not None and not slot.done:
                slot.done = True  # never ran: release the replies queued behind it
                self._start(self._release_and_finish(key), "router", "release", self.time_budget_s)

    def _watch(self) -> None:
        """Cancel tasks past their deadline (counted and logged once each); re-arm while tasks remain."""
        self._watchdog = None
        self._reap()
        if not self._tasks:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for task, (deadline, budget, skill_name, what, _, _) in list(self._tasks.items()):
            if deadline > now:
                continue
            if task not in self._expired:
                self._expired.add(task)
                self.stats["skill_timeouts"] += 1
                log.error(
                    "skill %s: %s exceeded its time budget of %.3g s; cancelled", skill_name, what, budget
                )
            task.cancel()
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._watch_period, self._watch)

    async def _guarded(
        self, skill_name: str, what: str, coro: Awaitable[None], *, finish: bool = True
    ) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            if self._expired and asyncio.current_task() in self._expired:
                return  # our watchdog's cancellation: already counted; the bot carries on
            raise
        except Exception:  # noqa: BLE001 - isolation: one skill's bug must not stop the bot
            self.stats["skill_errors"] += 1
            log.exception("skill %s: %s failed", skill_name, what)
        finally:
            if finish:
                self._finish(asyncio.current_task())

    # ---- ordered replies --------------------------------------------------------------------------

    def _new_slot(self, key: ChannelKey) -> _Slot:
        queue = self._order.get(key)
        if queue is None:
            queue = self._order[key] = deque()
        slot = _Slot(live=not queue)
        queue.append(slot)
        return slot

    async def _emit(self, key: ChannelKey, slot: _Slot, reply: Reply) -> None:
        if slot.done or (slot.live and not slot.buffer and key not in self._releasing):
            await self._send_safe(reply)
            return
        slot.buffer.append(reply)
        queue = self._order.get(key)
        if queue and queue[0] is slot:
            await self._release(key)

    async def _release(self, key: ChannelKey) -> None:
        """Send buffered replies of finished messages at the head of the channel's queue, in order."""
        if key in self._releasing:
            return  # the coroutine already releasing this channel will see new buffers
        queue = self._order.get(key)
        if not queue:
            return
        self._releasing.add(key)
        try:
            while queue:
                head = queue[0]
                while head.buffer:
                    await self._send_safe(head.buffer.popleft())
                if head.done:
                    queue.popleft()
                    continue
                head.live = True
                break
        finally:
            self._releasing.discard(key)
            if not queue and self._order.get(key) is queue:
                del self._order[key]

    async def _send_safe(self, reply: Reply) -> None:
        self.stats["replies"] += 1
        try:
            await self._send(reply)
        except Exception:  # noqa: BLE001 - a broken queue must not kill the handler
            self.stats["send_errors"] += 1
            log.exception("router: send to %s/%s failed", reply.platform, reply.channel)
