"""One sequence's sampling: its llama.cpp sampler chain, and log-probabilities read from the
raw logits of its batch row."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...compat.llama_cpp import Sampler, Vocab
from ..types import TokenLogprob, TopLogprob
from .sequences import Job

# Sampling defaults when the request leaves a knob unset: OpenAI's API has no top_k/min_p,
# but a 135M model needs them to stay coherent (the same defaults as llama.cpp's server).
DEFAULT_TEMPERATURE = 0.8
DEFAULT_TOP_K = 40
DEFAULT_MIN_P = 0.05
PENALTY_LAST_N = 64


def sampler_for(vocab: Vocab, job: Job) -> Sampler:
    """The chain for one choice: bias, penalties, grammar, then greedy or seeded sampling.
    The caller closes it."""
    sampler = Sampler()
    try:
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
    except BaseException:
        sampler.close()
        raise
    return sampler


def token_logprob(
    logits: np.ndarray[Any, Any], vocab: Vocab, token: int, data: bytes, top: int
) -> TokenLogprob:
    """Log-probabilities from the raw distribution (before any sampler) of one row."""
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
