"""The KV cache check of the llama backend (backends/llama/memory.py): the figures of the
default model's GGUF, and a refusal that names the settings that size the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_gateway.backends.llama.memory import (
    MIB,
    available_bytes,
    check_kv_cache,
    host_cache_bytes,
    kv_cache_bytes,
)

# SmolLM2-135M's own metadata (the default model).
SMOLLM2 = {
    "general.architecture": "llama",
    "llama.block_count": "30",
    "llama.attention.head_count": "9",
    "llama.attention.head_count_kv": "3",
    "llama.embedding_length": "576",
}


def test_the_cache_is_layers_times_kv_heads_times_key_and_value_per_token() -> None:
    # 30 layers x 3 KV heads x (64 + 64) x 2 bytes = 23,040 bytes a token.
    assert kv_cache_bytes(SMOLLM2, 1) == 23_040
    assert kv_cache_bytes(SMOLLM2, 2048 * 8) == 23_040 * 16_384
    assert kv_cache_bytes({"general.architecture": "mystery"}, 100) is None


def test_a_cache_that_does_not_fit_is_refused_naming_its_settings() -> None:
    check_kv_cache(SMOLLM2, 2048, 8, available=400 * MIB)  # 360 MiB: fits
    with pytest.raises(MemoryError, match="N_PARALLEL=8 x N_CTX=2048 tokens needs 360 MiB"):
        check_kv_cache(SMOLLM2, 2048, 8, available=300 * MIB)
    check_kv_cache(SMOLLM2, 2048, 8, available=None)  # unknown: not checked


def test_available_memory_is_the_smaller_of_the_machine_and_the_cgroup(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 4000000 kB\nMemAvailable:  2000000 kB\n")
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    assert available_bytes(meminfo, cgroup) == 2_000_000 * 1024
    (cgroup / "memory.max").write_text("max\n")
    (cgroup / "memory.current").write_text("100\n")
    assert available_bytes(meminfo, cgroup) == 2_000_000 * 1024
    (cgroup / "memory.max").write_text(f"{512 * MIB}\n")
    (cgroup / "memory.current").write_text(f"{112 * MIB}\n")
    assert available_bytes(meminfo, cgroup) == 400 * MIB


def test_the_host_cache_takes_at_most_half_of_what_the_slots_leave() -> None:
    slots = 2048 * 8 * 23040  # 360 MiB of KV cache for the slots
    assert host_cache_bytes(SMOLLM2, 2048, 8, 1024 * MIB, None) == 1024 * MIB  # unknown
    assert host_cache_bytes(SMOLLM2, 2048, 8, 1024 * MIB, 8000 * MIB) == 1024 * MIB
    assert host_cache_bytes(SMOLLM2, 2048, 8, 1024 * MIB, 800 * MIB) == (800 * MIB - slots) // 2
    assert host_cache_bytes(SMOLLM2, 2048, 8, 1024 * MIB, 300 * MIB) == 0
    assert host_cache_bytes(SMOLLM2, 2048, 8, 0, 8000 * MIB) == 0
