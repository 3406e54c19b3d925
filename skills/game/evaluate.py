"""``chatcast eval game``: strength and speed of the Connect Four agent (solver used ONLY here).

Measures, at each difficulty:
- outcome-preserving move rate per test set (Pons' format or its JSON variant): the share of positions where
  the agent's move keeps the game-theoretic result (win stays win, draw stays draw; any move of a lost
  position counts as preserving, so the rate is also reported over won/drawn positions only). Per-move
  solver scores come from the JSON ``analysis`` or from ``bitbully`` (Pons-style perfect solver);
- matches vs a uniformly random player, a one-ply greedy player and ``bitbully`` limited to a few search
  depths, all with both colours; the full solver playing second against our agent playing first;
- move latency p50/p99 (one game, network in-process) and positions evaluated per second with 1 vs 32
  concurrent games (leaves batched vs the same 32 searches run one after another).

Writes ``benchmarks/results/game_eval.json`` and prints a table.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import typer

from skills.cli_errors import data_errors, decode_utf8, fail, parse_json
from skills.game.agents import GreedyAgent, MatchResult, RandomAgent, play_match
from skills.game.mcts import Evaluate, Search, SearchConfig, run_searches, torch_evaluator
from skills.game.player import DEFAULT_LEVELS, Difficulty
from skills.game.positions import TestPosition, load_positions, preserves_outcome, sign
from skills.game.rules import Board
from skills.run_info import device_info

DEFAULT_DATA = Path("../shared/data/connect4_positions")
DEFAULT_SETS = ("Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1", "Test_L1_R2")
STAGES = {"L3": "end", "L2": "middle", "L1": "beginning"}


class LevelAgent:
    """The bot at one difficulty, choosing for many boards at once (one network batch per round)."""

    def __init__(self, evaluate: Evaluate, level: Difficulty, seed: int = 0, name: str = "agent") -> None:
        self.evaluate = evaluate
        self.level = level
        self.rng = np.random.default_rng(seed)
        self.name = name
        self.evaluations = 0
        self.config = SearchConfig(simulations=level.simulations, root_pruning=level.root_pruning)

    def choose(self, boards: Sequence[Board]) -> list[int]:
        searches = [Search(b, self.config, self.rng) for b in boards]
        self.evaluations += run_searches(searches, self.evaluate)
        return [
            s.choose_move(self.level.temperature if b.moves < self.level.temperature_moves else 0.0)
            for s, b in zip(searches, boards, strict=True)
        ]


class SolverAgent:
    """``bitbully`` (perfect play with opening book; ``max_depth`` limits the search, -1 = full)."""

    def __init__(self, max_depth: int = -1, seed: int = 0) -> None:
        import bitbully

        self._bb = bitbully
        self.agent = bitbully.BitBully(max_depth=max_depth, tie_break="random", rng=random.Random(seed))
        self.name = f"bitbully(depth={max_depth})" if max_depth >= 0 else "bitbully(full)"

    def choose(self, boards: Sequence[Board]) -> list[int]:
        return [int(self.agent.best_move(self._bb.Board.from_moves(list(b.history)))) for b in boards]

    def move_scores(self, board: Board) -> tuple[int | None, ...]:
        scores = self.agent.score_all_moves(self._bb.Board.from_moves(list(board.history)))
        return tuple(scores.get(c) for c in range(7))


def _solved(positions: list[TestPosition], solver: SolverAgent | None) -> list[TestPosition]:
    out = []
    for p in positions:
        if p.move_scores is None:
            if solver is None:
                raise RuntimeError("bitbully is needed to score positions without per-move analysis")
            p = TestPosition(p.moves, p.score, solver.move_scores(p.board))
        out.append(p)
    return out


def outcome_rates(agent: LevelAgent, positions: list[TestPosition], batch: int = 64) -> dict[str, float]:
    """Outcome-preserving rate over all positions and over won/drawn ones; also exact best-move agreement.

    Raises ``ValueError`` for an empty ``positions``."""
    if not positions:
        raise ValueError("outcome_rates needs at least one position")
    ok, ok_nonlost, n_nonlost, best = 0, 0, 0, 0
    for i in range(0, len(positions), batch):
        chunk = positions[i : i + batch]
        moves = agent.choose([p.board for p in chunk])
        for p, m in zip(chunk, moves, strict=True):
            good = preserves_outcome(p, m)
            ok += good
            if sign(p.score) >= 0:
                n_nonlost += 1
                ok_nonlost += good
            scores = [s for s in p.move_scores if s is not None]
            best += p.move_scores[m] == max(scores)
    n = len(positions)
    return {
        "positions": n,
        "preserve": ok / n,
        "preserve_won_or_drawn": ok_nonlost / max(1, n_nonlost),
        "won_or_drawn": n_nonlost,
        "best_move": best / n,
    }


def _match_row(r: MatchResult) -> dict[str, float]:
    return {
        "games": r.games,
        "wins": r.wins,
        "draws": r.draws,
        "losses": r.losses,
        "score": round(r.score, 4),
        "losses_as_first": r.losses_as_first,
        "losses_as_second": r.losses - r.losses_as_first,
    }


def speed_boards(n: int, seed: int = 11) -> list[Board]:
    """``n`` unsettled positions for timing: random openings of 0-20 plies where the side to move has no win
    in one and at least two non-losing columns (so the search is not cut short by tactics)."""
    rng = np.random.default_rng(seed)
    out: list[Board] = []
    while len(out) < n:
        b = Board()
        for _ in range(int(rng.integers(0, 21))):
            if b.is_over:
                break
            b = b.play(int(rng.choice(b.legal_moves())))
        if not b.is_over and not b.winning_moves() and len(b.non_losing_moves()) >= 2:
            out.append(b)
    return out


def latency(evaluate: Evaluate, level: Difficulty, boards: list[Board]) -> dict[str, float]:
    """Wall time of one move (ms), one game at a time: p50 / p99 over ``boards``."""
    agent = LevelAgent(evaluate, level, seed=5)
    agent.config = SearchConfig(
        simulations=level.simulations, root_pruning=level.root_pruning, leaves_per_round=8
    )
    times = []
    for b in boards:
        t = time.perf_counter()
        agent.choose([b])
        times.append((time.perf_counter() - t) * 1000)
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p99_ms": float(np.percentile(times, 99)),
        "moves": len(times),
    }


def throughput(evaluate: Evaluate, boards: list[Board], simulations: int = 100) -> dict[str, float]:
    """Positions evaluated per second: 1 game, 32 games batched together, the same 32 run sequentially."""
    cfg = SearchConfig(simulations=simulations)

    def run(groups: list[list[Board]]) -> float:
        t, n = time.perf_counter(), 0
        for g in groups:
            n += run_searches([Search(b, cfg, np.random.default_rng(0)) for b in g], evaluate)
        return n / (time.perf_counter() - t)

    b32 = boards[:32]
    return {
        "one_game": run([b32[:1]]),
        "32_batched": run([b32]),
        "32_sequential": run([[b] for b in b32]),
        "simulations": simulations,
    }


class PositionsError(ValueError):
    """A test-position file that cannot be evaluated; the message starts with the file's path."""


MAX_REPORTED = 5
"""Bad lines of a position file named one by one in the warning; the rest are only counted."""


class _Collect(logging.Handler):
    """Keeps the messages of the records it gets."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _bad_lines(path: Path) -> Iterator[list[str]]:
    """Collect ``load_positions``' one-warning-per-bad-line log records (instead of printing them) as
    ``line N: why`` / ``entry N: why``."""
    logger = logging.getLogger("skills.game.positions")
    handler, propagate = _Collect(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    out: list[str] = []
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        for message in handler.messages:
            rest = message.removeprefix(str(path))
            m = re.match(r"^:(\d+) skipped: (.*)$|^: entry (\d+) skipped: (.*)$", rest)
            if m and m.group(1):
                out.append(f"line {m.group(1)}: {m.group(2)}")
            elif m:
                out.append(f"entry {m.group(3)}: {m.group(4)}")
            else:
                out.append(message)


def read_positions(
    path: Path, solver: SolverAgent | None, max_positions: int = 0
) -> tuple[list[TestPosition], list[str]]:
    """The solved positions of one test file (the first ``max_positions``; 0 = all) and its bad lines.

    Raises ``FileNotFoundError``/``IsADirectoryError`` (with the file name) and ``PositionsError`` naming the
    file when it is not UTF-8, not a JSON array of objects (when it starts with ``[``), holds no valid
    position, or holds Pons text positions while ``bitbully`` (their per-move scorer) is missing."""
    text = decode_utf8(path, path.read_bytes(), error=PositionsError, encoding="utf-8")
    if not text.strip():
        raise PositionsError(f"{path}: empty file; expected '<moves> <score>' lines or a JSON array")
    if text.lstrip().startswith("["):
        items = parse_json(path, text, error=PositionsError)
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise PositionsError(f"{path}: expected a JSON array of {{sequence, score, analysis}} objects")
    with _bad_lines(path) as bad:
        loaded = load_positions(path)
    if not loaded:
        first = "; ".join(bad[:MAX_REPORTED])
        raise PositionsError(
            f"{path}: no valid position ('<moves> <score>' lines or a JSON array of {{sequence, score}}); "
            f"{len(bad)} bad line(s): {first}"
        )
    loaded = loaded[:max_positions] if max_positions > 0 else loaded
    try:
        return _solved(loaded, solver), bad
    except RuntimeError:
        raise PositionsError(
            f"{path}: Pons text positions need bitbully for per-move scores (pip install '.[eval]')"
        ) from None


def eval_game(
    files: list[Path] = typer.Argument(None, help="More test files (so `--positions A B C` works)."),
    positions: list[Path] = typer.Option(
        None, "--positions", help="Test files (Pons text or JSON); repeatable."
    ),
    weights: Path = typer.Option(
        None, help="Network file (default: the shipped skills/game/weights/c4_net.pt)."
    ),
    levels: str = typer.Option("easy,normal,hard", help="Comma-separated difficulties."),
    max_positions: int = typer.Option(200, help="Positions per test set (first N; 0 = all)."),
    random_games: int = typer.Option(1000, help="Games vs the random player per level (both colours)."),
    greedy_games: int = typer.Option(200, help="Games vs the one-ply greedy player per level."),
    solver_games: int = typer.Option(
        20, help="Games vs depth-limited bitbully per depth and level (0: no solver games, the full one too)."
    ),
    hard_match_games: int = typer.Option(
        100, help="Cap on games per match at 'hard' (800 simulations a move are costly on a shared CPU)."
    ),
    depths: str = typer.Option("2,4,8", help="bitbully search depths for the depth-limited matches."),
    speed_only: bool = typer.Option(False, "--speed-only", help="Only latency and positions/s."),
    update: bool = typer.Option(
        False, "--update/--replace", help="Merge these levels into an existing JSON (runs split by level)."
    ),
    out: Path = typer.Option(Path("benchmarks/results/game_eval.json"), help="JSON output."),
    threads: int = typer.Option(1, help="torch CPU threads."),
) -> None:
    """Evaluate the Connect Four agent; prints a table and writes JSON (see skills/game/evaluate.py).

    The options and every position file are checked before the network loads: a bad one (missing, a
    folder, not UTF-8, no valid position) ends the command with one "error: FILE: ..." line and exit
    code 2, and so does finding no position set at all."""
    chosen = [s.strip() for s in levels.split(",") if s.strip()]
    unknown = [lv for lv in chosen if lv not in DEFAULT_LEVELS]
    if unknown or not chosen:
        bad_level = unknown[0] if unknown else levels
        fail(f"--levels: unknown level {bad_level!r}; expected easy, normal, hard")
    try:
        depth_list = [int(x) for x in depths.split(",") if x.strip()]
    except ValueError:
        fail(f"--depths: expected comma-separated integers, got {depths!r}")
    if weights is not None and not weights.is_file():
        fail(f"{weights}: {'is a directory' if weights.is_dir() else 'no such network file'}")
    if out.is_dir():
        fail(f"{out}: --out is a folder; give a file name")
    given = [*(positions or []), *(files or [])]
    paths = given if given else [DEFAULT_DATA / s for s in DEFAULT_SETS if (DEFAULT_DATA / s).exists()]
    if not paths and not speed_only:
        fail(f"{DEFAULT_DATA}: no test position set ({', '.join(DEFAULT_SETS)}); give --positions FILE")
    old_report: dict | None = None
    if update and out.exists():
        with data_errors():
            raw = out.read_bytes()
        try:
            old_report = json.loads(raw.decode("utf-8"))
        except ValueError:  # not UTF-8 or not JSON (data_errors would not name the file)
            fail(f"{out}: --update needs the JSON that eval game wrote; this file is not valid JSON")
        if not isinstance(old_report, dict):
            fail(f"{out}: --update needs the JSON object that eval game wrote")
    try:
        solver: SolverAgent | None = SolverAgent()
    except ImportError:
        solver = None
        typer.echo("bitbully not installed: solver matches and text-file scoring skipped", err=True)
    sets: dict[str, list[TestPosition]] = {}
    skipped: dict[str, int] = {}
    with data_errors():
        for p in [] if speed_only else paths:
            sets[p.name], bad = read_positions(p, solver, max_positions)
            skipped[p.name] = len(bad)
            if bad:
                more = "; ..." if len(bad) > MAX_REPORTED else ""
                typer.echo(
                    f"warning: {p}: skipped {len(bad)} bad line(s): {'; '.join(bad[:MAX_REPORTED])}{more}",
                    err=True,
                )

    import torch

    from skills.game.network import DEFAULT_WEIGHTS, count_parameters, load_network

    torch.set_num_threads(threads)
    with data_errors():
        net = load_network(weights or DEFAULT_WEIGHTS)
    evaluate = torch_evaluator(net)
    started = time.perf_counter()
    report: dict[str, object] = {
        "weights": str(weights or DEFAULT_WEIGHTS),
        "parameters": count_parameters(net),
        "device": device_info(torch_threads=threads),
        "levels": {lv: vars(DEFAULT_LEVELS[lv]) for lv in chosen},
        "positions": {
            name: {"positions": len(pos), "skipped_lines": skipped[name]} for name, pos in sets.items()
        },
        "sets": {},
        "matches": {},
        "speed": {},
    }
    for name, pos in ({} if speed_only else sets).items():
        row = {}
        for lv in chosen:
            row[lv] = outcome_rates(LevelAgent(evaluate, DEFAULT_LEVELS[lv], seed=1), pos)
        report["sets"][name] = row  # type: ignore[index]
        typer.echo(f"{name}: " + ", ".join(f"{lv} {row[lv]['preserve']:.3f}" for lv in chosen))
    middle = speed_boards(64)
    for lv in chosen:
        level = DEFAULT_LEVELS[lv]
        agent = LevelAgent(evaluate, level, seed=2)
        m: dict[str, object] = {}
        if speed_only:
            m["latency"] = latency(evaluate, level, middle[:30])
            report["matches"][lv] = m  # type: ignore[index]
            typer.echo(f"{lv}: latency {m['latency']}")
            continue
        cap = hard_match_games if lv == "hard" else None
        m["random"] = _match_row(play_match(agent, RandomAgent(seed=3), _cap(random_games, cap)))
        m["greedy"] = _match_row(play_match(agent, GreedyAgent(seed=4), _cap(greedy_games, cap)))
        if solver is not None and solver_games > 0:
            for d in depth_list:
                m[f"bitbully_depth_{d}"] = _match_row(play_match(agent, SolverAgent(d, seed=d), solver_games))
            r = play_match(agent, SolverAgent(-1, seed=9), 1)  # one game: our agent first, solver second
            m["full_solver_second"] = _match_row(r)
        m["latency"] = latency(evaluate, level, middle[:30])
        report["matches"][lv] = m  # type: ignore[index]
        typer.echo(f"{lv}: vs random {m['random']}, latency {m['latency']}")
    report["speed"] = throughput(evaluate, middle)
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    if old_report is not None:
        report = _merge(old_report, report)
        chosen = list(report["levels"])
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    _print_table(report, chosen)
    typer.echo(f"wrote {out}")


def _merge(old: dict, new: dict) -> dict:
    """``new`` over ``old``, level by level (sets, matches, levels); speed and timing from ``new``."""
    merged = dict(old)
    merged["levels"] = {**old.get("levels", {}), **new.get("levels", {})}
    matches = {lv: dict(row) for lv, row in old.get("matches", {}).items()}
    for lv, row in new.get("matches", {}).items():
        matches.setdefault(lv, {}).update(row)
    merged["matches"] = matches
    sets = {name: dict(row) for name, row in old.get("sets", {}).items()}
    for name, row in new.get("sets", {}).items():
        sets.setdefault(name, {}).update(row)
    merged["sets"] = sets
    merged["speed"] = new.get("speed", old.get("speed"))
    merged["elapsed_s"] = round(old.get("elapsed_s", 0) + new.get("elapsed_s", 0), 1)
    merged["weights"] = new["weights"]
    merged["device"] = new.get("device", old.get("device"))
    merged["positions"] = {**old.get("positions", {}), **new.get("positions", {})}
    return merged


def _cap(n: int, cap: int | None) -> int:
    return n if cap is None else min(n, cap)


def _cell_rate(row: dict, lv: str) -> str:
    r = row.get(lv)
    return f"{r['preserve']:.3f} ({r['preserve_won_or_drawn']:.3f})" if r else "-"


def _cell_match(report: dict, lv: str, opp: str) -> str:
    r = report["matches"].get(lv, {}).get(opp)
    if not r:
        return "-"
    if opp == "latency":
        return f"{r['p50_ms']:.0f}/{r['p99_ms']:.0f}"
    return f"{r['wins']}/{r['draws']}/{r['losses']}"


def _print_table(report: dict, levels: list[str]) -> None:
    """Print the outcome-preserving rates and the match/latency/speed tables (rich)."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title="Connect Four agent: outcome-preserving move rate (won/drawn only in brackets)")
    t.add_column("set")
    for lv in levels:
        t.add_column(lv, justify="right")
    for name, row in report["sets"].items():
        t.add_row(name, *[_cell_rate(row, lv) for lv in levels])
    m = Table(title="Matches (W/D/L for our agent), latency p50/p99 ms")
    m.add_column("opponent")
    for lv in levels:
        m.add_column(lv, justify="right")
    opponents = list(dict.fromkeys(k for lv in levels for k in report["matches"].get(lv, {})))
    for opp in opponents:
        m.add_row(opp, *[_cell_match(report, lv, opp) for lv in levels])
    console = Console()
    console.print(t)
    console.print(m)
    s = report["speed"]
    console.print(
        f"positions/s (100 sims): 1 game {s['one_game']:.0f}, 32 batched {s['32_batched']:.0f}, "
        f"32 sequential {s['32_sequential']:.0f}"
    )
