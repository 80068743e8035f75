"""llama-cpp-python, in one place: the version this project was written for, and the
low-level pieces the decode loop needs that the high-level `Llama` class keeps private.

Everything here goes through llama.cpp's C API as llama-cpp-python binds it (`llama_cpp.*`
functions) plus `Llama`'s public `model`/`ctx` handles; nothing else in the project touches a
`_private` attribute of llama-cpp-python.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import LLAMA_POOLING_TYPE_MEAN, Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

from . import require

require("llama-cpp-python", llama_cpp.__version__, (0, 3, 16), (0, 4, 0))

__all__ = [
    "JSON_GBNF",
    "LLAMA_POOLING_TYPE_MEAN",
    "Jinja2ChatFormatter",
    "Llama",
    "Sampler",
    "Vocab",
    "json_schema_to_gbnf",
    "last_logits",
]

GRAMMAR_ROOT = b"root"


class Vocab:
    """The model's vocabulary: token ids → bytes and text, and its special tokens."""

    def __init__(self, llm: Llama) -> None:
        self.handle = llama_cpp.llama_model_get_vocab(llm.model)
        self.size = int(llama_cpp.llama_vocab_n_tokens(self.handle))
        self.grammar_parses = lru_cache(maxsize=256)(self._grammar_parses)

    def _grammar_parses(self, gbnf: str) -> bool:
        """Whether llama.cpp accepts this GBNF grammar (cached: requests repeat schemas)."""
        sampler = llama_cpp.llama_sampler_init_grammar(self.handle, gbnf.encode(), GRAMMAR_ROOT)
        if not sampler:
            return False
        llama_cpp.llama_sampler_free(sampler)
        return True

    @property
    def adds_bos(self) -> bool:
        return bool(llama_cpp.llama_vocab_get_add_bos(self.handle))

    def text(self, token: int) -> str:
        """The token's text as stored in the vocabulary (for special tokens such as EOS)."""
        if token < 0:
            return ""
        raw: bytes = llama_cpp.llama_vocab_get_text(self.handle, token)
        return raw.decode("utf-8", "replace")

    def piece(self, token: int) -> bytes:
        """The bytes the token stands for in output (llama-cpp-python's own helper returns a
        padded buffer)."""
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self.handle, token, buf, size, 0, False)
            if n >= 0:
                return buf.raw[:n]
            size = -n

    def is_end(self, token: int) -> bool:
        """End of generation (EOS, EOT, ...)."""
        return bool(llama_cpp.llama_vocab_is_eog(self.handle, token))


def last_logits(llm: Llama, vocab: Vocab, row: int = -1) -> np.ndarray[Any, Any]:
    """A view of the raw logits of an evaluated position (-1: the last one)."""
    pointer = llama_cpp.llama_get_logits_ith(llm.ctx, row)
    return np.ctypeslib.as_array(pointer, shape=(vocab.size,))


class Sampler:
    """A llama.cpp sampler chain built from the C API. Not thread-safe; `close()` frees it."""

    def __init__(self) -> None:
        params = llama_cpp.llama_sampler_chain_default_params()
        self._chain = llama_cpp.llama_sampler_chain_init(params)

    def _add(self, sampler: Any) -> None:
        if not sampler:
            raise ValueError("llama.cpp refused to build a sampler")
        llama_cpp.llama_sampler_chain_add(self._chain, sampler)

    def add_logit_bias(self, n_vocab: int, bias: dict[int, float]) -> None:
        array = (llama_cpp.llama_logit_bias * len(bias))()
        for i, (token, value) in enumerate(bias.items()):
            array[i].token = token  # type: ignore[assignment]
            array[i].bias = value
        self._add(llama_cpp.llama_sampler_init_logit_bias(n_vocab, len(bias), array))

    def add_penalties(self, last_n: int, repeat: float, frequency: float, presence: float) -> None:
        self._add(llama_cpp.llama_sampler_init_penalties(last_n, repeat, frequency, presence))

    def add_grammar(self, vocab: Vocab, gbnf: str) -> None:
        self._add(llama_cpp.llama_sampler_init_grammar(vocab.handle, gbnf.encode(), GRAMMAR_ROOT))

    def add_greedy(self) -> None:
        self._add(llama_cpp.llama_sampler_init_greedy())

    def add_top_k(self, k: int) -> None:
        self._add(llama_cpp.llama_sampler_init_top_k(k))

    def add_top_p(self, p: float, min_keep: int = 1) -> None:
        self._add(llama_cpp.llama_sampler_init_top_p(p, min_keep))

    def add_min_p(self, p: float, min_keep: int = 1) -> None:
        self._add(llama_cpp.llama_sampler_init_min_p(p, min_keep))

    def add_temperature(self, temperature: float) -> None:
        self._add(llama_cpp.llama_sampler_init_temp(temperature))

    def add_distribution(self, seed: int) -> None:
        self._add(llama_cpp.llama_sampler_init_dist(seed))

    def sample(self, llm: Llama, row: int = -1) -> int:
        """Pick the next token from an evaluated position's logits (and accept it)."""
        return int(llama_cpp.llama_sampler_sample(self._chain, llm.ctx, row))

    def close(self) -> None:
        if self._chain is not None:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None
