"""Embeddings on the llama backend: llama.cpp's mean pooling over a context of its own (its own
thread), so embedding never waits for generation nor generation for it.

The inputs of a request are decoded together: each is a sequence of its own in one
`llama_batch`, as many as fit in the context's n_batch tokens and n_seq_max sequences, and
each sequence's pooled vector is read after the decode. One decode of 64 short inputs costs
little more than one of a single input (the weights are read once per batch, not per input).
The KV cells are one unified pool, cleared before every batch: sequences never share a
prefix here, and a pool of n_batch cells serves whatever mix of lengths fills the batch.
Requests that arrive while a batch runs wait in a queue and are decoded together next, their
inputs sharing batches (each request still gets its own vectors, or its own error).

The embedding model (EMBEDDING_MODEL_PATH, default: the chat model) is opened on first use;
with mmap its weights share the page cache with the chat model's when it is the same file.
A chat model's pooled hidden states make usable but weak vectors: a dedicated embedding GGUF
(e.g. a BGE or nomic-embed one) gives much better ones.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ...compat.llama_cpp import (
    Batch,
    Context,
    ContextParams,
    HiddenStates,
    Llama,
    Vocab,
    load_model,
)
from ...errors import ContextLengthExceeded, InvalidRequest
from ..types import EmbeddingRequest, Embeddings

BATCH_TOKENS = 2048
"""Tokens per decode (and KV cells) when the window is shorter: enough for 64 short inputs."""
BATCH_SEQUENCES = 64
"""Sequences per decode: llama.cpp's limit on n_seq_max in the pinned version."""
PROBE_TEXTS = ("Hello", "The quick brown fox jumps over the lazy dog.", "vectors, in order")
"""Inputs of different lengths on which the gateway's own pooling is checked against
llama.cpp's when the embedding model opens."""


class _Model:
    """The embedding model, its context and one reusable batch (used from one thread)."""

    def __init__(self, model_path: str, n_ctx: int, n_threads: int) -> None:
        self.llm: Llama = load_model(model_path)
        self.vocab = Vocab(self.llm)
        n_batch = max(n_ctx, BATCH_TOKENS)
        self.hidden = HiddenStates()
        self.context = Context(
            self.llm,
            self.vocab,
            ContextParams(
                n_ctx=n_batch,
                n_seq_max=BATCH_SEQUENCES,
                n_batch=n_batch,
                n_threads=n_threads,
                kv_unified=True,
                mean_pooling=True,
                hidden_states=self.hidden,
            ),
        )
        self.batch = Batch(n_batch)
        self.hidden.enabled = self._own_pooling_agrees()

    def _own_pooling_agrees(self) -> bool:
        """Whether averaging the hidden states read from the graph (`HiddenStates`, which
        stops it before the output layer) gives llama.cpp's own pooled vectors for this
        model: checked once, on inputs of different lengths decoded together."""
        probe = [
            self.llm.tokenize(text.encode(), add_bos=self.vocab.adds_bos) for text in PROBE_TEXTS
        ]
        pooled = self.embed(probe)
        self.hidden.enabled = True
        try:
            own = self.embed(probe, own_pooling=True)
        except RuntimeError:
            return False
        finally:
            self.hidden.enabled = False
        return all(float(np.dot(a, b)) > 1 - 1e-6 for a, b in zip(pooled, own, strict=True))

    def embed(self, inputs: list[list[int]], own_pooling: bool = False) -> list[list[float]]:
        """Unit vectors of the token sequences, in order, decoded in as few batches as fit:
        pooled from the hidden states `HiddenStates` read when it did (`own_pooling`: it
        must have), otherwise by llama.cpp (the graph then ran whole)."""
        vectors: list[list[float]] = []
        batch, context = self.batch, self.context
        start = 0
        while start < len(inputs):
            batch.clear()
            context.clear()
            end = start
            while (
                end < len(inputs)
                and end - start < BATCH_SEQUENCES
                and batch.size + len(inputs[end]) <= batch.capacity
            ):
                batch.add(inputs[end], 0, end - start, logits_last=False, outputs=True)
                end += 1
            status = context.decode(batch)
            if status != 0:
                raise RuntimeError(f"llama_decode failed with status {status}")
            states = self.hidden.take()
            if states is None and own_pooling:
                raise RuntimeError("the decode gave no hidden states to pool")
            if states is not None and len(states) != batch.size:  # the graph stopped part-way
                raise RuntimeError(f"hidden states of {len(states)} of {batch.size} tokens")
            row = 0
            for seq in range(end - start):
                if states is None:
                    vector = context.embedding(seq)
                else:  # mean pooling, as llama.cpp's (each input's rows follow the last's)
                    length = len(inputs[start + seq])
                    vector = states[row : row + length].mean(axis=0, dtype=np.float64)
                    row += length
                norm = float(np.linalg.norm(vector))
                vectors.append((vector / norm if norm > 0 else vector).tolist())
            start = end
        context.clear()
        return vectors

    def close(self) -> None:
        self.batch.close()
        self.context.close()
        self.llm.close()


class LlamaEmbedder:
    def __init__(self, model_path: str, n_ctx: int, n_threads: int) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self._model: _Model | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-embed")
        self._lock = threading.Lock()
        self._waiting: list[tuple[EmbeddingRequest, Future[Embeddings]]] = []

    def _open(self) -> _Model:
        if self._model is None:
            self._model = _Model(self.model_path, self.n_ctx, self.n_threads)
        return self._model

    def _tokens(self, model: _Model, request: EmbeddingRequest) -> list[list[int]]:
        """The request's inputs as tokens, checked: an error names the input."""
        llm, vocab = model.llm, model.vocab
        inputs: list[list[int]] = []
        single = len(request.inputs) == 1
        for index, value in enumerate(request.inputs):
            param = "input" if single else f"input[{index}]"
            if isinstance(value, str):
                text = value
            else:  # ids in this model's own vocabulary (EMBEDDING_TOKEN_IDS=model)
                if any(not 0 <= t < vocab.size for t in value):
                    raise InvalidRequest(
                        f"Token ids must be from 0 to {vocab.size - 1} for this model.",
                        param=param,
                    )
                text = llm.detokenize(list(value)).decode("utf-8", "replace")
            tokens = llm.tokenize(text.encode("utf-8"), add_bos=vocab.adds_bos)
            if not tokens:  # a sequence without tokens has no mean
                raise InvalidRequest("The input is empty: there is nothing to embed.", param=param)
            if len(tokens) > self.n_ctx:
                raise ContextLengthExceeded(
                    f"This model's maximum context length is {self.n_ctx} tokens; the input "
                    f"has {len(tokens)}.",
                    param=param,
                )
            inputs.append(tokens)
        return inputs

    def _drain(self) -> None:
        """Embed every waiting request (none when an earlier drain took them), together."""
        with self._lock:
            jobs, self._waiting = self._waiting, []
        jobs = [(r, f) for r, f in jobs if f.set_running_or_notify_cancel()]
        if not jobs:
            return
        try:
            model = self._open()
        except BaseException as exc:
            for _, future in jobs:
                future.set_exception(exc)
            return
        accepted: list[tuple[list[list[int]], Future[Embeddings]]] = []
        for request, future in jobs:
            try:
                accepted.append((self._tokens(model, request), future))
            except Exception as exc:
                future.set_exception(exc)
        try:
            vectors = model.embed([tokens for inputs, _ in accepted for tokens in inputs])
        except BaseException as exc:
            for _, future in accepted:
                future.set_exception(exc)
            return
        start = 0
        for inputs, future in accepted:
            end = start + len(inputs)
            future.set_result(
                Embeddings(vectors=vectors[start:end], prompt_tokens=sum(map(len, inputs)))
            )
            start = end

    async def embed(self, request: EmbeddingRequest) -> Embeddings:
        future: Future[Embeddings] = Future()
        with self._lock:
            self._waiting.append((request, future))
        self._thread.submit(self._drain)
        return await asyncio.wrap_future(future)

    async def close(self) -> None:
        model, self._model = self._model, None
        if model is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, model.close)
        self._thread.shutdown(wait=False, cancel_futures=True)
        with self._lock:  # their drains were cancelled with the thread
            jobs, self._waiting = self._waiting, []
        for _, future in jobs:
            future.cancel()
