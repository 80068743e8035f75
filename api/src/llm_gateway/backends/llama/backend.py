"""`LlamaBackend`: the async side. Builds a job per choice, runs the decode loop in the
backend's one generation thread, and turns its tokens into `Delta`s for the service."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ...compat.llama_cpp import Llama, Vocab
from ...errors import ContextLengthExceeded, InvalidRequest
from ..base import Backend
from ..stops import StopMatcher
from ..types import (
    Delta,
    EmbeddingRequest,
    Embeddings,
    FinishReason,
    GenerationRequest,
    ToolCallDelta,
)
from . import engine
from .constraints import CallStreamer, OutputPlan, parse_call, plan
from .embeddings import LlamaEmbedder
from .prompts import ChatTemplate
from .settings import LlamaSettings

_END = object()


class LlamaBackend(Backend[LlamaSettings]):
    name = "llama"
    settings_class = LlamaSettings
    supported_params = frozenset(
        {
            "temperature",
            "top_p",
            "seed",
            "presence_penalty",
            "frequency_penalty",
            "logit_bias",
            "logprobs",
            "top_logprobs",
            "response_format",
            "tools",
            "tool_choice",
            "parallel_tool_calls",
        }
    )
    default_concurrency = 1  # one llama.cpp context per worker
    supports_embeddings = True

    def __init__(self, settings: LlamaSettings) -> None:
        super().__init__(settings)
        self._llm: Llama | None = None
        self._vocab: Vocab | None = None
        self._template: ChatTemplate | None = None
        # One thread owns the llama.cpp context: jobs run strictly one after another.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
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
        loop = asyncio.get_running_loop()
        self._llm = await loop.run_in_executor(self._thread, self._open, str(path))
        self._vocab = Vocab(self._llm)
        self._template = ChatTemplate(self._llm, self._vocab)
        self.ready = True

    def _open(self, path: str) -> Llama:
        s = self.settings
        return Llama(
            model_path=path,
            n_ctx=s.n_ctx,
            n_threads=s.n_threads,
            n_threads_batch=s.n_threads,
            n_batch=min(s.n_batch, s.n_ctx),
            logits_all=False,
            verbose=False,
        )

    async def close(self) -> None:
        self.ready = False
        llm, self._llm = self._llm, None
        if llm is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, llm.close)
        self._thread.shutdown(wait=False, cancel_futures=True)
        await self._embedder.close()

    @property
    def context_window(self) -> int:
        return self.settings.n_ctx

    async def embed(self, request: EmbeddingRequest) -> Embeddings:
        return await self._embedder.embed(request)

    # --- request → job ------------------------------------------------------------------

    def _prompt_tokens(
        self, llm: Llama, vocab: Vocab, request: GenerationRequest, output: OutputPlan
    ) -> list[int]:
        if request.messages is not None:
            assert self._template is not None
            text = self._template.render(request.messages, output.instructions)
            return llm.tokenize(text.encode("utf-8"), add_bos=vocab.adds_bos, special=True)
        return llm.tokenize((request.prompt or "").encode("utf-8"), add_bos=vocab.adds_bos)

    def _job(
        self, llm: Llama, vocab: Vocab, request: GenerationRequest, output: OutputPlan
    ) -> engine.Job:
        if output.grammar is not None and not vocab.grammar_parses(output.grammar):
            raise InvalidRequest(
                "This JSON schema cannot be turned into a generation grammar.",
                param="tools" if output.mode.startswith("tool") else "response_format",
            )
        tokens = self._prompt_tokens(llm, vocab, request, output)
        n_ctx = llm.n_ctx()
        room = n_ctx - len(tokens)
        if room <= 0 or (request.max_tokens is not None and request.max_tokens > room):
            asked = f" plus {request.max_tokens} for the completion" if request.max_tokens else ""
            raise ContextLengthExceeded(
                f"This model's maximum context length is {n_ctx} tokens. However, you "
                f"requested {len(tokens)} tokens in the prompt{asked}. Please reduce the "
                "length of the prompt or of max_tokens.",
                param="messages" if request.messages is not None else "prompt",
            )
        n_vocab = vocab.size
        for token in request.logit_bias:
            if not 0 <= token < n_vocab:
                raise InvalidRequest(
                    f"logit_bias token id {token} is outside the vocabulary (0..{n_vocab - 1}).",
                    param="logit_bias",
                )
        seed = (
            request.seed + request.choice_index
            if request.seed is not None
            else random.getrandbits(31)
        )
        return engine.Job(
            tokens=tokens,
            max_new_tokens=request.max_tokens if request.max_tokens is not None else room,
            temperature=request.temperature,
            top_p=request.top_p,
            seed=seed & 0x7FFFFFFF,
            presence_penalty=request.presence_penalty or 0.0,
            frequency_penalty=request.frequency_penalty or 0.0,
            logit_bias=request.logit_bias,
            grammar=output.grammar,
            logprobs=request.logprobs,
        )

    # --- the bridge ---------------------------------------------------------------------

    async def _tokens(self, llm: Llama, vocab: Vocab, job: engine.Job) -> AsyncIterator[Any]:
        """Run the job in the generation thread; yield its Token/Finished items."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def emit(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                engine.run(llm, vocab, job, emit)
            except BaseException as exc:
                emit(exc)
            finally:
                emit(_END)

        done = loop.run_in_executor(self._thread, work)
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            job.cancelled.set()
            # Wait for the thread to let go of the context before the slot is freed.
            with contextlib.suppress(Exception):
                await asyncio.shield(done)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        llm, vocab = self._llm, self._vocab
        if llm is None or vocab is None:
            raise RuntimeError("model not loaded")
        output = plan(request)
        job = self._job(llm, vocab, request, output)
        prompt_tokens = len(job.tokens)
        shaper = _Shaper(output, request.stop)
        async with contextlib.aclosing(self._tokens(llm, vocab, job)) as items:  # type: ignore[type-var]
            async for item in items:
                if isinstance(item, engine.Finished):
                    if item.reason == "cancelled":
                        return
                    tail = shaper.finish(item.reason)
                    tail.prompt_tokens = prompt_tokens
                    tail.completion_tokens = item.completion_tokens
                    yield tail
                    return
                delta = shaper.feed(item)
                if delta is None:
                    continue
                delta.prompt_tokens = prompt_tokens
                delta.completion_tokens = shaper.produced
                if delta.finish_reason is not None:  # a stop sequence matched
                    yield delta
                    return
                yield delta


class _Shaper:
    """Tokens → deltas according to the output plan (text, JSON, or tool calls)."""

    def __init__(self, output: OutputPlan, stop: tuple[str, ...]) -> None:
        self.output = output
        self.mode = output.mode
        self.stops = StopMatcher(stop if self.mode in {"text", "json"} else ())
        self.call_id = f"call_{uuid.uuid4().hex[:24]}"
        self.calls = CallStreamer()
        self.buffer: list[str] = []
        self.produced = 0
        self.started_call = False
        self.decided_text = False

    def feed(self, token: engine.Token) -> Delta | None:
        self.produced += 1
        text = token.text
        logprobs = [token.logprob] if token.logprob is not None else None
        if self.mode == "tool_arguments":
            calls = [ToolCallDelta(0, arguments=text)]
            if not self.started_call:
                self.started_call = True
                calls.insert(0, ToolCallDelta(0, id=self.call_id, name=self.output.tool_name))
            return Delta(tool_calls=calls, logprobs=logprobs)
        if self.mode == "tool_call":
            name, arguments = self.calls.feed(text)
            calls = []
            if name is not None:
                calls.append(ToolCallDelta(0, id=self.call_id, name=name))
            if arguments:
                calls.append(ToolCallDelta(0, arguments=arguments))
            return Delta(tool_calls=calls or None, logprobs=logprobs)
        if self.mode == "auto_tools" and not self.decided_text:
            self.buffer.append(text)
            joined = "".join(self.buffer)
            if not joined.strip():
                return None
            if joined.lstrip().startswith("{"):
                return None  # maybe a call: decide at the end
            self.decided_text = True
            self.buffer = []
            text = joined
        emitted, hit = self.stops.feed(text)
        if hit:
            return Delta(
                text=emitted,
                logprobs=logprobs,
                finish_reason="stop",
                completion_tokens=self.produced,
            )
        if emitted or logprobs:
            return Delta(text=emitted, logprobs=logprobs)
        return None

    def finish(self, reason: str) -> Delta:
        finish: FinishReason = "length" if reason == "length" else "stop"
        if self.mode == "tool_arguments":
            return Delta(finish_reason="tool_calls" if finish == "stop" else finish)
        if self.mode == "tool_call":
            rest = self.calls.finish()
            calls = [ToolCallDelta(0, arguments=rest)] if rest and self.calls.name else None
            return Delta(
                tool_calls=calls, finish_reason="tool_calls" if finish == "stop" else finish
            )
        if self.mode == "auto_tools" and not self.decided_text:
            joined = "".join(self.buffer)
            call = parse_call(joined, self.output.tool_names) if finish == "stop" else None
            if call is not None:
                name, arguments = call
                return Delta(
                    tool_calls=[ToolCallDelta(0, id=self.call_id, name=name, arguments=arguments)],
                    finish_reason="tool_calls",
                )
            emitted, _ = self.stops.feed(joined)
            return Delta(text=emitted + self.stops.flush(), finish_reason=finish)
        return Delta(text=self.stops.flush(), finish_reason=finish)
