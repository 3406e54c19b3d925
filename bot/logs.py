"""Logging set-up: one format, levels from ``--log-level``/``[bot] log_level``, and secret redaction.

``SecretRedactingFilter`` replaces every loaded secret value (``bot.secrets.Secrets.values()``) in a log
record's final message and exception text with ``********``, so a token that slips into an error message
(a URL with ``?token=``, a library's repr) never reaches the terminal or a log file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.secrets import MIN_SECRET_CHARS

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

    def holds(self, text: str) -> bool:
        """Whether ``text`` contains a secret value of ``bot.secrets.MIN_SECRET_CHARS`` or more."""
        return any(secret in text for secret in self._secrets if len(secret) >= MIN_SECRET_CHARS)

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


def holds_secret(text: str) -> bool:
    """Whether ``text`` contains a secret value that ``setup_logging`` was given (``MIN_SECRET_CHARS`` or
    more): the outbox never sends such a reply to chat."""
    return _FILTER.holds(text)


PROGRESS_ENV = "HF_HUB_DISABLE_PROGRESS_BARS"
_progress_env_set_by_us = False


def quiet_progress_bars(debug: bool) -> None:
    """Hide Hugging Face progress bars ("Loading weights", downloads) unless ``debug``.

    Sets ``HF_HUB_DISABLE_PROGRESS_BARS=1`` (read by huggingface_hub, transformers and sentence-transformers
    when first imported) unless the user set it; when transformers is already imported its bars are
    switched off directly. ``debug=True`` undoes what an earlier call did (the user's own setting stays).
    """
    import os
    import sys

    global _progress_env_set_by_us
    if debug:
        if _progress_env_set_by_us:
            os.environ.pop(PROGRESS_ENV, None)
            _progress_env_set_by_us = False
            _toggle_loaded_bars(enable=True)
        return
    if PROGRESS_ENV not in os.environ:
        os.environ[PROGRESS_ENV] = "1"
        _progress_env_set_by_us = True
    if os.environ.get(PROGRESS_ENV, "").strip().lower() in ("1", "true", "yes", "on") and (
        "transformers" in sys.modules or "huggingface_hub" in sys.modules
    ):
        _toggle_loaded_bars(enable=False)


def _toggle_loaded_bars(*, enable: bool) -> None:
    import sys

    try:
        if "transformers" in sys.modules:
            from transformers.utils import logging as hf_logging

            (hf_logging.enable_progress_bar if enable else hf_logging.disable_progress_bar)()
        if "huggingface_hub" in sys.modules:
            from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

            (enable_progress_bars if enable else disable_progress_bars)()
    except Exception:  # noqa: BLE001 - cosmetics: never stop the CLI over a progress bar
        logging.getLogger("chatcast.logs").debug("could not toggle progress bars", exc_info=True)
