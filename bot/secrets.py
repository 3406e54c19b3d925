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

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

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
        """A Twitch token is configured (enough to connect to chat)."""
        return bool(self.twitch_token)

    @property
    def has_discord(self) -> bool:
        """A Discord bot token is configured."""
        return bool(self.discord_token)

    def values(self) -> list[str]:
        """Every non-empty secret value, longest first (for redaction)."""
        found = [s.reveal() for f in fields(self) if (s := getattr(self, f.name))]
        return sorted(found, key=len, reverse=True)


SECRET_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Secrets))
"""Keys of the secrets file; the environment variable is ``CHATCAST_`` + the key in upper case."""


def env_var(name: str) -> str:
    """``"twitch_token"`` -> ``"CHATCAST_TWITCH_TOKEN"``."""
    return ENV_PREFIX + name.upper()


def read_secrets_file(path: Path) -> dict[str, str]:
    """Read a secrets TOML file that must have mode 0600 (or stricter).

    Raises ``SecretsError`` naming the file when it is group/world accessible, is not valid TOML, has an
    unknown key or a value that is not a string.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise SecretsError(f"{path}: cannot read secrets file: {exc.strerror}") from None
    if mode & 0o077:
        raise SecretsError(
            f"{path}: secrets file has mode {mode:04o}, so other users can read it; "
            f"it must be private: run `chmod 600 {path}`"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SecretsError(f"{path}: invalid TOML: {exc}") from None
    out: dict[str, str] = {}
    for key, value in data.items():
        if key not in SECRET_NAMES:
            import difflib

            close = difflib.get_close_matches(key, SECRET_NAMES, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else f"; known keys: {', '.join(SECRET_NAMES)}"
            raise SecretsError(f"{path}: {key}: unknown key{hint}")
        if not isinstance(value, str):
            raise SecretsError(f"{path}: {key}: expected a string, got a {type(value).__name__}")
        out[key] = value
    return out


def load_secrets(file: Path | None = None, env: Mapping[str, str] | None = None) -> Secrets:
    """Credentials from ``file`` (optional, see ``read_secrets_file``) overlaid by environment variables.

    ``file`` defaults to ``$CHATCAST_SECRETS_FILE`` when set; a missing default file is not an error, a
    missing file named explicitly is. Empty values count as not configured.
    """
    env = os.environ if env is None else env
    if file is None and env.get(SECRETS_FILE_ENV):
        file = Path(env[SECRETS_FILE_ENV])
        if not file.exists():
            raise SecretsError(f"{file}: secrets file named by {SECRETS_FILE_ENV} does not exist")
    values: dict[str, str] = read_secrets_file(file) if file is not None and file.exists() else {}
    for name in SECRET_NAMES:
        if env.get(env_var(name)):
            values[name] = env[env_var(name)]
    return Secrets(**{k: Secret(v) for k, v in values.items() if v})
