"""The streamer's TOML config, validated once at start-up into typed objects.

Layout (see ``config.example.toml`` and ``docs/core.md``)::

    [bot]                  BotSettings
    [twitch]               TwitchSettings (read by ``bot.adapters.cli.build_adapters``)
    [discord]              DiscordSettings (read by ``bot.adapters.cli.build_adapters``)
    [inference]            bot.inference.settings.InferenceSettings (a plain dict when that module is absent)
    [skills.<name>]        defaults for every channel, validated against the skill class's ``Settings``
    [[channels]]           platform, name, optional prefix, optional [channels.skills.<name>] overrides

Every problem is reported with the file, the key path, what was expected and what was found, e.g.
``config.toml: channels[0].skills.faq.threshold: expected a number between 0 and 1, got "high"``.
Unknown keys are errors with a did-you-mean (``difflib``). All problems of one file are reported together
in one ``ConfigError``.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skills.base import SkillSettings

log = logging.getLogger(__name__)

PLATFORMS = ("twitch", "discord", "console", "replay")
TOP_LEVEL_KEYS = ("bot", "twitch", "discord", "inference", "skills", "channels")
DEFAULT_CONFIG_NAME = "config.toml"



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
    """The config is invalid. ``problems`` holds one line per problem (``file: key.path: message``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


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
    """

    model_config = ConfigDict(extra="forbid", strict=True)

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

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return check_prefix(value)

    @field_validator("log_level", "overflow", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _staff_budget(self) -> BotSettings:
        staff, viewers = self.staff_commands_per_30s, self.viewer_commands_per_30s
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

    model_config = ConfigDict(extra="forbid", strict=True)

    open_joins: bool = False


class DiscordSettings(BaseModel):
    """``[discord]``: the Discord adapter's settings (``bot.adapters.cli.build_adapters``).

    Role names (case-insensitive) or ids that map Discord members to Chatcast roles in every server:
    ``mod_roles`` (moderator; members with Manage Messages always are), ``vip_roles``,
    ``subscriber_roles`` (e.g. the role Discord's Twitch integration gives subscribers).
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    mod_roles: list[str] = Field(default_factory=list)
    vip_roles: list[str] = Field(default_factory=list)
    subscriber_roles: list[str] = Field(default_factory=list)


class ChannelConfig(BaseModel):
    """One ``[[channels]]`` entry. ``skills`` holds raw per-skill overrides (validated by ``load_config``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

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
        text = path.read_text(encoding="utf-8-sig")  # a Windows editor's byte-order mark is not TOML
    except FileNotFoundError:
        raise ConfigError([f"{path}: config file not found (create one with `chatcast init`)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read config file: {exc}"]) from None
    data = parse_toml(text, label)
    return validate_config(data, label=label, path=path, skill_classes=skill_classes)


_TOML_HINTS = {  # tomllib's words for the usual mistakes
    "Cannot overwrite a value": "Cannot overwrite a value: a key or table is defined twice, or a table "
                                "written [name] where a list of entries needs [[name]] (at this line or "
                                "earlier)",
    "Cannot declare": "a table is declared twice",
}


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
            raise ConfigError(
                [f"{label}: line {match.group(1)}, column {match.group(2)}: invalid TOML: {reason}"]
            ) from None
        raise ConfigError([f"{label}: invalid TOML: {message}"]) from None


def validate_config(
    data: dict[str, Any], *, label: str, path: Path | None, skill_classes: dict[str, type] | None = None
) -> Config:
    """Validate parsed TOML ``data`` (see ``load_config``); ``label`` prefixes every message."""
    if skill_classes is None:
        from skills import registry

        skill_classes = registry()
    skill_classes = {**core_skill_classes(), **skill_classes}
    problems: list[str] = []
    config = Config(path=path, skill_classes=skill_classes)

    for key in data:
        if key not in TOP_LEVEL_KEYS:
            problems.append(f"{label}: {key}: {_unknown_key(key, TOP_LEVEL_KEYS)}")

    bot_raw = data.get("bot", {})
    if _expect_table(bot_raw, "bot", label, problems):
        config.bot = _validate(BotSettings, bot_raw, "bot", label, problems) or BotSettings()
    for key, model in (("twitch", TwitchSettings), ("discord", DiscordSettings)):
        raw = data.get(key, {})
        if _expect_table(raw, key, label, problems):
            setattr(config, key, _validate(model, raw, key, label, problems) or model())

    config.inference = _validate_inference(data.get("inference", {}), label, problems)

    skills_raw = data.get("skills", {})
    known_names = _known_skill_names(skill_classes)
    if _expect_table(skills_raw, "skills", label, problems):
        for name, table in skills_raw.items():
            where = f"skills.{name}"
            if not _expect_table(table, where, label, problems):
                continue
            if name in skill_classes:
                settings = _validate(skill_classes[name].Settings, table, where, label, problems)
                if settings is not None:
                    config.skill_defaults[name] = settings
            elif name in known_names:
                config.skill_raw[name] = table
                config.warnings.append(
                    f"{label}: {where}: skill {name!r} is not installed; section not checked"
                )
            else:
                problems.append(f"{label}: {where}: {_unknown_key(name, known_names, what='skill')}")
    for name, cls in skill_classes.items():
        if name not in config.skill_defaults:
            try:
                config.skill_defaults[name] = cls.Settings()
            except ValidationError as exc:
                problems.extend(_format_errors(exc, cls.Settings, f"skills.{name}", label, {}))

    channels_raw = data.get("channels", [])
    if not isinstance(channels_raw, list):
        problems.append(
            f"{label}: channels: expected a list of [[channels]] tables, got {_show(channels_raw)}"
        )
        channels_raw = []
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(channels_raw):
        where = f"channels[{i}]"
        if not _expect_table(entry, where, label, problems):
            continue
        channel = _validate(ChannelConfig, entry, where, label, problems)
        if channel is None:
            continue
        key = (channel.platform, channel.name.lower())
        if key in seen:
            problems.append(
                f"{label}: {where}: channel {channel.platform}/{channel.name} is already configured as "
                f"channels[{seen[key]}]"
            )
            continue
        seen[key] = i
        config.channels.append(channel)
        merged: dict[str, SkillSettings] = {}
        for name, override in channel.skills.items():
            swhere = f"{where}.skills.{name}"
            if name in skill_classes:
                base = config.skill_defaults.get(name)
                base_dict = base.model_dump(exclude_unset=True) if base is not None else {}
                seen_problems = len(problems)
                merged_dict, kept = merge_override(base_dict, override)
                settings = _validate(skill_classes[name].Settings, merged_dict, swhere, label, problems)
                # an error in a channel's own entry names its index in the file, not in the merged list
                problems[seen_problems:] = [_file_index(p, swhere, kept) for p in problems[seen_problems:]]
                if settings is not None:
                    merged[name] = settings
            elif name not in known_names:
                problems.append(f"{label}: {swhere}: {_unknown_key(name, known_names, what='skill')}")
        config.channel_skills[key] = merged

    if problems:
        raise ConfigError(problems)
    return config


_IDENTITY_KEYS = ("id", "name")


def merge_override(base: dict[str, Any], override: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """A channel's ``[channels.skills.<name>]`` over the skill's ``[skills.<name>]``: each key of
    ``override`` replaces the base's, except lists of tables whose items carry an ``id`` or ``name``
    (FAQ entries, text commands): those are merged, a channel item replacing the global item of the same
    ``id``/``name`` and the others added after the global ones. (One per-channel FAQ entry used to drop
    every global entry in that channel.) Lists of plain values (``keywords``) are replaced.

    Returns ``(merged, kept)``: ``kept[key]`` is how many global items come before the channel's own in a
    merged list (``_file_index`` maps an error's index back to the file)."""
    out = dict(base)
    kept: dict[str, int] = {}
    for key, value in override.items():
        old = base.get(key)
        ident = _list_identity(old) if isinstance(value, list) else None
        if ident is not None and _list_identity(value) == ident:
            ours = {item[ident] for item in value}
            globals_kept = [item for item in old if item[ident] not in ours]
            kept[key] = len(globals_kept)
            out[key] = globals_kept + list(value)
        else:
            out[key] = value
    return out, kept


def _file_index(problem: str, swhere: str, kept: dict[str, int]) -> str:
    """``problem`` about ``<swhere>.<key>[i]`` of a merged list (``merge_override``'s ``kept``) with ``i``
    rewritten to the entry's index in the channel's own list, as written in the file (the global entries
    come first in the merged list: a channel's first command was reported as ``entries[2]``)."""
    def fix(match: re.Match[str]) -> str:
        key, index = match.group(1), int(match.group(2))
        offset = kept.get(key)
        return match.group(0) if offset is None or index < offset else f"{swhere}.{key}[{index - offset}]"

    return re.sub(rf"{re.escape(swhere)}\.(\w+)\[(\d+)\]", fix, problem, count=1)


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


def _validate_inference(raw: Any, label: str, problems: list[str]) -> Any:
    if not _expect_table(raw, "inference", label, problems):
        return {}
    try:
        from bot.inference.settings import InferenceSettings
    except ImportError:
        return dict(raw)
    return _validate(InferenceSettings, raw, "inference", label, problems) or dict(raw)


def _expect_table(value: Any, where: str, label: str, problems: list[str]) -> bool:
    if isinstance(value, dict):
        return True
    problems.append(f"{label}: {where}: expected a table, got {_show(value)}")
    return False


def _validate(
    model: type[BaseModel], raw: dict[str, Any], where: str, label: str, problems: list[str]
) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_format_errors(exc, model, where, label, raw))
        return None


# ------------------------------------------------------------------------------------ error messages


def _format_errors(
    exc: ValidationError, model: type[BaseModel], where: str, label: str, raw: dict[str, Any]
) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        keypath = _join(where, loc)
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            choices = tuple(parent.model_fields) if parent is not None else ()
            lines.append(f"{label}: {keypath}: {_unknown_key(str(loc[-1]), choices)}")
            continue
        if err["type"] == "missing":
            lines.append(f"{label}: {keypath}: missing required key")
            continue
        if err["type"] == "value_error":  # our validators' own words say what is wrong
            cause = (err.get("ctx") or {}).get("error")
            message = str(cause) if cause is not None else str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{label}: {keypath}: {message}")
            continue
        info = _field_at(model, loc)
        expected = _expected(info) if info is not None else None
        if err["type"] == "string_pattern_mismatch":
            pattern = str((err.get("ctx") or {}).get("pattern", ""))
            rule = _PATTERN_WORDS.get(pattern, f"matching the pattern {pattern}")
            lines.append(f"{label}: {keypath}: expected {rule}, got {_show(err.get('input'))}")
            continue
        if expected and expected.startswith("a list") and loc and isinstance(loc[-1], int):
            expected = _item_expected(info)  # a bad item, not a bad list: say what an item must be
        found = _show(err.get("input"))
        if expected:
            lines.append(f"{label}: {keypath}: expected {expected}, got {found}")
        else:
            lines.append(f"{label}: {keypath}: {err['msg'][0].lower() + err['msg'][1:]}, got {found}")
    return lines


_PATTERN_WORDS = {  # the patterns our settings use, said in words ("Emotes!" was "expected a string")
    r"^[a-z0-9][a-z0-9_-]*$": "lower-case letters, digits, _ and - (a letter or digit first)",
    r"^[a-z0-9][a-z0-9_]{0,24}$": "1-25 lower-case letters, digits or _ (a letter or digit first)",
}


def _join(where: str, loc: tuple[Any, ...]) -> str:
    out = where
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith(("function-", "literal[", "union[")) and part not in _TYPE_TAGS:
            out += f".{part}" if out else str(part)
    return out


_TYPE_TAGS = {
    "str",
    "int",
    "float",
    "bool",
    "list[str]",
    "dict",
    "list",
    "is-instance[Path]",
    "lax-or-strict",
}


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        info = current.model_fields.get(str(part))
        if info is None:
            return current if isinstance(current, type) and issubclass(current, BaseModel) else None
        current = _inner_model(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _field_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    current: Any = model
    info = None
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            break
        if isinstance(part, int):
            continue
        info = current.model_fields.get(str(part))
        if info is None:
            break
        current = _inner_model(info.annotation)
    return info


def _expected(info: Any) -> str | None:
    """Plain-English description of what a pydantic field accepts, from its type and bounds."""
    ann = info.annotation
    args = get_args(ann)
    if args and type(None) in args and get_origin(ann) is not Literal:
        rest = [a for a in args if a is not type(None)]
        ann = rest[0] if len(rest) == 1 else ann
    lo = hi = None
    lo_open = hi_open = False
    min_len = max_len = None
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            lo = meta.ge
        elif isinstance(meta, annotated_types.Gt):
            lo, lo_open = meta.gt, True
        elif isinstance(meta, annotated_types.Le):
            hi = meta.le
        elif isinstance(meta, annotated_types.Lt):
            hi, hi_open = meta.lt, True
        elif isinstance(meta, annotated_types.MinLen):
            min_len = meta.min_length
        elif isinstance(meta, annotated_types.MaxLen):
            max_len = meta.max_length
    if get_origin(ann) is Literal:
        text = "one of " + ", ".join(json.dumps(v) for v in get_args(ann))
    elif ann is bool:
        text = "true or false"
    elif ann in (int, float):
        noun = "an integer" if ann is int else "a number"
        text = noun + _bounds(lo, hi, lo_open, hi_open)
    elif ann is str:
        text = "a string"
        if min_len is not None and max_len is not None:
            text += f" of {min_len} to {max_len} characters"
        elif min_len:
            text = "a non-empty string"
    elif ann is Path:
        text = "a path (string)"
    elif get_origin(ann) in (list, tuple, set, frozenset):
        text = "a list"
        if min_len and max_len is not None:
            text += f" of {min_len} to {max_len} items"
        elif min_len:
            text += f" of at least {min_len} item{'' if min_len == 1 else 's'}"
        elif max_len is not None:
            text += f" of at most {max_len} items"
    elif get_origin(ann) is dict or ann is dict:
        text = "a table"
    else:
        return None
    return text


def _item_expected(info: Any) -> str | None:
    """What one item of a ``list[X]`` field accepts (``a string`` for ``list[str]``)."""
    args = [a for a in get_args(info.annotation) if a is not type(None)]
    inner = get_args(args[0]) if len(args) == 1 and get_args(args[0]) else args
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    return names.get(inner[0]) if len(inner) == 1 else None


def _bounds(lo: Any, hi: Any, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None and not lo_open and not hi_open:
        return f" between {_num(lo)} and {_num(hi)}"
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {_num(lo)}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {_num(hi)}")
    return (" " + " and ".join(parts)) if parts else ""


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


SHOW_MAX_CHARS = 60
"""A found string longer than this is shown cut, with its length (a 100 KB value must not flood the
terminal)."""


def _show(value: Any) -> str:
    """A found value as it would be written in TOML: strings in double quotes (cut to ``SHOW_MAX_CHARS``),
    booleans lower-case, lists by their length."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if len(value) > SHOW_MAX_CHARS:
            cut = json.dumps(value[:SHOW_MAX_CHARS], ensure_ascii=False)[:-1]
            return cut + f'..." ({len(value)} characters)'
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    return str(value)


def _unknown_key(key: str, choices: tuple[str, ...] | list[str], *, what: str = "key") -> str:
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    if close:
        return f'unknown {what}; did you mean "{close[0]}"?'
    if choices:
        return f"unknown {what}; expected one of: {', '.join(sorted(choices))}"
    return f"unknown {what}"
