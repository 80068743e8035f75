"""Baseline: the embeddings path before batching, in process: llama-cpp-python's high-level
`Llama.embed` called once per input (its context holds one sequence), as the llama backend
did, with the same threads, window and inputs as the HTTP rows.

    python bench/embed_inprocess.py MODEL THREADS N_CTX COUNT[,COUNT...] REPEATS  → JSON on stdout
"""

from __future__ import annotations

import json
import sys
import time

from llama_cpp import LLAMA_POOLING_TYPE_MEAN, Llama

from workload import embedding_inputs


def main() -> None:
    model, threads, n_ctx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    counts = [int(x) for x in sys.argv[4].split(",")]
    repeats = int(sys.argv[5])
    llm = Llama(
        model_path=model,
        embedding=True,
        pooling_type=LLAMA_POOLING_TYPE_MEAN,
        n_ctx=n_ctx,
        n_batch=n_ctx,
        n_ubatch=n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    llm.embed("warm-up", normalize=True)
    result: dict[str, list[float]] = {}
    for count in counts:
        texts = embedding_inputs(count)
        for _ in range(repeats):
            start = time.perf_counter()
            for text in texts:
                llm.embed(text, normalize=True)
            result.setdefault(str(count), []).append(count / (time.perf_counter() - start))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
