"""!forgetme removes every row about the caller (core tables and skills); !mydata; runtime isolation."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path

import pytest

from bot.adapters.replay import ReplayAdapter
from bot.clock import ManualClock
from bot.commands import CommandContext, command
from bot.config import load_config
from bot.events import Viewer
from bot.runtime import Runtime
from skills.base import Skill
from storage.viewers import ensure_viewer, find_viewer


class NotesSkill(Skill):
    """Keeps a note per viewer in its own table that references viewers(id)."""

    name = "notes"
    stores = "your notes"
    ids: dict[str, int] = {}  # user id -> viewers.id, as seen by the skill

    async def start(self) -> None:
        self.ctx.storage.migrate("notes", [
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, viewer_id INTEGER NOT NULL REFERENCES viewers(id), "
            "user_name TEXT NOT NULL, note TEXT NOT NULL)"
        ])

    @command("note")
    async def note(self, ctx: CommandContext) -> None:
        db = self.ctx.storage
        vid = ensure_viewer(db, ctx.author)
        NotesSkill.ids[ctx.author.user_id] = vid
        db.raw.execute("INSERT INTO notes (viewer_id, user_name, note) VALUES (?, ?, ?)",
                       [vid, ctx.author.user_id, ctx.rest])
        await ctx.reply("noted")

    async def delete_user_data(self, viewer: Viewer) -> int:
        vid = find_viewer(self.ctx.storage, viewer.platform, viewer.user_id)
        if vid is None:
            return 0
        return self.ctx.storage.raw.execute("DELETE FROM notes WHERE viewer_id = ?", [vid]).rowcount

    async def user_data_summary(self, viewer: Viewer) -> str | None:
        vid = find_viewer(self.ctx.storage, viewer.platform, viewer.user_id)
        sql = "SELECT COUNT(*) FROM notes WHERE viewer_id = ?"
        n = self.ctx.storage.raw.execute(sql, [vid]).fetchone()[0]
        return f"{n} note(s)" if n else None


class BrokenDelete(Skill):
    name = "broken"

    async def delete_user_data(self, viewer: Viewer) -> int:
        raise RuntimeError("cannot delete")


class FailsToStart(Skill):
    name = "failing"

    async def start(self) -> None:
        raise RuntimeError("no model")

    @command("failing")
    async def failing(self, ctx: CommandContext) -> None:
        await ctx.reply("should never run")


LOG = """\
# channel: chan
[2024-01-01 10:00:00 UTC] alice: hi
[2024-01-01 10:00:01 UTC] bob: hello
[2024-01-01 10:00:02 UTC] alice: !note buy milk
[2024-01-01 10:00:03 UTC] bob: !note call mum
[2024-01-01 10:00:04 UTC] alice: !mydata
[2024-01-01 10:00:05 UTC] alice: !forgetme
[2024-01-01 10:00:50 UTC] bob: !mydata
[2024-01-01 10:00:55 UTC] bob: !failing
"""


async def replay(classes: dict[str, type[Skill]]) -> tuple[Runtime, ReplayAdapter]:
    config = load_config(None, skill_classes=classes)
    clock = ManualClock()
    runtime = Runtime(config, clock=clock, db_path=":memory:", use_engine=False, skill_classes=classes,
                      daily_purge=False)
    await runtime.start()
    adapter = ReplayAdapter(io.StringIO(LOG), clock=clock)
    await runtime.replay(adapter)
    return runtime, adapter


def rows_mentioning(runtime: Runtime, user_id: str, viewer_id: int) -> list[tuple[str, tuple]]:
    """Every row of every table that holds the user id as text or the viewer id in a viewer_id column."""
    db = runtime.db
    assert db is not None
    found = []
    tables = [r[0] for r in db.raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        cursor = db.raw.execute(f"SELECT * FROM {table}")
        cols = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            values = dict(zip(cols, row, strict=True))
            if any(v == user_id for v in values.values()) or values.get("viewer_id") == viewer_id:
                found.append((table, row))
            if table == "viewers" and values["id"] == viewer_id:
                found.append((table, row))
    return found


async def test_forgetme_removes_every_row_of_that_viewer_only() -> None:
    runtime, adapter = await replay({"notes": NotesSkill, "failing": FailsToStart})
    try:
        db = runtime.db
        assert db is not None
        alice_id = NotesSkill.ids["alice"]
        assert find_viewer(db, "replay", "alice") is None
        assert rows_mentioning(runtime, "alice", alice_id) == []
        bob = find_viewer(db, "replay", "bob")
        assert bob is not None
        assert db.raw.execute("SELECT COUNT(*) FROM notes WHERE viewer_id = ?", [bob]).fetchone()[0] == 1
        assert db.raw.execute("SELECT COUNT(*) FROM presence WHERE viewer_id = ?", [bob]).fetchone()[0] == 1
        texts = [e.text for e in adapter.transcript]
        assert "@alice stored about you: seen in 1 channel(s), 1 stream session(s), 3 message(s) since " \
               "2024-01-01; notes: 1 note(s). Type !forgetme to delete it." in texts
        assert "@alice done: deleted 3 stored item(s) about you." in texts  # note + presence + viewer
        assert any(t.startswith("@bob stored about you:") and "notes: 1 note(s)" in t for t in texts)
        assert "should never run" not in texts  # the skill that failed to start is not routed
        assert "failing" in runtime.disabled_skills and "no model" in runtime.disabled_skills["failing"]
        assert runtime.router is not None and runtime.router.stats["skill_errors"] == 0
    finally:
        await runtime.stop()


async def test_forgetme_carries_on_past_a_failing_skill() -> None:
    runtime, adapter = await replay({"notes": NotesSkill, "broken": BrokenDelete})
    try:
        texts = [e.text for e in adapter.transcript]
        reply = next(t for t in texts if t.startswith("@alice done"))
        assert "deleted 3 stored item(s)" in reply and "Could not clean: broken" in reply
        assert runtime.db is not None and find_viewer(runtime.db, "replay", "alice") is None
    finally:
        await runtime.stop()


async def test_engine_that_fails_to_start_leaves_engine_none(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    class Engine:
        def __init__(self, settings: object, data_dir: Path, **_: object) -> None:
            self.data_dir = data_dir

        async def start(self) -> None:
            raise FileNotFoundError("model file missing")

    fake = types.ModuleType("bot.inference.engine")
    fake.Engine = Engine  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.inference.engine", fake)
    config = load_config(None, skill_classes={})
    runtime = Runtime(config, db_path=":memory:", skill_classes={}, daily_purge=False)
    await runtime.start()
    try:
        assert runtime.engine is None
        assert "inference engine failed to start" in caplog.text and "model file missing" in caplog.text
        assert [s.name for s in runtime.skills] == ["core", "privacy"]
    finally:
        await runtime.stop()
