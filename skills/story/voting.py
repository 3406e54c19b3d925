"""Chat votes between 2-3 proposed continuations: one vote per viewer, a fixed window, fair tie-break.

Chat types ``1``, ``2`` or ``3`` (fullwidth digits and a trailing ``!`` are fine). A viewer's first valid
vote counts and later ones are ignored (so spamming changes nothing). Ties, including "no votes at all",
are broken uniformly at random among the tied options with a seeded RNG, so every tied option has the same
chance and a replay gives the same result.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from bot.votes import parse_number_vote


@dataclass
class VoteTally:
    """An open vote among ``options`` (2 or 3) proposals that closes at ``closes_at`` (monotonic seconds).

    Raises ``ValueError`` for fewer than 2 or more than 9 options.
    """

    options: int
    closes_at: float
    seed: int = 0
    votes: dict[str, int] = field(default_factory=dict)  # voter key -> choice (1-based)

    def __post_init__(self) -> None:
        if not 2 <= self.options <= 9:
            raise ValueError(f"a vote needs 2-9 options, got {self.options}")

    def is_open(self, now: float) -> bool:
        return now < self.closes_at

    def cast(self, voter: str, text: str, now: float) -> bool:
        """Record ``voter``'s vote from a chat line; True when it counted (open, valid, first vote)."""
        if not self.is_open(now) or voter in self.votes:
            return False
        choice = parse_number_vote(text, self.options)
        if choice is None:
            return False
        self.votes[voter] = choice
        return True

    def counts(self) -> list[int]:
        """Votes per option, index 0 = option 1."""
        out = [0] * self.options
        for choice in self.votes.values():
            out[choice - 1] += 1
        return out

    def winner(self) -> tuple[int, bool]:
        """``(winning option, was_tie)``; a tie is decided uniformly at random (seeded) among the leaders."""
        counts = self.counts()
        best = max(counts)
        leaders = [i + 1 for i, c in enumerate(counts) if c == best]
        if len(leaders) == 1:
            return leaders[0], False
        return random.Random(self.seed).choice(leaders), True
