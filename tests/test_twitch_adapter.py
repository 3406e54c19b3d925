"""End-to-end tests: the real twitchio 3 client against a fake Twitch on 127.0.0.1 (tests/fakes/twitch.py)."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest
from fakes.twitch import FakeTwitch

from bot.adapters.http_retry import RetryPolicy
from bot.adapters.twitch import TwitchAdapter, TwitchURLs, roles_from_badges
from bot.events import ChatMessage, Reply, Role, StreamStatus

pytestmark = pytest.mark.asyncio


class MemoryStore:
    def __init__(self, **values: str) -> None:
        self.values = dict(values)

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value


@pytest.fixture
async def twitch():
    fake = FakeTwitch()
    await fake.start()
    fake.bot = fake.add_user("100", "chatcastbot")
    fake.streamer = fake.add_user("200", "streamer")
    fake.viewer = fake.add_user("300", "viewer")
    fake.grant("100", "bottoken", "botrefresh", ["user:read:chat", "user:write:chat", "user:bot"])
    yield fake
    await fake.stop()


def make_adapter(fake: FakeTwitch, **kw) -> TwitchAdapter:
    urls = TwitchURLs(helix=f"{fake.base}/helix/", id=f"{fake.base}/id/", eventsub_ws=f"{fake.base}/ws")
    kw.setdefault("retry", RetryPolicy(base_delay_s=0.01, max_delay_s=0.05))
    return TwitchAdapter(
        "cid",
        "csecret",
        kw.pop("token", "bottoken"),
        kw.pop("refresh", "botrefresh"),
        kw.pop("channels", ["streamer"]),
        base_urls=urls,
        subscribe_interval_s=0,
        **kw,
    )


async def next_event(stream, kind=ChatMessage, timeout=5.0):
    while True:
        event = await asyncio.wait_for(anext(stream), timeout)
        if isinstance(event, kind):
            return event


async def test_roles_from_badges():
    assert roles_from_badges(["moderator", "subscriber"]) == {Role.EVERYONE, Role.MODERATOR, Role.SUBSCRIBER}
    assert roles_from_badges(["broadcaster"]) == {Role.EVERYONE, Role.BROADCASTER}
    assert roles_from_badges(["turbo", "bits"]) == {Role.EVERYONE}


async def test_join_chat_in_reply_out(twitch: FakeTwitch):
    adapter = make_adapter(twitch)
    await adapter.connect()
    try:
        assert adapter.channels == ["streamer"]
        types = sorted(s["type"] for s in twitch.subscriptions.values())
        assert types == ["channel.chat.message", "channel.update", "stream.offline", "stream.online"]
        chat_sub = next(s for s in twitch.subscriptions.values() if s["type"] == "channel.chat.message")
        assert chat_sub["condition"] == {"broadcaster_user_id": "200", "user_id": "100"}
        events = adapter.listen()
        status = await next_event(events, StreamStatus)
        assert (status.channel, status.online) == ("streamer", False)

        mid = await twitch.chat(twitch.streamer, twitch.viewer, "!help", badges=["moderator", "subscriber"])
        msg = await next_event(events)
        assert (msg.platform, msg.channel, msg.message_id, msg.text) == ("twitch", "streamer", mid, "!help")
        assert msg.author.user_id == "300" and msg.author.display_name == "Viewer"
        assert msg.author.level == Role.MODERATOR and Role.SUBSCRIBER in msg.author.roles

        await adapter.send(Reply("twitch", "streamer", "Commands: !help", in_reply_to=mid))
        assert twitch.sent == [
            {
                "broadcaster_id": "200",
                "sender_id": "100",
                "message": "Commands: !help",
                "reply_parent_message_id": mid,
            }
        ]
        assert twitch.sent_tokens == ["bottoken"]
    finally:
        await adapter.close()


class RecordingSleep:
    """A RetryPolicy.sleep that records waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def wait_until(predicate, timeout=5.0):
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_stream_online_update_offline_become_stream_status(twitch: FakeTwitch):
    twitch.channel_info["200"] = {"title": "Soon", "game_name": "Just Chatting"}
    adapter = make_adapter(twitch)
    await adapter.connect()
    events = adapter.listen()
    try:
        status = await next_event(events, StreamStatus)  # status at join, from Get Channel Information
        assert (status.online, status.title, status.category) == (False, "Soon", "Just Chatting")
        who = {
            "broadcaster_user_id": "200",
            "broadcaster_user_login": "streamer",
            "broadcaster_user_name": "Streamer",
        }
        await twitch.notify(
            "stream.online", "200", {**who, "id": "1", "type": "live", "started_at": "2024-01-01T00:00:00Z"}
        )
        status = await next_event(events, StreamStatus)
        assert (status.channel, status.online, status.category) == ("streamer", True, "Just Chatting")
        await twitch.notify(
            "channel.update",
            "200",
            {
                **who,
                "title": "Speedrun",
                "language": "en",
                "category_id": "9",
                "category_name": "Celeste",
                "content_classification_labels": [],
            },
        )
        status = await next_event(events, StreamStatus)
        assert (status.online, status.title, status.category) == (True, "Speedrun", "Celeste")
        await twitch.notify("stream.offline", "200", who)
        status = await next_event(events, StreamStatus)
        assert (status.online, status.category) == (False, "Celeste")  # last known category is kept
    finally:
        await adapter.close()


async def test_live_at_join_is_reported(twitch: FakeTwitch):
    twitch.live["200"] = {
        "id": "9",
        "user_id": "200",
        "user_login": "streamer",
        "title": "Hi",
        "game_name": "Chess",
    }
    adapter = make_adapter(twitch)
    await adapter.connect()
    try:
        status = await next_event(adapter.listen(), StreamStatus)
        assert (status.online, status.title, status.category) == (True, "Hi", "Chess")
    finally:
        await adapter.close()


async def test_429_waits_until_ratelimit_reset(twitch: FakeTwitch):
    sleep = RecordingSleep()
    adapter = make_adapter(twitch, retry=RetryPolicy(sleep=sleep, now=lambda: 1000.0))
    await adapter.connect()
    try:
        twitch.force(
            "POST /helix/chat/messages",
            429,
            headers={"Ratelimit-Reset": "1002.5", "Ratelimit-Remaining": "0"},
        )
        await adapter.send(Reply("twitch", "streamer", "hello"))
        assert sleep.waits == [2.5]
        assert twitch.requests.count("POST /helix/chat/messages") == 2
        assert [m["message"] for m in twitch.sent] == ["hello"]
    finally:
        await adapter.close()


async def test_5xx_retried_with_growing_backoff(twitch: FakeTwitch):
    sleep = RecordingSleep()
    policy = RetryPolicy(sleep=sleep, base_delay_s=1.0, max_delay_s=100.0)
    adapter = make_adapter(twitch, retry=policy)
    await adapter.connect()
    try:
        for _ in range(3):
            twitch.force("POST /helix/chat/messages", 502)
        await adapter.send(Reply("twitch", "streamer", "after outage"))
        assert [m["message"] for m in twitch.sent] == ["after outage"]
        assert len(sleep.waits) == 3
        assert all(0 <= w <= 2**i for i, w in enumerate(sleep.waits))  # full jitter under 1, 2, 4 s caps
    finally:
        await adapter.close()


async def test_5xx_beyond_retries_raises_connection_error(twitch: FakeTwitch):
    adapter = make_adapter(twitch, retry=RetryPolicy(max_retries=1, sleep=RecordingSleep()))
    await adapter.connect()
    try:
        for _ in range(2):
            twitch.force("POST /helix/chat/messages", 500)
        with pytest.raises(ConnectionError, match="HTTP 500"):
            await adapter.send(Reply("twitch", "streamer", "lost"))
        assert twitch.sent == []
    finally:
        await adapter.close()


async def test_401_refreshes_once_and_saves_new_token(twitch: FakeTwitch):
    from bot.logs import SecretRedactingFilter

    store = MemoryStore()
    adapter = make_adapter(twitch, token_store=store)
    await adapter.connect()
    handler, redactor = logging.NullHandler(), SecretRedactingFilter()
    handler.addFilter(redactor)
    logging.getLogger().addHandler(handler)
    try:
        del twitch.user_tokens["bottoken"]  # Twitch expired the access token mid-stream
        await adapter.send(Reply("twitch", "streamer", "still here"))
        assert [m["message"] for m in twitch.sent] == ["still here"]
        new_token = twitch.sent_tokens[0]
        assert new_token != "bottoken" and new_token in twitch.user_tokens
        assert twitch.requests.count("POST /id/oauth2/token") == 2  # app token + one refresh
        await wait_until(lambda: store.get("twitch_token") == new_token)
        assert store.get("twitch_refresh_token") not in (None, "botrefresh")
        assert (
            redactor.redact(f"url?refresh_token={store.get('twitch_refresh_token')}")
            == "url?refresh_token=********"
        )
    finally:
        logging.getLogger().removeHandler(handler)
        await adapter.close()


async def test_revoked_token_logs_once_and_waits_for_new_one(twitch: FakeTwitch, caplog):
    store = MemoryStore()
    adapter = make_adapter(
        twitch, token="tok-SECRET-old", refresh="ref-SECRET-old", token_store=store, token_poll_s=0.02
    )
    caplog.set_level(logging.ERROR, logger="chatcast.adapters.twitch")
    task = asyncio.create_task(adapter.connect())
    try:
        await asyncio.sleep(0.3)  # many poll periods
        assert not task.done()
        errors = [r for r in caplog.records if "rejected" in r.getMessage()]
        assert len(errors) == 1 and "chatcast invite twitch --bot" in errors[0].getMessage()
        assert not any("SECRET" in r.getMessage() for r in caplog.records)  # tokens never reach the log
        store.set("twitch_token", "bottoken")
        store.set("twitch_refresh_token", "botrefresh")
        await asyncio.wait_for(task, 5)
        assert adapter.channels == ["streamer"] and adapter.bot_login == "chatcastbot"
    finally:
        task.cancel()
        await adapter.close()


async def chat_ids(events, n):
    return [(await next_event(events)).message_id for _ in range(n)]


async def test_server_disconnect_mid_stream_each_message_once(twitch: FakeTwitch):
    adapter = make_adapter(twitch)
    await adapter.connect()
    events = adapter.listen()
    try:
        sent = [await twitch.chat(twitch.streamer, twitch.viewer, f"before {i}") for i in range(2)]
        assert await chat_ids(events, 2) == sent
        first_socket = twitch.sockets[-1]
        twitch.welcomed.clear()
        await twitch.drop_socket()
        await asyncio.wait_for(twitch.welcomed.wait(), 5)
        # twitchio re-subscribes on the new session before events flow again
        await wait_until(
            lambda: (
                sum(
                    s["transport"]["session_id"] == twitch.session_of[id(twitch.sockets[-1])]
                    for s in twitch.subscriptions.values()
                )
                == 4
            )
        )
        assert twitch.sockets[-1] is not first_socket
        after = [await twitch.chat(twitch.streamer, twitch.viewer, f"after {i}") for i in range(2)]
        assert await chat_ids(events, 2) == after
        assert adapter._queue.empty()
    finally:
        await adapter.close()


async def test_session_reconnect_with_duplicate_delivery(twitch: FakeTwitch):
    adapter = make_adapter(twitch)
    await adapter.connect()
    events = adapter.listen()
    try:
        a = await twitch.chat(twitch.streamer, twitch.viewer, "a")
        old = twitch.sockets[-1]
        twitch.welcomed.clear()
        await twitch.reconnect_message(f"{twitch.base}/ws")
        await asyncio.wait_for(twitch.welcomed.wait(), 5)
        await wait_until(lambda: twitch.sockets[-1] is not old)
        new = twitch.sockets[-1]
        # Twitch may deliver a notification on both sockets around a reconnect (at-least-once)
        b = await twitch.chat(twitch.streamer, twitch.viewer, "b", ws=new)
        await twitch.chat(twitch.streamer, twitch.viewer, "b", message_id=b, ws=new)
        c = await twitch.chat(twitch.streamer, twitch.viewer, "c", ws=new)
        assert await chat_ids(events, 3) == [a, b, c]
        await asyncio.sleep(0.05)
        assert adapter._queue.empty()
    finally:
        await adapter.close()


async def test_bot_learns_moderator_status_from_its_own_messages(twitch: FakeTwitch):
    adapter = make_adapter(twitch)
    await adapter.connect()
    try:
        assert adapter.is_privileged("chatcastbot") and not adapter.is_privileged("streamer")
        await twitch.chat(twitch.streamer, twitch.bot, "my own message", badges=["moderator"])
        await wait_until(lambda: adapter.is_privileged("streamer"))
        await twitch.chat(twitch.streamer, twitch.bot, "unmodded", badges=[])
        await wait_until(lambda: not adapter.is_privileged("streamer"))
        assert all(
            not isinstance(e, ChatMessage) for e in list(adapter._queue._queue)
        )  # own lines not routed
    finally:
        await adapter.close()


async def test_open_joins_join_and_leave(twitch: FakeTwitch, tmp_path):
    from bot.adapters.twitch_auth import JoinedChannels

    joined = JoinedChannels(tmp_path / "twitch_channels.json")
    other = twitch.add_user("400", "newstreamer")
    adapter = make_adapter(twitch, channels=[], joined=joined, open_joins=True)
    await adapter.connect()
    try:
        assert adapter.channels == []  # the bot's own channel is not joined unless configured
        await adapter.join("chatcastbot")
        await twitch.chat(twitch.bot, other, "!join")
        await wait_until(lambda: any(m["message"].startswith("Joined #newstreamer") for m in twitch.sent))
        assert "newstreamer" in adapter.channels and joined.load() == ["newstreamer"]
        assert twitch.sent[-1]["broadcaster_id"] == "100"
        await twitch.chat(twitch.bot, other, "!leave")
        await wait_until(lambda: "newstreamer" not in adapter.channels)
        assert joined.load() == []
        assert not any(
            s["condition"].get("broadcaster_user_id") == "400" for s in twitch.subscriptions.values()
        )
    finally:
        await adapter.close()


async def test_join_refused_without_channel_bot_grant(twitch: FakeTwitch):
    other = twitch.add_user("400", "newstreamer")
    twitch.forbidden_channels.add("400")
    adapter = make_adapter(twitch, channels=["chatcastbot"], open_joins=True)
    await adapter.connect()
    try:
        await twitch.chat(twitch.bot, other, "!join")
        await wait_until(lambda: len(twitch.sent) == 1)
        assert "invite link" in twitch.sent[0]["message"] and adapter.channels == ["chatcastbot"]
    finally:
        await adapter.close()


async def test_unknown_channel_is_skipped_not_fatal(twitch: FakeTwitch):
    adapter = make_adapter(twitch, channels=["nosuchchannel", "streamer"])
    await adapter.connect()
    try:
        assert adapter.channels == ["streamer"]
        await adapter.send(Reply("twitch", "nosuchchannel", "x"))  # logged and skipped
        assert twitch.sent == []
    finally:
        await adapter.close()


async def test_shared_chat_copies_empty_and_stray_messages_are_skipped(twitch: FakeTwitch):
    # trial 14: in a Shared Chat session between two channels the bot serves, a message typed in #other
    # also came as a copy in #streamer: the command ran twice and #other's chatters counted in #streamer;
    # a null text became the message "None"; a channel never joined got a chat message
    other = twitch.add_user("400", "other")
    outsider = twitch.add_user("500", "outsider")
    adapter = make_adapter(twitch, channels=["streamer", "other"])
    await adapter.connect()
    try:
        events = adapter.listen()
        streamer, viewer = twitch.streamer, twitch.viewer
        await twitch.chat(streamer, viewer, "!mood", message_id="copy", source=(other, "native"))
        await twitch.chat(streamer, viewer, None, message_id="null")
        await twitch.chat(streamer, viewer, "   ", message_id="blank")
        await twitch.chat(other, viewer, "!mood", message_id="native")
        msg = await next_event(events)
        assert (msg.channel, msg.message_id) == ("other", "native")
        # a copy from a channel the bot does not serve is the only way it sees that message: kept
        await twitch.chat(twitch.streamer, twitch.viewer, "!mood", message_id="c2", source=(outsider, "o1"))
        msg = await next_event(events)
        assert (msg.channel, msg.message_id) == ("streamer", "c2")
        # Twitch only notifies for subscribed channels, but a late one after `leave` is skipped too
        assert adapter._elsewhere("outsider", SimpleNamespace(source_broadcaster=None))
    finally:
        await adapter.close()


async def test_unreachable_twitch_raises_connection_error(twitch: FakeTwitch):
    for _ in range(5):
        twitch.force("POST /id/oauth2/token", 500)
    adapter = make_adapter(twitch, retry=RetryPolicy(max_retries=1, sleep=RecordingSleep()))
    with pytest.raises(ConnectionError, match="Twitch login"):
        await adapter.connect()
    await adapter.close()


async def test_outbox_rate_limit_and_splitting_as_seen_by_twitch(twitch: FakeTwitch):
    from dataclasses import replace

    from bot.clock import SystemClock
    from bot.outbox import Outbox

    adapter = make_adapter(twitch)
    # Twitch's 20 per 30 s, scaled down to 3 per 0.3 s so the test is fast; the rule is the same
    adapter.limits = replace(adapter.limits, rate_messages=3, rate_window_s=0.3, privileged_rate_messages=3)
    await adapter.connect()
    outbox = Outbox(adapter, clock=SystemClock(), margin_s=0.02)
    await outbox.start()
    try:
        long = " ".join(f"word{i:03d}" for i in range(130))  # ~1040 characters -> 3 parts
        await outbox.put(Reply("twitch", "streamer", long))
        for i in range(5):
            await outbox.put(Reply("twitch", "streamer", f"line {i}"))
        await outbox.flush(timeout_s=10)
        texts = [m["message"] for m in twitch.sent]
        assert len(texts) == 8 and all(len(t) <= 500 for t in texts)
        assert " ".join(texts[:3]).replace("…", "").split() == long.split()
        assert texts[3:] == [f"line {i}" for i in range(5)]
        times = twitch.sent_times
        for i, t in enumerate(times):  # never more than 3 arrivals in any 0.3 s window
            assert sum(1 for u in times[i:] if u - t < 0.3) <= 3
    finally:
        await outbox.stop()
        await adapter.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_invite_flow_authorisation_url_callback_and_code_exchange(twitch: FakeTwitch):
    from urllib.parse import parse_qs, urlparse

    import aiohttp

    from bot.adapters.twitch_auth import BROADCASTER_SCOPES, invite

    twitch.codes["abc"] = "200"
    port, ready, shown = free_port(), asyncio.Event(), []
    task = asyncio.create_task(
        invite(
            "cid",
            "csecret",
            BROADCASTER_SCOPES,
            port=port,
            id_base=f"{twitch.base}/id/",
            timeout_s=5,
            show=shown.append,
            ready=ready,
        )
    )
    await asyncio.wait_for(ready.wait(), 5)
    url = urlparse(shown[0])
    query = parse_qs(url.query)
    assert url.path == "/id/oauth2/authorize"
    assert query["scope"] == ["channel:bot"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"http://localhost:{port}/callback"] and query["client_id"] == ["cid"]
    async with aiohttp.ClientSession() as session:  # what the browser does after "Authorize"
        bad = await session.get(
            f"http://127.0.0.1:{port}/callback", params={"code": "abc", "state": "forged"}
        )
        assert bad.status == 400
    with pytest.raises(Exception, match="state mismatch"):
        await task
    twitch.codes["abc"] = "200"
    shown.clear()
    ready.clear()
    task = asyncio.create_task(
        invite(
            "cid",
            "csecret",
            BROADCASTER_SCOPES,
            port=port,
            id_base=f"{twitch.base}/id/",
            timeout_s=5,
            show=shown.append,
            ready=ready,
        )
    )
    await asyncio.wait_for(ready.wait(), 5)
    state = parse_qs(urlparse(shown[0]).query)["state"][0]
    async with aiohttp.ClientSession() as session:
        ok = await session.get(f"http://127.0.0.1:{port}/callback", params={"code": "abc", "state": state})
        assert ok.status == 200
    grant = await task
    assert (grant.login, grant.user_id, grant.scopes) == ("streamer", "200", ("channel:bot",))
    assert grant.access_token not in repr(grant)


async def test_secrets_file_store_is_private_and_readable_by_core(tmp_path):
    import stat

    from bot.adapters.token_store import SecretsFileStore
    from bot.secrets import SecretsError, load_secrets

    path = tmp_path / "secrets.toml"
    store = SecretsFileStore(path)
    assert store.get("twitch_token") is None
    store.set("twitch_token", 'tok"with\\quotes')
    store.set("twitch_refresh_token", "ref")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_secrets(path, env={})
    assert (
        loaded.twitch_token.reveal() == 'tok"with\\quotes' and loaded.twitch_refresh_token.reveal() == "ref"
    )
    with pytest.raises(SecretsError, match="unknown key"):
        store.set("password", "x")


async def test_an_unreadable_joined_channels_file_is_kept_not_overwritten(tmp_path):
    # trial 14: a hand edit's trailing comma made the file "read as empty"; the next !join wrote ["new"] over
    # every channel joined so far
    from bot.adapters.twitch_auth import JoinedChannels

    path = tmp_path / "twitch_channels.json"
    path.write_text('["alice", "bob",]', encoding="utf-8")
    joined = JoinedChannels(path)
    assert joined.load() == [] and joined.add("carol")
    assert joined.load() == ["carol"]
    assert (tmp_path / "twitch_channels.json.unreadable").read_text(encoding="utf-8") == '["alice", "bob",]'


async def test_secrets_file_store_keeps_comments_and_writes_through_a_symlink(tmp_path):
    # trial 14: a token refresh replaced a symlinked secrets file with a regular file (the link's target kept
    # the stale token) and dropped the user's comments
    import os

    from bot.adapters.token_store import SecretsFileStore
    from bot.secrets import load_secrets

    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "secrets.toml"
    real.write_text('# my notes: rotate monthly\ntwitch_token = "old"\n\ndiscord_token = "d"  # the bot\n')
    os.chmod(real, 0o600)
    link = tmp_path / "secrets.toml"
    link.symlink_to(real)
    store = SecretsFileStore(link)
    store.set("twitch_token", "new")
    store.set("twitch_refresh_token", "ref")
    assert link.is_symlink()
    assert real.read_text() == ('# my notes: rotate monthly\ntwitch_token = "new"\n\n'
                                'discord_token = "d"  # the bot\ntwitch_refresh_token = "ref"\n')
    loaded = load_secrets(link, env={})
    assert (loaded.twitch_token.reveal(), loaded.discord_token.reveal()) == ("new", "d")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["real", "secrets.toml", "secrets.toml"]  # no .tmp


async def test_doctor_twitch(twitch: FakeTwitch):
    from bot.adapters.doctor import check_twitch

    kw = {
        "id_base": f"{twitch.base}/id/",
        "helix_base": f"{twitch.base}/helix/",
        "eventsub_ws": f"{twitch.base}/ws",
    }
    checks = await check_twitch("cid", "csecret", "bottoken", ["streamer", "ghost"], **kw)
    by_name = {c.name: c for c in checks}
    assert by_name["application"].ok and by_name["bot token"].ok and by_name["EventSub"].ok
    assert "chatcastbot" in by_name["bot token"].detail
    assert by_name["channel #streamer"].ok and not by_name["channel #ghost"].ok
    assert not any("bottoken" in c.detail + c.fix for c in checks)
    twitch.grant("100", "narrow", "r2", ["user:read:chat"])
    narrow = {c.name: c for c in await check_twitch("cid", "csecret", "narrow", [], **kw)}
    assert not narrow["bot token"].ok and "user:write:chat" in narrow["bot token"].detail
    expired = {c.name: c for c in await check_twitch("cid", "csecret", "expired", [], **kw)}
    assert not expired["bot token"].ok and "invite twitch --bot" in expired["bot token"].fix
    assert [c.ok for c in await check_twitch(None, None, None, [])] == [False]


async def test_token_revoked_mid_stream_one_log_line_then_recovers(twitch: FakeTwitch, caplog):
    store = MemoryStore()
    adapter = make_adapter(twitch, token_store=store, token_poll_s=0.02)
    await adapter.connect()
    caplog.set_level(logging.ERROR, logger="chatcast.adapters.twitch")
    try:
        del twitch.user_tokens["bottoken"]  # the streamer/bot revoked the authorisation:
        twitch.refresh_tokens.clear()  # access and refresh tokens are both dead
        for _ in range(3):
            with pytest.raises(ConnectionError, match="waiting for a new one"):
                await adapter.send(Reply("twitch", "streamer", "lost"))
        assert sum("rejected" in r.getMessage() for r in caplog.records) == 1
        twitch.grant("100", "fresh", "fresh-refresh", ["user:read:chat", "user:write:chat", "user:bot"])
        store.set("twitch_token", "fresh")
        store.set("twitch_refresh_token", "fresh-refresh")
        await wait_until(lambda: adapter._recovery is not None and adapter._recovery.done())
        await adapter.send(Reply("twitch", "streamer", "back"))
        assert [m["message"] for m in twitch.sent] == ["back"] and twitch.sent_tokens == ["fresh"]
    finally:
        await adapter.close()
