"""llama-cpp-python, in one place: the version this project was written for, and the
low-level pieces the decode loop needs that the high-level `Llama` class keeps private or
does not offer (a context serving several sequences, batches, the KV memory, sampler chains).

Everything here goes through llama.cpp's C API as llama-cpp-python binds it (`llama_cpp.*`
functions) plus `Llama`'s public `model`/`ctx` handles; nothing else in the project touches a
`_private` attribute of llama-cpp-python or calls the C API.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
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
    "Batch",
    "Candidates",
    "Context",
    "ContextParams",
    "HiddenStates",
    "Jinja2ChatFormatter",
    "Llama",
    "Sampler",
    "Vocab",
    "json_schema_to_gbnf",
    "load_model",
]

GRAMMAR_ROOT = b"root"
# The `Llama` object only loads the weights, tokenizes and reads metadata; generation runs in
# a `Context` of our own. Its built-in context is never used, so it is kept tiny.
_UNUSED_CONTEXT = 64


def load_model(path: str) -> Llama:
    """The weights, vocabulary and metadata of a GGUF file, with a minimal context of its own
    (generation uses a `Context` built on `llm.model`)."""
    return Llama(
        model_path=path,
        n_ctx=_UNUSED_CONTEXT,
        n_batch=_UNUSED_CONTEXT,
        n_ubatch=_UNUSED_CONTEXT,
        n_threads=1,
        n_threads_batch=1,
        logits_all=False,
        verbose=False,
    )


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


@dataclass(frozen=True, slots=True)
class ContextParams:
    """How a `Context` is built: `n_ctx` KV cells for up to `n_seq_max` sequences."""

    n_ctx: int
    n_seq_max: int
    n_batch: int
    n_threads: int
    flash_attn: bool = True
    """Attention computed row by row: a sequence's logits do not depend on how many rows
    share its batch (without it, the K·Q products take a different CPU kernel for one row
    than for several, which rounds differently)."""
    kv_unified: bool = False
    """False: each sequence id has its own n_ctx / n_seq_max cells (a KV stream), kept in
    position order, so that its attention sums in the same order whatever ran before or
    beside it. A unified pool interleaves the cells of all sequences and, with flash
    attention, the order (and so the rounding) depends on that history."""
    mean_pooling: bool = False
    """An embedding context: each sequence's hidden states averaged into one vector
    (`Context.embedding(seq)`) instead of logits."""
    hidden_states: HiddenStates | None = None
    """Watches every decode's graph (llama.cpp's `cb_eval`): see `HiddenStates`."""


class _GgmlTensor(ctypes.Structure):
    """`struct ggml_tensor` of the ggml that llama-cpp-python 0.3.x builds (ggml.h)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * 4),
        ("nb", ctypes.c_size_t * 4),
        ("op", ctypes.c_int),
        ("op_params", ctypes.c_int32 * 16),
        ("flags", ctypes.c_int32),
        ("src", ctypes.c_void_p * 10),
        ("view_src", ctypes.c_void_p),
        ("view_offs", ctypes.c_size_t),
        ("data", ctypes.c_void_p),
        ("name", ctypes.c_char * 64),
        ("extra", ctypes.c_void_p),
        ("padding", ctypes.c_char * 8),
    ]


_GGML_TYPE_F32 = 0
_FINAL_NORM = b"result_norm"  # the model's last hidden states, normed (llama.cpp's t_embd)


class HiddenStates:
    """The final hidden state of every token of a decode, read as llama.cpp's graph computes
    it, and the graph stopped there. An embedding context still computes the vocabulary
    logits of every token (the output layer: about a fifth of a small model's work) and
    copies them out, though pooling reads the hidden states before them; stopping at the
    final norm skips that. While `enabled` is False the graph runs whole; `take()` is None
    when the decode had no such tensor (another architecture's names), so the caller falls
    back to llama.cpp's own pooling."""

    def __init__(self) -> None:
        self.enabled = False
        self._rows: list[np.ndarray[Any, Any]] = []
        self.callback = llama_cpp.ggml_backend_sched_eval_callback(self._eval)

    def _eval(self, tensor: int, ask: bool, _user_data: int | None) -> bool:
        if not self.enabled:
            return False  # asked: not wanted, so never called again for it
        t = _GgmlTensor.from_address(tensor)
        if t.name != _FINAL_NORM:
            return False
        if ask:
            return True
        rows, width = int(t.ne[1]), int(t.ne[0])
        plain = t.type == _GGML_TYPE_F32 and t.nb[0] == 4 and t.nb[1] == 4 * width
        if not plain or not t.data or t.ne[2] != 1 or t.ne[3] != 1:
            return True  # not a layout read here: let the graph finish (pooling works)
        try:
            values = (ctypes.c_float * (rows * width)).from_address(t.data)
            self._rows.append(np.ctypeslib.as_array(values).reshape(rows, width).copy())
        except Exception:  # raised here, it would stop the graph with nothing read
            return True
        return False  # nothing after this tensor is needed: stop the graph

    def take(self) -> np.ndarray[Any, Any] | None:
        """The hidden states of the last decode's tokens, in batch order (None: not read)."""
        rows, self._rows = self._rows, []
        if not rows:
            return None
        return rows[0] if len(rows) == 1 else np.concatenate(rows)


class Context:
    """A llama.cpp context over a loaded model: the KV memory of every sequence, `decode()`
    of a `Batch`, and the logits of its rows. Use it from one thread only."""

    def __init__(self, llm: Llama, vocab: Vocab, params: ContextParams) -> None:
        p = llama_cpp.llama_context_default_params()
        p.n_ctx = params.n_ctx
        p.n_batch = params.n_batch
        p.n_ubatch = params.n_batch  # llama.cpp splits a step only where KV streams need it
        p.n_seq_max = params.n_seq_max
        p.n_threads = params.n_threads
        p.n_threads_batch = params.n_threads
        p.flash_attn = params.flash_attn
        p.kv_unified = params.kv_unified
        p.no_perf = True
        if params.mean_pooling:
            p.embeddings = True
            p.pooling_type = LLAMA_POOLING_TYPE_MEAN
        if params.hidden_states is not None:
            p.cb_eval = params.hidden_states.callback
        handle = llama_cpp.llama_init_from_model(llm.model, p)
        if not handle:
            raise RuntimeError(f"llama.cpp could not create a context with {params}")
        self.handle = handle
        self._hidden_states = params.hidden_states  # its callback lives as long as the context
        self._memory = llama_cpp.llama_get_memory(handle)
        self._n_vocab = vocab.size
        self._n_embd = int(llama_cpp.llama_model_n_embd(llm.model))
        self._copies_pending = False

    def decode(self, batch: Batch) -> int:
        """Evaluate the batch: 0 on success, llama.cpp's status code otherwise."""
        self._copies_pending = False  # llama_decode applies them first
        return int(llama_cpp.llama_decode(self.handle, batch.raw))

    def logits(self, row: int) -> np.ndarray[Any, Any]:
        """A view of the raw logits of a batch row that asked for them (valid until the next
        `decode()`)."""
        pointer = llama_cpp.llama_get_logits_ith(self.handle, row)
        if not pointer:
            raise IndexError(f"batch row {row} has no logits")
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))

    def embedding(self, seq: int) -> np.ndarray[Any, Any]:
        """A copy of a sequence's pooled embedding after the `decode()` that held all its
        tokens (a context built with `mean_pooling`)."""
        pointer = llama_cpp.llama_get_embeddings_seq(self.handle, seq)
        if not pointer:
            raise IndexError(f"sequence {seq} has no pooled embedding")
        return np.ctypeslib.as_array(pointer, shape=(self._n_embd,)).copy()

    def forget(self, seq: int, start: int = 0, end: int = -1) -> bool:
        """Drop a sequence's cells at positions [start, end) (end -1: to its end); False when
        llama.cpp cannot cut the sequence there (then drop it whole)."""
        return bool(llama_cpp.llama_memory_seq_rm(self._memory, seq, start, end))

    def share(self, source: int, target: int) -> None:
        """Give `target` everything `source` holds (trim it with `forget`). Across KV streams
        llama.cpp copies the whole stream's buffer at the next `decode()`; in a unified cache
        the cells are shared, not copied."""
        llama_cpp.llama_memory_seq_cp(self._memory, source, target, -1, -1)
        self._copies_pending = True

    def _settle(self) -> None:
        """Apply the stream copies `share` queued, now: `save` would read a target's cells
        before its data arrived, and a queued copy would overwrite what `restore` wrote."""
        if self._copies_pending:
            llama_cpp.llama_kv_self_update(self.handle)
            self._copies_pending = False

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self._memory, True)

    def save(self, seq: int) -> np.ndarray[Any, Any] | None:
        """A copy of a sequence's cells (positions, keys and values of every layer) in host
        memory: llama.cpp's per-sequence state. None when llama.cpp could not write it."""
        self._settle()
        size = int(llama_cpp.llama_state_seq_get_size(self.handle, seq))
        if size <= 0:
            return None
        state = np.empty(size, dtype=np.uint8)
        pointer = state.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        written = int(llama_cpp.llama_state_seq_get_data(self.handle, pointer, size, seq))
        return state[:written] if written else None

    def restore(self, seq: int, state: np.ndarray[Any, Any]) -> bool:
        """Replace a sequence's cells with a state `save()` returned (of any sequence of this
        context); False when llama.cpp refused it (the sequence is then empty)."""
        self._settle()
        pointer = state.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        return bool(llama_cpp.llama_state_seq_set_data(self.handle, pointer, state.nbytes, seq))

    def close(self) -> None:
        if self.handle is not None:
            llama_cpp.llama_free(self.handle)
            self.handle = None


class Batch:
    """Tokens for one `decode()`: each with its position, its sequence and whether its logits
    are wanted. Use it from one thread only."""

    def __init__(self, capacity: int) -> None:
        self.raw = llama_cpp.llama_batch_init(capacity, 0, 1)
        self.capacity = capacity
        self.size = 0
        self._token = self.raw.token
        self._pos = self.raw.pos
        self._n_seq_id = self.raw.n_seq_id
        self._seq_id = self.raw.seq_id
        self._logits = self.raw.logits

    def clear(self) -> None:
        self.size = 0
        self.raw.n_tokens = 0

    def add(
        self, tokens: list[int], start: int, seq: int, logits_last: bool, outputs: bool = False
    ) -> int:
        """Append `tokens` at positions start, start+1, ... of `seq`; the row of the last one
        (whose logits are computed when `logits_last`). `outputs`: every row is an output, as
        a pooled embedding needs (llama.cpp would otherwise override it with a warning)."""
        i = self.size
        if i + len(tokens) > self.capacity:
            raise ValueError(f"batch overflow: {i} + {len(tokens)} > {self.capacity}")
        token, pos, n_seq_id, seq_id, logits = (
            self._token,
            self._pos,
            self._n_seq_id,
            self._seq_id,
            self._logits,
        )
        for offset, t in enumerate(tokens):
            token[i] = t
            pos[i] = start + offset
            n_seq_id[i] = 1
            seq_id[i][0] = seq
            logits[i] = outputs
            i += 1
        if logits_last:
            logits[i - 1] = 1
        self.size = i
        self.raw.n_tokens = i
        return i - 1

    def close(self) -> None:
        if self.capacity:
            llama_cpp.llama_batch_free(self.raw)
            self.capacity = 0


_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)


class Candidates:
    """One reusable `llama_token_data_array` over the whole vocabulary, for a thread that
    samples many rows. `llama_sampler_sample` builds (and allocates) a fresh one per call,
    which costs more than the sampling itself; this fills a fixed buffer from the logits."""

    def __init__(self, n_vocab: int) -> None:
        self._data = np.zeros(n_vocab, dtype=_TOKEN_DATA)
        self._ids = np.arange(n_vocab, dtype=np.intc)
        self.array = llama_cpp.llama_token_data_array(
            data=self._data.ctypes.data_as(llama_cpp.llama_token_data_p),
            size=n_vocab,
            selected=-1,
            sorted=False,
        )
        self._pointer = ctypes.pointer(self.array)
        self._n_vocab = n_vocab

    def load(self, logits: np.ndarray[Any, Any]) -> Any:
        """Fill with one row of logits; the pointer llama_sampler_apply takes."""
        data = self._data
        data["id"] = self._ids
        data["logit"] = logits
        data["p"] = 0.0
        array = self.array
        array.size = self._n_vocab
        array.selected = -1
        array.sorted = False
        return self._pointer

    def selected(self) -> int:
        index = int(self.array.selected)
        if not 0 <= index < int(self.array.size):
            raise RuntimeError("the sampler chain selected no token")
        return int(self._data["id"][index])


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

    def sample(self, context: Context, row: int, candidates: Candidates) -> int:
        """Pick the next token from the logits of a batch row (and accept it): what
        `llama_sampler_sample` does, on a reused candidates buffer."""
        llama_cpp.llama_sampler_apply(self._chain, candidates.load(context.logits(row)))
        token = candidates.selected()
        llama_cpp.llama_sampler_accept(self._chain, token)
        return token

    def close(self) -> None:
        if self._chain is not None:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None
