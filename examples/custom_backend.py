"""Your own backend, by example: answers questions from a folder of text files.

It splits every file into paragraphs, ranks them against the question with BM25 (the
ranking search engines use), and answers with the best passages, each citing its file,
streamed word by word. No model, no GPU: a real backend all the same, served by the gateway
with the OpenAI protocol, streaming, limits, errors and metrics.

Run it from the repository root (gunicorn puts its working directory on the import path):

    MODEL_BACKEND=examples.custom_backend:PassageAnswerer make serve
    curl -s localhost:8001/v1/chat/completions -H 'content-type: application/json' \
      -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "How do I scale out?"}]}'

Elsewhere, put the folder holding `examples/` on PYTHONPATH. Its settings, read from the
environment and `.env` like the server's:

    PASSAGES_DIR      the folder to answer from (default: the current directory)
    PASSAGES_GLOB     which files in it (default: *.md, here the README; e.g. **/*.txt)
    PASSAGES_TOP      how many passages an answer quotes (default: 2)
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from llm_gateway.backends import (
    BackendSettings,
    Delta,
    GenerationRequest,
    SingleChoiceBackend,
)
from llm_gateway.backends.stops import StopMatcher
from llm_gateway.errors import InvalidRequest
from pydantic import Field

_WORD = re.compile(r"\w+")
_COMMON = (  # too common to tell passages apart
    "a an and are as at be by can do does for from how i in is it its me my of on or so that "
    "the this to was what when where which who why will with you your"
)
_STOP_WORDS = frozenset(_COMMON.split())


class PassagesSettings(BackendSettings):
    """Fields named like their environment variables (PASSAGES_DIR, ...)."""

    passages_dir: Path = Field(Path("."), description="the folder to answer from")
    passages_glob: str = Field("*.md", min_length=1, description="which files to read")
    passages_top: int = Field(2, ge=1, le=10, description="passages quoted per answer")


@dataclass(frozen=True, slots=True)
class Passage:
    source: str
    text: str
    terms: Counter[str]


def terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP_WORDS]


class BM25:
    """Okapi BM25 over passages (k1 = 1.5, b = 0.75)."""

    def __init__(
        self, passages: list[Passage], k1: float = 1.5, b: float = 0.75
    ) -> None:
        self.passages = passages
        self.k1, self.b = k1, b
        self.average = sum(p.terms.total() for p in passages) / max(1, len(passages))
        counts = Counter(term for p in passages for term in p.terms)
        n = len(passages)
        self.idf = {
            t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in counts.items()
        }

    def score(self, query: list[str], passage: Passage) -> float:
        length = passage.terms.total()
        total = 0.0
        for term in set(query):
            tf = passage.terms.get(term, 0)
            if tf:
                norm = tf + self.k1 * (1 - self.b + self.b * length / self.average)
                total += self.idf[term] * tf * (self.k1 + 1) / norm
        return total

    def best(self, question: str, top: int) -> list[Passage]:
        query = terms(question)
        scored = [(self.score(query, p), i) for i, p in enumerate(self.passages)]
        ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
        return [self.passages[i] for _, i in ranked[:top]]


def read_passages(folder: Path, pattern: str) -> list[Passage]:
    """Paragraphs (text between blank lines) of every matching file, in path order."""
    passages = []
    for path in sorted(folder.glob(pattern)):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for paragraph in re.split(r"\n\s*\n", text):
            flat = " ".join(paragraph.split())
            words = terms(flat)
            if len(words) >= 3:
                passages.append(
                    Passage(str(path.relative_to(folder)), flat, Counter(words))
                )
    return passages


class PassageAnswerer(SingleChoiceBackend[PassagesSettings]):
    """The whole contract: a settings class, `load()`, and `stream()` yielding `Delta`s."""

    name = "passages"
    settings_class = PassagesSettings
    default_concurrency = 64  # answering is cheap: many requests at once per worker

    def __init__(self, settings: PassagesSettings) -> None:
        super().__init__(settings)
        self.index: BM25 | None = None

    async def load(self) -> None:
        folder = self.settings.passages_dir
        if not folder.is_dir():
            raise FileNotFoundError(f"PASSAGES_DIR={folder} is not a folder")
        passages = await asyncio.to_thread(
            read_passages, folder, self.settings.passages_glob
        )
        self.index = BM25(passages)
        self.ready = True

    def answer(self, question: str) -> str:
        assert self.index is not None
        found = self.index.best(question, self.settings.passages_top)
        if not found:
            return "I found nothing about that in my documents."
        return "\n\n".join(f"{p.text} [{p.source}]" for p in found)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        if request.messages is not None:
            asked = [m.content for m in request.messages if m.role == "user"]
            if not asked:
                raise InvalidRequest(
                    "Ask a question in a user message.", param="messages"
                )
            question = asked[-1]
        else:
            question = request.prompt or ""
        prompt_tokens = len(terms(question))
        stops = StopMatcher(request.stop)
        limit = request.max_tokens
        produced = 0
        # One word (with the space or newline before it) per delta: a token, here.
        for word in re.findall(r"\s*\S+", self.answer(question)):
            if limit is not None and produced == limit:
                yield Delta(
                    text=stops.flush(),
                    finish_reason="length",
                    prompt_tokens=prompt_tokens,
                    completion_tokens=produced,
                )
                return
            produced += 1
            text, hit = stops.feed(word)
            if hit:
                yield Delta(
                    text=text,
                    finish_reason="stop",
                    prompt_tokens=prompt_tokens,
                    completion_tokens=produced,
                )
                return
            if text:
                # Running counts: a client that leaves mid-answer is still accounted for.
                yield Delta(
                    text=text, prompt_tokens=prompt_tokens, completion_tokens=produced
                )
            await asyncio.sleep(0)  # let the server notice a client that left
        yield Delta(
            text=stops.flush(),
            finish_reason="stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=produced,
        )
