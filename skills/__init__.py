"""Skills: one package per skill. ``registry()`` maps a skill's config name to its class.

A skill is added by importing it here; the config validates ``[skills.<name>]`` and
``channels[i].skills.<name>`` against that class's ``Settings`` model.
"""

from __future__ import annotations

import importlib
import logging

from skills.base import Skill

log = logging.getLogger(__name__)

# config name -> "module:Class". Imported lazily so a broken optional skill cannot stop the bot.
SKILL_PATHS: dict[str, str] = {
    "mood": "skills.mood.skill:MoodSkill",
    "faq": "skills.faq.skill:FaqSkill",
    "story": "skills.story.skill:StorySkill",
    "recommend": "skills.recommend.skill:RecommendSkill",
    "game": "skills.game.skill:GameSkill",
    "commands": "skills.commands.skill:CommandsSkill",
}


def registry() -> dict[str, type[Skill]]:
    """Import every known skill class.

    A skill whose module is missing or fails to import is logged and left out.
    """
    found: dict[str, type[Skill]] = {}
    for name, path in SKILL_PATHS.items():
        module_name, _, cls_name = path.partition(":")
        try:
            found[name] = getattr(importlib.import_module(module_name), cls_name)
        except Exception as exc:  # noqa: BLE001 - one broken skill must not stop the others
            log.warning("skill %s unavailable: %s", name, exc)
    return found
