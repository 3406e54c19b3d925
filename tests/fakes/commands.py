"""A minimal command context for calling a skill's command handler directly in a test."""

from __future__ import annotations

from typing import Any


class FakeCommandContext:
    """Stands in for ``bot.commands.CommandContext``: ``rest`` is the text after the command (``args`` its
    words), ``replies`` collects every ``reply`` (pass a shared list to collect across calls)."""

    def __init__(self, message: Any, settings: Any, rest: str = "", *, invoked_as: str = "",
                 replies: list[str] | None = None) -> None:
        self.message = message
        self.settings = settings
        self.rest = rest
        self.args = rest.split()
        self.invoked_as = invoked_as
        self.replies = replies if replies is not None else []
        self.priorities: list[object] = []  # each reply's ``priority`` (``None``: the default, HIGH)

    @property
    def author(self) -> Any:
        return self.message.author

    @property
    def channel(self) -> str:
        return self.message.channel

    async def reply(self, text: str, **kwargs: object) -> None:
        self.replies.append(text)
        self.priorities.append(kwargs.get("priority"))
