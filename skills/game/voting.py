"""Chat votes for the next column: one vote per viewer (the last one counts), majority, random tie-break.

Pure and clock-free: the caller passes times (seconds, monotonic). ``VoteWindow`` knows its deadline and
whether it was already extended; the skill decides what to post.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

_VOTE = re.compile(r"^\s*([1-7])\s*$")


def parse_vote(text: str) -> int | None:
    """A bare column ``"3"`` -> 0-indexed column 2; others (``"8"``, ``"3 4"``, ``"!c4 3"``) -> ``None``.

    ``!c4 3`` is the command (the router hands the skill its argument ``"3"``); a chat line that only looks
    like it, such as ``!c4 3`` in a channel whose prefix is ``?`` (moved off ``!`` because another bot
    answers there), is not a vote."""
    m = _VOTE.match(text)
    return int(m.group(1)) - 1 if m else None


@dataclass
class VoteWindow:
    """Votes for one chat move.

    ``opened_at``/``deadline`` are monotonic seconds; ``extended`` says the window was extended once already.
    ``votes`` maps a voter id to their latest 0-indexed column, in order of each voter's first vote.
    """

    opened_at: float
    deadline: float
    extended: bool = False
    votes: dict[str, int] = field(default_factory=dict)

    def cast(self, voter: str, column: int, now: float) -> bool:
        """Record ``voter``'s vote (replacing an earlier one). Returns False (ignored) after the deadline
        or for a column outside 0..6."""
        if now > self.deadline or not 0 <= column < 7:
            return False
        self.votes[voter] = column
        return True

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
