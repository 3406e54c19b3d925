"""A writable secrets store: the 0600 secrets TOML that ``bot.secrets`` reads, updated in place.

The invite flow and automatic token refresh write tokens here (keys as in ``bot.secrets.SECRET_NAMES``,
e.g. ``twitch_token``, ``twitch_refresh_token``), never to the database or the logs. The file is created
with mode 0600 and replaced atomically (write to a 0600 temporary file, then ``os.replace``).
"""

from __future__ import annotations

import json
import os
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
        """Store ``value`` under ``name``, keeping the other keys."""
        if name not in SECRET_NAMES:
            raise SecretsError(f"{self.path}: {name}: unknown key; known keys: {', '.join(SECRET_NAMES)}")
        values = self._read()
        values[name] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("# Chatcast secrets: keep this file private (chmod 600).\n")
            for key in sorted(values):
                fh.write(f"{key} = {json.dumps(values[key])}\n")  # a JSON string is a TOML basic string
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
