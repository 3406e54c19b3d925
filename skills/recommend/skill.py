"""``!recommend``: content recommendations from watch history (the chat-facing shell of ``model.py``).

Per (platform, channel) the skill keeps a :class:`ChannelModel`: the catalog (config items plus the
categories seen live), the item-text embeddings (through ``ctx.engine.embed``) and a trained
:class:`~skills.recommend.model.HybridRecommender`. Training reads watch history and signals from storage
on the event loop (small queries) and fits in ``asyncio.to_thread``; it runs at the first query and again
when the model is older than ``retrain_interval_s``, or sooner (``EARLY_RETRAIN_S``) once the channel's
signals and presence rows grew by ``EARLY_RETRAIN_EVENTS`` or 10 %, or (``SIGNAL_RETRAIN_S``) once a new
``!like`` / ``!watched`` was stored (in the background: queries keep using the old model). A viewer's own
newest watches count at once (their history is read at query time).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.commands import CommandContext, command
from bot.events import Role, StreamStatus, Viewer
from skills.base import Skill, SkillSettings, raise_at, repeats_at
from skills.recommend.history import (
    build_matrix,
    category_key,
    signal_events,
    viewer_popularity,
    watch_events,
)
from skills.recommend.model import HybridParams, HybridRecommender, Reason, Recommendation, text_vectors
from storage import recommend as store

EPOCH = "1970-01-01T00:00:00+00:00"
NEW_BONUS = 0.8  # score lift of a just-added item (scores are scaled to [-1, 1]), halved by new_item_days
EMBED_TIMEOUT_S = 300.0  # the background embedding of a catalog (no viewer waits for it)
EMBED_RETRY_S = 60.0  # after a failed catalog embedding, CF only for this long before trying again
FRESH_WAIT_S = 0.5  # seconds a query waits for a retrain in flight before using the previous model
ItemKind = Literal["vod", "clip", "category", "channel"]


class CatalogEntry(BaseModel):
    """One recommendable item from the config: ``id`` is unique per kind; ``added`` marks it new."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    kind: ItemKind = "vod"
    tags: list[str] = []
    description: str = ""
    link: str = ""
    added: date | None = Field(None, strict=False)

    @property
    def key(self) -> str:
        return category_key(self.id) if self.kind == "category" else f"{self.kind}:{self.id.strip().lower()}"


class RecommendSettings(SkillSettings):
    """``[skills.recommend]``: catalog, pins/exclusions and model knobs (see docs/recommend.md)."""

    catalog: list[CatalogEntry] = []
    pins: list[str] = []  # item ids, keys or titles always offered first (when unseen)
    exclude: list[str] = []  # item ids, keys or titles never offered
    max_items: int = Field(3, ge=1, le=3)
    diversity: float = Field(0.3, ge=0.0, lt=1.0)
    content_weight: float = Field(0.3, ge=0.0, le=1.0)
    popularity_penalty: float = Field(0.0, ge=0.0)
    half_life_days: float = Field(30.0, gt=0, le=3650)
    half_life_watches: float | None = Field(10.0, gt=0)
    l2: float = Field(20.0, gt=0)
    method: Literal["ease", "knn"] = "ease"
    new_item_days: float = Field(14.0, ge=0, le=3650)
    retrain_interval_s: float = Field(900.0, ge=10, le=604_800)
    like_weight: float = Field(3.0, ge=0)
    watched_weight: float = Field(2.0, ge=0)

    @field_validator("catalog")
    @classmethod
    def _unique_ids(cls, v: list[CatalogEntry]) -> list[CatalogEntry]:
        # an item is its kind and id (``CatalogEntry.key``): the same id under another kind is another item
        raise_at([(loc, f"catalog item {key!r} is defined twice (each kind and id once: the same id with "
                        "another kind is another item)")
                  for loc, key in repeats_at([((i, "id"), e.key) for i, e in enumerate(v)])])
        return v

    def config_warnings(self) -> list[tuple[tuple[str | int, ...], str]]:
        """``(loc, message)`` for each ``pins`` / ``exclude`` name that would pin or exclude nothing, or not
        what it seems, in this catalog (the rule of ``!recommend pin``: ``name_matches``): no item, several
        titles, or an id several kinds share (it names only the first ``kind:id``). Warnings, not errors: a
        category streamed later joins the catalog and may be the item meant. ``bot.config`` shows them in
        ``chatcast config check`` and at start-up: for ``[skills.recommend]`` checked against the global
        catalog alone, for a channel that sets ``pins`` / ``exclude`` itself against its merged catalog."""
        items = sorted((e.key, e.title) for e in self.catalog)  # the skill's rows are ordered by key too
        out: list[tuple[tuple[str | int, ...], str]] = []
        for key in ("pins", "exclude"):
            verb = "pins" if key == "pins" else "excludes"
            for i, name in enumerate(getattr(self, key)):
                shown = json.dumps(name, ensure_ascii=False)
                found = name_matches(items, name)
                shared = [k for k, _ in items if fold(k.split(":", 1)[1]) == fold(name)]
                if not found:
                    # a channel's own catalog is merged over the global one in that channel only: a global
                    # name was reported as naming nothing while the one channel's catalog had it
                    out.append(((key, i), f"{shown} names no catalog item (an id, kind:id or title), so it "
                                f"{verb} nothing unless a category of that name is streamed here (under "
                                "[skills.recommend] only the global catalog is checked; where a channel's "
                                "own catalog has that item, it works there)"))
                elif len(found) > 1:
                    titles = " | ".join(items[j][1] for j in found[:4]) + (" | ..." if len(found) > 4 else "")
                    out.append(((key, i), f"{shown} matches {len(found)} catalog titles ({titles}), so it "
                                f"{verb} nothing: give an id or a whole title"))
                elif len(shared) > 1:
                    out.append(((key, i), f"{shown} is the id of {len(shared)} catalog items "
                                f"({', '.join(shared)}) and {verb} only {shared[0]}: write kind:id"))
        return out


@dataclass
class ChannelModel:
    """A trained snapshot for one channel: items, their metadata and the recommender."""

    keys: list[str]
    rows: list[store.CatalogRow]
    model: HybridRecommender
    trained_at: float  # clock.monotonic() at the end of training
    users: dict[str, int] = field(default_factory=dict)  # user ids in the training data
    content: bool = True  # False: trained without item embeddings (not ready yet): CF/popularity only
    activity: int = 0  # storage.recommend.activity when training began (new likes and viewers since: retrain)

    @cached_property
    def index(self) -> dict[str, int]:
        """Item key -> column (built once: every query looked it up three times)."""
        return {k: i for i, k in enumerate(self.keys)}

    @cached_property
    def config_added_s(self) -> np.ndarray:
        """``(n_items,)`` float64 epoch seconds of each config item's ``added`` date; NaN for other items
        and unreadable dates. Parsed once, for the "new" bonus and the future-date exclusion of each query."""
        out = np.full(len(self.rows), np.nan)
        for i, r in enumerate(self.rows):
            if r.source == "config":
                with contextlib.suppress(ValueError, TypeError):
                    out[i] = datetime.fromisoformat(r.added_at).timestamp()
        return out


REASON_TEXT = {
    Reason.SIMILAR_VIEWERS: "popular with viewers like you",
    Reason.CONTENT: "like what you watch",
    Reason.POPULAR: "popular here",
    Reason.LISTED: "on the streamer's list",
    Reason.NEW: "new",
}


class RecommendSkill(Skill):
    """Recommends VODs, clips, categories and partner channels from watch history (see docs/recommend.md)."""

    name: ClassVar[str] = "recommend"
    Settings: ClassVar[type[SkillSettings]] = RecommendSettings
    stores: ClassVar[str] = (
        "your !like / !watched signals (your watch history itself is kept by the core); deleted by !forgetme"
    )

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.models: dict[tuple[str, str], ChannelModel] = {}
        self._training: dict[tuple[str, str], asyncio.Task] = {}
        self._embedding_cache: dict[str, np.ndarray] = {}
        # catalog texts waiting for an embedding, and the one background task embedding them
        self._embed_wanted: dict[str, str] = {}
        self._embed_task: asyncio.Task | None = None
        self._embed_failed_at = float("-inf")
        self._names: dict[tuple[str, str], str] = {}  # model key -> the channel name as seen
        self._forget_epoch = 0  # bumped by delete_user_data: a training run that began before is discarded
        # model keys with a signal stored since their last training began: retrained at the next query
        self._new_signals: set[tuple[str, str]] = set()
        # (platform, channel, user_id, item_key, kind) of repeated signals already answered "you already ...":
        # further repeats get no reply (a viewer repeating "!like X" made the bot talk every 6 s)
        self._told_repeat: OrderedDict[tuple[str, str, str, str, str], None] = OrderedDict()

    async def start(self) -> None:
        store.migrate(self.ctx.storage)

    async def stop(self) -> None:
        tasks = list(self._training.values())
        if self._embed_task is not None:
            tasks.append(self._embed_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def purge_older_than(self, cutoff: datetime) -> int:
        """Retention: drop ``!like`` / ``!watched`` signals recorded before ``cutoff`` (the watch history
        itself is purged by the core)."""
        return store.purge_signals_older_than(self.ctx.storage, cutoff)

    # ---- events ---------------------------------------------------------------------------------

    async def on_stream_status(self, status: StreamStatus) -> None:
        """A live category becomes a catalog item and opens a category span (offline closes it; an
        online status without a category leaves the current span alone)."""
        db = self.ctx.storage
        if status.online and not status.category:
            return
        category = status.category if status.online else None
        last = store.latest_span(db, status.platform, status.channel)
        if category and last and last[2] is None and last[0] == category:
            return  # same category still live (title change)
        store.open_category_span(db, status.platform, status.channel, category, status.timestamp)
        if category:
            store.upsert_item(
                db,
                store.CatalogRow(
                    status.platform,
                    status.channel.lower(),
                    category_key(category),
                    "category",
                    category,
                    source="live",
                ),
                status.timestamp,
            )

    async def delete_user_data(self, viewer: Viewer) -> int:
        """Delete the viewer's signals and drop them from every trained model (retrained next query)."""
        removed = store.delete_viewer(self.ctx.storage, viewer)
        self._forget_epoch += 1
        for told in [t for t in self._told_repeat if t[0] == viewer.platform and t[2] == viewer.user_id]:
            del self._told_repeat[told]
        for (platform, channel), cm in list(self.models.items()):
            if platform == viewer.platform and viewer.user_id in cm.users:
                del self.models[(platform, channel)]  # their rows shaped B: retrain without them
        return removed

    async def user_data_summary(self, viewer: Viewer) -> str | None:
        n = store.count_signals(self.ctx.storage, viewer)
        return f"recommend: {n} like/watched signals" if n else None

    # ---- commands -------------------------------------------------------------------------------

    @command(
        "recommend",
        aliases=("rec",),
        usage="[category]",
        cooldown_user=10,
        help="Up to 3 things to watch next that you have not seen; !recommend <category> narrows it.",
    )
    async def recommend(self, ctx: CommandContext) -> None:
        if not await self._on(ctx):
            return
        cm = await self.model_for(ctx.message.platform, ctx.channel)
        allowed = None
        if ctx.rest:
            allowed = self._filter(cm, ctx.rest)
            if not allowed.any():
                # never repeat a viewer's words: the bot would say whatever they typed
                name = ctx.author.display_name
                await ctx.reply(f"@{name} nothing here matches that; try !recommend alone.")
                return
        recs = self.pick(cm, ctx.author, ctx.channel, ctx.settings, allowed=allowed)
        if not recs:
            await ctx.reply(self._nothing_to_offer(cm, ctx.author, ctx.channel, ctx.settings, allowed))
            return
        parts = [self._describe(cm, r, why) for r, why in recs]
        await ctx.reply(f"@{ctx.author.display_name} try: " + " | ".join(parts))

    @command("similar", usage="<item>", cooldown_user=10, help="Items like the one named.")
    async def similar(self, ctx: CommandContext) -> None:
        if not await self._on(ctx):
            return
        if not ctx.rest:
            await ctx.reply("Usage: !similar <item title or id>")
            return
        cm = await self.model_for(ctx.message.platform, ctx.channel)
        j = self.resolve(cm, ctx.rest)
        if j is None:
            await self._unresolved(ctx, cm, "I don't know that title.")
            return
        history = np.zeros(len(cm.keys), dtype=np.float32)
        history[j] = 1.0
        excluded = self._excluded(cm, ctx.message.platform, ctx.channel, ctx.settings)
        recs = cm.model.recommend(history, ctx.settings.max_items, exclude=excluded)
        if not recs:
            await ctx.reply(f"Nothing similar to {cm.rows[j].title} yet.")
            return
        await ctx.reply(f"Like {cm.rows[j].title}: " + " | ".join(self._title_link(cm, r.item) for r in recs))

    @command(
        "like", usage="<item>", cooldown_user=5, help="Say you liked an item (or the live category)."
    )
    async def like(self, ctx: CommandContext) -> None:
        await self._signal(ctx, "like")

    @command("watched", usage="<item>", cooldown_user=5, help="Say you have watched an item.")
    async def watched(self, ctx: CommandContext) -> None:
        if not ctx.rest.strip():  # recorded the live category as "watched elsewhere" (trial 19)
            await ctx.reply("Usage: !watched <item title or id> (what you watched somewhere else; !like "
                            "likes what is live now)")
            return
        await self._signal(ctx, "watched")

    @command(
        "recommend pin",
        aliases=("rec pin",),  # "!rec pin x" was a search for "pin x" (trial 28)
        permission=Role.MODERATOR,
        usage="<item>",
        help="Always offer this item first.",
    )
    async def pin(self, ctx: CommandContext) -> None:
        await self._override(ctx, "pin")

    @command(
        "recommend exclude",
        aliases=("rec exclude",),  # "!rec exclude x" was a search for "exclude x" (trial 28)
        permission=Role.MODERATOR,
        usage="<item>",
        help="Never recommend this item.",
    )
    async def exclude(self, ctx: CommandContext) -> None:
        await self._override(ctx, "exclude")

    @command(
        "recommend clear",
        aliases=("rec clear",),  # "!rec clear x" was a search for "clear x" (trial 28)
        permission=Role.MODERATOR,
        usage="<item>",
        help="Remove a pin or exclusion.",
    )
    async def clear(self, ctx: CommandContext) -> None:
        await self._override(ctx, None)

    @command("recommend off", aliases=("rec off",), permission=Role.MODERATOR,
             help="Turn recommendations off in this channel.")
    async def off(self, ctx: CommandContext) -> None:
        store.set_channel_enabled(self.ctx.storage, ctx.message.platform, ctx.channel, False)
        await ctx.reply("Recommendations are off in this channel (!recommend on to resume).")

    @command("recommend on", aliases=("rec on",), permission=Role.MODERATOR,
             help="Turn recommendations back on.")
    async def on(self, ctx: CommandContext) -> None:
        store.set_channel_enabled(self.ctx.storage, ctx.message.platform, ctx.channel, True)
        await ctx.reply("Recommendations are on.")

    # ---- model ----------------------------------------------------------------------------------

    async def model_for(self, platform: str, channel: str) -> ChannelModel:
        """The channel's model: trained now when missing, retrained in the background when stale."""
        key = (platform, channel.lower())
        self._names[key] = channel
        cm = self.models.get(key)
        settings = self.ctx.settings_for(platform, channel)
        stale = cm is None or self.ctx.clock.monotonic() - cm.trained_at >= settings.retrain_interval_s
        if cm is not None and not cm.content and self._embeddings_ready(cm.rows):
            stale = True  # the catalog embeddings arrived since: add the content part
        if not stale and cm is not None and self.ctx.clock.monotonic() - cm.trained_at >= EARLY_RETRAIN_S:
            # trained on a stream's first "!like", a model knew nothing of the 24 likes after it for 15 min
            grown = store.activity(self.ctx.storage, platform, channel) - cm.activity
            stale = grown >= max(EARLY_RETRAIN_EVENTS, 0.1 * cm.activity)
        if not stale and key in self._new_signals and cm is not None:
            # "!rec" said an item liked a moment ago was "on the streamer's list" (nobody watched it)
            stale = self.ctx.clock.monotonic() - cm.trained_at >= SIGNAL_RETRAIN_S
        if stale and key not in self._training:  # one training run per channel at a time
            task = asyncio.create_task(self.retrain(platform, channel), name=f"recommend-train-{channel}")
            self._training[key] = task
            task.add_done_callback(lambda _t: self._training.pop(key, None))
        task = self._training.get(key)
        if cm is None:  # nothing to answer with yet: wait for the first model (shielded from our cancel)
            return await asyncio.shield(task)
        if task is not None:  # a quick retrain answers this query; a slow one finishes in the background
            done, _ = await asyncio.wait({task}, timeout=FRESH_WAIT_S)
            if done and not task.cancelled() and task.exception() is None:
                return task.result()
        return cm

    async def retrain(self, platform: str, channel: str) -> ChannelModel:
        """Rebuild the catalog, embeddings and model of a channel (fit off the event loop)."""
        settings: RecommendSettings = self.ctx.settings_for(platform, channel)
        db = self.ctx.storage
        epoch = self._forget_epoch
        self._new_signals.discard((platform, channel.lower()))  # a signal stored from now on: train again
        activity = store.activity(db, platform, channel)
        self._sync_catalog(platform, channel, settings)
        rows = store.catalog(db, platform, channel)
        keys = [r.item_key for r in rows]
        items = {k: i for i, k in enumerate(keys)}
        watched = store.watch_rows(db, platform, channel)  # SQL on the loop; parsing and fitting off it
        spans = store.category_spans(db, platform, channel)
        sigs = store.signals(db, platform, channel)
        embeddings = await self._embed(rows)
        params = self._params(settings)
        now = self.ctx.clock.now().timestamp()
        users: dict[str, int] = {}
        events: list = []

        def fit() -> HybridRecommender:
            events.extend(watch_events(watched, spans))
            events.extend(signal_events(sigs, like=settings.like_weight, watched=settings.watched_weight))
            X = build_matrix(events, users, items, now=now, half_life_days=params.half_life_days)
            # "popular here" counts viewers, not events: one account's 40 "!like X" made X everyone's top pick
            pop = viewer_popularity(events, items, now=now, half_life_days=params.half_life_days)
            # without sentence embeddings (no engine, model missing, not embedded yet) shared tags and
            # title words still make items neighbours, so "!like X" moves the next "!rec" at once
            content = embeddings if embeddings is not None or not rows else text_vectors(
                [item_text(r) for r in rows])
            return HybridRecommender(params).fit(X, content, pop)

        t0 = time.perf_counter()
        model = await asyncio.to_thread(fit)
        self.ctx.log.info(
            "recommend: trained %s/%s on %d events, %d items in %.3fs",
            platform,
            channel,
            len(events),
            len(keys),
            time.perf_counter() - t0,
        )
        cm = ChannelModel(
            keys, rows, model, self.ctx.clock.monotonic(), users, content=embeddings is not None or not rows,
            activity=activity,
        )
        if epoch == self._forget_epoch:  # else a viewer asked to be forgotten meanwhile: use once, don't keep
            self.models[(platform, channel.lower())] = cm
        return cm

    def history(
        self, cm: ChannelModel, viewer: Viewer, platform: str, channel: str, settings: RecommendSettings,
        sigs: list[tuple[str, str, str, str]] | None = None,
    ) -> np.ndarray:
        """The viewer's current decayed history vector (n_items,), read from storage now (``sigs``: the
        viewer's ``store.signals`` when the caller has read them already)."""
        db = self.ctx.storage
        rows = store.watch_rows(db, platform, channel, viewer.user_id)
        if sigs is None:
            sigs = store.signals(db, platform, channel, viewer.user_id)
        events = watch_events(rows, store.category_spans(db, platform, channel))
        events += signal_events(sigs, like=settings.like_weight, watched=settings.watched_weight)
        X = build_matrix(
            events,
            {viewer.user_id: 0},
            cm.index,
            now=self.ctx.clock.now().timestamp(),
            half_life_days=settings.half_life_days,
            half_life_events=settings.half_life_watches,
        )
        return X.toarray()[0]

    def pick(
        self,
        cm: ChannelModel,
        viewer: Viewer,
        channel: str,
        settings: RecommendSettings,
        *,
        allowed: np.ndarray | None = None,
    ) -> list[tuple[Recommendation, str]]:
        """Pins first (unseen, allowed), then the model's picks: up to ``max_items`` ``(rec, reason)``."""
        platform = viewer.platform
        if not cm.keys:
            return []
        sigs = store.signals(self.ctx.storage, platform, channel, viewer.user_id)
        h = self.history(cm, viewer, platform, channel, settings, sigs)
        excluded = self._excluded(cm, platform, channel, settings)
        seen = h > 0
        out: list[tuple[Recommendation, str]] = []
        for j in self._pinned(cm, platform, channel, settings):
            ok = not seen[j] and not excluded[j] and (allowed is None or allowed[j])
            if ok and len(out) < settings.max_items:
                out.append((Recommendation(j, 0.0, Reason.POPULAR), "streamer's pick"))
        taken = excluded.copy()
        for r, _ in out:
            taken[r.item] = True
        recs = cm.model.recommend(
            h,
            settings.max_items - len(out),
            exclude=taken,
            allowed=allowed,
            bonus=self._new_bonus(cm, settings),
        )
        liked = {key for _, key, kind, _ in sigs if kind == "like"}
        # "on the streamer's list" says nobody watched it: not true of an item liked since the training
        listed = [cm.keys[r.item] for r in recs if r.reason is Reason.LISTED]
        signalled = store.signalled_items(self.ctx.storage, platform, channel, listed) if listed else set()
        recs = [replace(r, reason=Reason.POPULAR) if cm.keys[r.item] in signalled else r for r in recs]
        out += [(r, self._reason(cm, r, h, liked)) for r in recs]
        return out

    # ---- helpers --------------------------------------------------------------------------------

    def _params(self, s: RecommendSettings) -> HybridParams:
        return HybridParams(
            method=s.method,
            l2=s.l2,
            neighbors=200,
            half_life_days=s.half_life_days,
            decay_reference="global",
            content_weight=s.content_weight,
            popularity_penalty=s.popularity_penalty,
            diversity=s.diversity,
        )

    def _sync_catalog(self, platform: str, channel: str, settings: RecommendSettings) -> None:
        now = self.ctx.clock.now()
        for e in settings.catalog:
            # an item without an ``added`` date is never "new"
            added = (
                datetime(e.added.year, e.added.month, e.added.day, tzinfo=UTC).isoformat()
                if e.added
                else EPOCH
            )
            store.upsert_item(
                self.ctx.storage,
                store.CatalogRow(
                    platform,
                    channel.lower(),
                    e.key,
                    e.kind,
                    e.title,
                    ", ".join(e.tags),
                    e.description,
                    e.link,
                    "config",
                    added,
                ),
                now,
            )

    async def _embed(self, rows: list[store.CatalogRow]) -> np.ndarray | None:
        """The catalog's item embeddings when all are cached; else ``None`` at once (CF/popularity only)
        and the missing ones are embedded by one background task, never inside a command's budget."""
        engine = self.ctx.engine
        if not rows or engine is None or not engine.available("embed"):
            return None
        texts = [item_text(r) for r in rows]
        hashes = [_text_hash(t) for t in texts]
        missing = {h: t for t, h in zip(texts, hashes, strict=True) if h not in self._embedding_cache}
        if missing:
            self._embed_wanted.update(missing)
            self._start_embedding()
            return None
        return np.stack([self._embedding_cache[h] for h in hashes])

    async def wait_embeddings(self, timeout: float | None = None) -> None:
        """Wait (at most ``timeout`` s) for the background catalog embedding in flight, if any."""
        task = self._embed_task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=timeout)

    def _embeddings_ready(self, rows: list[store.CatalogRow]) -> bool:
        return bool(rows) and all(_text_hash(item_text(r)) in self._embedding_cache for r in rows)

    def _start_embedding(self) -> None:
        if self._embed_task is not None and not self._embed_task.done():
            return  # single flight: the running task picks up what was added meanwhile
        if self.ctx.clock.monotonic() - self._embed_failed_at < EMBED_RETRY_S:
            return
        self._embed_task = asyncio.create_task(self._embed_background(), name="recommend-embed")

    async def _embed_background(self) -> None:
        from bot.inference.api import RequestPriority

        engine = self.ctx.engine
        while self._embed_wanted:
            batch = dict(self._embed_wanted)
            try:
                vecs = await engine.embed(
                    list(batch.values()), priority=RequestPriority.BACKGROUND, timeout=EMBED_TIMEOUT_S
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - content is optional: CF only meanwhile
                self._embed_failed_at = self.ctx.clock.monotonic()
                self.ctx.log.warning(
                    "recommend: embedding the catalog failed (%s); using CF only for now", exc
                )
                return
            for h, v in zip(batch, np.asarray(vecs, dtype=np.float32), strict=True):
                self._embedding_cache[h] = v
                self._embed_wanted.pop(h, None)
        for key, cm in list(self.models.items()):  # retrain the CF-only models now
            platform, channel = key[0], self._names.get(key, key[1])
            if not cm.content and key not in self._training and self._embeddings_ready(cm.rows):
                task = asyncio.create_task(self.retrain(platform, channel), name=f"recommend-train-{channel}")
                self._training[key] = task
                task.add_done_callback(lambda _t, key=key: self._training.pop(key, None))

    async def _on(self, ctx: CommandContext) -> bool:
        """Whether the skill is on in this channel. While it is off, a moderator is reminded (their own
        ``!rec`` went silent and looked broken); viewers get nothing, as before."""
        if store.channel_enabled(self.ctx.storage, ctx.message.platform, ctx.channel):
            return True
        if ctx.author.level >= Role.MODERATOR:
            await ctx.reply("Recommendations are off in this channel (!recommend on turns them back on).")
        return False

    def _nothing_to_offer(
        self,
        cm: ChannelModel,
        viewer: Viewer,
        channel: str,
        settings: RecommendSettings,
        allowed: np.ndarray | None,
    ) -> str:
        """Why ``pick`` found nothing: the viewer has seen every item that may be offered, or there is no
        such item at all (no catalog configured and no other category streamed yet; moderators are told
        how to add items)."""
        offerable = ~self._excluded(cm, viewer.platform, channel, settings)
        if allowed is not None:
            offerable &= allowed
        if offerable.any():  # ``pick`` offers every unseen one of these: this viewer has seen them all
            return "Nothing new to recommend right now — you've seen it all!"
        if allowed is not None:
            return "Nothing to recommend there right now; try !recommend alone."
        live = self.live_category(viewer.platform, channel)
        if live is not None and category_key(live) in cm.index:  # the only item is the one live now
            return (f"Nothing to recommend besides {live}, which is live now"
                    + ("; add more under [[skills.recommend.catalog]] (docs/recommend.md)."
                       if viewer.has(Role.MODERATOR) else "."))
        if viewer.has(Role.MODERATOR):
            return (
                "No recommendations are set up yet: add items under [[skills.recommend.catalog]] in the "
                "bot's config (see docs/recommend.md); categories streamed here join by themselves."
            )
        return "No recommendations are set up here yet."

    def matches(self, cm: ChannelModel, text: str) -> list[int]:
        """Items ``text`` names (``name_matches`` over the channel's catalog rows)."""
        return name_matches([(r.item_key, r.title) for r in cm.rows], text)

    def resolve(self, cm: ChannelModel, text: str) -> int | None:
        """The one item ``text`` names (``matches``); ``None`` when none or several do."""
        found = self.matches(cm, text)
        return found[0] if len(found) == 1 else None

    async def _unresolved(self, ctx: CommandContext, cm: ChannelModel, unknown: str) -> None:
        """Reply to an item name that ``resolve`` could not pin down: the candidates when several titles
        match (the catalog's titles, never the viewer's words), else ``unknown``."""
        found = self.matches(cm, ctx.rest)
        name = ctx.author.display_name
        if len(found) > 1:
            shown = " | ".join(cm.rows[i].title for i in found[:4]) + (" | ..." if len(found) > 4 else "")
            await ctx.reply(f"@{name} which one? {shown}")
        else:
            await ctx.reply(f"@{name} {unknown}")

    def _filter(self, cm: ChannelModel, text: str) -> np.ndarray:
        """Items whose kind, tags or title mention ``text`` (a category filter)."""
        q = text.strip().lower()
        kinds = {
            "vods": "vod",
            "vod": "vod",
            "clips": "clip",
            "clip": "clip",
            "channels": "channel",
            "channel": "channel",
            "categories": "category",
            "games": "category",
            "category": "category",
        }
        if q in kinds:
            return np.array([r.kind == kinds[q] for r in cm.rows])
        return np.array(
            [q in r.tags.lower() or q in r.title.lower() or q in r.description.lower() for r in cm.rows]
        )

    def _named(self, cm: ChannelModel, names: list[str]) -> set[int]:
        out = set()
        for n in names:
            j = self.resolve(cm, n)
            if j is not None:
                out.add(j)
        return out

    def _excluded(self, cm: ChannelModel, platform: str, channel: str, s: RecommendSettings) -> np.ndarray:
        mask = np.zeros(len(cm.keys), dtype=bool)
        idx = cm.index
        for key, action in store.overrides(self.ctx.storage, platform, channel).items():
            if action == "exclude" and key in idx:
                mask[idx[key]] = True
        for j in self._named(cm, s.exclude):
            mask[j] = True
        # an item whose "added" date is still to come is not out yet (it was recommended at once)
        with np.errstate(invalid="ignore"):
            mask |= cm.config_added_s > self.ctx.clock.now().timestamp()  # NaN (no date) compares False
        # what the channel is live in right now: viewers are already watching it
        live_category = self.live_category(platform, channel)
        live = idx.get(category_key(live_category)) if live_category else None
        if live is not None:
            mask[live] = True
        return mask

    def live_category(self, platform: str, channel: str) -> str | None:
        """The category the channel is live in now, or ``None`` (offline or not known).

        The open category span in storage (written from stream-status events, kept across restarts) is
        the one source ``!like`` and the recommendations' exclusion both read; the adapter's channel
        info answers only when no span was ever stored for the channel."""
        last = store.latest_span(self.ctx.storage, platform, channel)
        if last is not None:
            return last[0] if last[2] is None and last[0] else None
        info = self.ctx.channel_info(platform, channel)
        return getattr(info, "category", None) if getattr(info, "live", False) else None

    def _pinned(self, cm: ChannelModel, platform: str, channel: str, s: RecommendSettings) -> list[int]:
        idx = cm.index
        pins = [
            idx[k]
            for k, a in store.overrides(self.ctx.storage, platform, channel).items()
            if a == "pin" and k in idx
        ]
        return pins + [j for j in sorted(self._named(cm, s.pins)) if j not in pins]

    def _new_bonus(self, cm: ChannelModel, s: RecommendSettings) -> np.ndarray | None:
        if s.new_item_days <= 0:
            return None
        age = (self.ctx.clock.now().timestamp() - cm.config_added_s) / 86_400  # days; NaN: no date
        with np.errstate(invalid="ignore"):
            new = (age >= 0) & (age <= s.new_item_days)
        bonus = np.zeros(len(cm.keys), dtype=np.float32)
        bonus[new] = NEW_BONUS * (1 - 0.5 * age[new] / max(s.new_item_days, 1e-9))
        return bonus

    def _reason(
        self, cm: ChannelModel, r: Recommendation, h: np.ndarray, liked: set[str] = frozenset()
    ) -> str:
        """The reason in words; ``liked``: item keys the viewer ``!like``d ("because you liked X": after
        "Noted: you liked X" the bot said "because you watched X")."""
        if r.reason is Reason.BECAUSE and r.anchor is not None:
            verb = "liked" if cm.keys[r.anchor] in liked else "watched"
            return f"because you {verb} {cm.rows[r.anchor].title}"
        return REASON_TEXT[r.reason]

    def _title_link(self, cm: ChannelModel, j: int) -> str:
        row = cm.rows[j]
        return f"{row.title} {row.link}".strip()

    def _describe(self, cm: ChannelModel, r: Recommendation, why: str) -> str:
        if why == "new":
            return f"new: {self._title_link(cm, r.item)}"
        return f"{self._title_link(cm, r.item)} ({why})"

    async def _signal(self, ctx: CommandContext, kind: Literal["like", "watched"]) -> None:
        if not await self._on(ctx):
            return
        platform = ctx.message.platform
        cm = await self.model_for(platform, ctx.channel)
        if ctx.rest:
            j = self.resolve(cm, ctx.rest)
            key = cm.keys[j] if j is not None else None
            title = cm.rows[j].title if j is not None else None
        else:
            cat = self.live_category(platform, ctx.channel)
            key, title = (category_key(cat), cat) if cat else (None, None)
        if key is None:
            if ctx.rest:
                await self._unresolved(ctx, cm, f"I don't know that title; try !{kind} <title>.")
            else:
                await ctx.reply(f"@{ctx.author.display_name} I don't know what is live right now; "
                                f"try !{kind} <title>.")
            return
        verb = "liked" if kind == "like" else "watched"
        told = (platform, ctx.channel.lower(), ctx.author.user_id, key, kind)
        if store.add_signal(self.ctx.storage, ctx.author, platform, ctx.channel, key, kind,
                            ctx.message.timestamp):
            self._told_repeat.pop(told, None)
            self._new_signals.add((platform, ctx.channel.lower()))
            await ctx.reply(f"Noted: you {verb} {title}.")
            return
        # a repeat is stored once (its time refreshed) and answered once; after that, silence
        if told in self._told_repeat:
            return
        self._told_repeat[told] = None
        while len(self._told_repeat) > MAX_TOLD_REPEATS:
            self._told_repeat.popitem(last=False)
        await ctx.reply(f"@{ctx.author.display_name} you already {verb} {title}.")

    async def _override(self, ctx: CommandContext, action: Literal["pin", "exclude"] | None) -> None:
        if not ctx.rest:
            await ctx.reply(f"Usage: !recommend {action or 'clear'} <item>")
            return
        cm = await self.model_for(ctx.message.platform, ctx.channel)
        j = self.resolve(cm, ctx.rest)
        if j is None:
            await self._unresolved(ctx, cm, "I don't know that item.")
            return
        before = store.overrides(self.ctx.storage, ctx.message.platform, ctx.channel).get(cm.keys[j])
        if action is None and before is None:  # a second "clear" answered "cleared." again
            configured = [k for k in ("pins", "exclude") if j in self._named(cm, getattr(ctx.settings, k))]
            why = (f"it is in the config's {configured[0]}, which the commands do not change" if configured
                   else "it is neither pinned nor excluded")
            await ctx.reply(f"{cm.rows[j].title}: nothing to clear ({why}).")
            return
        store.set_override(
            self.ctx.storage, ctx.message.platform, ctx.channel, cm.keys[j], action, self.ctx.clock.now()
        )
        done = {"pin": "pinned", "exclude": "excluded", None: "cleared"}[action]
        # a pin replaces an exclusion (and the reverse): say so, it used to happen silently
        was = {"pin": " (it was pinned; no longer)", "exclude": " (it was excluded; no longer)"}
        note = was[before] if before is not None and before != action and action is not None else ""
        await ctx.reply(f"{cm.rows[j].title}: {done}{note}.")


EARLY_RETRAIN_S = 60.0
"""A model at least this old (seconds) is retrained before ``retrain_interval_s`` when the channel gained
``EARLY_RETRAIN_EVENTS`` (or 10 %) signals and presence rows since it was trained."""
EARLY_RETRAIN_EVENTS = 5

SIGNAL_RETRAIN_S = 10.0
"""After a new ``!like`` / ``!watched``, the channel's model is retrained at the next query once it is at
least this old (seconds): a flood of signals retrains a channel at most this often."""

MAX_TOLD_REPEATS = 10_000
"""Repeated signals remembered as already answered (oldest forgotten first: at worst one more "already")."""

MIN_PARTIAL_CHARS = 3
"""A name shorter than this must match a title, id or key exactly (no partial match)."""


def name_matches(items: list[tuple[str, str]], text: str) -> list[int]:
    """Indexes of the ``(item_key, title)`` pairs ``text`` names: an exact key, id or title (the first such
    item, one), else the titles with a word starting with it (``MIN_PARTIAL_CHARS`` or more). Case- and
    accent-insensitive (``"CAFE"`` finds ``Café``). The one rule of ``!like``, ``!recommend pin``, the
    config's pins and exclusions, and their check (``RecommendSettings.config_warnings``)."""
    q = fold(text)
    if not q:
        return []
    for i, (key, title) in enumerate(items):
        if q in (fold(key), fold(key.split(":", 1)[1]), fold(title)):
            return [i]
    if len(q) < MIN_PARTIAL_CHARS:  # "!like c" liked whichever title held a "c"
        return []
    start = re.compile(r"(?<!\w)" + re.escape(q))
    return [i for i, (_, title) in enumerate(items) if start.search(fold(title))]


def fold(text: str) -> str:
    """``text`` for comparing names: accents removed (NFKD), case-folded, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def item_text(row: store.CatalogRow) -> str:
    """Text embedded for an item: title, kind, tags and description."""
    parts = [row.title, f"({row.kind})"]
    if row.tags:
        parts.append(f"Tags: {row.tags}.")
    if row.description:
        parts.append(row.description)
    return re.sub(r"\s+", " ", " ".join(parts)).strip()
