"""Logging set-up: one format, levels from ``--log-level``/``[bot] log_level``, and secret redaction.

``SecretRedactingFilter`` replaces every loaded secret value (``bot.secrets.Secrets.values()``) in a log
record's final message and exception text with ``********``, so a token that slips into an error message
(a URL with ``?token=``, a library's repr) never reaches the terminal or a log file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

REDACTED = "********"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class SecretRedactingFilter(logging.Filter):
    """Redact the given secret values from records passing through a handler.

    Values shorter than 4 characters are ignored (they would redact ordinary words).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Add more values to redact (e.g. after a token refresh)."""
        merged = set(self._secrets) | {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(merged, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``********``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


_FILTER = SecretRedactingFilter()


def setup_logging(level: str = "info", secrets: Iterable[str] = ()) -> SecretRedactingFilter:
    """Configure the root logger (stderr, ``LOG_FORMAT``) at ``level`` with the redaction filter.

    Calling it again changes the level and adds secrets. Raises ``ValueError`` for an unknown level name.
    Returns the filter so callers can add values later.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}; expected debug, info, warning or error")
    root = logging.getLogger()
    root.setLevel(numeric)
    handler = next((h for h in root.handlers if getattr(h, "_chatcast", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._chatcast = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(_FILTER)
        root.addHandler(handler)
    _FILTER.add(secrets)
    return _FILTER
