"""`LlamaBackend`: the async side. Turns each call's choices into engine jobs (off the event
loop), hands them to the worker's one continuous-batching engine, and turns the tokens it
delivers into `Delta`s for the service."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from ...compat.llama_cpp import Llama, Vocab, load_model
from ...errors import ContextLengthExceeded, InvalidRequest, ServiceUnavailable
from ..base import GENERATION_PARAMS, Backend, ChoiceDelta, choice_requests
from ..types import Delta, EmbeddingRequest, Embeddings, GenerationRequest, PromptGroup
from .constraints import OutputPlan, plan
from .embeddings import LlamaEmbedder
from .engine import Engine, EngineClosed
from .memory import MIB, available_bytes, check_kv_cache, host_cache_bytes
from .prompts import ChatTemplate
from .sequences import EngineEvent, Failed, Finished, Job, Token
from .settings import LlamaSettings
from .shaping import Shaper

GGUF_MAGIC = b"GGUF"
log = structlog.get_logger("llm_gateway.backends.llama")


def _magic(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(len(GGUF_MAGIC))


@dataclass(slots=True)
class _Choice:
    """One prepared choice: what the engine runs, and how its tokens become deltas."""

    job: Job
    output: OutputPlan
    stop: tuple[str, ...]


class LlamaBackend(Backend[LlamaSettings]):
    name = "llama"
    settings_class = LlamaSettings
    # At most one tool call per answer, so parallel_tool_calls=false always holds.
    supported_params = GENERATION_PARAMS | {"parallel_tool_calls"}
    supports_embeddings = True

    def __init__(self, settings: LlamaSettings) -> None:
        super().__init__(settings)
        # One engine serves N_PARALLEL sequences; more calls than that queue inside it.
        self.default_concurrency = settings.n_parallel
        self._llm: Llama | None = None
        self._vocab: Vocab | None = None
        self._template: ChatTemplate | None = None
        self.engine: Engine | None = None
        self._embedder = LlamaEmbedder(
            settings.embedding_model_path or settings.model_path,
            settings.embedding_n_ctx,
            settings.n_threads,
        )

    async def load(self) -> None:
        path = Path(self.settings.model_path)
        if not await asyncio.to_thread(path.is_file):
            raise FileNotFoundError(
                f"MODEL_PATH={path} does not exist (run `make model` for the default model)"
            )
        if await asyncio.to_thread(_magic, path) != GGUF_MAGIC:
            raise ValueError(f"MODEL_PATH={path} is not a GGUF file (it does not start with GGUF)")
        self._llm = llm = await asyncio.to_thread(load_model, str(path))
        s = self.settings
        available = available_bytes()
        check_kv_cache(llm.metadata, s.n_ctx, s.n_parallel, available)
        host_cache = host_cache_bytes(
            llm.metadata, s.n_ctx, s.n_parallel, s.kv_host_cache_mb * MIB, available
        )
        if host_cache < s.kv_host_cache_mb * MIB:
            log.warning(
                "kv_host_cache_capped",
                wanted_mb=s.kv_host_cache_mb,
                capped_mb=host_cache // MIB,
                reason="half of the memory left after the KV cache",
            )
        self._vocab = vocab = Vocab(llm)
        self._template = ChatTemplate(llm, vocab)
        self.engine = await asyncio.to_thread(
            Engine,
            llm,
            vocab,
            n_ctx=s.n_ctx,
            n_parallel=s.n_parallel,
            n_batch=s.n_batch,
            n_threads=s.n_threads,
            host_cache_bytes=host_cache,
            flash_attn=s.flash_attn,
        )
        self.engine.start()
        self.ready = True

    async def close(self) -> None:
        self.ready = False
        engine, self.engine = self.engine, None
        if engine is not None:
            await asyncio.to_thread(engine.close)
        llm, self._llm = self._llm, None
        if llm is not None:
            await asyncio.to_thread(llm.close)
        await self._embedder.close()

    @property
    def context_window(self) -> int:
        """Per request: each sequence has N_CTX tokens of its own."""
        return self.settings.n_ctx

    async def embed(self, request: EmbeddingRequest) -> Embeddings:
        return await self._embedder.embed(request)

    # --- request → job (in a worker thread: templates and tokenizing can take a while) ---

    def _prompt_tokens(self, request: GenerationRequest, output: OutputPlan) -> list[int]:
        assert self._llm is not None and self._vocab is not None
        llm, adds_bos = self._llm, self._vocab.adds_bos
        if request.messages is not None:
            assert self._template is not None
            text = self._template.render(request.messages, output.instructions)
            return llm.tokenize(text.encode("utf-8"), add_bos=adds_bos, special=True)
        return llm.tokenize((request.prompt or "").encode("utf-8"), add_bos=adds_bos)

    async def count_tokens(self, request: GenerationRequest) -> int:
        """The prompt as the engine would run it: chat template, tool and format
        instructions, tokenized by the model's own vocabulary."""
        if self._llm is None:
            raise RuntimeError("model not loaded")
        tokens = await asyncio.to_thread(self._prompt_tokens, request, plan(request))
        return len(tokens)

    def _job(self, request: GenerationRequest, tokens: list[int], output: OutputPlan) -> Job:
        assert self._vocab is not None
        vocab = self._vocab
        param = "messages" if request.messages is not None else "prompt"
        if not tokens:
            raise InvalidRequest("The prompt is empty.", param=param)
        n_ctx = self.settings.n_ctx
        room = n_ctx - len(tokens)
        max_tokens = request.max_tokens
        if max_tokens is not None and request.fit_max_tokens and room > 0:
            max_tokens = min(max_tokens, room)
        if room <= 0 or (max_tokens is not None and max_tokens > room):
            asked = f" plus {max_tokens} for the completion" if max_tokens else ""
            raise ContextLengthExceeded(
                f"This model's maximum context length is {n_ctx} tokens. However, you "
                f"requested {len(tokens)} tokens in the prompt{asked}. Please reduce the "
                "length of the prompt or of max_tokens.",
                param=param,
            )
        for token in request.logit_bias:
            if not 0 <= token < vocab.size:
                raise InvalidRequest(
                    f"logit_bias token id {token} is outside the vocabulary (0..{vocab.size - 1}).",
                    param="logit_bias",
                )
        seed = (
            request.seed + request.choice_index
            if request.seed is not None
            else random.getrandbits(31)
        )
        return Job(
            tokens=tokens,
            max_new_tokens=max_tokens if max_tokens is not None else room,
            temperature=request.temperature,
            top_p=request.top_p,
            seed=seed & 0x7FFFFFFF,
            presence_penalty=request.presence_penalty or 0.0,
            frequency_penalty=request.frequency_penalty or 0.0,
            logit_bias=request.logit_bias,
            grammar=output.grammar,
            logprobs=request.logprobs,
        )

    def _prepare(self, groups: Sequence[PromptGroup]) -> list[list[_Choice]]:
        """A job per choice, every error raised before anything runs. The choices of a group
        share its prompt: tokenized once, one token list (the engine evaluates it once)."""
        assert self._vocab is not None
        prepared: list[list[_Choice]] = []
        for group in groups:
            output = plan(group.request)
            if output.grammar is not None and not self._vocab.grammar_parses(output.grammar):
                raise InvalidRequest(
                    "This JSON schema cannot be turned into a generation grammar.",
                    param="tools" if output.mode.startswith("tool") else "response_format",
                )
            tokens = self._prompt_tokens(group.request, output)
            prepared.append(
                [
                    _Choice(self._job(request, tokens, output), output, request.stop)
                    for request in choice_requests([group])
                ]
            )
        return prepared

    # --- the bridge -----------------------------------------------------------------------

    async def stream_choices(self, groups: Sequence[PromptGroup]) -> AsyncIterator[ChoiceDelta]:
        """All choices of a call run in the engine at once; the `n` choices of a group share
        its prompt's evaluation. Each choice's deltas come in order and end with its
        finish_reason."""
        engine = self.engine
        if engine is None or self._vocab is None:
            raise RuntimeError("model not loaded")
        prepared = await asyncio.to_thread(self._prepare, groups)
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[tuple[int, list[EngineEvent]]] = asyncio.Queue()

        def deliver(index: int, events: list[EngineEvent]) -> None:  # the engine thread
            loop.call_soon_threadsafe(inbox.put_nowait, (index, events))

        choices = [choice for group in prepared for choice in group]
        jobs: list[list[tuple[int, Job]]] = []
        for group in prepared:
            start = sum(len(g) for g in jobs)
            jobs.append([(start + i, choice.job) for i, choice in enumerate(group)])
        try:
            ticket = engine.submit(jobs, deliver)
        except EngineClosed:
            raise ServiceUnavailable("The model is shutting down; retry shortly.") from None
        shapers = [Shaper(c.output, c.stop) for c in choices]
        prompt_tokens = [len(c.job.tokens) for c in choices]
        running = set(range(len(choices)))
        try:
            while running:
                index, events = await inbox.get()
                for event in events:
                    if index not in running:
                        break
                    delta = _delta(shapers[index], event)
                    if delta is None:
                        continue
                    delta.prompt_tokens = prompt_tokens[index]
                    delta.cached_tokens = ticket.cached(index)
                    if delta.completion_tokens is None:
                        delta.completion_tokens = shapers[index].produced
                    if delta.finish_reason is not None:
                        running.discard(index)
                        ticket.cancel(index)  # a stop sequence may end it before the engine
                    yield index, delta
        finally:
            ticket.cancel_all()


def _delta(shaper: Shaper, event: EngineEvent) -> Delta | None:
    """The delta an engine event makes (None: nothing to send yet)."""
    if isinstance(event, Token):
        return shaper.feed(event)
    if isinstance(event, Finished):
        if event.reason == "cancelled":
            raise RuntimeError("the generation was cancelled by the server")
        tail = shaper.finish(event.reason)
        tail.completion_tokens = event.completion_tokens
        return tail
    if isinstance(event, Failed):
        raise RuntimeError(f"generation failed: {event.message}")
    raise TypeError(f"unexpected engine event {event!r}")
