"""Discord adapter (discord.py 2): prefix and slash commands in, messages/embeds out, voice presence.

In:
- ``MESSAGE_CREATE`` in guild text channels -> ``ChatMessage`` (needs the privileged **Message Content**
  intent, enabled in the developer portal, for prefix commands such as ``!help``);
- ``INTERACTION_CREATE`` for slash commands generated from the skills' ``@command`` declarations (one
  top-level slash command per first word, with an optional ``text`` argument: ``/faq text:add q|a``), turned
  into the same ``ChatMessage`` the prefix form would give (``!faq add q|a``), so a command is declared once;
- voice/stage channels: members joining/leaving -> ``Presence``; the server owner going live (Go Live in a
  voice channel) or a stage instance starting/ending -> ``StreamStatus`` (channel ``guild_id/voice_id``).

Out: ``POST /channels/{id}/messages`` (a reply references the invoking message), or the interaction's
deferred response / follow-ups for slash commands. ``allowed_mentions`` never pings ``@everyone``,
``@here`` or roles. Multi-line replies (mood summaries, recommendation lists, game boards) go in an embed.

Channels are named ``"<guild_id>/<channel_id>"``. discord.py handles gateway heartbeats, RESUME after a
disconnect (Discord replays the missed events) and 429s (``retry_after``); messages are also de-duplicated
here by id, so a replayed event is never processed twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.adapters.base import DISCORD_LIMITS, Adapter
from bot.backoff import GiveUp
from bot.commands import CommandSpec
from bot.events import ChatMessage, Event, Presence, PresenceKind, Reply, Role, StreamStatus, Viewer

log = logging.getLogger("chatcast.adapters.discord")

# https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags
PERMISSIONS: dict[str, int] = {
    "VIEW_CHANNEL": 1 << 10,  # see the channels (and voice states) the bot serves
    "SEND_MESSAGES": 1 << 11,  # answer commands
    "EMBED_LINKS": 1 << 14,  # mood, recommendations and game boards render as embeds
    "ATTACH_FILES": 1 << 15,  # plots and reports (Reply.attachment)
    "READ_MESSAGE_HISTORY": 1 << 16,  # needed to send a reply that references the invoking message
}
PERMISSIONS_INTEGER = sum(PERMISSIONS.values())  # 117760
OAUTH_SCOPES = ("bot", "applications.commands")
MANAGE_MESSAGES = 1 << 13

_SEEN_IDS = 4096


class _DropVoiceHint(logging.Filter):
    """discord.py warns at every Client() that voice libraries are missing; the bot never joins voice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


logging.getLogger("discord.client").addFilter(_DropVoiceHint())
_GATEWAY_LOST = object()  # queued when the gateway stops without close(): listen() raises


class DiscordAuthError(GiveUp, ConnectionError):
    """Discord rejected the bot token: retrying cannot help (``bot.backoff.reconnecting`` stops at once)."""


@dataclass(frozen=True, slots=True)
class DiscordGuildSettings:
    """Per-server settings. Roles are matched by name (case-insensitive) or id.

    ``mod_roles``: roles that count as moderator (members with Manage Messages always do).
    ``vip_roles`` / ``subscriber_roles``: e.g. the role Discord's Twitch integration gives subscribers.
    ``channels``: text channel ids the bot listens in; empty = every channel it can see.
    ``listen``: false for a server the bot ignores (the default for servers the config does not name once
    it names any: one configured channel used to leave the bot answering everywhere else).
    """

    mod_roles: tuple[str, ...] = ()
    vip_roles: tuple[str, ...] = ()
    subscriber_roles: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    listen: bool = True


def invite_url(client_id: str, permissions: int = PERMISSIONS_INTEGER) -> str:
    """OAuth2 link adding the bot to a server (scopes ``bot applications.commands``, ``permissions``)."""
    scope = "%20".join(OAUTH_SCOPES)
    return (
        f"https://discord.com/oauth2/authorize?client_id={client_id}&scope={scope}&permissions={permissions}"
    )


def roles_for_member(
    member_id: str,
    owner_id: str | None,
    role_ids: Iterable[str],
    role_names: Iterable[str],
    manage_messages: bool,
    settings: DiscordGuildSettings,
) -> frozenset[Role]:
    """Map a guild member to Chatcast roles.

    Owner -> BROADCASTER; a configured mod role or the Manage Messages permission -> MODERATOR;
    configured VIP / subscriber roles -> VIP / SUBSCRIBER. Always includes EVERYONE.
    """
    held = {str(r) for r in role_ids} | {n.lower() for n in role_names}

    def match(configured: tuple[str, ...]) -> bool:
        return any(c.lower() in held for c in configured)

    roles = {Role.EVERYONE}
    if owner_id is not None and str(owner_id) == str(member_id):
        roles.add(Role.BROADCASTER)
    if manage_messages or match(settings.mod_roles):
        roles.add(Role.MODERATOR)
    if match(settings.vip_roles):
        roles.add(Role.VIP)
    if match(settings.subscriber_roles):
        roles.add(Role.SUBSCRIBER)
    return frozenset(roles)


def slash_commands(specs: Iterable[tuple[str, CommandSpec]]) -> dict[str, str]:
    """Top-level slash command name -> description, from the skills' declarations.

    Two-word commands (``faq add``) share their first word's slash command. Names that Discord would
    reject (over 32 characters, not lower-case letters/digits/``-``/``_``) are skipped with a warning.
    Descriptions are the declared help (1-100 characters, Discord's limit).
    """
    out: dict[str, str] = {}
    for _skill, spec in specs:
        for name in spec.names:
            first, _, sub = name.partition(" ")
            if not (1 <= len(first) <= 32) or not all(ch.isalnum() or ch in "-_" for ch in first):
                log.warning("command %r cannot be a Discord slash command; skipped", name)
                continue
            if first not in out or not sub:
                help_text = spec.help if not sub else f"{first} commands"
                out[first] = (help_text or f"Run {first}").strip()[:100]
    return out


SAFE_MENTIONS_KW = {"everyone": False, "roles": False, "users": True, "replied_user": False}


class DiscordAdapter(Adapter):
    """One bot token on Discord, in every server it was invited to.

    Args:
        token: the bot token (developer portal -> Bot -> Reset Token).
        guild_settings: per-server ``DiscordGuildSettings`` keyed by guild id (string); servers not
            listed use ``default_settings``.
        commands_provider: returns ``[(skill_name, CommandSpec)]`` (``router.commands``); slash commands
            are generated from it at connect. ``None``: no slash commands.
        command_prefix: the prefix slash commands are translated to (``"!"``), or a callable
            ``(channel) -> prefix`` (``lambda ch: router.prefix("discord", ch)``).
        api_base, gateway_url: where Discord lives (tests point these at a local fake).
        ready_timeout_s: how long ``connect()`` waits for the gateway READY.
        slash_reply_timeout_s: a slash command that produced no reply within this time has its
            "thinking..." placeholder removed.
        guild_ready_timeout_s: discord.py waits this long after the last GUILD_CREATE before READY.
        token_store: secrets store (``get("discord_token")``); when Discord rejects the token, the
            adapter logs once and waits for a different token there (checked every ``token_poll_s``
            seconds) instead of failing. ``None``: a rejected token raises ``DiscordAuthError``.

    Raises ``ConnectionError`` from ``connect()`` when Discord is unreachable (the runtime's supervisor
    retries), and ``DiscordAuthError`` for a rejected token when there is no ``token_store`` to wait on.
    """

    platform = "discord"
    limits = DISCORD_LIMITS

    def __init__(
        self,
        token: str,
        *,
        guild_settings: Mapping[str, DiscordGuildSettings] | None = None,
        default_settings: DiscordGuildSettings | None = None,
        commands_provider: Callable[[], list[tuple[str, CommandSpec]]] | None = None,
        command_prefix: str | Callable[[str], str] = "!",
        api_base: str | None = None,
        gateway_url: str | None = None,
        ready_timeout_s: float = 60.0,
        slash_reply_timeout_s: float = 15.0,
        guild_ready_timeout_s: float = 2.0,
        token_store: Any = None,
        token_poll_s: float = 30.0,
    ) -> None:
        self._token = token
        self._guilds = dict(guild_settings or {})
        self._default = default_settings or DiscordGuildSettings()
        self.commands_provider = commands_provider
        self._prefix = command_prefix
        self._api_base = api_base
        self._gateway_url = gateway_url
        self._ready_timeout_s = ready_timeout_s
        self._slash_timeout_s = slash_reply_timeout_s
        self._guild_ready_timeout_s = guild_ready_timeout_s
        self._store = token_store
        self._auth_warned = False
        self._token_poll_s = token_poll_s
        self._client: Any = None
        self._task: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._interactions: dict[str, Any] = {}  # synthetic message id -> (interaction, answered)
        self._streaming: dict[str, str] = {}  # guild id -> voice channel id where the owner is live
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------------

    def settings_for(self, guild_id: str) -> DiscordGuildSettings:
        """This server's settings (or the defaults)."""
        return self._guilds.get(str(guild_id), self._default)

    async def connect(self) -> None:
        """Log in, open the gateway, wait for READY, register slash commands."""
        import discord
        import yarl
        from discord import app_commands
        from discord.gateway import DiscordWebSocket
        from discord.http import Route

        if self._api_base:
            Route.BASE = self._api_base.rstrip("/")
        if self._gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self._gateway_url)
        await self._teardown()  # a reconnect after a failure starts from a fresh client
        self._queue = asyncio.Queue()
        self._closed = False
        intents = discord.Intents.none()
        intents.guilds = intents.guild_messages = intents.message_content = intents.voice_states = True
        adapter = self
        ready = asyncio.Event()

        class _Client(discord.Client):
            async def on_ready(self) -> None:
                ready.set()

            async def on_message(self, message: discord.Message) -> None:
                await adapter._on_message(message)

            async def on_voice_state_update(self, member: Any, before: Any, after: Any) -> None:
                adapter._on_voice(member, before, after)

            async def on_stage_instance_create(self, stage: Any) -> None:
                adapter._on_stage(stage, True)

            async def on_stage_instance_delete(self, stage: Any) -> None:
                adapter._on_stage(stage, False)

        client = _Client(
            intents=intents,
            allowed_mentions=discord.AllowedMentions(**SAFE_MENTIONS_KW),
            guild_ready_timeout=self._guild_ready_timeout_s,
        )
        self._client = client
        tree = app_commands.CommandTree(client)
        specs = self.commands_provider() if self.commands_provider else []
        for name, description in slash_commands(specs).items():
            tree.add_command(self._make_slash(name, description))
        try:
            await client.login(self._token)
        except discord.LoginFailure:
            if not self._auth_warned:
                log.error(
                    "Discord rejected the bot token (CHATCAST_DISCORD_TOKEN). Reset it in the developer "
                    "portal (Bot -> Reset Token) and put the new one in the secrets file; %s",
                    "waiting for it there." if self._store else "Discord stays offline until then.",
                )
                self._auth_warned = True
            await self._teardown()
            if self._store is None or not await self._wait_for_new_token():
                await self.close()
                raise DiscordAuthError("Discord rejected the bot token") from None
            return await self.connect()  # with the new token, from a fresh client
        except (discord.HTTPException, OSError) as exc:
            await self.close()
            raise ConnectionError(f"Discord login failed: {type(exc).__name__}") from None
        self._auth_warned = False
        self._task = asyncio.create_task(self._run(client), name="discord-gateway")
        waiter = asyncio.ensure_future(ready.wait())
        done, _ = await asyncio.wait(
            {self._task, waiter}, timeout=self._ready_timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if waiter not in done:
            waiter.cancel()
            await self.close()
            if self._task in done:
                raise ConnectionError("the Discord gateway closed before READY")
            raise ConnectionError(f"no READY from the Discord gateway within {self._ready_timeout_s:.0f} s")
        if specs:
            try:
                synced = await tree.sync()
                log.info("Discord: registered %d slash command(s)", len(synced))
            except discord.HTTPException as exc:
                log.warning(
                    "Discord: slash commands not registered (HTTP %s); prefix commands still work", exc.status
                )
        log.info("Discord: connected as %s in %d server(s)", client.user, len(client.guilds))

    async def _wait_for_new_token(self) -> bool:
        """Poll the secrets store until ``discord_token`` differs from the rejected one (False if closed)."""
        from bot.secrets import SecretsError

        rejected = self._token
        while not self._closed:
            await asyncio.sleep(self._token_poll_s)
            try:
                new = self._store.get("discord_token") if self._store else None
            except SecretsError as exc:
                log.warning("cannot read the secrets store: %s", exc)
                continue
            if new and new != rejected:
                self._token = new
                log.info("found a new Discord bot token in the secrets store; logging in again")
                return True
        return False

    async def _run(self, client: Any) -> None:
        import discord

        try:
            await client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            log.error(
                "Discord: enable the Message Content intent (developer portal -> Bot -> Privileged "
                "Gateway Intents) for prefix commands"
            )
        except Exception as exc:
            if not self._closed:
                log.error("Discord gateway stopped: %s", type(exc).__name__)
                log.debug("Discord gateway failure", exc_info=True)
        finally:
            if not self._closed:
                self._queue.put_nowait(_GATEWAY_LOST)

    def listen(self) -> AsyncIterator[Event]:
        """Yield events until ``close()``; raises ``ConnectionError`` if the gateway stops for good."""
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        queue = self._queue
        while True:
            event = await queue.get()
            if event is None:
                return
            if event is _GATEWAY_LOST:
                raise ConnectionError("the Discord gateway connection ended")
            yield event

    async def close(self) -> None:
        """Close the gateway and HTTP session; ends ``listen()``; never raises."""
        self._closed = True
        await self._teardown()
        self._queue.put_nowait(None)

    async def _teardown(self) -> None:
        try:
            if self._client is not None:
                await self._client.close()
        except Exception as exc:
            log.debug("error closing discord.py: %s", type(exc).__name__)
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except BaseException:  # noqa: BLE001 - closing must not raise
                self._task.cancel()
        self._client = self._task = None

    # -- incoming ----------------------------------------------------------------------------------

    def _first_time(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > _SEEN_IDS:
            self._seen.popitem(last=False)
        return True

    def _viewer(self, member: Any, guild: Any) -> Viewer:
        settings = self.settings_for(str(guild.id)) if guild else self._default
        role_list = [r for r in getattr(member, "roles", []) if not r.is_default()] if guild else []
        perms = getattr(member, "guild_permissions", None)
        manage = bool(perms and (perms.manage_messages or perms.administrator))
        roles = roles_for_member(
            str(member.id),
            str(guild.owner_id) if guild and guild.owner_id else None,
            [str(r.id) for r in role_list],
            [r.name for r in role_list],
            manage,
            settings,
        )
        return Viewer("discord", str(member.id), str(member.display_name), roles)

    def _listening(self, guild_id: str, channel_id: str) -> bool:
        settings = self.settings_for(guild_id)
        return settings.listen and (not settings.channels or channel_id in settings.channels)

    async def _on_message(self, message: Any) -> None:
        try:
            if message.guild is None or message.author.bot:
                return
            guild_id, channel_id = str(message.guild.id), str(message.channel.id)
            if not self._listening(guild_id, channel_id) or not self._first_time(str(message.id)):
                return
            ref = message.reference.message_id if message.reference else None
            self._queue.put_nowait(
                ChatMessage(
                    "discord",
                    f"{guild_id}/{channel_id}",
                    str(message.id),
                    self._viewer(message.author, message.guild),
                    message.content,
                    message.created_at or datetime.now(UTC),
                    str(ref) if ref else None,
                )
            )
        except (AttributeError, TypeError, ValueError) as exc:
            log.warning("skipping a malformed Discord message: %s", exc)

    def _make_slash(self, name: str, description: str) -> Any:
        import discord
        from discord import app_commands

        adapter = self

        @app_commands.describe(text="arguments, as you would type them after the command in chat")
        async def callback(interaction: discord.Interaction, text: str | None = None) -> None:
            await adapter._on_slash(interaction, name, text or "")

        command = app_commands.Command(name=name, description=description, callback=callback)
        return app_commands.guild_only(command)  # chat commands belong to a server's channels

    async def _on_slash(self, interaction: Any, name: str, text: str) -> None:
        if interaction.guild_id is None or interaction.channel_id is None:
            await interaction.response.send_message("Use me in a server channel.", ephemeral=True)
            return
        guild_id, channel_id = str(interaction.guild_id), str(interaction.channel_id)
        if not self._listening(guild_id, channel_id):  # slash commands are registered in every server
            await interaction.response.send_message("I'm not set up to answer in this channel.",
                                                    ephemeral=True)
            return
        message_id = f"interaction-{interaction.id}"
        if not self._first_time(message_id):
            return
        await interaction.response.defer(thinking=True)
        channel = f"{guild_id}/{channel_id}"
        prefix = self._prefix(channel) if callable(self._prefix) else self._prefix
        self._interactions[message_id] = [interaction, False]
        asyncio.get_running_loop().call_later(
            self._slash_timeout_s, lambda: asyncio.ensure_future(self._expire_interaction(message_id))
        )
        self._queue.put_nowait(
            ChatMessage(
                "discord",
                channel,
                message_id,
                self._viewer(interaction.user, interaction.guild),
                f"{prefix}{name} {text}".strip(),
                interaction.created_at or datetime.now(UTC),
            )
        )

    async def _expire_interaction(self, message_id: str) -> None:
        entry = self._interactions.get(message_id)
        if entry is None:
            return
        interaction, answered = entry
        if not answered:
            entry[1] = True  # a late answer becomes a follow-up message
            try:
                await interaction.delete_original_response()
            except Exception as exc:
                log.debug("could not remove an unanswered slash placeholder: %s", type(exc).__name__)
        # follow-ups stay possible for the interaction token's 15 minutes
        asyncio.get_running_loop().call_later(14 * 60, lambda: self._interactions.pop(message_id, None))

    def _on_voice(self, member: Any, before: Any, after: Any) -> None:
        try:
            guild = member.guild
            gid = str(guild.id)
            viewer = self._viewer(member, guild)
            old = before.channel.id if before.channel else None
            new = after.channel.id if after.channel else None
            if old != new:
                if old is not None:
                    self._queue.put_nowait(Presence("discord", f"{gid}/{old}", viewer, PresenceKind.LEFT))
                if new is not None:
                    self._queue.put_nowait(Presence("discord", f"{gid}/{new}", viewer, PresenceKind.JOINED))
            if guild.owner_id and member.id == guild.owner_id:
                live_now = bool(after.channel and after.self_stream)
                where = self._streaming.get(gid)
                if live_now and where is None:
                    self._streaming[gid] = str(new)
                    self._queue.put_nowait(StreamStatus("discord", f"{gid}/{new}", True))
                    for other in getattr(after.channel, "members", []):  # already watching
                        self._queue.put_nowait(
                            Presence("discord", f"{gid}/{new}", self._viewer(other, guild), PresenceKind.SEEN)
                        )
                elif not live_now and where is not None:
                    del self._streaming[gid]
                    self._queue.put_nowait(StreamStatus("discord", f"{gid}/{where}", False))
        except (AttributeError, TypeError) as exc:
            log.warning("skipping a malformed Discord voice state: %s", exc)

    def _on_stage(self, stage: Any, online: bool) -> None:
        try:
            channel = f"{stage.guild.id}/{stage.channel_id}"
            self._queue.put_nowait(
                StreamStatus("discord", channel, online, title=getattr(stage, "topic", None))
            )
        except AttributeError as exc:
            log.warning("skipping a malformed stage event: %s", exc)

    # -- outgoing ----------------------------------------------------------------------------------

    async def send(self, reply: Reply) -> None:
        """Send one message (<= 2000 characters). Slash-command answers go to the interaction.

        A reply references the message that caused it; multi-line text becomes an embed; ``attachment``
        is uploaded; ``whisper_to`` sends a direct message. Raises ``ConnectionError`` when Discord
        cannot be reached; refused messages (missing permissions, deleted channel) are logged and skipped.
        """
        import discord

        if self._client is None:
            raise ConnectionError("Discord adapter is not connected")
        mentions = discord.AllowedMentions(**SAFE_MENTIONS_KW)
        kwargs: dict[str, Any] = {"allowed_mentions": mentions}
        if "\n" in reply.text.strip():
            kwargs["embed"] = discord.Embed(description=reply.text)
        else:
            kwargs["content"] = reply.text
        if reply.attachment:
            path = Path(reply.attachment)
            if path.is_file():
                kwargs["file"] = discord.File(path)
            else:
                log.warning("attachment %s does not exist; sending the text only", path)
        try:
            entry = self._interactions.get(reply.in_reply_to or "")
            if entry is not None:
                await self._answer_interaction(entry, kwargs)
            elif reply.whisper_to and reply.whisper_to.isdigit():
                user = await self._client.fetch_user(int(reply.whisper_to))
                await user.send(**kwargs)
            else:
                await self._send_channel(reply, kwargs)
        except discord.Forbidden as exc:
            log.warning("Discord refused a message in %s (missing permission: %s)", reply.channel, exc.text)
        except discord.NotFound:
            log.warning("Discord channel or message %s no longer exists; message skipped", reply.channel)
        except (discord.HTTPException, OSError, TimeoutError) as exc:
            raise ConnectionError(f"Discord send failed: {type(exc).__name__}") from None

    async def _answer_interaction(self, entry: list[Any], kwargs: dict[str, Any]) -> None:
        interaction, answered = entry
        if not answered:
            entry[1] = True
            edit = {k: v for k, v in kwargs.items() if k != "file"}
            if "file" in kwargs:
                edit["attachments"] = [kwargs["file"]]
            await interaction.edit_original_response(**edit)
        else:
            await interaction.followup.send(**kwargs)

    async def _send_channel(self, reply: Reply, kwargs: dict[str, Any]) -> None:
        import discord

        try:
            _guild, channel_id = reply.channel.split("/", 1)
            channel = self._client.get_partial_messageable(int(channel_id))
        except ValueError:
            log.warning("not a Discord channel name (guild_id/channel_id): %r", reply.channel)
            return
        if reply.in_reply_to and reply.in_reply_to.isdigit():
            kwargs["reference"] = discord.MessageReference(
                message_id=int(reply.in_reply_to), channel_id=int(channel_id), fail_if_not_exists=False
            )
        await channel.send(**kwargs)
