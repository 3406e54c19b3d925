"""The story skill in a replay through the real runtime and replay adapter (a fake model): what a
transcript shows, in which order, at which log time."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.engine_replay import replay_with_engine

from bot.config import load_config
from skills.story.skill import StorySkill


class _Proposer:
    """Just enough engine for the story skill: a different paragraph each call."""

    def __init__(self) -> None:
        self.calls = 0

    def available(self, kind: str) -> bool:
        return kind == "generate"

    async def generate(self, prompt: str, **kwargs) -> str:
        self.calls += 1
        return f" The cat sailed past island number {self.calls}. The wind was kind that day."

    async def stop(self) -> None:
        pass


async def replay(tmp_path: Path, log: str, config_text: str) -> list[tuple[str, str]]:
    """``(log time, text)`` of every message the bot sent replaying ``log`` with ``config_text``."""
    skills = {"story": StorySkill}
    cfg = tmp_path / "chatcast.toml"
    cfg.write_text(config_text, encoding="utf-8")
    adapter = await replay_with_engine(load_config(cfg, skill_classes=skills), log, _Proposer(), skills)
    return [(e.time.strftime("%H:%M:%S"), e.text) for e in adapter.transcript]


@pytest.mark.parametrize("command", ["!story show", "!story next", "!story end"])
async def test_a_vote_closing_in_a_quiet_gap_is_announced_before_the_next_story_command(
        tmp_path: Path, command: str) -> None:
    # regression (trial 25, F5): the vote closed at 18:00:32 but was announced after the reply to the 18:00:54
    # "!story show", whose recap lacked the winning paragraph ("!story next" said a vote was open, "!story
    # end" dropped the vote chat had decided); now the replay closes it at its own time (Skill.next_due)
    log = ('{"ts": "2024-10-10T18:00:00Z", "user": "modmia", "text": "!story start a cat who sails", '
           '"roles": ["moderator"]}\n'
           '{"ts": "2024-10-10T18:00:12Z", "user": "modmia", "text": "!story vote", "roles": ["moderator"]}\n'
           '{"ts": "2024-10-10T18:00:24Z", "user": "bo", "text": "1"}\n'
           f'{{"ts": "2024-10-10T18:00:54Z", "user": "modmia", "text": "{command}", '
           '"roles": ["moderator"]}\n')
    sent = await replay(tmp_path, log, "[skills.story]\nvote_window_s = 20\n")
    won = [text for when, text in sent if when == "18:00:32"]
    assert len(won) == 1 and won[0].startswith("🗳️ 1 wins (1 of 1 votes): "), sent
    later = [text for when, text in sent if when == "18:00:54"]
    assert later and not any(text.startswith(("A vote is open", "🗳️")) for text in later), sent
    if command == "!story show":  # the recap tells the winning paragraph
        assert later[0].startswith("📖 A Cat Who Sails") and won[0].split("): ", 1)[1] in later[0], later
