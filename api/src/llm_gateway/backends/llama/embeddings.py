"""Embeddings on the llama backend: llama.cpp's mean pooling over a context of its own (its own
thread), so embedding never waits for generation nor generation for it.

The embedding model (EMBEDDING_MODEL_PATH, default: the chat model) is opened on first use;
with mmap its weights share the page cache with the chat model's when it is the same file.
A chat model's pooled hidden states make usable but weak vectors: a dedicated embedding GGUF
(e.g. a BGE or nomic-embed one) gives much better ones.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from ...compat.llama_cpp import LLAMA_POOLING_TYPE_MEAN, Llama, Vocab
from ...errors import ContextLengthExceeded, InvalidRequest
from ..types import EmbeddingRequest, Embeddings


class LlamaEmbedder:
    def __init__(self, model_path: str, n_ctx: int, n_threads: int) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self._llm: Llama | None = None
        self._vocab: Vocab | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-embed")

    def _open(self) -> tuple[Llama, Vocab]:
        if self._llm is None:
            self._llm = Llama(
                model_path=self.model_path,
                embedding=True,
                pooling_type=LLAMA_POOLING_TYPE_MEAN,
                n_ctx=self.n_ctx,
                n_batch=self.n_ctx,
                n_ubatch=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                verbose=False,
            )
            self._vocab = Vocab(self._llm)
        assert self._vocab is not None
        return self._llm, self._vocab

    def _embed(self, request: EmbeddingRequest) -> Embeddings:
        llm, vocab = self._open()
        texts: list[str] = []
        tokens = 0
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
            count = len(llm.tokenize(text.encode("utf-8"), add_bos=vocab.adds_bos))
            if count > self.n_ctx:
                raise ContextLengthExceeded(
                    f"This model's maximum context length is {self.n_ctx} tokens; the input "
                    f"has {count}.",
                    param=param,
                )
            tokens += count
            texts.append(text)
        # One input per decode: llama-cpp-python's context holds one sequence at a time.
        vectors = [llm.embed(text, normalize=True) for text in texts]
        return Embeddings(vectors=[list(map(float, v)) for v in vectors], prompt_tokens=tokens)

    async def embed(self, request: EmbeddingRequest) -> Embeddings:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._embed, request)

    async def close(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, llm.close)
        self._thread.shutdown(wait=False, cancel_futures=True)
