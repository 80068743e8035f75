"""A deterministic, nearly free backend for load tests, benchmarks and the api's own tests.

Same settings + same request (+ same `seed`) = same text, whether streamed or not.
It honours `max_tokens`, `stop`, `n`, `seed` and `logprobs` (with made-up numbers), and can
simulate a slow model with `MOCK_TTFT_MS` and `MOCK_TOKEN_MS`. An answer is drawn once per
distinct request and kept (16 MiB of them, least recently used out first), so a request seen
before costs the gateway's work alone, one delta per token as a model's.
"""

from __future__ import annotations

import asyncio
import math
import random
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence

from pydantic import Field

from ..errors import ContextLengthExceeded, InvalidRequest
from .base import BackendSettings, ChoiceDelta, SingleChoiceBackend, choice_requests
from .stops import StopMatcher
from .types import (
    Delta,
    EmbeddingRequest,
    Embeddings,
    FinishReason,
    GenerationRequest,
    PromptGroup,
    TokenLogprob,
    TopLogprob,
)

_WORDS = (
    "the",
    "model",
    "answers",
    "every",
    "question",
    "with",
    "a",
    "calm",
    "and",
    "steady",
    "voice",
    "while",
    "tokens",
    "flow",
    "through",
    "the",
    "gateway",
    "like",
    "water",
    "over",
    "smooth",
    "stones",
    "under",
    "a",
    "bright",
    "morning",
    "sky",
    "and",
    "engineers",
    "watch",
    "the",
    "metrics",
    "rise",
    "and",
    "fall",
    "as",
    "requests",
    "arrive",
    "from",
    "near",
    "and",
    "far",
)
_TOKENS = tuple(" " + word for word in _WORDS)
_DRAW = 32  # words drawn from the generator at once
ANSWER_MEMO_BYTES = 16 << 20  # answers kept for requests seen again
_DELTA_BYTES = 200  # a delta with its text, roughly (a None slot: counted alike)


class MockSettings(BackendSettings):
    mock_ttft_ms: float = Field(0.0, ge=0, le=600_000, description="time to first token")
    mock_token_ms: float = Field(0.0, ge=0, le=60_000, description="delay between tokens")
    mock_seed: int = Field(0, description="mixed into every answer")
    mock_max_tokens: int = Field(64, ge=1, le=1_000_000, description="natural output length")
    mock_embedding_dimensions: int = Field(384, ge=1, le=65_536, description="vector length")
    mock_n_ctx: int = Field(
        32_768, ge=64, le=10_000_000, description="context window: prompt + completion tokens"
    )


class MockBackend(SingleChoiceBackend[MockSettings]):
    name = "mock"
    settings_class = MockSettings
    supported_params = frozenset({"seed", "logprobs", "top_logprobs"})
    default_concurrency = 256
    supports_embeddings = True
    supports_dimensions = True

    def __init__(self, settings: MockSettings) -> None:
        super().__init__(settings)
        self._ttft = settings.mock_ttft_ms / 1000
        self._token_delay = settings.mock_token_ms / 1000
        self._natural_length = settings.mock_max_tokens
        self._answers = _Answers(ANSWER_MEMO_BYTES)

    def _key(self, request: GenerationRequest) -> str:
        """What an answer's words are drawn from: the same key, the same words."""
        prompt = request.prompt if request.prompt is not None else ""
        if request.messages:
            prompt = "\x1e".join(f"{m.role}\x1f{m.content}" for m in request.messages)
        return f"{self.settings.mock_seed}|{request.seed}|{request.choice_index}|{prompt}"

    @staticmethod
    def count_prompt_tokens(request: GenerationRequest) -> int:
        if request.messages is not None:
            return sum(4 + len(m.content.split()) for m in request.messages) + 2
        return len((request.prompt or "").split())

    @property
    def context_window(self) -> int:
        return self.settings.mock_n_ctx

    async def count_tokens(self, request: GenerationRequest) -> int:
        return self.count_prompt_tokens(request)

    def stream_choices(self, groups: Sequence[PromptGroup]) -> AsyncIterator[ChoiceDelta]:
        """The choices one after another, as `SingleChoiceBackend` runs them, but without a
        generator layer per choice: the mock stands for an infinitely fast model in the
        gateway's overhead benchmark, so its own cost per token should be next to nothing. A
        subclass that wraps `stream` (tests do) gets the generic path through it."""
        if type(self).stream is not MockBackend.stream:
            return super().stream_choices(groups)
        return self._choices(choice_requests(groups))

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        async for _, delta in self._choices([request]):
            yield delta

    async def _choices(self, requests: list[GenerationRequest]) -> AsyncIterator[ChoiceDelta]:
        for index, request in enumerate(requests):
            answer = self._answer(request)  # a prompt too long fails before any wait
            if self._ttft:
                await asyncio.sleep(self._ttft)
            if self._token_delay:
                for delta in answer:
                    if delta is None:
                        await asyncio.sleep(self._token_delay)
                    else:
                        yield index, delta
            else:
                for delta in answer:
                    if delta is not None:
                        yield index, delta

    def _answer(self, request: GenerationRequest) -> Iterable[Delta | None]:
        """The choice's deltas, with a None before every token but the first (where a paced
        answer waits MOCK_TOKEN_MS). Drawn once per distinct request and kept (`_Answers`):
        the mock stands for an infinitely fast model, so answering must cost next to nothing
        once a request has been seen, and the same request gets the same answer anyway. An
        answer too long to keep is drawn as it goes."""
        prompt_tokens = self.count_prompt_tokens(request)
        room = self.context_window - prompt_tokens
        max_tokens = request.max_tokens
        if max_tokens is not None and request.fit_max_tokens and room > 0:
            max_tokens = min(max_tokens, room)
        if room <= 0 or (max_tokens is not None and max_tokens > room):
            raise ContextLengthExceeded(
                f"This model's maximum context length is {self.context_window} tokens; the "
                f"prompt has {prompt_tokens} and {max_tokens} more were asked for.",
                param="messages" if request.messages is not None else "prompt",
            )
        limit = self._natural_length
        finish: FinishReason = "stop"
        if max_tokens is not None and max_tokens < limit:
            limit, finish = max_tokens, "length"
        key = self._key(request)
        memo = (key, prompt_tokens, limit, finish, request.stop, request.logprobs)
        if (kept := self._answers.get(memo)) is not None:
            return kept
        rng = random.Random(zlib.crc32(key.encode("utf-8", "surrogatepass")))
        deltas = _deltas(rng, prompt_tokens, limit, finish, request)
        if not self._answers.fits(len(key) + 2 * limit * _DELTA_BYTES):
            return deltas  # too long to keep: drawn as it goes, as a model would
        answer = tuple(deltas)
        self._answers.put(memo, answer, len(key))
        return answer

    async def embed(self, request: EmbeddingRequest) -> Embeddings:
        """Deterministic unit vectors: the same input always gives the same vector; a shorter
        `dimensions` is the full vector cut and normalised again (as OpenAI's models do)."""
        size = self.settings.mock_embedding_dimensions
        if request.dimensions is not None and request.dimensions > size:
            raise InvalidRequest(
                f"'dimensions' must be at most {size} for this model.", param="dimensions"
            )
        vectors, tokens = [], 0
        for value in request.inputs:
            text = value if isinstance(value, str) else " ".join(map(str, value))
            tokens += max(1, len(text.split())) if isinstance(value, str) else len(value)
            rng = random.Random(zlib.crc32(f"{self.settings.mock_seed}|{text}".encode()))
            vector = [rng.gauss(0.0, 1.0) for _ in range(size)][: request.dimensions or size]
            norm = math.sqrt(sum(x * x for x in vector)) or 1.0
            vectors.append([x / norm for x in vector])
        return Embeddings(vectors=vectors, prompt_tokens=tokens)

    @staticmethod
    def _logprobs(rng: random.Random, token: str, top: int | None) -> list[TokenLogprob] | None:
        if top is None:
            return None
        logprob = math.log(0.5 + rng.random() / 2)
        alternatives = tuple(
            TopLogprob(token=" " + w, logprob=logprob - i - 1, bytes=list((" " + w).encode()))
            for i, w in enumerate(rng.sample(_WORDS, top))
        )
        return [TokenLogprob(token, logprob, list(token.encode()), alternatives)]


class _Answers:
    """Answers already drawn, least recently used first, within a budget of (estimated)
    bytes: an answer's deltas and its key (which holds the prompt)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._held: dict[tuple[object, ...], tuple[tuple[Delta | None, ...], int]] = {}

    def get(self, key: tuple[object, ...]) -> tuple[Delta | None, ...] | None:
        entry = self._held.pop(key, None)
        if entry is None:
            return None
        self._held[key] = entry  # now the most recently used
        return entry[0]

    def fits(self, size: int) -> bool:
        return size <= self.budget

    def put(self, key: tuple[object, ...], answer: tuple[Delta | None, ...], extra: int) -> None:
        size = extra + _DELTA_BYTES * len(answer)
        if not self.fits(size):
            return
        while self.used + size > self.budget:
            oldest = next(iter(self._held))
            self.used -= self._held.pop(oldest)[1]
        self._held[key] = (answer, size)
        self.used += size


def _deltas(
    rng: random.Random,
    prompt_tokens: int,
    limit: int,
    finish: FinishReason,
    request: GenerationRequest,
) -> Iterator[Delta | None]:
    """One choice's deltas, with a None before every token but the first."""
    top = request.logprobs
    stops = StopMatcher(request.stop) if request.stop else None
    produced = 0
    words: list[str] = []
    while produced < limit:
        if produced:
            yield None
        if not words:  # drawn a few at a time
            words = rng.choices(_TOKENS, k=min(_DRAW, limit - produced))[::-1]
        token = words.pop()
        if produced == 0:
            token = token[1:].capitalize()
        if produced % 9 == 8:
            token += "."
        produced += 1
        if stops is None:
            text, hit = token, False
        else:
            text, hit = stops.feed(token)
        logprobs = None if top is None else MockBackend._logprobs(rng, token, top)
        if hit:
            yield Delta(
                text=text,
                finish_reason="stop",
                stop_sequence=stops.matched if stops is not None else None,
                prompt_tokens=prompt_tokens,
                completion_tokens=produced,
            )
            return
        if text or logprobs:
            yield Delta(
                text=text,
                logprobs=logprobs,
                prompt_tokens=prompt_tokens,
                completion_tokens=produced,
            )
    yield Delta(
        text=stops.flush() if stops is not None else "",
        finish_reason=finish,
        prompt_tokens=prompt_tokens,
        completion_tokens=produced,
    )
