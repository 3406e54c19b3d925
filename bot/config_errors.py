"""Pydantic validation errors of the config said in TOML words: what was expected and what was found
(``format_errors``), unknown keys with a did-you-mean or, for a pasted secret, where secrets go
(``unknown_key``), values shown as they would be written (``show``). ``bot.config`` adds the file and line.
"""

from __future__ import annotations

import difflib
import json
import re
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel

from bot.config_lines import KeyPath
from bot.secrets import SECRET_NAMES, env_var


def file_loc(loc: KeyPath, kept: dict[str, int] | None) -> KeyPath:
    """``loc`` in a channel's merged settings (``merge_override``'s ``kept``) with an index into a merged
    list rewritten to the entry's index in the channel's own list, as written in the file (the global
    entries come first in the merged list: a channel's first command was reported as ``entries[2]``)."""
    if not kept or len(loc) < 2 or not isinstance(loc[1], int):
        return loc
    offset = kept.get(str(loc[0]))
    if offset is None or loc[1] < offset:
        return loc
    return (loc[0], loc[1] - offset, *loc[2:])



def format_errors(
    errors: list[Any], model: type[BaseModel], where: KeyPath, *, kept: dict[str, int] | None = None
) -> list[tuple[KeyPath, str]]:
    """``(path, message)`` per pydantic error of ``model`` validated at ``where``: what was expected and
    what was found, in TOML words. ``kept``: see ``file_loc`` (a channel's merged lists)."""
    lines: list[tuple[KeyPath, str]] = []
    for err in errors:
        loc = tuple(err["loc"])
        path = (*where, *file_loc(clean_loc(loc), kept))
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            choices = tuple(parent.model_fields) if parent is not None else ()
            section = next((str(p) for p in reversed(path[:-1]) if isinstance(p, str)), "")
            lines.append((path, unknown_key(str(loc[-1]), choices, section=section)))
            continue
        if err["type"] == "missing":
            lines.append((path, "missing required key"))
            continue
        if err["type"] == "value_error":  # our validators' own words say what is wrong
            cause = (err.get("ctx") or {}).get("error")
            message = str(cause) if cause is not None else str(err["msg"]).removeprefix("Value error, ")
            lines.append((path, message))
            continue
        info = _field_at(model, loc)
        expected = _expected(info) if info is not None else None
        if err["type"] == "string_pattern_mismatch":
            pattern = str((err.get("ctx") or {}).get("pattern", ""))
            rule = _PATTERN_WORDS.get(pattern, f"matching the pattern {pattern}")
            lines.append((path, f"expected {rule}, got {show_value(err.get('input'))}"))
            continue
        if expected and expected.startswith("a list") and loc and isinstance(loc[-1], int):
            expected = _item_expected(info)  # a bad item, not a bad list: say what an item must be
        found = show_value(err.get("input"))
        if expected and expected.startswith("a list") and isinstance(err.get("input"), dict):
            # [skills.recommend.catalog] where [[skills.recommend.catalog]] was meant: the usual TOML slip
            name = ".".join(key_text(p) for p in path if isinstance(p, str))
            found += f" (write each entry under [[{name}]], with double brackets)"
        if err["type"] == "literal_error" and isinstance(err.get("input"), str) and info is not None:
            choices = [str(c) for c in typing.get_args(info.annotation) if isinstance(c, str)]
            close = difflib.get_close_matches(err["input"].lower(), choices, n=1)
            if close:
                found += f'; did you mean "{close[0]}"?'
        if expected:
            lines.append((path, f"expected {expected}, got {found}"))
        else:
            lines.append((path, f"{err['msg'][0].lower() + err['msg'][1:]}, got {found}"))
    return lines


_PATTERN_WORDS = {  # the patterns our settings use, said in words ("Emotes!" was "expected a string")
    r"^[a-z0-9][a-z0-9_-]*$": "lower-case letters, digits, _ and - (a letter or digit first)",
    r"^[a-z0-9][a-z0-9_]{0,24}$": "1-25 lower-case letters a-z, digits 0-9 or _ (a letter or digit first)",
}


def clean_loc(loc: tuple[Any, ...]) -> KeyPath:
    """A pydantic error location without its type tags (``function-after[...]``, ``str``, ...): the keys
    and list indexes as written in the file."""
    return tuple(
        part for part in loc
        if isinstance(part, int)
        or not (str(part).startswith(("function-", "literal[", "union[")) or part in _TYPE_TAGS)
    )


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_text(key: str) -> str:
    """One TOML key as written in a file: bare when it can be (``prefix``), else quoted (``"bot.prefix"``,
    ``"my key"``), so a quoted key with a dot is not read as two keys."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def keypath_text(path: KeyPath) -> str:
    """``("channels", 0, "skills", "faq")`` -> ``channels[0].skills.faq``; keys that need quotes in TOML
    keep them: ``("bot", "bot.prefix")`` -> ``bot."bot.prefix"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{key_text(str(part))}" if out else key_text(str(part))
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


_DISTINCT_TOKENS = (  # shapes no ordinary text has: found anywhere in a value
    re.compile(r"oauth:\s*[A-Za-z0-9]{20,}", re.IGNORECASE),  # a Twitch chat token, as generators gave it
    re.compile(r"(?<![\w.-])[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"),  # Discord bot
)
# a Twitch access token (30 lower-case letters and digits) or refresh token (about 50: Twitch's example
# has 49; 40 and 64 stay free for SHA-1 and SHA-256 hex, e.g. a model revision)
_TWITCH_SHAPE = r"(?=[a-z0-9]*[0-9])(?=[a-z0-9]*[a-z])(?:[a-z0-9]{30}|[a-z0-9]{45,55})"
_TWITCH_TOKEN = re.compile(_TWITCH_SHAPE)  # in the config: only as a whole value
_TWITCH_TOKEN_WORD = re.compile(rf"(?<![\w/]){_TWITCH_SHAPE}(?![\w/])")  # redacted where a word of its own
# typed into a chat command: anywhere between non-alphanumerics ("token=<30>", "pw:<30>", "oauth_<30>")
_TWITCH_TOKEN_IN_TEXT = re.compile(rf"(?<![a-z0-9]){_TWITCH_SHAPE}(?![a-z0-9])")
TOKEN_LOOKALIKE = "a value that looks like a token (not shown)"


def looks_like_token(value: str) -> bool:
    """Whether a config string is, or holds, a Twitch or Discord token: an ``oauth:`` token or a Discord
    bot token anywhere in it (a paste into a command response would be posted to chat), or a whole value
    of 30 or 45-55 lower-case letters and digits (a Twitch access or refresh token; inside text those shapes
    are too common; a loaded token anywhere in the config is refused by ``chatcast`` itself).
    Such a value is never shown in a message, and in the config it is an error (``token_in_config``)."""
    text = value.strip()
    return bool(_TWITCH_TOKEN.fullmatch(text)) or any(shape.search(text) for shape in _DISTINCT_TOKENS)


def holds_token(text: str) -> bool:
    """``looks_like_token``, or a Twitch token's shape anywhere in ``text`` between non-alphanumerics:
    the stricter test for text typed into a chat command for the bot to store and post, where a sentence
    holding such a word is rare (``!cmd add t token=<30 characters>`` was saved)."""
    return looks_like_token(text) or _TWITCH_TOKEN_IN_TEXT.search(text) is not None


_TOKEN_PIECES = (  # what a validator that cut a value to N characters leaves of a token
    re.compile(r"oauth:\s*[A-Za-z0-9]{6,}", re.IGNORECASE),
    re.compile(r"(?<![\w.-])[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{2,}"),  # a Discord token's head and dot
)


def redact_tokens(text: str) -> str:
    """``text`` (an error message, a key path) with every token-shaped part replaced, so no message
    repeats a token whichever validator wrote it ("a command name is 1-25 letters ... (got '<token>')"),
    also a token cut short by the validator ("(got 'MTA5ODc2NTQzMjEwOTg3NjU0.GhIjK')")."""
    for shape in (*_DISTINCT_TOKENS, *_TOKEN_PIECES, _TWITCH_TOKEN_WORD):
        text = shape.sub("<a value that looks like a token>", text)
    return text


_TOKEN_NAMES = [n for n in SECRET_NAMES if n.endswith("_token") and "refresh" not in n]
_TOKEN_VARIABLES = f"an environment variable ({' or '.join(env_var(n) for n in _TOKEN_NAMES)})"
_SECRETS_DOC = "(chmod 600; see docs/core.md, Secrets)"


def token_in_config(value: str) -> str:
    """The problem of a token-shaped ``value`` anywhere in the config (its key is no secret's name); the
    "not a token?" hint only for the bare 30- or 45-55-character shapes, the ones ordinary ids can have."""
    hint = ("; not a token? a whole value of 30 or 45-55 lower-case letters and digits reads as one"
            if _TWITCH_TOKEN.fullmatch(value.strip()) else "")
    return (f"{TOKEN_LOOKALIKE}: secrets never go in the config file; set {_TOKEN_VARIABLES} or put it in "
            f"the secrets file {_SECRETS_DOC}{hint}")


def show_value(value: Any) -> str:
    """A found value as it would be written in TOML: strings in double quotes (cut to ``SHOW_MAX_CHARS``),
    booleans lower-case, lists by their length; a token-shaped string (``looks_like_token``) is not shown."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and looks_like_token(value):
        return TOKEN_LOOKALIKE
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


SECRET_WORDS = ("token", "secret", "password", "passwd", "oauth", "api_key", "apikey", "credential")
"""An unknown key with one of these in its name is taken for a pasted secret (``_secret_hint``)."""


def unknown_key(
    key: str, choices: tuple[str, ...] | list[str], *, what: str = "key", section: str | None = None
) -> str:
    """``unknown key`` with a did-you-mean, or the keys there are; for a key that looks like a secret
    (``section``: the table it is in), where secrets go instead (``_secret_hint``)."""
    hint = _secret_hint(key, section) if section is not None else None
    if hint is not None:
        return f"unknown {what}: {hint}"
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    if close:
        return f'unknown {what}; did you mean "{close[0]}"?'
    if choices:
        return f"unknown {what}; expected one of: {', '.join(sorted(choices))}"
    return f"unknown {what}"


def is_secret_key(key: str) -> bool:
    """Whether ``key`` reads as a secret's name (``SECRET_WORDS``, ``SECRET_NAMES``): the unknown-key
    message of such a key says where secrets go."""
    low = key.strip().lower().replace("-", "_")
    return low in SECRET_NAMES or any(word in low for word in SECRET_WORDS)


def _secret_hint(key: str, section: str) -> str | None:
    """Where a secret pasted into the config belongs, or ``None`` when ``key`` does not look like one.

    ``[bot] twitch_token``, ``[twitch] token`` and ``[twitch] client_id`` name ``twitch_token`` /
    ``twitch_client_id`` of ``bot.secrets``; other secret-like keys (``SECRET_WORDS``) get the token
    variables. Never the value: it is a secret."""
    low = key.strip().lower().replace("-", "_")
    name = next((n for n in (low, f"{section}_{low}") if n in SECRET_NAMES), None)
    if name is None and not is_secret_key(key):
        return None
    if name is not None:
        where = f"set the environment variable {env_var(name)} or put {name} in the secrets file"
    else:
        where = f"set {_TOKEN_VARIABLES} or put its key ({' or '.join(_TOKEN_NAMES)}) in the secrets file"
    return f"secrets never go in the config file; {where} {_SECRETS_DOC}"
