"""The synchronous decode loop that runs in the backend's generation thread.

It owns the llama.cpp context while it runs: evaluates the prompt (re-using the KV cache for
a shared prefix), samples token by token with the request's sampler chain, and hands each
token back through `emit`. It checks `cancelled` between tokens, so a client that goes away
stops the work within a token.
"""

from __future__ import annotations

import codecs
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...compat.llama_cpp import Llama, Sampler, Vocab, last_logits
from ..types import TokenLogprob, TopLogprob

# Sampling defaults when the request leaves a knob unset: OpenAI's API has no top_k/min_p,
# but a 135M model needs them to stay coherent (the same defaults as llama.cpp's server).
DEFAULT_TEMPERATURE = 0.8
DEFAULT_TOP_K = 40
DEFAULT_MIN_P = 0.05
PENALTY_LAST_N = 64


@dataclass(slots=True)
class Job:
    """Everything the thread needs for one choice; built on the event loop."""

    tokens: list[int]
    max_new_tokens: int
    temperature: float | None
    top_p: float | None
    seed: int
    presence_penalty: float
    frequency_penalty: float
    logit_bias: dict[int, float]
    grammar: str | None
    logprobs: int | None
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass(slots=True)
class Token:
    """One generated token as the loop reports it."""

    text: str
    logprob: TokenLogprob | None = None


@dataclass(slots=True)
class Finished:
    reason: str  # "stop" (end of generation) | "length" | "cancelled"
    completion_tokens: int


def _sampler(vocab: Vocab, job: Job) -> Sampler:
    sampler = Sampler()
    if job.logit_bias:
        sampler.add_logit_bias(vocab.size, job.logit_bias)
    if job.presence_penalty or job.frequency_penalty:
        sampler.add_penalties(PENALTY_LAST_N, 1.0, job.frequency_penalty, job.presence_penalty)
    if job.grammar is not None:
        sampler.add_grammar(vocab, job.grammar)
    temperature = DEFAULT_TEMPERATURE if job.temperature is None else job.temperature
    if temperature <= 0.0:
        sampler.add_greedy()
        return sampler
    sampler.add_top_k(DEFAULT_TOP_K)
    sampler.add_top_p(1.0 if job.top_p is None else job.top_p, 1)
    sampler.add_min_p(DEFAULT_MIN_P, 1)
    sampler.add_temperature(temperature)
    sampler.add_distribution(job.seed)
    return sampler


def _logprob(llm: Llama, vocab: Vocab, token: int, data: bytes, top: int) -> TokenLogprob:
    """Log-probabilities from the raw distribution of the last evaluated position."""
    logits = last_logits(llm, vocab)
    shifted = logits - logits.max()
    logsumexp = float(np.log(np.exp(shifted).sum()))
    alternatives: list[TopLogprob] = []
    if top:
        best = np.argpartition(-shifted, top)[:top]
        best = best[np.argsort(-shifted[best])]
        for alt in best:
            alt_piece = vocab.piece(int(alt))
            alternatives.append(
                TopLogprob(
                    alt_piece.decode("utf-8", "replace"),
                    float(shifted[alt]) - logsumexp,
                    list(alt_piece),
                )
            )
    return TokenLogprob(
        data.decode("utf-8", "replace"),
        float(shifted[token]) - logsumexp,
        list(data),
        tuple(alternatives),
    )


def _reuse_prefix(llm: Llama, tokens: list[int]) -> list[int]:
    """Keep the KV cache for the longest shared prefix; return what still needs eval."""
    cached = llm.n_tokens
    shared = 0
    limit = min(cached, len(tokens) - 1)  # always evaluate at least one token
    previous = llm.input_ids
    while shared < limit and previous[shared] == tokens[shared]:
        shared += 1
    llm.n_tokens = shared
    return tokens[shared:]


def run(llm: Llama, vocab: Vocab, job: Job, emit: Callable[[Any], None]) -> None:
    """Generate until end-of-generation, `max_new_tokens`, or cancellation."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    sampler = _sampler(vocab, job)
    produced = 0
    try:
        llm.eval(_reuse_prefix(llm, job.tokens))
        while produced < job.max_new_tokens:
            if job.cancelled.is_set():
                emit(Finished("cancelled", produced))
                return
            token = sampler.sample(llm)
            if vocab.is_end(token):
                emit(Token(decoder.decode(b"", final=True)))
                emit(Finished("stop", produced))
                return
            produced += 1
            data = vocab.piece(token)
            logprob = None
            if job.logprobs is not None:
                logprob = _logprob(llm, vocab, token, data, job.logprobs)
            emit(Token(decoder.decode(data), logprob))
            if produced < job.max_new_tokens:
                llm.eval([token])
        emit(Token(decoder.decode(b"", final=True)))
        emit(Finished("length", produced))
    finally:
        sampler.close()
