"""Connect Four rules on a bitboard (standard 7 columns x 6 rows), parsing and rendering.

Representation (Pascal Pons, "Solving Connect 4", http://blog.gamesolver.org/solving-connect-four/06-bitboard/):
column-major bit layout, 7 bits per column (6 cells + 1 sentinel bit), bit ``col * 7 + row`` with row 0 at the
bottom. A position is ``(current, mask)``: ``current`` holds the stones of the player to move, ``mask`` every
stone. Playing a move flips the roles (``current ^= mask``) so the next mover's stones are always ``current``.

Conventions: actions are 0-indexed columns (0..6, as in PettingZoo's ``connect_four_v3``); move strings in
Pons' test format and chat use 1-indexed columns (``"4453"``). The first player is ``X`` (PettingZoo
``player_0``), the second ``O``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

WIDTH = 7
HEIGHT = 6
H1 = HEIGHT + 1
CELLS = WIDTH * HEIGHT
BOTTOM_MASK = sum(1 << (col * H1) for col in range(WIDTH))
BOARD_MASK = BOTTOM_MASK * ((1 << HEIGHT) - 1)
_TOP_MASKS = tuple(1 << (HEIGHT - 1 + col * H1) for col in range(WIDTH))
_BOTTOM_MASKS = tuple(1 << (col * H1) for col in range(WIDTH))
_COLUMN_MASKS = tuple(((1 << HEIGHT) - 1) << (col * H1) for col in range(WIDTH))
_ORDER = (3, 2, 4, 1, 5, 0, 6)  # centre-first column order


class IllegalMove(ValueError):
    """A move that cannot be played: column out of range, column full, or the game is already over."""


def has_alignment(bits: int) -> bool:
    """True when ``bits`` (one player's stones) contains four in a row in any direction.

    Directions by bit shift: 1 vertical, 7 horizontal, 6 diagonal "\\", 8 diagonal "/" (Pons, part 6).
    """
    for shift in (1, H1, HEIGHT, H1 + 1):
        m = bits & (bits >> shift)
        if m & (m >> (2 * shift)):
            return True
    return False


def winning_cells(bits: int, mask: int) -> int:
    """Empty cells (bitboard) that would complete four in a row for the owner of ``bits``.

    Port of ``Position::compute_winning_position`` (Pons, part 10 "anticipate losing moves").
    Python ints do not overflow, so left shifts past the board are cut off by the final mask.
    """
    p_ = bits
    r = (p_ << 1) & (p_ << 2) & (p_ << 3)
    for s in (H1, HEIGHT, H1 + 1):
        p = (p_ << s) & (p_ << (2 * s))
        r |= p & (p_ << (3 * s))
        r |= p & (p_ >> s)
        p = (p_ >> s) & (p_ >> (2 * s))
        r |= p & (p_ << s)
        r |= p & (p_ >> (3 * s))
    return r & (BOARD_MASK ^ mask)


class Board:
    """An immutable Connect Four position. ``play`` returns a new board.

    Attributes: ``current`` (stones of the player to move), ``mask`` (all stones), ``moves`` (number of
    stones played), ``winner`` (``None``, 0 = first player, 1 = second player) and ``history`` (0-indexed
    columns played, in order).
    """

    __slots__ = ("current", "mask", "moves", "winner", "history")

    def __init__(
        self,
        current: int = 0,
        mask: int = 0,
        moves: int = 0,
        winner: int | None = None,
        history: tuple[int, ...] = (),
    ) -> None:
        self.current = current
        self.mask = mask
        self.moves = moves
        self.winner = winner
        self.history = history

    # --- construction -------------------------------------------------------------------------------
    @classmethod
    def from_moves(cls, moves: str | Iterable[int]) -> Board:
        """Board after a Pons move string (``"4453"``, 1-indexed columns) or an iterable of 0-indexed columns.

        Raises ``IllegalMove`` naming the offending move (bad character, full column, game already over).
        """
        board = cls()
        if isinstance(moves, str):
            text = moves.strip()
            for i, ch in enumerate(text):
                if ch not in "1234567":
                    raise IllegalMove(f"move {i + 1} of {text!r}: {ch!r} is not a column 1-7")
                board = board.play(int(ch) - 1)
            return board
        for col in moves:
            board = board.play(int(col))
        return board

    # --- state --------------------------------------------------------------------------------------
    @property
    def to_move(self) -> int:
        """0 when the first player (X) is to move, 1 for the second (O)."""
        return self.moves & 1

    @property
    def is_full(self) -> bool:
        return self.moves >= CELLS

    @property
    def is_over(self) -> bool:
        return self.winner is not None or self.moves >= CELLS

    @property
    def is_draw(self) -> bool:
        return self.winner is None and self.moves >= CELLS

    def can_play(self, col: int) -> bool:
        """True when ``col`` (0-indexed) is on the board, not full, and the game is not over."""
        return 0 <= col < WIDTH and not (self.mask & _TOP_MASKS[col]) and not self.is_over

    def legal_moves(self) -> list[int]:
        """Playable 0-indexed columns, left to right (empty when the game is over)."""
        if self.is_over:
            return []
        return [c for c in range(WIDTH) if not (self.mask & _TOP_MASKS[c])]

    def legal_mask(self) -> np.ndarray:
        """``(7,)`` bool array of playable columns."""
        out = np.zeros(WIDTH, dtype=bool)
        out[self.legal_moves()] = True
        return out

    def is_winning_move(self, col: int) -> bool:
        """True when the player to move wins at once by playing ``col`` (assumed playable)."""
        cell = (self.mask + _BOTTOM_MASKS[col]) & _COLUMN_MASKS[col]
        return has_alignment(self.current | cell)

    def play(self, col: int) -> Board:
        """Drop a stone of the player to move in 0-indexed column ``col``; returns the new board.

        Raises ``IllegalMove`` for a column outside 0..6, a full column, or when the game is over.
        """
        if not isinstance(col, (int, np.integer)) or not 0 <= col < WIDTH:
            raise IllegalMove(f"column {col!r} is not on the board (0-6, or 1-7 in chat)")
        if self.is_over:
            raise IllegalMove("the game is already over")
        col = int(col)
        if self.mask & _TOP_MASKS[col]:
            raise IllegalMove(f"column {col + 1} is full")
        mover = self.current
        new_mask = self.mask | (self.mask + _BOTTOM_MASKS[col])
        placed = mover | (new_mask ^ self.mask)
        winner = self.to_move if has_alignment(placed) else None
        return Board(placed ^ new_mask, new_mask, self.moves + 1, winner, self.history + (col,))

    # --- tactics (rules only, no search) ------------------------------------------------------------
    def possible(self) -> int:
        """Bitboard of the cells where a stone can be dropped next."""
        return (self.mask + BOTTOM_MASK) & BOARD_MASK

    def winning_moves(self) -> list[int]:
        """Columns where the player to move wins at once."""
        if self.is_over:
            return []
        wins = winning_cells(self.current, self.mask) & self.possible()
        return [c for c in range(WIDTH) if wins & _COLUMN_MASKS[c]]

    def non_losing_moves(self) -> list[int]:
        """Legal columns that do not hand the opponent an immediate win (Pons part 10).

        If the opponent threatens to win somewhere, only a block is kept; with two threats (or when every
        move plays under an opponent threat) the list is empty: the player to move loses against best play
        within two plies. Call ``winning_moves`` first: a win now beats any block.
        """
        if self.is_over:
            return []
        possible = self.possible()
        opp_win = winning_cells(self.current ^ self.mask, self.mask)
        forced = possible & opp_win
        if forced:
            if forced & (forced - 1):
                return []
            possible = forced
        possible &= ~(opp_win >> 1)
        return [c for c in range(WIDTH) if possible & _COLUMN_MASKS[c]]

    # --- arrays -------------------------------------------------------------------------------------
    def cells(self) -> np.ndarray:
        """``(6, 7)`` int8 grid, row 0 at the bottom: 0 empty, 1 first player (X), 2 second player (O)."""
        grid = np.zeros((HEIGHT, WIDTH), dtype=np.int8)
        mover_bits = self.current
        mover_val = 1 + self.to_move
        other_val = 3 - mover_val
        for col in range(WIDTH):
            for row in range(HEIGHT):
                bit = 1 << (col * H1 + row)
                if self.mask & bit:
                    grid[row, col] = mover_val if mover_bits & bit else other_val
        return grid

    def encode(self) -> np.ndarray:
        """Network input ``(3, 6, 7)`` float32, row 0 at the bottom.

        Plane 0: stones of the player to move; plane 1: the opponent's; plane 2: all ones when the player
        to move is the first player (parity matters in Connect Four's odd/even threat theory).
        """
        return encode_batch([self])[0]

    def move_string(self) -> str:
        """Pons move string of the game so far (1-indexed columns)."""
        return "".join(str(c + 1) for c in self.history)

    def key(self) -> int:
        """Unique integer key of the position (Pons: ``current + mask``)."""
        return self.current + self.mask

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Board) and self.current == other.current and self.mask == other.mask

    def __hash__(self) -> int:
        return hash((self.current, self.mask))

    def __repr__(self) -> str:
        return f"Board({self.move_string()!r})"


def _bits_to_grid(values: list[int]) -> np.ndarray:
    """``n`` bitboards -> ``(n, 6, 7)`` uint8 grids (row 0 at the bottom)."""
    raw = b"".join(v.to_bytes(7, "little") for v in values)
    bits = np.unpackbits(
        np.frombuffer(raw, dtype=np.uint8).reshape(len(values), 7), axis=1, bitorder="little"
    )
    return bits[:, : WIDTH * H1].reshape(len(values), WIDTH, H1)[:, :, :HEIGHT].transpose(0, 2, 1)


def encode_batch(boards: Iterable[Board]) -> np.ndarray:
    """``Board.encode`` of many boards at once: ``(n, 3, 6, 7)`` float32 (vectorised, ``np.unpackbits``)."""
    boards = list(boards)
    out = np.zeros((len(boards), 3, HEIGHT, WIDTH), dtype=np.float32)
    if not boards:
        return out
    out[:, 0] = _bits_to_grid([b.current for b in boards])
    out[:, 1] = _bits_to_grid([b.current ^ b.mask for b in boards])
    first = np.array([b.moves % 2 == 0 for b in boards])
    out[first, 2] = 1.0
    return out


# --- rendering ---------------------------------------------------------------------------------------
TEXT_PIECES = {0: ".", 1: "X", 2: "O"}
EMOJI_PIECES = {0: "\u26aa", 1: "\U0001f534", 2: "\U0001f7e1"}  # white, red, yellow circles


def render_board(board: Board, *, emoji: bool = False, last_move: bool = True) -> str:
    """Multi-line board, top row first, with a ``1..7`` header (Discord, console).

    Text form is 8 lines of at most 14 characters (~120 characters in all); emoji form ~330 characters.
    """
    pieces = EMOJI_PIECES if emoji else TEXT_PIECES
    grid = board.cells()
    sep = "" if emoji else " "
    header = (
        "1\ufe0f\u20e32\ufe0f\u20e33\ufe0f\u20e34\ufe0f\u20e35\ufe0f\u20e36\ufe0f\u20e37\ufe0f\u20e3"
        if emoji
        else " ".join("1234567")
    )
    lines = [header]
    for row in range(HEIGHT - 1, -1, -1):
        lines.append(sep.join(pieces[int(v)] for v in grid[row]))
    if last_move and board.history:
        lines.append(f"last: {board.history[-1] + 1}")
    return "\n".join(lines)


def render_compact(board: Board, *, recent: int = 6) -> str:
    """One-line rendering for Twitch chat (always <= 500 characters; ~90 in practice).

    Each column is written bottom-to-top as its stones (``X``/``O``) then ``.`` for its free cells, so the
    whole board fits: ``|XO....|X.....|...`` reads column 1, column 2, ... Then the last ``recent`` moves.
    Example: ``1:XO.... 2:...... 3:X..... 4:XOX... 5:...... 6:...... 7:...... | last 4 1 4 3 4``.
    """
    grid = board.cells()
    cols = []
    for col in range(WIDTH):
        cols.append(f"{col + 1}:" + "".join(TEXT_PIECES[int(grid[row, col])] for row in range(HEIGHT)))
    text = " ".join(cols)
    if board.history:
        text += " | last " + " ".join(str(c + 1) for c in board.history[-recent:])
    return text[:500]


def centre_order(moves: Iterable[int]) -> list[int]:
    """``moves`` sorted centre-first (3, 2, 4, 1, 5, 0, 6), the usual move ordering."""
    s = set(moves)
    return [c for c in _ORDER if c in s]
