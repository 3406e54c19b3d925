"""The bot's move at play time: difficulty levels and the async search that batches through the engine.

``BotPlayer.choose(board, level)`` runs one PUCT search (``skills.game.mcts``) whose leaf evaluations are
awaited through ``evaluate`` (the engine's ``policy("c4", states)`` in the bot, so leaves of all concurrent
games share network batches), or through a local network run in a worker thread when there is no engine.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skills.game.mcts import AsyncEvaluate, Search, SearchConfig, run_searches_async, torch_evaluator
from skills.game.rules import Board

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Difficulty:
    """Search budget and randomness of one level.

    ``simulations`` per move; ``temperature`` for sampling by visit counts during the first
    ``temperature_moves`` plies of the game (0 = always the most visited column); ``root_pruning`` enforces
    wins in one and forced blocks at the root (off on easy so a casual viewer can win).
    """

    simulations: int
    temperature: float
    temperature_moves: int = 42
    root_pruning: bool = True


DEFAULT_LEVELS: dict[str, Difficulty] = {
    "easy": Difficulty(simulations=8, temperature=1.5, root_pruning=False),
    "normal": Difficulty(simulations=100, temperature=0.5, temperature_moves=6),
    "hard": Difficulty(simulations=800, temperature=0.0),
}


class BotPlayer:
    """Chooses the bot's columns. ``evaluate`` is an async ``states (n, 3, 6, 7) -> (logits, value)``.

    ``seed`` makes the sampling reproducible (tests, evaluation).
    """

    def __init__(
        self,
        evaluate: AsyncEvaluate,
        levels: dict[str, Difficulty] | None = None,
        seed: int | None = None,
        leaves_per_round: int = 8,
    ) -> None:
        self.evaluate = evaluate
        self.levels = dict(levels or DEFAULT_LEVELS)
        self.rng = np.random.default_rng(seed)
        self.leaves_per_round = leaves_per_round

    def config_for(self, level: str) -> SearchConfig:
        """``SearchConfig`` of ``level``; raises ``KeyError`` naming the known levels."""
        if level not in self.levels:
            raise KeyError(f"unknown difficulty {level!r}; expected one of {', '.join(self.levels)}")
        d = self.levels[level]
        return SearchConfig(
            simulations=d.simulations, leaves_per_round=self.leaves_per_round, root_pruning=d.root_pruning
        )

    async def choose(self, board: Board, level: str, rng: np.random.Generator | None = None) -> int:
        """The bot's 0-indexed column for ``board`` at ``level`` (``ValueError`` if finished). ``rng``
        (default: the player's own) drives root noise and move sampling."""
        search = Search(board, self.config_for(level), rng or self.rng)
        await run_searches_async([search], self.evaluate)
        d = self.levels[level]
        temperature = d.temperature if board.moves < d.temperature_moves else 0.0
        return search.choose_move(temperature)


def local_evaluator(loader: Callable[[], object]) -> AsyncEvaluate:
    """An async evaluator running the network from ``loader()`` in a worker thread (loaded on first use).

    A lock serialises calls (torch modules are not re-entrant across threads in inference with BN stats).
    """
    state: dict[str, object] = {}
    lock = threading.Lock()

    def run(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with lock:
            if "fn" not in state:
                state["fn"] = torch_evaluator(loader())
            return state["fn"](states)  # type: ignore[operator]

    async def evaluate(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return await asyncio.to_thread(run, states)

    return evaluate


def engine_evaluator(
    engine: object, name: str = "c4", fallback: AsyncEvaluate | None = None
) -> Callable[[np.ndarray], Awaitable[tuple[np.ndarray, np.ndarray]]]:
    """An async evaluator calling ``engine.policy(name, states)`` (interactive priority).

    ``fallback``: an evaluator used for a call the engine answers with ``EngineBusy`` (shed, or no answer
    within the request's time-out), e.g. ``local_evaluator`` of the same weights. Trial 19: the engine's
    first embedding batch after start-up took 10.2 s on a loaded 2-core machine, the policy request
    queued behind it timed out, and a viewer's challenge was cancelled. Other errors are raised."""
    from bot.inference.api import EngineBusy

    warned = False

    async def evaluate(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nonlocal warned
        try:
            return await engine.policy(name, states)  # type: ignore[attr-defined]
        except EngineBusy as exc:
            if fallback is None:
                raise
            if not warned:
                warned = True
                log.warning("policy:%s: the engine is busy (%s): moves are computed outside it meanwhile",
                            name, exc)
            return await fallback(states)

    return evaluate


def weights_loader(path: str | Path | None = None) -> Callable[[], object]:
    """A loader for ``engine.register_policy``: ``loader() -> PolicyValueNet`` (eval mode) from ``path``
    (default: the shipped ``skills/game/weights/c4_net.pt``). Raises ``FileNotFoundError`` when called and the
    file is missing."""
    from skills.game.network import DEFAULT_WEIGHTS, load_network

    target = Path(path) if path else DEFAULT_WEIGHTS

    def loader() -> object:
        return load_network(target)

    return loader
