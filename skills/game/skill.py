"""GameSkill: Connect Four, chat (voting) or one viewer (challenge) against the self-play-trained bot.

Commands: ``!c4 start [easy|normal|hard]``, votes ``1``-``7`` or ``!c4 3``, ``!c4 challenge [level]``,
``!c4 forfeit``, ``!c4 stop`` (moderators), ``!c4 stats``, ``!c4 top``, ``!c4`` (status). See docs/game.md.

Time: vote windows and challenge move timers are deadlines on ``ctx.clock.monotonic()``; ``tick()`` (run
every ``tick_interval_s`` by a background task, or called by tests after moving a ``ManualClock``) closes
them. A timer counts from when its message reaches chat: when ``ctx.post`` returns a future of the send
time (the outbox held the board behind the platform's rate limit), the deadline waits for it (see
``_hold_timer``); a ``post`` that returns nothing starts the timer when the message is queued. The
bot's moves run in skill-owned tasks (a hard search can outlast a command's time budget); its leaf
evaluations go through ``ctx.engine.policy("c4", ...)`` so concurrent games share network batches.

Replays (a ``ManualClock`` that moves only with the log): each line is timed by its own log timestamp and
closes the deadlines before it; a move line stamped after a bot move started waits for that move (the search
takes no log time); ``drain(timeout)``, awaited by the runtime when the log ends, closes what expired and
waits for the bot's last move so it reaches the transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import unicodedata
import zlib
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from bot.clock import ManualClock
from bot.commands import CommandContext, command
from bot.events import ChatMessage, Priority, Role, Viewer
from bot.votes import busy_reply
from skills.base import Skill, SkillContext, SkillSettings
from skills.game.player import BotPlayer, Difficulty, engine_evaluator, local_evaluator, weights_loader
from skills.game.rules import Board, render_board, render_compact
from skills.game.voting import VoteWindow, parse_vote
from storage import game as game_store

log = logging.getLogger("chatcast.skill.game")

Level = Literal["easy", "normal", "hard"]
POLICY_NAME = "c4"


VOTE_OWNER = "a Connect Four game"  # what bot.votes tells another skill that wants chat's numbers

class GameSettings(SkillSettings):
    """``[skills.game]``: every key below (unknown keys are errors)."""

    vote_window_s: float = Field(20.0, gt=0, le=600, description="Seconds chat has to vote each move.")
    vote_extension_s: float = Field(20.0, gt=0, le=600, description="Extra seconds once when nobody voted.")
    anarchy: bool = Field(False, description="First legal vote is played at once instead of a majority.")
    start_permission: Literal["everyone", "moderator"] = "moderator"
    default_difficulty: Level = "normal"
    humans_play_first: bool = Field(True, description="Chat / the challenger plays X (moves first).")
    challenge_move_timeout_s: float = Field(
        60.0, gt=0, le=3600, description="A challenger forfeits after this."
    )
    max_challenges: int = Field(3, ge=0, le=100, description="Concurrent challenges per channel.")
    emoji_board: bool = Field(True, description="Emoji board where multi-line messages fit (Discord).")
    easy_simulations: int = Field(8, ge=1, le=20_000)
    normal_simulations: int = Field(100, ge=1, le=20_000)
    hard_simulations: int = Field(800, ge=1, le=20_000)
    seed: int | None = Field(
        None, description="Seed of the bot's move sampling and vote tie-breaks: the same log replays the "
        "same games (None: different every time)."
    )


def levels_from(settings: GameSettings) -> dict[str, Difficulty]:
    """Difficulty levels with this channel's simulation budgets."""
    return {
        "easy": Difficulty(settings.easy_simulations, temperature=1.5, root_pruning=False),
        "normal": Difficulty(settings.normal_simulations, temperature=0.5, temperature_moves=6),
        "hard": Difficulty(settings.hard_simulations, temperature=0.0),
    }


@dataclass
class Match:
    """One running game. ``owner`` is the challenger (``None`` for a chat vote game)."""

    platform: str
    channel: str
    difficulty: str
    board: Board
    human_side: int
    settings: GameSettings
    owner: Viewer | None = None
    window: VoteWindow | None = None
    move_deadline: float | None = None
    bot_thinking: bool = False
    bot_task: asyncio.Task | None = None
    bot_since: float = 0.0  # clock.monotonic() when the bot's move started
    # the message that announced the running timer while the outbox still holds it (see GameSkill._hold_timer)
    timer_post: asyncio.Future | None = None
    timer_from: float = 0.0  # clock.monotonic() the timer was set to count from
    timer_s: float = 0.0  # the timer's length, counted from the send
    finished: bool = False
    participants: dict[str, Viewer] = field(default_factory=dict)
    rng: np.random.Generator = field(default_factory=np.random.default_rng)

    @property
    def mode(self) -> str:
        return "chat" if self.owner is None else "challenge"

    @property
    def humans_to_move(self) -> bool:
        return not self.board.is_over and self.board.to_move == self.human_side


EXPLAIN_EVERY_S = 30.0
"""A free ``!c4 <column>`` (one the command budget does not count, see ``is_move``) that is no move (no
game, another viewer's challenge, the bot still thinking, a full column of one's own challenge) is
explained to a viewer at most once per this many seconds; the other uses are ignored silently. Trial 19:
one viewer's ``!c4 1``..``!c4 7`` every 0.5 s made 83 replies in a minute, used the channel's whole send
budget and made other viewers' replies stale."""
EXPLAIN_KEPT = 10_000  # viewers whose last explanation time is kept (older ones forgotten first)
EXPLAIN_CHANNEL_EVERY_S = 10.0
"""And at most once per channel per this many seconds, whoever asks: when the streamer says "let's play",
20 viewers typing ``!c4 4`` before a game starts got 20 explanations, Twitch's whole send budget
(trial 20); chat sees the one."""


def is_move(args: Sequence[str]) -> bool:
    """True when ``!c4`` arguments are a move or vote (``["4"]``): those are not counted against the
    per-viewer command budget (``bot.flood``), since the game has its own turns and move timeout and a
    challenger whose ``!c4 4`` was dropped silently lost on time. ``!c4`` alone, ``!c4 99`` are counted."""
    return bool(args) and parse_vote(args[0]) is not None


class GameSkill(Skill):
    """Connect Four against the bot (see module docstring)."""

    name = "game"
    Settings = GameSettings
    stores = (
        "Connect Four results: per viewer and channel, wins/draws/losses of games you voted in or "
        "challenged the bot to."
    )
    tick_interval_s: float = 0.5
    # Router budget per handler: in a fast replay a move line waits for the bot's move before it (see
    # ``_catch_up``); live, handlers never wait for a search.
    time_budget_s: float = 60.0
    # Live, a chat game's move is announced together with the bot's answer (one message per turn); when the
    # bot has not answered after this many seconds, chat is told how its vote went meanwhile. Replays (a
    # ``ManualClock``) never post this notice: the search takes no log time there.
    thinking_notice_s: float = 3.0
    # A timer whose message the outbox has neither sent nor dropped after this many seconds starts anyway
    # (the outbox drops a reply held longer than ``[bot] reply_max_age_s``, default 90 s).
    post_wait_max_s: float = 120.0
    weights_path: str | None = None  # None: the shipped skills/game/weights/c4_net.pt

    def __init__(self, ctx: SkillContext) -> None:
        super().__init__(ctx)
        self.chat_games: dict[tuple[str, str], Match] = {}
        self.challenges: dict[tuple[str, str, str], Match] = {}
        self.player: BotPlayer | None = None
        self._matches_started = 0
        self._tasks: set[asyncio.Task] = set()
        self._ticker: asyncio.Task | None = None
        self._tick_lock = asyncio.Lock()
        self._lines_lock = asyncio.Lock()  # chat lines are handled one at a time, in arrival order
        self._explained: dict[tuple[str, str, str], float] = {}  # viewer -> last free no-move reply

    def _match_rng(self, settings: GameSettings, *who: str) -> np.random.Generator:
        """A new match's generator: from ``settings.seed``, who plays and how many matches this skill has
        started (reproducible replays), or fresh entropy when no seed is set."""
        self._matches_started += 1
        if settings.seed is None:
            return np.random.default_rng()
        who_hash = zlib.crc32("/".join(who).encode())
        return np.random.default_rng([settings.seed, who_hash, self._matches_started])

    # --- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Create the tables, register the network with the engine (or prepare a local one), start timers."""
        game_store.migrate_game(self.ctx.storage)
        if self.player is None:
            from skills.game.network import DEFAULT_WEIGHTS

            target = self.weights_path or DEFAULT_WEIGHTS
            if not Path(target).exists():
                log.warning("Connect Four weights missing at %s: games will be cancelled", target)
            loader = weights_loader(self.weights_path)
            engine = self.ctx.engine
            if engine is not None and hasattr(engine, "register_policy"):
                engine.register_policy(POLICY_NAME, loader)
                fallback = local_evaluator(loader)  # a move the busy engine cannot answer in time
                self.player = BotPlayer(engine_evaluator(engine, POLICY_NAME, fallback=fallback))
            else:
                self.player = BotPlayer(local_evaluator(loader))
        if not isinstance(self.ctx.clock, ManualClock):
            # a replay ticks at line boundaries (``on_message``, ``replay_step``, ``drain``): a wall-clock
            # ticker would close windows at whatever log time the replay had reached, run to run different
            self._ticker = asyncio.create_task(self._tick_forever())

    async def stop(self) -> None:
        """Cancel timers and running bot moves (running games are dropped without a result)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._ticker
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_s)
            try:
                await self.tick()
            except Exception:  # noqa: BLE001 - the timer loop must survive one bad game
                log.exception("game tick failed")

    async def settle(self) -> None:
        """Wait until every bot move in progress is done (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def replay_step(self, timeout: float) -> None:
        """Close the vote windows and challenge timers due at the replay's new log time, then wait for the
        bot moves in progress (a search takes no log time in a replay; without this a fast replay read
        minutes of log while the bot thought, and chat forfeited a vote it never saw)."""
        try:
            await self.tick()
        except Exception:  # noqa: BLE001 - a replay carries on whatever one game does
            log.exception("game tick failed")
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def next_due(self) -> float | None:
        """The earliest vote-window close or challenge move deadline of a game waiting for its humans
        (``Skill.next_due``): a window of a sparse replay closed at the next line and the next one opened
        there (trial 26)."""
        times = [d for m in (*self.chat_games.values(), *self.challenges.values())
                 if not m.bot_thinking and (d := self._deadline(m)) is not None]
        finite = [t for t in times if t != float("inf")]  # held until its board is sent: not yet
        return min(finite) if finite else None

    async def drain(self, timeout: float | None = None) -> bool:
        """Finish background work before a replay ends: close timers already expired on the clock (a fast
        replay can end before the 0.5 s ticker ran) and wait for the bot moves in progress, so their
        answers reach the transcript. ``False`` when they are still running after ``timeout`` seconds
        (``None``: no limit); the runtime awaits this on every skill at the end of a replay."""

        async def finish() -> None:
            while True:
                await self.tick()
                if not self._tasks:
                    return
                await self.settle()

        try:
            await asyncio.wait_for(finish(), timeout)
        except TimeoutError:
            return False
        return True

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _start_bot(
        self, match: Match, human_col: int | None = None, at: float | None = None, votes: str = ""
    ) -> None:
        match.bot_thinking = True
        match.bot_since = self.ctx.clock.monotonic() if at is None else at
        match.bot_task = self._spawn(self._bot_turn(match, human_col=human_col, votes=votes))

    def _line_time(self, message: ChatMessage) -> float:
        """``message``'s time on ``clock.monotonic()``. A fast replay reads lines ahead of their handlers,
        so its ``ManualClock`` may already show a later line's time; the line's own log time counts.
        Live (any other clock): now."""
        clock = self.ctx.clock
        if not isinstance(clock, ManualClock):
            return clock.monotonic()
        behind = (clock.now() - message.timestamp).total_seconds()
        return clock.monotonic() - min(max(behind, 0.0), clock.monotonic())

    async def _catch_up(self, match: Match | None, at: float) -> None:
        """On a replay's ``ManualClock`` the search takes no log time: a line stamped later (``at``) than the
        start of the bot's move comes after the bot answered (live it would have), so wait for that move
        first. Live (any other clock) a line typed during the search is ignored as usual."""
        if match is None or not isinstance(self.ctx.clock, ManualClock):
            return
        task = match.bot_task
        if match.bot_thinking and task is not None and not task.done() and at > match.bot_since:
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    # --- output -------------------------------------------------------------------------------------
    async def _hint(self, ctx: CommandContext, text: str, *, throttle: bool = False) -> None:
        """Answer a viewer's mistake (a word for a column, someone else's game, no room for a challenge)
        below the game's own boards, and at most once per viewer every ``EXPLAIN_EVERY_S`` and per
        channel every ``EXPLAIN_CHANNEL_EVERY_S`` (``_may_explain``): in a busy chat 43 "Columns are 1-7"
        answers held the boards 30-50 s (trial 24), and 50 of them went on for a minute after the game
        was stopped (trial 26). ``throttle`` for answers to a free ``!c4 <word>`` line; a sub-command
        (``!c4 challenge`` when full, ``!c4 forfeit``), counted by the command budget, is always answered
        (throttled, one viewer's mistake silenced another's needed answer: trial 27), and so is a
        moderator, at their priority."""
        staff = ctx.author.level >= Role.MODERATOR
        if throttle and not staff and not self._may_explain(ctx.message):
            return
        await ctx.reply(text, priority=Priority.HIGH if staff else Priority.NORMAL)

    def _max_len(self, platform: str, channel: str) -> int:
        try:
            return int(self.ctx.channel_info(platform, channel).max_message_len)
        except Exception:  # noqa: BLE001 - unknown channel: assume the strictest platform
            return 500

    def render(self, match: Match, text: str) -> str:
        """``text`` plus the board: multi-line where messages may be long (Discord 2,000, console), else one
        line (Twitch 500). The result never exceeds the channel's ``max_message_len``."""
        limit = self._max_len(match.platform, match.channel)
        if limit >= 1000 or match.platform == "console":
            emoji = match.settings.emoji_board and match.platform == "discord"
            out = f"{text}\n{render_board(match.board, emoji=emoji)}"
        else:
            out = f"{text} {render_compact(match.board)}"
        return out[:limit]

    async def _post(
        self, match: Match, text: str, *, board: bool = True, timer_from: float | None = None,
        priority: Priority = Priority.HIGH,
    ) -> None:
        """Post about ``match`` (``@challenger`` first, the board unless ``board=False``). ``timer_from``: the
        text announces the timer just set to count from then; it counts from the send instead
        (``_hold_timer``). ``priority``: ``STAFF`` for the answer to a moderator's ``!c4 start``."""
        if match.owner is not None and match.platform != "console":
            text = f"@{match.owner.display_name} {text}"
        out = self.render(match, text) if board else text[: self._max_len(match.platform, match.channel)]
        # a message of a running game that is still queued (rate limit) when the game ends (stopped,
        # forfeited, !forgetme) is not sent: "Your move" of a game a moderator stopped (trial 24)
        wanted = None if match.finished else (lambda: not match.finished)
        sent = await self.ctx.post(match.platform, match.channel, out, priority=priority,
                                   still_wanted=wanted)
        if timer_from is not None:
            self._hold_timer(match, sent, timer_from)

    # --- timers that count from the send --------------------------------------------------------------
    def _deadline(self, match: Match) -> float | None:
        if match.owner is None:
            return match.window.deadline if match.window is not None else None
        return match.move_deadline

    def _set_deadline(self, match: Match, deadline: float) -> None:
        if match.owner is None:
            if match.window is not None:
                match.window.deadline = deadline
        else:
            match.move_deadline = deadline

    def _hold_timer(self, match: Match, sent: object, start: float) -> None:
        """Make the timer just set (to count from ``start``) count from when its message reaches chat.
        ``sent``: what ``ctx.post`` returned; an ``asyncio.Future`` of the send time (``clock.monotonic()``;
        ``None``: the outbox dropped the message) holds the deadline until it resolves, then sets it to the
        send time plus the timer's length. Under Twitch's 20 messages / 30 s the outbox held a board for 12 s,
        so a challenger had 18 s of the "(30 s)" it promised and forfeited. Anything else (``None``):
        the timer runs from ``start``, as set."""
        deadline = self._deadline(match)
        if not isinstance(sent, asyncio.Future) or deadline is None or match.finished:
            return
        match.timer_post, match.timer_from = sent, start
        match.timer_s = max(deadline - start, 0.0)
        self._set_deadline(match, float("inf"))  # nothing expires before chat has seen it
        if sent.done():
            self._timer_shown(match, sent)
        else:
            sent.add_done_callback(lambda fut: self._timer_shown(match, fut))

    def _timer_shown(self, match: Match, fut: asyncio.Future) -> None:
        """The held message was sent (or dropped): its timer starts now."""
        if match.timer_post is not fut:
            return  # a later turn's message holds the timer now
        match.timer_post = None
        at = None if fut.cancelled() or fut.exception() is not None else fut.result()
        if not isinstance(at, int | float):  # dropped: it starts when we learn that
            at = self.ctx.clock.monotonic()
        self._start_held(match, max(float(at), match.timer_from))

    def _start_held(self, match: Match, shown: float) -> None:
        if self._deadline(match) == float("inf"):  # not closed meanwhile (a move, a vote in anarchy)
            self._set_deadline(match, shown + match.timer_s)

    def _check_held(self, match: Match, now: float) -> None:
        """A message the outbox holds for more than ``post_wait_max_s``: its timer starts anyway."""
        if match.timer_post is not None and now >= match.timer_from + self.post_wait_max_s:
            match.timer_post = None
            self._start_held(match, match.timer_from + self.post_wait_max_s)

    # --- commands -----------------------------------------------------------------------------------
    @command(
        "c4",
        help="Connect Four vs the bot: vote 1-7 (or !c4 <column>); !c4 shows the game; !c4 challenge "
        "[level] to play alone, !c4 forfeit, !c4 stats, !c4 top (moderators: start, stop).",
        usage="[1-7]",
        budget=lambda args: not is_move(args),
    )
    async def c4(self, ctx: CommandContext) -> None:
        async with self._lines_lock:
            await self._c4(ctx)

    async def _c4(self, ctx: CommandContext) -> None:
        at = self._line_time(ctx.message)
        await self.tick(at)
        key = (ctx.message.platform, ctx.channel)
        await self._catch_up(self.challenges.get((*key, ctx.author.user_id)) or self.chat_games.get(key), at)
        match = self.challenges.get((*key, ctx.author.user_id)) or self.chat_games.get(key)
        if match is None:  # also for "!c4 4" and "!c4 four": no column hint when there is nothing to play
            others = [m for k, m in self.challenges.items() if k[:2] == key and m.owner]
            if others and not ctx.args:  # a spectator's "!c4" shows the game running here (trial 20)
                game = others[0]
                player = game.owner.display_name if game.owner else "a viewer"
                whose = "the bot is thinking" if game.bot_thinking else f"{player} to move"
                await ctx.reply(self.render(game, f"Connect Four ({game.difficulty}, {player}'s challenge), "
                                                  f"move {game.board.moves + 1}: {whose}"))
                return
            if others:  # "No game running" while another viewer's challenge ran (trial 19)
                player = others[0].owner.display_name if others[0].owner else "a viewer"
                await self._hint(ctx, f"That game is {player}'s challenge; play your own with !c4 challenge "
                                      "[easy|normal|hard].", throttle=True)
                return
            await self._hint(
                ctx, "No Connect Four game running. !c4 start [easy|normal|hard] (chat vs bot) or "
                     "!c4 challenge (you vs bot).", throttle=bool(ctx.args)
            )
            return
        if ctx.args and (col := parse_vote(ctx.args[0])) is not None:
            await self._handle_move(ctx.message, col, ctx, at)
            return
        if ctx.args:  # "!c4 99", "!c4 four": not a column (the sub-commands have their own handlers)
            await self._hint(ctx, "Columns are 1-7: !c4 <column>, or just type the number.", throttle=True)
            return
        await ctx.reply(self.render(match, self._status(match, at)))

    @command(
        "c4 start",
        help="Start chat vs bot Connect Four: !c4 start [easy|normal|hard]",
        usage="[easy|normal|hard]",
        permission_setting="start_permission",
    )
    async def c4_start(self, ctx: CommandContext) -> None:
        settings: GameSettings = ctx.settings
        level = self._level(ctx.args, settings)
        if level is None:
            await ctx.reply("Difficulty must be easy, normal or hard.")
            return
        key = (ctx.message.platform, ctx.channel)
        if key in self.chat_games:
            await self._hint(ctx, "A chat game is already running: vote with 1-7.")
            return
        other = self.ctx.votes.claim(*key, VOTE_OWNER)
        if other is not None:  # both would count chat's "1", "2"...
            await ctx.reply(busy_reply(other, "start the game"))
            return
        match = Match(key[0], key[1], level, Board(), 0 if settings.humans_play_first else 1, settings,
                      rng=self._match_rng(settings, *key))
        self.chat_games[key] = match
        # the answer to a moderator's command goes as their replies do (STAFF): a busy chat's viewer
        # replies held "!c4 start" 47 s (trial 24)
        staff = ctx.author.level >= Role.MODERATOR
        await self._begin(match, f"Connect Four ({level}): chat vs bot!", self._line_time(ctx.message),
                          Priority.STAFF if staff else Priority.HIGH)

    @command(
        "c4 challenge",
        help="Play Connect Four alone against the bot: !c4 challenge [easy|normal|hard]",
        usage="[easy|normal|hard]",
    )
    async def c4_challenge(self, ctx: CommandContext) -> None:
        settings: GameSettings = ctx.settings
        level = self._level(ctx.args, settings)
        if level is None:
            await ctx.reply("Difficulty must be easy, normal or hard.")
            return
        platform = ctx.message.platform
        key = (platform, ctx.channel, ctx.author.user_id)
        if key in self.challenges:
            await self._hint(ctx, f"@{ctx.author.display_name} you already have a game: type 1-7 or !c4 "
                                  "forfeit.")
            return
        running = sum(1 for k in self.challenges if k[:2] == key[:2])
        if settings.max_challenges == 0:  # "0 challenges are running here (max 0)" (trial 24)
            await self._hint(ctx, "Connect Four challenges are off here; a moderator can !c4 start a chat "
                                  "game.")
            return
        if running >= settings.max_challenges:
            await self._hint(
                ctx, f"{running} challenge{'s are' if running != 1 else ' is'} running here (max "
                     f"{settings.max_challenges}); try later."
            )
            return
        match = Match(
            platform,
            ctx.channel,
            level,
            Board(),
            0 if settings.humans_play_first else 1,
            settings,
            owner=ctx.author,
            rng=self._match_rng(settings, *key),
        )
        match.participants[ctx.author.user_id] = ctx.author
        self.challenges[key] = match
        self.ctx.votes.claim_viewer(ctx.message.platform, ctx.channel, ctx.author.user_id, VOTE_OWNER)
        await self._begin(match, f"Connect Four ({level}): you vs bot!", self._line_time(ctx.message))

    @command("c4 forfeit", help="Give up your Connect Four challenge.")
    async def c4_forfeit(self, ctx: CommandContext) -> None:
        match = self.challenges.get((ctx.message.platform, ctx.channel, ctx.author.user_id))
        if match is None:
            await self._hint(ctx, "You have no Connect Four challenge running.")
            return
        await self._finish(match, "loss", "You forfeited")  # the console has no "@name" before it

    @command("c4 stop", permission=Role.MODERATOR, usage="[@viewer|all]",
             help="End the chat Connect Four game without a result; @viewer: that viewer's challenge; all: "
                  "every game here.")
    async def c4_stop(self, ctx: CommandContext) -> None:
        platform, channel = ctx.message.platform, ctx.channel
        target = ctx.args[0].lstrip("@").lower() if ctx.args else ""
        if target:  # three trolls' idle challenges locked everyone else out until their move timeouts
            ended = [m for k, m in list(self.challenges.items())
                     if k[:2] == (platform, channel) and (target == "all" or k[2].lower() == target
                                                          or m.owner.display_name.lower() == target)]
            for match in ended:
                self._drop(match)
            chat = self.chat_games.get((platform, channel)) if target == "all" else None
            if chat is not None:
                self._drop(chat)
            stopped = len(ended) + (chat is not None)
            await ctx.reply(f"Stopped {stopped} Connect Four game{'s' if stopped != 1 else ''}."
                            if stopped else "No Connect Four game is running here." if target == "all"
                            else f"No Connect Four game of {ctx.args[0]} is running here.")
            return
        match = self.chat_games.get((platform, channel))
        if match is None:
            await ctx.reply("No chat game is running (!c4 stop @viewer ends a challenge, !c4 stop all every "
                            "game).")
            return
        self._drop(match)
        await ctx.reply("Connect Four game stopped.")

    @command("c4 stats", usage="[@viewer]", cooldown_user=10,
             help="Connect Four record of this channel and yours (or a viewer's).")
    async def c4_stats(self, ctx: CommandContext) -> None:
        db = self.ctx.storage
        chan = game_store.channel_record(db, ctx.message.platform, ctx.channel)
        name = ctx.args[0].lstrip("@") if ctx.args else ""
        if mention := re.fullmatch(r"<@!?(\d+)>", ctx.args[0] if ctx.args else ""):
            name = mention.group(1)  # a Discord mention is the user id (trial 26)
        if name and name.lower() not in (ctx.author.display_name.lower(), ctx.author.user_id.lower()):
            # "!c4 stats @bob" answered with the caller's own record (trial 24); an unknown name is not
            # repeated (the bot never says what a viewer typed)
            other = game_store.named_record(db, ctx.message.platform, ctx.channel, name)
            who = f"{other.display_name}: {_fmt(other.record)}" if other else "No games of that viewer here"
            await ctx.reply(f"Connect Four vs bot here: {_fmt(chan)}. {who}.")
            return
        mine = game_store.viewer_record(db, ctx.author, ctx.channel)
        await ctx.reply(f"Connect Four vs bot here: {_fmt(chan)}. {ctx.author.display_name}: {_fmt(mine)}.")

    @command(
        "c4 top", help="Viewers with the most Connect Four wins against the bot here.", cooldown_channel=10
    )
    async def c4_top(self, ctx: CommandContext) -> None:
        ranked = game_store.top_viewers(self.ctx.storage, ctx.message.platform, ctx.channel, limit=5)
        # ranked by wins first: dropping the winless keeps every viewer with a win that made the top 5
        top = [r for r in ranked if r.record.wins > 0]
        if not top:
            await ctx.reply("Nobody has beaten the bot here yet: try !c4 challenge.")
            return
        parts = [f"{i}. {r.display_name} {_fmt(r.record)}" for i, r in enumerate(top, start=1)]
        await ctx.reply("Connect Four top: " + " | ".join(parts))

    @staticmethod
    def _level(args: list[str], settings: GameSettings) -> str | None:
        if not args:
            return settings.default_difficulty
        level = unicodedata.normalize("NFKC", args[0]).lower()  # "ｈａｒｄ" from an IME, as full-width votes
        return level if level in ("easy", "normal", "hard") else None

    # --- moves --------------------------------------------------------------------------------------
    async def on_message(self, message: ChatMessage) -> None:
        """Chat lines that are a bare column (``3``) are votes / challenge moves."""
        at = self._line_time(message)
        col = parse_vote(message.text)
        if col is None:
            await self.tick(at)  # deadlines that passed before this line close (replays: on log time)
            return
        async with self._lines_lock:
            await self.tick(at)
            await self._handle_move(message, col, None, at)

    async def _handle_move(
        self, message: ChatMessage, col: int, ctx: CommandContext | None, now: float
    ) -> None:
        key = (message.platform, message.channel)
        await self._catch_up(
            self.challenges.get((*key, message.author.user_id)) or self.chat_games.get(key), now
        )
        mine = self.challenges.get((*key, message.author.user_id))
        if mine is not None:
            if not mine.humans_to_move or mine.bot_thinking:
                # "!c4 4" while the bot thinks got no answer; a bare "4" stays chat
                if ctx is not None:
                    await self._hint(ctx, "The bot is still thinking: wait for its move, then play.",
                                     throttle=True)
                return  # the bot's turn: ignored
            if not mine.board.can_play(col):
                if self._may_explain(message, channel_wide=False):  # another viewer's hint must not hide it
                    await self._post(mine, f"column {col + 1} is full, pick another.", board=False)
                return
            mine.move_deadline = None
            await self._human_move(mine, col, now)
            return
        match = self.chat_games.get(key)
        if match is None or match.window is None or match.bot_thinking or not match.humans_to_move:
            return  # no game, or the bot's turn: the vote does not count
        if not match.board.can_play(col):
            # refused (an earlier vote of the viewer still counts); chat hears it once per window: viewers
            # kept voting a full 4 for two windows, heard "No votes yet" and forfeited
            if match.window.refuse_full(now):
                await self._post(match, f"{_full_columns(match.board).capitalize()}: vote another column.",
                                 board=False)
            return
        if not match.window.cast(message.author.user_id, col, now):
            return
        match.participants[message.author.user_id] = message.author
        if match.settings.anarchy:
            match.window = None
            await self._human_move(match, col, now)

    def _may_explain(self, message: ChatMessage, *, channel_wide: bool = True) -> bool:
        """Whether a free ``!c4 <column>`` that is no move may be answered now (``EXPLAIN_EVERY_S`` per
        viewer, and ``EXPLAIN_CHANNEL_EVERY_S`` per channel unless ``channel_wide`` is false: a
        challenger's own "column is full"); records the answer when it may."""
        who = (message.platform, message.channel, message.author.user_id)
        where = (message.platform, message.channel, "")  # the channel's own entry ("" is no user id)
        now = self.ctx.clock.monotonic()
        checks = ((who, EXPLAIN_EVERY_S), (where, EXPLAIN_CHANNEL_EVERY_S))[: 2 if channel_wide else 1]
        for key, every in checks:
            last = self._explained.get(key)
            if last is not None and now - last < every:
                return False
        for key, _ in checks:
            self._explained.pop(key, None)
            self._explained[key] = now
        while len(self._explained) > EXPLAIN_KEPT:
            del self._explained[next(iter(self._explained))]
        return True

    async def _begin(
        self, match: Match, intro: str, at: float | None = None, priority: Priority = Priority.HIGH
    ) -> None:
        if match.humans_to_move:
            start = self._open_turn(match, at)
            await self._post(match, f"{intro} {self._prompt(match)}", timer_from=start, priority=priority)
        else:
            await self._post(match, f"{intro} The bot starts.", board=False, priority=priority)
            self._start_bot(match, at=at)

    def _open_turn(self, match: Match, at: float | None = None) -> float:
        """Open the humans' turn (vote window or move timer) from ``at`` (default: now); returns that time."""
        now = self.ctx.clock.monotonic() if at is None else at
        if match.owner is None:
            match.window = VoteWindow(now, now + match.settings.vote_window_s)
        else:
            match.move_deadline = now + match.settings.challenge_move_timeout_s
        return now

    def _prompt(self, match: Match, left: int | None = None) -> str:
        """The humans' prompt with the turn's full length, or ``left`` seconds (a status mid-turn)."""
        if match.owner is None:
            how = "first legal vote plays" if match.settings.anarchy else "majority wins"
            time = f"{int(match.settings.vote_window_s)} s" if left is None else f"{left} s left"
            return f"Vote a column 1-7 ({time}, {how})."
        time = f"{int(match.settings.challenge_move_timeout_s)} s" if left is None else f"{left} s left"
        return f"Your move: type 1-7 ({time})."

    def _status(self, match: Match, now: float | None = None) -> str:
        """``!c4`` mid-game: whose turn, with the seconds left at ``now`` (it said the full 60 s 22 s into
        the turn: trial 24)."""
        deadline = self._deadline(match)
        left = None
        if now is not None and deadline is not None and deadline != float("inf"):
            left = max(0, math.ceil(deadline - now))
        whose = "bot is thinking" if match.bot_thinking else self._prompt(match, left)
        return f"Connect Four ({match.difficulty}, {match.mode}), move {match.board.moves + 1}: {whose}"

    async def _human_move(self, match: Match, col: int, at: float | None = None, votes: str = "") -> None:
        """Play the humans' ``col``; ``votes`` (e.g. ``" (2 of 3 votes)"``) is said with the move, in the
        bot's answer or in the result when this move ends the game."""
        match.board = match.board.play(col)
        if match.board.is_over:
            await self._finish(
                match,
                "win" if match.board.winner == match.human_side else "draw",
                f"{_side(match)} played {col + 1}{votes}",
            )
            return
        self._start_bot(match, col, at, votes)

    async def _bot_turn(self, match: Match, human_col: int | None = None, votes: str = "") -> None:
        """The bot's move, announced in one message with the humans' move before it. A chat game whose
        bot takes longer than ``thinking_notice_s`` (live only) first hears how its vote went."""
        notice = None
        if match.owner is None and human_col is not None and not isinstance(self.ctx.clock, ManualClock):
            notice = f"Chat played {human_col + 1}{votes}; the bot is thinking..."
        try:
            assert self.player is not None, "GameSkill.start() was not called"
            self.player.levels = levels_from(match.settings)
            search = asyncio.ensure_future(self.player.choose(match.board, match.difficulty, rng=match.rng))
            try:
                if notice is not None:
                    done, _ = await asyncio.wait({search}, timeout=self.thinking_notice_s)
                    if not done and not match.finished:
                        await self._post(match, notice, board=False)
                        votes = ""  # said already: the answer below only names the move
                col = await search
            finally:
                search.cancel()  # a no-op once done; stops the search when this turn is cancelled
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - engine down, weights missing: end the game politely
            log.warning("Connect Four bot move failed: %s", exc)
            self._drop(match)
            await self._post(
                match, "Sorry, the Connect Four bot is unavailable right now; game cancelled.", board=False
            )
            return
        if match.finished:
            return
        match.board = match.board.play(col)
        match.bot_thinking = False
        said = f"{_side(match)} played {human_col + 1}{votes}, " if human_col is not None else ""
        if match.board.is_over:
            result = "loss" if match.board.winner is not None else "draw"
            await self._finish(match, result, f"{said}bot played {col + 1}")
            return
        # a replay's search takes no log time: the turn opens when the move started, as it would live
        start = self._open_turn(match, match.bot_since if isinstance(self.ctx.clock, ManualClock) else None)
        await self._post(match, f"{said}bot played {col + 1}. {self._prompt(match)}", timer_from=start)

    # --- timers -------------------------------------------------------------------------------------
    async def tick(self, now: float | None = None) -> None:
        """Close expired vote windows (majority move, one extension, forfeit) and challenge timers.

        Runs from the ticker, before each chat line / ``!c4`` (so a replay's timers follow the log's time)
        and in ``drain``; one at a time. ``now``: the time to close against (default: the clock's)."""
        async with self._tick_lock:
            await self._tick(self.ctx.clock.monotonic() if now is None else now)

    async def _tick(self, now: float) -> None:
        for match in [*self.chat_games.values(), *self.challenges.values()]:
            self._check_held(match, now)
        for match in list(self.chat_games.values()):
            w = match.window
            if w is None or match.bot_thinking or not w.expired(now):
                continue
            col = w.winner(match.board.legal_moves(), match.rng)
            if col is not None:
                match.window = None
                # said with the bot's answer (one message per turn), like the story vote: winner's votes
                # of all votes counted (votes for full columns are dropped)
                counts = w.tally(match.board.legal_moves())
                total = sum(counts.values())
                votes = f" ({counts[col]} of {total} vote{'s' if total != 1 else ''})"
                # the move happens when the window closed, not at the line that noticed it (a replay ticks
                # at lines): the bot answered then, so a vote 10 s later is the next window's (trial 24)
                await self._human_move(match, col, min(now, w.deadline), votes)
            elif not w.extended:
                # only votes for full columns get the same one extension as no votes at all (chat was
                # there, it picked a column it cannot play), said as such
                start = w.deadline
                w.extend(match.settings.vote_extension_s)
                more = f"{int(match.settings.vote_extension_s)} more seconds"
                if w.full_votes:
                    full = _full_columns(match.board)
                    text = f"No valid votes yet ({full}): {more} to vote another column."
                else:
                    text = f"No votes yet: {more} to vote a column 1-7."
                await self._post(match, text, board=False, timer_from=start)
            else:
                match.window = None
                how = (f"No valid votes ({_full_columns(match.board)}): chat forfeits" if w.full_votes
                       else "No votes: chat forfeits")
                await self._finish(match, "loss", how)
        for match in list(self.challenges.values()):
            if match.move_deadline is not None and not match.bot_thinking and now >= match.move_deadline:
                match.move_deadline = None
                await self._finish(match, "loss", "Time is up: you forfeited")

    # --- results ------------------------------------------------------------------------------------
    def _drop(self, match: Match) -> None:
        match.finished = True
        if match.owner is None:
            if self.chat_games.get((match.platform, match.channel)) is match:
                del self.chat_games[(match.platform, match.channel)]
                self.ctx.votes.release(match.platform, match.channel, VOTE_OWNER)
        else:
            self.challenges.pop((match.platform, match.channel, match.owner.user_id), None)
            self.ctx.votes.release_viewer(match.platform, match.channel, match.owner.user_id, VOTE_OWNER)

    async def _finish(self, match: Match, result: str, how: str) -> None:
        """Record ``result`` (viewers' side) and announce it."""
        if match.finished:
            return
        self._drop(match)
        try:
            game_store.record_result(
                self.ctx.storage,
                match.platform,
                match.channel,
                match.mode,
                match.difficulty,
                result,
                match.board.move_string(),
                self.ctx.clock.now(),
                list(match.participants.values()),
            )
        except Exception:  # noqa: BLE001 - storage trouble must not leave the game hanging
            log.exception("could not store a Connect Four result")
        verdict = {"win": f"{_side(match)} won!", "draw": "Draw!", "loss": "The bot won."}[result]
        await self._post(match, f"{how}. {verdict}")

    # --- privacy ------------------------------------------------------------------------------------
    async def delete_user_data(self, viewer: Viewer) -> int:
        """Delete the viewer's tallies, unlink their results, drop their votes in running chat games and end
        their own running challenges unrecorded (a challenge that timed out after ``!forgetme`` wrote the
        loss back under the viewer)."""
        for key, match in list(self.challenges.items()):
            if key[0] == viewer.platform and key[2] == viewer.user_id:
                self._drop(match)
        for match in self.chat_games.values():
            match.participants.pop(viewer.user_id, None)
            if match.window is not None:
                match.window.votes.pop(viewer.user_id, None)
        return game_store.delete_viewer_games(self.ctx.storage, viewer)

    async def user_data_summary(self, viewer: Viewer) -> str | None:
        rec = game_store.viewer_record(self.ctx.storage, viewer)
        return f"Connect Four: {_fmt(rec)}" if rec.games else None


def _side(match: Match) -> str:
    """Who plays against the bot, as the bot's messages name them."""
    return "Chat" if match.owner is None else "You"


def _full_columns(board: Board) -> str:
    """``"column 4 is full"``, ``"columns 2 and 4 are full"``: the full columns of a running game."""
    legal = board.legal_moves()
    cols = [str(c + 1) for c in range(7) if c not in legal]
    if len(cols) == 1:
        return f"column {cols[0]} is full"
    return f"columns {', '.join(cols[:-1])} and {cols[-1]} are full"


def _fmt(r: game_store.Record) -> str:
    return f"{r.wins}W {r.draws}D {r.losses}L"
