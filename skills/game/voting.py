"""Chat votes for the next column: one vote per viewer (the last one counts), majority, random tie-break.

Pure and clock-free: the caller passes times (seconds, monotonic). ``VoteWindow`` knows its deadline and
whether it was already extended; the skill decides what to post.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bot.votes import parse_number_vote

COLUMNS = 7


def parse_vote(text: str) -> int | None:
    """A bare column ``"3"`` -> 0-indexed column 2; others (``"8"``, ``"3 4"``, ``"!c4 3"``) -> ``None``.

    Read as every vote reads chat's numbers (``bot.votes.parse_number_vote``, one function for the story
    vote too): NFKC-normalised, so the fullwidth ``"\uff14"`` of Japanese IMEs is ``4``, with an optional
    ``#`` before and ``!``/``.`` after (``"#4"``, ``"4!"``, ``"4."``).

    ``!c4 3`` is the command (the router hands the skill its argument ``"3"``); a chat line that only looks
    like it, such as ``!c4 3`` in a channel whose prefix is ``?`` (moved off ``!`` because another bot
    answers there), is not a vote."""
    choice = parse_number_vote(text, COLUMNS)
    return choice - 1 if choice is not None else None


@dataclass
class VoteWindow:
    """Votes for one chat move.

    ``opened_at``/``deadline`` are monotonic seconds; ``extended`` says the window was extended once already.
    ``votes`` maps a voter id to their latest 0-indexed column, in order of each voter's first vote.
    ``full_votes`` counts the votes refused because their column was full (no voter is kept), and
    ``told_full`` says chat was told in this window (extension included) which columns are full.
    """

    opened_at: float
    deadline: float
    extended: bool = False
    votes: dict[str, int] = field(default_factory=dict)
    full_votes: int = 0
    told_full: bool = False

    def cast(self, voter: str, column: int, now: float) -> bool:
        """Record ``voter``'s vote (replacing an earlier one). Returns False (ignored) after the deadline
        or for a column outside 0..6."""
        if now > self.deadline or not 0 <= column < 7:
            return False
        self.votes[voter] = column
        return True

    def refuse_full(self, now: float) -> bool:
        """A vote for a full column: refused (the voter's earlier vote, if any, still counts) but noted, so
        that a window that ends with only such votes is "no valid votes", not "no votes". Returns True when
        chat should be told the column is full: the first such vote of the window (extension included);
        False after the deadline, and for the later ones (one notice per window, not one per viewer)."""
        if now > self.deadline:
            return False
        self.full_votes += 1
        first = not self.told_full
        self.told_full = True
        return first

    def tally(self, legal: Iterable[int]) -> Counter[int]:
        """Votes per legal column (votes for full columns are dropped)."""
        allowed = set(legal)
        return Counter(c for c in self.votes.values() if c in allowed)

    def winner(self, legal: Iterable[int], rng: np.random.Generator) -> int | None:
        """The legal column with the most votes, ties broken at random; ``None`` if no vote."""
        counts = self.tally(legal)
        if not counts:
            return None
        top = max(counts.values())
        tied = sorted(c for c, n in counts.items() if n == top)
        return int(tied[0] if len(tied) == 1 else rng.choice(tied))

    def expired(self, now: float) -> bool:
        return now >= self.deadline

    def extend(self, seconds: float) -> None:
        """Push the deadline back once (the no-vote rule); raises ``RuntimeError`` on a second extension."""
        if self.extended:
            raise RuntimeError("a vote window is extended at most once")
        self.extended = True
        self.deadline += seconds
