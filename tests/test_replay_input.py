"""Replay input robustness (tester's findings): who is the broadcaster, every skipped line findable,
time going backwards, user names in text lines, CR-only line endings, progress bytes."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.chatlog import LogLineError, parse_line
from bot.adapters.replay import MAX_LISTED, ReplayAdapter
from bot.clock import ManualClock
from bot.config import load_config
from bot.events import ChatMessage, Role
from bot.replay_job import run_replay
from skills.commands.skill import CommandsSkill

COMMANDS = {"commands": CommandsSkill}


async def _replay(tmp_path: Path, data: bytes, classes: dict | None = None):  # noqa: ANN202
    """Replay ``data`` (the log file's bytes) without models; returns ``(summary, report folder)``."""
    log = tmp_path / "chat.txt"
    log.write_bytes(data)
    classes = classes if classes is not None else {}
    return await run_replay(load_config(None, skill_classes=classes), log, report_dir=tmp_path / "r",
                            use_engine=False, skill_classes=classes)


async def _messages(text: str) -> tuple[ReplayAdapter, list[ChatMessage]]:
    adapter = ReplayAdapter(io.StringIO(text), clock=ManualClock())
    return adapter, [e async for e in adapter.listen() if isinstance(e, ChatMessage)]


async def test_a_channel_line_takes_the_names_channel_takes_and_warns_about_others() -> None:
    # trial 14: "# channel: my-chan" was cut to "my": chatter "my" became the broadcaster, "my-chan" was not
    line = "[2024-10-10 12:00:05 UTC] my-chan: hi\n"
    adapter, [msg] = await _messages("# channel: my-chan\n" + line)
    assert (msg.channel, msg.author.has(Role.BROADCASTER)) == ("my-chan", True)
    _, [msg] = await _messages("# channel: #Some.Name\n" + line)
    assert msg.channel == "some.name"
    # regression (this session's fix, caught by the README demo): words after the name are a comment
    header = "# channel: my-chan   (a made-up demo stream; lines by my-chan are hers)\n"
    _, [msg] = await _messages(header + line)
    assert (msg.channel, msg.author.has(Role.BROADCASTER)) == ("my-chan", True)
    adapter, [msg] = await _messages("# channel: 123/456\n" + line)
    assert msg.channel == "replay" and not msg.author.has(Role.BROADCASTER)
    assert adapter.lines_warned == 1
    assert "line 1: # channel: must be a name" in adapter.line_warnings[0].reason


# 1. the default channel name is nobody's -----------------------------------------------------------

async def test_a_chatter_called_replay_is_no_broadcaster_without_a_channel_line(tmp_path: Path) -> None:
    # regression: without '# channel:' the channel is "replay", and a chatter named "replay" could !cmd add
    lines = b"[2024-10-10 12:00:05 UTC] replay: !cmd add pwn I am the broadcaster now\n" \
            b"[2024-10-10 12:00:06 UTC] viewer: !pwn\n"
    _, folder = await _replay(tmp_path, lines, COMMANDS)
    transcript = (folder / "transcript.txt").read_text(encoding="utf-8")
    assert "Added !pwn" not in transcript and "I am the broadcaster now" not in transcript
    # named by the log itself, the same user is the broadcaster
    _, folder = await _replay(tmp_path, b"# channel: replay\n" + lines, COMMANDS)
    assert "I am the broadcaster now" in (folder / "transcript.txt").read_text(encoding="utf-8")


async def test_the_broadcaster_is_whoever_the_log_or_the_operator_names() -> None:
    line = "[2024-10-10 12:00:05 UTC] replay: hi\n"
    _, [msg] = await _messages(line)
    assert not msg.author.has(Role.BROADCASTER)
    _, [msg] = await _messages('{"ts": 1728561605, "user": "replay", "text": "hi", "channel": "replay"}\n')
    assert msg.author.has(Role.BROADCASTER)
    adapter = ReplayAdapter(io.StringIO(line), clock=ManualClock(), channel="replay")  # --channel replay
    [msg] = [e async for e in adapter.listen() if isinstance(e, ChatMessage)]
    assert msg.author.has(Role.BROADCASTER)


async def test_channel_given_wins_over_a_json_lines_own_channel() -> None:
    # regression (trial 24, F8): --channel zed was ignored for JSON lines naming their channel (#alpha
    # stayed #alpha, with no word), while it wins over '# channel:' in a text log
    line = '{"ts": 1728561605, "user": "%s", "text": "hi", "channel": "alpha"}\n'
    adapter = ReplayAdapter(io.StringIO(line % "alpha" + line % "zed"), clock=ManualClock(), channel="zed")
    first, second = [e async for e in adapter.listen() if isinstance(e, ChatMessage)]
    assert (first.channel, first.author.has(Role.BROADCASTER)) == ("zed", False)
    assert (second.channel, second.author.has(Role.BROADCASTER)) == ("zed", True)
    assert adapter.viewers == {("zed", "alpha"), ("zed", "zed")}


# 2. every skipped line is in skipped.txt ---------------------------------------------------------

async def test_every_skipped_line_is_listed_in_skipped_txt(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    good = b"[2024-10-10 12:00:00 UTC] ann: hi\n"
    bad = [f"broken \x1b[31m line {n}\x00".encode() + b"x" * 200 for n in range(250)]
    data = good + b"\n".join(bad) + b"\n" + good
    with caplog.at_level(logging.WARNING):
        summary, folder = await _replay(tmp_path, data)
    assert summary["lines_skipped"] == 250 and len(summary["skipped_examples"]) == 10
    assert summary["skipped_not_listed"] == 240
    assert summary["skipped_file"] == str(folder / "skipped.txt")
    rows = (folder / "skipped.txt").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("# line\treason")
    assert [int(r.split("\t")[0]) for r in rows[1:]] == list(range(2, 252))
    first = rows[1].split("\t")
    assert first[1].startswith("expected '[YYYY-MM-DD")
    assert first[2].startswith("broken \\x1b[31m line 0\\x00")
    assert len(first[2]) < 100 and all(ch.isprintable() or ch == "\t" for row in rows for ch in row)
    assert f"250 line(s) skipped, 240 more than summary.json lists: every one is in {folder}" in caplog.text
    assert "every one is listed in" in caplog.text
    # a second replay into the same folder, without bad lines, leaves no stale list behind
    summary, folder = await _replay(tmp_path, good)
    assert summary["skipped_file"] is None and not (folder / "skipped.txt").exists()


async def test_the_adapter_keeps_a_bounded_list_and_streams_the_rest(tmp_path: Path) -> None:
    adapter = ReplayAdapter(io.StringIO("bad\n" * (MAX_LISTED + 50)), clock=ManualClock())
    adapter.skipped_path = tmp_path / "skipped.txt"
    _ = [e async for e in adapter.listen()]
    assert len(adapter.skipped) == MAX_LISTED and adapter.lines_skipped == MAX_LISTED + 50
    assert len(adapter.skipped_path.read_text().splitlines()) == 1 + MAX_LISTED + 50
    # a list that cannot be written is logged, never the end of the replay
    adapter = ReplayAdapter(io.StringIO("bad\n[2024-10-10 12:00:00 UTC] a: hi\n"), clock=ManualClock())
    adapter.skipped_path = tmp_path / "no such folder" / "skipped.txt"
    _ = [e async for e in adapter.listen()]
    assert (adapter.lines_skipped, adapter.messages, adapter.skipped_path) == (1, 1, None)


# 3. time going backwards ------------------------------------------------------------------------

async def test_a_step_back_in_time_is_warned_and_the_clock_stays_monotonic() -> None:
    adapter, msgs = await _messages("[2024-10-10 12:00:02 UTC] a: one\n"
                                    "[2024-10-10 11:00:00 UTC] b: two\n"
                                    "[2024-10-10 12:00:03 UTC] c: three\n")
    assert adapter.lines_warned == 1
    assert [(w.line_no, w.reason) for w in adapter.line_warnings] == [
        (2, "line 2 is stamped 1:00:02 before line 1: replayed at line 1's time (the clock never goes back)")
    ]
    assert [m.timestamp.strftime("%H:%M:%S") for m in msgs] == ["12:00:02", "12:00:02", "12:00:03"]
    assert adapter.first_time == datetime(2024, 10, 10, 12, 0, 2, tzinfo=UTC)
    # sub-second jitter (merged JSON logs) is not warned about
    adapter, _ = await _messages('{"ts": 1728561602.5, "user": "a", "text": "x"}\n'
                                 '{"ts": 1728561602.2, "user": "b", "text": "y"}\n')
    assert adapter.lines_warned == 0


# 4. the same user-name rule for both formats ----------------------------------------------------

@pytest.mark.parametrize("name", ["a\x00b", "\x1b", "a\x07", "x" * 101])
def test_text_lines_refuse_the_names_json_lines_refuse(name: str) -> None:
    with pytest.raises(LogLineError, match="user name must be a name of 1-100 characters"):
        parse_line(f"[2024-10-10 12:00:00 UTC] {name}: hi")
    with pytest.raises(LogLineError, match='"user" must be a name'):
        parse_line(json.dumps({"ts": 1, "user": name, "text": "hi"}))


async def test_a_bad_text_name_is_skipped_with_its_line_number() -> None:
    assert parse_line(f"[2024-10-10 12:00:00 UTC] {'x' * 100}: hi") is not None
    adapter, msgs = await _messages("[2024-10-10 12:00:00 UTC] a\x00b: hi\n"
                                    "[2024-10-10 12:00:01 UTC] ok: hi\n")
    assert [m.author.user_id for m in msgs] == ["ok"] and [s.line_no for s in adapter.skipped] == [1]


# 5. line endings ---------------------------------------------------------------------------------

CR_LOG = "[2024-10-10 12:00:00 UTC] a: hi\r[2024-10-10 12:00:01 UTC] b: !mydata\r"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
async def test_classic_mac_line_endings_split_lines(tmp_path: Path, encoding: str) -> None:
    log = tmp_path / "mac.txt"
    log.write_bytes(CR_LOG.encode(encoding))
    adapter = ReplayAdapter(log, clock=ManualClock())
    msgs = [e async for e in adapter.listen() if isinstance(e, ChatMessage)]
    assert [(m.author.user_id, m.text) for m in msgs] == [("a", "hi"), ("b", "!mydata")]
    assert adapter.lines_skipped == 0


async def test_crlf_and_lf_files_keep_a_stray_cr_inside_a_message(tmp_path: Path) -> None:
    for ending in (b"\n", b"\r\n"):
        log = tmp_path / "log.txt"
        log.write_bytes(ending.join([b"[2024-10-10 12:00:00 UTC] a: one\rtwo",
                                     b"[2024-10-10 12:00:01 UTC] b: three", b""]))
        adapter = ReplayAdapter(log, clock=ManualClock())
        msgs = [e async for e in adapter.listen() if isinstance(e, ChatMessage)]
        assert [m.text.rstrip("\r") for m in msgs] == ["one\rtwo", "three"] and adapter.lines_warned == 0


async def test_a_cr_before_another_log_line_in_an_lf_log_is_warned() -> None:
    adapter, msgs = await _messages("[2024-10-10 12:00:00 UTC] a: hi\r[2024-10-10 12:00:01 UTC] b: x\n")
    assert len(msgs) == 1 and adapter.lines_warned == 1
    assert "carriage return" in adapter.line_warnings[0].reason and adapter.line_warnings[0].line_no == 1


# 6. progress bytes -------------------------------------------------------------------------------

@pytest.mark.parametrize(("encoding", "ending"), [("utf-8-sig", "\r\n"), ("utf-16", "\n"), ("utf-8", "\n")])
async def test_progress_counts_the_files_own_bytes(tmp_path: Path, encoding: str, ending: str) -> None:
    # regression: a CRLF file with a byte-order mark ended at 98%, a UTF-16 one at 50%
    first = "[2024-10-10 12:00:00 UTC] a: hi" + ending
    log = tmp_path / "log.txt"
    log.write_bytes((first + "[2024-10-10 12:00:01 UTC] b: yo" + ending).encode(encoding))
    adapter = ReplayAdapter(log, clock=ManualClock())
    after_first = [adapter.bytes_read async for e in adapter.listen() if isinstance(e, ChatMessage)][0]
    assert after_first == len(first.encode(encoding))  # the byte-order mark included
    assert adapter.bytes_total == log.stat().st_size and adapter.bytes_read == adapter.bytes_total


async def test_an_interrupted_replay_writes_a_partial_report(tmp_path: Path) -> None:
    # trial 14: Ctrl-C during a long replay left no summary.json and no transcript of what was sent
    import asyncio

    log = tmp_path / "chat.txt"
    log.write_text("".join(f"[2024-10-10 12:{i // 60 % 60:02d}:{i % 60:02d} UTC] u{i % 50}: hi {i}\n"
                           for i in range(20_000)), encoding="utf-8")
    seen: list[ReplayAdapter] = []
    task = asyncio.create_task(run_replay(load_config(None, skill_classes={}), log, report_dir=tmp_path / "r",
                                          use_engine=False, skill_classes={}, on_adapter=seen.append))
    while not seen or seen[0].messages < 200:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    assert summary["interrupted"] is True and 200 <= summary["messages"] < 20_000
    assert (tmp_path / "r" / "transcript.txt").exists()


async def test_a_utf16_log_piped_to_stdin_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # trial 14: `cat u16.txt | chatcast replay -` skipped every line (UTF-16 was sniffed for files only)
    import sys

    data = "[2024-10-10 12:00:00 UTC] ann: hi\n".encode("utf-16")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    adapter = ReplayAdapter("-", clock=ManualClock())
    messages = [e async for e in adapter.listen() if isinstance(e, ChatMessage)]
    assert [(m.author.display_name, m.text) for m in messages] == [("ann", "hi")]
    assert adapter.lines_skipped == 0


async def test_a_compressed_log_piped_to_stdin_is_refused_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    # trial 20: `cat log.gz | chatcast replay -` got "not UTF-8: a Latin-1 log?" warnings, then no message
    import gzip
    import sys

    data = gzip.compress(b"[2024-10-10 12:00:00 UTC] ann: hi\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    adapter = ReplayAdapter("-", clock=ManualClock())
    with pytest.raises(ConnectionError, match="a gzip stream, not a chat log: unpack it first"):
        _ = [e async for e in adapter.listen()]


async def test_no_channel_note_when_every_line_names_its_channel(tmp_path: Path) -> None:
    # trial 15: JSON lines that each carry "channel" still got "the replies name the streamer 'replay'"
    lines = ('{"ts": "2024-01-01T12:00:00Z", "user": "jchan", "text": "!cmd add ss hi {streamer}", '
             '"roles": ["broadcaster"], "channel": "jchan"}\n'
             '{"ts": "2024-01-01T12:00:10Z", "user": "bob", "text": "!ss", "channel": "jchan"}\n')
    summary, _ = await _replay(tmp_path, lines.encode(), COMMANDS)
    assert summary["replies_sent"] == 2 and "channel_note" not in summary


async def test_a_utf16_log_without_byte_order_mark_gets_a_hint() -> None:
    # trial 15: every line skipped with "\x00[\x002..." and no word on the encoding
    text = "[2024-10-10 12:00:00 UTC] ann: hi\n".encode("utf-16-le").decode("utf-8", "replace")
    adapter, messages = await _messages(text)
    assert messages == [] and "save it as UTF-8" in adapter.skipped[0].reason


async def test_a_report_folder_of_a_replay_stopped_while_loading_can_be_reused(tmp_path: Path) -> None:
    # trial 15: a replay stopped by Ctrl-C while the models loaded left a chatcast.db without summary.json,
    # and the folder was then refused as "a bot's data folder?"
    from bot.replay_job import REPLAY_MARK
    from storage.db import Database

    folder = tmp_path / "r"
    folder.mkdir()
    Database(folder / "chatcast.db").close()
    (folder / REPLAY_MARK).touch()
    summary, _ = await _replay(tmp_path, b"[2024-10-10 12:00:00 UTC] ann: hi\n")
    assert summary["messages"] == 1
