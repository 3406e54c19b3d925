"""End-to-end tests: the real twitchio 3 client against a fake Twitch on 127.0.0.1 (tests/fakes/twitch.py)."""

from __future__ import annotations

import asyncio

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
