"""!help / !commands / !help CMD generated from the declarations, filtered by permission and channel."""

from __future__ import annotations

from types import SimpleNamespace

from bot.builtin import BuiltinSkill, command_list, describe_command, group_names
from bot.clock import ManualClock
from bot.commands import command
from bot.events import ChatMessage, Reply, Role, Viewer
from bot.router import Router
from skills.base import Skill, SkillSettings


class Faq(Skill):
    name = "faq"

    @command("faq", help="Answer a question.", usage="<question>", cooldown_user=5)
    async def faq(self, ctx) -> None:
        await ctx.reply("answer")

    @command("faq add", aliases=("addfaq",), help="Add an entry.", permission=Role.MODERATOR)
    async def faq_add(self, ctx) -> None:
        await ctx.reply("added")


class Game(Skill):
    name = "game"

    @command("play", help="Play Connect Four.")
    async def play(self, ctx) -> None:
        await ctx.reply("ok")


class Many(Skill):
    name = "many"


for i in range(200):  # a skill with very many commands, to overflow one message
    async def _handler(self, ctx) -> None:  # pragma: no cover - never invoked
        pass

    setattr(Many, f"cmd{i}", command(f"longcommandname{i}", help="x")(_handler))


def build(*skills: Skill, disabled=frozenset(), max_len: int = 500, prefix: str = "!"):
    info = SimpleNamespace(max_message_len=max_len)
    ctx = SimpleNamespace(channel_info=lambda platform, channel: info)
    builtin = BuiltinSkill(ctx)  # type: ignore[arg-type]
    sent: list[Reply] = []

    async def send(reply: Reply) -> None:
        sent.append(reply)

    router = Router(
        [builtin, *skills], prefix_for=lambda p, c: prefix,
        enabled_for=lambda skill, p, c: skill not in disabled,
        settings_for=lambda *a: SkillSettings(), send=send, clock=ManualClock(),
    )
    return router, sent


async def ask(router: Router, sent: list[Reply], text: str, *roles: Role) -> str:
    who = Viewer("twitch", "v", "V", frozenset({Role.EVERYONE, *roles}))
    sent.clear()
    router.clock.advance(60)  # past !help's cooldowns: each ask is a new question
    await router.handle(ChatMessage("twitch", "chan", "1", who, text))
    await router.drain()
    assert len(sent) == 1
    return sent[0].text


async def test_help_lists_only_commands_the_caller_may_use():
    router, sent = build(Faq(None), Game(None))  # type: ignore[arg-type]
    viewer_help = await ask(router, sent, "!help")
    assert "!faq" in viewer_help and "!play" in viewer_help and "!help" in viewer_help
    assert "faq add" not in viewer_help
    mod_help = await ask(router, sent, "!commands", Role.MODERATOR)
    assert "!faq [add]" in mod_help


async def test_help_hides_disabled_skills_and_uses_channel_prefix():
    router, sent = build(Faq(None), Game(None), disabled={"game"}, prefix="?")  # type: ignore[arg-type]
    text = await ask(router, sent, "?help")
    assert "?faq" in text and "play" not in text and "?help CMD" in text


async def test_help_for_one_command():
    router, sent = build(Faq(None))  # type: ignore[arg-type]
    text = await ask(router, sent, "!help faq")
    assert text == "About !faq <question>: Answer a question. Cooldown: 5 s per user."
    text = await ask(router, sent, "!help !faq add", Role.MODERATOR)
    assert text.startswith("About !faq add (moderators and up): Add an entry.") and "!addfaq" in text
    denied = await ask(router, sent, "!help faq add")  # not a moderator: falls back to "faq"
    assert denied.startswith("About !faq <question>") and "!faq add" not in denied
    # regression (trial 9): "!help faq" told a moderator only the viewer form
    mod = await ask(router, sent, "!help faq", Role.MODERATOR)
    assert mod == "About !faq <question>: Answer a question. Cooldown: 5 s per user. Also: !faq add."
    missing = await ask(router, sent, "!help nope")
    assert missing == "No such command here. Try !help for the list."
    # regression: "!help <slur or link>" made the bot repeat it ("No command !<slur> here")
    assert "evil" not in await ask(router, sent, "!help http://evil.example", Role.MODERATOR)


class StartSettings(SkillSettings):
    start_permission: str = "moderator"


class Starter(Skill):
    name = "starter"
    Settings = StartSettings

    @command("start", help="Start a game.", permission_setting="start_permission")
    async def start_game(self, ctx) -> None:
        await ctx.reply("started")


async def test_help_names_the_level_a_setting_gives_a_command():
    # trial 24: "!help c4 start" did not say who may use it (its level is the setting start_permission)
    for level, head in (("moderator", "About !start (moderators and up): "), ("everyone", "About !start: ")):
        info = SimpleNamespace(max_message_len=500)
        sent: list[Reply] = []

        async def send(reply: Reply, sent=sent) -> None:
            sent.append(reply)

        router = Router(
            [BuiltinSkill(SimpleNamespace(channel_info=lambda p, c, info=info: info)), Starter(None)],  # type: ignore
            prefix_for=lambda p, c: "!", enabled_for=lambda skill, p, c: True,
            settings_for=lambda *a, level=level: StartSettings(start_permission=level), send=send,
            clock=ManualClock(),
        )
        assert (await ask(router, sent, "!help start", Role.MODERATOR)).startswith(head)


class Tale(Skill):
    name = "tale"

    @command("tale", help="Tell a tale: !tale add <line>, !tale show.")
    async def tale(self, ctx) -> None:
        await ctx.reply("ok")

    for sub in ("add", "show", "end"):
        async def _sub(self, ctx) -> None:  # pragma: no cover - never invoked
            pass

        locals()[f"tale_{sub}"] = command(f"tale {sub}", help="x")(_sub)


async def test_help_does_not_repeat_sub_commands_its_text_names():
    # regression (!help story): "... !story add <line>, !story show ... Also: !story add, !story show, ..."
    router, sent = build(Tale(None))  # type: ignore[arg-type]
    text = await ask(router, sent, "!help tale")
    assert text == "About !tale: Tell a tale: !tale add <line>, !tale show. Also: !tale end."


async def test_help_fits_one_message():
    router, sent = build(Many(None), max_len=500)  # type: ignore[arg-type]
    text = await ask(router, sent, "!help")
    assert len(text) <= 500 and text.endswith("(!help CMD for details)")
    # regression: the list was cut mid-name with "…" and nothing said how many were left out
    import re
    shown = re.findall(r"!longcommandname\d+", text)
    more = int(re.search(r" \+(\d+) more on !help 2 \(", text).group(1))
    assert len(shown) + more == 200 and len(shown) > 15 and "…" not in text
    # regression (trial 19): "+46 more" and no way to see them: "!help 2", "!help 3"... list the next ones
    seen = list(shown)
    for page in range(2, 20):
        text = await ask(router, sent, f"!help {page}")
        assert len(text) <= 500 and text.startswith(f"Commands, page {page}: ")
        seen += re.findall(r"!longcommandname\d+", text)
        if " more on !help" not in text:
            break
    assert sorted(seen) == sorted(f"!longcommandname{i}" for i in range(200))
    past = await ask(router, sent, f"!help {page + 1}")
    assert past == "The list is shorter than that: !help shows its start."
    router, sent = build(Many(None), max_len=2000)  # type: ignore[arg-type]
    assert 500 < len(await ask(router, sent, "!help")) <= 2000


def test_describe_and_list_helpers():
    spec = Faq.faq_add.__chatcast_command__
    assert describe_command(spec, "!").startswith("About !faq add (moderators and up)")
    assert command_list([spec], "!", 500) == "Commands: !faq add (!help CMD for details)"


def test_group_names_folds_subcommands():
    names = ["story", "story start", "help", "story add", "c4 top", "c4 stats", "solo sub"]
    assert group_names(names, "!") == ["!story [add|start]", "!help", "!c4 stats|top", "!solo sub"]


def test_no_declared_usage_repeats_its_command_name():
    # regression: "!help c4" answered "!c4 !c4 [1-7]: ..." (the usage string began with "!c4")
    from bot.commands import COMMAND_ATTR, CommandSpec
    from skills import registry

    checked = 0
    for name, cls in registry().items():
        for attr in dir(cls):
            spec = getattr(getattr(cls, attr, None), COMMAND_ATTR, None)
            if isinstance(spec, CommandSpec):
                assert not spec.usage.startswith("!"), (name, spec.name, spec.usage)
                checked += 1
    assert checked > 20


def test_list_shows_short_aliases_beside_their_command():
    # regression: "!help" listed "!recommend" but not "!rec", the form viewers type
    rec = command("recommend", aliases=("rec", "recommendations"), help="Suggest.")(lambda self, ctx: None)
    sub = command("recommend similar", help="Like this.")(lambda self, ctx: None)
    helper = command("help", aliases=("commands",), help="Help.")(lambda self, ctx: None)
    specs = [s.__chatcast_command__ for s in (helper, rec, sub)]
    assert command_list(specs, "!", 500) == (
        "Commands: !help, !recommend/!rec [similar] (!help CMD for details)"
    )


def test_levels_are_named_as_chat_writes_them() -> None:
    # regression: "!vipsecret (vips and up)"
    from bot.events import Role

    assert [r.plural for r in Role] == ["everyone", "subscribers", "VIPs", "moderators", "broadcasters"]


async def test_help_for_a_command_never_starts_with_the_command():
    # regression (QA D25): "!help cmd" answered "!cmd (moderators and up): ...", which StreamElements (a
    # moderator beside the bot, whose own command is !cmd) would run
    router, sent = build(Faq(None), prefix="?")  # type: ignore[arg-type]
    text = await ask(router, sent, "?help faq add", Role.MODERATOR)
    assert text.startswith("About ?faq add (moderators and up): Add an entry."), text


async def test_help_has_a_channel_cooldown_for_raids():
    # regression (trial): 30 raiders' "!help" in 20 s got the same list up to 6 times, up to 73 s late
    router, sent = build(Faq(None))  # type: ignore[arg-type]
    for i in range(5):
        who = Viewer("twitch", f"r{i}", f"R{i}", frozenset({Role.EVERYONE}))
        await router.handle(ChatMessage("twitch", "chan", f"m{i}", who, "!help"))
    await router.drain()
    assert len(sent) == 1


async def test_help_for_a_command_is_not_held_back_by_the_lists_cooldown():
    # regression (trial 19): "!help", then "!help faq" 9 s later (or another viewer's right after) was silent
    router, sent = build(Faq(None))  # type: ignore[arg-type]
    ann = Viewer("twitch", "ann", "Ann", frozenset({Role.EVERYONE}))
    bob = Viewer("twitch", "bob", "Bob", frozenset({Role.EVERYONE}))
    steps = ((ann, "!help", 0), (bob, "!help faq", 1), (ann, "!help faq", 9), (ann, "!help", 1))
    for who, text, later in steps:
        router.clock.advance(later)
        await router.handle(ChatMessage("twitch", "chan", text + who.user_id, who, text))
        await router.drain()
    # the list once (ann's second "!help" is within its 15 s), each "!help faq" answered
    assert [r.text.split(":")[0] for r in sent] == ["Commands", "About !faq <question>",
                                                   "About !faq <question>"]
