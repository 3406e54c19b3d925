"""A writable secrets store: the 0600 secrets TOML that ``bot.secrets`` reads, updated in place.

The invite flow and automatic token refresh write tokens here (keys as in ``bot.secrets.SECRET_NAMES``,
e.g. ``twitch_token``, ``twitch_refresh_token``), never to the database or the logs. The file is created
with mode 0600 and replaced atomically (write to a 0600 temporary file, then ``os.replace``). Only the
key's own line changes: the user's comments and other lines stay, and a symlinked file is updated where
the link points (the link stays a link).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from bot.secrets import SECRET_NAMES, SecretsError, read_secrets_file


class SecretsFileStore:
    """``get(name)`` / ``set(name, value)`` over a secrets TOML file (see module docstring).

    ``get`` re-reads the file each time, so a token written by ``chatcast invite`` in another process is
    seen by a running bot. Raises ``SecretsError`` for an unknown key, or (from ``get``) a file that is
    not private; ``get`` of a missing file returns ``None``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        return read_secrets_file(self.path)

    def get(self, name: str) -> str | None:
        """The value stored under ``name`` or ``None``."""
        return self._read().get(name) or None

    def set(self, name: str, value: str) -> None:
        """Store ``value`` under ``name``, keeping the other keys, comments and lines. Raises
        ``SecretsError`` for an unknown key or an unreadable file, ``OSError`` when it cannot be written."""
        if name not in SECRET_NAMES:
            raise SecretsError(f"{self.path}: {name}: unknown key; known keys: {', '.join(SECRET_NAMES)}")
        values = self._read()
        values[name] = value
        # through a symlink: replacing the link itself left its target with the old token
        target = self.path.resolve() if self.path.is_symlink() else self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        for text in (_with_line(old, name, value), _whole_file(values)):
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")  # 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                if read_secrets_file(Path(tmp)) == values:  # the edited file reads back as intended
                    os.replace(tmp, target)
                    return
            finally:
                Path(tmp).unlink(missing_ok=True)
        raise SecretsError(f"{target}: could not be rewritten so that it reads back")  # pragma: no cover


def _with_line(old: str, name: str, value: str) -> str:
    """``old`` with the line ``name = ...`` set to ``value`` (appended when missing); other lines as they
    were. A value spread over several lines is not edited in place (``set`` falls back to ``_whole_file``,
    which the read-back check picks when this text does not read back)."""
    line = f"{name} = {json.dumps(value)}"  # a JSON string is a TOML basic string
    if not old:
        return _whole_file({name: value})
    pattern = re.compile(rf"^[ \t]*{re.escape(name)}[ \t]*=.*$", re.M)
    if pattern.search(old):
        return pattern.sub(lambda _: line, old, count=1)
    return old + ("" if old.endswith("\n") else "\n") + line + "\n"


def _whole_file(values: dict[str, str]) -> str:
    """A fresh secrets file holding ``values``."""
    lines = ["# Chatcast secrets: keep this file private (chmod 600)."]
    lines += [f"{key} = {json.dumps(values[key])}" for key in sorted(values)]
    return "\n".join(lines) + "\n"
