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


class DataFolderError(RuntimeError):
    """The data folder cannot hold the lock (a file in the way, no permission); the message names it."""


class AlreadyRunning(DataFolderError):
    """Another process holds the data folder's lock; the message names the folder and its pid."""


@contextlib.contextmanager
def single_instance(data_dir: Path) -> Iterator[None]:
    """Hold ``data_dir``'s bot lock for the ``with`` block (the folder is created if missing).

    Raises ``AlreadyRunning`` at once (no waiting) when another process holds it, ``DataFolderError``
    when the folder cannot be created or locked (a file named like it, no permission)."""
    data_dir = data_dir.absolute()
    lock = FileLock(data_dir / LOCK_NAME)
    pid_file = data_dir / PID_NAME
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
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
    except OSError as exc:  # after Timeout, an OSError too; a file named like the folder was a traceback
        raise DataFolderError(
            f"{data_dir}: cannot use it as the data folder ({exc.strerror or exc}): give [bot] data_dir a "
            "folder you can write to"
        ) from None
    try:
        pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
        yield
    finally:
        with contextlib.suppress(OSError):
            pid_file.unlink()
        lock.release()
