"""Whether the KV cache fits: N_PARALLEL x N_CTX tokens of keys and values for every layer,
checked against the memory this process may still use before llama.cpp allocates it.

llama.cpp would allocate it anyway: with overcommit the allocation succeeds and the kernel's
OOM killer ends the worker later, mid-request, with nothing in the log. Refusing at start
names the two settings that size it instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path

F16_BYTES = 2  # llama.cpp's default cache type for keys and values
MIB = 1024 * 1024


def kv_cache_bytes(metadata: Mapping[str, str], n_tokens: int) -> int | None:
    """Bytes of keys and values for `n_tokens` tokens, from the GGUF's own figures (None when
    the file does not say: then nothing is checked)."""
    arch = metadata.get("general.architecture")
    try:
        layers = int(metadata[f"{arch}.block_count"])
        heads = int(metadata[f"{arch}.attention.head_count"])
        kv_heads = int(metadata.get(f"{arch}.attention.head_count_kv", heads))
        embedding = int(metadata[f"{arch}.embedding_length"])
        key_length = int(metadata.get(f"{arch}.attention.key_length", embedding // heads))
        value_length = int(metadata.get(f"{arch}.attention.value_length", key_length))
    except (KeyError, ValueError, ZeroDivisionError):
        return None
    per_token = layers * kv_heads * (key_length + value_length) * F16_BYTES
    return per_token * n_tokens


def _read_int(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text().split()[0])
    return None


def available_bytes(
    meminfo: Path = Path("/proc/meminfo"), cgroup: Path = Path("/sys/fs/cgroup")
) -> int | None:
    """What this process may still allocate: the machine's available memory, or less when
    its cgroup (the container's memory limit) leaves less. None: unknown (not Linux)."""
    candidates: list[int] = []
    with contextlib.suppress(OSError):
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                candidates.append(int(line.split()[1]) * 1024)
    limit = _read_int(cgroup / "memory.max")  # "max" (no limit) does not parse: None
    used = _read_int(cgroup / "memory.current")
    if limit is not None and used is not None:
        candidates.append(max(0, limit - used))
    return min(candidates) if candidates else None


def check_kv_cache(
    metadata: Mapping[str, str], n_ctx: int, n_parallel: int, available: int | None
) -> None:
    """MemoryError naming N_PARALLEL and N_CTX when their cache cannot fit."""
    needed = kv_cache_bytes(metadata, n_ctx * n_parallel)
    if needed is None or available is None or needed <= available:
        return
    raise MemoryError(
        f"the KV cache for N_PARALLEL={n_parallel} x N_CTX={n_ctx} tokens needs "
        f"{needed // MIB} MiB and {available // MIB} MiB are available: lower N_PARALLEL "
        "or N_CTX"
    )


def host_cache_bytes(
    metadata: Mapping[str, str], n_ctx: int, n_parallel: int, wanted: int, available: int | None
) -> int:
    """The host KV cache's limit: KV_HOST_CACHE_MB, but at most half of what is left once the
    slots' KV cache is allocated (a container's memory limit would otherwise end the worker
    when the cache fills, long after start)."""
    if available is None:
        return wanted
    needed = kv_cache_bytes(metadata, n_ctx * n_parallel) or 0
    return max(0, min(wanted, (available - needed) // 2))
