"""``chatcast doctor``: check credentials, scopes and connectivity for each configured platform.

Each check is one ``Check`` (name, ok, detail, fix). The checks talk to the platforms with plain aiohttp
(no bot is started, no token is refreshed or rotated) and never print a secret: details carry logins,
ids, scopes and HTTP statuses only. Base URLs are parameters so the tests run them against local fakes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.adapters.twitch_auth import BOT_SCOPES, EVENTSUB_WS, HELIX_BASE, ID_BASE

DISCORD_API = "https://discord.com/api/v10"
MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)  # GATEWAY_MESSAGE_CONTENT, _LIMITED (application flags)


@dataclass(frozen=True, slots=True)
class Check:
    """One doctor finding. ``fix`` says what to do when ``ok`` is False (empty when nothing to do)."""

    platform: str
    name: str
    ok: bool
    detail: str
    fix: str = ""


async def _json(resp: aiohttp.ClientResponse) -> Any:
    try:
        return await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}


async def check_twitch(
    client_id: str | None,
    client_secret: str | None,
    token: str | None,
    channels: list[str],
    *,
    id_base: str = ID_BASE,
    helix_base: str = HELIX_BASE,
    eventsub_ws: str = EVENTSUB_WS,
    timeout_s: float = 10.0,
) -> list[Check]:
    """Twitch: app credentials, bot token (validity, scopes, expiry), channels exist, EventSub reachable."""
    out: list[Check] = []
    add = out.append
    if not (client_id and client_secret):
        add(
            Check(
                "twitch",
                "application",
                False,
                "client id or secret not set",
                "register an application at dev.twitch.tv/console and set CHATCAST_TWITCH_CLIENT_ID and "
                "CHATCAST_TWITCH_CLIENT_SECRET (or twitch_client_id / twitch_client_secret in secrets.toml)",
            )
        )
        return out
    id_base, helix_base = id_base.rstrip("/"), helix_base.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            form = {
                "client_id": client_id,
                "client_secret": client_secret,
                "grant_type": "client_credentials",
            }
            async with session.post(f"{id_base}/oauth2/token", data=form) as resp:
                body = await _json(resp)
                if resp.status != 200:
                    add(
                        Check(
                            "twitch",
                            "application",
                            False,
                            f"Twitch refused the client credentials (HTTP {resp.status})",
                            "copy the client id and a new secret from the Twitch developer console",
                        )
                    )
                    return out
                app_token = body.get("access_token", "")
            add(Check("twitch", "application", True, "client id and secret accepted"))
            if not token:
                add(
                    Check(
                        "twitch",
                        "bot token",
                        False,
                        "no bot token",
                        "run `chatcast invite twitch --bot` logged in as the bot account",
                    )
                )
            else:
                async with session.get(
                    f"{id_base}/oauth2/validate", headers={"Authorization": f"OAuth {token}"}
                ) as resp:
                    info = await _json(resp)
                    status = resp.status
                if status != 200:
                    add(
                        Check(
                            "twitch",
                            "bot token",
                            False,
                            f"token rejected (HTTP {status}); the bot refreshes "
                            "it at start if the refresh token is still valid",
                            "if the bot still cannot log in, run `chatcast invite twitch --bot`",
                        )
                    )
                else:
                    missing = sorted(set(BOT_SCOPES) - set(info.get("scopes", [])))
                    hours = int(info.get("expires_in", 0)) / 3600
                    add(
                        Check(
                            "twitch",
                            "bot token",
                            not missing and bool(info.get("user_id")),
                            f"bot account {info.get('login')} (id {info.get('user_id')}), expires in "
                            f"{hours:.1f} h (refreshed automatically)"
                            + (f"; missing scopes: {', '.join(missing)}" if missing else ""),
                            "run `chatcast invite twitch --bot` to grant " + " ".join(BOT_SCOPES)
                            if missing
                            else "",
                        )
                    )
            if channels:
                headers = {"Authorization": f"Bearer {app_token}", "Client-Id": client_id}
                query = "&".join(f"login={c}" for c in channels)
                async with session.get(f"{helix_base}/users?{query}", headers=headers) as resp:
                    found = {u.get("login", "").lower() for u in (await _json(resp)).get("data", [])}
                for channel in channels:
                    ok = channel.lower() in found
                    add(
                        Check(
                            "twitch",
                            f"channel #{channel}",
                            ok,
                            "exists" if ok else "no such Twitch channel",
                            "" if ok else 'fix the name in config.toml ([[channels]] platform = "twitch")',
                        )
                    )
            try:
                async with session.ws_connect(eventsub_ws) as ws:
                    msg = await ws.receive(timeout=timeout_s)
                    welcome = msg.type == aiohttp.WSMsgType.TEXT and "session_welcome" in msg.data
                add(
                    Check(
                        "twitch",
                        "EventSub",
                        welcome,
                        "WebSocket welcome received" if welcome else "connected but no welcome",
                        "" if welcome else "retry later: Twitch outage?",
                    )
                )
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                add(
                    Check(
                        "twitch",
                        "EventSub",
                        False,
                        f"cannot open the WebSocket ({type(exc).__name__})",
                        "check the network / firewall (wss://eventsub.wss.twitch.tv)",
                    )
                )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        add(
            Check(
                "twitch",
                "connectivity",
                False,
                f"cannot reach Twitch ({type(exc).__name__})",
                "check the network connection",
            )
        )
    return out


async def check_discord(
    token: str | None,
    client_id: str | None,
    *,
    api_base: str = DISCORD_API,
    timeout_s: float = 10.0,
) -> list[Check]:
    """Discord: token valid, Message Content intent enabled, servers joined, gateway reachable."""
    from bot.adapters.discord_adapter import invite_url

    out: list[Check] = []
    add = out.append
    if not token:
        add(
            Check(
                "discord",
                "bot token",
                False,
                "CHATCAST_DISCORD_TOKEN not set",
                "developer portal -> your application -> Bot -> Reset Token, then set CHATCAST_DISCORD_TOKEN",
            )
        )
        return out
    api = api_base.rstrip("/")
    headers = {"Authorization": f"Bot {token}"}
    try:
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout_s), headers=headers
        ) as s:
            async with s.get(f"{api}/users/@me") as resp:
                me = await _json(resp)
                if resp.status != 200:
                    add(
                        Check(
                            "discord",
                            "bot token",
                            False,
                            f"token rejected (HTTP {resp.status})",
                            "reset the token in the developer portal (Bot -> Reset Token) and update it",
                        )
                    )
                    return out
            add(Check("discord", "bot token", True, f"bot user {me.get('username')} (id {me.get('id')})"))
            async with s.get(f"{api}/oauth2/applications/@me") as resp:
                app = await _json(resp)
            intent = bool(int(app.get("flags", 0)) & MESSAGE_CONTENT_FLAGS)
            add(
                Check(
                    "discord",
                    "message content intent",
                    intent,
                    "enabled" if intent else "disabled: prefix commands (!help) will not be seen",
                    ""
                    if intent
                    else "developer portal -> Bot -> Privileged Gateway Intents -> Message Content",
                )
            )
            async with s.get(f"{api}/users/@me/guilds") as resp:
                guilds = await _json(resp) if resp.status == 200 else []
            app_id = client_id or str(app.get("id") or me.get("id") or "")
            add(
                Check(
                    "discord",
                    "servers",
                    bool(guilds),
                    f"in {len(guilds)} server(s)",
                    "" if guilds else f"invite the bot: {invite_url(app_id)}",
                )
            )
            async with s.get(f"{api}/gateway/bot") as resp:
                gateway = await _json(resp)
                ok = resp.status == 200 and bool(gateway.get("url"))
            add(
                Check(
                    "discord",
                    "gateway",
                    ok,
                    "reachable" if ok else f"HTTP {resp.status}",
                    "" if ok else "retry later: Discord outage?",
                )
            )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        add(
            Check(
                "discord",
                "connectivity",
                False,
                f"cannot reach Discord ({type(exc).__name__})",
                "check the network connection",
            )
        )
    return out


def run_checks(coros: list[Any]) -> list[Check]:
    """Run check coroutines concurrently (one platform's failure never hides another's findings)."""

    async def gather() -> list[Check]:
        results = await asyncio.gather(*coros, return_exceptions=True)
        found: list[Check] = []
        for result in results:
            if isinstance(result, BaseException):
                found.append(Check("?", "doctor", False, f"check crashed: {type(result).__name__}", ""))
            else:
                found.extend(result)
        return found

    return asyncio.run(gather())
