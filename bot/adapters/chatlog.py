"""Parsing recorded chat logs, one line at a time (pure functions; the replay adapter is the async shell).

Two formats, detected per line:

- Twitch log dumps (e.g. the Chatterino/ChatlogDorozea format)::

      [2024-10-10 12:58:39 UTC] username: message text

- JSON Lines, one object per line::

      {"ts": "2024-10-10T12:58:39Z", "user": "alice", "text": "hi", "roles": ["moderator"]}

  ``ts`` is an ISO-8601 string (``Z`` or an offset; naive means UTC) or Unix seconds; ``roles`` optional
  (names accepted by ``Role.parse``); optional ``channel``, ``id`` and ``user_id``.

Lines starting with ``#`` are comments (``parse_line`` returns ``None``); the replay adapter reads a
``# channel: NAME`` comment before the first message as the channel name, and ``# category: NAME`` /
``# title: TEXT`` comments as the stream's category and title.

A line that matches neither raises ``LogLineError`` with a short reason; the caller counts and skips it.
Lone UTF-16 surrogates (``"\\ud800"`` in JSON, undecodable bytes read with ``surrogateescape``) become
U+FFFD in every parsed field: they cannot be encoded as UTF-8, so one would fail every later write of the
line (database, transcript) and the batch it rode in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.events import Role

_SURROGATES = re.compile("[\ud800-\udfff]")
_CHANNEL = re.compile(r"^#?[\w.-]{1,100}$")
_TWITCH_LINE = re.compile(
    r"^\[(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})(?: UTC)?\] ([^\s:\[\]]+): ?(.*)$", re.S
)


class LogLineError(ValueError):
    """A chat-log line that cannot be parsed; the message says why (no line number: the caller adds it)."""


@dataclass(frozen=True, slots=True)
class LogLine:
    """One parsed chat line. ``user`` is the name as logged; ``roles`` may be empty (unknown)."""

    timestamp: datetime
    user: str
    text: str
    roles: frozenset[Role] = frozenset()
    channel: str | None = None
    message_id: str | None = None
    user_id: str | None = None


def parse_line(line: str) -> LogLine | None:
    """Parse one line; ``None`` for a blank line. Raises ``LogLineError`` for anything malformed.

    Trailing ``\\r``/``\\n`` are removed; an empty message text is an error (nothing was said).
    """
    line = line.rstrip("\r\n").removeprefix("\ufeff")  # a byte-order mark (first line of some files)
    line = _SURROGATES.sub("\ufffd", line)
    if not line.strip() or line.startswith("#"):
        return None
    if line.lstrip().startswith("{"):
        return _parse_json(line)
    match = _TWITCH_LINE.match(line)
    if match is None:
        raise LogLineError("expected '[YYYY-MM-DD HH:MM:SS UTC] user: text' or a JSON object")
    stamp, user, text = match.groups()
    if not text.strip():
        raise LogLineError("empty message")
    return LogLine(datetime.fromisoformat(stamp).replace(tzinfo=UTC), user, text)


def _no_surrogates(value: object) -> object:
    return _SURROGATES.sub("\ufffd", value) if isinstance(value, str) else value


def _parse_json(line: str) -> LogLine:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LogLineError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise LogLineError("JSON line is not an object")
    obj = {key: _no_surrogates(value) for key, value in obj.items()}
    user, text = obj.get("user"), obj.get("text")
    if not isinstance(user, str) or not user.strip():
        raise LogLineError('JSON line needs a non-empty string "user"')
    if not isinstance(text, str) or not text.strip():
        raise LogLineError('JSON line needs a non-empty string "text"')
    roles_raw = obj.get("roles", [])
    if isinstance(roles_raw, str):
        roles_raw = [roles_raw]
    if not isinstance(roles_raw, list):
        raise LogLineError('"roles" must be a list of role names')
    try:
        roles = frozenset(Role.parse(str(r)) for r in roles_raw)
    except ValueError as exc:
        raise LogLineError(str(exc)) from None
    channel = obj.get("channel")
    if channel is not None and (not isinstance(channel, str) or not _CHANNEL.match(channel)):
        raise LogLineError('"channel" must be a name (letters, digits, _ . -), got ' + repr(channel)[:40])
    message_id = obj.get("id")
    user_id = obj.get("user_id")
    return LogLine(
        timestamp=parse_timestamp(obj.get("ts")),
        user=user.strip(),
        text=text,
        roles=roles,
        channel=channel.removeprefix("#") if channel else None,
        message_id=str(message_id) if message_id is not None else None,
        user_id=str(user_id) if user_id is not None else None,
    )


def parse_timestamp(value: object) -> datetime:
    """ISO-8601 text (``Z``/offset/naive = UTC, optional `` UTC`` suffix) or Unix seconds -> aware UTC.

    Raises ``LogLineError`` for anything else.
    """
    if isinstance(value, bool):
        raise LogLineError(f'"ts" must be ISO-8601 text or Unix seconds, got {value!r}')
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise LogLineError(f'"ts" out of range: {value!r}') from None
    if isinstance(value, str):
        text = value.strip().removesuffix(" UTC")
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise LogLineError(f'"ts" is not an ISO-8601 time: {value!r}') from None
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    raise LogLineError(f'"ts" must be ISO-8601 text or Unix seconds, got {value!r}')
