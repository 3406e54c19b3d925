"""Answer cooldowns for FAQ auto-replies, on an injectable clock (seconds, monotonic floats).

Three rules, all must pass: an entry is answered at most once per ``entry_s`` per channel; one viewer gets
the same entry at most once per ``viewer_entry_s``; one viewer gets any FAQ answer at most once per
``viewer_s``. A denied message does not restart any timer (as Nightbot's cooldowns).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AnswerGate:
    """Cooldown state of one bot; keys are ``(platform, channel)`` and viewer ids."""

    entry_s: float = 60.0
    viewer_entry_s: float = 600.0
    viewer_s: float = 30.0
    max_keys: int = 50_000
    _entry: dict[tuple[str, str, str], float] = field(default_factory=dict)
    _viewer_entry: dict[tuple[str, str, str, str], float] = field(default_factory=dict)
    _viewer: dict[tuple[str, str, str], float] = field(default_factory=dict)

    def allowed(self, platform: str, channel: str, viewer: str, entry: str, now: float) -> str | None:
        """``None`` when an answer may be sent now, else which rule blocks it (``"entry"``, ...)."""
        if now < self._entry.get((platform, channel, entry), float("-inf")) + self.entry_s:
            return "entry"
        if (
            now
            < self._viewer_entry.get((platform, channel, viewer, entry), float("-inf")) + self.viewer_entry_s
        ):
            return "viewer_entry"
        if now < self._viewer.get((platform, channel, viewer), float("-inf")) + self.viewer_s:
            return "viewer"
        return None

    def record(self, platform: str, channel: str, viewer: str, entry: str, now: float) -> None:
        """Start the three timers for an answer sent at ``now``."""
        self._entry[(platform, channel, entry)] = now
        self._viewer_entry[(platform, channel, viewer, entry)] = now
        self._viewer[(platform, channel, viewer)] = now
        if len(self._viewer_entry) > self.max_keys:
            self.sweep(now)

    def sweep(self, now: float) -> None:
        """Forget expired timers (bounded memory on long streams)."""
        longest = max(self.entry_s, self.viewer_entry_s, self.viewer_s)
        for table in (self._entry, self._viewer_entry, self._viewer):
            for key in [k for k, t in table.items() if now - t >= longest]:
                del table[key]

    def forget_viewer(self, viewer: str) -> int:
        """Drop a viewer's timers (``!forgetme``); returns how many were removed."""
        removed = 0
        for table in (self._viewer_entry, self._viewer):
            for key in [k for k in table if viewer in k[2:3]]:
                del table[key]
                removed += 1
        return removed
