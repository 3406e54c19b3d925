"""Chat-log parsing, the replay adapter and a whole replay of a small log written here."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.chatlog import LogLineError, parse_line, parse_timestamp
from bot.adapters.replay import ReplayAdapter
from bot.clock import ManualClock
from bot.commands import CommandContext, command
from bot.config import load_config
from bot.events import ChatMessage, Presence, Role, StreamStatus
from bot.replay_job import run_replay
from bot.report import REQUIRED_KEYS
from skills.base import Skill

LOG = """\
# channel: streamer
[2024-10-10 12:58:39 UTC] alice: hello chat
[2024-10-10 12:58:40 UTC] bob: !echo one two
this line is broken
[2024-10-10 12:58:45 UTC] Alice: !help

{"ts": "2024-10-10T12:59:00Z", "user": "carol", "text": "!echo json", "roles": ["mod"]}
[2024-10-10 12:59:05 UTC] streamer: !boom
{"ts": 1728565150, "user": "dave", "text": "hi 👋"}
[2024-10-10 12:59:20 UTC] bob:
{"user": "eve", "text": "x", "ts": "yesterday"}
[2024-10-10 12:59:30 UTC] erin: !mydata
"""


class EchoSkill(Skill):
    name = "echo"

    @command("echo")
    async def echo(self, ctx: CommandContext) -> None:
        await ctx.reply("echo: " + ctx.rest)

    @command("boom")
    async def boom(self, ctx: CommandContext) -> None:
        raise RuntimeError("deliberate failure")


def test_parse_twitch_line() -> None:
    line = parse_line("[2024-10-10 12:58:39 UTC] Some_User: hi: there [x]\r\n")
    assert line is not None
    assert line.timestamp == datetime(2024, 10, 10, 12, 58, 39, tzinfo=UTC)
    assert (line.user, line.text, line.roles) == ("Some_User", "hi: there [x]", frozenset())


def test_parse_json_line_and_timestamps() -> None:
    raw = '{"ts": "2024-10-10T14:58:39+02:00", "user": "m", "text": "t", "roles": ["vip", "MOD"]}'
    line = parse_line(raw)
    assert line is not None
    assert line.timestamp == datetime(2024, 10, 10, 12, 58, 39, tzinfo=UTC)
    assert line.roles == frozenset({Role.VIP, Role.MODERATOR})
    assert parse_timestamp(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2024-01-01 00:00:00 UTC") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_line("   ") is None and parse_line("# comment") is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no brackets: hi", "expected '[YYYY-MM-DD HH:MM:SS UTC] user: text'"),
        ("[2024-10-10 12:58:39 UTC] bob: ", "empty message"),
        ('{"ts": 1, "user": "x"', "invalid JSON"),
        ('{"ts": 1, "user": "x", "text": "t", "roles": ["modrator"]}', "unknown role 'modrator'"),
        ('{"ts": true, "user": "x", "text": "t"}', '"ts" must be ISO-8601 text or Unix seconds'),
        ('{"ts": 1, "text": "t"}', 'needs a non-empty string "user"'),
        ("[2024-13-45 12:58:39 UTC] bob: hi", None),
        # regressions (QA): the first crashed the whole replay with a RecursionError from json.loads; the
        # others were stored as viewers "\x00" (answered "@ ..."), "a\nb" and "['a']"
        ('{"ts": 1, "user": "d", "text": "ok", "extra": ' + "[" * 100000 + "]" * 100000 + "}",
         "invalid JSON: nested too deeply"),
        ('{"ts": 1, "user": "x", "text": "t", "n": ' + "1" * 5000 + "}", "invalid JSON"),  # > 4,300 digits
        ('{"ts": 1, "user": "\\u0000", "text": "t"}', '"user" must be a name'),
        ('{"ts": 1, "user": "a\\nb", "text": "t"}', '"user" must be a name'),
        ('{"ts": 1, "user": "' + "u" * 101 + '", "text": "t"}', '"user" must be a name'),
        ('{"ts": 1, "user": "c", "user_id": ["a"], "text": "t"}', '"user_id" must be a string or integer'),
        ('{"ts": 1, "user": "c", "user_id": "a b", "text": "t"}', '"user_id" must be a string or integer'),
        ('{"ts": 1, "user": "c", "user_id": true, "text": "t"}', '"user_id" must be a string or integer'),
        ('{"ts": 1, "user": "c", "text": "t", "roles": [["mod"]]}', '"roles" must be a list of role names'),
    ],
)
def test_malformed_lines(text: str, reason: str | None) -> None:
    with pytest.raises((LogLineError, ValueError)) as info:
        parse_line(text)
    if reason:
        assert reason in str(info.value)


def test_json_user_ids_that_are_numbers_or_names_with_spaces_are_kept() -> None:
    line = parse_line('{"ts": 1, "user": " Mia Smith ", "user_id": 1234567890123456789, "text": "hi"}')
    assert line is not None and (line.user, line.user_id) == ("Mia Smith", "1234567890123456789")
    line = parse_line('{"ts": 1, "user": "mia", "user_id": "", "text": "hi"}')
    assert line is not None and line.user_id is None  # empty: the name is the id, as before


async def test_no_exception_from_parsing_one_line_ends_the_replay(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # regression (QA): one deeply nested JSON line ended `chatcast replay` with a RecursionError traceback
    # and no report; it must be counted, reported with its line number and skipped like any malformed line
    deep = '{"ts": 1728583314, "user": "deep", "text": "ok", "extra": ' + "[" * 100000 + "]" * 100000 + "}"
    log = tmp_path / "deep.jsonl"
    log.write_text(deep + "\n[2024-10-10 18:00:00 UTC] ann: hi\n", encoding="utf-8")
    summary, folder = await run_replay(load_config(None, skill_classes={}), log, report_dir=tmp_path / "r",
                                       use_engine=False, skill_classes={})
    assert (summary["lines_skipped"], summary["messages"]) == (1, 1)
    assert summary["skipped_examples"][0]["line"] == 1
    assert "nested too deeply" in summary["skipped_examples"][0]["reason"]
    assert json.loads((folder / "summary.json").read_text())["lines_skipped"] == 1
    # any other surprise from the parser skips that one line too
    import bot.adapters.replay as replay_module

    def surprise(raw: str):  # noqa: ANN202
        if "boom" in raw:
            raise TypeError("unexpected")
        return parse_line(raw)

    monkeypatch.setattr(replay_module, "parse_line", surprise)
    two = "[2024-10-10 18:00:00 UTC] a: boom\n[2024-10-10 18:00:01 UTC] b: hi\n"
    adapter = ReplayAdapter(io.StringIO(two), clock=ManualClock())
    _ = [e async for e in adapter.listen()]
    assert (adapter.lines_skipped, adapter.messages) == (1, 1)
    assert adapter.skipped[0].reason == "unreadable line: TypeError: unexpected"


async def test_bad_json_user_fields_are_skipped_and_counted_in_a_replay() -> None:
    text = ('{"ts": 1728583314, "user": "\\u0000", "text": "hi"}\n'
            '{"ts": 1728583315, "user": "a\\nb", "text": "hi"}\n'
            '{"ts": 1728583316, "user": "c", "user_id": ["a"], "text": "hi"}\n'
            '{"ts": 1728583317, "user": "ok", "text": "hi"}\n')
    adapter = ReplayAdapter(io.StringIO(text), clock=ManualClock())
    events = [e async for e in adapter.listen()]
    assert (adapter.lines_skipped, adapter.messages) == (3, 1)
    assert [s.line_no for s in adapter.skipped] == [1, 2, 3]
    assert ['"user_id"' in s.reason for s in adapter.skipped] == [False, False, True]
    assert [p.viewer.user_id for p in events if isinstance(p, Presence)] == ["ok"]


async def test_adapter_events_and_clock() -> None:
    clock = ManualClock()
    adapter = ReplayAdapter(io.StringIO(LOG), clock=clock)
    events = [e async for e in adapter.listen()]
    assert adapter.channel == "streamer"  # from the '# channel:' comment
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "StreamStatus" and kinds[-1] == "StreamStatus"
    messages = [e for e in events if isinstance(e, ChatMessage)]
    authors = [m.author.user_id for m in messages]
    assert authors == ["alice", "bob", "alice", "carol", "streamer", "dave", "erin"]
    assert [p.viewer.user_id for p in events if isinstance(p, Presence)] == [
        "alice", "bob", "carol", "streamer", "dave", "erin"
    ]
    assert messages[3].author.has(Role.MODERATOR)
    assert messages[4].author.level == Role.BROADCASTER
    assert (adapter.lines_read, adapter.lines_skipped, adapter.messages) == (10, 3, 7)
    assert [s.line_no for s in adapter.skipped] == [4, 10, 11]
    assert clock.now() == datetime(2024, 10, 10, 12, 59, 30, tzinfo=UTC)
    assert isinstance(events[-1], StreamStatus) and not events[-1].online


async def test_speed_waits_scaled_log_time() -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    text = "[2024-01-01 00:00:00 UTC] a: x\n[2024-01-01 00:00:10 UTC] b: y\n[2024-01-01 00:00:13 UTC] a: z\n"
    adapter = ReplayAdapter(io.StringIO(text), clock=ManualClock(), speed=2.0, sleep=fake_sleep)
    _ = [e async for e in adapter.listen()]
    assert waits == [5.0, 1.5]
    with pytest.raises(ValueError, match="speed must be >= 0"):
        ReplayAdapter(io.StringIO(text), clock=ManualClock(), speed=-1)


async def test_whole_replay_summary_transcript_and_presence(tmp_path: Path) -> None:
    config = load_config(None, skill_classes={"echo": EchoSkill})
    log = tmp_path / "chat.txt"
    log.write_text(LOG, encoding="utf-8")
    report = tmp_path / "report"
    summary, folder = await run_replay(
        config, log, report_dir=report, db_path=tmp_path / "c.db", use_engine=False,
        skill_classes={"echo": EchoSkill},
    )
    assert folder == report
    on_disk = json.loads((report / "summary.json").read_text())
    assert set(REQUIRED_KEYS) == {
        "lines_read", "lines_skipped", "messages", "distinct_viewers", "commands_handled", "replies_sent",
        "replies_dropped", "skill_errors", "messages_per_s",
    }
    assert set(REQUIRED_KEYS) <= set(on_disk)
    assert (summary["lines_read"], summary["lines_skipped"], summary["messages"]) == (10, 3, 7)
    assert summary["distinct_viewers"] == 6
    assert summary["commands_handled"] == 5  # echo x2, help, boom, mydata
    assert summary["skill_errors"] == 1  # !boom raised; the replay carried on
    assert summary["replies_sent"] == 4
    assert summary["presence_rows"] == 6 and summary["viewers_without_presence"] == 0
    assert summary["messages_per_s"] > 0
    assert summary["reply_delay_s"] == {"p50": 0.0, "p95": 0.0, "max": 0.0}
    assert [e["line"] for e in summary["skipped_examples"]] == [4, 10, 11]
    transcript = (report / "transcript.txt").read_text()
    assert "[2024-10-10 12:58:40 UTC] #streamer chatcast: echo: one two" in transcript
    assert "    in reply to [2024-10-10 12:58:40 UTC] (reply_delay_s=0) bob: !echo one two" in transcript
    assert "echo: json" in transcript and "!echo" in transcript.split("Commands:")[1]
    assert "@erin stored about you: seen in 1 channel(s)" in transcript

    from storage.db import Database
    from storage.watch import presence_rows

    db = Database(tmp_path / "c.db")
    rows = {r["user_id"]: r for r in presence_rows(db, "replay", "streamer")}
    assert set(rows) == {"alice", "bob", "carol", "streamer", "dave", "erin"}
    assert rows["alice"]["message_count"] == 2 and rows["alice"]["display_name"] == "Alice"
    closed = db.raw.execute("SELECT COUNT(*) FROM stream_sessions WHERE ended_at IS NOT NULL").fetchone()[0]
    assert closed == 1
    assert db.integrity_ok()


class LateSkill(Skill):
    """Answers from a background task after a delay (like story paragraphs) and offers ``drain``."""

    name = "late"
    delay_s = 0.05

    def __init__(self, ctx) -> None:  # noqa: ANN001
        super().__init__(ctx)
        self.tasks: set = set()

    async def on_message(self, message: ChatMessage) -> None:
        import asyncio

        async def later() -> None:
            await asyncio.sleep(self.delay_s)
            await self.ctx.post(message.platform, message.channel, "late: " + message.text)

        self.tasks.add(asyncio.get_running_loop().create_task(later()))

    async def drain(self, timeout: float | None = None) -> bool:
        import asyncio

        pending = [t for t in self.tasks if not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            return not still
        return True


async def test_replay_end_waits_for_skills_background_posts(tmp_path: Path) -> None:
    config = load_config(None, skill_classes={"late": LateSkill})
    log = tmp_path / "chat.txt"
    log.write_text("[2024-10-10 12:58:39 UTC] alice: once upon a time\n", encoding="utf-8")
    summary, _ = await run_replay(config, log, report_dir=tmp_path / "r", db_path=tmp_path / "c.db",
                                  use_engine=False, skill_classes={"late": LateSkill})
    assert summary["replies_sent"] == 1 and summary["undrained_skills"] == []
    assert "late: once upon a time" in (tmp_path / "r" / "transcript.txt").read_text()


async def test_replay_drain_timeout_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LateSkill, "delay_s", 30.0)
    config = load_config(None, skill_classes={"late": LateSkill})
    log = tmp_path / "chat.txt"
    log.write_text("[2024-10-10 12:58:39 UTC] alice: hi\n", encoding="utf-8")
    summary, _ = await run_replay(config, log, report_dir=tmp_path / "r", db_path=tmp_path / "c.db",
                                  use_engine=False, skill_classes={"late": LateSkill}, drain_timeout_s=0.01)
    assert summary["replies_sent"] == 0 and summary["undrained_skills"] == ["late"]


# ---- replays are isolated: a fresh database per report folder, purge by log time --------------------

ISOLATION_LOG = "[2024-10-10 12:58:39 UTC] alice: hi\n[2024-10-10 12:58:45 UTC] alice: !mydata\n"


def _config_in(tmp_path: Path, extra: str = ""):  # noqa: ANN202
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\ndata_dir = "data"\n{extra}', encoding="utf-8")
    return load_config(cfg, skill_classes={"echo": EchoSkill})


async def test_replay_twice_gives_the_same_transcript_in_fresh_databases(tmp_path: Path) -> None:
    config = _config_in(tmp_path)
    log = tmp_path / "chat.txt"
    log.write_text(ISOLATION_LOG, encoding="utf-8")
    runs = []
    for _ in range(2):
        summary, folder = await run_replay(config, log, use_engine=False, skill_classes={"echo": EchoSkill})
        assert folder is not None and summary["db"] == str(folder / "chatcast.db")
        assert (folder / "chatcast.db").exists()
        runs.append((folder, (folder / "transcript.txt").read_text()))
    assert runs[0][0] != runs[1][0] and runs[0][1] == runs[1][1]
    assert not (tmp_path / "data" / "chatcast.db").exists()  # the live database is never touched


async def test_two_replays_at_once_do_not_break_each_other(tmp_path: Path) -> None:
    import asyncio

    config = _config_in(tmp_path)
    log = tmp_path / "chat.txt"
    log.write_text(ISOLATION_LOG, encoding="utf-8")
    results = await asyncio.gather(
        *(run_replay(config, log, use_engine=False, skill_classes={"echo": EchoSkill}) for _ in range(2))
    )
    (s1, f1), (s2, f2) = results
    assert f1 != f2
    assert s1["storage_errors"] == s2["storage_errors"] == 0
    assert s1["presence_rows"] == s2["presence_rows"] == 1


async def test_retention_purge_of_a_replay_follows_the_log_clock(tmp_path: Path) -> None:
    from storage.db import Database
    from storage.watch import presence_rows

    config = _config_in(tmp_path, "retention_days = 30\n")
    db_path = tmp_path / "shared.db"
    for user in ("ann", "ben"):  # 2024 logs are years older than 30 days by the wall clock
        log = tmp_path / f"{user}.txt"
        log.write_text(f"[2024-10-10 12:00:00 UTC] {user}: hi\n", encoding="utf-8")
        summary, _ = await run_replay(config, log, db_path=db_path, report_dir=tmp_path / user,
                                      use_engine=False, skill_classes={"echo": EchoSkill})
        assert not any(summary["purged"].values())
    db = Database(db_path)
    assert {r["user_id"] for r in presence_rows(db, "replay", "replay")} == {"ann", "ben"}
    db.close()
    # A log longer than the retention: rows older than 30 days before its last line are purged.
    log = tmp_path / "long.txt"
    log.write_text("[2024-01-01 12:00:00 UTC] old: hi\n[2024-03-01 12:00:00 UTC] new: hi\n", encoding="utf-8")
    summary, _ = await run_replay(config, log, report_dir=tmp_path / "long", use_engine=False,
                                  skill_classes={"echo": EchoSkill})
    assert summary["purged"].get("presence", 0) >= 1


async def test_summary_counts_presence_rows_after_the_purge_and_warns_of_a_clock_jump(tmp_path: Path) -> None:
    # regression (QA): a typo'd year (2026 in a 2024 log, before "now + 1 day" so not skipped as future)
    # moved the clock, the purge deleted the 2024 rows, and the summary still said presence_rows 2 (the
    # count before the purge) while the database held 1; nothing told the user about the jump. Now the
    # jump is warned about and the purge is skipped (a re-test: the data was still purged)
    from storage.db import Database

    log = tmp_path / "typo.txt"
    log.write_text("[2024-10-10 12:00:00 UTC] ann: hi\n[2026-10-10 12:00:00 UTC] ben: typo\n",
                   encoding="utf-8")
    summary, folder = await run_replay(_config_in(tmp_path), log, report_dir=tmp_path / "r", use_engine=False,
                                       skill_classes={"echo": EchoSkill})
    db = Database(folder / "chatcast.db")
    in_db = db.raw.execute("SELECT COUNT(*) FROM presence").fetchone()[0]
    db.close()
    assert "clock jumped 730 days" in summary["purged"]["skipped"] and in_db == 2
    assert summary["presence_rows"] == in_db and summary["viewers_without_presence"] == 0
    assert (summary["messages"], summary["lines_skipped"], summary["lines_warned"]) == (2, 0, 1)
    on_disk = json.loads((folder / "summary.json").read_text())
    assert on_disk["presence_rows"] == 2
    assert on_disk["line_warnings"] == [
        {"line": 2, "reason": "line 2 is 730 days after line 1 (a typo'd date?)",
         "text": "[2026-10-10 12:00:00 UTC] ben: typo"}
    ]


async def test_presence_rows_counts_the_rows_of_every_channel_not_the_chatters(tmp_path: Path) -> None:
    # regression (trial 24, F10): a chatter of two channels has two rows, but presence_rows counted distinct
    # users (256 in the summary, 504 rows in the database)
    from storage.db import Database

    log = tmp_path / "two.jsonl"
    log.write_text('{"ts": 1728561600, "user": "ann", "text": "hi", "channel": "a"}\n'
                   '{"ts": 1728561601, "user": "ann", "text": "hi", "channel": "b"}\n', encoding="utf-8")
    summary, folder = await run_replay(_config_in(tmp_path), log, report_dir=tmp_path / "r", use_engine=False,
                                       skill_classes={"echo": EchoSkill})
    db = Database(folder / "chatcast.db")
    in_db = db.raw.execute("SELECT COUNT(*) FROM presence").fetchone()[0]
    db.close()
    assert (summary["distinct_viewers"], in_db) == (1, 2)
    assert summary["presence_rows"] == in_db and summary["viewers_without_presence"] == 0


async def test_a_clock_jump_is_warned_once_per_jump_and_the_line_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = ("[2024-01-01 12:00:00 UTC] a: stream one\n"
            "# a comment\n"
            "[2024-01-31 12:00:00 UTC] b: 30 days later: a stream a month on, no warning\n"
            "[2024-03-02 12:00:01 UTC] c: 31 days later\n"
            "not a chat line\n"
            "[2024-03-02 12:00:02 UTC] d: same stream\n"
            "[2026-03-02 12:00:02 UTC] e: typo\n"
            "[2024-03-02 12:00:03 UTC] f: back\n")
    adapter = ReplayAdapter(io.StringIO(text), clock=ManualClock())
    with caplog.at_level("WARNING", logger="chatcast.replay"):
        _ = [e async for e in adapter.listen()]
    assert (adapter.messages, adapter.lines_skipped, adapter.lines_warned) == (6, 1, 3)
    assert [(w.line_no, w.reason) for w in adapter.line_warnings] == [
        (4, "line 4 is 31 days after line 3 (a typo'd date?)"),
        (7, "line 7 is 730 days after line 6 (a typo'd date?)"),
        (8, "line 8 is stamped 729 days before line 7: replayed at line 7's time "
            "(the clock never goes back)"),
    ]
    assert sum("days after line" in r.getMessage() for r in caplog.records) == 2


async def test_presence_flush_failures_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from storage.watch import PresenceRecorder

    def broken(self, batch) -> None:  # noqa: ANN001
        raise sqlite3.IntegrityError("FOREIGN KEY constraint failed")

    monkeypatch.setattr(PresenceRecorder, "_write", broken)
    config = _config_in(tmp_path)
    log = tmp_path / "chat.txt"
    log.write_text(ISOLATION_LOG, encoding="utf-8")
    summary, folder = await run_replay(config, log, report_dir=tmp_path / "r", use_engine=False,
                                       skill_classes={"echo": EchoSkill})
    assert summary["storage_errors"] >= 1
    assert json.loads((folder / "summary.json").read_text())["storage_errors"] >= 1


class WhatGameSkill(Skill):
    name = "echo"

    @command("game")
    async def game(self, ctx: CommandContext) -> None:
        info = self.ctx.channel_info(ctx.message.platform, ctx.channel)
        await ctx.reply(f"playing {info.category} / {info.title}")


async def test_category_and_title_headers_emit_stream_status(tmp_path: Path) -> None:
    text = ("# channel: cozy\n# category: Stardew Valley\n# title: Farm day\n"
            "[2024-10-10 18:00:00 UTC] ann: !game\n# category: Celeste\n"
            "[2024-10-10 18:00:05 UTC] ann: !game\n")
    events = [e async for e in ReplayAdapter(io.StringIO(text), clock=ManualClock()).listen()]
    statuses = [e for e in events if isinstance(e, StreamStatus)]
    first = statuses[0]
    assert (first.online, first.category, first.title) == (True, "Stardew Valley", "Farm day")
    assert (statuses[1].online, statuses[1].category, statuses[1].title) == (True, "Celeste", None)
    config = load_config(None, skill_classes={"echo": WhatGameSkill})
    log = tmp_path / "chat.txt"
    log.write_text(text, encoding="utf-8")
    await run_replay(config, log, report_dir=tmp_path / "r", use_engine=False,
                     skill_classes={"echo": WhatGameSkill})
    transcript = (tmp_path / "r" / "transcript.txt").read_text()
    assert "playing Stardew Valley / Farm day" in transcript and "playing Celeste / Farm day" in transcript


async def test_utf8_bom_on_the_first_line_is_stripped(tmp_path: Path) -> None:
    log = tmp_path / "bom.txt"
    log.write_bytes("[2024-10-10 18:00:00 UTC] ann: hi\n".encode("utf-8-sig"))
    adapter = ReplayAdapter(log, clock=ManualClock())
    _ = [e async for e in adapter.listen()]
    assert (adapter.lines_skipped, adapter.messages) == (0, 1)
    adapter = ReplayAdapter(io.StringIO("\ufeff# channel: cozy\n[2024-10-10 18:00:00 UTC] ann: hi\n"),
                            clock=ManualClock())
    _ = [e async for e in adapter.listen()]
    assert adapter.channel == "cozy" and adapter.lines_skipped == 0
    assert parse_line("\ufeff[2024-10-10 18:00:00 UTC] ann: hi") is not None


def test_transcript_escapes_control_characters() -> None:
    from bot.adapters.replay import TranscriptEntry
    from bot.report import format_transcript

    when = datetime(2024, 10, 10, 18, 0, tzinfo=UTC)
    entry = TranscriptEntry(when, "c", "echo: a\x00b\x1b[31m", cause_time=when, cause_user="ann",
                            cause_text="!echo a\x00b\nc 👋")
    text = format_transcript([entry])
    assert "\x00" not in text and "\x1b" not in text and text.count("\n") == 2
    assert "echo: a\\x00b\\x1b[31m" in text and "!echo a\\x00b\\nc 👋" in text


def test_transcript_shows_cause_time_and_reply_delay() -> None:
    from bot.adapters.replay import TranscriptEntry
    from bot.report import format_transcript

    asked = datetime(2024, 10, 10, 18, 1, 7, tzinfo=UTC)
    sent = datetime(2024, 10, 10, 18, 15, 46, tzinfo=UTC)
    entry = TranscriptEntry(sent, "c", "a story", cause_time=asked, cause_user="ann", cause_text="!story")
    assert entry.reply_delay_s == 879.0
    assert TranscriptEntry(sent, "c", "unprompted").reply_delay_s is None
    text = format_transcript([entry, TranscriptEntry(sent, "c", "unprompted")])
    assert text.splitlines() == [
        "[2024-10-10 18:15:46 UTC] #c chatcast: a story",
        "    in reply to [2024-10-10 18:01:07 UTC] (reply_delay_s=879) ann: !story",
        "[2024-10-10 18:15:46 UTC] #c chatcast: unprompted",
    ]


def test_demo_log_is_in_time_order() -> None:
    # regression: a line added to the demo was stamped 6 s after the next one, and the transcript quoted
    # the wrong time for that next message
    demo = Path(__file__).resolve().parents[1] / "examples" / "demo_chat.txt"
    stamps = [line.timestamp for raw in demo.read_text(encoding="utf-8").splitlines()
              if (line := parse_line(raw)) is not None]
    assert len(stamps) > 50 and stamps == sorted(stamps)


async def test_demo_log_names_its_channel_without_a_warning() -> None:
    # regression: a stricter "# channel:" rule read the demo's "cozycoder   (a made-up demo stream; ...)" as
    # a bad name: the channel stayed "replay", the broadcaster's commands were refused (30 replies, not 39)
    from bot.adapters.replay import ReplayAdapter
    from bot.clock import ManualClock

    demo = Path(__file__).resolve().parents[1] / "examples" / "demo_chat.txt"
    adapter = ReplayAdapter(demo, clock=ManualClock())
    channels = {e.channel async for e in adapter.listen() if isinstance(e, ChatMessage)}
    assert channels == {"cozycoder"} and adapter.lines_warned == 0 and adapter.lines_skipped == 0


async def test_hostile_bytes_and_times_are_reported_and_skipped_never_a_crash(tmp_path: Path) -> None:
    # regressions from a fresh tester: a lone surrogate in JSON crashed the transcript (0 bytes) and one
    # bad name lost every viewer's presence batch; a 2099 line moved the clock and the retention purge
    # wiped a --db's watch history; a 9999 line overflowed the clock; a lone \r split a message in two;
    # a channel name carried a newline into the transcript
    config = _config_in(tmp_path, "retention_days = 30\n")
    lines = [
        b"[2024-10-10 12:00:00 UTC] alice: hello",
        b'{"ts": "2024-10-10T12:00:01Z", "user": "bad\\ud800", "text": "!echo \\ud800x"}',
        b"\x89PNG garbage \xff\xfe",
        b"[2024-10-10 12:00:02 UTC] bob: one\rtwo",
        b'{"ts": "2099-01-01T00:00:00Z", "user": "typo", "text": "wrong year"}',
        b'{"ts": "9999-12-31T23:59:50Z", "user": "max", "text": "hi"}',
        b'{"ts": "2024-10-10T12:00:03Z", "user": "x", "text": "hi",'
        b' "channel": "a\\n[forged] #a chatcast: hi"}',
        b"[2024-10-10 12:00:04 UTC] carol: !echo end",
    ]
    log = tmp_path / "hostile.txt"
    log.write_bytes(b"\n".join(lines) + b"\n")
    db_path = tmp_path / "live.db"
    summary, folder = await run_replay(config, log, report_dir=tmp_path / "r", db_path=db_path,
                                       use_engine=False, skill_classes={"echo": EchoSkill})
    reasons = {e["line"]: e["reason"] for e in summary["skipped_examples"]}
    assert sorted(reasons) == [3, 5, 6, 7]
    assert "in the future" in reasons[5] and "in the future" in reasons[6] and '"channel"' in reasons[7]
    assert summary["messages"] == 4 and not any(summary["purged"].values())
    assert summary["presence_rows"] == 4 and summary["viewers_without_presence"] == 0
    transcript = (folder / "transcript.txt").read_text(encoding="utf-8")
    assert "echo: \ufffdx" in transcript and "echo: end" in transcript


async def test_utf16_logs_are_read(tmp_path: Path) -> None:
    config = load_config(None, skill_classes={"echo": EchoSkill})
    log = tmp_path / "ps.txt"  # PowerShell's "> file" writes UTF-16 with a byte-order mark
    log.write_text("[2024-10-10 12:00:00 UTC] alice: !echo hi\n", encoding="utf-16")
    summary, folder = await run_replay(config, log, report_dir=tmp_path / "r", use_engine=False,
                                       skill_classes={"echo": EchoSkill})
    assert (summary["messages"], summary["lines_skipped"]) == (1, 0)
    assert "echo: hi" in (folder / "transcript.txt").read_text(encoding="utf-8")


async def test_bytes_that_are_not_utf8_are_counted_and_warned_with_their_line(tmp_path: Path) -> None:
    # regression (trial 17): a Latin-1 log became U+FFFD with no word said
    config = load_config(None, skill_classes={"echo": EchoSkill})
    log = tmp_path / "latin1.txt"
    log.write_bytes("[2024-10-10 12:00:00 UTC] alice: !echo caf\u00e9 ok\n"
                    "[2024-10-10 12:00:01 UTC] bob: !echo plain \ufffd kept\n".encode("utf-8").replace(
                        "caf\u00e9".encode(), "caf\u00e9".encode("latin-1")))
    summary, folder = await run_replay(config, log, report_dir=tmp_path / "r", use_engine=False,
                                       skill_classes={"echo": EchoSkill})
    assert (summary["messages"], summary["bytes_not_utf8"], summary["lines_warned"]) == (2, 1, 1)
    assert summary["line_warnings"][0]["line"] == 1 and "not UTF-8" in summary["line_warnings"][0]["reason"]
    transcript = (folder / "transcript.txt").read_text(encoding="utf-8")
    assert "echo: caf\ufffd ok" in transcript and "echo: plain \ufffd kept" in transcript


async def _replay_one_line(tmp_path: Path, classes: dict, bot_toml: str, line: str):  # noqa: ANN202
    """Replay one ``user: text`` line with only ``classes`` and ``[bot]`` settings ``bot_toml``;
    returns ``(config, report folder)``."""
    (tmp_path / "config.toml").write_text(f"[bot]\n{bot_toml}\n", encoding="utf-8")
    config = load_config(tmp_path / "config.toml", skill_classes=classes)
    log = tmp_path / "chat.txt"
    log.write_text(f"[2024-10-10 12:00:00 UTC] {line}\n", encoding="utf-8")
    _, folder = await run_replay(config, log, report_dir=tmp_path / "r", use_engine=False,
                                 skill_classes=classes)
    return config, folder


async def test_command_hints_use_the_channel_prefix(tmp_path: Path) -> None:
    # regression: with prefix "?" the bot still told viewers to type "!echo" (skills write hints with "!")
    class Hinter(Skill):
        name = "hinter"

        @command("hint")
        async def hint(self, ctx: CommandContext) -> None:
            await ctx.reply("Try !echo, !help echo or !nosuch; wow! ok")

    _, folder = await _replay_one_line(tmp_path, {"echo": EchoSkill, "hinter": Hinter},
                                       'data_dir = "data"\nprefix = "?"', "alice: ?hint")
    transcript = (folder / "transcript.txt").read_text(encoding="utf-8")
    assert "chatcast: Try ?echo, ?help echo or !nosuch; wow! ok" in transcript


async def test_a_replay_writes_skill_files_into_its_report_folder(tmp_path: Path) -> None:
    # regression: a replay's "!story export" wrote into the live chatcast-data/skills/story/exports
    class Writer(Skill):
        name = "writer"

        @command("write")
        async def write(self, ctx: CommandContext) -> None:
            (Path(self.ctx.data_dir) / "out.txt").write_text("x")
            await ctx.reply("written")

    config, folder = await _replay_one_line(tmp_path, {"writer": Writer}, 'data_dir = "live"',
                                            "alice: !write")
    assert (folder / "skills" / "writer" / "out.txt").exists()
    assert not (config.data_dir / "skills").exists()


async def test_a_log_older_than_the_clocks_default_start_keeps_its_own_times(tmp_path: Path) -> None:
    # regression: a 2022 log sat at the manual clock's default start (2024-01-01) until it passed it, and a
    # line stamped 1653 was taken as that same time
    log = tmp_path / "old.txt"
    log.write_text(
        '{"ts": "1653-01-01T00:00:00Z", "user": "typo", "text": "hi"}\n'
        "[2022-11-17 20:00:00 UTC] alice: !echo one\n"
        "[2022-11-17 20:00:30 UTC] bob: !echo two\n",
        encoding="utf-8",
    )
    summary, folder = await run_replay(load_config(None, skill_classes={"echo": EchoSkill}), log,
                                       report_dir=tmp_path / "r", use_engine=False,
                                       skill_classes={"echo": EchoSkill})
    reasons = [e["reason"] for e in summary["skipped_examples"]]
    assert reasons == ["timestamp 1653-01-01 00:00:00 is before 2005"]
    transcript = (folder / "transcript.txt").read_text(encoding="utf-8")
    assert "[2022-11-17 20:00:00 UTC] #replay chatcast: echo: one" in transcript
    assert "[2022-11-17 20:00:30 UTC] #replay chatcast: echo: two" in transcript


async def test_replies_held_by_the_rate_limit_go_out_during_a_quiet_gap(tmp_path: Path) -> None:
    # regression: a replay sent queued replies only when the next line came; after a flood and a 3-minute
    # gap, every held reply was dropped as stale where a live bot would have sent them at 30 s and 60 s
    lines = [f"[2024-10-10 12:00:{i // 4:02d} UTC] v{i}: !echo {i}" for i in range(40)]
    lines.append("[2024-10-10 12:03:20 UTC] late: hello")
    log = tmp_path / "flood.txt"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    classes = {"echo": EchoSkill}
    summary, _ = await run_replay(load_config(None, skill_classes=classes), log,
                                  report_dir=tmp_path / "r", use_engine=False, skill_classes=classes)
    assert summary["replies_sent"] == 40 and summary["replies_dropped"] == 0
    assert 30 <= summary["reply_delay_s"]["max"] <= 90  # the last ones waited for the third window


def test_twitch_badges_in_roles_are_read_or_ignored_not_fatal() -> None:
    # regression (trial): a JSON line whose roles held Twitch's "founder" badge (or "viewer", "turbo") was
    # dropped whole as malformed
    from bot.adapters.chatlog import parse_line
    from bot.events import Role

    line = parse_line('{"ts": 1728583202, "user": "ann", "text": "hi", "roles": ["founder", "turbo"]}')
    assert line is not None and line.roles == frozenset({Role.SUBSCRIBER})
    line = parse_line('{"ts": 1728583202, "user": "bo", "text": "hi", "roles": ["viewer", "bits", "vips"]}')
    assert line is not None and line.roles == frozenset({Role.EVERYONE, Role.VIP})
    with pytest.raises(ValueError, match="unknown role 'moderater'.*a typo"):  # a typo is still an error
        parse_line('{"ts": 1728583202, "user": "cy", "text": "hi", "roles": ["moderater"]}')
    # trial 14: any other badge dropped the line (event badges, IRC-tag versions, lead_moderator)
    line = parse_line('{"ts": 1728583202, "user": "di", "text": "hi", "roles": ["lead_moderator", '
                      '"subtember-2024", "glitchcon2020", "subscriber/12", "king"]}')
    assert line is not None and line.roles == frozenset({Role.MODERATOR, Role.SUBSCRIBER})


async def test_importing_an_old_log_into_a_kept_database_says_the_next_run_purges_it(tmp_path: Path) -> None:
    """Regression: ``replay old.txt --db data/chatcast.db`` imported 170 viewers, printed nothing, and the
    next ``chatcast run`` purged them all (the replay purges by the log's clock, the bot by the real date)."""
    log = tmp_path / "old.txt"
    log.write_text("[2024-05-19 18:00:00 UTC] ann: hi\n[2024-05-19 18:00:05 UTC] bo: hey\n", encoding="utf-8")
    config = load_config(None, skill_classes={})
    summary, _ = await run_replay(config, log, report_dir=tmp_path / "r1", db_path=tmp_path / "live.db",
                                  use_engine=False, skill_classes={})
    assert summary["retention_note"] == (
        "this log ended 2024-05-19, more than retention_days (90) ago: the next chatcast run on this "
        "database purges its watch history (2 presence rows); set [bot] retention_days = 0 (keep "
        "everything) or a larger value to keep it")
    # the replay's own database is thrown away with the report: nothing to warn about
    summary, _ = await run_replay(config, log, report_dir=tmp_path / "r2", use_engine=False, skill_classes={})
    assert "retention_note" not in summary


async def test_the_bots_own_lines_in_a_log_are_no_viewer(tmp_path: Path) -> None:
    # trial 14: a log recorded where Chatcast ran holds its own lines: the replay answered "chatcast: !mydata"
    # and counted the bot as a viewer
    log = tmp_path / "self.txt"
    log.write_text("# channel: chan\n[2024-10-10 12:00:00 UTC] chatcast: !mydata\n"
                   "[2024-10-10 12:00:01 UTC] Chatcast: !help\n[2024-10-10 12:00:02 UTC] ann: hi\n",
                   encoding="utf-8")
    summary, folder = await run_replay(load_config(None, skill_classes={}), log, report_dir=tmp_path / "r",
                                       use_engine=False, skill_classes={})
    assert summary["distinct_viewers"] == 1 and summary["replies_sent"] == 0
    assert "in reply to" not in (folder / "transcript.txt").read_text(encoding="utf-8")


async def test_other_chat_bots_are_ignored_entirely(tmp_path: Path) -> None:
    """Nightbot's and StreamElements' lines are no commands, no chat and no watch history (a Nightbot timer
    ending in "?" could get an FAQ answer, and two bots answering each other is a loop); ``[bot]
    ignored_users = []`` turns that off."""
    log = tmp_path / "bots.txt"
    log.write_text("[2024-10-10 18:00:00 UTC] Nightbot: !help\n"
                   "[2024-10-10 18:00:01 UTC] StreamElements: !help\n"
                   "[2024-10-10 18:00:02 UTC] ann: !help\n", encoding="utf-8")
    summary, folder = await run_replay(load_config(None, skill_classes={}), log, report_dir=tmp_path / "r1",
                                       use_engine=False, skill_classes={})
    said = [line for line in (folder / "transcript.txt").read_text().splitlines() if "in reply to" in line]
    assert len(said) == 1 and said[0].endswith("ann: !help")
    assert (summary["presence_rows"], summary["viewers_without_presence"]) == (1, 0)
    # the bots are no viewers; each sent one line and was "seen" once (a presence event): 2 x 2 dropped
    assert (summary["distinct_viewers"], summary["ignored_users_events"]) == (1, 4)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[bot]\nignored_users = []\n", encoding="utf-8")
    summary, _ = await run_replay(load_config(cfg, skill_classes={}), log, report_dir=tmp_path / "r2",
                                  use_engine=False, skill_classes={})
    assert summary["presence_rows"] == 3


async def test_a_report_folder_holding_other_files_is_refused_untouched(tmp_path: Path) -> None:
    # regression (trial 18): "--report /" wrote chatcast.db, summary.json, a transcript and eight skills/
    # folders into /; "--report ." in a checkout would have written into its source folders
    config = load_config(None, skill_classes={"echo": EchoSkill})
    log = tmp_path / "chat.txt"
    log.write_text("[2024-10-10 12:00:00 UTC] alice: !echo hi\n", encoding="utf-8")
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(NotADirectoryError, match="is not empty and is no earlier replay's report"):
        await run_replay(config, log, report_dir=foreign, use_engine=False, skill_classes={"echo": EchoSkill})
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    (foreign / "summary.json").write_text('{"mine": 1}', encoding="utf-8")  # trial 20: it was overwritten
    with pytest.raises(NotADirectoryError, match="is not empty and is no earlier replay's report"):
        await run_replay(config, log, report_dir=foreign, use_engine=False, skill_classes={"echo": EchoSkill})
    assert (foreign / "summary.json").read_text(encoding="utf-8") == '{"mine": 1}'
    # an empty folder and an earlier replay's report are fine, the second one again
    empty = tmp_path / "empty"
    empty.mkdir()
    for _ in range(2):
        summary, _ = await run_replay(config, log, report_dir=empty, use_engine=False,
                                      skill_classes={"echo": EchoSkill})
        assert summary["messages"] == 1
