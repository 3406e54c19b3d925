"""A fast replay (``--speed 0``) must not run ahead of the handlers: a reply is stamped at the log time of
its message even when the handler takes real time (a model call)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot.config import load_config
from bot.events import ChatMessage, Priority
from bot.replay_job import run_replay
from skills.base import Skill


class SlowEcho(Skill):
    """Answers every chat line after 50 ms of real time, like a skill waiting for a model."""

    name = "slowecho"

    async def on_message(self, message: ChatMessage) -> None:
        await asyncio.sleep(0.05)
        await self.ctx.post(message.platform, message.channel, f"echo {message.text}", priority=Priority.LOW,
                            in_reply_to=message.message_id)


async def test_replies_of_a_slow_handler_keep_their_messages_log_time(tmp_path: Path) -> None:
    # Regression: the demo transcript stamped almost every reply at the log's last line (reply_delay_s
    # p50 739 s) because a fast replay read on while handlers waited for the engine.
    log = tmp_path / "chat.txt"
    log.write_text("[2024-10-10 18:00:00 UTC] ann: first\n[2024-10-10 18:10:00 UTC] bo: second\n",
                   encoding="utf-8")
    skills = {"slowecho": SlowEcho}
    summary, folder = await run_replay(
        load_config(None, skill_classes=skills), log, speed=0.0, report_dir=tmp_path / "r",
        db_path=tmp_path / "c.db", use_engine=False, skill_classes=skills,
    )
    assert folder is not None
    text = (folder / "transcript.txt").read_text(encoding="utf-8")
    sent = re.findall(r"^\[([^\]]+)\] #\S+ chatcast: echo (\w+)$", text, flags=re.M)
    assert sent == [("2024-10-10 18:00:00 UTC", "first"), ("2024-10-10 18:10:00 UTC", "second")]
    assert summary["reply_delay_s"]["max"] == 0


class _SlowStoryteller:
    """Just enough engine for the story skill: ``generate`` takes real time (a model on a busy CPU)."""

    def available(self, kind: str) -> bool:
        return kind == "generate"

    async def generate(self, prompt: str, **kwargs) -> str:
        await asyncio.sleep(0.3)
        return "The keeper climbed the stairs. The sea was calm that night."

    async def stop(self) -> None:
        pass


async def test_a_story_paragraph_is_posted_before_the_next_line_of_a_fast_replay(tmp_path: Path) -> None:
    # Regression: the opening paragraph arrived at the log's end, after lines typed minutes later.
    from fakes.engine_replay import replay_with_engine

    from skills.story.skill import StorySkill

    skills = {"story": StorySkill}
    log = ('{"ts": "2024-10-10T18:00:00Z", "user": "mia", "text": "!story start a lighthouse keeper", '
           '"roles": ["broadcaster"]}\n'
           "[2024-10-10 18:05:00 UTC] bo: !story show\n")
    config = load_config(None, skill_classes=skills)
    adapter = await replay_with_engine(config, log, _SlowStoryteller(), skills)
    sent = [(e.time.strftime("%H:%M:%S"), e.text[:14]) for e in adapter.transcript]
    opening = next(i for i, (_, text) in enumerate(sent) if text.startswith("📖 Once upon"))
    assert sent[opening][0] == "18:00:00", sent
    assert all(when == "18:05:00" for when, _ in sent[opening + 1:]), sent


async def test_help_lists_configurable_moderator_commands_only_to_moderators(tmp_path: Path) -> None:
    # regression: viewers' !help listed !story start|next|vote|end and !c4 start, which answer them
    # "only moderators"; their level is a setting (control_role, start_permission) checked by the skill
    from skills.game.skill import GameSkill
    from skills.story.skill import StorySkill

    skills = {"story": StorySkill, "game": GameSkill}
    log = tmp_path / "chat.txt"
    log.write_text('[2024-10-10 18:00:00 UTC] ann: !help\n'
                   '{"ts": "2024-10-10T18:00:05Z", "user": "mia", "text": "!help", "roles": ["moderator"]}\n',
                   encoding="utf-8")
    _, folder = await run_replay(load_config(None, skill_classes=skills), log, speed=0.0,
                                 report_dir=tmp_path / "r", db_path=tmp_path / "c.db", use_engine=False,
                                 skill_classes=skills)
    assert folder is not None
    viewer, moderator = re.findall(r"chatcast: (Commands: .*)$", (folder / "transcript.txt").read_text(),
                                   flags=re.M)
    def group(text: str, head: str) -> set[str]:
        match = re.search(rf"!{head} \[([^\]]*)\]", text)
        assert match, text
        return set(match.group(1).split("|"))

    assert {"start", "next", "vote", "end"} <= group(moderator, "story") and "start" in group(moderator, "c4")
    assert not {"start", "next", "vote", "end"} & group(viewer, "story") and "add" in group(viewer, "story")
    assert "start" not in group(viewer, "c4") and "challenge" in group(viewer, "c4")


async def test_speed_must_be_zero_or_at_least_the_minimum(tmp_path: Path) -> None:
    # regression (QA): speed 1e-300 was accepted and the replay slept effectively forever
    import io

    import pytest

    from bot.adapters.replay import MIN_SPEED, ReplayAdapter
    from bot.clock import ManualClock

    text = "[2024-01-01 00:00:00 UTC] a: x\n[2024-01-01 00:00:01 UTC] b: y\n"
    for bad in (1e-300, MIN_SPEED / 2, float("nan")):
        with pytest.raises(ValueError, match=r"speed must be 0 \(as fast as possible\) or at least 0.1"):
            ReplayAdapter(io.StringIO(text), clock=ManualClock(), speed=bad)
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    adapter = ReplayAdapter(io.StringIO(text), clock=ManualClock(), speed=MIN_SPEED, sleep=fake_sleep)
    _ = [e async for e in adapter.listen()]
    assert waits == [pytest.approx(10.0)]
    log = tmp_path / "chat.txt"
    log.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="speed must be 0"):  # before any report folder is made
        await run_replay(load_config(None, skill_classes={}), log, speed=1e-300, report_dir=tmp_path / "r",
                         use_engine=False, skill_classes={})
    with pytest.raises(ValueError, match=r"channel must be a name \(letters, digits, _ \. -\), got '\.\./x"):
        await run_replay(load_config(None, skill_classes={}), log, channel="../x y",
                         report_dir=tmp_path / "r", use_engine=False, skill_classes={})
    assert not (tmp_path / "r").exists()


async def test_a_long_gap_waits_at_most_ten_seconds_and_the_clock_jumps() -> None:
    # regression: at --speed 1 a log of two streams a week apart (or a typo'd year) waited the whole gap
    import io

    from bot.adapters.replay import MAX_WAIT_S, ReplayAdapter
    from bot.clock import ManualClock

    text = ("[2024-01-01 00:00:00 UTC] a: x\n[2024-01-01 00:00:02 UTC] b: y\n"
            "[2024-01-08 00:00:02 UTC] c: next week\n")
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    clock = ManualClock()
    adapter = ReplayAdapter(io.StringIO(text), clock=clock, speed=1.0, sleep=fake_sleep)
    _ = [e async for e in adapter.listen()]
    assert waits == [2.0, MAX_WAIT_S] and MAX_WAIT_S == 10.0
    assert clock.now().day == 8
