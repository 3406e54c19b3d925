"""Evaluation helpers: outcome-preserving rates, solver scoring of Pons text files, matches, throughput."""

import json

import numpy as np
import pytest

from skills.game.evaluate import LevelAgent, _solved, outcome_rates, throughput
from skills.game.player import Difficulty
from skills.game.positions import load_positions
from skills.game.rules import Board


def uniform(states):
    n = len(states)
    return np.zeros((n, 7), dtype=np.float32), np.zeros(n, dtype=np.float32)


def test_outcome_rates_count_won_drawn_and_lost_positions(tmp_path):
    f = tmp_path / "set.json"
    f.write_text(
        json.dumps(
            [
                # X to move wins at once with column 4 (analysis: only col 4 keeps the win)
                {"sequence": "112233", "score": 18, "analysis": [-1, -1, -1, 18, -1, -1, -1]},
                # a lost position: any move preserves the (lost) outcome
                {"sequence": "44553", "score": -18, "analysis": [-18, -18, -18, -18, -18, -18, -18]},
            ]
        )
    )
    pos = load_positions(f)
    agent = LevelAgent(uniform, Difficulty(simulations=16, temperature=0.0))
    r = outcome_rates(agent, pos)
    assert r["positions"] == 2 and r["won_or_drawn"] == 1
    assert r["preserve"] == 1.0 and r["preserve_won_or_drawn"] == 1.0


def test_text_positions_are_scored_by_the_solver(tmp_path):
    pytest.importorskip("bitbully")
    from skills.game.evaluate import SolverAgent

    f = tmp_path / "Test_L3_R1"
    f.write_text("112233 18\n")
    pos = _solved(load_positions(f), SolverAgent())
    scores = pos[0].move_scores
    assert scores[3] > 0 and all(s is None or s < 0 for i, s in enumerate(scores) if i != 3)


def test_throughput_reports_batched_and_sequential():
    boards = [Board.from_moves(m) for m in ("4", "44", "43", "3") * 8]
    t = throughput(uniform, boards, simulations=8)
    assert t["one_game"] > 0 and t["32_batched"] > 0 and t["32_sequential"] > 0
