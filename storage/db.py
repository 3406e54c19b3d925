"""Open the SQLite file (WAL, foreign keys) and run versioned migrations per component.

Each component (``core`` and every skill) owns an ordered list of migrations; ``schema_version`` holds one
row per component with the number applied. Migrations are SQL strings (several statements allowed) or
callables taking the ``sqlite_utils.Database``. A database whose version for a component is newer than
the code knows raises ``SchemaTooNew`` (it was written by a newer Chatcast); a file that is not a SQLite
database raises ``NotADatabase`` (a ``SchemaTooNew``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

Migration = str | Callable[[sqlite_utils.Database], None]


class SchemaTooNew(RuntimeError):
    """The database was written by a newer version of Chatcast than this one."""


class NotADatabase(SchemaTooNew):
    """The file is not a SQLite database (or is damaged). A ``SchemaTooNew`` so every caller that reports
    an unusable database reports this one too."""


class Database:
    """One SQLite database file (``":memory:"`` for tests).

    ``raw`` is the ``sqlite_utils.Database``: only modules under ``storage/`` use it. Writes from several
    calls can be grouped with ``with db.transaction(): ...`` (one COMMIT, so a crash loses at most that
    batch).
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.raw = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            if self.path != ":memory:":
                self.raw.execute("PRAGMA journal_mode=WAL")
                self.raw.execute("PRAGMA synchronous=NORMAL")
            self.raw.execute("PRAGMA foreign_keys=ON")
            self.raw.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise NotADatabase(f"{self.path}: not a Chatcast database ({exc})") from None

    def version(self, component: str) -> int:
        """Migrations applied for ``component`` (0 when none)."""
        row = self.raw.execute(
            "SELECT version FROM schema_version WHERE component = ?", [component]
        ).fetchone()
        return int(row[0]) if row else 0

    def migrate(self, component: str, migrations: Sequence[Migration]) -> int:
        """Apply the pending migrations of ``component`` in order, each in its own transaction.

        Returns the number applied. Raises ``SchemaTooNew`` when the file is ahead of ``migrations``.
        """
        current = self.version(component)
        if current > len(migrations):
            raise SchemaTooNew(
                f"{self.path}: component {component!r} is at schema version {current}, but this "
                f"Chatcast only knows versions up to {len(migrations)}; "
                "upgrade Chatcast or use another data dir"
            )
        applied = 0
        for number, migration in enumerate(migrations[current:], start=current + 1):
            with self.transaction():
                if isinstance(migration, str):
                    for statement in _statements(migration):
                        self.raw.execute(statement)
                else:
                    migration(self.raw)
                self.raw.execute(
                    "INSERT INTO schema_version (component, version) VALUES (?, ?) "
                    "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                    [component, number],
                )
            applied += 1
        return applied

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """Group writes in one transaction (re-entrant: nested blocks join the outer one)."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self.raw.execute("BEGIN")
            self._depth += 1
            try:
                yield self.raw
            except BaseException:
                self._depth -= 1
                if outer:
                    self.raw.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self.raw.execute("COMMIT")

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` returned ``ok``."""
        return self.raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        self.raw.conn.close()


@contextmanager
def _read_only(path: str | Path) -> Iterator[sqlite_utils.Database]:
    """A Chatcast database file opened read-only (inspecting a file must not change it: a mistyped
    ``--db`` naming another program's database used to get Chatcast's tables written into it). Raises
    ``NotADatabase`` when the file is not a SQLite database or has no Chatcast ``schema_version`` table
    (another program's file, an empty file, a ``schema_version`` of another shape such as Flyway's).

    A file no connection has open (no ``-wal``/``-shm`` beside it: a finished replay's database) is opened
    ``immutable``: a read-only connection to a WAL database otherwise leaves those two files behind, as it
    cannot delete them (``stats --db REPORT/chatcast.db`` left them in the report folder)."""
    file = Path(path).resolve()
    in_use = any(file.with_name(file.name + suffix).exists() for suffix in ("-wal", "-shm"))
    uri = f"{file.as_uri()}?mode=ro{'' if in_use else '&immutable=1'}"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise NotADatabase(f"{path}: cannot be opened ({exc})") from None
    try:
        raw = sqlite_utils.Database(conn)
        names = raw.table_names()
        columns = set(raw["schema_version"].columns_dict) if "schema_version" in names else set()
        if not {"component", "version"} <= columns:
            raise NotADatabase(f"{path}: not a Chatcast database (it has no schema_version table)")
        yield raw
    except sqlite3.DatabaseError as exc:
        raise NotADatabase(f"{path}: not a Chatcast database ({exc})") from None
    finally:
        conn.close()


def check_database(path: str | Path) -> None:
    """Raises ``NotADatabase`` unless ``path`` is a Chatcast database (``_read_only``); reads no rows."""
    with _read_only(path):
        pass


def read_table_sizes(path: str | Path) -> dict[str, int]:
    """Rows per table (skills' tables included, in name order) of a Chatcast database file, read-only
    (``chatcast stats``). Raises ``NotADatabase`` as ``check_database``."""
    with _read_only(path) as raw:
        return {name: int(raw[name].count) for name in sorted(raw.table_names())}


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (``sqlite3.complete_statement`` aware of quotes)."""
    out, buf = [], ""
    for piece in sql.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    rest = buf.strip().rstrip(";").strip()
    if rest:
        out.append(rest)
    return out


def clear_creator(db: Database, table: str, platform: str, user_id: str) -> int:
    """``!forgetme`` for rows a viewer created that belong to the channel (FAQ entries, custom commands):
    ``created_by`` becomes NULL in ``table`` (a constant of a ``storage`` module, never user input); the
    rows stay. Returns the number of rows changed."""
    with db.transaction() as raw:
        cur = raw.execute(
            f"UPDATE {table} SET created_by = NULL WHERE platform = ? AND created_by = ?", [platform, user_id]
        )
    return cur.rowcount


def count_created(db: Database, table: str, platform: str, user_id: str) -> int:
    """How many rows of ``table`` a viewer created (for ``!mydata``)."""
    row = db.raw.execute(
        f"SELECT COUNT(*) FROM {table} WHERE platform = ? AND created_by = ?", [platform, user_id]
    ).fetchone()
    return int(row[0])
