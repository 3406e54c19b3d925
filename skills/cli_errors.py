"""Clean errors for the skills' ``chatcast train`` / ``chatcast eval`` commands.

A bad data file (missing, a folder, not UTF-8, wrong columns, broken JSON, empty) must end a command with
one line naming the file and what is wrong, and exit code 2 (bad arguments, as ``bot.cli`` documents),
never a traceback. ``data_errors()`` turns the exceptions data loaders raise into that; ``fail`` is the
same for a check a command makes itself.

    @eval_app.command("faq")
    def eval_faq_cmd(...):
        with data_errors():
            result = evaluate(...)
"""

from __future__ import annotations

import codecs
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import typer

EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """Print ``error: message`` to stderr and exit with code 2 (raises ``typer.Exit``)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@contextlib.contextmanager
def data_errors() -> Iterator[None]:
    """Turn a data loader's ``FileNotFoundError``, ``IsADirectoryError``, ``PermissionError``,
    ``UnicodeDecodeError``, ``json.JSONDecodeError`` and ``ValueError`` (our loaders' format errors
    subclass it and name the file) into ``fail``. Other exceptions pass through (they are bugs)."""
    try:
        yield
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        where = getattr(exc, "filename", None)
        fail(f"{where}: {exc.strerror or exc}" if where else str(exc))
    except UnicodeDecodeError as exc:
        fail(f"a data file is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8")
    except json.JSONDecodeError as exc:
        fail(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except ValueError as exc:
        fail(str(exc))


def decode_utf8(path: str | Path, raw: bytes, *, error: type[ValueError] = ValueError,
                encoding: str = "utf-8-sig") -> str:
    """``raw`` (the bytes of ``path``) as UTF-8 text; ``utf-8-sig`` drops a byte-order mark. Raises ``error``
    naming ``path`` for UTF-16 text (PowerShell, Excel) and for a byte that is not UTF-8, with its line."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise error(f"{path}: UTF-16 text; save it as UTF-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8"
        ) from None


def parse_json(path: str | Path, text: str, *, error: type[ValueError] = ValueError) -> object:
    """``json.loads(text)`` (the text of ``path``). Raises ``error`` naming ``path``: the line and column of
    invalid JSON, or "nested too deeply" (the decoder's ``RecursionError`` was a traceback)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise error(f"{path}: invalid JSON: nested too deeply") from None
