"""Embeddings on the real default model, in process: the inputs of a request are decoded
together (several sequences per decode, several decodes when they do not fit in one), and
batching changes no vector: each equals the one the input gets alone, in order, with its
tokens counted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest

from llm_gateway.backends.llama.embeddings import BATCH_SEQUENCES, LlamaEmbedder, _Model
from llm_gateway.backends.types import EmbeddingRequest, Embeddings
from llm_gateway.compat import llama_cpp as compat
from llm_gateway.compat.llama_cpp import Vocab, load_model
from llm_gateway.errors import ContextLengthExceeded, InvalidRequest

WINDOW = 512


@pytest.fixture(scope="module")
def embedder(model_file: str) -> Iterator[LlamaEmbedder]:
    embedder = LlamaEmbedder(model_file, n_ctx=WINDOW, n_threads=2)
    yield embedder
    asyncio.run(embedder.close())


def embed(embedder: LlamaEmbedder, inputs: list[str | tuple[int, ...]]) -> Embeddings:
    return asyncio.run(embedder.embed(EmbeddingRequest(inputs=tuple(inputs))))


def texts(n: int) -> list[str]:
    topics = ["the cat", "interest rates", "a river", "the old train", "quantum physics"]
    return [
        f"Sentence {i} is about {topics[i % len(topics)]} and {i * 7} apples." for i in range(n)
    ]


def cosines(a: list[list[float]], b: list[list[float]]) -> list[float]:
    x, y = np.array(a), np.array(b)
    dots = (x * y).sum(axis=1)
    return list(dots / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)))


@pytest.fixture(scope="module")
def tokens_of(model_file: str) -> Iterator[dict[str, int]]:
    llm = load_model(model_file)
    bos = Vocab(llm).adds_bos
    yield {t: len(llm.tokenize(t.encode(), add_bos=bos)) for t in texts(64)}
    llm.close()


def test_a_batch_of_inputs_gives_each_the_vector_it_gets_alone(
    embedder: LlamaEmbedder, tokens_of: dict[str, int]
) -> None:
    inputs = texts(64)
    together = embed(embedder, list(inputs))
    alone = [embed(embedder, [text]) for text in inputs]

    assert len(together.vectors) == 64
    assert min(cosines(together.vectors, [a.vectors[0] for a in alone])) > 0.9999
    assert all(abs(np.linalg.norm(v) - 1) < 1e-4 for v in together.vectors)
    assert together.prompt_tokens == sum(a.prompt_tokens for a in alone)
    assert [a.prompt_tokens for a in alone] == [tokens_of[t] for t in inputs]
    # order kept: input i's vector is closest to input i's own vector, not a neighbour's
    similarity = np.array(together.vectors) @ np.array([a.vectors[0] for a in alone]).T
    assert list(similarity.argmax(axis=1)) == list(range(64))


def test_more_inputs_than_one_decode_holds_are_split_over_several(
    embedder: LlamaEmbedder,
) -> None:
    # more sequences than n_seq_max, then long ones that fill the batch's tokens
    long = ["word " * 400 + str(i) for i in range(6)]
    inputs = [*texts(BATCH_SEQUENCES + 6), *long]
    together = embed(embedder, list(inputs))
    assert len(together.vectors) == len(inputs)
    picked = [*range(0, BATCH_SEQUENCES + 6, 9), *range(len(inputs) - len(long), len(inputs))]
    alone = [embed(embedder, [inputs[i]]).vectors[0] for i in picked]
    assert min(cosines([together.vectors[i] for i in picked], alone)) > 0.9999


def test_mixed_token_id_and_text_inputs_keep_their_order(embedder: LlamaEmbedder) -> None:
    text = texts(1)[0]
    llm = load_model(embedder.model_path)
    ids = tuple(llm.tokenize(text.encode(), add_bos=False))
    llm.close()
    mixed = embed(embedder, ["an unrelated opening", ids, text])
    assert cosines([mixed.vectors[1]], [mixed.vectors[2]])[0] > 0.9999
    assert cosines([mixed.vectors[0]], [mixed.vectors[2]])[0] < 0.9999


def test_concurrent_requests_share_batches_and_keep_their_own_answers(
    embedder: LlamaEmbedder,
) -> None:
    inputs = texts(30)
    alone = [embed(embedder, [text]).vectors[0] for text in inputs]

    async def together() -> list[Embeddings | BaseException]:
        requests = [inputs[0:10], ["word " * (WINDOW + 10)], inputs[10:25], inputs[25:30]]
        return await asyncio.gather(
            *(embedder.embed(EmbeddingRequest(inputs=tuple(r))) for r in requests),
            return_exceptions=True,
        )

    first, refused, second, third = asyncio.run(together())
    assert isinstance(refused, ContextLengthExceeded)
    assert refused.param == "input"
    got: list[list[float]] = []
    for answer, size in ((first, 10), (second, 15), (third, 5)):
        assert isinstance(answer, Embeddings)
        assert len(answer.vectors) == size
        got += answer.vectors
    assert min(cosines(got, alone)) > 0.9999


def test_an_input_over_the_window_is_refused_naming_it(embedder: LlamaEmbedder) -> None:
    with pytest.raises(ContextLengthExceeded) as info:
        embed(embedder, ["short", "word " * (WINDOW + 10), "short too"])
    assert info.value.param == "input[1]"
    assert f"maximum context length is {WINDOW} tokens" in str(info.value)
    with pytest.raises(InvalidRequest) as empty:
        embed(embedder, ["fine", ""])
    assert empty.value.param == "input[1]"
    # the embedder still serves after a refusal
    assert len(embed(embedder, texts(3)).vectors) == 3


def test_pooling_the_graphs_hidden_states_gives_llama_cpps_own_vectors(model_file: str) -> None:
    """The embedding context stops llama.cpp's graph at the final norm (skipping the output
    layer nobody reads) and averages the hidden states itself: on for the default model,
    and every vector of a full batch of mixed lengths is llama.cpp's own pooled one."""
    model = _Model(model_file, WINDOW, 2)
    try:
        assert model.hidden.enabled
        llm, bos = model.llm, model.vocab.adds_bos
        inputs = [llm.tokenize(t.encode(), add_bos=bos) for t in texts(40)]
        inputs += [llm.tokenize(("word " * n).encode(), add_bos=bos) for n in (1, 90, 300)]
        own = model.embed(inputs)
        model.hidden.enabled = False
        pooled = model.embed(inputs)
    finally:
        model.close()
    assert len(own) == len(inputs)
    assert min(cosines(own, pooled)) > 1 - 1e-6
    assert np.abs(np.array(own) - np.array(pooled)).max() < 1e-5


def test_a_model_whose_graph_names_differ_keeps_llama_cpps_pooling(
    model_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another architecture's graph without the tensor read here: the check at open turns
    the shortcut off, and the vectors are llama.cpp's pooled ones."""
    monkeypatch.setattr(compat, "_FINAL_NORM", b"no-such-tensor")
    model = _Model(model_file, WINDOW, 2)
    try:
        assert not model.hidden.enabled
        llm, bos = model.llm, model.vocab.adds_bos
        inputs = [llm.tokenize(t.encode(), add_bos=bos) for t in texts(5)]
        vectors = model.embed(inputs)
        alone = [model.embed([tokens])[0] for tokens in inputs]
    finally:
        model.close()
    assert min(cosines(vectors, alone)) > 0.9999
