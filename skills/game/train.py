"""Self-play reinforcement learning for the Connect Four policy-value network (AlphaZero-style).

Algorithm (Silver et al., Science 2018): games are played by the current network guided by PUCT MCTS
(``skills.game.mcts``); every searched position stores the root visit distribution (policy target) and,
at the end of the game, the final result from the mover's side (value target). The network is trained on a
replay buffer of recent positions with ``cross_entropy(policy) + mse(value) + weight decay``. No solver is
used for training: ``bitbully``-scored positions are only read by the evaluation that logs strength.

Tricks for a tiny CPU budget (2 shared cores, ~1.5 h):
- Batched self-play: ``games_in_flight`` games search at once and all their leaves go through the network in
  one batch per round (as in KataGo's and Leela Zero's self-play clients).
- Playout cap randomisation (Wu 2019, "Accelerating Self-Play Learning in Go", KataGo, sec. 3.1): a fraction
  ``p_full`` of moves get a full search with root noise and are recorded as policy targets; the others get a
  cheap search and only feed the value target (KataGo drops them entirely; keeping their value target is our
  choice because value data is the scarcest in a short run).
- Small simulation counts early, growing linearly over ``ramp_games`` games (a budget schedule as in KataGo's
  early training).
- Symmetry augmentation: each sample is mirrored left-right at random when trained on (AlphaGo Zero used the
  8 board symmetries of Go; Connect Four has one).
- Rules-only tactical pruning and MCTS-Solver in the search (see ``skills.game.mcts``) so that self-play does
  not waste games on one-move blunders.

Runs are resumable: ``<out>/checkpoint.pt`` holds the network, optimiser, counters, RNG states and the replay
buffer; ``<out>/metrics.jsonl`` logs strength over training and ``<out>/curve.png`` plots it.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from skills.game.agents import GreedyAgent, MCTSAgent, RandomAgent, play_match
from skills.game.mcts import Search, SearchConfig, run_searches, torch_evaluator
from skills.game.network import NetConfig, PolicyValueNet, save_network
from skills.game.positions import TestPosition, load_positions, preserves_outcome
from skills.game.rules import WIDTH, Board

log = logging.getLogger("chatcast.game.train")


@dataclass
class TrainConfig:
    """Every knob of a run (saved in the checkpoint; a resumed run keeps them, except ``minutes``)."""

    seed: int = 0
    minutes: float = 90.0
    net: NetConfig = field(default_factory=NetConfig)
    games_in_flight: int = 128
    sims_full: int = 200
    sims_fast: int = 32
    sims_full_start: int = 40
    sims_fast_start: int = 12
    ramp_games: int = 5000
    p_full: float = 0.25
    temperature_moves: int = 8
    c_puct: float = 1.5
    dirichlet_alpha: float = 1.0
    dirichlet_eps: float = 0.25
    buffer_size: int = 150_000
    min_buffer: int = 4_000
    batch_size: int = 256
    sample_reuse: float = 6.0
    lr: float = 1e-3
    weight_decay: float = 1e-4
    checkpoint_every_s: float = 240.0
    eval_every_s: float = 300.0
    eval_games: int = 40
    eval_sims: int = 32
    eval_positions: int = 150


class ReplayBuffer:
    """Ring buffer of ``(state (3,6,7) int8, policy (7,) float32, policy_weight, value_target)``."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.states = np.zeros((capacity, 3, 6, WIDTH), dtype=np.int8)
        self.policy = np.zeros((capacity, WIDTH), dtype=np.float32)
        self.pw = np.zeros(capacity, dtype=np.float32)
        self.z = np.zeros(capacity, dtype=np.float32)
        self.size = 0
        self.pos = 0

    def add(self, state: np.ndarray, policy: np.ndarray, pw: float, z: float) -> None:
        i = self.pos
        self.states[i] = state
        self.policy[i] = policy
        self.pw[i] = pw
        self.z[i] = z
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        """``n`` random samples, each mirrored left-right with probability 1/2 (symmetry augmentation)."""
        idx = rng.integers(0, self.size, size=n)
        x = self.states[idx].astype(np.float32)
        p = self.policy[idx].copy()
        flip = rng.random(n) < 0.5
        x[flip] = x[flip][:, :, :, ::-1]
        p[flip] = p[flip][:, ::-1]
        return (
            torch.from_numpy(np.ascontiguousarray(x)),
            torch.from_numpy(np.ascontiguousarray(p)),
            torch.from_numpy(self.pw[idx].copy()),
            torch.from_numpy(self.z[idx].copy()),
        )

    def state_dict(self) -> dict[str, object]:
        n = self.size
        return {
            "capacity": self.capacity,
            "pos": self.pos,
            "size": n,
            "states": self.states[:n].copy(),
            "policy": self.policy[:n].copy(),
            "pw": self.pw[:n].copy(),
            "z": self.z[:n].copy(),
        }

    def load_state_dict(self, d: dict[str, object]) -> None:
        n = int(d["size"])  # type: ignore[arg-type]
        n = min(n, self.capacity)
        self.states[:n] = d["states"][:n]  # type: ignore[index]
        self.policy[:n] = d["policy"][:n]  # type: ignore[index]
        self.pw[:n] = d["pw"][:n]  # type: ignore[index]
        self.z[:n] = d["z"][:n]  # type: ignore[index]
        self.size = n
        self.pos = int(d["pos"]) % self.capacity  # type: ignore[arg-type]


def train_step(
    net: PolicyValueNet, opt: torch.optim.Optimizer, batch: tuple[torch.Tensor, ...]
) -> dict[str, float]:
    """One gradient step on ``(x, pi, pw, z)``: loss = weighted CE(pi, softmax(logits)) + MSE(value, z)."""
    x, pi, pw, z = batch
    net.train()
    logits, value = net(x)
    logp = F.log_softmax(logits, dim=1)
    ce = -(pi * logp).sum(1)
    p_loss = (ce * pw).sum() / pw.sum().clamp(min=1.0)
    v_loss = F.mse_loss(value, z)
    loss = p_loss + v_loss
    opt.zero_grad()
    loss.backward()
    opt.step()
    net.eval()
    return {"policy_loss": float(p_loss.detach()), "value_loss": float(v_loss.detach())}


@dataclass
class _Game:
    board: Board
    records: list[tuple[np.ndarray, np.ndarray, float, int]] = field(default_factory=list)


class Trainer:
    """A resumable self-play training run writing into ``out`` (see module docstring)."""

    def __init__(
        self,
        out: str | Path,
        config: TrainConfig | None = None,
        *,
        resume: bool = False,
        eval_positions: list[Path] | None = None,
    ) -> None:
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.config = config or TrainConfig()
        self.rng = np.random.default_rng(self.config.seed)
        torch.manual_seed(self.config.seed)
        self.net = PolicyValueNet(self.config.net).eval()
        self.opt = torch.optim.AdamW(
            self.net.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        self.buffer = ReplayBuffer(self.config.buffer_size)
        self.games_played = 0
        self.positions = 0
        self.steps = 0
        self.elapsed_s = 0.0
        self.evaluations = 0
        self.results = {"first": 0, "second": 0, "draw": 0}
        self.losses: list[dict[str, float]] = []
        self.eval_sets = self._load_eval_sets(eval_positions or [])
        if resume and (self.out / "checkpoint.pt").exists():
            self._load()

    # --- checkpoints --------------------------------------------------------------------------------
    def _load(self) -> None:
        blob = torch.load(self.out / "checkpoint.pt", map_location="cpu", weights_only=False)
        minutes = self.config.minutes
        cfg = blob["config"]
        cfg["net"] = NetConfig(**cfg["net"])
        self.config = TrainConfig(**cfg)
        self.config.minutes = minutes
        self.net = PolicyValueNet(self.config.net)
        self.net.load_state_dict(blob["net"]["state_dict"])
        self.net.eval()
        self.opt = torch.optim.AdamW(
            self.net.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        self.opt.load_state_dict(blob["optimizer"])
        self.buffer = ReplayBuffer(self.config.buffer_size)
        self.buffer.load_state_dict(blob["buffer"])
        for key in ("games_played", "positions", "steps", "elapsed_s", "evaluations", "results"):
            setattr(self, key, blob["counters"][key])
        self.rng.bit_generator.state = blob["numpy_rng"]
        torch.set_rng_state(blob["torch_rng"])
        log.info(
            "resumed from %s: %d games, %d steps, %.0f s",
            self.out,
            self.games_played,
            self.steps,
            self.elapsed_s,
        )

    def save_checkpoint(self) -> Path:
        """Write ``checkpoint.pt`` (atomically) and ``latest_net.pt`` (weights only)."""
        counters = {
            k: getattr(self, k)
            for k in ("games_played", "positions", "steps", "elapsed_s", "evaluations", "results")
        }
        cfg = asdict(self.config)
        blob = {
            "config": cfg,
            "net": {"config": asdict(self.net.config), "state_dict": self.net.state_dict()},
            "optimizer": self.opt.state_dict(),
            "buffer": self.buffer.state_dict(),
            "counters": counters,
            "numpy_rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
        }
        tmp = self.out / "checkpoint.pt.tmp"
        torch.save(blob, tmp)
        tmp.replace(self.out / "checkpoint.pt")
        save_network(self.net, self.out / "latest_net.pt", games=self.games_played, steps=self.steps)
        return self.out / "checkpoint.pt"

    # --- self-play ----------------------------------------------------------------------------------
    def _sims(self) -> tuple[int, int]:
        c = self.config
        t = min(1.0, self.games_played / max(1, c.ramp_games))
        full = round(c.sims_full_start + t * (c.sims_full - c.sims_full_start))
        fast = round(c.sims_fast_start + t * (c.sims_fast - c.sims_fast_start))
        return full, fast

    def self_play_round(self, games: list[_Game]) -> int:
        """Advance every game by one move (all searches batched). Returns positions added to the buffer."""
        c = self.config
        full_sims, fast_sims = self._sims()
        full = self.rng.random(len(games)) < c.p_full
        cfg_full = SearchConfig(
            simulations=full_sims,
            c_puct=c.c_puct,
            dirichlet_alpha=c.dirichlet_alpha,
            dirichlet_eps=c.dirichlet_eps,
        )
        cfg_fast = SearchConfig(simulations=fast_sims, c_puct=c.c_puct)
        searches = [
            Search(g.board, cfg_full if f else cfg_fast, self.rng) for g, f in zip(games, full, strict=True)
        ]
        self.evaluations += run_searches(searches, torch_evaluator(self.net))
        added = 0
        for g, s, f in zip(games, searches, full, strict=True):
            temperature = 1.0 if g.board.moves < c.temperature_moves else 0.0
            pi = s.visit_policy()
            g.records.append((g.board.encode().astype(np.int8), pi, 1.0 if f else 0.0, g.board.to_move))
            g.board = g.board.play(s.choose_move(temperature))
        for i, g in enumerate(games):
            if g.board.is_over:
                winner = g.board.winner
                for state, pi, pw, mover in g.records:
                    z = 0.0 if winner is None else (1.0 if winner == mover else -1.0)
                    self.buffer.add(state, pi, pw, z)
                    added += 1
                self.games_played += 1
                self.results["draw" if winner is None else ("first" if winner == 0 else "second")] += 1
                games[i] = _Game(Board())
        self.positions += added
        return added

    # --- evaluation (solver data only here, never as targets) -----------------------------------------
    @staticmethod
    def _load_eval_sets(paths: list[Path]) -> dict[str, list[TestPosition]]:
        sets = {}
        for p in paths:
            try:
                pos = [q for q in load_positions(p) if q.move_scores is not None]
            except OSError as exc:
                log.warning("evaluation positions %s unavailable: %s", p, exc)
                continue
            if pos:
                sets[Path(p).stem] = pos
        return sets

    def evaluate(self) -> dict[str, float]:
        """Win rates vs random and greedy (``eval_games`` each, both colours) and outcome-preserving move
        rate on a fixed sample of solved positions, with ``eval_sims`` simulations per move."""
        c = self.config
        agent = MCTSAgent(
            torch_evaluator(self.net), SearchConfig(simulations=c.eval_sims, c_puct=c.c_puct), seed=1
        )
        out: dict[str, float] = {}
        r = play_match(agent, RandomAgent(seed=2), c.eval_games)
        out["vs_random_score"] = r.score
        out["vs_random_losses"] = r.losses
        g = play_match(agent, GreedyAgent(seed=3), c.eval_games)
        out["vs_greedy_score"] = g.score
        for name, positions in self.eval_sets.items():
            sample = positions[: c.eval_positions]
            moves = agent.choose([p.board for p in sample])
            ok = [preserves_outcome(p, m) for p, m in zip(sample, moves, strict=True)]
            out[f"preserve_{name}"] = float(np.mean(ok))
        return out

    # --- main loop -----------------------------------------------------------------------------------
    def run(
        self,
        *,
        max_games: int | None = None,
        max_seconds: float | None = None,
        on_progress: Callable[[dict[str, object]], None] | None = None,
    ) -> dict[str, object]:
        """Train until ``minutes`` (of this session), ``max_seconds`` or ``max_games`` run out; checkpoint and
        evaluate periodically and at the end. Interrupting (Ctrl-C) saves a checkpoint first."""
        c = self.config
        limit = min(c.minutes * 60.0, max_seconds if max_seconds is not None else math.inf)
        start = time.monotonic()
        base_elapsed = self.elapsed_s
        last_ckpt = last_eval = start
        games = [_Game(Board()) for _ in range(c.games_in_flight)]
        new_since_train = 0
        start_games = self.games_played
        if self.games_played == 0 and max_games is None:
            self._log_eval(on_progress)  # the untrained baseline: first point of the curve
        try:
            while True:
                now = time.monotonic()
                self.elapsed_s = base_elapsed + (now - start)
                if now - start >= limit or (
                    max_games is not None and self.games_played - start_games >= max_games
                ):
                    break
                new_since_train += self.self_play_round(games)
                if self.buffer.size >= min(c.min_buffer, c.buffer_size) and new_since_train >= c.batch_size:
                    steps = max(1, round(new_since_train * c.sample_reuse / c.batch_size))
                    for _ in range(steps):
                        self.losses.append(
                            train_step(self.net, self.opt, self.buffer.sample(c.batch_size, self.rng))
                        )
                        self.steps += 1
                    new_since_train = 0
                now = time.monotonic()
                if now - last_eval >= c.eval_every_s:
                    self._log_eval(on_progress)
                    last_eval = time.monotonic()
                if now - last_ckpt >= c.checkpoint_every_s:
                    self.save_checkpoint()
                    last_ckpt = time.monotonic()
        except KeyboardInterrupt:
            log.warning("interrupted: saving a checkpoint")
        self.elapsed_s = base_elapsed + (time.monotonic() - start)
        row = self._log_eval(on_progress)
        self.save_checkpoint()
        return row

    def _log_eval(self, on_progress: Callable[[dict[str, object]], None] | None) -> dict[str, object]:
        recent = self.losses[-200:]
        row: dict[str, object] = {
            "elapsed_s": round(self.elapsed_s, 1),
            "games": self.games_played,
            "positions": self.positions,
            "steps": self.steps,
            "evaluations": self.evaluations,
            "buffer": self.buffer.size,
            "sims": list(self._sims()),
            **{f"results_{k}": v for k, v in self.results.items()},
        }
        if recent:
            row["policy_loss"] = float(np.mean([r["policy_loss"] for r in recent]))
            row["value_loss"] = float(np.mean([r["value_loss"] for r in recent]))
        row.update(self.evaluate())
        with (self.out / "metrics.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        log.info("progress %s", row)
        if on_progress:
            on_progress(row)
        try:
            plot_curve(self.out / "metrics.jsonl", self.out / "curve.png")
        except Exception as exc:  # noqa: BLE001 - a plotting problem must not stop training
            log.warning("curve not written: %s", exc)
        return row


def plot_curve(metrics: str | Path, png: str | Path) -> None:
    """Plot strength over training (scores vs random/greedy, outcome-preserving rates) and losses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        json.loads(line) for line in Path(metrics).read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    if not rows:
        return
    minutes = [r["elapsed_s"] / 60 for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    keys = [k for k in rows[-1] if k.startswith(("vs_", "preserve_")) and not k.endswith("losses")]
    for k in keys:
        a1.plot(minutes, [r.get(k, np.nan) for r in rows], marker="o", label=k)
    a1.set_xlabel("training time (min, 2-core CPU)")
    a1.set_ylabel("score / rate")
    a1.set_ylim(0, 1.02)
    a1.legend(fontsize=7)
    a1.set_title("Strength over self-play training")
    for k in ("policy_loss", "value_loss"):
        a2.plot(minutes, [r.get(k, np.nan) for r in rows], label=k)
    a2.set_xlabel("training time (min)")
    a2.legend()
    a2.set_title("Losses")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
