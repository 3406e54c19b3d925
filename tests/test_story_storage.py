"""storage.story: stories, lines with authors, finished lists, deletion for !forgetme and with the core."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.events import Viewer
from storage import story as store
from storage.db import Database
from storage.viewers import delete_viewer_data, ensure_viewer, migrate_core

T0 = datetime(2024, 5, 19, 15, 0, tzinfo=UTC)
ALICE = Viewer("twitch", "alice", "Alice")
BOB = Viewer("twitch", "bob", "Bob")


@pytest.fixture
def db() -> Database:
    db = Database(":memory:")
    migrate_core(db)
    assert store.migrate_story(db) == len(store.MIGRATIONS)
    assert store.migrate_story(db) == 0  # idempotent
    return db


def test_lines_in_order_with_authors(db: Database) -> None:
    alice = ensure_viewer(db, ALICE)
    sid = store.create_story(db, "twitch", "chan", "The Fox", "fairy tale", "a fox", alice, T0)
    assert store.add_line(db, sid, "opening", "Once upon a time.", None, T0) == 1
    assert store.add_line(db, sid, "viewer", "a hen appears", alice, T0) == 2
    assert store.add_line(db, sid, "bot", "The hen clucked.", None, T0) == 3
    lines = store.story_lines(db, sid)
    assert [(ln.seq, ln.kind, ln.author) for ln in lines] == [(1, "opening", None), (2, "viewer", "Alice"),
                                                              (3, "bot", None)]
    assert lines[1].author_user_id == "alice"
    with pytest.raises(ValueError):
        store.add_line(db, sid, "poem", "x", None, T0)


def test_the_opening_is_first_even_when_written_after_a_line(db: Database) -> None:
    sid = store.create_story(db, "twitch", "chan", "The Fox", "g", None, None, T0)
    assert store.add_line(db, sid, "viewer", "a hen appears", None, T0) == 2  # seq 1 waits for the opening
    assert store.add_line(db, sid, "opening", "Once upon a time.", None, T0) == 1
    assert store.add_line(db, sid, "opening", "A second opening.", None, T0) == 3  # seq 1 taken: appended
    assert [ln.kind for ln in store.story_lines(db, sid)] == ["opening", "viewer", "opening"]


def test_active_finished_and_latest(db: Database) -> None:
    first = store.create_story(db, "twitch", "chan", "One", "g", None, None, T0)
    second = store.create_story(db, "twitch", "chan", "Two", "g", None, None, T0 + timedelta(hours=1))
    other = store.create_story(db, "discord", "g/c", "Elsewhere", "g", None, None, T0)
    store.finish_story(db, first, T0 + timedelta(minutes=30))
    assert [s.id for s in store.active_stories(db)] == [second, other]
    finished = store.finished_stories(db, "twitch", "chan")
    assert [s.title for s in finished] == ["One"] and finished[0].ended_at.startswith("2024-05-19T15:30")
    assert store.latest_story(db, "twitch", "chan").id == second
    assert store.latest_story(db, "twitch", "nowhere") is None
    assert store.get_story(db, 999) is None


def test_forgetme_deletes_lines_and_starter(db: Database) -> None:
    alice, bob = ensure_viewer(db, ALICE), ensure_viewer(db, BOB)
    sid = store.create_story(db, "twitch", "chan", "The Fox", "g", "alice's premise", alice, T0)
    other = store.create_story(db, "twitch", "chan", "Other", "g", None, bob, T0)
    store.add_line(db, sid, "viewer", "alice line", alice, T0)
    store.add_line(db, other, "viewer", "alice again", alice, T0)
    store.add_line(db, sid, "viewer", "bob line", bob, T0)
    assert store.viewer_story_ids(db, "twitch", "alice") == [sid, other]
    assert store.count_viewer_lines(db, "twitch", "alice") == 2
    assert store.delete_viewer_contributions(db, "twitch", "alice") == 3  # 2 lines + starter cleared
    assert [ln.text for ln in store.story_lines(db, sid)] == ["bob line"]
    assert store.get_story(db, sid).premise is None
    assert store.count_viewer_lines(db, "twitch", "alice") == 0
    assert store.delete_viewer_contributions(db, "twitch", "nobody") == 0


def test_core_viewer_deletion_cascades_to_lines(db: Database) -> None:
    bob = ensure_viewer(db, BOB)
    sid = store.create_story(db, "twitch", "chan", "T", "g", None, bob, T0)
    store.add_line(db, sid, "viewer", "bob line", bob, T0)
    store.add_line(db, sid, "bot", "The end.", None, T0)
    assert delete_viewer_data(db, BOB) >= 1
    assert [ln.text for ln in store.story_lines(db, sid)] == ["The end."]
    assert store.get_story(db, sid).lines == 1
