"""Core storage: migrations, viewers, presence batching, retention, deletion, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.events import Viewer
from storage.db import Database, SchemaTooNew
from storage.viewers import (
    MIGRATIONS,
    count_rows,
    delete_viewer_data,
    ensure_viewer,
    migrate_core,
    purge_older_than,
    viewer_summary,
)
from storage.watch import PresenceRecorder, end_session, open_session, presence_rows, start_session

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 5, 19, 15, 0, tzinfo=UTC)


@pytest.fixture
def db() -> Database:
    database = Database(":memory:")
    migrate_core(database)
    return database


def test_migrate_is_idempotent_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    first = Database(path)
    assert migrate_core(first) == len(MIGRATIONS)
    first.close()
    again = Database(path)
    assert migrate_core(again) == 0
    assert again.version("core") == len(MIGRATIONS)
    tables = {r[0] for r in again.raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"channels", "viewers", "stream_sessions", "presence"} <= tables


def test_upgrade_applies_only_new_migrations(tmp_path: Path) -> None:
    path = tmp_path / "u.db"
    old = Database(path)
    old.migrate("core", MIGRATIONS)
    old.close()
    newer = [*MIGRATIONS, "CREATE TABLE core_extra (x INTEGER)"]
    db = Database(path)
    assert db.migrate("core", newer) == 1
    assert db.version("core") == len(newer)
    db.close()
    with pytest.raises(SchemaTooNew, match="schema version 2"):
        Database(path).migrate("core", MIGRATIONS)


def test_ensure_viewer_is_stable_and_updates_display_name(db: Database) -> None:
    a = ensure_viewer(db, Viewer("twitch", "alice", "Alice"))
    b = ensure_viewer(db, Viewer("twitch", "bob", "Bob"))
    again = ensure_viewer(db, Viewer("twitch", "alice", "ALICE"))
    assert a == again != b
    assert db.raw.execute("SELECT display_name FROM viewers WHERE id = ?", [a]).fetchone()[0] == "ALICE"
    assert ensure_viewer(db, Viewer("discord", "alice", "Alice")) not in (a, b)


def test_recorder_batches_and_counts(db: Database) -> None:
    clock = ManualClock(T0)
    rec = PresenceRecorder(db, clock=clock, flush_every=3, flush_interval_s=60)
    alice, bob = Viewer("twitch", "alice", "Alice"), Viewer("twitch", "bob", "Bob")
    rec.seen("twitch", "chan", alice, T0, message=True)
    rec.seen("twitch", "chan", alice, T0 + timedelta(seconds=5), message=True)
    assert count_rows(db, "presence") == 0  # still buffered
    rec.seen("twitch", "chan", bob, T0 + timedelta(seconds=7))  # third event -> flush
    assert rec.buffered == 0
    rows = {r["user_id"]: r for r in presence_rows(db, "twitch", "chan")}
    assert rows["alice"]["message_count"] == 2 and rows["bob"]["message_count"] == 0
    assert rows["alice"]["last_seen"] == "2024-05-19T15:00:05+00:00"
    rec.seen("twitch", "chan", alice, T0 + timedelta(seconds=50), message=True)
    clock.advance(61)  # interval elapsed: next event flushes
    rec.seen("twitch", "chan", bob, T0 + timedelta(seconds=61))
    rows = {r["user_id"]: r for r in presence_rows(db, "twitch", "chan")}
    assert rows["alice"]["message_count"] == 3
    assert rows["alice"]["first_seen"] == "2024-05-19T15:00:00+00:00"
    assert rows["alice"]["last_seen"] == "2024-05-19T15:00:50+00:00"


def test_sessions_split_presence(db: Database) -> None:
    rec = PresenceRecorder(db, flush_every=1)
    alice = Viewer("twitch", "alice", "Alice")
    rec.seen("twitch", "chan", alice, T0, message=True)
    sid = start_session(db, "twitch", "Chan", T0 + timedelta(hours=1))
    assert open_session(db, "twitch", "chan") == sid
    rec.set_session("twitch", "chan", sid)
    rec.seen("twitch", "chan", alice, T0 + timedelta(hours=1, minutes=1), message=True)
    end_session(db, sid, T0 + timedelta(hours=2))
    assert open_session(db, "twitch", "chan") is None
    sessions = sorted((r["session_id"] or 0) for r in presence_rows(db, "twitch", "chan"))
    assert sessions == [0, sid]


def test_delete_viewer_data_and_summary(db: Database) -> None:
    rec = PresenceRecorder(db, flush_every=1)
    alice, bob = Viewer("twitch", "alice", "Alice"), Viewer("twitch", "bob", "Bob")
    for i in range(3):
        rec.seen("twitch", "c1", alice, T0 + timedelta(minutes=i), message=True)
    rec.seen("twitch", "c2", alice, T0, message=True)
    rec.seen("twitch", "c1", bob, T0, message=True)
    summary = viewer_summary(db, alice)
    assert summary is not None
    assert (summary["channels"], summary["messages"]) == (2, 4)
    assert delete_viewer_data(db, alice) == 3  # 2 presence rows + the viewer row
    assert viewer_summary(db, alice) is None
    assert db.raw.execute("SELECT COUNT(*) FROM viewers WHERE user_id = 'alice'").fetchone()[0] == 0
    assert [r["user_id"] for r in presence_rows(db, "twitch", "c1")] == ["bob"]
    assert delete_viewer_data(db, alice) == 0


def test_retention_purge(db: Database) -> None:
    rec = PresenceRecorder(db, flush_every=1)
    old, new = Viewer("twitch", "old", "Old"), Viewer("twitch", "new", "New")
    rec.seen("twitch", "c", old, T0 - timedelta(days=100), message=True)
    rec.seen("twitch", "c", new, T0 - timedelta(days=1), message=True)
    sid = start_session(db, "twitch", "c", T0 - timedelta(days=101))
    end_session(db, sid, T0 - timedelta(days=100))
    removed = purge_older_than(db, T0 - timedelta(days=90))
    assert removed == {"presence": 1, "stream_sessions": 1, "viewers": 1}
    assert [r["user_id"] for r in presence_rows(db, "twitch", "c")] == ["new"]
    rec.clear_cache()
    rec.seen("twitch", "c", old, T0, message=True)  # comes back: re-created, no stale id
    assert count_rows(db, "viewers") == 2


def test_kill_9_mid_write_leaves_consistent_db(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    script = textwrap.dedent(f"""
        import sys
        from datetime import UTC, datetime, timedelta
        from bot.events import Viewer
        from storage.db import Database
        from storage.viewers import migrate_core
        from storage.watch import PresenceRecorder
        db = Database({str(path)!r})
        migrate_core(db)
        rec = PresenceRecorder(db, flush_every=200, flush_interval_s=3600)
        t = datetime(2024, 1, 1, tzinfo=UTC)
        i = 0
        while True:
            who = Viewer("twitch", f"u{{i % 5000}}", f"U{{i}}")
            rec.seen("twitch", "c", who, t + timedelta(seconds=i), message=True)
            i += 1
            if i == 2000:
                print("ready", flush=True)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, cwd=REPO)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    db = Database(path)
    assert db.integrity_ok()
    assert count_rows(db, "presence") >= 2000  # every batch flushed before "ready" is there
    total = db.raw.execute("SELECT SUM(message_count) FROM presence").fetchone()[0]
    assert total % 200 == 0  # whole batches only: a flush is all or nothing
