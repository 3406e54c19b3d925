"""Twitch OAuth for the invite flow: authorisation URL, local callback server, code exchange, stores.

Two grants are needed (https://dev.twitch.tv/docs/chat/authenticating/):

- the **bot account** grants ``user:read:chat user:write:chat user:bot`` once (``chatcast invite twitch
  --bot``); its access and refresh tokens go to the secrets store;
- each **streamer** grants ``channel:bot`` (``chatcast invite twitch``) so the bot may read and send chat in
  their channel without being made moderator. Twitch records that grant against our client id; we keep only
  the channel's login in the joined-channels file so the bot joins it at every start.

The authorisation-code flow is RFC 6749 §4.1 as Twitch implements it
(https://dev.twitch.tv/docs/authentication/getting-tokens-oauth/#authorization-code-grant-flow). The callback
server listens on 127.0.0.1 only; ``http://localhost:<port>/callback`` must be registered as an OAuth
redirect URL of the application in the Twitch developer console.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets as pysecrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

log = logging.getLogger("chatcast.adapters.twitch")

ID_BASE = "https://id.twitch.tv/"
HELIX_BASE = "https://api.twitch.tv/helix/"
EVENTSUB_WS = "wss://eventsub.wss.twitch.tv/ws"

BOT_SCOPES: tuple[str, ...] = ("user:read:chat", "user:write:chat", "user:bot")
"""Scopes the bot account grants: read chat over EventSub, send with Send Chat Message, act as a bot."""
BROADCASTER_SCOPES: tuple[str, ...] = ("channel:bot",)
"""Scope a streamer grants so the bot can chat in their channel without moderator status."""

SECRET_TOKEN = "twitch_token"
SECRET_REFRESH = "twitch_refresh_token"
DEFAULT_CALLBACK_PORT = 4343


class SecretStore(Protocol):
    """Where tokens live (``bot/secrets.py``: environment or a 0600 file). Never the database or logs."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...


class InviteError(RuntimeError):
    """The OAuth flow failed: the user denied, the state did not match, or Twitch rejected the code."""


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A user token obtained by the invite flow. ``expires_in_s`` in seconds (Twitch: ~4 hours)."""

    access_token: str
    refresh_token: str
    user_id: str
    login: str
    scopes: tuple[str, ...]
    expires_in_s: int

    def __repr__(self) -> str:  # never print tokens
        return f"TokenGrant(login={self.login!r}, user_id={self.user_id!r}, scopes={self.scopes!r})"


def redirect_uri(port: int = DEFAULT_CALLBACK_PORT) -> str:
    """The redirect URL to register in the Twitch console: ``http://localhost:<port>/callback``."""
    return f"http://localhost:{port}/callback"


def authorization_url(
    client_id: str,
    scopes: tuple[str, ...] | list[str],
    state: str,
    *,
    port: int = DEFAULT_CALLBACK_PORT,
    id_base: str = ID_BASE,
    force_verify: bool = True,
) -> str:
    """The link a user opens to grant ``scopes`` to the application ``client_id``.

    ``state`` is an unguessable value echoed back to the callback (CSRF protection, RFC 6749 §10.12).
    ``force_verify`` makes Twitch show the consent page even if already granted
    (so the right account is used).
    """
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri(port),
            "response_type": "code",
            "scope": " ".join(scopes),
            "state": state,
            "force_verify": "true" if force_verify else "false",
        }
    )
    return f"{id_base.rstrip('/')}/oauth2/authorize?{query}"


async def wait_for_callback(
    state: str,
    *,
    port: int = DEFAULT_CALLBACK_PORT,
    timeout_s: float = 300.0,
    ready: asyncio.Event | None = None,
) -> str:
    """Serve ``GET /callback`` on 127.0.0.1:``port`` until Twitch redirects the browser; return the code.

    Raises ``InviteError`` when the user denied access, the ``state`` does not match, or nothing arrives
    within ``timeout_s`` seconds. ``ready`` is set once the server listens (tests use it).
    """
    loop = asyncio.get_running_loop()
    result: asyncio.Future[str] = loop.create_future()

    async def callback(request: web.Request) -> web.Response:
        q = request.query
        if q.get("state") != state:
            if not result.done():
                result.set_exception(
                    InviteError("OAuth state mismatch: ignore this link and run the invite again")
                )
            return web.Response(text="State mismatch: run the invite command again.", status=400)
        if "error" in q:
            reason = q.get("error_description") or q["error"]
            if not result.done():
                result.set_exception(InviteError(f"Twitch says: {reason}"))
            return web.Response(text=f"Authorisation failed: {reason}", status=400)
        code = q.get("code")
        if not code:
            return web.Response(text="Missing code.", status=400)
        if not result.done():
            result.set_result(code)
        return web.Response(text="Chatcast is authorised. You can close this tab.")

    app = web.Application()
    app.router.add_get("/callback", callback)
    runner = web.AppRunner(app, access_log=None)  # the query holds the one-time code: do not log it
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        if ready is not None:
            ready.set()
        try:
            async with asyncio.timeout(timeout_s):
                return await result
        except TimeoutError:
            raise InviteError(f"no authorisation arrived within {timeout_s:.0f} s") from None
    finally:
        await runner.cleanup()


async def exchange_code(
    code: str,
    client_id: str,
    client_secret: str,
    *,
    port: int = DEFAULT_CALLBACK_PORT,
    id_base: str = ID_BASE,
) -> TokenGrant:
    """Trade an authorisation code for tokens, then validate them to learn the account's login and id.

    Raises ``InviteError`` (without the secret or code in the message) when Twitch refuses.
    """
    base = id_base.rstrip("/")
    form = {
        "client_id": client_id,
        "client_secret": client_secret,
        "code": code,
        "grant_type": "authorization_code",
        "redirect_uri": redirect_uri(port),
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/oauth2/token", data=form) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200:
                raise InviteError(f"Twitch refused the code (HTTP {resp.status}: {body.get('message', '')})")
        access, refresh = body["access_token"], body.get("refresh_token", "")
        async with session.get(
            f"{base}/oauth2/validate", headers={"Authorization": f"OAuth {access}"}
        ) as resp:
            info = await resp.json(content_type=None)
            if resp.status != 200:
                raise InviteError(f"the new token did not validate (HTTP {resp.status})")
    return TokenGrant(
        access,
        refresh,
        str(info["user_id"]),
        info["login"],
        tuple(info.get("scopes", ())),
        int(body.get("expires_in", 0)),
    )


async def invite(
    client_id: str,
    client_secret: str,
    scopes: tuple[str, ...],
    *,
    port: int = DEFAULT_CALLBACK_PORT,
    id_base: str = ID_BASE,
    timeout_s: float = 300.0,
    show: object = print,
    ready: asyncio.Event | None = None,
) -> TokenGrant:
    """Whole flow: show the link with ``show(url)``, wait for the callback, exchange the code."""
    state = pysecrets.token_urlsafe(24)
    url = authorization_url(client_id, scopes, state, port=port, id_base=id_base)
    show(url)  # type: ignore[operator]
    code = await wait_for_callback(state, port=port, timeout_s=timeout_s, ready=ready)
    return await exchange_code(code, client_id, client_secret, port=port, id_base=id_base)


class JoinedChannels:
    """The Twitch channels the bot joins at every start besides the config's: a JSON list in the data dir.

    Written by ``chatcast invite twitch`` and by ``!join``/``!leave``; logins are stored lower-case. A
    missing or unreadable file reads as empty (logged once), never a crash; an unreadable one is kept as
    ``<name>.unreadable`` before the next write replaces it.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> list[str]:
        """Logins in the file, in the order they were added."""
        return self._read()[0]

    def _read(self) -> tuple[list[str], bool]:
        """(logins, readable): ``readable`` is false for a file that is not a JSON list (logged)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return [], True
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s); joining only the configured channels", self.path, exc)
            return [], False
        if not isinstance(data, list):
            log.warning("%s is not a JSON list; ignoring it", self.path)
            return [], False
        return [str(x).lower() for x in data if isinstance(x, str) and x.strip()], True

    def _write(self, logins: list[str], readable: bool) -> None:
        """Replace the file with ``logins``; an unreadable file (``readable`` false: a hand edit's trailing
        comma) is kept beside it first as ``<name>.unreadable`` (the next ``!join`` wrote ``[new]`` over
        every joined channel)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not readable:
            kept = self.path.with_name(self.path.name + ".unreadable")
            os.replace(self.path, kept)
            log.warning("%s could not be read: kept as %s (fix it and merge it back by hand)", self.path,
                        kept)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(logins, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def add(self, login: str) -> bool:
        """Add ``login``; False when it was already there."""
        logins, readable = self._read()
        key = login.strip().lower()
        if not key or key in logins:
            return False
        self._write([*logins, key], readable)
        return True

    def remove(self, login: str) -> bool:
        """Remove ``login``; False when it was not there."""
        logins, readable = self._read()
        key = login.strip().lower()
        if key not in logins:
            return False
        self._write([x for x in logins if x != key], readable)
        return True
