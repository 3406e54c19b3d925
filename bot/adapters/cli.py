"""``chatcast invite twitch|discord``, ``chatcast doctor`` and ``build_adapters`` for ``chatcast run``.

``register(app)`` is called by ``bot/cli.py``; ``build_adapters(config, secrets, clock=...)`` returns the
live adapters for every platform that has credentials (Twitch: a bot token; Discord: a bot token).

Where things are kept:
- tokens: the secrets file (``secrets_path(config)``: ``[bot] secrets_file``, ``$CHATCAST_SECRETS_FILE``,
  else ``secrets.toml`` next to the config), created with mode 0600;
- Twitch channels joined through the invite flow or ``!join``: ``<data_dir>/twitch_channels.json``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer

from bot.commands import COMMAND_ATTR, CommandSpec
from bot.secrets import secrets_location

JOINED_FILE = "twitch_channels.json"


def secrets_path(config: Any) -> Path:
    """The secrets file the bot reads and the invite flow writes (``bot.secrets.secrets_location``)."""
    configured = getattr(config.bot, "secrets_file", None)
    return secrets_location(Path(configured) if configured is not None else None,
                            getattr(config, "path", None))[0]


def commands_from_classes(skill_classes: dict[str, type]) -> list[tuple[str, CommandSpec]]:
    """``[(skill_name, CommandSpec)]`` declared on the classes (no instance needed), by skill then name."""
    found: list[tuple[str, CommandSpec]] = []
    for name, cls in skill_classes.items():
        for attr in sorted(dir(cls)):
            spec = getattr(getattr(cls, attr, None), COMMAND_ATTR, None)
            if isinstance(spec, CommandSpec):
                found.append((name, spec))
    return found


def _reveal(secret: Any) -> str | None:
    return secret.reveal() if secret else None


def _channels(config: Any, platform: str) -> list[str]:
    return [c.name for c in config.channels if c.platform == platform]


def _section(config: Any, name: str) -> dict[str, Any]:
    """``[twitch]`` / ``[discord]`` settings when the config has them (plain dict or pydantic model)."""
    value = getattr(config, name, None)
    if value is None:
        return {}
    return value if isinstance(value, dict) else value.model_dump()


def discord_guild_settings(config: Any) -> dict[str, Any]:
    """Per-server ``DiscordGuildSettings``, keyed by guild id, plus ``"*"`` (the default).

    From ``[[channels]]`` named ``guild_id/channel_id`` (or ``guild_id`` for a whole server) and the optional
    ``[discord]`` role lists (``mod_roles``, ``vip_roles``, ``subscriber_roles``). With no Discord entry
    the bot listens in every server; once the config names any, servers it does not name are ignored
    (``"*"`` has ``listen=False``).
    """
    from bot.adapters.discord_adapter import DiscordGuildSettings

    section = _section(config, "discord")
    roles = {k: tuple(section.get(k, ())) for k in ("mod_roles", "vip_roles", "subscriber_roles")}
    per_guild: dict[str, list[str]] = {}
    for name in _channels(config, "discord"):
        guild, _, channel = name.partition("/")
        per_guild.setdefault(guild, [])
        if channel:
            per_guild[guild].append(channel)
    settings = {g: DiscordGuildSettings(channels=tuple(chs), **roles) for g, chs in per_guild.items()}
    settings["*"] = DiscordGuildSettings(listen=not per_guild, **roles)
    return settings


def build_adapters(config: Any, secrets: Any, *, clock: Any = None) -> list[Any]:
    """Live adapters for the platforms with credentials. ``clock`` is unused (live platforms use real time).

    - Twitch when its client id, client secret and token are set (``Secrets.has_twitch``): channels from
      ``[[channels]]`` with ``platform = "twitch"`` plus ``<data_dir>/twitch_channels.json``;
      ``[twitch] open_joins``.
    - Discord when ``discord_token`` is set: slash commands from the configured skills' declarations.
    """
    from bot.adapters.token_store import SecretsFileStore

    adapters: list[Any] = []
    prefix = config.bot.prefix
    if secrets.has_twitch:
        from bot.adapters.twitch import TwitchAdapter
        from bot.adapters.twitch_auth import JoinedChannels

        adapters.append(
            TwitchAdapter(
                _reveal(secrets.twitch_client_id) or "",
                _reveal(secrets.twitch_client_secret) or "",
                _reveal(secrets.twitch_token) or "",
                _reveal(secrets.twitch_refresh_token) or "",
                _channels(config, "twitch"),
                token_store=SecretsFileStore(secrets_path(config)),
                joined=JoinedChannels(config.data_dir / JOINED_FILE),
                open_joins=bool(_section(config, "twitch").get("open_joins", False)),
                command_prefix=prefix,
            )
        )
    if secrets.has_discord:
        from bot.adapters.discord_adapter import DiscordAdapter

        settings = discord_guild_settings(config)
        default = settings.pop("*")
        classes = dict(getattr(config, "skill_classes", {}) or {})
        adapters.append(
            DiscordAdapter(
                _reveal(secrets.discord_token) or "",
                guild_settings=settings,
                default_settings=default,
                commands_provider=lambda: commands_from_classes(classes),
                token_store=SecretsFileStore(secrets_path(config)),
                command_prefix=lambda channel: config.prefix_for("discord", channel),
            )
        )
    return adapters


def discord_app_id_from_token(token: str) -> str | None:
    """A bot token's first segment is the bot user's id in base64 (equal to the application id for bots)."""
    head = token.split(".", 1)[0]
    try:
        raw = base64.b64decode(head + "=" * (-len(head) % 4), validate=False).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return raw if raw.isdigit() else None


# ---- commands -------------------------------------------------------------------------------------------

CONFIG_OPT = typer.Option(
    None, "--config", "-c", help="Config file (default ./config.toml or $CHATCAST_CONFIG)."
)


def _load(config: Path | None) -> tuple[Any, Any]:
    from bot import cli as core_cli

    return core_cli._load(config, None)  # same resolution, errors and exit codes as `chatcast run`


def _print(lines: Iterable[str]) -> None:
    for line in lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add ``invite twitch``, ``invite discord`` and ``doctor`` to the ``chatcast`` command."""
    invite_app = typer.Typer(
        help="Invite the bot to a Twitch channel or a Discord server.", no_args_is_help=True
    )
    app.add_typer(invite_app, name="invite")

    @invite_app.command("twitch")
    def invite_twitch(
        config: Path | None = CONFIG_OPT,
        bot: bool = typer.Option(False, "--bot", help="Authorise the bot account itself (do this once)."),
        port: int = typer.Option(4343, "--port", help="Local port of the OAuth callback (127.0.0.1)."),
        timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait for the browser."),
    ) -> None:
        """Print the Twitch authorisation link and receive the grant on http://localhost:PORT/callback.

        Without --bot: a streamer grants `channel:bot`, and the bot joins their channel at every start.
        With --bot: the bot account grants its chat scopes; its tokens go to the secrets file (0600).
        """
        from bot.adapters.token_store import SecretsFileStore
        from bot.adapters.twitch_auth import (
            BOT_SCOPES,
            BROADCASTER_SCOPES,
            SECRET_REFRESH,
            SECRET_TOKEN,
            InviteError,
            JoinedChannels,
            invite,
            redirect_uri,
        )

        cfg, secrets = _load(config)
        client_id, client_secret = _reveal(secrets.twitch_client_id), _reveal(secrets.twitch_client_secret)
        if not (client_id and client_secret):
            typer.echo(
                "error: set CHATCAST_TWITCH_CLIENT_ID and CHATCAST_TWITCH_CLIENT_SECRET first "
                "(see docs/twitch.md)",
                err=True,
            )
            raise typer.Exit(2)
        others = [_reveal(secrets.twitch_token), _reveal(secrets.twitch_refresh_token), client_secret]
        if client_id.lower().startswith("oauth:") or client_id in others:  # it goes into a link you share
            typer.echo("error: CHATCAST_TWITCH_CLIENT_ID holds a token or the client secret, not the client "
                       "id (dev.twitch.tv/console -> your application -> Client ID); the value is not shown",
                       err=True)
            raise typer.Exit(2)
        who = "the BOT account" if bot else "the STREAMER's account"
        _print(
            [
                f"1. Make sure {redirect_uri(port)} is an OAuth Redirect URL of your Twitch application.",
                f"2. Open this link logged in as {who} and press Authorize:",
            ]
        )
        scopes = BOT_SCOPES if bot else BROADCASTER_SCOPES
        try:
            grant = asyncio.run(
                invite(
                    client_id,
                    client_secret,
                    scopes,
                    port=port,
                    timeout_s=timeout,
                    show=lambda url: typer.echo(
                        f"\n   {url}\n\n3. Waiting up to {timeout:.0f} s for Twitch to send the browser back "
                        f"to {redirect_uri(port)}: open the link on THIS machine (a streamer elsewhere "
                        "cannot reach it; see docs/twitch.md for a remote bot). Ctrl-C stops."
                    ),
                )
            )
        except (InviteError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        if bot:
            store = SecretsFileStore(secrets_path(cfg))
            store.set(SECRET_TOKEN, grant.access_token)
            store.set(SECRET_REFRESH, grant.refresh_token)
            typer.echo(f"Bot account {grant.login} authorised; tokens saved to {store.path} (mode 0600).")
            if os.environ.get("CHATCAST_TWITCH_TOKEN"):
                typer.echo(
                    "note: CHATCAST_TWITCH_TOKEN is set in the environment and wins over the file; "
                    "unset it (and CHATCAST_TWITCH_REFRESH_TOKEN) to use the new token."
                )
        else:
            joined = JoinedChannels(cfg.data_dir / JOINED_FILE)
            joined.add(grant.login)
            typer.echo(
                f"#{grant.login} authorised the bot (channel:bot). It joins #{grant.login} at every "
                "start; restart a running bot now."
            )

    @invite_app.command("discord")
    def invite_discord(config: Path | None = CONFIG_OPT) -> None:
        """Print the link that adds the bot to a Discord server (scopes bot + applications.commands)."""
        from bot.adapters.discord_adapter import PERMISSIONS, PERMISSIONS_INTEGER, invite_url

        _cfg, secrets = _load(config)
        client_id = _reveal(secrets.discord_client_id)
        if not client_id and secrets.discord_token:
            client_id = discord_app_id_from_token(secrets.discord_token.reveal())
        if not client_id:
            typer.echo(
                "error: set CHATCAST_DISCORD_CLIENT_ID (developer portal -> General Information -> "
                "Application ID)",
                err=True,
            )
            raise typer.Exit(2)
        if not (client_id.isascii() and client_id.isdigit()):  # a bot token pasted here went into the link
            typer.echo("error: CHATCAST_DISCORD_CLIENT_ID must be the Application ID, a number (developer "
                       "portal -> General Information); the value set is not one (a bot token? it is not "
                       "shown)", err=True)
            raise typer.Exit(2)
        typer.echo("Open this link as a server owner/admin and pick the server:\n")
        typer.echo(f"   {invite_url(client_id)}\n")
        typer.echo(f"Permissions requested ({PERMISSIONS_INTEGER}): " + ", ".join(PERMISSIONS) + ".")

    @app.command("doctor")
    def doctor(config: Path | None = CONFIG_OPT) -> None:
        """Check config, tokens, scopes and connectivity for each configured platform; say what to fix."""
        from bot.adapters.doctor import check_discord, check_twitch, run_checks

        cfg, secrets = _load(config)
        coros = []
        twitch_channels = _channels(cfg, "twitch")
        if secrets.has_twitch or secrets.twitch_client_id or twitch_channels:
            joined = [c for c in _joined(cfg) if c not in twitch_channels]
            coros.append(
                check_twitch(
                    _reveal(secrets.twitch_client_id),
                    _reveal(secrets.twitch_client_secret),
                    _reveal(secrets.twitch_token),
                    twitch_channels + joined,
                )
            )
        if secrets.has_discord or secrets.discord_client_id or _channels(cfg, "discord"):
            coros.append(check_discord(_reveal(secrets.discord_token), _reveal(secrets.discord_client_id)))
        path = secrets_path(cfg)
        where = path if path.is_file() else f"{path} (not there: secrets come from environment variables)"

        typer.echo(f"config: {cfg.path or '(defaults)'} ok; secrets file: {where}")
        if not coros:
            typer.echo(
                "No platform configured: `chatcast run` uses the console. See docs/twitch.md and "
                "docs/discord.md to add Twitch or Discord."
            )
            return
        checks = run_checks(coros)
        for check in checks:
            mark = "ok  " if check.ok else "FAIL"
            typer.echo(f"[{mark}] {check.platform:<8} {check.name}: {check.detail}")
            if not check.ok and check.fix:
                typer.echo(f"       fix: {check.fix}")
        if not all(c.ok for c in checks):
            raise typer.Exit(1)


def _joined(config: Any) -> list[str]:
    from bot.adapters.twitch_auth import JoinedChannels

    return JoinedChannels(config.data_dir / JOINED_FILE).load()
