"""A small fake of Twitch (id service, Helix, EventSub WebSocket) on 127.0.0.1, for end-to-end tests.

It speaks just enough of the real protocol for twitchio 3: client-credentials / refresh / authorization-code
tokens and validation (id.twitch.tv), ``users``, ``streams``, ``eventsub/subscriptions`` and
``chat/messages`` (Helix), and the EventSub WebSocket (``session_welcome``, ``notification``,
``session_reconnect``). Shapes follow https://dev.twitch.tv/docs/eventsub/websocket-reference/ and
https://dev.twitch.tv/docs/api/reference/.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web


@dataclass
class FakeUser:
    id: str
    login: str
    display_name: str = ""


@dataclass
class FakeTwitch:
    """State and controls. ``forced`` maps ``"METHOD /path"`` to responses served before the real handler."""

    users: dict[str, FakeUser] = field(default_factory=dict)  # login -> user
    user_tokens: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # token -> (user_id, scopes)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> user_id
    app_tokens: set[str] = field(default_factory=set)
    codes: dict[str, str] = field(default_factory=dict)  # authorization code -> user_id
    forbidden_channels: set[str] = field(default_factory=set)  # broadcaster ids the bot may not read
    live: dict[str, dict[str, Any]] = field(default_factory=dict)  # broadcaster id -> stream
    channel_info: dict[str, dict[str, Any]] = field(default_factory=dict)  # broadcaster id -> title, game
    forced: dict[str, deque[tuple[int, dict[str, str], dict[str, Any]]]] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)  # Send Chat Message bodies
    sent_times: list[float] = field(default_factory=list)
    sent_tokens: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    session_of: dict[int, str] = field(default_factory=dict)
    token_expires_in: int = 14400
    base: str = ""
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    welcomed: asyncio.Event = field(default_factory=asyncio.Event)

    # -- setup -------------------------------------------------------------------------------------

    def add_user(self, user_id: str, login: str) -> FakeUser:
        user = FakeUser(user_id, login, login.capitalize())
        self.users[login] = user
        return user

    def grant(self, user_id: str, token: str, refresh: str, scopes: list[str]) -> None:
        self.user_tokens[token] = (user_id, scopes)
        self.refresh_tokens[refresh] = user_id

    def force(
        self,
        route: str,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve ``status`` once for ``route`` (``"POST /helix/chat/messages"``) before the real handler."""
        self.forced.setdefault(route, deque()).append((status, headers or {}, body or {"status": status}))

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/id/oauth2/token", self._token)
        app.router.add_get("/id/oauth2/validate", self._validate)
        app.router.add_get("/helix/users", self._users)
        app.router.add_get("/helix/streams", self._streams)
        app.router.add_get("/helix/channels", self._channel_info)
        app.router.add_post("/helix/eventsub/subscriptions", self._subscribe)
        app.router.add_delete("/helix/eventsub/subscriptions", self._unsubscribe)
        app.router.add_post("/helix/chat/messages", self._chat)
        app.router.add_get("/ws", self._ws)
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

    # -- http --------------------------------------------------------------------------------------

    @web.middleware
    async def _forced_mw(self, request: web.Request, handler: Any) -> web.StreamResponse:
        key = f"{request.method} {request.path}"
        self.requests.append(key)
        queue = self.forced.get(key)
        if queue:
            status, headers, body = queue.popleft()
            return web.json_response(body, status=status, headers=headers)
        return await handler(request)

    def _bearer(self, request: web.Request) -> str:
        return request.headers.get("Authorization", "").removeprefix("Bearer ").removeprefix("OAuth ")

    def _unauthorized(self) -> web.Response:
        return web.json_response(
            {"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}, status=401
        )

    def _new_token(self, user_id: str, scopes: list[str]) -> dict[str, Any]:
        n = next(self._counter)
        token, refresh = f"tok{n}", f"ref{n}"
        self.grant(user_id, token, refresh, scopes)
        return {
            "access_token": token,
            "refresh_token": refresh,
            "expires_in": self.token_expires_in,
            "scope": scopes,
            "token_type": "bearer",
        }

    async def _token(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if request.can_read_body:
            params.update(dict(await request.post()))
        grant = params.get("grant_type")
        if grant == "client_credentials":
            token = f"app{next(self._counter)}"
            self.app_tokens.add(token)
            return web.json_response({"access_token": token, "expires_in": 5000000, "token_type": "bearer"})
        if grant == "refresh_token":
            user_id = self.refresh_tokens.pop(params.get("refresh_token", ""), None)
            if user_id is None:
                return web.json_response({"status": 400, "message": "Invalid refresh token"}, status=400)
            scopes = next((s for t, (u, s) in self.user_tokens.items() if u == user_id), [])
            return web.json_response(self._new_token(user_id, scopes))
        if grant == "authorization_code":
            user_id = self.codes.pop(params.get("code", ""), None)
            if user_id is None:
                return web.json_response({"status": 400, "message": "Invalid authorization code"}, status=400)
            return web.json_response(self._new_token(user_id, ["channel:bot"]))
        return web.json_response({"status": 400, "message": "bad grant"}, status=400)

    async def _validate(self, request: web.Request) -> web.Response:
        token = self._bearer(request)
        if token in self.app_tokens:
            return web.json_response({"client_id": "cid", "scopes": [], "expires_in": 5000000})
        if token in self.user_tokens:
            user_id, scopes = self.user_tokens[token]
            login = next(u.login for u in self.users.values() if u.id == user_id)
            return web.json_response(
                {
                    "client_id": "cid",
                    "login": login,
                    "user_id": user_id,
                    "scopes": scopes,
                    "expires_in": self.token_expires_in,
                }
            )
        return web.json_response({"status": 401, "message": "invalid access token"}, status=401)

    def _authorised(self, request: web.Request) -> bool:
        token = self._bearer(request)
        return token in self.app_tokens or token in self.user_tokens

    def _user_json(self, u: FakeUser) -> dict[str, Any]:
        return {
            "id": u.id,
            "login": u.login,
            "display_name": u.display_name,
            "type": "",
            "broadcaster_type": "",
            "description": "",
            "profile_image_url": "",
            "offline_image_url": "",
            "view_count": 0,
            "created_at": "2020-01-01T00:00:00Z",
        }

    async def _users(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorized()
        logins = request.query.getall("login", [])
        found = [self._user_json(self.users[x]) for x in logins if x in self.users]
        return web.json_response({"data": found})

    async def _streams(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorized()
        ids = request.query.getall("user_id", [])
        return web.json_response({"data": [self.live[i] for i in ids if i in self.live], "pagination": {}})

    async def _channel_info(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorized()
        bid = request.query.get("broadcaster_id", "")
        info = self.channel_info.get(bid, {"title": "", "game_name": ""})
        return web.json_response({"data": [{"broadcaster_id": bid, **info}]})

    async def _subscribe(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorized()
        body = await request.json()
        if body["condition"].get("broadcaster_user_id") in self.forbidden_channels:
            return web.json_response(
                {"error": "Forbidden", "status": 403, "message": "missing channel:bot"}, status=403
            )
        sub_id = str(uuid.uuid4())
        sub = {
            "id": sub_id,
            "status": "enabled",
            "type": body["type"],
            "version": body["version"],
            "condition": body["condition"],
            "created_at": "2024-01-01T00:00:00Z",
            "transport": {"method": "websocket", "session_id": body["transport"]["session_id"]},
            "cost": 0,
        }
        self.subscriptions[sub_id] = sub
        return web.json_response(
            {"data": [sub], "total": len(self.subscriptions), "total_cost": 0, "max_total_cost": 10},
            status=202,
        )

    async def _unsubscribe(self, request: web.Request) -> web.Response:
        self.subscriptions.pop(request.query.get("id", ""), None)
        return web.Response(status=204)

    async def _chat(self, request: web.Request) -> web.Response:
        token = self._bearer(request)
        if token not in self.user_tokens and token not in self.app_tokens:
            return self._unauthorized()
        body = await request.json()
        self.sent.append(body)
        self.sent_times.append(time.monotonic())
        self.sent_tokens.append(token)
        return web.json_response(
            {"data": [{"message_id": str(uuid.uuid4()), "is_sent": True, "drop_reason": None}]}
        )

    # -- eventsub websocket ------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session_id = f"session{next(self._counter)}"
        self.sockets.append(ws)
        self.session_of[id(ws)] = session_id
        await ws.send_str(
            json.dumps(
                {
                    "metadata": self._meta("session_welcome"),
                    "payload": {
                        "session": {
                            "id": session_id,
                            "status": "connected",
                            "connected_at": _now(),
                            "keepalive_timeout_seconds": 10,
                            "reconnect_url": None,
                        }
                    },
                }
            )
        )
        self.welcomed.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:  # clients must never send: Twitch closes with 4001
                await ws.close(code=4001)
        if ws in self.sockets:
            self.sockets.remove(ws)
        return ws

    def _meta(self, kind: str, sub_type: str | None = None) -> dict[str, Any]:
        meta = {"message_id": str(uuid.uuid4()), "message_type": kind, "message_timestamp": _now()}
        if sub_type:
            meta.update(subscription_type=sub_type, subscription_version="1")
        return meta

    def _sub_for(self, sub_type: str, broadcaster_id: str) -> dict[str, Any]:
        for sub in self.subscriptions.values():
            if sub["type"] == sub_type and sub["condition"].get("broadcaster_user_id") == broadcaster_id:
                return sub
        raise AssertionError(f"no {sub_type} subscription for {broadcaster_id}")

    async def notify(
        self,
        sub_type: str,
        broadcaster_id: str,
        event: dict[str, Any],
        ws: web.WebSocketResponse | None = None,
    ) -> None:
        sub = self._sub_for(sub_type, broadcaster_id)
        target = ws or self.sockets[-1]
        await target.send_str(
            json.dumps(
                {
                    "metadata": self._meta("notification", sub_type),
                    "payload": {"subscription": sub, "event": event},
                }
            )
        )

    async def chat(
        self,
        broadcaster: FakeUser,
        chatter: FakeUser,
        text: str,
        *,
        badges: list[str] = (),
        message_id: str | None = None,
        ws: web.WebSocketResponse | None = None,
        source: tuple[FakeUser, str] | None = None,
    ) -> str:
        """Deliver a ``channel.chat.message`` notification; returns the message id. ``source``: (channel,
        message id there) of a Shared Chat copy of a message typed in another channel."""
        mid = message_id or str(uuid.uuid4())
        event = {
            "broadcaster_user_id": broadcaster.id,
            "broadcaster_user_login": broadcaster.login,
            "broadcaster_user_name": broadcaster.display_name,
            "chatter_user_id": chatter.id,
            "chatter_user_login": chatter.login,
            "chatter_user_name": chatter.display_name,
            "message_id": mid,
            "message": {
                "text": text,
                "fragments": [
                    {"type": "text", "text": text, "cheermote": None, "emote": None, "mention": None}
                ],
            },
            "color": "",
            "badges": [{"set_id": b, "id": "1", "info": ""} for b in badges],
            "message_type": "text",
            "cheer": None,
            "reply": None,
            "channel_points_custom_reward_id": None,
            "channel_points_animation_id": None,
            "source_broadcaster_user_id": source[0].id if source else None,
            "source_broadcaster_user_login": source[0].login if source else None,
            "source_broadcaster_user_name": source[0].display_name if source else None,
            "source_message_id": source[1] if source else None,
            "source_badges": [] if source else None,
            "is_source_only": False if source else None,
        }
        await self.notify("channel.chat.message", broadcaster.id, event, ws)
        return mid

    async def reconnect_message(self, new_url: str) -> None:
        ws = self.sockets[-1]
        await ws.send_str(
            json.dumps(
                {
                    "metadata": self._meta("session_reconnect"),
                    "payload": {
                        "session": {
                            "id": self.session_of[id(ws)],
                            "status": "reconnecting",
                            "keepalive_timeout_seconds": None,
                            "reconnect_url": new_url,
                            "connected_at": _now(),
                        }
                    },
                }
            )
        )

    async def drop_socket(self) -> None:
        """Server-side disconnect of the newest EventSub socket (as in an outage)."""
        ws = self.sockets.pop()
        await ws.close(code=1006)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
