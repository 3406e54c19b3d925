"""Connect Four through a whole replay (``run_replay``): the bot's moves must reach the transcript even though
they run as background tasks and the replay's ``ManualClock`` only moves with the log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from bot.config import load_config
from bot.replay_job import run_replay
from skills.game.player import BotPlayer
from skills.game.skill import GameSkill


class FakeNetGame(GameSkill):
    """The game skill with a tiny fake network (no weights, no engine) that is slow enough to outlive the
    line that triggered the move."""

    async def start(self) -> None:
        async def evaluate(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            await asyncio.sleep(0.01)
            n = len(states)
            logits = np.zeros((n, 7), dtype=np.float32)
            logits[:, 2] = 3.0  # the fake net likes column 3
            return logits, np.zeros(n, dtype=np.float32)

        self.player = BotPlayer(evaluate, seed=0)
        await super().start()

    def _match_rng(self, settings, *who: str) -> np.random.Generator:
        return np.random.default_rng(0)  # the moves asserted below must not depend on chance


SKILLS = {"game": FakeNetGame}


async def _replay(
    tmp_path: Path, text: str, speed: float = 0.0, config: Path | None = None
) -> tuple[dict, list[str]]:
    log = tmp_path / "chat.txt"
    log.write_text(text, encoding="utf-8")
    summary, folder = await run_replay(
        load_config(config, skill_classes=SKILLS), log, speed=speed, report_dir=tmp_path / "r",
        db_path=tmp_path / "c.db", use_engine=False, skill_classes=SKILLS,
    )
    assert folder is not None
    lines = (folder / "transcript.txt").read_text(encoding="utf-8").splitlines()
    return summary, [line for line in lines if "chatcast:" in line]


CHALLENGE_LOG = "[2024-10-10 18:00:12 UTC] hank: !c4 challenge\n[2024-10-10 18:00:20 UTC] hank: 4\n"


async def test_challenge_move_is_answered_in_a_fast_replay(tmp_path: Path) -> None:
    summary, bot = await _replay(tmp_path, CHALLENGE_LOG)
    assert summary["undrained_skills"] == []
    assert len(bot) == 2, bot
    assert "you vs bot" in bot[0]
    assert "You played 4, bot played 3." in bot[1]


async def test_challenge_move_is_answered_in_a_real_time_replay(tmp_path: Path) -> None:
    text = "[2024-10-10 18:00:12 UTC] hank: !c4 challenge\n[2024-10-10 18:00:12 UTC] hank: 4\n"
    _, bot = await _replay(tmp_path, text, speed=1.0)
    assert len(bot) == 2 and "You played 4, bot played 3." in bot[1], bot


async def test_chat_vote_game_closes_the_window_on_log_time_and_the_bot_answers(tmp_path: Path) -> None:
    text = (
        '{"ts": "2024-10-10T18:00:00Z", "user": "mia", "text": "!c4 start", "roles": ["mod"]}\n'
        "[2024-10-10 18:00:05 UTC] hank: 4\n"
        "[2024-10-10 18:00:06 UTC] ann: 4\n"
        "[2024-10-10 18:00:07 UTC] bo: 5\n"
        "[2024-10-10 18:00:25 UTC] hank: gg\n"  # 20 s window is over on the log's clock
    )
    summary, bot = await _replay(tmp_path, text)
    assert summary["undrained_skills"] == []
    assert len(bot) == 2, bot  # one message per turn: chat's move with its votes, and the bot's answer
    assert "chat vs bot" in bot[0]
    assert "Chat played 4 (2 of 3 votes), bot played 3." in bot[1]


async def test_chat_vote_window_still_open_at_log_end_stays_open(tmp_path: Path) -> None:
    text = (
        '{"ts": "2024-10-10T18:00:00Z", "user": "mia", "text": "!c4 start", "roles": ["mod"]}\n'
        "[2024-10-10 18:00:05 UTC] hank: 4\n"
    )
    _, bot = await _replay(tmp_path, text)
    assert len(bot) == 1 and "chat vs bot" in bot[0], bot



async def test_later_lines_of_a_fast_replay_see_the_bots_answer(tmp_path: Path) -> None:
    """Live the bot answers within a second; the replay's clock only moves with the log, so a line stamped
    later must not find the bot still thinking (it was ignored, and ``!c4`` said 'bot is thinking')."""
    text = (
        "[2024-10-10 18:00:12 UTC] hank: !c4 challenge\n"
        "[2024-10-10 18:00:20 UTC] hank: 4\n"
        "[2024-10-10 18:00:30 UTC] hank: 4\n"
        "[2024-10-10 18:00:35 UTC] hank: !c4\n"
        "[2024-10-10 18:00:40 UTC] hank: !c4 4\n"
    )
    summary, bot = await _replay(tmp_path, text)
    assert summary["undrained_skills"] == []
    assert "You played 4, bot played 3." in bot[1]
    assert "You played 4, bot played 3." in bot[2]
    assert "move 5:" in bot[3] and "thinking" not in bot[3]
    assert "You played 4, bot played 4." in bot[4]  # the bot blocks three in a column
    assert len(bot) == 5, bot


async def test_chat_votes_after_the_bots_answer_count_on_log_time(tmp_path: Path) -> None:
    """The second turn's window opens when the bot's move started (the search takes no log time), so votes
    stamped after it count, and a line after that window closes it: two full moves in a fast replay."""
    text = (
        '{"ts": "2024-10-10T18:00:00Z", "user": "mia", "text": "!c4 start", "roles": ["mod"]}\n'
        "[2024-10-10 18:00:05 UTC] hank: 4\n"
        # the first window closed at :20; the bot's search takes no log time, so bo's vote is for turn two
        "[2024-10-10 18:00:21 UTC] bo: 6\n"
        "[2024-10-10 18:00:25 UTC] hank: 2\n"
        "[2024-10-10 18:00:26 UTC] ann: 2\n"
        "[2024-10-10 18:00:50 UTC] hank: gg\n"  # the second window (18:00:21 + 20 s) is over
    )
    summary, bot = await _replay(tmp_path, text)
    assert summary["undrained_skills"] == []
    assert "Chat played 4 (1 of 1 vote), bot played 3." in bot[1]
    assert "Chat played 2 (2 of 3 votes), bot played 3." in bot[2]  # hank 2, ann 2, bo 6
    assert len(bot) == 3, bot


async def test_a_bang_c4_line_is_no_vote_where_the_prefix_is_another(tmp_path: Path) -> None:
    """Regression (trial 5, F9): with ``prefix = "?"`` (a streamer moved Chatcast off ``!``, where another
    bot answers), ``!c4 4`` was still counted as a vote; ``?c4 4`` and a bare ``4`` are the votes there."""
    config = tmp_path / "config.toml"
    config.write_text('[bot]\nprefix = "?"\n', encoding="utf-8")
    text = (
        '{"ts": "2024-10-10T18:00:00Z", "user": "mia", "text": "?c4 start", "roles": ["mod"]}\n'
        "[2024-10-10 18:00:05 UTC] hank: !c4 4\n"
        "[2024-10-10 18:00:25 UTC] hank: gg\n"  # the 20 s window is over
        "[2024-10-10 18:00:26 UTC] ann: ?c4 6\n"
        "[2024-10-10 18:00:50 UTC] hank: gg\n"
    )
    _, bot = await _replay(tmp_path, text, config=config)
    assert "No votes yet: 20 more seconds to vote a column 1-7." in bot[1], bot
    assert "Chat played 6 (1 of 1 vote), bot played 3." in bot[2], bot
    assert len(bot) == 3, bot


async def test_a_returning_voters_vote_on_the_first_line_after_a_window_counts(tmp_path: Path) -> None:
    # trial 24: v1's second vote, on the line that closed the first window (18:00:30, 10 s after it ended),
    # was dropped as "bot is thinking" (the bot's move was stamped at that line, not at the deadline), while
    # the same line by a new chatter counted; live, the bot answered long before 18:00:30
    log = ("# channel: streamer\n"
           "[2025-03-01 18:00:00 UTC] streamer: !c4 start easy\n"
           "[2025-03-01 18:00:02 UTC] v1: 4\n"
           "[2025-03-01 18:00:30 UTC] v1: 4\n"
           "[2025-03-01 18:00:31 UTC] v2: 4\n"
           "[2025-03-01 18:00:32 UTC] v3: 4\n"
           "[2025-03-01 18:01:00 UTC] zz: hello\n")
    _, bot = await _replay(tmp_path, log)
    moves = [line for line in bot if "Chat played" in line]
    assert len(moves) == 2, bot
    assert "Chat played 4 (1 of 1 vote)" in moves[0] and "Chat played 4 (3 of 3 votes)" in moves[1], moves


async def test_a_window_ending_in_a_quiet_gap_closes_at_its_own_time(tmp_path: Path) -> None:
    # trial 26: the move was made at the line after the deadline (18:00:30) and the next window opened
    # there, so dan's vote at 18:00:45 fell into the second window; live, the bot answered at 18:00:20
    log = ("# channel: streamer\n"
           "[2024-10-10 18:00:00 UTC] streamer: !c4 start easy\n"
           "[2024-10-10 18:00:05 UTC] ann: 4\n"
           "[2024-10-10 18:00:30 UTC] cat: 3\n"
           "[2024-10-10 18:00:45 UTC] dan: 2\n"
           "[2024-10-10 18:00:46 UTC] eve: !c4\n")
    _, bot = await _replay(tmp_path, log)
    assert bot[1].startswith("[2024-10-10 18:00:20 UTC] #streamer chatcast: Chat played 4 (1 of 1 vote)"), bot
    assert bot[2].startswith("[2024-10-10 18:00:40 UTC] #streamer chatcast: Chat played 3 (1 of 1 vote)"), bot
    assert "(14 s left, majority wins)" in bot[3], bot
