"""The streamer's TOML config, validated once at start-up into typed objects.

Layout (see ``config.example.toml`` and ``docs/core.md``)::

    [bot]                  BotSettings
    [twitch]               TwitchSettings (read by ``bot.adapters.cli.build_adapters``)
    [discord]              DiscordSettings (read by ``bot.adapters.cli.build_adapters``)
    [inference]            bot.inference.settings.InferenceSettings (a plain dict when that module is absent)
    [skills.<name>]        defaults for every channel, validated against the skill class's ``Settings``
    [[channels]]           platform, name, optional prefix, optional [channels.skills.<name>] overrides

Every problem is reported with the file, the line, the key path, what was expected and what was found,
e.g. ``config.toml: line 12: channels[0].skills.faq.threshold: expected a number between 0 and 1, got
"high"`` (lines from ``bot.config_lines``; a missing key or a whole-table problem names the line of its
table's header). Unknown keys are errors with a did-you-mean (``difflib``); a key that looks like a
secret says where secrets go instead. All problems of one file are reported together in one
``ConfigError``; see ``validate_config`` for the few checks that wait for valid values.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config_errors import (
    clean_loc,
    format_errors,
    is_secret_key,
    keypath_text,
    looks_like_token,
    redact_tokens,
    show_value,
    token_in_config,
    unknown_key,
)
from bot.config_lines import KeyPath, key_lines, line_of
from bot.config_paths import CONFIG_DIR
from skills.base import SkillSettings

log = logging.getLogger(__name__)

PLATFORMS = ("twitch", "discord", "console", "replay")
TOP_LEVEL_KEYS = ("bot", "twitch", "discord", "inference", "skills", "channels")
DEFAULT_CONFIG_NAME = "config.toml"
LEFT_OUT = "left_out"
"""Validation context key: the keys ``bot.config`` left out of a second validation pass because they are
invalid (a check comparing keys skips one that is not really there; see ``validate_config``)."""


def check_prefix(prefix: str) -> str:
    """A command prefix viewers can type: visible characters, none a chat-command character.

    Raises ``ValueError``: whitespace, control or invisible characters (the parser removes the invisible
    ones, so no command would ever match), or a ``/`` or ``.`` first (chat clients run ``/help`` or
    ``.help`` as their own commands, so viewers could not type it)."""
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in prefix):
        raise ValueError(f"the prefix {json.dumps(prefix)} has spaces, control or invisible characters")
    if prefix[0] in "/.":
        raise ValueError(f"the prefix cannot start with '{prefix[0]}': chat clients read /help and .help "
                         "as their own commands")
    return prefix

class ConfigError(ValueError):
    """The config is invalid. ``problems`` holds one line per problem (``file: line N: key.path: message``;
    without ``line N:`` when the key is not in the file)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


KNOWN_CHAT_BOTS: tuple[str, ...] = (
    "nightbot", "streamelements", "fossabot", "moobot", "streamlabs", "wizebot", "sery_bot", "botrixoficial",
    "soundalerts", "kofistreambot", "pokemoncommunitygame", "own3d", "commanderroot",
)
"""Chat bots common on Twitch (their login names): the default ``[bot] ignored_users``."""


class BotSettings(BaseModel):
    """``[bot]``: the core's settings.

    - ``name``: the bot's display name (used in messages and the transcript).
    - ``prefix``: command prefix, 1-3 non-space characters (default ``!``).
    - ``data_dir``: where ``chatcast.db``, reports and skill files live; relative paths are relative to
      the config file's folder.
    - ``retention_days``: presence/watch rows older than this are purged at start-up and daily (0 = keep).
    - ``log_level``: ``debug`` | ``info`` | ``warning`` | ``error``.
    - ``mods_bypass_cooldowns``: moderators and the broadcaster skip command cooldowns.
    - ``viewer_commands_per_30s``: commands one viewer (below moderator) may use in a channel per 30 s; more
      are ignored (one viewer must not take over the bot's 20 messages per 30 s); 0 = no limit.
    - ``staff_commands_per_30s``: the same for each moderator and the broadcaster; unset = 3 x
      ``viewer_commands_per_30s`` (Twitch's 20 messages per 30 s are per connection: one channel's staff
      must not take them from every other channel); 0 = no limit. Below the viewers' budget is an error.
    - ``notify_denied``: answer a viewer who uses a command above their permission level with one short
      line ("@ann !story start is for moderators and above."); default false: silent, as Nightbot.
    - ``time_budget_s``: seconds a skill handler may run before it is cancelled and counted as a timeout.
    - ``overflow``: replies longer than the platform allows are ``split`` on word boundaries or ``truncate``d.
    - ``backlog``: outgoing messages queued per connection before the oldest low-priority ones are dropped.
    - ``reply_max_age_s``: a reply the rate limit held back this long is dropped (the chat has moved on).
    - ``secrets_file``: optional path of the secrets TOML (mode 0600); see ``bot.secrets``.
    - ``ignored_users``: accounts whose chat is ignored entirely (no commands, FAQ answers, mood, story or
      watch history): other chat bots by default (``KNOWN_CHAT_BOTS``), so the FAQ never answers a
      Nightbot timer that ends in "?" and two bots never talk to each other. Names are compared
      case-insensitively, a leading ``@`` dropped; ``[]`` ignores nobody.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    name: str = Field("chatcast", min_length=1, max_length=64)
    prefix: str = Field("!", min_length=1, max_length=3)
    data_dir: Path = Field(Path("chatcast-data"), strict=False)
    retention_days: int = Field(90, ge=0, le=36500)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    mods_bypass_cooldowns: bool = True
    notify_denied: bool = False
    viewer_commands_per_30s: int = Field(4, ge=0, le=1000)
    staff_commands_per_30s: int | None = Field(None, ge=0, le=3000)
    time_budget_s: float = Field(10.0, gt=0, le=600)
    overflow: Literal["split", "truncate"] = "split"
    backlog: int = Field(200, ge=1, le=100_000)
    reply_max_age_s: float = Field(90.0, ge=5, le=3600)
    secrets_file: Path | None = Field(None, strict=False)
    ignored_users: list[str] = Field(default_factory=lambda: list(KNOWN_CHAT_BOTS), max_length=1000)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return check_prefix(value)

    @field_validator("secrets_file", "data_dir", mode="before")
    @classmethod
    def _path_given(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():  # Path("") is ".": the config's own folder
            raise ValueError("an empty path: name a file or folder, or leave the key out")
        return value

    @field_validator("ignored_users")
    @classmethod
    def _user_names(cls, value: list[str]) -> list[str]:
        names = [v.strip().removeprefix("@").lower() for v in value]
        if any(not n for n in names):
            raise ValueError("an ignored user name is empty")
        return names

    @field_validator("log_level", "overflow", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _staff_budget(self, info: ValidationInfo) -> BotSettings:
        staff, viewers = self.staff_commands_per_30s, self.viewer_commands_per_30s
        left_out = (info.context or {}).get(LEFT_OUT, ())
        if {"staff_commands_per_30s", "viewer_commands_per_30s"} & set(left_out):
            return self  # one of them is invalid (reported): the default standing in for it proves nothing
        if staff and viewers and staff < viewers:
            raise ValueError(
                f"staff_commands_per_30s ({staff}) is below viewer_commands_per_30s ({viewers}): moderators "
                "would get fewer commands than viewers"
            )
        return self


class TwitchSettings(BaseModel):
    """``[twitch]``: the Twitch adapter's settings (``bot.adapters.cli.build_adapters``).

    - ``open_joins``: allow ``!join`` / ``!leave`` in the bot's own channel, so any streamer can add or
      remove the bot from their channel (see docs/twitch.md).
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    open_joins: bool = False


class DiscordSettings(BaseModel):
    """``[discord]``: the Discord adapter's settings (``bot.adapters.cli.build_adapters``).

    Role names (case-insensitive) or ids that map Discord members to Chatcast roles in every server:
    ``mod_roles`` (moderator; members with Manage Messages always are), ``vip_roles``,
    ``subscriber_roles`` (e.g. the role Discord's Twitch integration gives subscribers).
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    mod_roles: list[str] = Field(default_factory=list)
    vip_roles: list[str] = Field(default_factory=list)
    subscriber_roles: list[str] = Field(default_factory=list)


TWITCH_LOGIN = re.compile(r"[A-Za-z0-9_]{1,25}")
"""A Twitch login (the channel's name in its URL); Twitch's own rule is 4-25 letters, digits and ``_``."""
DISCORD_CHANNEL = re.compile(r"[0-9]{1,20}/[0-9]{1,20}")
"""``guild_id/channel_id``: Discord snowflakes (``bot.adapters.discord_adapter`` names channels so)."""


def channel_name(platform: str, name: str) -> str:
    """A configured channel name as the bot keeps it: a Twitch name without the ``#`` chat clients show."""
    return name.removeprefix("#") if platform == "twitch" else name


class ChannelConfig(BaseModel):
    """One ``[[channels]]`` entry. ``skills`` holds raw per-skill overrides (validated by ``load_config``)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    platform: Literal["twitch", "discord", "console", "replay"]
    name: str = Field(min_length=1)
    prefix: str | None = Field(None, min_length=1, max_length=3)
    skills: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        return None if value is None else check_prefix(value)

    @field_validator("platform", mode="before")
    @classmethod
    def _lower_platform(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("name", mode="before")
    @classmethod
    def _strip_name(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _joinable_name(cls, name: str, info: ValidationInfo) -> str:
        """A name the platform can join: a Twitch login (a leading ``#`` is dropped), a Discord
        ``guild_id/channel_id`` pair. "general" or "#My Channel!" passed the check and were never joined."""
        platform = info.data.get("platform")  # validated first (declared first); absent when it was invalid
        shown = json.dumps(name, ensure_ascii=False)
        if platform == "twitch":
            login = channel_name(platform, name)
            if not TWITCH_LOGIN.fullmatch(login):
                raise ValueError(f"a Twitch channel is named by its login as in twitch.tv/<login> (letters, "
                                 f"digits and _, at most 25), got {shown}")
            return login
        if platform == "discord" and not DISCORD_CHANNEL.fullmatch(name):
            raise ValueError(f"a Discord channel is named <server id>/<channel id> (two numbers; copy them "
                             f"with Developer Mode, see docs/discord.md), got {shown}")
        return name


@dataclass
class Config:
    """The validated config.

    ``skill_defaults[name]`` is the validated ``[skills.<name>]`` (class defaults when absent);
    ``channel_skills[(platform, channel)][name]`` the merged settings of a configured channel.
    ``skill_raw`` keeps the raw tables of skills whose class could not be imported (checked when it can).
    ``skill_classes``: the classes the config was validated against (core skills included).
    """

    bot: BotSettings = field(default_factory=BotSettings)
    twitch: TwitchSettings = field(default_factory=TwitchSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    inference: Any = field(default_factory=dict)
    channels: list[ChannelConfig] = field(default_factory=list)
    skill_defaults: dict[str, SkillSettings] = field(default_factory=dict)
    channel_skills: dict[tuple[str, str], dict[str, SkillSettings]] = field(default_factory=dict)
    skill_raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    skill_classes: dict[str, type] = field(default_factory=dict)
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def models_dir(self) -> Path:
        """``inference.models_dir`` (``~`` expanded) resolved against the config file's folder, else
        ``<data_dir>/models``: where converted models are cached."""
        given = self.inference.models_dir
        if given is None:
            return self.data_dir / "models"
        given = given.expanduser()
        return given if given.is_absolute() or self.path is None else self.path.parent / given

    @property
    def data_dir(self) -> Path:
        """``bot.data_dir`` (``~`` expanded) resolved against the config file's folder."""
        data_dir = self.bot.data_dir.expanduser()
        if data_dir.is_absolute() or self.path is None:
            return data_dir
        return self.path.parent / data_dir

    def channel(self, platform: str, channel: str) -> ChannelConfig | None:
        """The ``[[channels]]`` entry for ``(platform, channel)`` (case-insensitive name) or ``None``."""
        key = channel.lower()
        for entry in self.channels:
            if entry.platform == platform and entry.name.lower() == key:
                return entry
        return None

    def prefix_for(self, platform: str, channel: str) -> str:
        """Command prefix of a channel: its own ``prefix`` or ``bot.prefix``."""
        entry = self.channel(platform, channel)
        return entry.prefix if entry is not None and entry.prefix else self.bot.prefix

    def settings_for(self, skill: str, platform: str, channel: str) -> SkillSettings:
        """A skill's settings in a channel: channel overrides merged over ``[skills.<skill>]``.

        Raises ``KeyError`` for a skill that is not known (not importable).
        """
        merged = self.channel_skills.get((platform, channel.lower()), {})
        if skill in merged:
            return merged[skill]
        return self.skill_defaults[skill]

    def enabled_for(self, skill: str, platform: str, channel: str) -> bool:
        """Whether ``skill`` runs in the channel (``enabled`` of its merged settings; unknown -> False)."""
        try:
            return bool(self.settings_for(skill, platform, channel).enabled)
        except KeyError:
            return False


# ---------------------------------------------------------------------------------------------- loading


def load_config(path: str | Path | None, *, skill_classes: dict[str, type] | None = None) -> Config:
    """Read and validate a config file; ``None`` gives the defaults (console use without a file).

    ``skill_classes`` maps config names to skill classes (default ``skills.registry()``); a
    ``[skills.<name>]`` section for a known but unimportable skill is kept raw with a warning.
    Raises ``ConfigError`` listing every problem (file missing, TOML syntax with line number, unknown
    keys with did-you-mean, wrong types/ranges with expected and found).
    """
    if path is None:
        return validate_config({}, label=DEFAULT_CONFIG_NAME, path=None, skill_classes=skill_classes)
    path = Path(path)
    label = str(path)  # as the user gave it: "configs/stream.toml", not just "stream.toml"
    try:
        text = read_config_text(path)
    except FileNotFoundError:
        raise ConfigError([f"{path}: config file not found (create one with `chatcast init`)"]) from None
    except UnicodeDecodeError as exc:  # the line, not a byte position (trial 24), and the usual fix
        raise ConfigError([f"{path}: line {decode_error_line(exc)}: not UTF-8 text (byte "
                           f"0x{bytes(exc.object)[exc.start]:02x}); save it as UTF-8, e.g. "
                           f"`iconv -f latin1 -t utf-8 {path.name} > fixed.toml`"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file: {exc}"]) from None
    data = parse_toml(text, label)
    return validate_config(data, label=label, path=path, skill_classes=skill_classes, text=text)


def read_config_text(path: Path) -> str:
    """The text of a config file: UTF-8 (a Windows editor's byte-order mark dropped: it is not TOML), or
    UTF-16 with its byte-order mark (PowerShell's ``>`` writes that; the advice to convert from Latin-1
    made such a file garbage: trial 25). Raises ``OSError``, ``UnicodeDecodeError``."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def decode_error_line(exc: UnicodeDecodeError) -> int:
    """The 1-based line of the bytes ``read_config_text`` could not decode (a message names the line,
    not a byte position)."""
    return bytes(exc.object)[: exc.start].count(b"\n") + 1


_TOML_HINTS = {  # tomllib's words for the usual mistakes
    "Cannot overwrite a value": "Cannot overwrite a value: a key or table is defined twice, or a table "
                                "written [name] where a list of entries needs [[name]] (at this line or "
                                "earlier)",
    "Cannot declare": "a table is declared twice",
    "Illegal character '\\n'": "a quoted string is not closed on this line (a missing \")",
}


_TABLE_LINE = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _key_at(text: str, line_no: int) -> str | None:
    """The key path a TOML line sets (``bot.prefix``; a table header's name), for an error of the parser
    (which names only the line): "prefix defined twice" said the line but not the key."""
    lines = text.splitlines()
    if not 1 <= line_no <= len(lines):
        return None
    header = _TABLE_LINE.match(lines[line_no - 1])
    if header:
        return header.group(1)
    key = _KEY_LINE.match(lines[line_no - 1])
    if key is None:
        return None
    table = next((m.group(1) for line in reversed(lines[: line_no - 1]) if (m := _TABLE_LINE.match(line))),
                 None)
    name = key.group(1).strip()
    return f"{table}.{name}" if table else name


def parse_toml(text: str, label: str) -> dict[str, Any]:
    """``tomllib.loads`` with errors rewritten as ``label: line N: invalid TOML: ...`` (``ConfigError``)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if match:
            reason = message[: match.start()].strip()
            reason = _TOML_HINTS.get(reason, reason)
            key = _key_at(text, int(match.group(1)))
            where = f"line {match.group(1)}, column {match.group(2)}" + (f": {key}" if key else "")
            raise ConfigError([f"{label}: {where}: invalid TOML: {reason}"]) from None
        raise ConfigError([f"{label}: invalid TOML: {message}"]) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError([f"{label}: invalid TOML: arrays or inline tables nested too deeply"]) from None


def validate_config(
    data: dict[str, Any],
    *,
    label: str,
    path: Path | None,
    skill_classes: dict[str, type] | None = None,
    text: str | None = None,
) -> Config:
    """Validate parsed TOML ``data`` (see ``load_config``); ``label`` prefixes every message, ``text`` (the
    file's text) gives each its line.

    Every problem is found in one pass, with these exceptions, which wait for the values they depend on:
    a check comparing keys of one table (``staff_commands_per_30s`` against ``viewer_commands_per_30s``,
    a skill's duplicate ids) compares only keys and list entries that are valid themselves; a duplicate
    channel is found only among entries whose ``platform`` and ``name`` are valid; a channel's skill
    overrides are checked merged over ``[skills.<name>]`` when that section is valid, else on their own.
    """
    if skill_classes is None:
        from skills import registry

        skill_classes = registry()
    skill_classes = {**core_skill_classes(), **skill_classes}
    # absolute: a channel's override is validated again over the global settings, whose relative paths
    # were joined already; a relative folder ("sub") was joined twice ("sub/sub/heads/h.npz", trial 26)
    report = _Report(label, safe_key_lines(text), path.parent.absolute() if path is not None else None)
    config = Config(path=path, skill_classes=skill_classes)

    for key in data:
        if key not in TOP_LEVEL_KEYS:
            report.add((key,), unknown_key(key, TOP_LEVEL_KEYS, section=""))

    bot_raw = data.get("bot", {})
    if report.expect_table(bot_raw, ("bot",)):
        config.bot = report.validate(BotSettings, bot_raw, ("bot",)) or BotSettings()
    for key, model in (("twitch", TwitchSettings), ("discord", DiscordSettings)):
        raw = data.get(key, {})
        if report.expect_table(raw, (key,)):
            setattr(config, key, report.validate(model, raw, (key,)) or model())

    config.inference = _validate_inference(data.get("inference", {}), report)

    skills_raw = data.get("skills", {})
    known_names = _known_skill_names(skill_classes)
    if report.expect_table(skills_raw, ("skills",)):
        for name, table in skills_raw.items():
            where = ("skills", name)
            if not report.expect_table(table, where):
                continue
            if name in skill_classes:
                settings = report.validate(skill_classes[name].Settings, table, where)
                if settings is not None:
                    config.skill_defaults[name] = settings
                    report.settings_warnings(settings, where)
            elif name in known_names:
                config.skill_raw[name] = table
                report.warn(where, f"skill {name!r} is not installed; section not checked")
            else:
                report.add(where, unknown_key(name, known_names, what="skill"))
    for name, cls in skill_classes.items():
        if name not in config.skill_defaults:
            try:
                config.skill_defaults[name] = cls.Settings()
            except ValidationError as exc:
                report.add_errors(exc, cls.Settings, ("skills", name))

    channels_raw = data.get("channels", [])
    if not isinstance(channels_raw, list):
        report.add(("channels",), f"expected a list of [[channels]] tables, got {show_value(channels_raw)}")
        channels_raw = []
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(channels_raw):
        where = ("channels", i)
        if not report.expect_table(entry, where):
            continue
        channel = report.validate(ChannelConfig, entry, where)
        # from the raw entry, so that another problem in it (an unknown key) does not hide a duplicate
        ident = _channel_ident(entry)
        key = (ident[0], ident[1].lower()) if ident is not None else None
        duplicate = key is not None and key in seen
        if duplicate:
            report.add(where, f"channel {ident[0]}/{ident[1]} is already configured as channels[{seen[key]}]")
        elif key is not None:
            seen[key] = i
        # every override is checked, also in an entry with other problems (a platform typo hid them)
        merged = _channel_overrides(entry.get("skills"), where, config, known_names, report)
        if channel is not None and not duplicate and key is not None:
            config.channels.append(channel)
            config.channel_skills[key] = merged

    for where, value in _token_values(data, ()):  # "name = 'oauth:...'" was accepted, and echoed in errors
        report.add(where, token_in_config(value))
    config.warnings = report.warnings
    if report.problems:
        raise ConfigError(report.in_file_order())
    return config


def _token_values(value: Any, where: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    """``(key path, value)`` of every string in parsed TOML ``value`` that looks like a token
    (``looks_like_token``)."""
    if isinstance(value, str):  # under a secret's key name the unknown-key message already says it
        named = (bool(where) and isinstance(where[-1], str) and is_secret_key(where[-1])
                 and where[-1] != "secrets_file")  # a real key: its value is a path, checked here too
        return [(where, value)] if looks_like_token(value) and not named else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _token_values(v, (*where, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _token_values(v, (*where, i))]
    return []


def _channel_ident(entry: dict[str, Any]) -> tuple[str, str] | None:
    """``(platform, name)`` of a raw ``[[channels]]`` entry (as ``ChannelConfig`` reads them: platform in
    lower case, name stripped), or ``None`` when either is invalid."""
    platform, name = entry.get("platform"), entry.get("name")
    if not (isinstance(platform, str) and platform.lower() in PLATFORMS and isinstance(name, str)):
        return None
    name = channel_name(platform.lower(), name.strip())  # as ChannelConfig keeps it
    return (platform.lower(), name) if name else None


def _channel_overrides(
    overrides: Any, where: KeyPath, config: Config, known_names: tuple[str, ...], report: _Report
) -> dict[str, SkillSettings]:
    """A channel's ``[channels.skills.<name>]`` tables validated merged over ``[skills.<name>]``; what is
    not a table was reported by ``ChannelConfig``."""
    merged: dict[str, SkillSettings] = {}
    if not isinstance(overrides, dict):
        return merged
    for name, override in overrides.items():
        swhere = (*where, "skills", name)
        if name not in config.skill_classes:
            if name not in known_names:
                report.add(swhere, unknown_key(name, known_names, what="skill"))
            continue
        if not isinstance(override, dict):
            continue
        base = config.skill_defaults.get(name)
        base_dict = base.model_dump(exclude_unset=True) if base is not None else {}
        merged_dict, kept = merge_override(base_dict, override)
        # an error in a channel's own list entry names its index in the file, not in the merged list
        settings = report.validate(config.skill_classes[name].Settings, merged_dict, swhere, kept=kept)
        if settings is not None:
            merged[name] = settings
            report.settings_warnings(settings, swhere, own=override)
    return merged


def safe_key_lines(text: str | None) -> dict[KeyPath, int]:
    """``key_lines(text)``; none when there is no text or the scanner cannot read it (a message without a
    line is better than no message)."""
    if text is None:
        return {}
    try:
        return key_lines(text)
    except (ValueError, IndexError, RecursionError) as exc:  # pragma: no cover - tomllib accepted it
        log.debug("config line numbers unavailable: %s", exc)
        return {}


class _Report:
    """Collects problems and warnings as ``file: line N: key.path: message`` lines."""

    def __init__(self, label: str, lines: dict[KeyPath, int], config_dir: Path | None = None) -> None:
        self.label = label
        self.lines = lines
        # validation context: relative paths in settings are from the config file's folder (config_paths)
        self.context: dict[str, Any] = {CONFIG_DIR: config_dir} if config_dir is not None else {}
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self._order: list[int] = []

    def where(self, path: KeyPath) -> str:
        """``file: line N: key.path`` (without the line when not even the path's table is in the file)."""
        line = line_of(self.lines, path)
        at = f"line {line}: " if line is not None else ""
        return f"{self.label}: {at}{keypath_text(path)}"

    def add(self, path: KeyPath, message: str) -> None:
        """One problem about ``path`` (token-shaped parts of it redacted: ``redact_tokens``)."""
        text = redact_tokens(f"{self.where(path)}: {message}")
        if text not in self.problems:
            self.problems.append(text)
            self._order.append(line_of(self.lines, path) or 0)

    def in_file_order(self) -> list[str]:
        """The problems by line (those without a line first), so the file can be fixed top to bottom."""
        return [self.problems[i] for i in sorted(range(len(self.problems)), key=self._order.__getitem__)]

    def warn(self, path: KeyPath, message: str) -> None:
        """One warning about ``path``."""
        self.warnings.append(redact_tokens(f"{self.where(path)}: {message}"))

    def expect_table(self, value: Any, path: KeyPath) -> bool:
        """Whether ``value`` is a table; else a problem."""
        if isinstance(value, dict):
            return True
        self.add(path, f"expected a table, got {show_value(value)}")
        return False

    def validate(
        self, model: type[BaseModel], raw: dict[str, Any], where: KeyPath,
        *, kept: dict[str, int] | None = None
    ) -> Any:
        """``model.model_validate(raw)``, or ``None`` with every problem added: the field errors, then the
        checks across keys that pydantic skipped because of them (``_checks_left_out``)."""
        try:
            return model.model_validate(raw, context=self.context)
        except ValidationError as exc:
            self.add_errors(exc, model, where, kept=kept)
            for path, message in _checks_left_out(model, raw, exc, where, self.context):
                self.add(path, message)
            return None

    def add_errors(
        self, exc: ValidationError, model: type[BaseModel], where: KeyPath,
        *, kept: dict[str, int] | None = None
    ) -> None:
        """The problems of a ``ValidationError`` of ``model`` validated at ``where``."""
        for path, message in format_errors(exc.errors(include_url=False), model, where, kept=kept):
            self.add(path, message)

    def settings_warnings(self, settings: Any, where: KeyPath, *, own: dict[str, Any] | None = None) -> None:
        """A skill's own warnings about valid settings (``Settings.config_warnings()``: ``(loc, message)``
        pairs, e.g. a recommend pin that names no catalog item); in a channel (``own``: its override table)
        only those about keys the channel sets itself (the global ones are warned about once)."""
        found = getattr(settings, "config_warnings", None)
        if not callable(found):
            return
        for loc, message in found():
            if own is None or (loc and loc[0] in own):
                self.warn((*where, *loc), message)


def _checks_left_out(
    model: type[BaseModel], raw: dict[str, Any], exc: ValidationError, where: KeyPath,
    context: dict[str, Any] | None = None,
) -> list[tuple[KeyPath, str]]:
    """The checks across keys that pydantic skips while a key is invalid (model validators: duplicate ids,
    the staff budget below the viewers'; a list's validator while an entry is invalid): run once more
    without the invalid keys and list entries. The validators learn which keys were left out (context
    ``LEFT_OUT``), so that none compares a default standing in for a value the file gave wrongly."""
    if not isinstance(raw, dict):
        return []
    keys: set[str] = set()
    entries: dict[str, set[int]] = {}
    for err in exc.errors(include_url=False):
        loc = clean_loc(err["loc"])
        if not loc:
            continue
        head = str(loc[0])
        if len(loc) > 1 and isinstance(loc[1], int) and isinstance(raw.get(head), list):
            entries.setdefault(head, set()).add(loc[1])
        else:
            keys.add(head)
    if not keys and not entries:
        return []
    pruned = {k: v for k, v in raw.items() if k not in keys}
    for head, bad in entries.items():
        if head in pruned:
            pruned[head] = [v for i, v in enumerate(pruned[head]) if i not in bad]
    try:
        model.model_validate(pruned, context={**(context or {}), LEFT_OUT: frozenset(keys)})
    except ValidationError as again:
        # only our validators' own words: a "missing" key here is one left out above
        errors = [_unpruned(e, raw, entries) for e in again.errors(include_url=False)
                  if e["type"] == "value_error"]
        return format_errors(errors, model, where)
    except Exception:  # noqa: BLE001 - a second look must never break the first one's report
        log.debug("second validation pass of %s failed", keypath_text(where), exc_info=True)
    return []


def _unpruned(error: Any, raw: dict[str, Any], left_out: dict[str, set[int]]) -> Any:
    """``error`` of the second look with its list index as in the file: ``entries[1]`` of the list without
    the invalid entry 1 is the file's ``entries[2]`` (a duplicate was reported at the wrong entry)."""
    loc = tuple(error["loc"])
    if len(loc) < 2 or not isinstance(loc[1], int) or str(loc[0]) not in left_out:
        return error
    kept = [i for i in range(len(raw[str(loc[0])])) if i not in left_out[str(loc[0])]]
    return {**error, "loc": (loc[0], kept[loc[1]], *loc[2:])} if loc[1] < len(kept) else error


_IDENTITY_KEYS = ("id", "name")


def merge_override(base: dict[str, Any], override: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """A channel's ``[channels.skills.<name>]`` over the skill's ``[skills.<name>]``: each key of
    ``override`` replaces the base's, except lists of tables whose items carry an ``id`` or ``name``
    (FAQ entries, text commands): those are merged, a channel item replacing the global item of the same
    ``id``/``name`` (in any letter case: "HUG" replaces "hug") and the others added after the global ones.
    (One per-channel FAQ entry used to drop every global entry in that channel.) Lists of plain values
    (``keywords``) are replaced.

    Returns ``(merged, kept)``: ``kept[key]`` is how many global items come before the channel's own in a
    merged list (``file_loc`` maps an error's index back to the file)."""
    out = dict(base)
    kept: dict[str, int] = {}
    for key, value in override.items():
        old = base.get(key)
        ident = _list_identity(old) if isinstance(value, list) else None
        if ident is not None and _list_identity(value) == ident:
            ours = {item[ident].strip().casefold() for item in value}  # names are case-insensitive
            globals_kept = [item for item in old if item[ident].strip().casefold() not in ours]
            kept[key] = len(globals_kept)
            out[key] = globals_kept + list(value)
        else:
            out[key] = value
    return out, kept


def _list_identity(items: Any) -> str | None:
    """The key (``id`` or ``name``) every table of a non-empty list carries, else ``None``."""
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return None
    return next((k for k in _IDENTITY_KEYS if all(isinstance(i.get(k), str) for i in items)), None)


def core_skill_classes() -> dict[str, type]:
    """The skills built into the core: ``core`` (``!help``, ``bot.builtin``) and ``privacy``
    (``!forgetme``/``!mydata``, ``bot.privacy``). Sections:
    ``[skills.core]`` / ``[skills.privacy]``."""
    from bot.builtin import BuiltinSkill
    from bot.privacy import PrivacySkill

    return {BuiltinSkill.name: BuiltinSkill, PrivacySkill.name: PrivacySkill}


def _known_skill_names(skill_classes: dict[str, type]) -> tuple[str, ...]:
    try:
        from skills import SKILL_PATHS

        names = set(SKILL_PATHS)
    except ImportError:  # pragma: no cover - skills package always present
        names = set()
    return tuple(sorted(names | set(skill_classes)))


def _validate_inference(raw: Any, report: _Report) -> Any:
    if not report.expect_table(raw, ("inference",)):
        return {}
    try:
        from bot.inference.settings import InferenceSettings
    except ImportError:
        return dict(raw)
    return report.validate(InferenceSettings, raw, ("inference",)) or dict(raw)
