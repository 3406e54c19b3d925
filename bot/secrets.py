"""Platform credentials: read from environment variables or a private secrets file, never from config.toml.

Environment variables (they win over the file):

=================================  ===========================================
``CHATCAST_TWITCH_CLIENT_ID``      Twitch application client id
``CHATCAST_TWITCH_CLIENT_SECRET``  Twitch application client secret
``CHATCAST_TWITCH_TOKEN``          Twitch user access token of the bot account
``CHATCAST_TWITCH_REFRESH_TOKEN``  Twitch refresh token
``CHATCAST_DISCORD_TOKEN``         Discord bot token
``CHATCAST_DISCORD_CLIENT_ID``     Discord application id (for invite links)
``CHATCAST_SECRETS_FILE``          path of the secrets file (default ``secrets.toml`` next to the config)
=================================  ===========================================

The secrets file is TOML with the same names in lower case without the prefix
(``twitch_token = "..."``) and must be readable by its owner only (``chmod 600``); anything else is a
``SecretsError``. Values are wrapped in ``Secret``, whose ``repr``/``str`` never show them; the logging
filter in ``bot.logs`` redacts every loaded value from log records as a second line of defence.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

log = logging.getLogger(__name__)

MIN_SECRET_CHARS = 8
"""A loaded secret this long or longer found in text (a config line, a chat reply) counts as that secret;
shorter values would match ordinary words."""
ENV_PREFIX = "CHATCAST_"
SECRETS_FILE_ENV = "CHATCAST_SECRETS_FILE"


class SecretsError(ValueError):
    """The secrets file is unreadable, malformed or readable by other users."""


class Secret:
    """A credential. ``reveal()`` returns the value; ``str``/``repr``/f-strings show ``********``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value; pass it straight to the platform client, never to a log or a message."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    def __str__(self) -> str:
        return "********"

    def __format__(self, spec: str) -> str:
        return "********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Secrets:
    """Every credential Chatcast knows; ``None`` where not configured."""

    twitch_client_id: Secret | None = None
    twitch_client_secret: Secret | None = None
    twitch_token: Secret | None = None
    twitch_refresh_token: Secret | None = None
    discord_token: Secret | None = None
    discord_client_id: Secret | None = None

    @property
    def has_twitch(self) -> bool:
        """Every credential Twitch needs is configured (``PLATFORM_SECRETS``: the application's id and
        secret and the bot's token). A token alone used to start the adapter, which could not log in,
        while ``config check`` said the channels would not be served."""
        return not missing_credentials("twitch", self)

    @property
    def has_discord(self) -> bool:
        """The Discord bot token is configured (``PLATFORM_SECRETS``)."""
        return not missing_credentials("discord", self)

    def values(self) -> list[str]:
        """Every non-empty secret value, longest first (for redaction)."""
        found = [s.reveal() for f in fields(self) if (s := getattr(self, f.name))]
        return sorted(found, key=len, reverse=True)

    def names_in(self, text: str) -> list[str]:
        """Names of the secrets whose value (``MIN_SECRET_CHARS`` or more) occurs in ``text``: a config file
        that repeats a loaded token (pasted as the bot's name or a command's response) is refused by name,
        never by value."""
        return [f.name for f in fields(self) if (s := getattr(self, f.name))
                and len(s.reveal()) >= MIN_SECRET_CHARS and s.reveal() in text]

    def mask(self, text: str) -> str:
        """``text`` (a config error) with each loaded secret of ``MIN_SECRET_CHARS`` or more replaced by
        ``<the loaded secret NAME>``: also in another letter case (``log_level`` is lowered), quoted with
        escapes (``"..."``, ``'...'``) or cut short (a long value is shown by its first characters). A
        value pasted where it also fails validation was echoed in clear by the error (trial 26, F3)."""
        found = [(s.reveal(), f.name) for f in fields(self) if (s := getattr(self, f.name))
                 and len(s.reveal()) >= MIN_SECRET_CHARS]
        for value, name in sorted(found, key=lambda pair: len(pair[0]), reverse=True):
            quoted = (json.dumps(value, ensure_ascii=False)[1:-1], repr(value)[1:-1])
            # lowering can change the length ("İ" -> "i̇"): the lowered forms are searched too (trial 27)
            for form in dict.fromkeys((value, *quoted, value.lower(), value.casefold())):
                text = _mask_form(text, form, f"<the loaded secret {name}>")
        return text


def _mask_form(text: str, form: str, label: str) -> str:
    """``text`` with every run that starts with ``form``'s first ``MIN_SECRET_CHARS`` characters and goes
    on as ``form`` does (any letter case) replaced by ``label``."""
    head = re.compile(re.escape(form[:MIN_SECRET_CHARS]), re.IGNORECASE)
    out, pos = [], 0
    while (m := head.search(text, pos)) is not None:
        end, k = m.end(), MIN_SECRET_CHARS
        while end < len(text) and k < len(form) and text[end].casefold() == form[k].casefold():
            end, k = end + 1, k + 1
        out += [text[pos:m.start()], label]
        pos = end
    return "".join(out) + text[pos:]


SECRET_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Secrets))
"""Keys of the secrets file; the environment variable is ``CHATCAST_`` + the key in upper case."""


def env_var(name: str) -> str:
    """``"twitch_token"`` -> ``"CHATCAST_TWITCH_TOKEN"``."""
    return ENV_PREFIX + name.upper()


_TOML_TYPES = {bool: "true or false", int: "an integer", float: "a number", list: "a list", dict: "a table"}


def _toml_type(value: object) -> str:
    """What a TOML value is, in words (never the value itself: it may be a secret)."""
    for kind, words in _TOML_TYPES.items():
        if type(value) is kind:
            return words
    return "a date or time" if hasattr(value, "isoformat") else "a " + type(value).__name__


def read_secrets_file(path: Path) -> dict[str, str]:
    """Read a secrets TOML file that must have mode 0600 (or stricter).

    Raises ``SecretsError`` naming the file when it is a folder or another non-file, is group/world
    accessible, is not valid TOML, has an unknown key or a value that is not a string.
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise SecretsError(f"{path}: cannot read secrets file: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise SecretsError(f"{path}: is a folder, not a secrets file: name the TOML file itself "
                           f"(e.g. {path / 'secrets.toml'})")
    if not stat.S_ISREG(info.st_mode):
        raise SecretsError(f"{path}: is not a regular file: name the secrets TOML file itself")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise SecretsError(
            f"{path}: secrets file has mode {mode:04o}, so other users can read it; "
            f"it must be private: run `chmod 600 {path}`"
        )
    from bot.config import decode_error_line, read_config_text

    try:  # UTF-8, or UTF-16 with its byte-order mark (PowerShell's `>`), as the config file
        text = read_config_text(path)
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:  # the line, never the bytes: they may be a secret's
        raise SecretsError(f"{path}: line {decode_error_line(exc)}: not UTF-8 text (not shown, it may be a "
                           "secret); save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise SecretsError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise SecretsError(f"{path}: invalid TOML: arrays or inline tables nested too deeply") from None
    except OSError as exc:  # e.g. a 0600 file of another user: stat works, reading does not
        raise SecretsError(f"{path}: cannot read secrets file: {exc.strerror}") from None
    from bot.config_lines import key_lines, line_of

    lines = key_lines(text)
    out: dict[str, str] = {}
    for key, value in data.items():
        line = line_of(lines, (key,))
        at = f"{path}: line {line}" if line is not None else f"{path}"
        if key not in SECRET_NAMES:
            import difflib

            close = difflib.get_close_matches(key, SECRET_NAMES, n=1)
            if close:  # a typo of a known name: safe to show
                raise SecretsError(f'{at}: {key}: unknown key; did you mean "{close[0]}"?')
            # not shown: in a secrets file an unknown "key" may be a token pasted in the wrong place
            raise SecretsError(f"{at}: an unknown key (not shown, it may be a secret); known keys: "
                               f"{', '.join(SECRET_NAMES)}")
        if not isinstance(value, str):
            raise SecretsError(f'{at}: {key}: expected a string in quotes ({key} = "..."), got '
                               f"{_toml_type(value)}")
        if not value.strip():  # "twitch_token = ''" was accepted without a word, as if never set
            log.warning("%s: %s is empty, so it counts as not set", at, key)
        out[key] = value.strip()  # a token pasted with a space or newline around it failed to log in
    return out


def secrets_location(
    configured: Path | None, config_path: Path | None, env: Mapping[str, str] | None = None
) -> tuple[Path, str | None]:
    """The one secrets file chatcast reads and ``chatcast invite`` writes refreshed tokens to: ``[bot]
    secrets_file`` (``configured``; ``~`` expanded, relative to the config's folder), else
    ``$CHATCAST_SECRETS_FILE``, else ``secrets.toml`` next to the config (the current folder without one).
    Returns ``(path, named_by)``: who named it (a named file must exist, see ``load_secrets``), ``None``
    for the default ``secrets.toml``, which may be absent. The reader and the invite flow used to look in a
    different order, so with both set refreshed tokens went to a file the bot did not read."""
    env = os.environ if env is None else env
    base = config_path.parent if config_path is not None else Path.cwd()
    if configured is not None:
        named = f"[bot] secrets_file in {config_path}" if config_path is not None else "[bot] secrets_file"
        configured = configured.expanduser()  # "~/.chatcast/secrets.toml", as data_dir (trial 27)
        return (configured if configured.is_absolute() else base / configured), named
    if env.get(SECRETS_FILE_ENV):
        return Path(env[SECRETS_FILE_ENV]).expanduser(), SECRETS_FILE_ENV
    return base / "secrets.toml", None


def load_secrets(
    file: Path | None = None, env: Mapping[str, str] | None = None, *, named_by: str | None = None
) -> Secrets:
    """Credentials from ``file`` (optional, see ``read_secrets_file``) overlaid by environment variables.

    ``file`` defaults to ``$CHATCAST_SECRETS_FILE`` when set. A file named explicitly (``file``, or the
    variable) must exist: else ``SecretsError`` "secrets file named by ``named_by`` does not exist" (a
    typo'd path must not leave the bot without credentials and without a word). Callers pass only a
    ``secrets.toml`` found next to the config, never a default that may be absent. Empty values count as
    not configured.
    """
    env = os.environ if env is None else env
    if file is None and env.get(SECRETS_FILE_ENV):
        file, named_by = Path(env[SECRETS_FILE_ENV]), SECRETS_FILE_ENV
    if file is not None and not file.exists() and not file.is_symlink():
        by = f" named by {named_by}" if named_by else ""
        raise SecretsError(f"{file}: secrets file{by} does not exist")
    values: dict[str, str] = read_secrets_file(file) if file is not None else {}
    for name in SECRET_NAMES:
        if env.get(env_var(name), "").strip():  # trimmed as the file's values; blank is not set
            values[name] = env[env_var(name)].strip()
    return Secrets(**{k: Secret(v) for k, v in values.items() if v})


PLATFORM_SECRETS: dict[str, tuple[str, ...]] = {
    "twitch": ("twitch_client_id", "twitch_client_secret", "twitch_token"),
    "discord": ("discord_token",),
}
"""What a live platform needs to serve its channels: Twitch logs in with the application's id and secret
and the bot account's token (``chatcast invite twitch --bot``); Discord with the bot token."""

_PLATFORM_DOCS = {"twitch": "docs/twitch.md", "discord": "docs/discord.md"}


def missing_credentials(platform: str, secrets: Secrets) -> list[str]:
    """The secrets (``SECRET_NAMES``) ``platform`` needs that are not set; ``[]`` for platforms that need
    none (console, replay)."""
    return [name for name in PLATFORM_SECRETS.get(platform, ()) if not getattr(secrets, name)]


def credential_warnings(channels: Iterable[tuple[str, str]], secrets: Secrets) -> list[str]:
    """One line per live platform that has configured ``(platform, name)`` channels but lacks credentials:
    which channels will not be served and which variables (or secrets-file keys) are missing. Names only,
    never a value. ``[]`` when every configured platform can log in."""
    wanted: dict[str, list[str]] = {}
    for platform, name in channels:
        wanted.setdefault(platform, []).append(name)
    lines = []
    for platform, names in wanted.items():
        missing = missing_credentials(platform, secrets)
        if not missing:
            continue
        shown = ", ".join(f"{platform}/{n}" for n in names)
        what = "channel" if len(names) == 1 else "channels"
        plural = "s" if len(missing) > 1 else ""
        variables = _and([env_var(m) for m in missing])
        line = (f"{what} {shown} will not be served: missing {variables} (environment"
                f" variable{plural}, or {_and(missing)} in the secrets file; see {_PLATFORM_DOCS[platform]})")
        if platform == "twitch" and "twitch_token" in missing:
            line += "; the bot's token comes from `chatcast invite twitch --bot`"
        lines.append(line)
    return lines


def _and(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
