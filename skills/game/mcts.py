"""PUCT Monte Carlo tree search with batched leaf evaluation (AlphaZero).

Sources:
- Silver et al., "Mastering the game of Go without human knowledge", Nature 2017, and "A general
  reinforcement learning algorithm that masters chess, shogi and Go through self-play", Science 2018:
  PUCT selection ``Q + c_puct * P * sqrt(N_parent) / (1 + N)``, Dirichlet noise at the root, visit-count
  policy targets.
- Virtual loss to select several leaves of one tree per round (Chaslot et al. 2008, "Parallel Monte-Carlo
  Tree Search"; used by AlphaGo).
- MCTS-Solver (Winands, Bjornsson and Saito 2008): proven wins/losses/draws are propagated up the tree.
- First-play urgency reduction for unvisited children (Leela Zero / KataGo, Wu 2019).
- Tactical pruning with rules only (no search): a node whose mover can win at once is a proven win; moves
  that hand the opponent an immediate win are pruned (Pons, "Solving Connect 4", part 10).

Many searches run at once: each round every unfinished search selects up to ``leaves_per_round`` leaves,
all leaves of all searches are evaluated by ONE call of ``evaluate(states (n, 3, 6, 7)) -> (logits (n, 7),
value (n,))`` and backed up. ``run_searches`` takes a plain function (training), ``run_searches_async`` an
async one (play time, routed through the inference engine's ``policy`` call, which batches across games).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from skills.game.rules import WIDTH, Board, encode_batch

Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
AsyncEvaluate = Callable[[np.ndarray], Awaitable[tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class SearchConfig:
    """Search parameters.

    ``simulations``: leaf evaluations (or terminal visits) per move; ``c_puct``: exploration constant;
    ``dirichlet_alpha``/``dirichlet_eps``: root noise (eps 0 disables; AlphaZero used eps 0.25 and alpha
    ~10/average legal moves); ``leaves_per_round``: leaves selected per tree per batch (virtual loss);
    ``fpu_reduction``: unvisited children's Q is the parent's value minus this; ``root_pruning`` False lets
    the root consider every legal column (wins in one and forced blocks are not enforced: the "easy" level).
    """

    simulations: int = 100
    c_puct: float = 1.5
    dirichlet_alpha: float = 1.0
    dirichlet_eps: float = 0.0
    leaves_per_round: int = 1
    fpu_reduction: float = 0.2
    root_pruning: bool = True


class Node:
    """One position in the tree. Edge statistics (``N``, ``W``, ``P``) are indexed by position in ``moves``.

    ``proven`` is the game-theoretic value for the player to move (+1 win, 0 draw, -1 loss) once known.
    """

    __slots__ = ("board", "moves", "P", "N", "W", "children", "expanded", "proven", "value", "pending")

    def __init__(self, board: Board) -> None:
        self.board = board
        self.moves: list[int] = []
        self.P: list[float] = []
        self.N: list[int] = []
        self.W: list[float] = []
        self.children: list[Node | None] = []
        self.expanded = False
        self.proven: float | None = None
        self.value = 0.0
        self.pending = False
        self._classify()

    def _classify(self) -> None:
        """Set ``proven`` and the move set from the rules alone (terminal, win in one, forced loss)."""
        b = self.board
        if b.winner is not None:
            self.proven = -1.0  # the player who just moved won
            return
        if b.is_full:
            self.proven = 0.0
            return
        wins = b.winning_moves()
        if wins:
            self.proven = 1.0
            self.moves = wins
            return
        safe = b.non_losing_moves()
        if not safe:
            self.proven = -1.0
            self.moves = b.legal_moves()
            return
        self.moves = safe

    @property
    def visits(self) -> int:
        return sum(self.N)

    def set_priors(self, logits: np.ndarray, value: float) -> None:
        """Softmax of ``logits`` over this node's moves; ``value`` is the net's value for the mover."""
        z = [float(logits[m]) for m in self.moves]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        s = sum(e)
        self.P = [v / s for v in e]
        k = len(self.moves)
        self.N = [0] * k
        self.W = [0.0] * k
        self.children = [None] * k
        self.value = float(value)
        self.expanded = True

    def q(self, i: int, fpu: float) -> float:
        return self.W[i] / self.N[i] if self.N[i] else fpu

    def select(self, c_puct: float, fpu_reduction: float) -> int:
        """Index (into ``moves``) of the child maximising PUCT; proven children use their proven value."""
        total = sum(self.N)
        sqrt_total = math.sqrt(total + 1)
        fpu = (self.W_total() / total if total else self.value) - fpu_reduction
        best, best_score = 0, -1e9
        for i in range(len(self.moves)):
            child = self.children[i]
            if child is not None and child.proven is not None:
                q = -child.proven
            else:
                q = self.q(i, fpu)
            score = q + c_puct * self.P[i] * sqrt_total / (1 + self.N[i])
            if score > best_score:
                best, best_score = i, score
        return best

    def W_total(self) -> float:  # noqa: N802 - W is the standard symbol
        return sum(self.W)


class Search:
    """One search tree rooted at ``board``. Drive it with ``run_searches`` / ``run_searches_async``.

    The root is always evaluated by the network (even when proven) so that a move can be chosen in lost
    positions. ``rng`` is a ``numpy.random.Generator`` used for root noise and sampling.
    """

    def __init__(self, board: Board, config: SearchConfig, rng: np.random.Generator | None = None) -> None:
        if board.is_over:
            raise ValueError("cannot search a finished game")
        self.config = config
        self.rng = rng or np.random.default_rng()
        self.root = Node(board)
        if not config.root_pruning:
            self.root.proven = None
            self.root.moves = board.legal_moves()
        if not self.root.moves:
            self.root.moves = board.legal_moves()
        self.simulations = 0
        self._inflight = 0
        self._root_pending = True

    @property
    def done(self) -> bool:
        """True when the simulation budget is spent or the root is proven (root evaluated)."""
        if self._root_pending:
            return False
        return self.simulations >= self.config.simulations or self.root.proven is not None

    def select_leaves(self) -> list[tuple[Node, list[tuple[Node, int]]]]:
        """Select up to ``leaves_per_round`` leaves needing a network evaluation (virtual loss applied).

        Terminal or proven leaves met on the way are backed up at once and count as simulations.
        """
        if self._root_pending:
            if self.root.pending:
                return []
            self.root.pending = True
            return [(self.root, [])]
        out = []
        for _ in range(self.config.leaves_per_round):
            if self.simulations + self._inflight >= self.config.simulations or self.root.proven is not None:
                break
            path: list[tuple[Node, int]] = []
            node = self.root
            while True:
                if node.proven is not None and node is not self.root:
                    break
                if not node.expanded:
                    break
                i = node.select(self.config.c_puct, self.config.fpu_reduction)
                node.N[i] += 1
                node.W[i] -= 1.0  # virtual loss
                path.append((node, i))
                child = node.children[i]
                if child is None:
                    child = Node(node.board.play(node.moves[i]))
                    node.children[i] = child
                node = child
            if node.proven is not None:
                self._backup(path, node.proven)
                self.simulations += 1
                continue
            if node.pending:  # already waiting for evaluation this round: undo and stop
                self._undo(path)
                break
            node.pending = True
            self._inflight += 1
            out.append((node, path))
        return out

    def expand(self, leaf: Node, path: list[tuple[Node, int]], logits: np.ndarray, value: float) -> None:
        """Attach the network's output to ``leaf`` and back ``value`` (for the leaf's mover) up ``path``."""
        leaf.pending = False
        leaf.set_priors(logits, value)
        if leaf is self.root and self._root_pending:
            self._root_pending = False
            self._add_noise()
            return
        self._inflight -= 1
        self._backup(path, value)
        self.simulations += 1

    def _add_noise(self) -> None:
        eps = self.config.dirichlet_eps
        if eps <= 0 or len(self.root.moves) < 2:
            return
        noise = self.rng.dirichlet([self.config.dirichlet_alpha] * len(self.root.moves))
        self.root.P = [(1 - eps) * p + eps * float(n) for p, n in zip(self.root.P, noise, strict=True)]

    def _undo(self, path: list[tuple[Node, int]]) -> None:
        for node, i in path:
            node.N[i] -= 1
            node.W[i] += 1.0

    def _backup(self, path: list[tuple[Node, int]], value: float) -> None:
        # value is for the mover at the leaf; walk up flipping the sign each ply.
        v = value
        for node, i in reversed(path):
            v = -v
            node.W[i] += 1.0 + v  # remove the virtual loss, add the real value
            child = node.children[i]
            if child is not None and child.proven is not None and node.proven is None:
                self._update_proven(node)

    @staticmethod
    def _update_proven(node: Node) -> None:
        """MCTS-Solver rule: a child lost for its mover proves a win; all children proven gives their best."""
        all_proven = True
        best = -1.0
        for child in node.children:
            if child is None or child.proven is None:
                all_proven = False
                continue
            v = -child.proven
            if v == 1.0:
                node.proven = 1.0
                return
            best = max(best, v)
        if all_proven:
            node.proven = best

    # --- results -----------------------------------------------------------------------------------
    def visit_policy(self) -> np.ndarray:
        """``(7,)`` float32 visit distribution over columns (one-hot on a proven win; priors if unvisited)."""
        out = np.zeros(WIDTH, dtype=np.float32)
        root = self.root
        win = self.proven_winning_move()
        if win is not None:
            out[win] = 1.0
            return out
        if root.N and sum(root.N) > 0:
            for m, n in zip(root.moves, root.N, strict=True):
                out[m] = n
        elif root.P:
            for m, p in zip(root.moves, root.P, strict=True):
                out[m] = p
        else:
            out[root.moves] = 1.0
        return out / out.sum()

    def proven_winning_move(self) -> int | None:
        """A column proven to win (immediate or by MCTS-Solver), else ``None``."""
        root = self.root
        if root.proven != 1.0:
            return None
        if not root.children or all(c is None for c in root.children):
            return root.moves[0]  # a win in one (moves holds only winning columns)
        for m, child in zip(root.moves, root.children, strict=True):
            if child is not None and child.proven == -1.0:
                return m
        return root.moves[0]

    def root_value(self) -> float:
        """Mean backed-up value for the player to move at the root (proven value when known)."""
        root = self.root
        if root.proven is not None:
            return root.proven
        n = sum(root.N)
        return sum(root.W) / n if n else root.value

    def choose_move(self, temperature: float = 0.0) -> int:
        """Pick a column: a proven win if any; else by visits (``temperature`` 0 = most visited, ties to the
        higher prior; > 0 samples ``N ** (1 / temperature)``). Avoids children proven lost."""
        strict = self.config.root_pruning  # off ("easy"): proven wins/losses do not override the visits
        win = self.proven_winning_move() if strict else None
        if win is not None:
            return win
        root = self.root
        moves = list(root.moves)
        counts = np.array(root.N if root.N else [0] * len(moves), dtype=np.float64)
        priors = np.array(root.P if root.P else [1.0] * len(moves), dtype=np.float64)
        bad = np.array([c is not None and c.proven == 1.0 for c in (root.children or [None] * len(moves))])
        if bad.all() or not strict:
            bad[:] = False
        if counts.sum() == 0:
            counts = priors.copy()
        counts[bad] = 0.0
        if counts.sum() == 0:
            counts = (~bad).astype(np.float64)
        if temperature <= 1e-6:
            score = counts + 1e-6 * priors
            return moves[int(np.argmax(score))]
        weights = counts ** (1.0 / temperature)
        weights /= weights.sum()
        return moves[int(self.rng.choice(len(moves), p=weights))]


def _collect(searches: Sequence[Search]) -> list[tuple[Search, Node, list[tuple[Node, int]]]]:
    batch = []
    for s in searches:
        if not s.done:
            batch.extend((s, leaf, path) for leaf, path in s.select_leaves())
    return batch


def _apply(
    batch: list[tuple[Search, Node, list[tuple[Node, int]]]], logits: np.ndarray, values: np.ndarray
) -> None:
    logits = np.asarray(logits, dtype=np.float32).reshape(len(batch), WIDTH)
    values = np.asarray(values, dtype=np.float32).reshape(len(batch))
    for (s, leaf, path), lg, v in zip(batch, logits, values, strict=True):
        s.expand(leaf, path, lg, float(v))


def run_searches(searches: Sequence[Search], evaluate: Evaluate) -> int:
    """Run every search to completion, evaluating all pending leaves of all trees in one batch per round.

    Returns the number of network evaluations (positions). ``evaluate`` gets ``(n, 3, 6, 7)`` float32.
    """
    evaluated = 0
    while any(not s.done for s in searches):
        batch = _collect(searches)
        if not batch:
            continue
        logits, values = evaluate(encode_batch(leaf.board for _, leaf, _ in batch))
        _apply(batch, logits, values)
        evaluated += len(batch)
    return evaluated


async def run_searches_async(searches: Sequence[Search], evaluate: AsyncEvaluate) -> int:
    """``run_searches`` with an async ``evaluate`` (e.g. ``engine.policy("c4", states)``)."""
    evaluated = 0
    while any(not s.done for s in searches):
        batch = _collect(searches)
        if not batch:
            continue
        logits, values = await evaluate(encode_batch(leaf.board for _, leaf, _ in batch))
        _apply(batch, logits, values)
        evaluated += len(batch)
    return evaluated


def torch_evaluator(net: object) -> Evaluate:
    """Wrap a ``PolicyValueNet`` as a plain ``evaluate`` function (CPU, inference mode)."""
    import torch

    def evaluate(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            logits, value = net(torch.from_numpy(states))  # type: ignore[operator]
        return logits.numpy(), value.reshape(-1).numpy()

    return evaluate
