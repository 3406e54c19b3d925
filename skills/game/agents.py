"""Players for matches and evaluation: uniform random, one-ply greedy, and the MCTS agent (batched).

Every agent has ``choose(boards: list[Board]) -> list[int]`` (0-indexed columns), so a match runner can ask
one agent for the moves of many concurrent games at once and the MCTS agent evaluates all their leaves in
shared network batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from skills.game.mcts import Evaluate, Search, SearchConfig, run_searches
from skills.game.rules import Board


class Agent(Protocol):
    name: str

    def choose(self, boards: Sequence[Board]) -> list[int]: ...


class RandomAgent:
    """Uniformly random legal column."""

    def __init__(self, seed: int | None = None) -> None:
        self.name = "random"
        self.rng = np.random.default_rng(seed)

    def choose(self, boards: Sequence[Board]) -> list[int]:
        return [int(self.rng.choice(b.legal_moves())) for b in boards]


class GreedyAgent:
    """One-ply greedy: wins when it can, blocks when it must, otherwise a random legal column."""

    def __init__(self, seed: int | None = None) -> None:
        self.name = "greedy"
        self.rng = np.random.default_rng(seed)

    def choose(self, boards: Sequence[Board]) -> list[int]:
        out = []
        for b in boards:
            wins = b.winning_moves()
            if wins:
                out.append(wins[0])
                continue
            blocks = _blocks(b)
            out.append(int(self.rng.choice(blocks or b.legal_moves())))
        return out


def _blocks(b: Board) -> list[int]:
    """Columns where the opponent would win next move (so the mover must play there)."""
    from skills.game.rules import _COLUMN_MASKS, winning_cells

    threats = winning_cells(b.current ^ b.mask, b.mask) & b.possible()
    return [c for c in range(7) if threats & _COLUMN_MASKS[c]]


@dataclass
class MCTSAgent:
    """The AlphaZero agent: PUCT search with ``config.simulations`` per move, move sampled at ``temperature``
    (0 = most visited). ``choose`` searches all given boards together (one network batch per round)."""

    evaluate: Evaluate
    config: SearchConfig
    temperature: float = 0.0
    name: str = "mcts"
    seed: int | None = None
    evaluations: int = 0
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def choose(self, boards: Sequence[Board]) -> list[int]:
        searches = [Search(b, self.config, self.rng) for b in boards]
        self.evaluations += run_searches(searches, self.evaluate)
        return [s.choose_move(self.temperature) for s in searches]


@dataclass
class MatchResult:
    """Results from the first agent's point of view."""

    wins: int = 0
    draws: int = 0
    losses: int = 0
    wins_as_first: int = 0
    losses_as_first: int = 0

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        """(wins + draws / 2) / games; 0 when no games."""
        return (self.wins + 0.5 * self.draws) / self.games if self.games else 0.0


def play_match(
    agent: Agent, opponent: Agent, games: int, *, start: Sequence[Board] | None = None
) -> MatchResult:
    """Play ``games`` games concurrently, ``agent`` first in the even-numbered games, second in the odd ones.

    ``start`` optionally gives opening positions (cycled). Returns a ``MatchResult`` for ``agent``.
    """
    boards = [start[i % len(start)] if start else Board() for i in range(games)]
    agent_first = [i % 2 == 0 for i in range(games)]
    # the agent plays the side that is to move at the start position when agent_first
    agent_side = [
        (b.to_move if first else 1 - b.to_move) for b, first in zip(boards, agent_first, strict=True)
    ]
    result = MatchResult()
    while True:
        live = [i for i, b in enumerate(boards) if not b.is_over]
        if not live:
            break
        for who, side_is_agent in ((agent, True), (opponent, False)):
            idx = [i for i in live if (boards[i].to_move == agent_side[i]) == side_is_agent]
            if idx:
                moves = who.choose([boards[i] for i in idx])
                for i, m in zip(idx, moves, strict=True):
                    boards[i] = boards[i].play(m)
            live = [i for i in live if not boards[i].is_over]
    for b, side, first in zip(boards, agent_side, agent_first, strict=True):
        if b.winner is None:
            result.draws += 1
        elif b.winner == side:
            result.wins += 1
            result.wins_as_first += first
        else:
            result.losses += 1
            result.losses_as_first += first
    return result
