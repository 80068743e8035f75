"""Baseline: llama-cpp-python called in process (its high-level `Llama`, as a Python user
would), one stream, the same threads, prompt and sampling as the HTTP runs.

    python bench/inprocess.py MODEL THREADS MAX_TOKENS REPEATS BAN_TOKENS   → JSON on stdout
"""

from __future__ import annotations

import json
import sys
import time

from llama_cpp import Llama

from workload import PROMPTS


def main() -> None:
    model, threads, max_tokens, repeats = sys.argv[1], *map(int, sys.argv[2:5])
    banned = [int(t) for t in sys.argv[5].split(",") if t]
    llm = Llama(
        model_path=model,
        n_ctx=2048,
        n_batch=256,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    runs = []
    for n in range(repeats + 1):  # the first is a warm-up
        start = time.perf_counter()
        stamps = []
        for chunk in llm.create_chat_completion(
            messages=[{"role": "user", "content": PROMPTS[n % len(PROMPTS)]}],
            max_tokens=max_tokens,
            temperature=0.8,
            seed=n,
            logit_bias={str(t): -100.0 for t in banned},
            stream=True,
        ):
            if chunk["choices"][0]["delta"].get("content"):  # type: ignore[index,union-attr]
                stamps.append(time.perf_counter())
        if n == 0 or len(stamps) < 2:
            continue
        runs.append(
            {
                "ttft": stamps[0] - start,
                "tokens": len(stamps),
                "decode_tok_s": (len(stamps) - 1) / (stamps[-1] - stamps[0]),
            }
        )
    json.dump({"threads": threads, "runs": runs}, sys.stdout)


if __name__ == "__main__":
    main()
