"""The FAQ skill: answers chat questions that match an FAQ entry; ``!faq add/remove/list/test``.

Flow for a non-command message: question gate and addressee (``skills.faq.question``: a line with an
``@mention`` of another viewer anywhere in it is theirs to answer) -> one ``engine.embed`` call ->
``FaqIndex`` score, threshold and margin (``skills.faq.matcher``) -> keyword cross-check -> cooldowns
(``skills.faq.gate``) -> a low-priority reply ``@viewer <answer>``. Without an engine (or when embedding
fails) it falls back to keywords: a question that hits the keywords of exactly one entry.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from bot.commands import CommandContext, command
from bot.config_paths import config_relative
from bot.events import ChatMessage, Priority, Role, Viewer
from skills.base import Skill, SkillSettings, raise_at, repeats_at
from skills.faq.entries import (
    MAX_QUESTION_CHARS,
    MAX_QUESTIONS,
    FaqEntry,
    index_texts,
    normalise_question,
    not_question_clash,
    parse_add,
    question_owner,
    render_answer,
    slug,
)
from skills.faq.gate import AnswerGate
from skills.faq.matcher import FaqIndex, index_from
from skills.faq.policy import addressee_reason, asked, refusal_reason, should_answer, worth_scoring
from skills.faq.question import addressed_to, example_overlap, is_question, keyword_hit, matching_text
from storage import faq as store

log = logging.getLogger(__name__)

EMBED_TIMEOUT_S = 120.0  # one embedding of a whole FAQ (done once per entry set, in the background)
KEYWORD_ONLY_OVERLAP = 0.6  # keyword-only answers: word overlap with an example question (Jaccard)
RETRY_AFTER_S = 30.0  # after a failed FAQ embedding, keyword matching until this much time has passed
MESSAGE_WAIT_S = 6.0  # a chat question waits at most this long for it (then keywords); 1 s, then 3 s
# missed questions asked right after start-up (the first embedding while the story model loads) or right
# after !faq add; it stays under the router's 10 s handler budget
COMMAND_WAIT_S = 5.0  # !faq test waits at most this long for the FAQ embedding in flight


class FaqSettings(SkillSettings):
    """``[skills.faq]`` (see docs/faq.md).

    ``threshold``: blended cosine score an entry needs (0-1); ``margin``: lead over the second-best entry;
    ``alpha``: weight of the best single example vs the entry's centroid; ``require_question``: only
    messages that look like questions are matched; ``keyword_bypass``: score above which an entry's
    keywords are not required; cooldowns in seconds; ``entries``: the FAQ. ``embed_model``: a second
    sentence-embedding model for FAQ matching only (an installed model package, a local folder or a
    Hugging Face id such as ``sentence-transformers/all-mpnet-base-v2``; docs/faq.md measures it); None
    (the default) uses the engine's shared model, whose one call per line also serves mood. A different
    model has its own score scale: re-tune ``threshold`` with ``chatcast eval faq`` / ``!faq test``.
    """

    threshold: float = Field(0.66, ge=0.0, le=1.0)
    margin: float = Field(0.04, ge=0.0, le=1.0)
    alpha: float = Field(0.5, ge=0.0, le=1.0)
    require_question: bool = True
    keyword_bypass: float = Field(0.85, ge=0.0, le=1.0)
    min_chars: int = Field(6, ge=1, le=200)
    entry_cooldown_s: float = Field(60.0, ge=0)
    viewer_entry_cooldown_s: float = Field(600.0, ge=0)
    viewer_cooldown_s: float = Field(30.0, ge=0)
    max_entries: int = Field(100, ge=1, le=1000)
    entries: list[FaqEntry] = Field(default_factory=list)
    embed_model: str | None = Field(None, min_length=1)

    @field_validator("embed_model")
    @classmethod
    def _model_named(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Stripped; a relative folder joined to the config file's folder (``bot.config_paths``)."""
        if value is not None and not value.strip():  # "   " passed, then failed at run time (trial 22)
            raise ValueError("a model name, not only spaces (leave the key out for the shared model)")
        return config_relative(value.strip(), info, model_spec=True) if value is not None else None

    def config_warnings(self) -> list[tuple[tuple[str | int, ...], str]]:
        """``(loc, message)`` when ``embed_model`` cannot work as written (no such folder, no
        ``model.safetensors``, a hub id not in the Hugging Face cache: ``bot.inference.specs.spec_problem``),
        so ``chatcast config check`` says so before the stream (trial 22). Warnings: the FAQ then matches
        with the shared model."""
        if self.embed_model is None:
            return []
        from bot.inference.specs import spec_problem

        problem = spec_problem(self.embed_model)
        return [] if problem is None else [(("embed_model",), f"{problem}; if it cannot be loaded, the FAQ "
                                                             "matches with the shared embedding model")]

    @model_validator(mode="after")
    def _unique_ids(self) -> FaqSettings:
        if len(self.entries) > self.max_entries:  # 2,000 config entries passed with the default 100
            raise ValueError(f"{len(self.entries)} entries, more than max_entries ({self.max_entries}, "
                             "config and !faq add together): raise max_entries or remove some")
        ids = repeats_at([(("entries", i, "id"), e.id) for i, e in enumerate(self.entries)])
        problems = [(loc, f"FAQ entry id {eid!r} is already the id of an earlier entry") for loc, eid in ids]
        # the same question in two entries makes both ambiguous (the margin then refuses both): !faq add
        # refuses it, and so does the config (twice in one entry: FaqEntry's own check)
        seen: dict[str, str] = {}
        for i, entry in enumerate(self.entries):
            for k, question in enumerate(entry.questions):
                other = seen.setdefault(normalise_question(question), entry.id)
                if other != entry.id:
                    problems.append((("entries", i, "questions", k),
                                     f"the question {question!r} is also in entry {other!r}"))
        raise_at(problems)
        return self


@dataclass
class _ChannelIndex:
    key: tuple[Any, ...]
    entries: list[FaqEntry]
    index: FaqIndex | None
    model: str | None = None  # the embedding model of ``index`` (None: the engine's shared one)


class FaqSkill(Skill):
    """Answers FAQ questions in chat (see module docstring)."""

    name = "faq"
    Settings = FaqSettings
    stores = "which moderator added an FAQ entry (their platform id); nothing about other viewers"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.gate = AnswerGate()
        self._indexes: dict[tuple[str, str], _ChannelIndex] = {}
        # entry-question vectors per entry set (shared by channels with the same FAQ), and the one
        # in-flight embedding per entry set that every waiter shares (single flight)
        self._vectors: dict[tuple[Any, ...], np.ndarray] = {}
        self._inflight: dict[tuple[Any, ...], asyncio.Task] = {}
        self._failed_at: dict[tuple[Any, ...], float] = {}
        self._qvecs: dict[tuple[str | None, str], np.ndarray] = {}  # (model, question text) -> vector
        self._fell_back: set[str] = set()  # FAQ models that failed to load (said once each)
        self._unset_said: set[tuple[str, str]] = set()  # channels told their {game} answers wait

    async def start(self) -> None:
        self.ctx.storage.migrate(store.COMPONENT, store.MIGRATIONS)
        # embed the configured FAQ now, in the background, so the first questions find it ready
        try:
            settings: FaqSettings = self.ctx.settings_for("", "")
        except Exception:  # noqa: BLE001 - no defaults: nothing to warm
            return
        if not (settings.enabled and settings.entries):
            return
        if self.ctx.engine is None:
            log.info("faq: no inference engine (--no-engine): answers by keywords only")
            return
        self._embedding(_entry_key(settings.entries, self._model_for(settings)), settings.entries)

    async def stop(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        await asyncio.gather(*list(self._inflight.values()), return_exceptions=True)

    # ---- entries and index ----------------------------------------------------------------------

    def entries_for(self, platform: str, channel: str, settings: FaqSettings) -> list[FaqEntry]:
        """Config entries not hidden in this channel, then entries added with ``!faq add``."""
        db = self.ctx.storage
        hidden = store.hidden_entries(db, platform, channel)
        out = [e for e in settings.entries if e.id not in hidden]
        taken = {e.id for e in out}
        for row in store.channel_entries(db, platform, channel):
            if row.entry_id in taken:
                continue
            try:
                out.append(
                    FaqEntry(
                        id=row.entry_id, questions=row.questions, answer=row.answer, keywords=row.keywords
                    )
                )
            except ValueError as exc:  # a row edited by hand; skip it, keep the rest
                log.warning(
                    "faq entry %s in %s/%s is invalid, skipped: %s", row.entry_id, platform, channel, exc
                )
        added = store.not_questions(db, platform, channel)  # !faq not: near misses a moderator listed
        return [e.model_copy(update={"not_questions": [*e.not_questions, *added[e.id]]})
                if e.id in added else e for e in out]

    def _embedding(self, key: tuple[Any, ...], entries: list[FaqEntry]) -> asyncio.Task | None:
        """The in-flight embedding of an entry set, started when missing (one per set: single flight).
        ``None`` while a recent failure is being backed off from."""
        task = self._inflight.get(key)
        if task is not None:
            return task
        failed = self._failed_at.get(key)
        if failed is not None and self.ctx.clock.monotonic() - failed < RETRY_AFTER_S:
            return None
        questions = index_texts(entries)[0]
        task = asyncio.create_task(self._embed_entries(key, questions), name="faq-embed")
        self._inflight[key] = task
        return task

    async def _embed_entries(self, key: tuple[Any, ...], questions: list[str]) -> np.ndarray | None:
        model = key[0]
        try:
            missing = list(dict.fromkeys(q for q in questions if (model, q) not in self._qvecs))
            if missing:  # only questions never embedded (an added entry costs its own questions)
                vecs = await self._engine_embed(missing, model, EMBED_TIMEOUT_S)
                self._qvecs.update(((model, q), v) for q, v in zip(missing, np.asarray(vecs), strict=True))
            out = np.stack([self._qvecs[(model, q)] for q in questions])
            self._vectors[key] = out
            self._failed_at.pop(key, None)
            return out
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - engine busy/unavailable: keyword fallback meanwhile
            self._failed_at[key] = self.ctx.clock.monotonic()
            engine = self.ctx.engine
            if model is not None and hasattr(engine, "available") and not engine.available(f"embed:{model}"):
                return None  # the FAQ's own model failed to load: _model_for says so and falls back at once
            log.warning(
                "faq: cannot embed %d FAQ questions (%s); keyword matching for %.0f s",
                len(questions),
                exc,
                RETRY_AFTER_S,
            )
            return None
        finally:
            self._inflight.pop(key, None)

    def _model_for(self, settings: FaqSettings) -> str | None:
        """The embedding model the FAQ matches with: its own ``embed_model`` (registered with the engine on
        first use; while it loads, requests wait for it), or None, the engine's shared model, when none is
        set or it failed to load: then the FAQ keeps answering with the shared model (said once per model)
        instead of matching by keywords only for the whole stream (trial 22: 2 of 10 answers lost)."""
        model, engine = settings.embed_model, self.ctx.engine
        if model is None or engine is None or not hasattr(engine, "register_embedder"):
            return None
        engine.register_embedder(model)
        if engine.available(f"embed:{model}"):
            return model
        if model not in self._fell_back:
            self._fell_back.add(model)
            why = engine.why_unavailable(f"embed:{model}") if hasattr(engine, "why_unavailable") else None
            log.warning("faq: embedding model %s is unavailable (%s); matching with the shared model", model,
                        why)
        return None

    async def _engine_embed(self, texts: list[str], model: str | None,
                            timeout: float | None = None) -> np.ndarray:
        """``(n, d)`` embeddings of ``texts`` at interactive priority, by ``model`` (as ``_model_for`` chose
        and registered it) or by the engine's shared model when None. Raises what ``engine.embed`` raises."""
        from bot.inference.api import RequestPriority

        engine = self.ctx.engine
        if model is None:  # the keyword is left out: engines of tests and notebooks need not know it
            return await engine.embed(texts, priority=RequestPriority.INTERACTIVE, timeout=timeout)
        return await engine.embed(texts, priority=RequestPriority.INTERACTIVE, timeout=timeout, model=model)

    async def index_for(
        self, platform: str, channel: str, settings: FaqSettings, wait_s: float = 0.0
    ) -> _ChannelIndex:
        """The channel's entries and their embedded examples (rebuilt when the entries change).

        The entries are embedded once per entry set, in the background; until that is done the index is
        ``None`` (keyword matching). ``wait_s``: how long to wait for an embedding in flight."""
        entries = self.entries_for(platform, channel, settings)
        model = self._model_for(settings)
        ekey = _entry_key(entries, model)  # the embeddings depend on the model and the questions only ...
        key = (settings.alpha, ekey, tuple((e.answer, tuple(e.keywords)) for e in entries))  # ... replies not
        cached = self._indexes.get((platform, channel))
        if cached is not None and cached.key == key:
            return cached
        engine = self.ctx.engine
        if not entries or engine is None:
            built = _ChannelIndex(key, entries, None, model)
            self._indexes[(platform, channel)] = built
            return built
        vecs = self._vectors.get(ekey)
        if vecs is None:
            task = self._embedding(ekey, entries)
            if task is not None and wait_s > 0:
                await asyncio.wait({task}, timeout=wait_s)  # the shared task itself is never cancelled here
            vecs = self._vectors.get(ekey)
        if vecs is None:
            # not cached: asked again until the vectors are in
            return _ChannelIndex(key, entries, None, model)
        _, owners, negative_owners = index_texts(entries)
        built = _ChannelIndex(key, entries, index_from(vecs, owners, negative_owners, len(entries),
                                                       alpha=settings.alpha), model)
        self._indexes[(platform, channel)] = built
        return built

    async def scores(self, text: str, built: _ChannelIndex) -> np.ndarray | None:
        """``(n_entries,)`` scores of ``text``; ``None`` when no embedding could be computed."""
        vec = await self._vector(text, built)
        return None if vec is None or built.index is None else built.index.scores(vec)[0]

    async def _vector(self, text: str, built: _ChannelIndex) -> np.ndarray | None:
        """``(1, d)`` embedding of ``text``; ``None`` without an index or when the engine failed."""
        return None if built.index is None else await self._embed_one(text, built.model)

    async def _embed_one(self, text: str, model: str | None) -> np.ndarray | None:
        """``(1, d)`` embedding of ``text`` by ``model`` at interactive priority; ``None`` without an engine
        or when it failed (busy, shutting down): no answer or no warning rather than a crash."""
        if self.ctx.engine is None:
            return None
        try:
            return np.asarray(await self._engine_embed([text], model))
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.debug("faq: embed failed: %s", exc)
            return None

    def _not_ready(self, model: str | None) -> str:
        """Why the FAQ has no embeddings (for ``!faq test``, in public chat: the reason itself, which may
        name a folder of the streamer's machine, goes to the log only): no engine, a model that failed to
        load, or embeddings still being computed."""
        engine = self.ctx.engine
        if engine is None:
            return "the embedding model is not loaded"
        kind = "embed" if model is None else f"embed:{model}"
        if hasattr(engine, "available") and not engine.available(kind):
            return "the embedding model is unavailable (the bot's log says why)"
        return "the FAQ's embeddings are not ready yet, try again in a few seconds"

    def own_names(self, platform: str, channel: str) -> frozenset[str]:
        """The names a chat line may mention as ``@name`` and still be asked of the channel: the
        streamer's and the channel's (``ChannelInfo.streamer``/``channel``) and the bot's, where the core
        tells it (a ``bot_name`` on the channel info); lower-case. Anyone else's ``@name``, anywhere in the
        line, makes it theirs to answer."""
        info = self.ctx.channel_info(platform, channel)
        names = (getattr(info, key, None) for key in ("streamer", "channel", "bot_name"))
        return frozenset(n.strip().lstrip("@").lower() for n in names if isinstance(n, str) and n.strip())

    def _keyword_only(
        self, text: str, entries: list[FaqEntry], own_names: frozenset[str] = frozenset()
    ) -> int:
        """Without embeddings: for a question, the one entry whose keywords it hits *and* whose closest
        example question shares most of its words (``example_overlap >= KEYWORD_ONLY_OVERLAP``); ``-1``
        for a statement, a line addressed to another viewer (``own_names``: see ``should_answer``), or
        when none or several qualify. Keywords alone answered "what time zone are you in?" with the
        schedule and "is this game on sale?" with the game."""
        if not is_question(text) or addressed_to(text, own_names) is not None:
            return -1
        hits = [
            i for i, e in enumerate(entries)
            if e.keywords and keyword_hit(text, e.keywords)
            and example_overlap(text, e.questions) >= KEYWORD_ONLY_OVERLAP
        ]
        return hits[0] if len(hits) == 1 else -1

    # ---- chat -----------------------------------------------------------------------------------

    async def on_message(self, message: ChatMessage) -> None:
        settings: FaqSettings = self.ctx.settings_for(message.platform, message.channel)
        text = message.text.strip()
        own = self.own_names(message.platform, message.channel)
        if not worth_scoring(text, settings, own):  # "@mossy_dev what keyboard do you use?": not ours
            return
        built = await self.index_for(message.platform, message.channel, settings, wait_s=MESSAGE_WAIT_S)
        if not built.entries or not worth_scoring(text, settings, own, built.entries):
            return  # "gg wp": a short line no entry's words cover is never asked (no embedding spent)
        row = await self.scores(matching_text(text, own), built)
        if row is None:
            if built.index is None and self.ctx.engine is not None:  # said, not silent (trial 17)
                # no chat text in the log (trial 22): the line is a viewer's
                log.info("faq: the FAQ's embeddings are not ready yet: a question is matched by keywords")
            chosen = self._keyword_only(text, built.entries, own)
        else:
            chosen, _ = should_answer(text, row, built.entries, settings, own)
        if chosen < 0:
            return
        entry = built.entries[chosen]
        now = message.timestamp.timestamp()  # the message's time: right live and in fast replays
        self.gate.entry_s = settings.entry_cooldown_s
        self.gate.viewer_entry_s = settings.viewer_entry_cooldown_s
        self.gate.viewer_s = settings.viewer_cooldown_s
        viewer = message.author.user_id
        blocked = self.gate.allowed(message.platform, message.channel, viewer, entry.id, now)
        if blocked is not None:
            _held_back(message.platform, text, entry.id, _cooldown_words(blocked, settings))
            return
        info = self.ctx.channel_info(message.platform, message.channel)
        answer = render_answer(entry.answer, info)
        if answer is None:
            _held_back(message.platform, text, entry.id, "its answer needs {game} or {title}, which the "
                       "stream has not set (or its category is no game)")
            if (message.platform, message.channel) not in self._unset_said:  # once per channel, at info:
                self._unset_said.add((message.platform, message.channel))  # a replay lost it (trial 23)
                log.info("faq: %s/%s: an answer needing {game} or {title} was not sent: the stream has no "
                         "category or title yet (a replay log sets one with '# category: NAME')",
                         message.platform, message.channel)
            return
        self.gate.record(message.platform, message.channel, viewer, entry.id, now)
        await self.ctx.post(
            message.platform,
            message.channel,
            f"@{message.author.display_name} {answer}",
            priority=Priority.LOW,
            in_reply_to=message.message_id,
        )

    # ---- commands -------------------------------------------------------------------------------

    @command("faq", help="List the FAQ topics the bot answers in chat.", cooldown_channel=30)
    async def faq(self, ctx: CommandContext) -> None:
        entries = self.entries_for(ctx.message.platform, ctx.channel, ctx.settings)
        if not entries:
            await ctx.reply("No FAQ entries yet.")
            return
        await ctx.reply("FAQ topics (just ask in chat): " + ", ".join(e.id for e in entries))

    @command("faq list", permission=Role.MODERATOR, help="List FAQ entries with their first question.")
    async def faq_list(self, ctx: CommandContext) -> None:
        entries = self.entries_for(ctx.message.platform, ctx.channel, ctx.settings)
        if not entries:
            await ctx.reply('No FAQ entries yet. Add one: !faq add "question 1|question 2" answer')
            return
        await ctx.reply(" | ".join(f"{e.id}: {e.questions[0]} ({len(e.questions)}q)" for e in entries))

    @command(
        "faq add",
        permission=Role.MODERATOR,
        usage='"question 1|question 2" answer [keywords: a, b]',
        help="Add an FAQ entry for this channel.",
    )
    async def faq_add(self, ctx: CommandContext) -> None:
        platform, channel = ctx.message.platform, ctx.channel
        entries = self.entries_for(platform, channel, ctx.settings)
        try:
            new = parse_add(ctx.rest, entries, max_entries=ctx.settings.max_entries)
        except ValueError as exc:
            await ctx.reply(f"Not added: {exc}")
            return
        taken = (
            {e.id for e in entries}
            | set(store.hidden_entries(self.ctx.storage, platform, channel))
            | {r.entry_id for r in store.channel_entries(self.ctx.storage, platform, channel)}
        )
        entry_id = slug(min(new.questions, key=len), taken)  # the shortest question: "mic?" -> "mic"
        try:
            store.add_entry(
                self.ctx.storage,
                platform,
                channel,
                entry_id,
                new.questions,
                new.answer,
                new.keywords,
                created_by=ctx.author.user_id,
                created_at=ctx.message.timestamp,  # a replay stores the log's time, as its other tables
            )
        except sqlite3.IntegrityError:
            await ctx.reply(f"Not added: an entry '{entry_id}' already exists")
            return
        def cut(text: str, n: int = 60) -> str:
            return text if len(text) <= n else text[: n - 1] + "…"

        # the parsed question and answer, so a mis-typed add is seen at once
        reply = (f"Added FAQ entry '{entry_id}' ({len(new.questions)} question(s)): "
                 f"\"{cut(new.questions[0])}\" -> \"{cut(new.answer)}\"")
        short = [q for q in new.questions if len(q) < ctx.settings.min_chars]
        if short:  # still a useful example for longer questions, but typed alone it is never answered
            reply += (f" Note: chat lines shorter than {ctx.settings.min_chars} characters get no answer, "
                      f"so \"{cut(short[0], 20)}\" alone will not trigger it.")
        await ctx.reply(reply)
        if self.ctx.engine is not None:  # embed the new entry set now, in the background
            entries = self.entries_for(platform, channel, ctx.settings)
            self._embedding(_entry_key(entries, self._model_for(ctx.settings)), entries)

    @command(
        "faq remove",
        aliases=("faq del",),
        permission=Role.MODERATOR,
        usage="<id>",
        help="Remove an FAQ entry from this channel.",
    )
    async def faq_remove(self, ctx: CommandContext) -> None:
        platform, channel = ctx.message.platform, ctx.channel
        entry_id = ctx.rest.strip().lower()
        if not entry_id:
            await ctx.reply("usage: !faq remove <id> (see !faq list)")
            return
        if store.remove_entry(self.ctx.storage, platform, channel, entry_id):
            await ctx.reply(f"Removed FAQ entry '{entry_id}'.")
        elif any(e.id == entry_id for e in ctx.settings.entries):
            store.hide_entry(self.ctx.storage, platform, channel, entry_id)
            await ctx.reply(f"Hid config FAQ entry '{entry_id}' in this channel "
                            f"(!faq restore {entry_id} brings it back).")
        else:
            await ctx.reply(f"No FAQ entry '{entry_id}' (see !faq list).")

    @command(
        "faq not",
        permission=Role.MODERATOR,
        usage="<id> [question]",
        help="Add a near miss that must not get an entry's answer here; with only the id, list them.",
    )
    async def faq_not(self, ctx: CommandContext) -> None:
        platform, channel = ctx.message.platform, ctx.channel
        entry_id, question = _id_and_question(ctx.rest)
        entries = {e.id: e for e in self.entries_for(platform, channel, ctx.settings)}
        entry = entries.get(entry_id)
        if entry is None:
            await ctx.reply("usage: !faq not <id> <question that must not get its answer> (see !faq list)"
                            if not entry_id else f"No FAQ entry '{entry_id}' here (see !faq list).")
            return
        if not question:
            listed = "; ".join(f'"{q}"' for q in entry.not_questions) or "none"
            await ctx.reply(f"Not for '{entry_id}': {listed}")
            return
        if len(question) > MAX_QUESTION_CHARS or len(entry.not_questions) >= MAX_QUESTIONS:
            await ctx.reply(f"Not added: at most {MAX_QUESTIONS} not_questions of {MAX_QUESTION_CHARS} "
                            "characters per entry.")
            return
        key = normalise_question(question)
        if not key:
            await ctx.reply("Not added: a not_question needs words.")
            return
        clash = not_question_clash(question, entry.questions, entry.not_questions)
        if clash == "example":
            await ctx.reply(f"Not added: that is an example question of '{entry_id}'.")
            return
        if clash == "twice" or not store.add_not_question(
                self.ctx.storage, platform, channel, entry_id, question, created_by=ctx.author.user_id,
                created_at=ctx.message.timestamp):
            await ctx.reply(f"'{entry_id}' already has that not_question.")
            return
        warning = await self._close_example(question, entry, self._model_for(ctx.settings))
        await ctx.reply(f"Added: '{entry_id}' will not answer messages closer to \"{question}\" than to its "
                        f"examples (!faq unnot {entry_id} <question> removes it).{warning}")

    async def _close_example(self, question: str, entry: FaqEntry, model: str | None) -> str:
        """A warning when ``question`` is as close to one of ``entry``'s examples as paraphrases are
        (cosine >= ``CLOSE_TO_EXAMPLE``): right questions worded like it lose the answer too (trial 11:
        "is there a discord server" against the example "do you have a discord server", 0.89). ``""``
        otherwise, or when the embeddings are not at hand."""
        vecs = [self._qvecs.get((model, q)) for q in entry.questions]
        found = None if any(v is None for v in vecs) else await self._embed_one(question, model)
        if found is None:
            return ""
        vec = found[0]
        examples = np.stack(vecs)
        sims = examples @ vec / np.maximum(np.linalg.norm(examples, axis=1) * np.linalg.norm(vec), 1e-12)
        best = int(np.argmax(sims))
        if sims[best] < CLOSE_TO_EXAMPLE:
            return ""
        return (f" Careful: it is {sims[best]:.2f} close to the example \"{entry.questions[best]}\", so "
                "right questions worded like it lose the answer too.")

    @command(
        "faq unnot",
        permission=Role.MODERATOR,
        usage="<id> <question>",
        help="Remove a not_question added with !faq not in this channel.",
    )
    async def faq_unnot(self, ctx: CommandContext) -> None:
        entry_id, question = _id_and_question(ctx.rest)
        if not question:
            await ctx.reply("usage: !faq unnot <id> <question>")
            return
        platform, channel = ctx.message.platform, ctx.channel
        stored = store.not_questions(self.ctx.storage, platform, channel).get(entry_id, [])
        # as !faq not compares them: case, punctuation and full-width letters do not matter
        match = next((q for q in stored if normalise_question(q) == normalise_question(question)), question)
        if store.remove_not_question(self.ctx.storage, platform, channel, entry_id, match):
            await ctx.reply(f"Removed the not_question \"{match}\" of '{entry_id}'.")
        else:
            await ctx.reply(f"'{entry_id}' has no not_question \"{question}\" added here (config ones stay).")

    @command(
        "faq restore",
        permission=Role.MODERATOR,
        usage="<id>",
        help="Bring back a config FAQ entry hidden with !faq remove in this channel.",
    )
    async def faq_restore(self, ctx: CommandContext) -> None:
        entry_id = ctx.rest.strip().lower()
        if not entry_id:
            await ctx.reply("usage: !faq restore <id>")
            return
        if store.unhide_entry(self.ctx.storage, ctx.message.platform, ctx.channel, entry_id):
            restored = next(e for e in ctx.settings.entries if e.id == entry_id)
            others = [e for e in self.entries_for(ctx.message.platform, ctx.channel, ctx.settings)
                      if e.id != entry_id]
            clash = question_owner(restored.questions, others)
            note = (f" Entry '{clash[0]}' has the same question '{clash[1]}': remove one, or chat gets "
                    "either answer or none." if clash else "")
            await ctx.reply(f"Restored config FAQ entry '{entry_id}' in this channel.{note}")
        elif any(e.id == entry_id for e in ctx.settings.entries):
            await ctx.reply(f"FAQ entry '{entry_id}' is not hidden here.")
        else:
            await ctx.reply(f"No config FAQ entry '{entry_id}' (only config entries can be restored).")

    @command(
        "faq test",
        permission=Role.MODERATOR,
        usage="<text>",
        help="Show which FAQ entry a message would match, with its score.",
    )
    async def faq_test(self, ctx: CommandContext) -> None:
        text = ctx.rest.strip()
        if not text:
            await ctx.reply("usage: !faq test <a chat message>")
            return
        settings: FaqSettings = ctx.settings
        built = await self.index_for(ctx.message.platform, ctx.channel, settings, wait_s=COMMAND_WAIT_S)
        if not built.entries:
            await ctx.reply("No FAQ entries yet.")
            return
        question = "question" if is_question(text) else "not a question"
        own = self.own_names(ctx.message.platform, ctx.channel)
        vec = await self._vector(matching_text(text, own), built)
        row = None if vec is None or built.index is None else built.index.scores(vec)[0]
        if row is None:
            hit = self._keyword_only(text, built.entries, own)  # what on_message would do
            verdict = f"would answer '{built.entries[hit].id}'" if hit >= 0 else "no answer"
            why = "keywords and example words match" if hit >= 0 else "no entry's keywords + example words"
            other = addressed_to(text, own)
            if other is not None:
                why = addressee_reason(other)
            state = self._not_ready(built.model)
            await ctx.reply(f"{verdict} (keyword matching only: {state}): {why}; {question}")
            return
        chosen, match = should_answer(text, row, built.entries, settings, own)
        if question == "not a question" and asked(text, match, built.entries, settings, own):
            question = "a short request that is a near-verbatim example"
        entry = built.entries[match.entry]
        verdict = "would answer" if chosen >= 0 else "no answer"
        if chosen >= 0 and render_answer(entry.answer, self.ctx.channel_info(ctx.message.platform,
                                                                            ctx.channel)) is None:
            verdict = ("would match, but not answer yet ({game} is not known: the stream's category is unset)"
                       if "{game}" in entry.answer else
                       "would match, but not answer yet (its answer is empty with what is known now)")
        if chosen < 0:  # say which check refused it: score and margin can both pass
            verdict += f" ({refusal_reason(text, match, built.entries, settings, own)})"
        # with one entry there is no second best: the margin (score - (-1)) read as 1.21 on a 0-1 scale
        margin = (f"margin {match.margin:.2f} (min {settings.margin:.2f})" if len(built.entries) > 1
                  else "margin n/a (one entry)")
        vetoed = ""
        vetoes = built.index.vetoes(vec[0]) if built.index is not None and vec is not None else []
        raw = built.index.scores(vec, veto=False)[0] if vetoes and built.index is not None else None
        # only a veto that changed the outcome: the entry would have been the best and above the threshold
        floor = max(match.score, settings.threshold)
        vetoes = [v for v in vetoes if raw is not None and raw[v.entry] >= floor]
        if vetoes:  # the entry a near miss resembled, and the "not" question that kept it out
            v = vetoes[0]
            not_q = [q for e in built.entries for q in e.not_questions][v.negative]
            vetoed = (f"'{built.entries[v.entry].id}' left out: closer to its not_question '{not_q}' "
                      f"({v.negative_cos:.2f}) than to its examples ({v.example_cos:.2f})")
            if chosen < 0:  # the veto is the reason: say it first, not the runner-up's low score
                verdict = f"no answer ({vetoed})"
                vetoed = ""
        await ctx.reply(
            f"{verdict}: best '{entry.id}' score {match.score:.2f} (threshold {settings.threshold:.2f}), "
            f"{margin}; {question}{'; ' + vetoed if vetoed else ''}"
        )

    # ---- privacy --------------------------------------------------------------------------------

    async def delete_user_data(self, viewer: Viewer) -> int:
        removed = store.forget_creator(self.ctx.storage, viewer.platform, viewer.user_id)
        return removed + self.gate.forget_viewer(viewer.user_id)

    async def user_data_summary(self, viewer: Viewer) -> str | None:
        n = store.created_count(self.ctx.storage, viewer.platform, viewer.user_id)
        return f"faq: you added {n} FAQ entr{'y' if n == 1 else 'ies'} or not_question(s)" if n else None


CLOSE_TO_EXAMPLE = 0.8
"""Cosine from which ``!faq not`` warns that a not_question reads like one of the entry's examples."""


def _id_and_question(rest: str) -> tuple[str, str]:
    """``!faq not`` / ``!faq unnot`` arguments: the entry id (lower case) and the question, spaces
    collapsed and one pair of surrounding quotes dropped (as ``!faq add`` reads questions)."""
    entry_id, _, question = rest.strip().partition(" ")
    question = " ".join(question.split())
    if len(question) >= 2 and question[0] == question[-1] and question[0] in "\"'":
        question = question[1:-1].strip()
    return entry_id.lower(), question


def _held_back(platform: str, text: str, entry_id: str, why: str) -> None:
    """Log a matched question that gets no answer, and why: at info level on the console, where a
    streamer tries the bot (three FAQ questions in a row looked broken), at debug level elsewhere."""
    say = log.info if platform == "console" else log.debug
    say("faq: %r matches '%s' but is not answered: %s", text, entry_id, why)


def _cooldown_words(rule: str, settings: FaqSettings) -> str:
    """Which ``AnswerGate`` rule held an answer back, with its setting."""
    return {
        "entry": f"this entry was answered in the channel less than {settings.entry_cooldown_s:g} s ago "
                 "(entry_cooldown_s)",
        "viewer_entry": f"this viewer got this answer less than {settings.viewer_entry_cooldown_s:g} s ago "
                        "(viewer_entry_cooldown_s)",
        "viewer": f"this viewer got an FAQ answer less than {settings.viewer_cooldown_s:g} s ago "
                  "(viewer_cooldown_s)",
    }.get(rule, rule)


def _entry_key(entries: list[FaqEntry], model: str | None) -> tuple[Any, ...]:
    """The embedding model, then each entry's id, examples and not_questions (what its vectors depend on)."""
    return (model, *((e.id, tuple(e.questions), tuple(e.not_questions)) for e in entries))
