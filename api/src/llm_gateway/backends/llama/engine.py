"""Continuous batching: one decode loop per worker, in its own thread, owning the llama.cpp
context and serving up to N_PARALLEL sequences at once.

Every step is one `llama_decode` over a batch that holds the next token of each generating
sequence, then chunks of the prompts being evaluated (at most N_BATCH tokens in all, so a
long prompt delays the running streams by one chunk per step, never by the whole prompt).
After the step each sequence samples from its own row of logits with its own sampler chain.

Each slot is a llama.cpp sequence id with a KV stream of its own (N_CTX cells), kept in
position order: with flash attention a sequence's logits then do not depend on what else is
in the batch or what ran in the slot before, so batching does not change answers.

Sequences come in groups: the `n` choices of one prompt. The first choice admitted becomes
the group's leader and evaluates the prompt in the free slot holding the longest prefix of
it (or copies a longer prefix from a busy slot, so that a system prompt shared by all users
is evaluated once); the others wait as followers and, once the prompt is in, get a copy of
the leader's KV (`llama_memory_seq_cp`, no evaluation) and sample their first token from the
leader's row.

Requests join at the next step; more sequences than slots wait in a FIFO queue; a cancelled
sequence (client gone, stop sequence matched) leaves at the next step and its slot is free
at once. Its cells stay as that slot's prefix cache until a new prompt takes the slot; then,
unless the new prompt continues them, they are saved to the host cache (`host_cache.py`,
KV_HOST_CACHE_MB) first, so that a conversation whose slot went to another one restores its
history (a memory copy) when it returns instead of evaluating it again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from ...compat.llama_cpp import Batch, Candidates, Context, ContextParams, Llama, Vocab
from .host_cache import HostCache, SavedPrefix
from .kv_slots import KvSlot, KvSlotPool
from .sampling import sampler_for, token_logprob
from .sequences import (
    Deliver,
    EngineSequence,
    Failed,
    Finished,
    Group,
    Job,
    Phase,
    Ticket,
    Token,
)

log = structlog.get_logger("llm_gateway.backends.llama")

# Copying another slot's KV moves its whole stream (N_CTX cells, a few ms); evaluating a token
# of prompt costs about 2 ms on 2 cores. Copy when it saves at least this many tokens.
MIN_COPY = 8
# Saving a slot's state copies all its cells to host memory (about 23 KB a token for the
# default model, some ms for a long history): worth it when a new prompt would otherwise
# discard at least this many of them. Restoring one costs as much: worth it from MIN_COPY.
MIN_SAVE = 32


@dataclass(slots=True)
class EngineStats:
    """Counters since start, written by the engine thread only (tests and the benchmark read
    them)."""

    steps: int = 0
    prompt_tokens_evaluated: int = 0
    """Prompt tokens run through llama_decode."""
    prompt_tokens_cached: int = 0
    """Prompt tokens found in a free slot's cells (prefix cache)."""
    prompt_tokens_shared: int = 0
    """Prompt tokens a choice copied from another choice's KV instead of evaluating them."""
    prompt_tokens_copied: int = 0
    """Prompt prefixes copied from a busy slot that held more of them than any free one."""
    prompt_tokens_restored: int = 0
    """Prompt prefixes restored from the host cache (a conversation whose slot was taken)."""
    tokens_generated: int = 0
    promotions: int = 0
    """Leaders cancelled mid-prompt whose follower took the evaluated part over."""
    largest_batch: int = 0
    most_sequences: int = 0
    waiting: int = 0
    """Sequences queued for a slot after the last step."""


class EngineClosed(RuntimeError):
    pass


class Engine:
    """`submit()` from any thread; everything else runs in the engine's thread."""

    def __init__(
        self,
        llm: Llama,
        vocab: Vocab,
        *,
        n_ctx: int,
        n_parallel: int,
        n_batch: int,
        n_threads: int,
        host_cache_bytes: int = 0,
        flash_attn: bool = True,
    ) -> None:
        self.n_ctx = n_ctx
        self.n_parallel = n_parallel
        self.stats = EngineStats()
        self._vocab = vocab
        self._capacity = max(n_batch, n_parallel)
        self._context = Context(
            llm,
            vocab,
            ContextParams(
                n_ctx=n_ctx * n_parallel,
                n_seq_max=n_parallel,
                n_batch=self._capacity,
                n_threads=n_threads,
                flash_attn=flash_attn,
            ),
        )
        self._batch = Batch(self._capacity)
        self._candidates = Candidates(vocab.size)
        self._slots = KvSlotPool(n_parallel)
        self.host = HostCache(host_cache_bytes)
        self._queue: deque[Group] = deque()  # groups with members waiting for a slot
        self._active: list[EngineSequence] = []  # sequences holding a slot, in admission order
        self._touched: list[EngineSequence] = []  # sequences with events to deliver this step
        self._inbox: list[Group] = []
        self._closing = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="llama-engine", daemon=True)

    # --- any thread -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def submit(self, groups: Iterable[list[tuple[int, Job]]], deliver: Deliver) -> Ticket:
        """Queue choices: each group is `(index, job)`s sharing one prompt (the same tokens).
        `deliver(index, events)` is called from the engine thread."""
        sequences: list[EngineSequence] = []
        batch: list[Group] = []
        for members in groups:
            group = Group(prompt=members[0][1].tokens)
            for index, job in members:
                sequence = EngineSequence(index=index, job=job, group=group, deliver=deliver)
                group.waiting.append(sequence)
                sequences.append(sequence)
            batch.append(group)
        with self._wake:
            if self._closing:
                raise EngineClosed("the model is shutting down")
            self._inbox.extend(batch)
            self._wake.notify()
        return Ticket(sequences)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the loop (sequences still running end as cancelled) and free the context."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self._batch.close()
            self._context.close()

    # --- the engine thread ----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wake:
                while not (self._closing or self._inbox or self._active or self._queue):
                    self._wake.wait()
                if self._closing:
                    break
                self._queue.extend(self._inbox)
                self._inbox.clear()
            try:
                self._step()
            except Exception as exc:  # a bug or a llama.cpp failure: fail all, start clean
                log.exception("engine_step_failed")
                self._fail_everything(str(exc) or type(exc).__name__)
        with self._wake:
            self._queue.extend(self._inbox)
            self._inbox.clear()
        for sequence in [*self._active, *self._waiting()]:
            self._finish(sequence, "cancelled")
        self._flush()

    def _step(self) -> None:
        self.stats.steps += 1
        self._reap()
        self._admit()
        self.stats.waiting = sum(len(g.waiting) for g in self._queue)
        planned = self._fill()
        if self._batch.size:
            status = self._context.decode(self._batch)
            if status != 0:
                raise RuntimeError(f"llama_decode returned {status}")
            self._advance(planned)
        self._flush()

    def _waiting(self) -> list[EngineSequence]:
        return [s for group in self._queue for s in group.waiting]

    # admission -----------------------------------------------------------------------------

    def _reap(self) -> None:
        """Cancelled sequences leave: queued ones are dropped, running ones free their slot."""
        for group in self._queue:
            if any(s.cancelled for s in group.waiting):
                for sequence in [s for s in group.waiting if s.cancelled]:
                    group.waiting.remove(sequence)
                    self._finish(sequence, "cancelled")
        if any(not g.waiting for g in self._queue):
            self._queue = deque(g for g in self._queue if g.waiting)
        for sequence in [s for s in self._active if s.cancelled]:
            if sequence.phase is Phase.PREFILLING and sequence.followers:
                self._promote(sequence)
            elif sequence.phase is Phase.FOLLOWING and sequence.leader is not None:
                sequence.leader.followers.remove(sequence)
            self._finish(sequence, "cancelled")

    def _admit(self) -> None:
        """FIFO: the oldest group's waiting choices take free slots first."""
        while self._queue and self._slots.free:
            group = self._queue[0]
            while group.waiting and self._slots.free:
                self._start(group.waiting.popleft())
            if not group.waiting:
                self._queue.popleft()

    def _start(self, sequence: EngineSequence) -> None:
        job, group = sequence.job, sequence.group
        prompt = group.prompt
        if job.max_new_tokens <= 0:
            self._finish(sequence, "length")
            return
        if not prompt or len(prompt) + job.max_new_tokens > self.n_ctx:
            self._fail(sequence, "The request does not fit the context window.")
            return
        try:
            sequence.sampler = sampler_for(self._vocab, job)
        except ValueError as exc:
            self._fail(sequence, str(exc))
            return
        context = self._context
        source = next((s for s in group.live if s.phase is Phase.GENERATING), None)
        leader = next((s for s in group.live if s.phase is Phase.PREFILLING), None)
        if source is not None or leader is not None:
            slot = self._slots.take_spare()
            self._save(slot, keep=0)
            context.forget(slot.seq_id)
            slot.tokens = []
            sequence.slot = slot
            if source is not None:
                # The prompt is in a sibling's cells: copy all but the last token, whose
                # logits are gone; evaluating that one token gives this choice its own.
                assert source.slot is not None
                shared = len(prompt) - 1
                if shared:
                    context.share(source.slot.seq_id, slot.seq_id)
                    context.forget(slot.seq_id, shared, -1)
                slot.tokens = prompt[:shared]
                sequence.pending = prompt[shared:]
                sequence.phase = Phase.PREFILLING
                sequence.cached = source.cached  # the prompt's, not this choice's copy
                self.stats.prompt_tokens_shared += shared
            else:
                assert leader is not None
                sequence.leader = leader
                leader.followers.append(sequence)
                sequence.phase = Phase.FOLLOWING
        else:
            slot, common = self._slots.take_best(prompt)
            donor, longer = self._slots.best_donor(prompt, slot)
            copy = donor is not None and longer >= common + MIN_COPY
            saved, stored = self.host.best(prompt) if self.host.limit else (None, 0)
            if saved is not None and stored >= max(common, longer if copy else 0) + MIN_COPY:
                # This conversation's history was saved when another prompt took its slot.
                self._save(slot, keep=0)
                common = self._restore(slot, saved, stored)
            elif copy:
                # A busy slot holds more of this prompt (a shared system prompt, say): copy
                # its KV (a memcpy) rather than evaluate those tokens again.
                assert donor is not None
                self._save(slot, keep=0)
                context.share(donor.seq_id, slot.seq_id)
                context.forget(slot.seq_id, longer, -1)
                slot.tokens = prompt[:longer]
                common = longer
                self.stats.prompt_tokens_copied += longer
            else:
                self._save(slot, keep=common)
                if common < len(slot.tokens) and not context.forget(slot.seq_id, common, -1):
                    context.forget(slot.seq_id)
                    common = 0
                del slot.tokens[common:]
                self.stats.prompt_tokens_cached += common
            sequence.slot = slot
            sequence.pending = prompt[common:]
            sequence.phase = Phase.PREFILLING
            sequence.cached = common
        group.live.append(sequence)
        self._active.append(sequence)
        self.stats.most_sequences = max(self.stats.most_sequences, len(self._active))

    def _save(self, slot: KvSlot, keep: int) -> None:
        """Before a new prompt keeps only `keep` of a slot's cells: copy them all to the host
        cache when that discards enough of them and the cache does not hold them yet."""
        if not self.host.limit or len(slot.tokens) - keep < MIN_SAVE:
            return
        if self.host.holds(slot.tokens):
            return
        state = self._context.save(slot.seq_id)
        if state is not None:
            self.host.add(slot.tokens, state)

    def _restore(self, slot: KvSlot, saved: SavedPrefix, keep: int) -> int:
        """A saved state into the slot, trimmed to the `keep` tokens the prompt shares with
        it; how many tokens the slot now holds (0 when llama.cpp refused the state)."""
        context, tokens = self._context, saved.tokens
        if not context.restore(slot.seq_id, saved.state):
            log.warning("host_cache_restore_failed", seq_id=slot.seq_id, tokens=len(tokens))
            context.forget(slot.seq_id)
            slot.tokens = []
            return 0
        if keep < len(tokens) and not context.forget(slot.seq_id, keep, -1):
            context.forget(slot.seq_id)
            slot.tokens = []
            return 0
        slot.tokens = tokens[:keep]
        self.host.used(saved)
        self.host.stats.restored += 1
        self.host.stats.tokens_restored += keep
        self.stats.prompt_tokens_restored += keep
        return keep

    def _promote(self, leader: EngineSequence) -> None:
        """A leader cancelled mid-prompt: its first follower takes over with the part of the
        prompt already evaluated (shared, not redone)."""
        successor, *rest = leader.followers
        assert leader.slot is not None and successor.slot is not None
        self.stats.promotions += 1
        done = len(leader.slot.tokens)
        if done:
            self._context.share(leader.slot.seq_id, successor.slot.seq_id)
            self.stats.prompt_tokens_shared += done
        successor.slot.tokens = leader.slot.tokens[:]
        successor.pending = leader.pending
        successor.cached = leader.cached
        successor.phase = Phase.PREFILLING
        successor.leader = None
        successor.followers = rest
        for follower in rest:
            follower.leader = successor
        leader.followers = []

    # one step ----------------------------------------------------------------------------

    def _fill(self) -> list[tuple[EngineSequence, int, int | None]]:
        """The batch: every generating sequence's next token, then prompt chunks in
        admission order while room is left. Returns (sequence, tokens added, logits row)."""
        counts: dict[EngineSequence, int] = {}
        for sequence in self._active:
            if sequence.phase is Phase.GENERATING:
                counts[sequence] = 1
        room = self._capacity - len(counts)
        for sequence in self._active:
            if room <= 0:
                break
            if sequence.phase is Phase.PREFILLING:
                counts[sequence] = min(room, len(sequence.pending))
                room -= counts[sequence]
        # llama.cpp evaluates a batch as one graph per run of consecutive sequence ids (each
        # has its own KV stream): add the sequences in id order.
        batch = self._batch
        batch.clear()
        planned: list[tuple[EngineSequence, int, int | None]] = []
        for sequence in sorted(counts, key=_seq_id):
            slot, count = sequence.slot, counts[sequence]
            assert slot is not None
            logits = sequence.phase is Phase.GENERATING or count == len(sequence.pending)
            row = batch.add(sequence.pending[:count], len(slot.tokens), slot.seq_id, logits)
            planned.append((sequence, count, row if logits else None))
        self.stats.largest_batch = max(self.stats.largest_batch, batch.size)
        return planned

    def _advance(self, planned: list[tuple[EngineSequence, int, int | None]]) -> None:
        """After a decode: the cells now hold the batch's tokens; sample every row."""
        for sequence, count, _ in planned:
            assert sequence.slot is not None
            sequence.slot.tokens.extend(sequence.pending[:count])
            if sequence.phase is Phase.PREFILLING:
                self.stats.prompt_tokens_evaluated += count
                del sequence.pending[:count]
        for sequence, _, row in planned:
            if row is None:
                continue
            if sequence.phase is Phase.PREFILLING:  # the prompt is in: start generating
                sequence.phase = Phase.GENERATING
                for follower in sequence.followers:
                    self._join(follower, sequence, row)
                sequence.followers = []
            self._sample(sequence, row)

    def _join(self, follower: EngineSequence, leader: EngineSequence, row: int) -> None:
        assert follower.slot is not None and leader.slot is not None
        size = len(leader.slot.tokens)
        self._context.share(leader.slot.seq_id, follower.slot.seq_id)
        follower.slot.tokens = leader.slot.tokens[:]
        follower.leader = None
        follower.phase = Phase.GENERATING
        follower.cached = leader.cached  # the prompt's, not this choice's copy
        self.stats.prompt_tokens_shared += size
        self._sample(follower, row)

    def _sample(self, sequence: EngineSequence, row: int) -> None:
        if sequence.cancelled:
            return  # leaves at the next step
        assert sequence.sampler is not None
        vocab, job = self._vocab, sequence.job
        token = sequence.sampler.sample(self._context, row, self._candidates)
        if vocab.is_end(token):
            self._finish(sequence, "stop")
            return
        sequence.produced += 1
        self.stats.tokens_generated += 1
        data = vocab.piece(token)
        logprob = None
        if job.logprobs is not None:
            logprob = token_logprob(self._context.logits(row), vocab, token, data, job.logprobs)
        self._emit(sequence, Token(sequence.decoder.decode(data), logprob))
        if sequence.produced >= job.max_new_tokens:
            self._finish(sequence, "length")
        else:
            sequence.pending = [token]

    # endings -----------------------------------------------------------------------------

    def _emit(self, sequence: EngineSequence, event: Token | Finished | Failed) -> None:
        if not sequence.out:
            self._touched.append(sequence)
        sequence.out.append(event)

    def _release(self, sequence: EngineSequence) -> None:
        if sequence.sampler is not None:
            sequence.sampler.close()
            sequence.sampler = None
        if sequence.slot is not None:
            self._slots.give_back(sequence.slot)
            sequence.slot = None
        if sequence.phase is not Phase.WAITING:
            self._active.remove(sequence)
            sequence.group.live.remove(sequence)
        sequence.phase = Phase.DONE

    def _finish(self, sequence: EngineSequence, reason: str) -> None:
        if sequence.phase is Phase.DONE:
            return
        tail = sequence.decoder.decode(b"", final=True)
        if tail and reason != "cancelled":
            self._emit(sequence, Token(tail, counted=False))
        self._emit(sequence, Finished(reason, sequence.produced))
        self._release(sequence)

    def _fail(self, sequence: EngineSequence, message: str) -> None:
        if sequence.phase is Phase.DONE:
            return
        self._emit(sequence, Failed(message))
        self._release(sequence)

    def _fail_everything(self, message: str) -> None:
        for sequence in [*self._active, *self._waiting()]:
            sequence.followers = []
            self._fail(sequence, message)
        self._queue.clear()
        self._context.clear()
        self._slots.reset()
        self._flush()

    def _flush(self) -> None:
        """Hand each touched sequence its events: one call per sequence per step."""
        touched, self._touched = self._touched, []
        for sequence in touched:
            events, sequence.out = sequence.out, []
            try:
                sequence.deliver(sequence.index, events)
            except RuntimeError:  # its event loop is gone: nobody is listening any more
                sequence.cancelled = True


def _seq_id(sequence: EngineSequence) -> int:
    assert sequence.slot is not None
    return sequence.slot.seq_id
