"""The per-viewer command budget through a whole replay: what it must never drop silently (Connect Four
moves typed as ``!c4 N``, ``!forgetme``) and what it must still stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from bot.config import load_config
from bot.replay_job import run_replay
from skills.game.player import BotPlayer
from skills.game.skill import GameSkill


class FakeNetGame(GameSkill):
    """The game skill with a tiny fake network (no weights, no engine) that likes column 3."""

    async def start(self) -> None:
        async def evaluate(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            await asyncio.sleep(0.001)
            logits = np.zeros((len(states), 7), dtype=np.float32)
            logits[:, 2] = 3.0
            return logits, np.zeros(len(states), dtype=np.float32)

        self.player = BotPlayer(evaluate, seed=0)
        await super().start()

    def _match_rng(self, settings, *who: str) -> np.random.Generator:
        return np.random.default_rng(0)


SKILLS = {"game": FakeNetGame}


async def _replay(tmp_path: Path, text: str) -> tuple[dict, list[str]]:
    log = tmp_path / "chat.txt"
    log.write_text(text, encoding="utf-8")
    config = load_config(None, skill_classes=SKILLS)
    summary, folder = await run_replay(
        config, log, report_dir=tmp_path / "r", db_path=tmp_path / "c.db", use_engine=False,
        skill_classes=SKILLS,
    )
    assert folder is not None
    lines = (folder / "transcript.txt").read_text(encoding="utf-8").splitlines()
    return summary, [line for line in lines if "chatcast:" in line]


def _log(user: str, lines: list[str], start_s: int = 1, step_s: int = 3) -> str:
    return "".join(
        f"[2024-10-10 18:00:{start_s + i * step_s:02d} UTC] {user}: {text}\n" for i, text in enumerate(lines)
    )


async def test_connect_four_moves_typed_as_commands_are_never_throttled(tmp_path: Path) -> None:
    # regression (QA D11): "!c4 challenge easy" and moves "!c4 N" 3 s apart: the 4th move was the 5th
    # command in 30 s, dropped silently, and the player forfeited on time
    summary, bot = await _replay(tmp_path, _log("alice", ["!c4 challenge easy", "!c4 1", "!c4 7", "!c4 1",
                                                          "!c4 7"]))
    assert summary["router"]["viewer_throttled"] == 0, summary
    assert sum("You played" in line for line in bot) == 4, bot
    assert not any("time is up" in line for line in bot), bot


async def test_forgetme_is_answered_after_a_viewers_budget_is_used_up(tmp_path: Path) -> None:
    # regression (QA D14): "!help !c4 stats !c4 top !mydata !forgetme": the deletion request was the 5th
    # command in 30 s and was dropped silently (nothing deleted, nothing said)
    summary, bot = await _replay(tmp_path, _log("mia", ["!help", "!c4 top", "!c4", "!mydata", "!forgetme",
                                                        "!forgetme", "!mydata"]))
    assert sum("@mia done: deleted" in line for line in bot) == 1, bot  # the repeat finds nothing more
    assert not any("stored about you" in line for line in bot[-1:]), bot  # !mydata stays budgeted
    assert summary["router"]["viewer_throttled"] == 1, summary


async def test_a_repeated_forgetme_is_not_answered_again_within_30_s(tmp_path: Path) -> None:
    # !forgetme is unbudgeted: a spammed one must not make the bot talk without limit (another viewer's
    # replies in between, so the outbox's "same as the previous message" check cannot hide it)
    lines = [f"[2024-10-10 18:00:{s:02d} UTC] {who}: {text}\n" for s in range(1, 30, 5)
             for who, text in (("mia", "!forgetme"), (f"v{s}", "!c4"))]
    _, bot = await _replay(tmp_path, "".join(lines) + "[2024-10-10 18:00:40 UTC] mia: !forgetme\n")
    assert sum("No Connect Four game" in line for line in bot) == 6, bot
    answered = [line.split(" UTC]")[0][-8:] for line in bot if "@mia done" in line]
    assert answered == ["18:00:01", "18:00:40"], bot
