"""Platform-neutral events: every adapter speaks these, every skill reads them.

All timestamps are timezone-aware UTC ``datetime`` objects. Events are frozen dataclasses so they can be
shared between concurrently running skills without copying.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum, IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class Role(IntEnum):
    """Permission level of a viewer, ordered: a higher value may do everything a lower one may.

    The names follow Twitch's badges (Nightbot/StreamElements use the same ladder).
    """

    EVERYONE = 0
    SUBSCRIBER = 1
    VIP = 2
    MODERATOR = 3
    BROADCASTER = 4

    @classmethod
    def parse(cls, name: str) -> Role:
        """``"moderator"``/``"mod"`` -> ``Role.MODERATOR``. Raises ``ValueError`` naming the valid roles."""
        key = name.strip().lower()
        aliases = {"mod": "moderator", "sub": "subscriber", "owner": "broadcaster", "streamer": "broadcaster",
                   # Twitch's badge names and plurals: a founder is one of the first subscribers
                   "founder": "subscriber", "viewer": "everyone", "viewers": "everyone",
                   "mods": "moderator", "moderators": "moderator", "subscribers": "subscriber",
                   "subs": "subscriber", "vips": "vip"}
        key = aliases.get(key, key)
        try:
            return cls[key.upper()]
        except KeyError:
            valid = ", ".join(r.name.lower() for r in cls)
            # cut, and said to be: "-ul=<100,000 letters>" was echoed over five chat messages (trial 26)
            shown = name if len(name) <= 30 else name[:29] + "…"
            raise ValueError(f"unknown role {shown!r}; expected one of: {valid}") from None

    @property
    def plural(self) -> str:
        """How chat replies name the people of this level: ``"moderators"``, ``"VIPs"``, ``"everyone"``."""
        return {Role.EVERYONE: "everyone", Role.VIP: "VIPs"}.get(self, self.name.lower() + "s")


class Priority(IntEnum):
    """Outgoing and inference priority. Lower value = served first."""

    STAFF = 0  # answers to the broadcaster's and moderators' commands: never stuck behind a viewer flood
    HIGH = 1  # answers to commands a viewer just typed, moderation notices
    NORMAL = 2
    LOW = 3  # unsolicited chatter: FAQ auto-answers, mood alerts, periodic posts


@dataclass(frozen=True, slots=True)
class Viewer:
    """A chat user on one platform. ``user_id`` is the platform's stable id (login name in logs)."""

    platform: str
    user_id: str
    display_name: str
    roles: frozenset[Role] = frozenset({Role.EVERYONE})

    @property
    def level(self) -> Role:
        """Highest role held; ``Role.EVERYONE`` when none."""
        return max(self.roles, default=Role.EVERYONE)

    def has(self, role: Role) -> bool:
        """True when the viewer's level is at least ``role``."""
        return self.level >= role


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat line as received from a platform.

    ``channel`` is the platform's channel name (Twitch login, Discord ``guild_id/channel_id``, ...).
    ``reply_to`` is the id of the message this one answers, when the platform says so.
    """

    platform: str
    channel: str
    message_id: str
    author: Viewer
    text: str
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A message the bot wants to send.

    ``in_reply_to`` is the ``message_id`` of the chat message that caused it (``None`` for unsolicited
    posts such as timers). ``whisper_to`` sends it privately where the adapter can (``Adapter.can_whisper``).
    ``addressee``: display name of the viewer it answers; when the text repeats the bot's last message
    (which Twitch would drop), the outbox sends it as ``@addressee text`` instead of dropping it.
    ``still_wanted``: asked when the reply's turn comes (it may have waited behind the rate limit); ``False``
    drops it unsent (a Connect Four prompt of a game a moderator stopped meanwhile). ``None``: always sent.
    """

    platform: str
    channel: str
    text: str
    in_reply_to: str | None = None
    priority: Priority = Priority.HIGH
    whisper_to: str | None = None
    attachment: str | None = None  # path of a file to attach where the platform can (Discord)
    addressee: str | None = None
    still_wanted: Callable[[], bool] | None = field(default=None, compare=False, repr=False)


class PresenceKind(Enum):
    JOINED = "joined"
    SEEN = "seen"
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class Presence:
    """A viewer joined, was seen (chatted, was in the viewer list) or left a channel."""

    platform: str
    channel: str
    viewer: Viewer
    kind: PresenceKind
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """The channel went live/offline or changed title/category (``online`` is the state after the event)."""

    platform: str
    channel: str
    online: bool
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    title: str | None = None
    category: str | None = None


Event = ChatMessage | Presence | StreamStatus

_SURROGATES = re.compile("[\ud800-\udfff]")


def _clean(value: str | None) -> str | None:
    return _SURROGATES.sub("\ufffd", value) if value and _SURROGATES.search(value) else value


def _clean_name(name: str) -> str:
    """A display name without control or format characters (a Discord nickname can hold U+202E, which
    would turn the rest of the bot's reply around)."""
    if name.isascii() and name.isprintable():
        return name
    return "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))


def _clean_viewer(viewer: Viewer) -> Viewer:
    name, uid = _clean(viewer.display_name), _clean(viewer.user_id)
    if name:
        name = _clean_name(name) or uid or "viewer"
    if name == viewer.display_name and uid == viewer.user_id:
        return viewer
    return replace(viewer, display_name=name, user_id=uid)


def scrub(event: Event) -> Event:
    """``event`` with lone UTF-16 surrogates (which JSON from a platform can carry as ``"\\ud800"``) in its
    text fields replaced by U+FFFD, and control and format characters (bidi overrides) removed from display
    names; the same object when there are none (the common case: one regex
    scan per field). A surrogate cannot be encoded as UTF-8, so it would fail the database write of a whole
    presence batch, a tokenizer batch and the replay transcript."""
    if isinstance(event, ChatMessage):
        author = _clean_viewer(event.author)
        text, channel = _clean(event.text), _clean(event.channel)
        if author is event.author and text is event.text and channel is event.channel:
            return event
        return replace(event, author=author, text=text, channel=channel)
    if isinstance(event, Presence):
        viewer = _clean_viewer(event.viewer)
        return event if viewer is event.viewer else replace(event, viewer=viewer)
    if isinstance(event, StreamStatus):
        title, category = _clean(event.title), _clean(event.category)
        if title is event.title and category is event.category:
            return event
        return replace(event, title=title, category=category)
    return event
