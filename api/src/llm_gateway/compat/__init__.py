"""Where this project leans on a dependency's private or unstable parts: one module per
dependency, each checking at import that the installed version is one it was written for."""

from __future__ import annotations

from importlib.metadata import version


def require(
    distribution: str, installed: str, lowest: tuple[int, ...], below: tuple[int, ...]
) -> None:
    """Fail at import, with the fix, when `installed` is outside [lowest, below)."""
    parts = tuple(int(p) for p in installed.split("+")[0].split(".")[:3] if p.isdigit())
    if not lowest <= parts < below:
        span = f">={'.'.join(map(str, lowest))},<{'.'.join(map(str, below))}"
        raise ImportError(
            f"{distribution} {installed} is installed, but llm-gateway relies on its internals "
            f"as of {span}: install a version in that range (see api/pyproject.toml), or "
            f"update llm_gateway/compat/ for the new one."
        )


def installed_version(distribution: str) -> str:
    return version(distribution)
