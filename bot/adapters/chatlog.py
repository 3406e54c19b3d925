"""Parsing recorded chat logs, one line at a time (pure functions; the replay adapter is the async shell).

Two formats, detected per line:

- Twitch log dumps (e.g. the Chatterino/ChatlogDorozea format)::

      [2024-10-10 12:58:39 UTC] username: message text

- JSON Lines, one object per line::

      {"ts": "2024-10-10T12:58:39Z", "user": "alice", "text": "hi", "roles": ["moderator"]}

  ``ts`` is an ISO-8601 string (``Z`` or an offset; naive means UTC) or Unix seconds; ``roles`` optional
  (role names, or Twitch badges: ``bot.adapters.badges.roles_from_names``); optional ``channel``,
  ``id`` and ``user_id``. ``user`` is a name of
  1-100 characters without control characters (the same rule as for a Twitch line's name); ``user_id`` a
  string (or integer) of 1-100 characters without spaces or control characters; ``channel`` a name as
  ``parse_channel`` takes it.

Lines starting with ``#`` are comments (``parse_line`` returns ``None``); the replay adapter reads a
``# channel: NAME`` comment before the first message as the channel name, and ``# category: NAME`` /
``# title: TEXT`` comments as the stream's category and title.

A line that matches neither raises ``LogLineError`` with a short reason; the caller counts and skips it
(JSON nested too deeply for the decoder, or numbers too long to read, are ``LogLineError`` too).
Lone UTF-16 surrogates (``"\\ud800"`` in JSON, undecodable bytes read with ``surrogateescape``) become
U+FFFD in every parsed field: they cannot be encoded as UTF-8, so one would fail every later write of the
line (database, transcript) and the batch it rode in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.adapters.badges import roles_from_names
from bot.events import Role

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Unicode categories Cc (C0, DEL, C1), Zl and Zp: exactly these code points."""
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CHANNEL = re.compile(r"^#?[\w.-]{1,100}$")
MAX_NAME_CHARS = 100
"""Longest ``user`` / ``user_id`` accepted (Twitch allows 25 characters, Discord 32)."""
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
    return LogLine(datetime.fromisoformat(stamp).replace(tzinfo=UTC), _parse_user(user, "user name"), text)


def parse_channel(value: object, what: str = '"channel"') -> str:
    """A channel name (letters, digits, ``_ . -``, 1-100 characters, optional leading ``#``) without the
    ``#``, as given (not lower-cased). ``what`` names the field in the error: ``'"channel"'`` for a JSON
    line, ``"--channel"`` for the command line.

    Raises ``LogLineError`` (a ``ValueError``) for anything else (``"../x y"``, ``""``, a number).
    """
    if not isinstance(value, str) or not _CHANNEL.match(value):
        raise LogLineError(f"{what} must be a name (letters, digits, _ . -), got " + _short_repr(value))
    return value.removeprefix("#")


def _short_repr(value: object) -> str:
    try:
        return repr(value)[:40]
    except RecursionError:  # a deeply nested list inside the 1,000 levels the decoder allows
        return type(value).__name__


def _has_controls(text: str) -> bool:
    """Control characters (NUL, newlines, tabs, ESC, DEL, C1) or line/paragraph separators: Unicode
    categories Cc, Zl and Zp."""
    return _CONTROLS.search(text) is not None


def escape_controls(text: str) -> str:
    """``text`` with control characters (NUL, ESC, newlines, tabs, DEL, C1, U+2028/9) escaped as ``\\n``,
    ``\\t``, ``\\x00``, ``\\u2028``: chat text cannot break transcript lines or a terminal, and stays
    readable (everything else, emoji included, is kept as is)."""
    return _CONTROLS.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) <= 0xFF else f"\\u{ord(ch):04x}"


def _parse_user(value: object, what: str = '"user"') -> str:
    """A user name, stripped: 1-100 characters, no control characters (a NUL or newline would become part
    of the viewer's id and of every ``@name`` the bot writes). The one rule for a JSON line's ``user``
    and a text line's name; ``what`` names it in the error. Raises ``LogLineError``."""
    if not isinstance(value, str) or not value.strip():
        raise LogLineError('JSON line needs a non-empty string "user"')
    user = value.strip()
    if len(user) > MAX_NAME_CHARS or _has_controls(user):
        raise LogLineError(
            f"{what} must be a name of 1-{MAX_NAME_CHARS} characters without control characters, got "
            + _short_repr(value)
        )
    return user


def _parse_user_id(value: object) -> str | None:
    """The optional ``user_id``: a string or an integer (Discord ids are JSON numbers), 1-100 characters
    without spaces or control characters; ``None`` when absent or ``""`` (the name is the id then).
    Raises ``LogLineError``."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_NAME_CHARS
        or _has_controls(value)
        or any(ch.isspace() for ch in value)
    ):
        raise LogLineError(
            f'"user_id" must be a string or integer of 1-{MAX_NAME_CHARS} characters without spaces or '
            "control characters, got " + _short_repr(value)
        )
    return value


def _no_surrogates(value: object) -> object:
    return _SURROGATES.sub("\ufffd", value) if isinstance(value, str) else value


def _parse_json(line: str) -> LogLine:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LogLineError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:  # e.g. 100,000 nested "[": the decoder gives up, the replay must not
        raise LogLineError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise LogLineError(f"invalid JSON: {exc}"[:200]) from None
    if not isinstance(obj, dict):
        raise LogLineError("JSON line is not an object")
    obj = {key: _no_surrogates(value) for key, value in obj.items()}
    user, text = _parse_user(obj.get("user")), obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise LogLineError('JSON line needs a non-empty string "text"')
    roles_raw = obj.get("roles", [])
    if isinstance(roles_raw, str):
        roles_raw = [roles_raw]
    if not isinstance(roles_raw, list) or not all(isinstance(r, str) for r in roles_raw):
        raise LogLineError('"roles" must be a list of role names')
    roles = roles_from_names(roles_raw)  # badges that are no level (turbo, subtember-2024...) are ignored
    channel = obj.get("channel")
    if channel is not None:
        channel = parse_channel(channel)
    message_id = obj.get("id")
    return LogLine(
        timestamp=parse_timestamp(obj.get("ts")),
        user=user,
        text=text,
        roles=roles,
        channel=channel or None,
        message_id=str(message_id) if message_id is not None else None,
        user_id=_parse_user_id(obj.get("user_id")),
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
