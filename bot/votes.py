"""Who reads chat's bare numbers in a channel, and how they are read (``parse_number_vote``).

Connect Four takes columns as "1"-"7" typed in chat and a story vote takes "1"-"3": run both at once in
one channel and every number counts twice (a stream test got "Chat chose column 1" and "1 wins" from the
same four messages). One ``NumberVotes`` is shared by every skill of a runtime; a skill claims a channel
before it starts reading numbers there and releases it when it stops.
"""

from __future__ import annotations

import re
import unicodedata

_VOTE = re.compile(r"^\s*#?\s*([1-9])\s*[!.]*\s*$")


def parse_number_vote(text: str, options: int) -> int | None:
    """A chat line that is a bare number, ``"2"`` -> 2 when ``1 <= 2 <= options``; anything else (``"12"``,
    ``"2 please"``) -> ``None``. NFKC-normalised, so the fullwidth ``"\uff12"`` of Japanese IMEs is ``2``;
    an optional ``#`` before and ``!``/``.`` after (``"#2"``, ``"2!"``, ``"2."``); the keycap emoji (digit,
    U+FE0F, U+20E3), as phone keyboards offer digits. The one reading of chat's numbers for every vote
    (story continuations, Connect Four columns)."""
    match = _VOTE.match(unicodedata.normalize("NFKC", text or "").replace("\ufe0f", "").replace("\u20e3", ""))
    if not match:
        return None
    choice = int(match.group(1))
    return choice if 1 <= choice <= options else None


def busy_reply(owner: str, then: str) -> str:
    """What a skill answers when ``NumberVotes.claim`` names another ``owner``: ``"A story vote is on or
    about to start; start the game when it ends."`` for ``then="start the game"``. "on or about to start":
    a story claims chat's numbers while it still writes the options ("is voting" was wrong then)."""
    return f"{owner[:1].upper()}{owner[1:]} is on or about to start; {then} when it ends."


class NumberVotes:
    """Per channel, the one owner (a short description such as ``"a Connect Four game"``) reading numbers.

    ``claim`` returns ``None`` when the channel is free or already the caller's, else the current owner;
    ``release`` frees it when the caller holds it (other callers are ignored). Channel names are
    case-insensitive. Event-loop only (no locking)."""

    def __init__(self) -> None:
        self._owners: dict[tuple[str, str], str] = {}
        self._players: dict[tuple[str, str, str], str] = {}  # one viewer's numbers (a Connect Four challenge)

    def claim(self, platform: str, channel: str, owner: str) -> str | None:
        key = (platform, channel.lower())
        current = self._owners.get(key)
        if current is not None and current != owner:
            return current
        self._owners[key] = owner
        return None

    def release(self, platform: str, channel: str, owner: str) -> None:
        key = (platform, channel.lower())
        if self._owners.get(key) == owner:
            del self._owners[key]

    def owner(self, platform: str, channel: str) -> str | None:
        """Who reads numbers in that channel now (``None``: nobody)."""
        return self._owners.get((platform, channel.lower()))

    def claim_viewer(self, platform: str, channel: str, user_id: str, owner: str) -> None:
        """One viewer's numbers in that channel are ``owner``'s moves (a challenge game): a channel-wide
        vote must not count them."""
        self._players[(platform, channel.lower(), user_id)] = owner

    def release_viewer(self, platform: str, channel: str, user_id: str, owner: str) -> None:
        key = (platform, channel.lower(), user_id)
        if self._players.get(key) == owner:
            del self._players[key]

    def viewer_owner(self, platform: str, channel: str, user_id: str) -> str | None:
        """Who reads that viewer's numbers in that channel (``None``: nobody in particular)."""
        return self._players.get((platform, channel.lower(), user_id))
