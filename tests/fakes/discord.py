"""A small fake of Discord (REST API v10 + gateway) on 127.0.0.1, for end-to-end tests with discord.py 2.

REST: ``GET /users/@me``, ``POST /channels/{id}/messages``, ``PUT /applications/{id}/commands``, interaction
callbacks and webhook edits/follow-ups. Gateway: HELLO, heartbeat ACK, IDENTIFY -> READY + GUILD_CREATE,
RESUME (replays events after the client's sequence, then RESUMED), dispatch of test events. Shapes follow
https://discord.com/developers/docs/topics/gateway-events and .../resources/message.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_ID = "900"
APP_ID = "901"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response with Discord's exact ``Content-Type`` (discord.py compares it verbatim)."""
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def user(uid: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": uid,
        "username": name,
        "discriminator": "0",
        "global_name": name.capitalize(),
        "avatar": None,
        "bot": bot,
    }


def member(uid: str, name: str, roles: list[str] = ()) -> dict[str, Any]:
    return {
        "user": user(uid, name),
        "roles": list(roles),
        "joined_at": "2024-01-01T00:00:00+00:00",
        "nick": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
    }


@dataclass
class FakeDiscord:
    token: str = "discord-bot-token"
    app_flags: int = 1 << 19  # GATEWAY_MESSAGE_CONTENT_LIMITED: the intent is enabled
    guild: dict[str, Any] = field(default_factory=dict)
    forced: dict[str, deque[tuple[int, dict[str, str], dict[str, Any]]]] = field(default_factory=dict)
    posted: list[dict[str, Any]] = field(
        default_factory=list
    )  # bodies of channel messages, with "channel_id"
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    webhook_edits: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    identifies: int = 0
    resumes: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # every dispatch sent, by sequence
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    base: str = ""
    _ids: itertools.count = field(default_factory=lambda: itertools.count(10_000))
    _runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        self.guild = {
            "id": "1",
            "name": "Stream Server",
            "owner_id": "10",
            "unavailable": False,
            "member_count": 3,
            "large": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "presences": [],
            "voice_states": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_flags": 0,
            "afk_timeout": 300,
            "roles": [
                {
                    "id": "1",
                    "name": "@everyone",
                    "permissions": str(1 << 10 | 1 << 11),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                },
                {
                    "id": "50",
                    "name": "Mods",
                    "permissions": str(1 << 13),
                    "position": 3,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                },
                {
                    "id": "51",
                    "name": "Twitch Subscriber",
                    "permissions": "0",
                    "position": 2,
                    "color": 0,
                    "hoist": False,
                    "managed": True,
                    "mentionable": False,
                    "flags": 0,
                },
                {
                    "id": "52",
                    "name": "Helpers",
                    "permissions": "0",
                    "position": 1,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                },
            ],
            "channels": [
                {
                    "id": "100",
                    "type": 0,
                    "name": "chat",
                    "position": 0,
                    "permission_overwrites": [],
                    "guild_id": "1",
                    "nsfw": False,
                    "parent_id": None,
                },
                {
                    "id": "200",
                    "type": 2,
                    "name": "Stream",
                    "position": 1,
                    "permission_overwrites": [],
                    "guild_id": "1",
                    "bitrate": 64000,
                    "user_limit": 0,
                    "parent_id": None,
                },
            ],
            "members": [member(BOT_ID, "chatcast")],
        }

    # -- controls ----------------------------------------------------------------------------------

    def force(
        self,
        route: str,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve ``status`` once for ``route`` (``"POST /api/v10/channels/100/messages"``)."""
        self.forced.setdefault(route, deque()).append((status, headers or {}, body or {"message": "forced"}))

    async def start(self) -> str:
        app = web.Application()
        api = "/api/v10"
        app.router.add_get(f"{api}/users/@me", self._me)
        app.router.add_get(f"{api}/oauth2/applications/@me", self._app)
        app.router.add_get(f"{api}/users/@me/guilds", self._guilds)
        app.router.add_get(f"{api}/gateway/bot", self._gateway_bot)
        app.router.add_post(api + "/channels/{channel}/messages", self._post_message)
        app.router.add_put(api + "/applications/{app}/commands", self._put_commands)
        app.router.add_post(api + "/interactions/{iid}/{itoken}/callback", self._callback)
        app.router.add_patch(api + "/webhooks/{app}/{itoken}/messages/@original", self._edit_original)
        app.router.add_delete(api + "/webhooks/{app}/{itoken}/messages/@original", self._delete_original)
        app.router.add_post(api + "/webhooks/{app}/{itoken}", self._followup)
        app.router.add_get("/gateway", self._gateway)
        app.middlewares.append(self._forced_mw)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    # -- REST --------------------------------------------------------------------------------------

    @web.middleware
    async def _forced_mw(self, request: web.Request, handler: Any) -> web.StreamResponse:
        key = f"{request.method} {request.path}"
        self.requests.append(key)
        queue = self.forced.get(key)
        if queue:
            status, headers, body = queue.popleft()
            return _json(body, status=status, headers={"Via": "1.1 google", **headers})
        if (
            not request.path.startswith("/api/v10/webhooks")
            and request.path.startswith("/api/v10/")
            and "/interactions/" not in request.path
        ):
            if request.headers.get("Authorization") != f"Bot {self.token}":
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return await handler(request)

    async def _me(self, request: web.Request) -> web.Response:
        return _json(
            {**user(BOT_ID, "chatcast", bot=True), "flags": 0, "verified": True, "mfa_enabled": False}
        )

    async def _app(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": APP_ID,
                "name": "Chatcast",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": user("10", "owner"),
                "verify_key": "k",
                "flags": self.app_flags,
            }
        )

    async def _guilds(self, request: web.Request) -> web.Response:
        return _json(
            [{"id": self.guild["id"], "name": self.guild["name"], "owner": False, "permissions": "0"}]
        )

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        return _json(
            {
                "url": f"{self.base.replace('http', 'ws')}/gateway",
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    def _message(self, channel_id: str, body: dict[str, Any], author: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(next(self._ids)),
            "channel_id": channel_id,
            "author": author,
            "content": body.get("content") or "",
            "timestamp": "2024-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": 0,
        }

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        reader = await request.multipart()  # files: payload_json + files[n]
        body: dict[str, Any] = {"files": []}
        async for part in reader:
            if part.name == "payload_json":
                body.update(json.loads(await part.text()))
            else:
                body["files"].append((part.filename, await part.read()))
        return body

    async def _post_message(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        body["channel_id"] = request.match_info["channel"]
        self.posted.append(body)
        return _json(self._message(body["channel_id"], body, user(BOT_ID, "chatcast", bot=True)))

    async def _put_commands(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.commands = [
            {
                **c,
                "id": str(next(self._ids)),
                "application_id": APP_ID,
                "version": "1",
                "default_member_permissions": None,
                "type": c.get("type", 1),
            }
            for c in body
        ]
        return _json(self.commands)

    async def _callback(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.callbacks.append({"id": request.match_info["iid"], **body})
        return _json(
            {
                "interaction": {
                    "id": request.match_info["iid"],
                    "type": 2,
                    "response_message_loading": body["type"] == 5,
                    "response_message_ephemeral": False,
                },
                "resource": {"type": body["type"]},
            }
        )

    async def _edit_original(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        self.webhook_edits.append(body)
        return _json(self._message("100", body, user(APP_ID, "chatcast", bot=True)))

    async def _delete_original(self, request: web.Request) -> web.Response:
        self.webhook_edits.append({"deleted": True})
        return web.Response(status=204)

    async def _followup(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        self.followups.append(body)
        return _json(self._message("100", body, user(APP_ID, "chatcast", bot=True)))

    # -- gateway -----------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}, "s": None, "t": None}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            op = data.get("op")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif op == 2:
                self.identifies += 1
                if data["d"].get("token") != self.token:
                    await ws.close(code=4004)
                    break
                self.events.clear()
                await self._dispatch(
                    ws,
                    "READY",
                    {
                        "v": 10,
                        "user": user(BOT_ID, "chatcast", bot=True),
                        "guilds": [{"id": "1", "unavailable": True}],
                        "session_id": "sess1",
                        "resume_gateway_url": f"{self.base.replace('http', 'ws')}/gateway",
                        "application": {"id": APP_ID, "flags": 0},
                        "private_channels": [],
                        "relationships": [],
                    },
                )
                await self._dispatch(ws, "GUILD_CREATE", self.guild)
                self.ready.set()
            elif op == 6:
                self.resumes.append(data["d"])
                for event in self.events:
                    if event["s"] > (data["d"].get("seq") or 0):
                        await ws.send_str(json.dumps(event))
                await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": len(self.events), "d": {}}))
                self.resumed.set()
        if ws in self.sockets:
            self.sockets.remove(ws)
        return ws

    async def _dispatch(self, ws: web.WebSocketResponse | None, name: str, data: dict[str, Any]) -> None:
        event = {"op": 0, "t": name, "s": len(self.events) + 1, "d": data}
        self.events.append(event)
        if ws is not None:
            await ws.send_str(json.dumps(event))

    async def dispatch(self, name: str, data: dict[str, Any], *, deliver: bool = True) -> None:
        """Send a gateway event (``deliver=False``: only record it, as if lost in a disconnect)."""
        await self._dispatch(self.sockets[-1] if deliver and self.sockets else None, name, data)

    async def message(
        self, author: dict[str, Any], content: str, *, channel_id: str = "100", deliver: bool = True
    ) -> str:
        """A MESSAGE_CREATE from ``author`` (a ``member(...)`` dict); returns the message id."""
        mid = str(next(self._ids))
        data = {
            "id": mid,
            "channel_id": channel_id,
            "guild_id": "1",
            "author": author["user"],
            "member": {k: v for k, v in author.items() if k != "user"},
            "content": content,
            "timestamp": "2024-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
        }
        await self.dispatch("MESSAGE_CREATE", data, deliver=deliver)
        return mid

    async def slash(self, author: dict[str, Any], name: str, text: str | None = None) -> str:
        """An INTERACTION_CREATE for ``/name text:...``; returns the interaction id."""
        iid = str(next(self._ids))
        options = [{"name": "text", "type": 3, "value": text}] if text is not None else []
        cmd = next(c for c in self.commands if c["name"] == name)
        data = {
            "id": iid,
            "application_id": APP_ID,
            "type": 2,
            "token": f"itoken{iid}",
            "version": 1,
            "guild_id": "1",
            "channel_id": "100",
            "locale": "en-US",
            "channel": {
                "id": "100",
                "type": 0,
                "name": "chat",
                "guild_id": "1",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            },
            "guild_locale": "en-US",
            "app_permissions": "117760",
            "entitlements": [],
            "attachment_size_limit": 10485760,
            "authorizing_integration_owners": {},
            "context": 0,
            "member": {**author, "permissions": "0"},
            "data": {"id": cmd["id"], "name": name, "type": 1, "options": options},
        }
        await self.dispatch("INTERACTION_CREATE", data)
        return iid

    async def drop_socket(self) -> None:
        """Server-side disconnect (close code 4000, "unknown error": clients should RESUME)."""
        ws = self.sockets.pop()
        await ws.close(code=4000)
