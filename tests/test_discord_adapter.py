"""End-to-end tests: the real discord.py 2 client against a fake Discord on 127.0.0.1 (tests/fakes)."""

from __future__ import annotations

import asyncio

import pytest
from fakes.discord import FakeDiscord, member

from bot.adapters.discord_adapter import (
    PERMISSIONS_INTEGER,
    DiscordAdapter,
    DiscordGuildSettings,
    invite_url,
    roles_for_member,
    slash_commands,
)
from bot.commands import CommandSpec
from bot.events import ChatMessage, Presence, PresenceKind, Reply, Role, StreamStatus

pytestmark = pytest.mark.asyncio

OWNER = member("10", "owner")
MOD = member("11", "modder", roles=["50"])  # "Mods" has Manage Messages
SUB = member("12", "subbie", roles=["51"])
HELPER = member("13", "helper", roles=["52"])
PLAIN = member("14", "plain")

SPECS = [
    ("core", CommandSpec("help", help="List commands")),
    ("faq", CommandSpec("faq", help="Answer a question")),
    ("faq", CommandSpec("faq add", help="Add an FAQ entry")),
    ("game", CommandSpec("c4", aliases=("connect4",), help="Play Connect Four")),
]


@pytest.fixture
async def discord_fake():
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


def make_adapter(fake: FakeDiscord, **kw) -> DiscordAdapter:
    settings = {"1": DiscordGuildSettings(mod_roles=("helpers",), subscriber_roles=("Twitch Subscriber",))}
    return DiscordAdapter(
        kw.pop("token", fake.token),
        guild_settings=settings,
        commands_provider=kw.pop("commands_provider", lambda: SPECS),
        api_base=f"{fake.base}/api/v10",
        gateway_url=f"{fake.base.replace('http', 'ws')}/gateway",
        ready_timeout_s=5,
        guild_ready_timeout_s=0.05,
        **kw,
    )


async def next_event(stream, kind=ChatMessage, timeout=5.0):
    while True:
        event = await asyncio.wait_for(anext(stream), timeout)
        if isinstance(event, kind):
            return event


async def wait_until(predicate, timeout=5.0):
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_pure_role_mapping_and_invite_url():
    s = DiscordGuildSettings(mod_roles=("Mods",), vip_roles=("55",), subscriber_roles=("subs",))
    assert roles_for_member("1", "1", [], [], False, s) == {Role.EVERYONE, Role.BROADCASTER}
    assert roles_for_member("2", "1", [], ["mods"], False, s) == {Role.EVERYONE, Role.MODERATOR}
    assert roles_for_member("2", "1", [], [], True, s) == {Role.EVERYONE, Role.MODERATOR}
    assert roles_for_member("2", "1", ["55"], ["Subs"], False, s) == {
        Role.EVERYONE,
        Role.VIP,
        Role.SUBSCRIBER,
    }
    assert roles_for_member("2", None, ["99"], ["other"], False, s) == {Role.EVERYONE}
    assert PERMISSIONS_INTEGER == 1024 + 2048 + 16384 + 32768 + 65536
    assert invite_url("42") == (
        "https://discord.com/oauth2/authorize?client_id=42"
        "&scope=bot%20applications.commands&permissions=117760"
    )


async def test_slash_commands_from_declarations():
    got = slash_commands(SPECS + [("x", CommandSpec("wh@t"))])
    assert got == {
        "help": "List commands",
        "faq": "Answer a question",
        "c4": "Play Connect Four",
        "connect4": "Play Connect Four",
    }


async def test_connect_prefix_command_reply_and_roles(discord_fake: FakeDiscord):
    adapter = make_adapter(discord_fake)
    await adapter.connect()
    events = adapter.listen()
    try:
        assert sorted(c["name"] for c in discord_fake.commands) == ["c4", "connect4", "faq", "help"]
        faq = next(c for c in discord_fake.commands if c["name"] == "faq")
        assert faq["options"][0]["name"] == "text" and faq["options"][0]["required"] is False
        assert faq["contexts"] == [0]  # guild only

        mid = await discord_fake.message(PLAIN, "!help")
        msg = await next_event(events)
        assert (msg.platform, msg.channel, msg.message_id, msg.text) == ("discord", "1/100", mid, "!help")
        assert msg.author.user_id == "14" and msg.author.roles == {Role.EVERYONE}
        await adapter.send(Reply("discord", "1/100", "Commands: !help @everyone", in_reply_to=mid))
        body = discord_fake.posted[-1]
        assert body["content"] == "Commands: !help @everyone"
        assert body["message_reference"]["message_id"] == int(mid)
        assert body["allowed_mentions"]["parse"] == ["users"]  # never everyone/here or roles
        assert not body["allowed_mentions"].get("replied_user")

        levels = {}
        for who in (OWNER, MOD, SUB, HELPER):
            await discord_fake.message(who, "hi")
            m = await next_event(events)
            levels[m.author.user_id] = m.author.roles
        assert levels["10"] >= {Role.BROADCASTER}
        assert Role.MODERATOR in levels["11"] and Role.MODERATOR in levels["13"]
        assert levels["12"] == {Role.EVERYONE, Role.SUBSCRIBER}
    finally:
        await adapter.close()


async def test_multiline_reply_is_an_embed(discord_fake: FakeDiscord):
    adapter = make_adapter(discord_fake)
    await adapter.connect()
    try:
        await adapter.send(Reply("discord", "1/100", "row 1\nrow 2"))
        body = discord_fake.posted[-1]
        assert body["embeds"][0]["description"] == "row 1\nrow 2" and not body.get("content")
    finally:
        await adapter.close()


async def test_slash_command_round_trip(discord_fake: FakeDiscord):
    adapter = make_adapter(discord_fake)
    await adapter.connect()
    events = adapter.listen()
    try:
        iid = await discord_fake.slash(MOD, "faq", 'add "when|schedule" Mondays')
        msg = await next_event(events)
        assert msg.text == '!faq add "when|schedule" Mondays' and msg.channel == "1/100"
        assert Role.MODERATOR in msg.author.roles
        await wait_until(lambda: discord_fake.callbacks)
        assert (discord_fake.callbacks[0]["id"], discord_fake.callbacks[0]["type"]) == (iid, 5)  # deferred
        await adapter.send(Reply("discord", msg.channel, "Added.", in_reply_to=msg.message_id))
        await adapter.send(Reply("discord", msg.channel, "Second part.", in_reply_to=msg.message_id))
        assert discord_fake.webhook_edits[0]["content"] == "Added."
        assert discord_fake.followups[0]["content"] == "Second part."
        assert discord_fake.posted == []
    finally:
        await adapter.close()


async def test_unanswered_slash_placeholder_is_removed(discord_fake: FakeDiscord):
    adapter = make_adapter(discord_fake, slash_reply_timeout_s=0.05)
    await adapter.connect()
    try:
        iid = await discord_fake.slash(PLAIN, "help")
        await wait_until(lambda: {"deleted": True} in discord_fake.webhook_edits)
        await adapter.send(Reply("discord", "1/100", "late answer", in_reply_to=f"interaction-{iid}"))
        assert [f["content"] for f in discord_fake.followups] == ["late answer"]
    finally:
        await adapter.close()


async def test_429_retry_after_then_sent_once(discord_fake: FakeDiscord):
    adapter = make_adapter(discord_fake)
    await adapter.connect()
    try:
        discord_fake.force(
            "POST /api/v10/channels/100/messages",
            429,
            {"message": "You are being rate limited.", "retry_after": 0.2, "global": False},
        )
        loop = asyncio.get_running_loop()
        start = loop.time()
        await adapter.send(Reply("discord", "1/100", "after the limit"))
        assert loop.time() - start >= 0.19
        assert discord_fake.requests.count("POST /api/v10/channels/100/messages") == 2
        assert [p["content"] for p in discord_fake.posted] == ["after the limit"]
    finally:
        await adapter.close()


async def test_gateway_resume_each_message_once(discord_fake: FakeDiscord):
    adapter = make_adapter(discord_fake)
    await adapter.connect()
    events = adapter.listen()
    try:
        before = [await discord_fake.message(PLAIN, f"before {i}") for i in range(2)]
        assert [(await next_event(events)).message_id for _ in range(2)] == before
        await discord_fake.drop_socket()
        lost = await discord_fake.message(PLAIN, "sent while disconnected", deliver=False)
        await asyncio.wait_for(discord_fake.resumed.wait(), 10)
        assert discord_fake.identifies == 1 and discord_fake.resumes[0]["session_id"] == "sess1"
        after = await discord_fake.message(PLAIN, "after")
        assert [(await next_event(events)).message_id for _ in range(2)] == [lost, after]
        await asyncio.sleep(0.05)
        assert adapter._queue.empty()
    finally:
        await adapter.close()


async def test_voice_presence_and_go_live(discord_fake: FakeDiscord):
    adapter = make_adapter(discord_fake)
    await adapter.connect()
    events = adapter.listen()

    def voice(who, channel, stream=False):
        return {
            "guild_id": "1",
            "channel_id": channel,
            "user_id": who["user"]["id"],
            "member": who,
            "session_id": "v",
            "deaf": False,
            "mute": False,
            "self_deaf": False,
            "self_mute": False,
            "self_stream": stream,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }

    try:
        await discord_fake.dispatch("VOICE_STATE_UPDATE", voice(PLAIN, "200"))
        p = await next_event(events, Presence)
        assert (p.channel, p.kind, p.viewer.user_id) == ("1/200", PresenceKind.JOINED, "14")
        await discord_fake.dispatch("VOICE_STATE_UPDATE", voice(OWNER, "200", stream=True))
        s = await next_event(events, StreamStatus)
        assert (s.channel, s.online) == ("1/200", True)
        await discord_fake.dispatch("VOICE_STATE_UPDATE", voice(OWNER, None))
        s = await next_event(events, StreamStatus)
        assert s.online is False
        await discord_fake.dispatch("VOICE_STATE_UPDATE", voice(PLAIN, None))
        p = await next_event(events, Presence)
        assert (p.kind, p.viewer.user_id) == (PresenceKind.LEFT, "14")
    finally:
        await adapter.close()


async def test_bad_token_is_one_clear_error(discord_fake: FakeDiscord, caplog):
    adapter = make_adapter(discord_fake, token="wrong-SECRET-token")
    with pytest.raises(ConnectionError, match="rejected the bot token"):
        await adapter.connect()
    assert sum("Reset Token" in r.getMessage() for r in caplog.records) == 1
    assert not any("SECRET" in r.getMessage() for r in caplog.records)


async def test_bad_token_waits_for_a_new_one_in_the_store(discord_fake: FakeDiscord, caplog):
    class Store:
        value = None

        def get(self, name):
            return self.value if name == "discord_token" else None

    store = Store()
    adapter = make_adapter(discord_fake, token="old-SECRET", token_store=store, token_poll_s=0.02)
    task = asyncio.create_task(adapter.connect())
    try:
        await wait_until(lambda: any("Reset Token" in r.getMessage() for r in caplog.records))
        await asyncio.sleep(0.2)  # ten poll periods: still one line, still waiting
        assert not task.done()
        assert sum("Reset Token" in r.getMessage() for r in caplog.records) == 1
        store.value = discord_fake.token
        await asyncio.wait_for(task, 5)
        assert discord_fake.identifies == 1
    finally:
        task.cancel()
        await adapter.close()


async def test_bot_and_other_channel_messages_ignored(discord_fake: FakeDiscord):
    settings = {"1": DiscordGuildSettings(channels=("100",))}
    adapter = DiscordAdapter(
        discord_fake.token,
        guild_settings=settings,
        api_base=f"{discord_fake.base}/api/v10",
        gateway_url=f"{discord_fake.base.replace('http', 'ws')}/gateway",
        ready_timeout_s=5,
        guild_ready_timeout_s=0.05,
    )
    await adapter.connect()
    events = adapter.listen()
    try:
        await discord_fake.message(PLAIN, "elsewhere", channel_id="101")
        bot = member("77", "otherbot")
        bot["user"]["bot"] = True
        await discord_fake.message(bot, "beep")
        mid = await discord_fake.message(PLAIN, "here")
        assert (await next_event(events)).message_id == mid
    finally:
        await adapter.close()


async def test_one_adapter_failing_never_stops_the_other(discord_fake: FakeDiscord, tmp_path):
    """A Twitch outage (its id service answers 500) while Discord keeps answering ``!help`` end to end."""
    from fakes.twitch import FakeTwitch

    from bot.adapters.http_retry import RetryPolicy
    from bot.adapters.twitch import TwitchAdapter, TwitchURLs
    from bot.config import load_config
    from bot.runtime import Runtime

    twitch = FakeTwitch()
    await twitch.start()
    for _ in range(100):
        twitch.force("POST /id/oauth2/token", 500)
    urls = TwitchURLs(helix=f"{twitch.base}/helix/", id=f"{twitch.base}/id/", eventsub_ws=f"{twitch.base}/ws")
    broken = TwitchAdapter(
        "cid", "secret", "tok", "ref", ["streamer"], base_urls=urls, retry=RetryPolicy(max_retries=0)
    )
    (tmp_path / "config.toml").write_text('[bot]\nname = "chatcast"\n', encoding="utf-8")
    config = load_config(tmp_path / "config.toml", skill_classes={})
    runtime = Runtime(config, use_engine=False, skill_classes={}, daily_purge=False)
    await runtime.start()
    working = make_adapter(discord_fake, commands_provider=runtime.router.commands)
    tasks = [asyncio.create_task(runtime.serve(a)) for a in (broken, working)]
    try:
        await asyncio.wait_for(discord_fake.ready.wait(), 5)
        await wait_until(lambda: twitch.requests.count("POST /id/oauth2/token") >= 1)
        mid = await discord_fake.message(PLAIN, "!help")
        await wait_until(lambda: discord_fake.posted)
        reply = discord_fake.posted[0]
        assert reply["message_reference"]["message_id"] == int(mid)
        assert "help" in (reply.get("content") or reply["embeds"][0]["description"])
        assert not tasks[0].done() and not tasks[1].done()  # Twitch keeps retrying, Discord keeps serving
        assert any(c["name"] == "help" for c in discord_fake.commands)  # slash commands from the router
    finally:
        await runtime.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await twitch.stop()


async def test_gateway_lost_for_good_ends_listen_with_connection_error(discord_fake: FakeDiscord):
    adapter = make_adapter(discord_fake)
    await adapter.connect()
    events = adapter.listen()
    try:
        discord_fake.token = "rotated"  # the gateway now refuses the session: close code 4004
        await discord_fake.sockets[-1].close(code=4004)
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(anext(events), 5)
    finally:
        await adapter.close()


async def test_doctor_discord_reports_intent_and_servers(discord_fake: FakeDiscord):
    from bot.adapters.doctor import check_discord

    checks = {
        c.name: c
        for c in await check_discord(discord_fake.token, None, api_base=f"{discord_fake.base}/api/v10")
    }
    assert all(c.ok for c in checks.values()), checks
    assert "chatcast" in checks["bot token"].detail and checks["servers"].detail == "in 1 server(s)"
    discord_fake.app_flags = 0
    checks = {
        c.name: c
        for c in await check_discord(discord_fake.token, None, api_base=f"{discord_fake.base}/api/v10")
    }
    assert (
        not checks["message content intent"].ok and "Message Content" in checks["message content intent"].fix
    )
    bad = await check_discord("nope", None, api_base=f"{discord_fake.base}/api/v10")
    assert [(c.name, c.ok) for c in bad] == [("bot token", False)]
    assert [c.ok for c in await check_discord(None, None)] == [False]


async def test_build_adapters_and_app_id_from_token(tmp_path):
    import base64

    from bot.adapters.cli import build_adapters, commands_from_classes, discord_app_id_from_token
    from bot.builtin import BuiltinSkill
    from bot.config import load_config
    from bot.secrets import load_secrets

    (tmp_path / "config.toml").write_text(
        '[[channels]]\nplatform = "discord"\nname = "1/100"\n\n'
        '[[channels]]\nplatform = "twitch"\nname = "Streamer"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / "config.toml", skill_classes={})
    secrets = load_secrets(
        None,
        env={
            "CHATCAST_DISCORD_TOKEN": "d.t.x",
            "CHATCAST_TWITCH_TOKEN": "t",
            "CHATCAST_TWITCH_CLIENT_ID": "c",
            "CHATCAST_TWITCH_CLIENT_SECRET": "s",
        },
    )
    twitch, discord = build_adapters(config, secrets)
    assert (twitch.platform, discord.platform) == ("twitch", "discord")
    assert twitch._config_channels == ["streamer"]
    assert discord.settings_for("1").channels == ("100",) and discord.settings_for("2").channels == ()
    # trial 14: naming one channel left the bot answering in every channel of every other server
    assert discord._listening("1", "100") and not discord._listening("1", "101")
    assert not discord.settings_for("2").listen and not discord._listening("2", "5")
    assert (
        "core",
        next(s for n, s in commands_from_classes({"core": BuiltinSkill}) if s.name == "help"),
    ) in discord.commands_provider()
    token = base64.b64encode(b"123456789").decode().rstrip("=") + ".abc.def"
    assert discord_app_id_from_token(token) == "123456789"
    assert discord_app_id_from_token("!!!.x") is None


async def test_long_reply_split_to_2000_by_the_outbox(discord_fake: FakeDiscord):
    from bot.clock import SystemClock
    from bot.outbox import Outbox

    adapter = make_adapter(discord_fake)
    await adapter.connect()
    outbox = Outbox(adapter, clock=SystemClock())
    await outbox.start()
    try:
        words = [f"w{i:04d}" for i in range(800)]  # 4799 characters on one line
        await outbox.put(Reply("discord", "1/100", " ".join(words)))
        await outbox.flush(timeout_s=10)
        parts = [p["content"] for p in discord_fake.posted]
        assert len(parts) == 3 and all(len(p) <= 2000 for p in parts)
        assert " ".join(parts).split() == words
    finally:
        await outbox.stop()
        await adapter.close()


async def test_5xx_retried_by_discord_py_then_sent_once(discord_fake: FakeDiscord):
    adapter = make_adapter(discord_fake)
    await adapter.connect()
    try:
        discord_fake.force("POST /api/v10/channels/100/messages", 502)  # discord.py waits 1 s, retries
        await adapter.send(Reply("discord", "1/100", "after a bad gateway"))
        assert discord_fake.requests.count("POST /api/v10/channels/100/messages") == 2
        assert [p["content"] for p in discord_fake.posted] == ["after a bad gateway"]
    finally:
        await adapter.close()


async def test_missing_permission_is_logged_and_skipped(discord_fake: FakeDiscord, caplog):
    adapter = make_adapter(discord_fake)
    await adapter.connect()
    try:
        discord_fake.force(
            "POST /api/v10/channels/100/messages", 403, {"message": "Missing Permissions", "code": 50013}
        )
        await adapter.send(Reply("discord", "1/100", "nope"))  # no exception: retrying cannot help
        assert discord_fake.posted == [] and any(
            "missing permission" in r.getMessage() for r in caplog.records
        )
    finally:
        await adapter.close()
