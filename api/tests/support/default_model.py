"""The real default model (SmolLM2-135M) as the tests run it: a `logit_bias` that keeps it
talking, and the settings of a gunicorn server that serves it (its file: `paths.MODEL_FILE`,
checked by the `model_file` fixture)."""

from __future__ import annotations

# The default model's end-of-generation tokens (<|endoftext|>, <|im_end|>, <reponame>) as a
# `logit_bias` that bans them: its answer then lasts exactly `max_tokens` tokens.
NEVER_END = {"0": -100, "2": -100, "4": -100}


def llama_env(model_file: str, **extra: str) -> dict[str, str]:
    """A server's settings for the default model as `make serve` runs it (two threads, a
    2048-token context), with `extra` on top."""
    return {
        "MODEL_BACKEND": "llama",
        "MODEL_ID": "smollm2",
        "MODEL_ALIASES": "gpt-3.5-turbo",
        "MODEL_PATH": model_file,
        "N_CTX": "2048",
        "N_THREADS": "2",
        **extra,
    }
