"""Privacy commands, a small core skill: ``!forgetme`` and ``!mydata``.

- ``!forgetme`` deletes everything Chatcast stores about the caller: every skill's
  ``delete_user_data(viewer)`` first (they may need the viewer's row id to find their rows), then the core
  rows (presence sessions and the viewer row, ``storage.viewers.delete_viewer_data``). Buffered presence
  sightings are dropped first. The reply says how many items were removed and names any skill that
  failed (the others still ran).
- ``!mydata`` summarises what is stored: the core's presence summary and each skill's
  ``user_data_summary``.

A handler still running for an earlier message of the same viewer may write after the deletion; a second
``!forgetme`` removes that too (documented in ``docs/core.md``).

``!forgetme`` is exempt from the per-viewer command budget (``bot.flood``): a deletion request must never be
dropped silently because the viewer used a few commands before. So that it cannot be used to make the bot
talk without limit, a repeat within ``REPEAT_QUIET_S`` seconds that deleted nothing more still runs but is
not answered again (the viewer already has the confirmation). ``!mydata`` stays budgeted: alternating it
with other commands was how one viewer took over the bot's replies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from bot.commands import CommandContext, command
from bot.events import Viewer
from skills.base import Skill, SkillContext
from storage.viewers import delete_viewer_data, viewer_summary
from storage.watch import PresenceRecorder

REPEAT_QUIET_S = 30.0
"""Seconds (message time) after an answered ``!forgetme`` during which a repeat that deleted nothing is
not answered."""


class PrivacySkill(Skill):
    """``!forgetme`` / ``!mydata`` over the core tables and every other running skill.

    ``skills()`` returns the skills to ask (called per command, so skills disabled later are skipped);
    ``recorder`` is the runtime's presence buffer (may be ``None`` in tests).
    """

    name: ClassVar[str] = "privacy"
    stores: ClassVar[str] = (
        "per channel and stream: your user id, display name, when you were first and last seen, and how many "
        "messages you sent"
    )

    def __init__(
        self,
        ctx: SkillContext,
        *,
        skills: Callable[[], Sequence[Skill]],
        recorder: PresenceRecorder | None = None,
    ) -> None:
        super().__init__(ctx)
        self._skills = skills
        self._recorder = recorder
        # (platform, channel, user id) -> message time (epoch s) of an answered !forgetme, last 30 s only
        self._answered: dict[tuple[str, str, str], float] = {}

    async def forget(self, viewer: Viewer) -> tuple[int, list[str]]:
        """Delete every stored item about ``viewer``; returns ``(items removed, failed skill names)``."""
        if self._recorder is not None:
            self._recorder.forget(viewer)
        removed, failed = 0, []
        for skill in self._skills():
            if skill is self:
                continue
            try:
                removed += int(await skill.delete_user_data(viewer) or 0)
            except Exception:  # noqa: BLE001 - one failing skill must not keep the others' data
                self.ctx.log.exception("skill %s: delete_user_data failed", skill.name)
                failed.append(skill.name)
        removed += delete_viewer_data(self.ctx.storage, viewer)
        return removed, failed

    async def summary(self, viewer: Viewer) -> list[str]:
        """Lines describing what is stored about ``viewer`` (empty when nothing)."""
        lines = []
        if self._recorder is not None:
            self._recorder.flush()  # count sightings still buffered
        core = viewer_summary(self.ctx.storage, viewer)
        if core is not None and core["sessions"]:
            since = (core["first_seen"] or "")[:10]
            lines.append(
                f"seen in {core['channels']} channel(s), {core['sessions']} stream session(s), "
                f"{core['messages']} message(s) since {since}"
            )
        for skill in self._skills():
            if skill is self:
                continue
            try:
                line = await skill.user_data_summary(viewer)
            except Exception:  # noqa: BLE001
                self.ctx.log.exception("skill %s: user_data_summary failed", skill.name)
                continue
            if line:
                named = line.lower().startswith(f"{skill.name}:")  # some skills name themselves already
                lines.append(line if named else f"{skill.name}: {line}")
        return lines

    @command("forgetme", help="Delete everything the bot stores about you.", budget=False)
    async def forgetme(self, ctx: CommandContext) -> None:
        removed, failed = await self.forget(ctx.author)
        msg = ctx.message
        key, now = (msg.platform, msg.channel, ctx.author.user_id), msg.timestamp.timestamp()
        # only the last 30 s are kept: no id of a viewer who asked to be forgotten lingers in memory
        self._answered = {k: t for k, t in self._answered.items() if 0 <= now - t < REPEAT_QUIET_S}
        if not removed and not failed and key in self._answered:
            return  # already confirmed; unbudgeted, so a spammed !forgetme must not make the bot talk
        self._answered[key] = now
        text = f"@{ctx.author.display_name} done: deleted {removed} stored item(s) about you."
        if failed:
            text += f" Could not clean: {', '.join(failed)} (the streamer's log has details)."
        await ctx.reply(text)

    @command("mydata", help="Show what the bot stores about you.")
    async def mydata(self, ctx: CommandContext) -> None:
        lines = await self.summary(ctx.author)
        if not lines:
            await ctx.reply(f"@{ctx.author.display_name} nothing is stored about you.")
            return
        await ctx.reply(
            f"@{ctx.author.display_name} stored about you: "
            + "; ".join(lines)
            + ". Type !forgetme to delete it."
        )
