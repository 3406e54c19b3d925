"""Test positions in Pascal Pons' format, and the outcome-preserving move check.

Text format (http://blog.gamesolver.org/solving-connect-four/02-test-protocol/): one position per line,
``<moves> <score>``: ``moves`` the 1-indexed columns played from the empty board, ``score`` the solver's value
for the side to move (> 0 win, 0 draw, < 0 loss; larger magnitude = sooner). The JSON variant is an array of
``{"sequence": str, "score": int, "analysis": [7 ints or null]}`` where ``analysis`` scores each column.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from skills.game.rules import Board, IllegalMove

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestPosition:
    """One solved position. ``move_scores`` (7 entries, ``None`` for full columns) when known."""

    __test__ = False  # not a pytest class

    moves: str
    score: int
    move_scores: tuple[int | None, ...] | None = None

    @property
    def board(self) -> Board:
        return Board.from_moves(self.moves)


def load_positions(path: str | Path) -> list[TestPosition]:
    """Read a Pons text file or its JSON variant. Bad lines are logged and skipped.

    Raises ``FileNotFoundError`` for a missing file.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    out: list[TestPosition] = []
    if text.lstrip().startswith("["):
        for i, item in enumerate(json.loads(text)):
            try:
                analysis = item.get("analysis")
                pos = TestPosition(
                    str(item["sequence"]),
                    int(item["score"]),
                    tuple(None if a is None else int(a) for a in analysis) if analysis else None,
                )
                Board.from_moves(pos.moves)
                out.append(pos)
            except (KeyError, TypeError, ValueError, IllegalMove) as exc:
                log.warning("%s: entry %d skipped: %s", path, i, exc)
        return out
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            if len(parts) != 2:
                raise ValueError(f"expected '<moves> <score>', got {line!r}")
            pos = TestPosition(parts[0], int(parts[1]))
            Board.from_moves(pos.moves)
            out.append(pos)
        except (ValueError, IllegalMove) as exc:
            log.warning("%s:%d skipped: %s", path, n, exc)
    return out


def sign(x: int) -> int:
    return (x > 0) - (x < 0)


def preserves_outcome(position: TestPosition, column: int, move_score: int | None = None) -> bool:
    """True when playing 0-indexed ``column`` keeps the game-theoretic result for the side to move.

    ``move_score`` is the solver's score of that move (from ``position.move_scores`` when not given). A lost
    position is preserved by any legal move. Raises ``ValueError`` when no move score is available.
    """
    if move_score is None:
        if position.move_scores is None:
            raise ValueError(
                f"no per-move scores for {position.moves!r}: give move_score (e.g. from bitbully)"
            )
        move_score = position.move_scores[column]
    if move_score is None:
        return False  # full column: illegal
    return sign(move_score) >= sign(position.score)
