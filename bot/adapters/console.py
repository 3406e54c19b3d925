"""The console adapter: the terminal is one chat channel; you type as a viewer and see the bot's replies.

``chatcast run --as NAME --role moderator`` (roles: everyone, subscriber, vip, moderator, broadcaster).
Each input line is a ``ChatMessage`` from that viewer in channel ``console``; the first line also emits
``Presence(SEEN)``. End of input (Ctrl-D) or ``close()`` ends ``listen``. The console plays a live stream
(``--offline`` for an offline one) whose category and title come from ``--category`` / ``--title``: one
``StreamStatus`` before the first line, so FAQ answers and commands with ``{game}``, ``{title}`` and
``{uptime}`` can be tried (without a category "what game is this?" got no answer at all).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator
from typing import TextIO

from bot.adapters.base import CONSOLE_LIMITS, Adapter
from bot.clock import Clock, SystemClock
from bot.events import ChatMessage, Event, Presence, PresenceKind, Reply, Role, StreamStatus, Viewer


class ConsoleAdapter(Adapter):
    """Reads viewer lines from ``stdin`` and prints replies to ``stdout`` as ``<bot_name>: text``.

    ``user``: the viewer's name (also the user id, lower-cased); ``role``: their permission level;
    ``live``, ``category``, ``title``: the stream the console plays (see the module docstring).
    """

    platform = "console"
    limits = CONSOLE_LIMITS

    def __init__(
        self,
        *,
        user: str = "viewer",
        role: Role = Role.EVERYONE,
        channel: str = "console",
        bot_name: str = "chatcast",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        clock: Clock | None = None,
        live: bool = True,
        category: str | None = None,
        title: str | None = None,
    ) -> None:
        self.live = live
        self.category = (category or "").strip() or None
        self.title = (title or "").strip() or None
        roles = frozenset({Role.EVERYONE, role})
        if user.lower() == channel.lower():
            roles |= {Role.BROADCASTER}
        self.viewer = Viewer(self.platform, user.lower(), user, roles)
        self.channel = channel.lower()
        self.bot_name = bot_name
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.clock = clock or SystemClock()
        self._closed = False
        self._count = 0

    async def connect(self) -> None:
        """Print a one-line greeting saying who you are and which stream the console plays."""
        stream = "live" if self.live else "offline"
        stream += (f", category {self.category}" if self.category
                   else ", no category (--category NAME sets it)")
        self._print(
            f"[console] chatting as {self.viewer.display_name} ({self.viewer.level.name.lower()}) "
            f"in #{self.channel} ({stream}); Ctrl-D to quit"
        )

    async def listen(self) -> AsyncIterator[Event]:
        """Yield one ``ChatMessage`` per non-blank input line until end of input."""
        lines: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def read() -> None:  # a daemon thread, so Ctrl-C never waits for a pending readline
            while True:
                try:
                    line = self.stdin.readline()
                except (OSError, ValueError):
                    line = ""
                try:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
                except RuntimeError:  # the loop closed
                    return
                if not line:
                    return

        threading.Thread(target=read, name="chatcast-console-stdin", daemon=True).start()
        yield StreamStatus(self.platform, self.channel, self.live, self.clock.now(), title=self.title,
                           category=self.category)
        while not self._closed:
            line = await lines.get()
            if not line:
                break
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            now = self.clock.now()
            if self._count == 0:
                yield Presence(self.platform, self.channel, self.viewer, PresenceKind.SEEN, now)
            self._count += 1
            yield ChatMessage(self.platform, self.channel, f"c{self._count}", self.viewer, text, now)

    async def send(self, reply: Reply) -> None:
        """Print the reply (whispers are marked)."""
        tag = f" (whisper to {reply.whisper_to})" if reply.whisper_to else ""
        self._print(f"{self.bot_name}{tag}: {reply.text}")

    async def close(self) -> None:
        """Stop after the current line."""
        self._closed = True

    def is_privileged(self, channel: str) -> bool:
        """The console has no rate limit worth modelling."""
        return True

    def _print(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)
