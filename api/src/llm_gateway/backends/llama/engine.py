"""The synchronous decode loop that runs in the backend's generation thread.

It owns the llama.cpp context while it runs: evaluates the prompt (re-using the KV cache for
a shared prefix), samples token by token with the request's sampler chain, and hands each
token back through `emit`. It checks `cancelled` between tokens, so a client that goes away
stops the work within a token.
"""

from __future__ import annotations

import codecs
import ctypes
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import Llama
from llama_cpp import _internals as internals
from llama_cpp.llama_grammar import LlamaGrammar

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
    grammar: LlamaGrammar | None
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


def _sampler(llm: Llama, job: Job) -> internals.LlamaSampler:
    sampler = internals.LlamaSampler()
    if job.logit_bias:
        sampler.add_logit_bias(llm.n_vocab(), job.logit_bias)
    if job.presence_penalty or job.frequency_penalty:
        sampler.add_penalties(PENALTY_LAST_N, 1.0, job.frequency_penalty, job.presence_penalty)
    if job.grammar is not None:
        sampler.add_grammar(llm._model, job.grammar)
    temperature = DEFAULT_TEMPERATURE if job.temperature is None else job.temperature
    if temperature <= 0.0:
        sampler.add_greedy()
        return sampler
    sampler.add_top_k(DEFAULT_TOP_K)
    sampler.add_top_p(1.0 if job.top_p is None else job.top_p, 1)
    sampler.add_min_p(DEFAULT_MIN_P, 1)
    sampler.add_temp(temperature)
    sampler.add_dist(job.seed)
    return sampler


def piece(llm: Llama, token: int) -> bytes:
    """The bytes of one token (llama-cpp-python's own helper returns a padded buffer)."""
    size = 64
    while True:
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_token_to_piece(llm._model.vocab, token, buf, size, 0, False)
        if n >= 0:
            return buf.raw[:n]
        size = -n


def _logprob(llm: Llama, token: int, data: bytes, top: int) -> TokenLogprob:
    """Log-probabilities from the raw distribution of the last evaluated position."""
    logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),))
    shifted = logits - logits.max()
    logsumexp = float(np.log(np.exp(shifted).sum()))
    alternatives: list[TopLogprob] = []
    if top:
        best = np.argpartition(-shifted, top)[:top]
        best = best[np.argsort(-shifted[best])]
        for alt in best:
            alt_piece = piece(llm, int(alt))
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


def run(llm: Llama, job: Job, emit: Callable[[Any], None]) -> None:
    """Generate until end-of-generation, `max_new_tokens`, or cancellation."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    sampler = _sampler(llm, job)
    produced = 0
    try:
        llm.eval(_reuse_prefix(llm, job.tokens))
        while produced < job.max_new_tokens:
            if job.cancelled.is_set():
                emit(Finished("cancelled", produced))
                return
            token = sampler.sample(llm._ctx, -1)
            if llama_cpp.llama_token_is_eog(llm._model.vocab, token):
                emit(Token(decoder.decode(b"", final=True)))
                emit(Finished("stop", produced))
                return
            produced += 1
            data = piece(llm, token)
            logprob = _logprob(llm, token, data, job.logprobs) if job.logprobs is not None else None
            emit(Token(decoder.decode(data), logprob))
            if produced < job.max_new_tokens:
                llm.eval([token])
        emit(Token(decoder.decode(b"", final=True)))
        emit(Finished("length", produced))
    finally:
        sampler.close()
