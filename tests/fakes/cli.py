"""Helpers for tests that run ``chatcast`` commands in-process with typer's ``CliRunner``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

runner = CliRunner()


def invoke(args: list[str], app: Any = None) -> Any:
    """``chatcast ARGS`` in-process (``app`` defaults to ``bot.cli.app``); returns click's ``Result``. The
    root log handler that ``bot.cli`` binds to this run's captured stderr is removed afterwards, so a later
    run does not log into a closed stream."""
    if app is None:
        from bot.cli import app
    try:
        return runner.invoke(app, args)
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_chatcast", False)]:
            root.removeHandler(handler)


def write(path: Path, content: str | bytes) -> Path:
    """Write ``content`` (UTF-8 text, or bytes as they are) to ``path``; returns ``path``."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def one_error_line(result: Any, where: str, what: str, *, last_line_only: bool = False) -> None:
    """Exit code 2 and exactly one ``error: ...`` line on stderr naming ``where`` and ``what``, no traceback
    (``last_line_only``: other lines, such as log output, may come before it)."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    err = result.stderr
    assert "Traceback" not in err and err.count("error: ") == 1, err
    line = err.strip().splitlines()[-1] if last_line_only else err
    if not last_line_only:
        assert err.count("\n") == 1, err
    assert line.startswith("error: ") and where in line and what in line, err
