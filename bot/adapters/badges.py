"""Twitch chat badges -> permission levels, for the live adapter and for chat logs that list badges.

Twitch has hundreds of badges (``turbo``, ``bits``, event badges such as ``subtember-2024``); only a few
give a permission level (``BADGE_ROLES``). Every other badge is ignored, live and in a replayed log alike:
a log line whose ``roles`` held one event badge used to be dropped, with every message of that chatter.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from bot.events import Role

BADGE_ROLES: dict[str, Role] = {
    "broadcaster": Role.BROADCASTER,
    "lead_moderator": Role.MODERATOR,
    "moderator": Role.MODERATOR,
    "vip": Role.VIP,
    "subscriber": Role.SUBSCRIBER,
    "founder": Role.SUBSCRIBER,  # founders are (or were) among a channel's first subscribers
}
"""Twitch badge ``set_id`` -> role (https://dev.twitch.tv/docs/api/reference/#get-global-chat-badges)."""


def roles_from_badges(badge_set_ids: Iterable[str]) -> frozenset[Role]:
    """Roles for a chatter's badges (``set_id`` values); unknown badges are ignored. Always has EVERYONE."""
    roles = {Role.EVERYONE}
    for badge in badge_set_ids:
        role = BADGE_ROLES.get(badge)
        if role is not None:
            roles.add(role)
    return frozenset(roles)


def roles_from_names(names: Iterable[str]) -> frozenset[Role]:
    """Roles for the names a chat log lists: role names as ``Role.parse`` reads them (``mod``, ``sub``...)
    or Twitch badges, also in the IRC-tag form ``subscriber/12`` (the version after ``/`` is dropped).
    Other names (event badges, ``turbo``) are ignored, as live. EVERYONE only when named (the replay adds
    it to every viewer).

    Raises ``ValueError`` for a near miss of a level's name (``moderater``): a typo must not quietly make a
    moderator a viewer."""
    roles: set[Role] = set()
    for name in names:
        key = name.strip().lower().partition("/")[0]
        try:
            roles.add(Role.parse(key))
            continue
        except ValueError as exc:
            if key not in BADGE_ROLES and difflib.get_close_matches(key, _LEVEL_WORDS, n=1, cutoff=0.8):
                raise ValueError(f"{exc} (a typo? other badges are ignored)") from None
        role = BADGE_ROLES.get(key)
        if role is not None:
            roles.add(role)
    return frozenset(roles)


_LEVEL_WORDS = [*(r.name.lower() for r in Role), *BADGE_ROLES]
