"""Twitch adapter (twitchio 3): EventSub WebSocket in, Helix Send Chat Message out.

In: ``channel.chat.message`` (chat), ``stream.online`` / ``stream.offline`` / ``channel.update``
(-> ``StreamStatus``) over the EventSub WebSocket (https://dev.twitch.tv/docs/eventsub/handling-websocket-events/).
Out: ``POST /helix/chat/messages`` with
``{"broadcaster_id", "sender_id", "message", "reply_parent_message_id"}``
(https://dev.twitch.tv/docs/api/reference/#send-chat-message). IRC is not used.

Reliability, mostly inherited from twitchio and the session it is given:

- EventSub ``session_reconnect`` and keepalive timeouts are handled by twitchio's websocket; EventSub
  delivers "at least once", so notifications are de-duplicated here by chat message id.
- 429 (``Ratelimit-Reset``) and 5xx are retried by ``bot.adapters.http_retry`` under twitchio; 401
  "Invalid OAuth token" makes twitchio refresh the token once and repeat the request. Refreshed tokens
  are written back to the secrets store (never the database or logs).
- A token that Twitch rejects and cannot refresh (expired or revoked) gives one clear log line, and the
  adapter waits for a new token to appear in the secrets store (``chatcast invite twitch --bot``)
  instead of crash-looping.

Only one Twitch adapter may run per process when ``base_urls`` is used: twitchio keeps its base URLs in
class attributes (``twitchio.http.Route.BASE``/``ID_BASE``, ``twitchio.eventsub.websockets.WSS``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bot.adapters.badges import roles_from_badges
from bot.adapters.base import TWITCH_LIMITS, Adapter
from bot.adapters.http_retry import RetryPolicy, retrying_middleware
from bot.adapters.twitch_auth import (
    EVENTSUB_WS,
    HELIX_BASE,
    ID_BASE,
    SECRET_REFRESH,
    SECRET_TOKEN,
    JoinedChannels,
    SecretStore,
)
from bot.events import ChatMessage, Event, Reply, StreamStatus, Viewer

log = logging.getLogger("chatcast.adapters.twitch")

_SEEN_IDS = 4096  # notifications remembered for de-duplication (EventSub is at-least-once)


class _DropStarletteHint(logging.Filter):
    """twitchio warns at every Client() that Starlette is missing; its web server is not used here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "StarletteAdapter" not in record.getMessage()


logging.getLogger("twitchio.client").addFilter(_DropStarletteHint())


@dataclass(frozen=True, slots=True)
class TwitchURLs:
    """Where Twitch lives; tests point these at a local fake. ``eventsub_ws`` without a query string."""

    helix: str = HELIX_BASE
    id: str = ID_BASE
    eventsub_ws: str = EVENTSUB_WS


def _register_tolerant_stream_offline() -> None:
    """Replace twitchio's ``stream.offline`` model with one that does not require an ``id``.

    twitchio 3.3.2's ``StreamOffline`` reads ``payload["id"]``, which Twitch's ``stream.offline`` event does
    not carry (https://dev.twitch.tv/docs/eventsub/eventsub-reference/#stream-offline-event), so every real
    offline notification failed to parse. Subclassing re-registers the type (``BaseEvent.__init_subclass__``).
    """
    from twitchio.models.eventsub_ import StreamOffline
    from twitchio.user import PartialUser

    if getattr(StreamOffline, "_chatcast_tolerant", False):
        return

    class TolerantStreamOffline(StreamOffline):
        subscription_type = "stream.offline"
        _chatcast_tolerant = True
        __slots__ = ("id",)

        def __init__(self, payload: Any, *, http: Any) -> None:
            self.broadcaster = PartialUser(
                payload["broadcaster_user_id"],
                payload["broadcaster_user_login"],
                payload["broadcaster_user_name"],
                http=http,
            )
            self.id = payload.get("id", "")

    TolerantStreamOffline.__name__ = "StreamOffline"


def _apply_urls(urls: TwitchURLs) -> None:
    """Point twitchio's class-level base URLs at ``urls`` (process-wide, see module docstring)."""
    from twitchio.eventsub import websockets
    from twitchio.http import Route

    Route.BASE = urls.helix.rstrip("/") + "/"
    Route.ID_BASE = urls.id.rstrip("/") + "/"
    websockets.WSS = urls.eventsub_ws


class TwitchAdapter(Adapter):
    """One bot account on Twitch, in any number of channels.

    Args:
        client_id, client_secret: the application's credentials (dev.twitch.tv console).
        bot_token, refresh_token: the bot account's user token with ``user:read:chat user:write:chat
            user:bot`` (from ``chatcast invite twitch --bot`` or the environment).
        channels: channel logins to join (config); channels in ``joined`` are added.
        base_urls: Helix / id / EventSub URLs (default: Twitch's).
        token_store: secrets store; refreshed tokens are saved there and a rejected token is replaced
            by whatever new one appears there. ``None``: refreshed tokens live in memory only.
        joined: the joined-channels file (invite flow, ``!join``); ``None``: config channels only.
        open_joins: allow ``!join`` / ``!leave`` in the bot's own channel (Sery_Bot style).
        retry: HTTP retry policy for 429/5xx.
        token_poll_s: how often to look for a new token after Twitch rejected ours (seconds).
        subscribe_interval_s: pause between EventSub subscriptions, so joining many channels stays
            well under Twitch's subscription and request limits.

    Raises ``ConnectionError`` from ``connect()`` when Twitch cannot be reached; never raises for a bad
    token (it waits, see module docstring).
    """

    platform = "twitch"
    limits = replace(TWITCH_LIMITS, can_whisper=False)  # whispers need a phone-verified bot: not used

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        bot_token: str,
        refresh_token: str,
        channels: list[str],
        *,
        base_urls: TwitchURLs | None = None,
        token_store: SecretStore | None = None,
        joined: JoinedChannels | Path | None = None,
        open_joins: bool = False,
        command_prefix: str = "!",
        retry: RetryPolicy | None = None,
        token_poll_s: float = 30.0,
        subscribe_interval_s: float = 0.2,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._token = bot_token
        self._refresh = refresh_token
        self._config_channels = [c.strip().lower().lstrip("#") for c in channels if c and c.strip()]
        self._urls = base_urls or TwitchURLs()
        self._store = token_store
        self._joined = JoinedChannels(joined) if isinstance(joined, Path) else joined
        self._open_joins = open_joins
        self._prefix = command_prefix
        self._retry = retry
        self._token_poll_s = token_poll_s
        self._subscribe_interval_s = subscribe_interval_s

        self._client: Any = None
        self._session: aiohttp.ClientSession | None = None
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._channels: dict[str, str] = {}  # login -> broadcaster user id
        self._logins: dict[str, str] = {}  # broadcaster user id -> login
        self._live: dict[str, bool] = {}
        self._info: dict[str, tuple[str | None, str | None]] = {}  # login -> (title, category)
        self._privileged: set[str] = set()
        self._bot_id = ""
        self._bot_login = ""
        self._closed = False
        self._recovery: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def bot_login(self) -> str:
        """The bot account's login once connected ("" before)."""
        return self._bot_login

    @property
    def channels(self) -> list[str]:
        """Logins of the channels joined now."""
        return list(self._channels)

    async def connect(self) -> None:
        """Log in (app token + bot user token), join every channel, subscribe to its events."""
        import twitchio

        _apply_urls(self._urls)
        _register_tolerant_stream_offline()
        await self._teardown()  # a reconnect after a failure starts from a fresh client and queue
        self._queue = asyncio.Queue()
        self._channels.clear()
        self._logins.clear()
        self._closed = False
        self._session = aiohttp.ClientSession(middlewares=(retrying_middleware(self._retry),))
        self._client = twitchio.Client(
            client_id=self._client_id,
            client_secret=self._client_secret,
            session=self._session,
            fetch_client_user=False,
        )
        for event, handler in (
            ("event_message", self._on_chat),
            ("event_stream_online", self._on_online),
            ("event_stream_offline", self._on_offline),
            ("event_channel_update", self._on_update),
            ("event_token_refreshed", self._on_token_refreshed),
            ("event_subscription_revoked", self._on_revoked),
        ):
            self._client.add_listener(handler, event=event)
        try:
            await self._client.login(load_tokens=False, save_tokens=False)
        except Exception as exc:
            raise ConnectionError(f"Twitch login (app token) failed: {_describe(exc)}") from None
        await self._add_bot_token()
        wanted = list(dict.fromkeys(self._config_channels + (self._joined.load() if self._joined else [])))
        for login in wanted:
            try:
                await self.join(login)
            except ConnectionError:
                raise
            except Exception as exc:  # one bad channel never stops the others
                log.warning("could not join Twitch channel %s: %s", login, _describe(exc))
        log.info("Twitch: connected as %s in %d channel(s)", self._bot_login, len(self._channels))

    async def _add_bot_token(self) -> None:
        """Validate the bot token with twitchio; on rejection log once and wait for a new one."""
        from twitchio.exceptions import HTTPException, InvalidTokenException

        warned = False
        while not self._closed:
            try:
                valid = await self._client.add_token(self._token, self._refresh)
            except InvalidTokenException as exc:
                original = getattr(exc, "original", None)
                if isinstance(original, HTTPException) and original.status >= 500:
                    raise ConnectionError(f"Twitch id service error (HTTP {original.status})") from None
                if not warned:
                    self._log_token_rejected()
                    warned = True
                await self._wait_for_new_token()
                continue
            except Exception as exc:
                raise ConnectionError(f"Twitch token validation failed: {_describe(exc)}") from None
            if not valid.user_id:
                raise ConnectionError(
                    "CHATCAST_TWITCH_TOKEN is an app token; the bot needs a user token "
                    "(run `chatcast invite twitch --bot`)"
                )
            self._bot_id, self._bot_login = str(valid.user_id), str(valid.login).lower()
            missing = {"user:read:chat", "user:write:chat"} - set(valid.scopes)
            if missing:
                log.error(
                    "the Twitch bot token lacks scope(s) %s: run `chatcast invite twitch --bot`",
                    ", ".join(sorted(missing)),
                )
            self._privileged.add(self._bot_login)  # the broadcaster of its own channel
            return
        raise ConnectionError("the Twitch adapter was closed while waiting for a token")

    def _log_token_rejected(self) -> None:
        log.error(
            "Twitch rejected the bot account's token (expired or revoked) and it could not be refreshed. "
            "Run `chatcast invite twitch --bot` to authorise the bot again; waiting for a new token in the "
            "secrets store (checking every %.0f s).",
            self._token_poll_s,
        )

    def _on_auth_lost(self) -> None:
        """A send failed because the token is gone: log once, recover in the background."""
        if self._recovery is None or self._recovery.done():
            self._log_token_rejected()
            self._recovery = asyncio.create_task(self._recover_token(), name="twitch-token-recovery")

    async def _recover_token(self) -> None:
        while not self._closed:
            await self._wait_for_new_token()
            if self._closed or self._client is None:
                return
            try:
                await self._client.add_token(self._token, self._refresh)
            except Exception as exc:
                log.warning(
                    "the new Twitch token was not accepted either (%s); still waiting", _describe(exc)
                )
                continue
            log.info("Twitch bot token replaced; sending again")
            return

    async def _wait_for_new_token(self) -> None:
        """Poll the secrets store until its token differs from the rejected one."""
        from bot.secrets import SecretsError

        rejected = self._token
        while not self._closed:
            await asyncio.sleep(self._token_poll_s)
            if self._store is None:
                continue
            try:
                new = self._store.get(SECRET_TOKEN)
            except SecretsError as exc:
                log.warning("cannot read the secrets store: %s", exc)
                continue
            if new and new != rejected:
                self._token = new
                self._refresh = self._store.get(SECRET_REFRESH) or ""
                redact_in_logs(self._token, self._refresh)
                log.info("found a new Twitch bot token in the secrets store; logging in again")
                return

    async def join(self, login: str) -> bool:
        """Subscribe to ``login``'s chat and stream events. False when the channel does not exist.

        Raises ``twitchio.HTTPException`` when Twitch refuses the subscription (403: the streamer has not
        granted ``channel:bot`` and the bot is not a moderator there).
        """
        from twitchio.eventsub import (
            ChannelUpdateSubscription,
            ChatMessageSubscription,
            StreamOfflineSubscription,
            StreamOnlineSubscription,
        )

        login = login.strip().lower().lstrip("#")
        if login in self._channels:
            return True
        data = await self._client.http.get_users(logins=[login])
        users = data.get("data", [])
        if not users:
            log.warning("Twitch channel %r does not exist; skipping it", login)
            return False
        broadcaster_id = str(users[0]["id"])
        await self._client.subscribe_websocket(
            ChatMessageSubscription(broadcaster_user_id=broadcaster_id, user_id=self._bot_id),
            token_for=self._bot_id,
        )
        self._channels[login] = broadcaster_id
        self._logins[broadcaster_id] = login
        for sub in (StreamOnlineSubscription, StreamOfflineSubscription, ChannelUpdateSubscription):
            await asyncio.sleep(self._subscribe_interval_s)
            try:
                await self._client.subscribe_websocket(
                    sub(broadcaster_user_id=broadcaster_id), token_for=self._bot_id
                )
            except Exception as exc:  # chat works without stream events
                log.warning("Twitch %s: no %s events (%s)", login, sub.type, _describe(exc))
        await self._emit_current_status(login, broadcaster_id)
        await asyncio.sleep(self._subscribe_interval_s)
        return True

    async def leave(self, login: str) -> bool:
        """Stop listening to ``login``'s chat (drops its subscriptions). False when not joined."""
        login = login.strip().lower()
        broadcaster_id = self._channels.pop(login, None)
        if broadcaster_id is None:
            return False
        self._logins.pop(broadcaster_id, None)
        for sub_id, sub in list(self._client.websocket_subscriptions().items()):
            if sub.condition.get("broadcaster_user_id") == broadcaster_id:
                try:
                    await self._client.delete_websocket_subscription(sub_id)
                except Exception as exc:
                    log.debug("deleting subscription %s failed: %s", sub_id, _describe(exc))
        return True

    async def _emit_current_status(self, login: str, broadcaster_id: str) -> None:
        """Ask Helix whether the channel is live now (and its title/category), so a bot started
        mid-stream knows it. Failures only lose this first status."""
        from twitchio.http import Route

        http = self._client.http
        try:
            data = await http.request_json(Route("GET", "streams", params={"user_id": broadcaster_id}))
            streams = data.get("data") or []
            if streams:
                info = streams[0]
            else:
                channels = await http.request_json(
                    Route("GET", "channels", params={"broadcaster_id": broadcaster_id})
                )
                info = (channels.get("data") or [{}])[0]
        except Exception as exc:
            log.debug("Twitch %s: stream status unknown (%s)", login, _describe(exc))
            return
        self._live[login] = bool(streams)
        self._info[login] = (info.get("title") or None, info.get("game_name") or None)
        self._queue.put_nowait(self._status(login, bool(streams)))

    def _status(self, login: str, online: bool, payload: Any = None) -> StreamStatus:
        """A ``StreamStatus`` carrying the last known title and category (events that lack them keep them)."""
        title, category = self._info.get(login, (None, None))
        return StreamStatus("twitch", login, online, timestamp=_ts(payload), title=title, category=category)

    def listen(self) -> AsyncIterator[Event]:
        """Yield events until ``close()``."""
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        queue = self._queue
        while True:
            event = await queue.get()
            if event is None:
                return
            yield event

    async def close(self) -> None:
        """Close the EventSub socket and the HTTP session; ends ``listen()``; never raises or saves tokens."""
        self._closed = True
        await self._teardown()
        self._queue.put_nowait(None)

    async def _teardown(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            self._recovery = None
        try:
            if self._client is not None:
                await self._client.close(save_tokens=False)
        except Exception as exc:
            log.debug("error while closing twitchio: %s", _describe(exc))
        try:
            if self._session is not None:
                await self._session.close()
        except Exception as exc:
            log.debug("error while closing the Twitch HTTP session: %s", _describe(exc))
        self._client = self._session = None

    def is_privileged(self, channel: str) -> bool:
        """True where the bot is broadcaster, or was seen wearing a moderator badge."""
        return channel.lower() in self._privileged

    # -- outgoing ----------------------------------------------------------------------------------

    async def send(self, reply: Reply) -> None:
        """Send one chat message with Helix Send Chat Message (``reply.in_reply_to`` -> a threaded reply).

        Unknown channels and messages Twitch drops (``is_sent: false``, e.g. AutoMod) are logged and
        skipped. Raises ``ConnectionError`` when Twitch cannot be reached or the token is lost, so the
        outbox can keep the message and try later.
        """
        await self._post(reply.channel, reply.text, reply.in_reply_to)

    async def _post(self, channel: str, text: str, reply_to: str | None = None) -> None:
        from twitchio.exceptions import HTTPException

        login = channel.strip().lower()
        broadcaster_id = self._channels.get(login)
        if broadcaster_id is None or self._client is None:
            log.warning("not sending to Twitch channel %r: not joined", channel)
            return
        try:
            data = await self._client.http.post_chat_message(
                broadcaster_id=broadcaster_id,
                sender_id=self._bot_id,
                message=text,
                token_for=self._bot_id,
                reply_to_message_id=reply_to,
            )
        except HTTPException as exc:
            if exc.status == 401 or str(getattr(exc.route, "path", "")).endswith("oauth2/token"):
                self._on_auth_lost()  # refresh refused (revoked) or still unauthorised after one refresh
                raise ConnectionError("Twitch rejected the bot token; waiting for a new one") from None
            if exc.status in (400, 403, 422):  # bad message, banned, not allowed: retrying cannot help
                log.warning(
                    "Twitch refused a message in %s (HTTP %d: %s)",
                    login,
                    exc.status,
                    exc.extra.get("message", "") if isinstance(exc.extra, dict) else "",
                )
                return
            raise ConnectionError(f"Twitch send failed (HTTP {exc.status})") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConnectionError(f"Twitch send failed: {_describe(exc)}") from None
        result = (data.get("data") or [{}])[0]
        if not result.get("is_sent", True):
            reason = result.get("drop_reason") or {}
            log.info("Twitch dropped a message in %s: %s", login, reason.get("message", reason))

    # -- incoming ----------------------------------------------------------------------------------

    def _first_time(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > _SEEN_IDS:
            self._seen.popitem(last=False)
        return True

    async def _on_chat(self, payload: Any) -> None:
        try:
            message_id = str(payload.id)
            login = str(payload.broadcaster.name).lower()
            author_id = str(payload.chatter.id)
            badges = [b.set_id for b in payload.badges]
            text = payload.text
            if not isinstance(text, str):  # str(None) was the message "None"
                raise TypeError(f"text is {type(text).__name__}, not a string")
        except (AttributeError, TypeError) as exc:
            log.warning("skipping a malformed Twitch chat notification: %s", exc)
            return
        if not self._first_time(message_id) or not text.strip() or self._elsewhere(login, payload):
            return
        if author_id == self._bot_id:  # our own message echoed: learn whether we are moderator here
            if "moderator" in badges or "broadcaster" in badges or "lead_moderator" in badges:
                self._privileged.add(login)
            else:
                self._privileged.discard(login)
            return
        name = getattr(payload.chatter, "display_name", None) or getattr(payload.chatter, "name", author_id)
        author = Viewer("twitch", author_id, str(name), roles_from_badges(badges))
        if (
            self._open_joins
            and login == self._bot_login
            and await self._handle_join(text, payload, message_id)
        ):
            return
        reply = getattr(payload, "reply", None)
        reply_to = getattr(reply, "parent_message_id", None) if reply else None
        timestamp = getattr(payload, "timestamp", None) or datetime.now(UTC)
        self._queue.put_nowait(ChatMessage("twitch", login, message_id, author, text, timestamp, reply_to))

    def _elsewhere(self, login: str, payload: Any) -> bool:
        """A notification to skip: for a channel the bot has not joined (a late one after ``leave``), or a
        Shared Chat copy of a message typed in another channel the bot serves, whose own notification
        arrives there (answering both ran the command twice and counted that channel's chatters here)."""
        if login not in self._channels:
            log.debug("Twitch: skipping a chat message for #%s, a channel not joined", login)
            return True
        source = getattr(payload, "source_broadcaster", None)
        source_login = str(getattr(source, "name", "") or "").lower() if source is not None else ""
        if source_login and source_login != login and source_login in self._channels:
            log.debug("Twitch: skipping the Shared Chat copy in #%s of a message from #%s", login,
                      source_login)
            return True
        return False

    async def _handle_join(self, text: str, payload: Any, message_id: str) -> bool:
        """``!join`` / ``!leave`` typed in the bot's own channel. True when handled."""
        word = text.strip().lower()
        if word not in (f"{self._prefix}join", f"{self._prefix}leave"):
            return False
        login = str(payload.chatter.name).lower()
        if word.endswith("join"):
            try:
                await self.join(login)
            except Exception as exc:
                log.info("!join from %s refused by Twitch: %s", login, _describe(exc))
                answer = (
                    f"I can't read chat in #{login} yet: ask the bot's owner for the invite link "
                    f"(channel:bot), or type /mod {self._bot_login} in your chat, then !join again."
                )
            else:
                if self._joined is not None:
                    self._joined.add(login)
                answer = f"Joined #{login}. Type !leave here to make me go."
        else:
            await self.leave(login)
            if self._joined is not None:
                self._joined.remove(login)
            answer = f"Left #{login}."
        try:
            await self._post(self._bot_login, answer, message_id)
        except ConnectionError as exc:
            log.info("could not answer %s: %s", word, exc)
        return True

    def _status_channel(self, payload: Any) -> str | None:
        try:
            return str(payload.broadcaster.name).lower()
        except AttributeError:
            log.warning("skipping a malformed Twitch stream notification")
            return None

    async def _on_online(self, payload: Any) -> None:
        login = self._status_channel(payload)
        if login is not None:
            self._live[login] = True
            self._queue.put_nowait(self._status(login, True, payload))

    async def _on_offline(self, payload: Any) -> None:
        login = self._status_channel(payload)
        if login is not None:
            self._live[login] = False
            self._queue.put_nowait(self._status(login, False, payload))

    async def _on_update(self, payload: Any) -> None:
        login = self._status_channel(payload)
        if login is not None:
            title = getattr(payload, "title", None) or None
            self._info[login] = (title, getattr(payload, "category_name", None) or None)
            self._queue.put_nowait(self._status(login, self._live.get(login, False), payload))

    async def _on_token_refreshed(self, payload: Any) -> None:
        if str(getattr(payload, "user_id", "")) != self._bot_id:
            return
        self._token, self._refresh = payload.token, payload.refresh_token
        redact_in_logs(payload.token, payload.refresh_token)
        log.info("Twitch bot token refreshed")
        if self._store is not None:
            try:
                self._store.set(SECRET_TOKEN, payload.token)
                self._store.set(SECRET_REFRESH, payload.refresh_token)
            except Exception as exc:
                log.warning("could not save the refreshed Twitch token: %s", type(exc).__name__)

    async def _on_revoked(self, payload: Any) -> None:
        log.error(
            "Twitch revoked an EventSub subscription (%s): the bot's authorisation was removed or a "
            "channel was banned/deleted; run `chatcast invite twitch --bot` if chat stops",
            getattr(payload, "reason", "unknown reason"),
        )


def redact_in_logs(*values: str) -> None:
    """Add ``values`` (new tokens) to every ``bot.logs.SecretRedactingFilter`` on the root log handlers.

    The core's filter knows the secrets loaded at start; tokens obtained later (refresh, secrets store)
    are added here, so a library error message quoting a URL with a refresh token is still redacted.
    """
    from bot.logs import SecretRedactingFilter

    for handler in logging.getLogger().handlers:
        for flt in handler.filters:
            if isinstance(flt, SecretRedactingFilter):
                flt.add(v for v in values if v)


def _ts(payload: Any) -> datetime:
    ts = getattr(payload, "timestamp", None)
    return ts if isinstance(ts, datetime) else datetime.now(UTC)


def _describe(exc: BaseException) -> str:
    """A log-safe description: twitchio errors embed URLs with the client secret or the token in str()."""
    status = getattr(exc, "status", None)
    if status is not None:
        return f"{type(exc).__name__} (HTTP {status})"
    if isinstance(exc, (aiohttp.ClientError, OSError, TimeoutError)):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__
