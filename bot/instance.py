"""One running bot per data folder: ``chatcast run`` holds a lock file there while it runs.

Two bots on one config answer every command twice, spend Twitch's 20 messages per 30 s twice over (each
has its own cooldowns and per-viewer budgets) and write one SQLite file from two processes. The lock is
``<data_dir>/chatcast.lock`` (``filelock``: an OS lock, released by the OS when the process dies, so a
crash leaves no stale lock); ``<data_dir>/chatcast.pid`` names the holder for the error message.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = "chatcast.lock"
PID_NAME = "chatcast.pid"


class AlreadyRunning(RuntimeError):
    """Another process holds the data folder's lock; the message names the folder and its pid."""


@contextlib.contextmanager
def single_instance(data_dir: Path) -> Iterator[None]:
    """Hold ``data_dir``'s bot lock for the ``with`` block (the folder is created if missing).

    Raises ``AlreadyRunning`` at once (no waiting) when another process holds it, ``OSError`` when the
    folder cannot be created or written."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(data_dir / LOCK_NAME)
    pid_file = data_dir / PID_NAME
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = ""
        with contextlib.suppress(OSError, ValueError):
            holder = f" (pid {int(pid_file.read_text(encoding='utf-8').strip())})"
        raise AlreadyRunning(
            f"another chatcast is already running with the data folder {data_dir}{holder}: stop it first "
            "(two bots answer every command twice and share the platform's message limit), or give this one "
            "its own [bot] data_dir"
        ) from None
    try:
        pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
        yield
    finally:
        with contextlib.suppress(OSError):
            pid_file.unlink()
        lock.release()
