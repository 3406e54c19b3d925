"""Custom text commands and timed messages (skills.commands): config, !cmd add/edit/remove, the router's
custom-command dispatch (permission levels, cooldowns, built-ins first), variables, timers, privacy."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fakes.commands import FakeCommandContext

from bot.adapters.replay import ReplayAdapter
from bot.clock import ManualClock
from bot.config import ConfigError, load_config
from bot.events import ChatMessage, Role, Viewer
from bot.runtime import Runtime
from skills.base import SkillContext
from skills.commands.entries import (
    MAX_OUTPUT_CHARS,
    CustomCommand,
    NewCommand,
    TimedMessage,
    check_name,
    mentioned_name,
    parse_add,
)
from skills.commands.skill import CommandsSettings, CommandsSkill
from storage import commands as store
from storage.db import Database

CLASSES = {"commands": CommandsSkill}

CONFIG = """
[bot]
data_dir = "data"

[[channels]]
platform = "replay"
name = "chan"

[[skills.commands.entries]]
name = "discord"
aliases = ["dc"]
response = "Join us: discord.gg/example (asked {count} times)"
cooldown_user_s = 0
cooldown_channel_s = 30

[[skills.commands.entries]]
name = "modsonly"
response = "Hello mods"
permission = "moderator"

[[skills.commands.entries]]
name = "hug"
response = "{user} hugs {touser}"
cooldown_user_s = 0
cooldown_channel_s = 0
"""

LOG = "\n".join([
    "[2024-05-10 20:00:00 UTC] alice: !discord",  # -> count 1
    "[2024-05-10 20:00:10 UTC] bob: !dc",  # channel cooldown (30 s): nothing
    "[2024-05-10 20:00:45 UTC] bob: !DC",  # alias, any case -> count 2
    "[2024-05-10 20:01:00 UTC] carol: !modsonly",  # everyone: denied, silent
    '{"ts": "2024-05-10T20:01:10Z", "user": "mod", "text": "!modsonly", "roles": ["moderator"]}',
    "[2024-05-10 20:01:20 UTC] carol: !hug @alice",  # alice chatted: named
    "[2024-05-10 20:01:30 UTC] carol: !hug you are all idiots",  # free text is never repeated
    "[2024-05-10 20:01:40 UTC] carol: !hug @raider",  # never chatted here: not named by a viewer
    '{"ts": "2024-05-10T20:01:50Z", "user": "mod", "text": "!hug @raider", "roles": ["moderator"]}',
    '{"ts": "2024-05-10T20:02:00Z", "user": "mod", "text": "!cmd add lurk -ul=sub {user} is lurking", '
    '"roles": ["moderator"]}',
    "[2024-05-10 20:02:10 UTC] dave: !lurk",  # not a subscriber: silent
    '{"ts": "2024-05-10T20:02:20Z", "user": "erin", "text": "!lurk", "roles": ["subscriber"]}',
    '{"ts": "2024-05-10T20:02:30Z", "user": "mod", "text": "!cmd add help hi", "roles": ["moderator"]}',
    '{"ts": "2024-05-10T20:02:40Z", "user": "mod", "text": "!cmd remove discord", "roles": ["moderator"]}',
    '{"ts": "2024-05-10T20:02:50Z", "user": "mod", "text": "!cmd list", "roles": ["moderator"]}',
    "",
])


async def replay(tmp_path: Path, config_text: str, log: str) -> list[str]:
    cfg = tmp_path / "chatcast.toml"
    cfg.write_text(config_text)
    config = load_config(cfg, skill_classes=CLASSES)
    clock = ManualClock(datetime(2024, 5, 10, 19, 59, tzinfo=UTC))
    runtime = Runtime(config, clock=clock, db_path=":memory:", use_engine=False, skill_classes=CLASSES,
                      daily_purge=False)
    await runtime.start()
    try:
        adapter = ReplayAdapter(io.StringIO(log), channel="chan", clock=clock)
        await runtime.replay(adapter)
        return [e.text for e in adapter.transcript]
    finally:
        await runtime.stop()


async def test_replay_answers_exactly_the_custom_commands(tmp_path: Path) -> None:
    assert await replay(tmp_path, CONFIG, LOG) == [
        "Join us: discord.gg/example (asked 1 times)",
        "Join us: discord.gg/example (asked 2 times)",
        "Hello mods",
        "carol hugs alice",
        "carol hugs carol",
        "@carol hugs carol",  # the same text twice in 30 s (Twitch drops it): addressed, not dropped
        "mod hugs raider",  # a moderator may name anyone (a shoutout to a raider who never chatted)
        "Added !lurk (subscribers and up).",
        "erin is lurking",
        "Not added: !help is a built-in command.",
        "Not removed: !discord is defined in the config file; change it there.",
        "Text commands: !discord, !modsonly (moderator), !hug, !lurk (subscriber). "
        "Manage: !cmd add|edit|remove",
    ]


async def test_touser_names_a_viewer_who_only_typed_a_builtin_command(tmp_path: Path) -> None:
    # regression (trial): alice had only typed !help, which never reached the skill's on_message, so
    # "!hug @alice" by a viewer said "carol hugs carol"
    log = "[2024-05-10 20:00:00 UTC] alice: !help\n[2024-05-10 20:00:01 UTC] carol: !hug @alice\n"
    texts = await replay(tmp_path, CONFIG, log)
    assert texts[0].startswith("Commands: !help") and texts[1:] == ["carol hugs alice"]


def test_duplicates_are_reported_at_their_own_entry(tmp_path: Path) -> None:
    # both errors pointed at the [skills.commands] table's line, and a timer duplicate hid behind a command
    # one; then a duplicate after an invalid entry was reported at entries[1] (the list without the invalid
    # entry), the invalid entry's own line
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[skills.commands.entries]]\nname = "dc"\nresponse = "a"\n'
                   '[[skills.commands.entries]]\nname = "x"\nresponse = "b"\npermission = "admin"\n'
                   '[[skills.commands.entries]]\nname = "DC"\nresponse = "c"\n'
                   '[[skills.commands.timers]]\nid = "t"\nmessage = "hi"\n'
                   '[[skills.commands.timers]]\nid = "t"\nmessage = "ho"\n')
    with pytest.raises(ConfigError) as info:
        load_config(cfg, skill_classes=CLASSES)
    assert [p.split(": ", 3)[1:3] for p in info.value.problems] == [
        ["line 7", "skills.commands.entries[1].permission"],
        ["line 9", "skills.commands.entries[2].name"],
        ["line 15", "skills.commands.timers[1].id"],
    ]


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cases = [
        ('name = "hug"', 'name = "Hug me"', "entries[2].name"),
        ('response = "Hello mods"', 'response = "/ban someone"', "cannot start with '/'"),
        ('response = "Hello mods"', 'response = "Hi {nope}"', "unknown variable(s) {nope}"),
        # the second definition's own line, not the table's
        ('aliases = ["dc"]', 'aliases = ["hug"]',
         "line 22: skills.commands.entries[2].name: command name 'hug' is already the name or an alias of an "
         "earlier command"),
        ('permission = "moderator"', 'permission = "admin"', "entries[1].permission"),
    ]
    for old, new, expected in cases:
        cfg.write_text(CONFIG.replace(old, new))
        with pytest.raises(ConfigError) as info:
            load_config(cfg, skill_classes=CLASSES)
        assert expected in str(info.value), (new, str(info.value))
        assert "skills.commands" in str(info.value)
    # regression: a 60 s timer with min_messages 0 posted after every line of a quiet chat
    with pytest.raises(ValueError, match="interval_s"):
        TimedMessage(id="t", message="hi", interval_s=60)
    with pytest.raises(ValueError, match="min_messages"):
        TimedMessage(id="t", message="hi", min_messages=0)


def test_parse_add_validation() -> None:
    assert parse_add("!Discord  Join us") .name == "discord"
    new = parse_add("lurk -ul=mod {user} lurks")
    assert (new.name, new.response, new.permission) == ("lurk", "{user} lurks", "moderator")
    # regression (trial 19): Nightbot's own level names were "unknown role"
    for nightbot, ours in (("twitch_vip", "vip"), ("Twitch_Subscriber", "subscriber"), ("regular", "vip")):
        assert parse_add(f"n2 -ul={nightbot} hi").permission == ours
    for bad, reason in [
        ("", "usage"),
        ("lurk", "usage"),
        ("lu!rk x", "letters a-z, digits 0-9 or _"),
        ("grüße hallo", "letters a-z, digits 0-9 or _"),  # trial 19: "letters" did not say ASCII
        # trial 19: another bot's variable we do not have was posted as typed
        ("so {user} lurks $(urlfetch https://x.y)", "a variable of another bot that Chatcast does not have"),
        # trial 20: StreamElements' form got "write plain {customapi.https}", which is no variable either
        ("se hi ${customapi.https://a.b}", "uses \\$\\{customapi.https ...\\}, a variable of another bot"),
        ("se ${user} says ${random.pick 'a' 'b'}", "uses \\$\\{random.pick ...\\}, a variable of another"),
        ("-ul=mod nb2 hi", "options such as -ul= go after the name"),
        ("x" * 26 + " hi", "letters a-z, digits 0-9 or _"),
        ("x .timeout someone", "cannot start with '.'"),
        ("x -ul=king hi", "unknown role"),
        ("x -ul=" + "a" * 1000 + " hi", "unknown role '" + "a" * 29 + "…'"),  # trial 26: echoed in full
        ("x {oops", "unbalanced braces"),
        ("lvl2 -ul= hi", "write the level as -ul=moderator"),  # regression: added "-ul= hi" for everyone
        # regression: format specs built a 300 MB reply ({user:>300000000}) or posted the raw template
        ("pad {user:>300000000}.", r"write plain \{user\}"),
        ("c {count:,}", r"write plain \{count\}"),
        ("r {user!r}", r"write plain \{user\}"),
        ("a {user.__class__}", "unknown variable"),
        ("x " + "a" * 401, "at most 400"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_add(bad)
    assert check_name("!GG") == "gg"
    # regression: a mod's "!so everyone" with "Go follow @{touser}!" said "Go follow @everyone!"
    assert mentioned_name(["@everyone"]) is None and mentioned_name(["@Here"]) is None
    assert mentioned_name(["@Bob"]) == "Bob"
    # regression: config wanted "discord" exactly ("expected a string, got "!discord"") and refused "mod"
    entry = CustomCommand(name="!Discord", response="x", permission="Mod")
    assert (entry.name, entry.permission) == ("discord", "moderator")
    with pytest.raises(ValueError, match="unknown role 'moderatorz'"):
        CustomCommand(name="x", response="x", permission="moderatorz")


def harness(tmp_path: Path, settings: CommandsSettings, *, live: bool = True):
    db = Database(":memory:")
    posted: list[str] = []

    async def post(platform, channel, text, **_) -> None:
        posted.append(text)

    info = SimpleNamespace(platform="twitch", channel="chan", streamer="Sam", live=live, category="Celeste",
                           title="t", uptime_s=60.0, max_message_len=500)
    ctx = SkillContext(storage=db, engine=None, post=post, settings_for=lambda p, c: settings,
                       channel_info=lambda p, c: info, data_dir=tmp_path)
    return CommandsSkill(ctx), db, posted


def mod_ctx(rest: str, settings: CommandsSettings, user: str = "mod",
            role: Role = Role.MODERATOR) -> FakeCommandContext:
    message = ChatMessage("twitch", "chan", "id", Viewer("twitch", user, user, frozenset({role})), rest,
                          datetime(2024, 5, 10, 20, 0, tzinfo=UTC))
    return FakeCommandContext(message, settings, rest)


async def test_a_command_added_in_a_replay_keeps_the_logs_time(tmp_path: Path) -> None:
    # trial 25: custom_commands.created_at was the wall clock in a replay, unlike every other table
    settings = CommandsSettings()
    skill, db, _ = harness(tmp_path, settings)
    await skill.start()
    await skill.cmd_add(mod_ctx("gg GG", settings))  # said at 2024-05-10 20:00 UTC
    assert db.raw.execute("SELECT created_at FROM custom_commands WHERE name = 'gg'").fetchone() == (
        "2024-05-10T20:00:00+00:00",)


async def test_cmd_add_edit_remove_limits_and_count_survives_a_restart(tmp_path: Path) -> None:
    settings = CommandsSettings(max_commands=2, entries=[CustomCommand(name="discord", response="x")])
    skill, db, _ = harness(tmp_path, settings)
    await skill.start()
    replies = []
    for rest in ["gg GG {count}", "gg again", "discord hi", "wp well played", "three 3"]:
        ctx = mod_ctx(rest, settings)
        await skill.cmd_add(ctx)
        replies += ctx.replies
    assert replies == [
        "Added !gg.", "Not added: !gg exists; use !cmd edit.",
        "Not added: !discord is defined in the config file; change it there.",
        "Added !wp.", "Not added: this channel has 2 commands (max 2).",
    ]
    assert [s.name for s in skill.custom_commands("twitch", "chan")] == ["discord", "gg", "wp"]
    spec = skill.custom_command("twitch", "chan", "gg")
    assert spec is not None and spec.permission is Role.EVERYONE and spec.cooldown.user_s == 10
    run = mod_ctx("", settings, user="v", role=Role.EVERYONE)
    run.spec = spec
    await skill.run_custom(run)
    await skill.run_custom(run)
    assert run.replies == ["GG 1", "GG 2"]
    edit = mod_ctx("gg -ul=vip GG now {count}", settings)
    await skill.cmd_edit(edit)
    assert edit.replies == ["Changed !gg (VIPs and up)."]
    assert skill.custom_command("twitch", "chan", "gg").permission is Role.VIP
    again = CommandsSkill(skill.ctx)  # a restart: the count is stored
    await again.start()
    run = mod_ctx("", settings, user="v", role=Role.EVERYONE)
    run.spec = again.custom_command("twitch", "chan", "gg")
    await again.run_custom(run)
    assert run.replies == ["GG now 3"]
    remove = mod_ctx("gg", settings)
    await again.cmd_remove(remove)
    assert remove.replies == ["Removed !gg."] and again.custom_command("twitch", "chan", "gg") is None
    assert [c.name for c in store.channel_commands(db, "twitch", "chan")] == ["wp"]


async def _chat_line(skill: CommandsSkill, when: datetime, text: str = "hi") -> None:
    """A chat line as the router gives it to the skill: ``note_chatter`` for every line (commands
    included), ``on_message`` for a line that is no command."""
    message = ChatMessage("twitch", "chan", "id", Viewer("twitch", "a", "a"), text, when)
    skill.note_chatter(message)
    if not text.startswith("!"):
        await skill.on_message(message)


async def _timers_skill(tmp_path: Path, *timers: TimedMessage) -> tuple[CommandsSkill, list[str]]:
    """A started commands skill with ``timers`` and the list its posts go to."""
    skill, _, posted = harness(tmp_path, CommandsSettings(timers=list(timers)))
    await skill.start()
    return skill, posted


async def test_timers_wait_for_the_interval_and_for_chat(tmp_path: Path) -> None:
    skill, posted = await _timers_skill(
        tmp_path, TimedMessage(id="follow", message="Follow {streamer}!", interval_s=600, min_messages=3),
        TimedMessage(id="discord", message="Discord: x", interval_s=600, min_messages=2))
    t0 = datetime(2024, 5, 10, 20, 0, tzinfo=UTC)

    async def say(minutes: float, text: str = "hi") -> None:
        await _chat_line(skill, t0 + timedelta(minutes=minutes), text)

    await say(0)  # the intervals start here
    await say(5)
    assert posted == []
    await say(11)  # 11 min, 2 messages: "follow" needs 3, "discord" posts
    assert posted == ["Discord: x"]
    await say(12)  # follow is due (12 min, 3 lines) but timers post at least 2 lines apart (the smallest
    assert posted == ["Discord: x"]  # min_messages): trial 24, two timers posted on consecutive lines
    await say(13)
    assert posted == ["Discord: x", "Follow Sam!"]
    await say(30)  # discord due again; 1 line since follow's post
    await say(31)
    assert posted == ["Discord: x", "Follow Sam!", "Discord: x"]
    # trial 25: commands did not count, so a chat of commands never got a timer
    await say(50, "!mood")
    await say(51, "!help")
    assert posted == ["Discord: x", "Follow Sam!", "Discord: x"]  # a command line never posts one
    await say(52)  # the third line since the last post: follow (needs 3) is due
    assert posted == ["Discord: x", "Follow Sam!", "Discord: x", "Follow Sam!"]


async def test_a_timer_needing_more_lines_is_not_silenced_by_a_frequent_one(tmp_path: Path) -> None:
    # trial 26: with lines counted from any timer's post, a 20-line timer never posted beside a 5-line
    # one in an hour of steady chat (15 lines per 5 minutes); each timer counts its own lines
    skill, posted = await _timers_skill(
        tmp_path, TimedMessage(id="often", message="A", interval_s=300, min_messages=5),
        TimedMessage(id="rare", message="B", interval_s=300, min_messages=20))
    t0 = datetime(2024, 5, 10, 20, 0, tzinfo=UTC)
    for i in range(180):  # a line every 20 s for an hour
        await _chat_line(skill, t0 + timedelta(seconds=20 * i))
    assert posted.count("A") >= 9 and posted.count("B") >= 6, posted


async def test_timers_stay_quiet_offline_unless_told(tmp_path: Path) -> None:
    timer = TimedMessage(id="t", message="hello", interval_s=300, min_messages=2)
    for only_live, expected in ((True, []), (False, ["hello"])):
        settings = CommandsSettings(timers=[timer.model_copy(update={"only_when_live": only_live})])
        skill, _, posted = harness(tmp_path, settings, live=False)
        await skill.start()
        for minute in (0, 2, 6):
            await _chat_line(skill, datetime(2024, 5, 10, 20, minute, tzinfo=UTC))
        assert posted == expected


async def test_forgetme_keeps_the_commands_but_not_who_added_them(tmp_path: Path) -> None:
    settings = CommandsSettings()
    skill, db, _ = harness(tmp_path, settings)
    await skill.start()
    await skill.cmd_add(mod_ctx("gg GG", settings, user="m1"))
    m1 = Viewer("twitch", "m1", "m1", Role.MODERATOR)
    assert await skill.user_data_summary(m1) == "commands: you added 1 custom command"
    assert await skill.delete_user_data(m1) == 1
    assert await skill.user_data_summary(m1) is None
    assert [(c.name, c.created_by) for c in store.channel_commands(db, "twitch", "chan")] == [("gg", None)]


async def test_help_lists_custom_commands_by_permission_level(tmp_path: Path) -> None:
    log = "\n".join([
        "[2024-05-10 20:00:00 UTC] alice: !help",
        '{"ts": "2024-05-10T20:00:10Z", "user": "mod", "text": "!help", "roles": ["moderator"]}',
        "[2024-05-10 20:00:20 UTC] alice: !help dc",
        "",
    ])
    texts = await replay(tmp_path, CONFIG, log)
    assert "!discord" in texts[0] and "!hug" in texts[0] and "!modsonly" not in texts[0]
    assert "!cmd" not in texts[0]
    assert "!modsonly" in texts[1] and "!cmd [add|edit|remove]" in texts[1]
    # regression: an alias a built-in command owns was advertised ("!socials/!rec" while !rec recommends)
    shadowed = await replay(tmp_path, CONFIG.replace('aliases = ["dc"]', 'aliases = ["dc", "mydata"]'),
                            "[2024-05-10 20:00:00 UTC] alice: !help\n")
    assert "!discord/!dc," in shadowed[0] and "/!mydata" not in shadowed[0]
    assert texts[2] == "About !discord: A text command (config). Aliases: !dc. Cooldown: 30 s per channel."


async def test_config_command_named_like_a_builtin_is_reported_not_run(tmp_path: Path, caplog) -> None:
    config = CONFIG.replace('name = "modsonly"', 'name = "help"')
    log = "[2024-05-10 20:00:00 UTC] alice: !help hug\n"
    texts = await replay(tmp_path, config, log)
    assert texts == ["About !hug: A text command (config)."]  # the built-in !help answered
    assert "command 'help' is never run: 'help' is a built-in command" in caplog.text
    # regression: !cmd list offered "!help" among the text commands although the built-in answers it
    (tmp_path / "list").mkdir()
    line = '{"ts": "2024-05-10T20:00:00Z", "user": "mod", "text": "!cmd list", "roles": ["moderator"]}\n'
    listed = await replay(tmp_path / "list", config, line)
    assert listed[0].startswith("Text commands: !discord, !hug") and "!help" not in listed[0]


async def test_replies_name_commands_with_the_channels_prefix(tmp_path: Path) -> None:
    # regression: on a "?" channel the bot said "Added !tea." and listed "!socials", which nobody can type
    config = CONFIG.replace('data_dir = "data"', 'data_dir = "data"\nprefix = "?"')
    log = "\n".join([
        '{"ts": "2024-05-10T20:00:00Z", "user": "mod", "text": "?cmd add tea Tea!", "roles": ["moderator"]}',
        '{"ts": "2024-05-10T20:00:10Z", "user": "mod", "text": "?cmd add tea again", "roles": ["moderator"]}',
        '{"ts": "2024-05-10T20:00:20Z", "user": "mod", "text": "?cmd list", "roles": ["moderator"]}',
        # regression: the name typed with the channel's own prefix was refused ("got '?qprefix'")
        '{"ts": "2024-05-10T20:00:30Z", "user": "mod", "text": "?cmd add ?qprefix hi", "roles": ["mod"]}',
        '{"ts": "2024-05-10T20:00:40Z", "user": "mod", "text": "?cmd remove ?qprefix", "roles": ["mod"]}',
        "",
    ])
    texts = await replay(tmp_path, config, log)
    assert texts[0] == "Added ?tea."
    assert texts[1] == "Not added: ?tea exists; use ?cmd edit."
    assert texts[2].startswith("Text commands: ?discord, ?modsonly (moderator), ?hug, ?tea.")
    assert texts[3:5] == ["Added ?qprefix.", "Removed ?qprefix."]
    assert "!" not in " ".join(texts).replace("Tea!", "")


async def test_a_response_never_makes_the_bot_type_another_bots_command(tmp_path: Path) -> None:
    # regression (QA): "!cmd add r !cmd add pwn hi", then any viewer's "!r" made the bot say
    # "!cmd add pwn hi", which StreamElements/Nightbot (moderators next to it) would run
    settings = CommandsSettings()
    skill, db, _ = harness(tmp_path, settings)
    await skill.start()
    why = "cannot start with '!' (another bot in the channel"
    for rest in ["r !cmd add pwn hi", "r \u200b !cmd add pwn hi", "r -ul=mod !cmd add pwn hi"]:
        add = mod_ctx(rest, settings)
        await skill.cmd_add(add)
        assert add.replies[0].startswith(f"Not added: the response {why}"), add.replies
    assert skill.custom_command("twitch", "chan", "r") is None
    await skill.cmd_add(mod_ctx("r hi", settings))
    edit = mod_ctx("r !cmd add pwn hi", settings)
    await skill.cmd_edit(edit)
    assert edit.replies[0].startswith(f"Not changed: the response {why}"), edit.replies
    # one stored before the rule (or edited in the database) is not said either
    store.add_command(db, "twitch", "chan", "old", "!cmd add pwn hi", "everyone", cooldown_user_s=0,
                      cooldown_channel_s=0, created_by="m")
    skill._reload("twitch", "chan")
    run = mod_ctx("", settings, user="v", role=Role.EVERYONE)
    run.spec = skill.custom_command("twitch", "chan", "old")
    await skill.run_custom(run)
    assert run.replies == []


async def test_a_response_cannot_start_with_a_look_alike_of_the_exclamation_mark(tmp_path: Path) -> None:
    # regression (QA D13): "!cmd add r1 ！cmd add pwn hi" (U+FF01; also ﹗ U+FE57, ¡, ǃ U+01C3) was added and
    # said; a bot that NFKC-normalises reads "！" as "!"
    settings = CommandsSettings()
    skill, _, _ = harness(tmp_path, settings)
    await skill.start()
    for char in ["\uff01", "\ufe57", "\u01c3", "\u2800\uff01"]:
        add = mod_ctx(f"r1 {char}cmd add pwn hi", settings)
        await skill.cmd_add(add)
        assert add.replies[0].startswith("Not added: the response cannot start with"), add.replies
        assert "a look-alike of '!': another bot in the channel" in add.replies[0], add.replies
    assert skill.custom_command("twitch", "chan", "r1") is None
    with pytest.raises(ValueError, match="cannot start with '\uff0e'"):  # the full-width dot too
        TimedMessage(id="t", message="\uff0etimeout someone")
    assert TimedMessage(id="es", message="\u00a1Hola! Bienvenidos").message.startswith("\u00a1")  # Spanish
    await skill.cmd_add(mod_ctx("r1 hi \uff01 ok", settings))  # only the start matters
    assert skill.custom_command("twitch", "chan", "r1") is not None


def test_config_responses_and_timers_cannot_start_with_another_bots_command(tmp_path: Path) -> None:
    # regression (QA): the config file's entries and timers took "!cmd add pwn hi" too
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG.replace('response = "Hello mods"', 'response = "!cmd add pwn hi"'))
    with pytest.raises(ConfigError, match=r"entries\[1\].response.*cannot start with '!' \(another bot"):
        load_config(cfg, skill_classes=CLASSES)
    with pytest.raises(ValueError, match="the message cannot start with '!' "):
        TimedMessage(id="t", message="\u200b!so someone")


def test_cmd_add_refuses_a_second_user_level_flag() -> None:
    # regression (QA): "w3 -ul=everyone -ul=broadcaster hi" stored "-ul=broadcaster hi" for everyone
    with pytest.raises(ValueError, match=r"give -ul= once, before the response; usage: !cmd add <name>"):
        parse_add("w3 -ul=everyone -ul=broadcaster hi")
    with pytest.raises(ValueError, match=r"give -ul= once.*usage: !cmd edit"):
        parse_add("w3 -ul=mod -UL=vip hi", edit=True)


def test_cmd_add_options_are_parsed_or_refused_never_posted() -> None:
    # trial 13: "-cd=60 hi" and "-a=!lurk hi" became the public reply, "hi -ul=mod" a public command
    # saying "hi -ul=mod", and "!cmd edit so -ul=everyone" needed the whole response typed again
    new = parse_add("a3 -cd=60 -ul=mod hi")
    assert (new.response, new.permission, new.cooldown_s) == ("hi", "moderator", 60.0)
    assert parse_add("so -ul=everyone", edit=True) == NewCommand("so", None, "everyone", None)
    assert parse_add("so -cd=0", edit=True).cooldown_s == 0.0
    assert parse_add("book -ulysses is a book").response == "-ulysses is a book"  # not an option
    for rest, edit, reason in [
        ("a4 -a=!lurk hi", False, "unknown option -a="),
        ("w8 hi -ul=mod", False, "right after the name"),
        ("w8 hi -CD=5", True, "right after the name"),
        ("a3 -cd=soon hi", False, "cooldown in seconds"),
        ("a3 -cd=-5 hi", False, "cooldown in seconds"),
        ("a3 -cd=nan hi", False, "cooldown in seconds"),
        ("a3 -cd=1e3 hi", False, "cooldown in seconds"),  # trial 24: "Added !a3 (cooldown 1000 s)"
        ("a3 -cd=1_0 hi", False, "cooldown in seconds"),
        ("a3 -cd=5 -cd=6 hi", False, "give -cd= once"),
        ("a3 -ul mod hi", False, "write the options as -ul=moderator"),
        ("so -ul=everyone", False, "usage: !cmd add"),  # add needs a response
        ("so", True, "usage: !cmd edit"),  # edit needs something to change
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_add(rest, edit=edit)


def test_cmd_add_refuses_a_token_and_a_loaded_secret() -> None:
    # trial 14: `!cmd add leak oauth:<token>` (or the bot's own loaded token) was stored and posted on use
    from bot.logs import setup_logging

    loaded = "Cmd-loaded-secret-value-55"
    setup_logging("info", [loaded])
    for rest in ["leak oauth:abcdef0123456789abcdef012345", "leak k3x9qpzv7m2l8n4b6c1d5f0g7h2j9a",
                 f"leak my key is {loaded}",
                 # trial 15: a full-width prefix and "key=" / "pw:" / "oauth_" forms were saved
                 "leak \uff4f\uff41\uff55\uff54\uff48:abcdefghijklmnopqrstuvwxyz1234",
                 "leak token=abcdefghijklmnopqrstuvwxyz1234", "leak pw:abcdefghijklmnopqrstuvwxyz1234",
                 "leak oauth_abcdefghijklmnopqrstuvwxyz1234"]:
        with pytest.raises(ValueError, match="the response looks like a token, so it is not saved"):
            parse_add(rest)
        with pytest.raises(ValueError, match="looks like a token"):
            parse_add(rest, edit=True)
    # a commit link (40 hex characters) and a 32-character id are no tokens
    sha = "4e1243bd22c66e76c2ba9eddc1f91394e57f9f83"
    assert parse_add(f"commit https://github.com/o/r/commit/{sha}").response.endswith(sha)
    assert parse_add("id build 0f8fad5bd9cb469fa16570867728950e")


async def test_a_moderator_cannot_manage_commands_above_their_level(tmp_path: Path) -> None:
    # trial 13: a moderator rewrote and removed the broadcaster's -ul=broadcaster command, and locked
    # commands away at the broadcaster level
    settings = CommandsSettings()
    skill, _, _ = harness(tmp_path, settings)
    await skill.start()
    owner = mod_ctx("bb -ul=broadcaster bc ok", settings, user="streamer", role=Role.BROADCASTER)
    await skill.cmd_add(owner)
    assert owner.replies == ["Added !bb (broadcasters and up)."]
    await skill.cmd_add(mod_ctx("vv vip thing", settings))
    attempts = [(skill.cmd_edit, "bb hacked"), (skill.cmd_remove, "bb"),
                (skill.cmd_edit, "vv -ul=broadcaster x"), (skill.cmd_add, "mx -ul=broadcaster mine")]
    replies = []
    for handler, rest in attempts:
        ctx = mod_ctx(rest, settings)
        await handler(ctx)
        replies += ctx.replies
    assert replies == [
        "Not changed: !bb is for broadcasters: only they can change or remove it.",
        "Not removed: !bb is for broadcasters: only they can change or remove it.",
        "Not changed: a moderator cannot set -ul=broadcaster, above their own level.",
        "Not added: a moderator cannot set -ul=broadcaster, above their own level.",
    ]
    assert [c.response for c in store.channel_commands(skill.ctx.storage, "twitch", "chan")] == [
        "bc ok", "vip thing"]
    edit = mod_ctx("bb -ul=mod", settings, user="streamer", role=Role.BROADCASTER)
    await skill.cmd_edit(edit)
    assert edit.replies == ["Changed !bb (moderators and up)."]


async def test_cmd_list_is_one_message_and_a_game_starting_with_a_dot_is_still_said(tmp_path: Path) -> None:
    # trial 13: 200 commands were listed in 3 messages whose continuations began with a defused "!"; a {game}
    # command was silently not sent while the category was ".hack//G.U." (the outbox defuses the dot)
    settings = CommandsSettings()
    skill, db, _ = harness(tmp_path, settings)
    await skill.start()
    for i in range(150):  # 3 messages' worth
        store.add_command(db, "twitch", "chan", f"c{i}", "r", "everyone", created_by="m")
    skill._reload("twitch", "chan")
    listing = mod_ctx("", settings)
    await skill.cmd_list(listing)
    assert len(listing.replies) == 1 and len(listing.replies[0]) <= MAX_OUTPUT_CHARS
    assert re.search(r"!c\d+ \+\d+ more\. Manage: !cmd add\|edit\|remove$", listing.replies[0])
    await skill.cmd_add(mod_ctx("gg {game} is the game", settings))
    skill.ctx.channel_info("twitch", "chan").category = ".hack//G.U."
    run = mod_ctx("", settings, user="v", role=Role.EVERYONE)
    run.spec = skill.custom_command("twitch", "chan", "gg")
    await skill.run_custom(run)
    assert run.replies == [".hack//G.U. is the game"]  # the outbox makes the first "." a look-alike


async def test_count_counts_answers_given_and_an_unknown_game_is_no_crash(tmp_path: Path) -> None:
    # trial 13: `!cg` ("n{count} {game}") three times while the category was unknown sent nothing, and the
    # first answer said "n4"
    settings = CommandsSettings()
    skill, _, _ = harness(tmp_path, settings)
    await skill.start()
    await skill.cmd_add(mod_ctx("cg n{count} {game}", settings))
    info = skill.ctx.channel_info("twitch", "chan")
    info.category = None
    run = mod_ctx("", settings, user="v", role=Role.EVERYONE)
    run.spec = skill.custom_command("twitch", "chan", "cg")
    for _ in range(3):
        await skill.run_custom(run)
    assert run.replies == []
    info.category = "Celeste"
    await skill.run_custom(run)
    assert run.replies == ["n1 Celeste"]
    # trial 15: {game} in a streamer's own command never answered in Just Chatting (an FAQ-only rule)
    info.category = "Just Chatting"
    await skill.run_custom(run)
    assert run.replies[-1] == "n2 Just Chatting"


def test_nightbot_and_streamelements_variables_are_read() -> None:
    # trial 16: a command copied from Nightbot ("$(touser)", "$(game)") was saved and posted literally
    new = parse_add("so Go follow $(touser) playing $(game)!")
    assert new.response == "Go follow {touser} playing {game}!"
    assert parse_add("hug ${user} hugs ${ touser } #${count}").response == "{user} hugs {touser} #{count}"
    assert parse_add("p costs $5 (or more)").response == "costs $5 (or more)"
    assert parse_add("hi ${sender}").response == "{user}"  # StreamElements' name for the user (trial 20)
    with pytest.raises(ValueError, match="a variable of another bot"):  # trial 19: it was posted as typed
        parse_add("p costs $5, $(urlfetch http://x)")


async def test_cmd_delete_removes_like_nightbots_verb(tmp_path: Path) -> None:
    # trial 15: "!cmd delete NAME" listed the commands (as "!cmd" + junk) and removed nothing
    log = "\n".join([
        '{"ts": "2024-05-10T20:00:00Z", "user": "mod", "text": "!cmd add tea hot", "roles": ["moderator"]}',
        '{"ts": "2024-05-10T20:00:10Z", "user": "mod", "text": "!cmd delete tea", "roles": ["moderator"]}',
        '{"ts": "2024-05-10T20:00:20Z", "user": "mod", "text": "!tea", "roles": ["moderator"]}', ""])
    assert await replay(tmp_path, CONFIG, log) == ["Added !tea.", "Removed !tea."]


async def _started_with(tmp_path: Path, settings: CommandsSettings, add: str, said: str | None = None):  # noqa: ANN202
    """A started commands skill after a moderator's ``!cmd add <add>``, checked to say ``said`` (default:
    "Added !<name>.")."""
    skill, _, _ = harness(tmp_path, settings)
    await skill.start()
    ctx = mod_ctx(add, settings)
    await skill.cmd_add(ctx)
    assert ctx.replies == [said or f"Added !{add.split()[0]}."]
    return skill


async def test_cmd_edit_changes_only_the_options_given(tmp_path: Path) -> None:
    # trial 13: "!cmd edit so -ul=everyone" said "Not changed: the response is empty"; -cd= set no cooldown
    settings = CommandsSettings()
    skill = await _started_with(tmp_path, settings, "so -ul=mod -cd=30 Go follow {touser}",
                                "Added !so (moderators and up, cooldown 30 s).")
    spec = skill.custom_command("twitch", "chan", "so")
    assert spec.permission is Role.MODERATOR and spec.cooldown.channel_s == 30
    edit = mod_ctx("so -ul=everyone", settings)
    await skill.cmd_edit(edit)
    assert edit.replies == ["Changed !so (everyone)."]
    spec = skill.custom_command("twitch", "chan", "so")
    assert spec.permission is Role.EVERYONE and spec.cooldown.channel_s == 30
    stored = store.channel_commands(skill.ctx.storage, "twitch", "chan")
    assert [c.response for c in stored] == ["Go follow {touser}"]
    edit = mod_ctx("so -cd=5", settings)
    await skill.cmd_edit(edit)
    assert skill.custom_command("twitch", "chan", "so").cooldown.channel_s == 5


async def test_a_reply_full_of_variables_is_one_message_at_most(tmp_path: Path) -> None:
    # trial 13: 66 x {user} (396 characters, accepted) expanded to 1,700 characters for a 26-character name:
    # 4 bot messages per viewer command, above Twitch's rate limit when viewers take turns
    settings = CommandsSettings()
    skill, _, _ = harness(tmp_path, settings)
    await skill.start()
    add = mod_ctx("big " + "{user} " * 56, settings)
    await skill.cmd_add(add)
    assert add.replies == ["Added !big."]
    run = mod_ctx("", settings, user="a" * 26, role=Role.EVERYONE)
    run.spec = skill.custom_command("twitch", "chan", "big")
    await skill.run_custom(run)
    assert len(run.replies) == 1 and len(run.replies[0]) <= MAX_OUTPUT_CHARS
    assert run.replies[0].endswith("…") and run.replies[0].startswith("a" * 26 + " ")


async def test_a_moderators_shoutout_to_no_valid_name_is_a_usage_hint(tmp_path: Path) -> None:
    # regression (trial): "!so /ban pixelcove" (or a typo) by mia said "Go follow mia at twitch.tv/mia!"
    config = CONFIG + (
        '[[skills.commands.entries]]\nname = "so"\npermission = "moderator"\n'
        'response = "Go follow {touser} at twitch.tv/{touser}!"\n')
    log = '{"ts": "2024-05-10T20:00:00Z", "user": "mia", "text": "!so /ban pixelcove", "roles": ["mod"]}\n'
    texts = await replay(tmp_path, config, log)
    assert texts == ["That is not a user name. Usage: !so @name"]


async def test_a_chat_command_hidden_by_a_config_one_of_the_same_name_is_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # regression (trial 19): "!cmd add dc ...", then the streamer put dc in config.toml: "!cmd edit dc"
    # said "Changed !dc." and "!cmd remove dc" "Removed !dc." while !dc kept posting the config's text
    import logging

    settings = CommandsSettings()
    skill = await _started_with(tmp_path, settings, "dc CHAT discord")
    settings = CommandsSettings(entries=[CustomCommand(name="dc", response="CONFIG discord")])
    restarted, _, _ = harness(tmp_path, settings)
    restarted.ctx.storage = skill.ctx.storage  # the same database, the new config
    with caplog.at_level(logging.WARNING, logger="skills.commands.skill"):
        await restarted.start()
        assert restarted.custom_command("twitch", "chan", "dc") is not None
    assert "the config's !dc hides the one added in chat" in caplog.text
    edit = mod_ctx("dc EDITED", settings)
    await restarted.cmd_edit(edit)
    assert edit.replies == ["Not changed: !dc is defined in the config file, which hides the one added in "
                            "chat; change it there (!cmd remove dc deletes the hidden one)."]
    db = restarted.ctx.storage
    assert [store.count_use(db, "twitch", "chan", "dc") for _ in range(2)] == [1, 2]  # two answers of !dc
    remove = mod_ctx("dc", settings)
    await restarted.cmd_remove(remove)
    assert remove.replies == ["Removed the !dc added in chat; the config file's !dc stays (change it there)."]
    # trial 24: removing the hidden one reset the {count} the config's !dc goes on answering with
    assert store.count_use(db, "twitch", "chan", "dc") == 3


def test_an_over_long_name_is_shown_cut_with_an_ellipsis() -> None:
    # trial 23: "(got 'tooLong_name_that_is_way_over_')" looked like what was typed
    with pytest.raises(ValueError, match="got 'tooLong_name_that_is_way_over…'"):
        check_name("tooLong_name_that_is_way_over_25")
    with pytest.raises(ValueError, match="got 'bad-name'"):
        check_name("bad-name")
